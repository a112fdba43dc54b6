//! Request parsing: `application/x-www-form-urlencoded` bodies (strictly: a
//! bad escape, invalid UTF-8 or a repeated parameter is an error, RFC 6749
//! §3.2) and `Authorization: Basic` credentials (RFC 6749 §2.3.1: form-encoded
//! before base64, so decoded after).

use base64::Engine;
use std::borrow::Cow;

/// Why a form body or a Basic header was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("malformed percent-encoding")]
    BadEscape,
    #[error("a parameter is not valid UTF-8")]
    NotUtf8,
    #[error("parameter `{0}` is repeated")]
    Duplicate(String),
    /// More than [`MAX_PARAMS`] parameters.
    #[error("too many parameters (at most 64)")]
    TooMany,
    #[error("the Authorization header is not Basic")]
    NotBasic,
    #[error("the Basic credentials are not valid base64")]
    BadBase64,
    #[error("the Basic credentials lack a `:`")]
    NoColon,
}

/// Most parameters a token request may carry.
pub const MAX_PARAMS: usize = 64;

/// The parameters of a form body, each name at most once. Parameters sent
/// with an empty value count as omitted (RFC 6749 §3.1).
#[derive(Default)]
pub struct Form<'a> {
    pairs: Vec<(Cow<'a, str>, Cow<'a, str>)>,
}

/// Names only: the values are credentials and tokens.
impl std::fmt::Debug for Form<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.pairs.iter().map(|(k, _)| k))
            .finish()
    }
}

impl<'a> Form<'a> {
    pub fn parse(body: &'a [u8]) -> Result<Form<'a>, ParseError> {
        Form::parse_with(body, false)
    }

    /// [`Form::parse`], a repeated name keeping its first value (the
    /// `duplicate_params_accepted` fault).
    pub fn parse_first_wins(body: &'a [u8]) -> Result<Form<'a>, ParseError> {
        Form::parse_with(body, true)
    }

    fn parse_with(body: &'a [u8], first_wins: bool) -> Result<Form<'a>, ParseError> {
        let mut pairs: Vec<(Cow<'a, str>, Cow<'a, str>)> = Vec::with_capacity(8);
        for part in body.split(|b| *b == b'&').filter(|p| !p.is_empty()) {
            // The duplicate check is linear per parameter: cap the count so
            // that a body of 30,000 tiny parameters stays cheap.
            if pairs.len() >= MAX_PARAMS {
                return Err(ParseError::TooMany);
            }
            let (name, value) = match part.iter().position(|b| *b == b'=') {
                Some(i) => (&part[..i], &part[i + 1..]),
                None => (part, &part[part.len()..]),
            };
            let name = form_decode(name)?;
            if pairs.iter().any(|(n, _)| *n == name) {
                if first_wins {
                    continue;
                }
                return Err(ParseError::Duplicate(name.into_owned()));
            }
            pairs.push((name, form_decode(value)?));
        }
        Ok(Form { pairs })
    }

    /// The value of `name`, `None` when absent or empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_ref())
            .filter(|v| !v.is_empty())
    }
}

/// Decodes one `application/x-www-form-urlencoded` component: `+` is a space,
/// `%XX` a byte; the result must be UTF-8. Borrows when nothing is escaped.
pub fn form_decode(raw: &[u8]) -> Result<Cow<'_, str>, ParseError> {
    if !raw.iter().any(|b| *b == b'%' || *b == b'+') {
        return std::str::from_utf8(raw)
            .map(Cow::Borrowed)
            .map_err(|_| ParseError::NotUtf8);
    }
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        match raw[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = |b: Option<&u8>| b.and_then(|b| (*b as char).to_digit(16));
                match (hex(raw.get(i + 1)), hex(raw.get(i + 2))) {
                    (Some(h), Some(l)) => out.push((h * 16 + l) as u8),
                    _ => return Err(ParseError::BadEscape),
                }
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out)
        .map(Cow::Owned)
        .map_err(|_| ParseError::NotUtf8)
}

/// The two halves of `Authorization: Basic …`. With `form_encoded` each half
/// is form-decoded after base64 (RFC 6749 §2.3.1, client credentials);
/// without, it is taken as is (EmpowerID's user credentials).
pub fn parse_basic(header: &[u8], form_encoded: bool) -> Result<(String, String), ParseError> {
    let header = std::str::from_utf8(header).map_err(|_| ParseError::NotBasic)?;
    let (scheme, rest) = header.trim().split_once(' ').ok_or(ParseError::NotBasic)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(ParseError::NotBasic);
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(rest.trim())
        .map_err(|_| ParseError::BadBase64)?;
    let colon = decoded
        .iter()
        .position(|b| *b == b':')
        .ok_or(ParseError::NoColon)?;
    let (user, pass) = (&decoded[..colon], &decoded[colon + 1..]);
    if form_encoded {
        Ok((
            form_decode(user)?.into_owned(),
            form_decode(pass)?.into_owned(),
        ))
    } else {
        let text = |b: &[u8]| String::from_utf8(b.to_vec()).map_err(|_| ParseError::NotUtf8);
        Ok((text(user)?, text(pass)?))
    }
}

/// Whether the header is a Basic authorization at all (whatever its content).
pub fn is_basic(header: &[u8]) -> bool {
    header.len() >= 6 && header[..6].eq_ignore_ascii_case(b"basic ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_the_names_not_the_values() {
        let f = Form::parse(b"grant_type=password&password=Qz7x9&refresh_token=tkn01").unwrap();
        let shown = format!("{f:?}");
        assert!(
            shown.contains("password") && !shown.contains("Qz7x9") && !shown.contains("tkn01"),
            "{shown}"
        );
    }

    fn b64(s: &str) -> String {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(s)
        )
    }

    #[test]
    fn a_form_decodes_escapes_and_plus() {
        let f = Form::parse(b"grant_type=password&username=a%20b&password=p%2Bw+x&scope=").unwrap();
        assert_eq!(f.get("grant_type"), Some("password"));
        assert_eq!(f.get("username"), Some("a b"));
        assert_eq!(f.get("password"), Some("p+w x"));
        assert_eq!(f.get("scope"), None, "an empty value counts as omitted");
        assert_eq!(f.get("other"), None);
    }

    #[test]
    fn a_repeated_parameter_is_refused_even_when_empty() {
        assert_eq!(
            Form::parse(b"a=1&b=2&a=3").unwrap_err(),
            ParseError::Duplicate("a".into())
        );
        assert!(Form::parse(b"scope=&scope=read").is_err());
        assert!(
            Form::parse(b"a%3D=1&a%3d=2").is_err(),
            "names compare decoded"
        );
    }

    #[test]
    fn malformed_input_is_an_error_not_a_panic() {
        assert_eq!(Form::parse(b"a=%zz").unwrap_err(), ParseError::BadEscape);
        assert_eq!(Form::parse(b"a=%4").unwrap_err(), ParseError::BadEscape);
        assert_eq!(Form::parse(b"a=%").unwrap_err(), ParseError::BadEscape);
        assert_eq!(Form::parse(b"a=%ff%fe").unwrap_err(), ParseError::NotUtf8);
        assert_eq!(Form::parse(b"a=\xff").unwrap_err(), ParseError::NotUtf8);
        assert!(Form::parse(b"&&=&x").unwrap().get("x").is_none());
        assert!(Form::parse(b"").unwrap().get("a").is_none());
    }

    #[test]
    fn basic_credentials_are_percent_decoded_after_base64() {
        let h = b64("my%20app:p%3Aw%26+x");
        assert_eq!(
            parse_basic(h.as_bytes(), true).unwrap(),
            ("my app".to_string(), "p:w& x".to_string())
        );
        // The first colon separates; later ones belong to the secret.
        assert_eq!(
            parse_basic(b64("a:b:c").as_bytes(), false).unwrap(),
            ("a".to_string(), "b:c".to_string())
        );
        // Raw mode keeps `%` and `+` as they are.
        assert_eq!(
            parse_basic(b64("al+ice:p%41").as_bytes(), false).unwrap(),
            ("al+ice".to_string(), "p%41".to_string())
        );
        assert!(
            parse_basic(b"bAsIc YTpi", true).is_ok(),
            "scheme is case-insensitive"
        );
    }

    #[test]
    fn malformed_basic_headers_are_errors() {
        assert_eq!(
            parse_basic(b"Bearer abc", true).unwrap_err(),
            ParseError::NotBasic
        );
        assert_eq!(
            parse_basic(b"Basic", true).unwrap_err(),
            ParseError::NotBasic
        );
        assert_eq!(
            parse_basic(b"Basic !!!", true).unwrap_err(),
            ParseError::BadBase64
        );
        assert_eq!(
            parse_basic(b64("nocolon").as_bytes(), true).unwrap_err(),
            ParseError::NoColon
        );
        assert_eq!(
            parse_basic(b64("a:%zz").as_bytes(), true).unwrap_err(),
            ParseError::BadEscape
        );
        assert!(is_basic(b"basic xyz") && !is_basic(b"Bearer x"));
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    fn config() -> ProptestConfig {
        ProptestConfig {
            cases: std::env::var("PROPTEST_CASES")
                .ok()
                .and_then(|c| c.parse().ok())
                .unwrap_or(512),
            ..ProptestConfig::default()
        }
    }

    proptest! {
        #![proptest_config(config())]

        /// Any bytes: an answer, never a panic.
        #[test]
        fn any_body_parses_or_is_refused(body in proptest::collection::vec(any::<u8>(), 0..2048)) {
            let _ = Form::parse(&body);
        }

        /// Any header: an answer, never a panic.
        #[test]
        fn any_authorization_parses_or_is_refused(header in proptest::collection::vec(any::<u8>(), 0..512), form in any::<bool>()) {
            let _ = parse_basic(&header, form);
            let _ = is_basic(&header);
        }

        /// Form-encoded pairs with distinct names come back as they were.
        #[test]
        fn encoded_pairs_round_trip(pairs in proptest::collection::btree_map("[a-z_]{1,12}", "\\PC{0,40}", 0..20)) {
            let body = form_urlencoded::Serializer::new(String::new()).extend_pairs(&pairs).finish();
            let form = Form::parse(body.as_bytes()).unwrap();
            for (k, v) in &pairs {
                let want = (!v.is_empty()).then_some(v.as_str());
                prop_assert_eq!(form.get(k), want);
            }
        }

        /// Basic credentials, form-encoded then base64 (RFC 6749 §2.3.1),
        /// come back as they were, whatever characters they hold.
        #[test]
        fn basic_credentials_round_trip(id in "\\PC{1,40}", secret in "\\PC{0,40}") {
            use base64::Engine;
            let enc = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
            let header = format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", enc(&id), enc(&secret)))
            );
            prop_assert_eq!(parse_basic(header.as_bytes(), true).unwrap(), (id, secret));
        }
    }

    #[test]
    fn too_many_parameters_are_refused() {
        let body: String = (0..100).map(|i| format!("p{i}=x&")).collect();
        assert_eq!(
            Form::parse(body.as_bytes()).unwrap_err(),
            ParseError::TooMany
        );
    }
}
