//! Root causes: which defects a scenario judges as its own, and which it
//! only meets on the way and hands to the one id that judges them.
//!
//! A scenario judges the property its ids name. How a refusal is shaped
//! (its body, its status, its `error` code) belongs to the error-format
//! ids, once, with every place it was seen, unless the scenario's own
//! property is that shape. For the `error` code this module draws the line:
//! a check of a refusal (a race's losers, a binding, a revocation, a
//! rotated token) holds when the server refuses; which registered code the
//! refusal carries is ER-CODE's, so that one server answering every bad
//! refresh token with `invalid_request` is one finding, not one per check
//! that refreshes with a dead token. The checks whose property *is* the
//! code (RB-BOGUS: "never `invalid_request`"; PW-BADCRED; the client
//! authentication and format checks) keep it as theirs, and ER-CODE's
//! places fold into the first of their findings with the same answer.

/// Catalogue ids (or prefixes ending in `-`) whose property is that a
/// request is refused, whatever registered code the refusal carries.
const REFUSAL_PROPERTIES: [&str; 20] = [
    "ROT-",
    "RU-",
    "EXP-",
    "CC-",
    "RI-REVOKE",
    "RI-CASCADE",
    "RI-FOREIGN",
    "CA-BINDING",
    "CA-KEEP",
    "AC-REVOKE",
    "AC-ONCE",
    "AC-CLIENT",
    "AC-REDIRECT",
    "PC-ROTATE",
    "DP-BOUND",
    "DP-KEY",
    "SC-NARROW",
    "RI-HINT",
    "RI-INTROSPECT",
    "RB-WRONG-TYPE",
];

/// True when every id `covers` names is a refusal property: a wrong code
/// met there is handed to ER-CODE and the scenario goes on.
pub fn code_is_incidental(covers: &[String]) -> bool {
    let refusal = |c: &String| {
        REFUSAL_PROPERTIES
            .iter()
            .any(|p| match p.strip_suffix('-') {
                Some(prefix) => c.starts_with(prefix) && c[prefix.len()..].starts_with('-'),
                None => c == p,
            })
    };
    // The shape ids beside a refusal (a race that also watches for 5xx)
    // judge no code.
    let shape = |c: &String| ["ER-BODY", "ER-STATUS", "ER-NO5XX"].contains(&c.as_str());
    covers.iter().any(refusal) && covers.iter().all(|c| refusal(c) || shape(c))
}

/// What identifies one root cause among failures of token requests: the
/// endpoint (the URL's path), the grant type, the answer's status, and
///
/// - for a refusal with the wrong `error` code: that code (the shape of
///   the refusal is the cause, whatever check met it and whatever the
///   description says: one server answering every failed password grant
///   `403 access_denied` is one finding);
/// - for a request accepted where a refusal was expected: the ids judged
///   (a server ignoring the PKCE verifier accepts a missing one and a
///   wrong one alike: one finding of PK-VERIFIER, not two; a binding
///   accepted and a widened scope accepted stay two defects).
#[derive(PartialEq, Debug)]
struct AnswerKey {
    endpoint: String,
    grant: String,
    status: u16,
    what: AnswerWhat,
}

#[derive(PartialEq, Debug)]
enum AnswerWhat {
    /// The code, and whether the check expected another one (a 501
    /// `unsupported_grant_type` is one cause for a malformed body that
    /// expects any 4xx, and two for a missing `grant_type`, whose check
    /// expects `invalid_request`).
    Code(String, bool),
    Accepted(Vec<String>),
}

fn answer_key(r: &super::result::ScenarioResult, f: &super::result::Finding) -> Option<AnswerKey> {
    let x = f.exchange.as_ref()?;
    let response = x.response.as_ref()?;
    let grant = x
        .request
        .body
        .as_deref()
        .and_then(|b| {
            url::form_urlencoded::parse(b.as_bytes())
                .find(|(k, _)| k == "grant_type")
                .map(|(_, v)| v.into_owned())
        })
        .unwrap_or_default();
    let endpoint = url::Url::parse(&x.request.url)
        .map(|u| u.path().to_string())
        .unwrap_or_else(|_| x.request.url.clone());
    let code = serde_json::from_str::<serde_json::Value>(&response.body)
        .ok()
        .and_then(|b| b.get("error")?.as_str().map(str::to_string));
    let refusal_shape = ["error", "status", "response"].contains(&f.subject.as_str());
    let what = if let (Some(code), true, true) = (code, refusal_shape, response.status >= 400) {
        let code_wrong = f.subject == "error" || f.also.iter().any(|o| o.subject == "error");
        AnswerWhat::Code(code, code_wrong)
    } else if (200..300).contains(&response.status) && f.subject == "status" && !grant.is_empty() {
        let mut ids = if f.judges.is_empty() {
            r.covers.clone()
        } else {
            f.judges.clone()
        };
        ids.sort();
        AnswerWhat::Accepted(ids)
    } else {
        return None;
    };
    Some(AnswerKey {
        endpoint,
        grant,
        status: response.status,
        what,
    })
}

/// What makes two findings one root cause.
#[derive(PartialEq)]
enum Cause {
    /// The same wrong answer to the same kind of token request.
    Answer(AnswerKey),
    /// The same document (a GET of one URL, answered with one status and
    /// body) found wanting under the same ids at the same weight: the
    /// discovery document that lacks `grant_types_supported` is one
    /// finding of CA-META, however many of its checks read it.
    Document {
        url: String,
        status: u16,
        body: String,
        ids: Vec<String>,
        warned: bool,
    },
}

fn cause(r: &super::result::ScenarioResult) -> Option<Cause> {
    use super::result::Outcome;
    let (f, warned) = match &r.outcome {
        Outcome::Failed(f) => (f, false),
        Outcome::Warned(f) => (f, true),
        _ => return None,
    };
    if !warned && let Some(key) = answer_key(r, f) {
        return Some(Cause::Answer(key));
    }
    let x = f.exchange.as_ref()?;
    let response = x.response.as_ref()?;
    if x.request.method != "GET" {
        return None;
    }
    let mut ids = if f.judges.is_empty() {
        r.covers.clone()
    } else {
        f.judges.clone()
    };
    ids.sort();
    Some(Cause::Document {
        url: x.request.url.clone(),
        status: response.status,
        body: response.body.clone(),
        ids,
        warned,
    })
}

/// True when `r` may still fold into another's finding (shown once the
/// run is over, as it ends).
pub fn may_fold(r: &super::result::ScenarioResult) -> bool {
    r.known.is_none() && cause(r).is_some()
}

/// One root cause, one finding: failures that got the very same wrong
/// answer to the same kind of request, or found the same document wanting
/// under the same ids, fold into one of them (the check of ER-CODE first,
/// then the first by id), which lists every place; the others become
/// [`Outcome::SameCause`] pointing at it.
pub fn fold_same_answers(results: &mut [super::result::ScenarioResult]) {
    use super::result::Outcome;
    let mut groups: Vec<(Cause, Vec<usize>)> = Vec::new();
    for (i, r) in results.iter().enumerate() {
        if r.known.is_some() {
            continue;
        }
        if let Some(key) = cause(r) {
            match groups.iter_mut().find(|(k, _)| *k == key) {
                Some((_, members)) => members.push(i),
                None => groups.push((key, vec![i])),
            }
        }
    }
    for (_, members) in groups.into_iter().filter(|(_, m)| m.len() > 1) {
        let root = *members
            .iter()
            .min_by_key(|&&i| {
                let r = &results[i];
                (!r.covers.iter().any(|c| c == "ER-CODE"), r.id.clone())
            })
            .expect("a group has members");
        let root_id = results[root].id.clone();
        let mut places = Vec::new();
        for &i in members.iter().filter(|&&i| i != root) {
            let r = &mut results[i];
            let (Outcome::Failed(f) | Outcome::Warned(f)) = &r.outcome else {
                continue;
            };
            let detail = format!("{}: expected {}, got {}", f.subject, f.expected, f.actual);
            places.push(format!("{}, step `{}`: {detail}", r.id, f.step));
            places.extend(f.seen_in.iter().cloned());
            r.outcome = Outcome::SameCause {
                root: root_id.clone(),
                step: f.step.clone(),
                detail,
            };
        }
        if let Outcome::Failed(f) | Outcome::Warned(f) = &mut results[root].outcome {
            f.seen_in.extend(places);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn refusal_checks_hand_the_code_on_and_code_checks_keep_it() {
        assert!(code_is_incidental(&ids(&["CC-RACE"])));
        assert!(code_is_incidental(&ids(&["CA-BINDING", "RU-FAMILY"])));
        assert!(code_is_incidental(&ids(&["ROT-OLD"])));
        assert!(!code_is_incidental(&ids(&["RB-BOGUS"])));
        assert!(!code_is_incidental(&ids(&["CC-RACE", "RB-BOGUS"])));
        assert!(!code_is_incidental(&ids(&["PW-BADCRED"])));
        assert!(!code_is_incidental(&[]));
        assert!(code_is_incidental(&ids(&["CC-RACE", "ER-NO5XX"])));
        assert!(!code_is_incidental(&ids(&["ER-BODY"])));
        // A prefix is a whole part of the id: `EXP-` is not `EXPORT`.
        assert!(!code_is_incidental(&ids(&["EXPX-1"])));
    }
}
