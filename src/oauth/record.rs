//! Sending a built request and keeping a redacted record of the exchange:
//! every secret the request carries and every token the answer issues is
//! registered with the [`Redactor`] before anything is written down.

use super::http::{self, HttpResponse, TransportError};
use super::request::{Sensitive, WireRequest};
use crate::redact::Redactor;
use crate::secret::secret_kind;
use serde::Serialize;
use std::time::Duration;

/// One request and its response, redacted.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Exchange {
    pub request: RequestRecord,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response: Option<ResponseRecord>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RequestRecord {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResponseRecord {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
    /// The body was longer than what is kept.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
    pub elapsed_ms: u64,
}

/// How much of a non-JSON body a record keeps.
const SHOWN_BODY_BYTES: usize = 2048;

/// Tells the redactor about the secrets a request carries.
pub fn register(wire: &WireRequest, redactor: &Redactor) {
    for s in &wire.sensitive {
        match s {
            Sensitive::Text(kind, v) => redactor.add(kind, v),
            Sensitive::Basic(user, password) => redactor.add_basic(user, password),
        }
    }
}

/// The request as a report may show it: every secret a fingerprint.
pub fn request_record(wire: &WireRequest, redactor: &Redactor) -> RequestRecord {
    let headers = wire
        .headers
        .iter()
        .map(|(k, v)| {
            let v = if k.eq_ignore_ascii_case("authorization") {
                match v.split_once(' ') {
                    Some((scheme, cred)) => {
                        format!("{scheme} {}", crate::secret::fingerprint("cred", cred))
                    }
                    None => crate::secret::fingerprint("cred", v),
                }
            } else {
                redactor.redact(v)
            };
            (k.clone(), v)
        })
        .collect();
    let body = wire.body.as_ref().map(|(ctype, b)| {
        let text = String::from_utf8_lossy(b);
        let shown = if ctype.starts_with("application/x-www-form-urlencoded") {
            redact_form(&text)
        } else if let Ok(v) = serde_json::from_slice::<serde_json::Value>(b) {
            return redactor.redact_json(&v);
        } else {
            text.chars().take(SHOWN_BODY_BYTES).collect()
        };
        redactor.redact(&shown)
    });
    let mut url = wire.url.clone();
    if url.query().is_some() {
        let q = redact_form(url.query().unwrap_or_default());
        url.set_query(Some(&q));
    }
    RequestRecord {
        method: wire.method.as_str().to_string(),
        url: redactor.redact(url.as_str()),
        headers,
        body,
    }
}

/// The response as a report may show it.
pub fn response_record(r: &HttpResponse, redactor: &Redactor) -> ResponseRecord {
    let json = r.json();
    ResponseRecord {
        status: r.status,
        headers: r
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), redactor.redact(v)))
            .collect(),
        body: match &json {
            Some(j) => redactor.redact_json(j),
            None => redactor.redact(
                &r.body_text()
                    .chars()
                    .take(SHOWN_BODY_BYTES)
                    .collect::<String>(),
            ),
        },
        truncated: r.truncated || r.body.len() > SHOWN_BODY_BYTES && json.is_none(),
        elapsed_ms: r.elapsed.as_millis() as u64,
    }
}

/// A request and (when one came) its response, redacted.
pub fn record(
    wire: &WireRequest,
    response: Option<&HttpResponse>,
    redactor: &Redactor,
) -> Exchange {
    Exchange {
        request: request_record(wire, redactor),
        response: response.map(|r| response_record(r, redactor)),
    }
}

/// A form string with secret-bearing parameters replaced by fingerprints.
fn redact_form(text: &str) -> String {
    let mut out = form_urlencoded::Serializer::new(String::new());
    for (k, v) in form_urlencoded::parse(text.as_bytes()) {
        match secret_kind(&k) {
            Some(kind) => out.append_pair(&k, &crate::secret::fingerprint(kind, &v)),
            None => out.append_pair(&k, &v),
        };
    }
    out.finish()
}

/// One exchange: what was sent, what came back, and its redacted record.
pub struct Exchanged {
    pub response: Result<HttpResponse, TransportError>,
    pub record: Exchange,
}

/// Sends `wire`, registers the secrets it carries and the tokens its answer
/// issues with `redactor`, and records the exchange redacted.
pub async fn exchange(
    client: &reqwest::Client,
    wire: &WireRequest,
    timeout: Duration,
    redactor: &Redactor,
) -> Exchanged {
    register(wire, redactor);
    let response = http::send(wire.to_reqwest(client), timeout).await;
    if let Ok(r) = &response
        && let Some(j) = r.json()
    {
        redactor.add_json(&j);
    }
    let record = record(wire, response.as_ref().ok(), redactor);
    Exchanged { response, record }
}
