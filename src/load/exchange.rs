//! One exchange of the load's hot path: the refresh request built once
//! around its token, sent on the user's own HTTP/1.1 connection (plain
//! HTTP) or through the runtime's reqwest client, and the answer read for
//! the four members load needs. What a user does with it is in
//! [`super::vu`]; this file knows nothing of users.

use crate::oauth::WireRequest;
use crate::oauth::http::{self, HttpOptions};
use url::Url;

/// What the load reads of a successful token answer: the access token's
/// fingerprint (duplicates), the refresh token (the chain goes on with
/// it) and `expires_in` (the sessions model refreshes before it).
pub(super) struct Answer {
    pub(super) access_fingerprint: Option<u64>,
    pub(super) refresh_token: Option<String>,
    pub(super) expires_in: Option<u64>,
}

/// Keys of the fingerprints a run takes of tokens (the duplicate check):
/// aHash, keyed per run. SipHash (std's) took 3% of a run's CPU over three
/// ~700-byte tokens an answer; aHash reads them several times faster, and
/// a 64-bit fingerprint needs no more than a keyed, well-mixed hash.
pub(super) type Fingerprints = ahash::RandomState;

/// Bytes a form value carries as they are (`form_urlencoded`'s set).
const PLAIN: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = c.is_ascii_alphanumeric() || matches!(c, b'*' | b'-' | b'.' | b'_');
        b += 1;
    }
    t
};

/// The length of `value` form-encoded: a space is one byte (`+`), any other
/// byte outside [`PLAIN`] three (`%XX`).
pub(super) fn form_encoded_len(value: &[u8]) -> usize {
    value
        .iter()
        .map(|&b| {
            if PLAIN[usize::from(b)] || b == b' ' {
                1
            } else {
                3
            }
        })
        .sum()
}

/// `value` form-encoded (`application/x-www-form-urlencoded`, as
/// `form_urlencoded::byte_serialize` writes it) onto `out`: runs of bytes
/// that need no escape are copied whole (a token usually is one run), the
/// rest escaped one by one.
pub(super) fn form_encode_into(out: &mut Vec<u8>, value: &[u8]) {
    let mut rest = value;
    while !rest.is_empty() {
        let run = rest
            .iter()
            .position(|b| !PLAIN[usize::from(*b)])
            .unwrap_or(rest.len());
        out.extend_from_slice(&rest[..run]);
        let Some(&b) = rest.get(run) else { break };
        if b == b' ' {
            out.push(b'+');
        } else {
            const HEX: &[u8; 16] = b"0123456789ABCDEF";
            out.extend_from_slice(&[b'%', HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]]);
        }
        rest = &rest[run + 1..];
    }
}

/// The members of a token answer the load reads, borrowed from its body:
/// nothing else is copied, the rest is skipped as it is parsed.
#[derive(serde::Deserialize)]
pub(super) struct Members<'a> {
    #[serde(borrow, default)]
    access_token: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow, default)]
    refresh_token: Option<std::borrow::Cow<'a, str>>,
    #[serde(default)]
    expires_in: Option<serde_json::Value>,
    #[serde(borrow, default)]
    error: Option<std::borrow::Cow<'a, str>>,
}

impl Answer {
    /// Reads a 2xx body. A body whose members have other types than a
    /// token answer's (a number for a token) is read loosely, member by
    /// member: a string is a token, anything else is not. A body that is
    /// not JSON (or was cut at the size limit) is no answer at all.
    pub(super) fn read(body: &[u8], hasher: &Fingerprints) -> Option<Answer> {
        match serde_json::from_slice::<Members>(body) {
            Ok(m) => Some(Answer {
                access_fingerprint: m.access_token.map(|t| hasher.hash_one(&*t)),
                refresh_token: m.refresh_token.map(|t| t.into_owned()),
                expires_in: m.expires_in.and_then(|e| e.as_u64()),
            }),
            Err(_) => {
                let j: serde_json::Value = serde_json::from_slice(body).ok()?;
                let text = |k: &str| j.get(k).and_then(|t| t.as_str());
                Some(Answer {
                    access_fingerprint: text("access_token").map(|t| hasher.hash_one(t)),
                    refresh_token: text("refresh_token").map(str::to_string),
                    expires_in: j.get("expires_in").and_then(|e| e.as_u64()),
                })
            }
        }
    }
}

/// The `error` member of a refusal, if it has one.
pub(super) fn error_code(body: &[u8]) -> Option<String> {
    match serde_json::from_slice::<Members>(body) {
        Ok(m) => m.error.map(|e| e.into_owned()),
        Err(_) => serde_json::from_slice::<serde_json::Value>(body)
            .ok()?
            .get("error")?
            .as_str()
            .map(str::to_string),
    }
}

/// One exchange on the hot path: the status and the body (at most
/// [`http::MAX_BODY_BYTES`]), nothing else copied. reqwest's client
/// timeout bounds it (the client is built with `request_timeout`).
pub(super) async fn lean_send(
    request: reqwest::RequestBuilder,
) -> Result<(u16, bytes::Bytes), http::TransportError> {
    let mut response = request.send().await.map_err(|e| http::classify(&e))?;
    let status = response.status().as_u16();
    let Some(first) = response.chunk().await.map_err(|e| http::classify(&e))? else {
        return Ok((status, bytes::Bytes::new()));
    };
    // Most answers come in one chunk: kept as it is, no copy.
    let mut more = match response.chunk().await.map_err(|e| http::classify(&e))? {
        None => return Ok((status, first)),
        Some(next) => {
            let mut body = Vec::with_capacity(first.len() + next.len());
            body.extend_from_slice(&first);
            body.extend_from_slice(&next);
            body
        }
    };
    while let Some(chunk) = response.chunk().await.map_err(|e| http::classify(&e))? {
        let room = http::MAX_BODY_BYTES.saturating_sub(more.len());
        more.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if room <= chunk.len() {
            break;
        }
    }
    Ok((status, bytes::Bytes::from(more)))
}

/// The refresh request of the primary client with everything but the
/// token built once: the URL, the headers (the Basic credentials among
/// them) and the form around the token. Built only when the request layer
/// makes the same request twice for the same token (no signed client
/// assertion, no DPoP proof: those change per request and go the long
/// way), and only when the token appears once in the form.
pub(super) struct RefreshTemplate {
    url: Url,
    headers: reqwest::header::HeaderMap,
    before: Vec<u8>,
    after: Vec<u8>,
    /// Where and what to send on a user's own connection (plain HTTP, or
    /// HTTPS when its TLS could be set up).
    pub(super) direct: Option<Direct>,
}

impl RefreshTemplate {
    /// A token no form holds by chance.
    pub(super) const MARK: &'static str = "tokenprobe-template-mark-5f0c2a";

    /// From the refresh request built twice for the token [`Self::MARK`];
    /// `options` say whom TLS trusts.
    pub(super) fn new(
        one: &WireRequest,
        two: &WireRequest,
        options: &HttpOptions,
    ) -> Option<RefreshTemplate> {
        if one.headers != two.headers || one.body != two.body || one.url != two.url {
            return None;
        }
        let (ctype, body) = one.body.as_ref()?;
        let at = find(body, Self::MARK.as_bytes())?;
        let after_at = at + Self::MARK.len();
        if find(&body[after_at..], Self::MARK.as_bytes()).is_some() {
            return None;
        }
        let mut headers = reqwest::header::HeaderMap::new();
        for (k, v) in one
            .headers
            .iter()
            .chain([&("content-type".to_string(), ctype.clone())])
        {
            headers.append(
                reqwest::header::HeaderName::from_bytes(k.as_bytes()).ok()?,
                reqwest::header::HeaderValue::from_str(v).ok()?,
            );
        }
        Some(RefreshTemplate {
            direct: Direct::new(&one.url, &headers, options),
            url: one.url.clone(),
            headers,
            before: body[..at].to_vec(),
            after: body[after_at..].to_vec(),
        })
    }

    /// The form with `token` in its place.
    fn body(&self, token: &str) -> Vec<u8> {
        let mut body = Vec::with_capacity(self.body_len(token));
        self.write_body(&mut body, token);
        body
    }

    /// The form's length with `token` in its place.
    pub(super) fn body_len(&self, token: &str) -> usize {
        self.before.len() + form_encoded_len(token.as_bytes()) + self.after.len()
    }

    /// The form with `token` in its place, onto `out`.
    pub(super) fn write_body(&self, out: &mut Vec<u8>, token: &str) {
        out.extend_from_slice(&self.before);
        form_encode_into(out, token.as_bytes());
        out.extend_from_slice(&self.after);
    }

    pub(super) fn request(&self, client: &reqwest::Client, token: &str) -> reqwest::RequestBuilder {
        client
            .post(self.url.clone())
            .headers(self.headers.clone())
            .body(self.body(token))
    }
}

pub(super) use super::h1::{Conn, Opened, find};

/// Where a refresh goes, and its request line and headers, written once
/// ([`super::h1`] sends them on a user's own connection, over TLS for an
/// `https` endpoint).
pub(super) struct Direct {
    host: String,
    port: u16,
    tls: Option<super::tls::Tls>,
    /// `POST /path HTTP/1.1`, the headers, and `content-length: `.
    head: Vec<u8>,
}

impl Direct {
    fn new(
        url: &Url,
        headers: &reqwest::header::HeaderMap,
        options: &HttpOptions,
    ) -> Option<Direct> {
        let host = url.host_str()?.trim_matches(['[', ']']).to_string();
        // A TLS set-up that fails here (an unreadable CA file) leaves the
        // refresh to reqwest, which reports the same failure per request.
        let tls = match url.scheme() {
            "http" => None,
            "https" => Some(super::tls::Tls::new(&host, options).ok()?),
            _ => return None,
        };
        let port = url.port_or_known_default()?;
        let target = match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_string(),
        };
        let authority = &url[url::Position::BeforeHost..url::Position::AfterPort];
        let mut head = format!("POST {target} HTTP/1.1\r\nhost: {authority}\r\n").into_bytes();
        let agent = concat!("tokenprobe/", env!("CARGO_PKG_VERSION"));
        head.extend_from_slice(format!("user-agent: {agent}\r\n").as_bytes());
        for (name, value) in headers {
            if name == reqwest::header::HOST
                || name == reqwest::header::USER_AGENT
                || name == reqwest::header::CONTENT_LENGTH
            {
                continue;
            }
            head.extend_from_slice(name.as_str().as_bytes());
            head.extend_from_slice(b": ");
            head.extend_from_slice(value.as_bytes());
            head.extend_from_slice(b"\r\n");
        }
        head.extend_from_slice(b"content-length: ");
        Some(Direct {
            host,
            port,
            tls,
            head,
        })
    }

    /// A refresh of `token` on the user's connection, opened first when it
    /// has none or the server closed it while it was idle (that is not an
    /// error of the exchange). The exchange is bounded by the request
    /// timeout (the connection's fence), the connecting by the connect
    /// timeout.
    /// A connection opened on the way is told in `opened`.
    pub(super) async fn send(
        &self,
        conn: &mut Option<Box<Conn>>,
        t: &RefreshTemplate,
        token: &str,
        options: &HttpOptions,
        opened: &mut Option<Opened>,
    ) -> Result<(u16, bytes::Bytes), http::TransportError> {
        if conn.as_mut().is_some_and(|c| c.ended_while_idle()) {
            *conn = None;
        }
        if conn.is_none() {
            // Boxed: the connecting is rare, and its future large.
            let (c, how) = Box::pin(Conn::open(
                &self.host,
                self.port,
                self.tls.as_ref(),
                options,
            ))
            .await?;
            *conn = Some(Box::new(c));
            *opened = Some(how);
        }
        let c = conn.as_mut().expect("connected above");
        let result = c
            .exchange_with(
                &self.head,
                t.body_len(token),
                |out| t.write_body(out, token),
                options.request_timeout,
            )
            .await;
        match result {
            Ok(read) => {
                if !read.keep {
                    *conn = None;
                }
                Ok((read.status, read.body))
            }
            Err(e) => {
                *conn = None;
                Err(e)
            }
        }
    }

    /// Opens the user's connection ahead of its first refresh, if it has
    /// none (a failure is left for that refresh to meet and count).
    pub(super) async fn open(
        &self,
        conn: &mut Option<Box<Conn>>,
        options: &HttpOptions,
    ) -> Option<Opened> {
        if conn.is_some() {
            return None;
        }
        let (c, how) = Conn::open(&self.host, self.port, self.tls.as_ref(), options)
            .await
            .ok()?;
        *conn = Some(Box::new(c));
        Some(how)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_encoding_writes_what_form_urlencoded_writes() {
        let cases: [&[u8]; 8] = [
            b"",
            b"plain-token_1.2*",
            b"a b+c/d=e&f%g",
            "é ü 漢".as_bytes(),
            b"\0\x7f\xff",
            b"eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln",
            b"~!'()",
            b" leading and trailing ",
        ];
        for value in cases {
            let mut ours = b"x=".to_vec();
            form_encode_into(&mut ours, value);
            assert_eq!(ours.len() - 2, form_encoded_len(value), "{value:?}");
            let theirs: String = form_urlencoded::byte_serialize(value).collect();
            assert_eq!(
                ours,
                [b"x=".as_slice(), theirs.as_bytes()].concat(),
                "{value:?}"
            );
        }
    }
}
