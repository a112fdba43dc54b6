//! The judge: expectations against a response. Returns the first mismatch
//! as (subject, expected, actual); values that are secrets are shown as
//! fingerprints.

use super::context::{Context, scalar_text};
use crate::oauth::auth::decode_claims;
use crate::oauth::http::HttpResponse;
use crate::scenario::compile::{ExpectC, MatcherC, SetExpectationC, TValue};
use crate::scenario::values::{JsonType, StatusPattern};
use crate::secret::{fingerprint, secret_kind};
use serde_json::Value;

/// What a failed expectation is a defect of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Defect {
    /// The property the expectation states.
    Property,
    /// Only how a refusal is shaped: no JSON body or no `error` member
    /// (ER-BODY), while the request was refused as expected.
    ErrorBody,
    /// Only which 4xx a refusal carries (ER-STATUS), while the request was
    /// refused, with the expected `error` or none at all.
    ErrorStatus,
    /// A refusal sent as a 5xx (an OAuth `error` in the body): ER-NO5XX's.
    ServerStatus,
    /// Only which `error` code a refusal carries (ER-CODE), while the
    /// request was refused with a readable code: handed on by the checks
    /// whose property is the refusal itself ([`super::causes`]).
    ErrorCode,
    /// Not a defect: copies of a parallel step got no answer (a timeout,
    /// a reset), and their answers could have made the set hold. The
    /// step errors with the cause; it never fails.
    NoAnswer,
}

impl Defect {
    /// The catalogue id a format defect is judged under.
    pub fn catalogue_id(self) -> Option<&'static str> {
        match self {
            Defect::Property | Defect::NoAnswer => None,
            Defect::ErrorBody => Some("ER-BODY"),
            Defect::ErrorStatus => Some("ER-STATUS"),
            Defect::ServerStatus => Some("ER-NO5XX"),
            Defect::ErrorCode => Some("ER-CODE"),
        }
    }
}

/// A failed expectation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    pub subject: String,
    pub expected: String,
    pub actual: String,
    pub defect: Defect,
    /// The weight of the check that failed, when it has its own.
    pub level: Option<crate::verdict::Level>,
    /// The ids the failed expectation judges (empty: the scenario's).
    pub judges: Vec<String>,
}

impl Mismatch {
    pub fn new(
        subject: impl Into<String>,
        expected: impl Into<String>,
        actual: impl Into<String>,
    ) -> Mismatch {
        Mismatch {
            subject: subject.into(),
            expected: expected.into(),
            actual: actual.into(),
            defect: Defect::Property,
            level: None,
            judges: Vec::new(),
        }
    }

    fn of(mut self, defect: Defect) -> Mismatch {
        self.defect = defect;
        self
    }

    /// `self`, judged under `ids` (empty: the scenario's ids).
    pub fn judged_by(mut self, ids: Vec<String>) -> Mismatch {
        self.judges = ids;
        self
    }

    /// `self`, a failure of an expectation that judges `ids`.
    fn judged(mut self, ids: &[String]) -> Mismatch {
        if self.judges.is_empty() {
            self.judges = ids.to_vec();
        }
        self
    }
}

/// The `error` member of an error response, if any.
pub fn error_code(r: &HttpResponse) -> Option<String> {
    r.json()?.get("error")?.as_str().map(str::to_string)
}

/// What a body that is not JSON is: its class (`non-json-body` or
/// `body-too-large`), content type and size.
fn not_json(r: &HttpResponse) -> String {
    let ctype = r
        .header("content-type")
        .unwrap_or_else(|| "no content-type".into());
    if r.truncated {
        format!(
            "body-too-large: more than {} bytes ({ctype}), not read further",
            crate::oauth::http::MAX_BODY_BYTES
        )
    } else if r.body.is_empty() {
        "an empty body".to_string()
    } else {
        format!("non-json-body: {} bytes of {ctype}", r.body.len())
    }
}

/// Every expectation of `e` that does not hold, in order (status, error,
/// headers, body, id_token); empty when all hold.
pub fn check_all(e: &ExpectC, r: &HttpResponse, ctx: &Context) -> Vec<Mismatch> {
    let json = r.json();
    let mut out = Vec::new();
    let code = error_code(r);
    // A refusal: a 4xx, or a 2xx that carries an `error` and no token (a
    // refusal sent with the wrong status, whose shape ER-STATUS judges).
    let refused = (400..500).contains(&r.status)
        || ((200..300).contains(&r.status)
            && code.is_some()
            && json
                .as_ref()
                .is_some_and(|j| j.get("access_token").is_none()));
    let code_fits = |codes: &Option<crate::scenario::values::Strings>| match (codes, &code) {
        (Some(codes), Some(c)) => codes.0.contains(c),
        (_, None) => true,
        (None, Some(_)) => true,
    };
    if let Some(s) = &e.status
        && !s.matches(r.status)
    {
        let detail = match (&code, r.header("location")) {
            (Some(code), _) => format!("{} ({code})", r.status),
            (None, Some(to)) if (300..400).contains(&r.status) => {
                format!(
                    "{}, a redirect to {to} (not followed: credentials never follow a redirect)",
                    r.status
                )
            }
            (None, _) => r.status.to_string(),
        };
        // Refused as expected, with another 4xx: a defect of the status
        // code alone (ER-STATUS), not of this check's property.
        let expects_refusal = s.0.iter().all(|p| match p {
            StatusPattern::Code(c) => (400..500).contains(c),
            StatusPattern::Class(c) => *c == 4,
        });
        // A 5xx that carries an OAuth `error` is a refusal with a server
        // error's status: ER-NO5XX's to judge.
        let server_refusal = (500..600).contains(&r.status) && code.is_some();
        let defect = if expects_refusal && refused && code_fits(&e.error) {
            Defect::ErrorStatus
        } else if expects_refusal && server_refusal && code_fits(&e.error) {
            Defect::ServerStatus
        } else {
            Defect::Property
        };
        out.push(Mismatch::new("status", s.to_string(), detail).of(defect));
    }
    if let Some(codes) = &e.error
        && !code.as_ref().is_some_and(|a| codes.0.contains(a))
    {
        let shown = match (&code, &json) {
            (Some(a), _) => format!("`{a}`"),
            (None, Some(_)) => "a JSON body without `error`".into(),
            (None, None) => not_json(r),
        };
        // A refusal without a readable `error`: its shape is ER-BODY's.
        let defect = if code.is_none() && refused {
            Defect::ErrorBody
        } else if code.is_some() && refused {
            Defect::ErrorCode
        } else {
            Defect::Property
        };
        out.push(Mismatch::new("error", codes.to_string(), shown).of(defect));
    }
    for (name, m) in &e.headers {
        let v = r.header(name).map(Value::String);
        if let Err(miss) = matcher(
            m,
            v.as_ref(),
            None,
            &format!("headers.{name}"),
            None,
            ctx,
            true,
        ) {
            out.push(miss);
        }
    }
    for (name, m) in &e.body {
        // A body that is not JSON has no members: `absent` and optional
        // matchers still hold; others fail, on a refusal as a format defect.
        let v = json.as_ref().and_then(|b| b.get(name));
        let subject = format!("body.{name}");
        if let Err(miss) = matcher(m, v, json.as_ref(), &subject, secret_kind(name), ctx, false)
            .and_then(|()| near(m, v, json.as_ref(), &subject))
        {
            out.push(match &json {
                Some(_) => miss,
                None if refused => {
                    Mismatch::new("body", "a JSON object", not_json(r)).of(Defect::ErrorBody)
                }
                None => Mismatch::new("body", "a JSON object", not_json(r)),
            });
        }
    }
    if !e.id_token.is_empty() {
        let claims = json
            .as_ref()
            .and_then(|j| j.get("id_token"))
            .and_then(Value::as_str)
            .and_then(decode_claims);
        match claims {
            None => out.push(Mismatch::new("id_token", "a decodable id_token", "none")),
            Some(claims) => {
                for (name, m) in &e.id_token {
                    let subject = format!("id_token.{name}");
                    if let Err(miss) = matcher(
                        m,
                        claims.get(name),
                        Some(&claims),
                        &subject,
                        None,
                        ctx,
                        false,
                    )
                    .and_then(|()| near(m, claims.get(name), Some(&claims), &subject))
                    {
                        out.push(miss);
                    }
                }
            }
        }
    }
    // One "not a JSON object" is enough.
    let mut seen_body = false;
    out.retain(|m| {
        let dup = m.subject == "body" && seen_body;
        seen_body |= m.subject == "body";
        !dup
    });
    out.into_iter().map(|m| m.judged(&e.judges)).collect()
}

/// The first expectation of `e` that does not hold.
pub fn check(e: &ExpectC, r: &HttpResponse, ctx: &Context) -> Result<(), Mismatch> {
    match check_all(e, r, ctx).into_iter().next() {
        Some(m) => Err(m),
        None => Ok(()),
    }
}

pub(crate) fn show(v: &Value, kind: Option<&str>) -> String {
    match (kind, v) {
        (Some(kind), Value::String(s)) => fingerprint(kind, s),
        (_, Value::String(s)) => format!("{:?}", s.chars().take(200).collect::<String>()),
        _ => {
            // Cut on a character boundary: servers localise their messages.
            let t = v.to_string();
            match t.char_indices().nth(200) {
                Some((cut, _)) => format!("{}…", &t[..cut]),
                None => t,
            }
        }
    }
}

fn render_tvalue(t: &TValue, ctx: &Context, subject: &str) -> Result<(Value, bool), Mismatch> {
    match t {
        TValue::Json(v) => Ok((v.clone(), false)),
        TValue::Template(t) => ctx
            .render(t)
            .map(|r| (Value::String(r.text), r.secret))
            .map_err(|e| Mismatch::new(subject, format!("a value for `{t}`"), e.to_string())),
    }
}

fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::String(s), other) | (other, Value::String(s)) if !other.is_string() => {
            *s == scalar_text(other)
        }
        _ => a == b,
    }
}

fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// `near: MEMBER`: the value is a number within the given seconds of
/// the same object's MEMBER (absent values were judged by the matcher).
fn near(
    m: &MatcherC,
    v: Option<&Value>,
    object: Option<&Value>,
    subject: &str,
) -> Result<(), Mismatch> {
    let (Some((other, within)), Some(v)) = (&m.near, v) else {
        return Ok(());
    };
    let reference = object.and_then(|o| o.get(other));
    let miss = |actual: String| {
        let mut miss = Mismatch::new(subject, format!("within {within} s of {other}"), actual);
        miss.level = m.level;
        Err(miss)
    };
    match (number(v), reference.and_then(number)) {
        (Some(a), Some(b)) if (a - b).abs() <= *within => Ok(()),
        (Some(a), Some(b)) => miss(format!("{a} ({} s from {other} = {b})", (a - b).abs())),
        (Some(a), None) => miss(format!("{a}, and no number {other} to compare with")),
        (None, _) => miss(show(v, None)),
    }
}

fn matcher(
    m: &MatcherC,
    v: Option<&Value>,
    object: Option<&Value>,
    subject: &str,
    kind: Option<&str>,
    ctx: &Context,
    header: bool,
) -> Result<(), Mismatch> {
    matcher_checks(m, v, object, subject, kind, ctx, header).map_err(|mut miss| {
        miss.level = m.level;
        miss
    })
}

fn matcher_checks(
    m: &MatcherC,
    given: Option<&Value>,
    object: Option<&Value>,
    subject: &str,
    kind: Option<&str>,
    ctx: &Context,
    header: bool,
) -> Result<(), Mismatch> {
    // An absent member that has a default is judged as its default.
    let v = given.or(m.default.as_ref());
    let fail = |expected: String, actual: String| Err(Mismatch::new(subject, expected, actual));
    let shown = |v: &Value| show(v, kind);
    let shown_expected = |v: &Value, secret: bool| {
        if secret {
            show(v, Some(kind.unwrap_or("tk")))
        } else {
            show(v, kind)
        }
    };
    match (m.present, v) {
        (Some(false), Some(v)) => return fail("absent".into(), format!("present ({})", shown(v))),
        (Some(false), None) => return Ok(()),
        (_, None) if m.optional => return Ok(()),
        (_, None) => {
            // `{not_equals: X}` alone holds for an absent value; any
            // positive check needs the value.
            let positive = m.equals.is_some()
                || m.equals_ignore_case.is_some()
                || m.one_of.is_some()
                || m.regex.is_some()
                || m.contains.is_some()
                || m.same_words.is_some()
                || m.json_type.is_some()
                || m.min.is_some()
                || m.max.is_some()
                || m.lifetime.is_some()
                || m.lacks_word.is_some()
                || m.expires_after.is_some();
            let only_negative = m.not_equals.is_some() && !positive && m.present.is_none();
            if only_negative {
                return Ok(());
            }
            return fail("present".into(), "absent".into());
        }
        _ => {}
    }
    let Some(v) = v else { return Ok(()) };
    if let Some(t) = &m.json_type {
        let actual = JsonType::of(v);
        let ok = actual == *t || (*t == JsonType::Number && actual == JsonType::Integer);
        if !ok {
            return fail(
                format!("type {}", t.as_str()),
                format!("{} {}", actual.as_str(), shown(v)),
            );
        }
    }
    if let Some(e) = &m.equals {
        let (want, secret) = render_tvalue(e, ctx, subject)?;
        if !same(&want, v) {
            return fail(shown_expected(&want, secret), shown(v));
        }
    }
    if let Some(e) = &m.not_equals {
        let (want, secret) = render_tvalue(e, ctx, subject)?;
        if same(&want, v) {
            return fail(
                format!("a value other than {}", shown_expected(&want, secret)),
                shown(v),
            );
        }
    }
    let text = scalar_text(v);
    if let Some(t) = &m.equals_ignore_case {
        let want = ctx
            .render(t)
            .map_err(|e| Mismatch::new(subject, t.to_string(), e.to_string()))?
            .text;
        if !text.eq_ignore_ascii_case(&want) {
            return fail(format!("{want:?} (any case)"), shown(v));
        }
    }
    if let Some(options) = &m.one_of {
        let mut wants = Vec::new();
        for o in options {
            wants.push(render_tvalue(o, ctx, subject)?.0);
        }
        if !wants.iter().any(|w| same(w, v)) {
            let list: Vec<String> = wants.iter().map(|w| show(w, None)).collect();
            return fail(format!("one of [{}]", list.join(", ")), shown(v));
        }
    }
    if let Some(re) = &m.regex
        && !re.is_match(&text)
    {
        return fail(format!("a match for /{}/", re.as_str()), shown(v));
    }
    if let Some(t) = &m.contains {
        let want = ctx
            .render(t)
            .map_err(|e| Mismatch::new(subject, t.to_string(), e.to_string()))?
            .text;
        let ok = if header {
            text.to_ascii_lowercase()
                .contains(&want.to_ascii_lowercase())
        } else if let Value::Array(items) = v {
            // A list contains the value as one of its elements.
            items.iter().any(|i| scalar_text(i) == want)
        } else {
            text.contains(&want)
        };
        if !ok {
            return fail(format!("a value containing {want:?}"), shown(v));
        }
    }
    if let Some(t) = &m.same_words {
        let want = match ctx.render(t) {
            Ok(r) => r.text,
            // `optional`: nothing to compare with (a granted scope that
            // neither the request nor the answer named) is nothing to judge.
            Err(_) if m.optional => return Ok(()),
            Err(e) => return Err(Mismatch::new(subject, t.to_string(), e.to_string())),
        };
        let mut a: Vec<&str> = text.split_whitespace().collect();
        let mut b: Vec<&str> = want.split_whitespace().collect();
        a.sort_unstable();
        a.dedup();
        b.sort_unstable();
        b.dedup();
        if a != b {
            return fail(format!("the words {want:?}"), shown(v));
        }
    }
    for (bound, is_min) in [(&m.min, true), (&m.max, false)] {
        if let Some(b) = bound {
            let (limit, _) = render_tvalue(b, ctx, subject)?;
            let limit = number(&limit)
                .ok_or_else(|| Mismatch::new(subject, "a numeric bound", show(&limit, None)))?;
            let Some(n) = number(v) else {
                return fail("a number".into(), shown(v));
            };
            if (is_min && n < limit) || (!is_min && n > limit) {
                let word = if is_min { "at least" } else { "at most" };
                return fail(format!("{word} {limit}"), shown(v));
            }
        }
    }
    if let Some(t) = &m.lacks_word {
        let word = ctx
            .render(t)
            .map_err(|e| Mismatch::new(subject, t.to_string(), e.to_string()))?
            .text;
        if text.split_whitespace().any(|w| w == word) {
            return fail(format!("no `{word}` among the words"), shown(v));
        }
    }
    if let Some(l) = &m.expires_after {
        let (declared, _) = render_tvalue(l, ctx, subject)?;
        let declared = number(&declared).ok_or_else(|| {
            Mismatch::new(subject, "a lifetime in seconds", show(&declared, None))
        })?;
        let slack = ctx.target.timing.expires_in_tolerance_s as f64 + 10.0;
        // On the server's own clock when the answer says when the token
        // was issued (`iat`): a server whose clock is off is not wrong.
        // Else on this machine's.
        match (
            number(v),
            object.and_then(|o| o.get("iat")).and_then(number),
        ) {
            (Some(n), Some(iat)) => {
                if (n - iat - declared).abs() > slack {
                    return fail(
                        format!(
                            "{declared} s after its iat, ±{slack} s (the token's expires_in; timing.expires_in_tolerance_s + 10 s)"
                        ),
                        format!("{n}: {:.0} s after iat {iat}", n - iat),
                    );
                }
            }
            (Some(n), None) => {
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_secs_f64())
                    .unwrap_or(0.0);
                if (n - (now + declared)).abs() > slack {
                    return fail(
                        format!(
                            "a time {declared} s from now, ±{slack} s (the token's expires_in; timing.expires_in_tolerance_s + 10 s; with no iat in the answer, this machine's clock is the reference)"
                        ),
                        format!("{n}: {:.0} s from now", n - now),
                    );
                }
            }
            (None, _) => {
                return fail(
                    format!("a time {declared} s after the token was issued"),
                    shown(v),
                );
            }
        }
    }
    if let Some(l) = &m.lifetime {
        let (declared, _) = render_tvalue(l, ctx, subject)?;
        let declared = number(&declared)
            .ok_or_else(|| Mismatch::new(subject, "a declared lifetime", show(&declared, None)))?;
        let tolerance = ctx.target.timing.expires_in_tolerance_s as f64;
        let expected = format!(
            "the declared {declared} s (down to {} s: timing.expires_in_tolerance_s = {tolerance})",
            (declared - tolerance).max(0.0)
        );
        match number(v) {
            Some(n) if n <= declared && n >= declared - tolerance => {}
            _ => return fail(expected, shown(v)),
        }
    }
    Ok(())
}

/// A 2xx response carrying an `error` and no `access_token`.
fn refused_with_2xx(r: &HttpResponse) -> bool {
    (200..300).contains(&r.status)
        && r.json()
            .is_some_and(|j| j.get("error").is_some() && j.get("access_token").is_none())
}

fn judged(ids: &[String], m: Mismatch) -> Mismatch {
    m.judged(ids)
}

/// Checks set expectations over the responses of a parallel step (`None`
/// for a request that failed in transport).
///
/// With `codes_incidental` (a check of the refusal itself, see
/// [`super::causes`]), a refusal with another readable code counts as the
/// refusal it is, and the wrong codes come back, to be judged under ER-CODE.
pub fn check_set(
    sets: &[SetExpectationC],
    responses: &[Option<HttpResponse>],
    codes_incidental: bool,
) -> Result<Vec<(String, String)>, Mismatch> {
    let total = responses.len() as u32;
    let mut wrong_codes: Vec<(String, String)> = Vec::new();
    for s in sets {
        let matching: Vec<&HttpResponse> = responses
            .iter()
            .flatten()
            // A 2xx that carries an `error` and no token is a refusal sent
            // with the wrong status (ER-STATUS's): counted as a refusal.
            .filter(|r| {
                let status = if refused_with_2xx(r) { 400 } else { r.status };
                s.status.as_ref().is_none_or(|st| {
                    st.matches(status)
                        // The expected refusal with another 4xx: the status
                        // is ER-STATUS's to judge, the refusal counts here.
                        || (s.error.is_some()
                            && (400..500).contains(&status)
                            && st.0.iter().all(|p| match p {
                                StatusPattern::Code(c) => (400..500).contains(c),
                                StatusPattern::Class(c) => *c == 4,
                            }))
                })
            })
            .filter(|r| {
                // A refusal without a readable `error` counts: its shape is
                // ER-BODY's to judge, not this set's.
                s.error.as_ref().is_none_or(|e| match error_code(r) {
                    Some(c) if e.0.contains(&c) => true,
                    Some(c) if codes_incidental && (400..500).contains(&r.status) => {
                        let pair = (e.to_string(), format!("`{c}`"));
                        if !wrong_codes.contains(&pair) {
                            wrong_codes.push(pair);
                        }
                        true
                    }
                    Some(_) => false,
                    None => (400..500).contains(&r.status),
                })
            })
            .collect();
        // With `count_by`, one value handed out several times counts once
        // (an answer without the member counts as its own).
        let n = match &s.count_by {
            // The one definition of an idempotent answer (load's probes
            // judge by it too).
            Some(member) => {
                let values: Vec<Option<String>> = matching
                    .iter()
                    .map(|r| r.json().and_then(|j| j.get(member).map(scalar_text)))
                    .collect();
                crate::oauth::replay::successors(values.iter().map(Option::as_deref)) as u32
            }
            None => matching.len() as u32,
        };
        let mut what = Vec::new();
        if let Some(st) = &s.status {
            what.push(format!("status {st}"));
        }
        if let Some(e) = &s.error {
            what.push(format!("error {e}"));
        }
        let what = if what.is_empty() {
            "any response".to_string()
        } else {
            what.join(" and ")
        };
        // Copies that got no answer could have been anything: a count
        // that holds for some of their answers and not for others is no
        // evidence either way.
        let unanswered = responses.iter().filter(|r| r.is_none()).count() as u32;
        if unanswered > 0 && s.count.holds(n, total) != s.count.holds(n + unanswered, total) {
            let mut m = Mismatch::new(
                format!("responses with {what}"),
                format!("{} of {total}", s.count),
                format!(
                    "{n} of {total}, and {unanswered} got no answer ({}): they could have made it either way",
                    tally(responses)
                ),
            );
            m.defect = Defect::NoAnswer;
            return Err(m);
        }
        if !s.count.holds(n, total) {
            let (subject, got) = match &s.count_by {
                Some(member) => (
                    format!("different `{member}` among responses with {what}"),
                    format!(
                        "{n} different among {} of {total} ({})",
                        matching.len(),
                        tally(responses)
                    ),
                ),
                None => (
                    format!("responses with {what}"),
                    format!("{n} of {total} ({})", tally(responses)),
                ),
            };
            return Err(judged(
                &s.judges,
                Mismatch::new(subject, format!("{} of {total}", s.count), got),
            ));
        }
        if let Some(member) = &s.distinct {
            let values: Vec<String> = matching
                .iter()
                .filter_map(|r| r.json()?.get(member).map(scalar_text))
                .collect();
            let mut unique = values.clone();
            unique.sort();
            unique.dedup();
            if unique.len() != values.len() {
                return Err(judged(
                    &s.judges,
                    Mismatch::new(
                        format!("`{member}` over responses with {what}"),
                        "all different",
                        format!("{} distinct among {}", unique.len(), values.len()),
                    ),
                ));
            }
        }
    }
    Ok(wrong_codes)
}

/// `3×200, 17×400 invalid_grant, 1×timeout`
pub fn tally(responses: &[Option<HttpResponse>]) -> String {
    let mut counts: Vec<(String, usize)> = Vec::new();
    for r in responses {
        let key = match r {
            Some(r) => match error_code(r) {
                Some(c) => format!("{} {c}", r.status),
                None => r.status.to_string(),
            },
            None => "transport error".into(),
        };
        match counts.iter_mut().find(|(k, _)| *k == key) {
            Some((_, n)) => *n += 1,
            None => counts.push((key, 1)),
        }
    }
    counts
        .iter()
        .map(|(k, n)| format!("{n}×{k}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
#[path = "expect_tests.rs"]
mod tests;
