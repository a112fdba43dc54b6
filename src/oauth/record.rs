//! Sending a built request and keeping a redacted record of the exchange:
//! every secret the request carries and every token the answer issues is
//! registered with the [`Redactor`] before anything is written down.

use super::http::{self, HttpResponse, TransportError};
use super::request::{Sensitive, WireRequest};
use crate::redact::Redactor;
use crate::secret::{fingerprint, secret_kind};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// One request and its response, redacted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Exchange {
    pub request: RequestRecord,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response: Option<ResponseRecord>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RequestRecord {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ResponseRecord {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
    /// The body was longer than what is kept.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
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
            Sensitive::Field(..) => {}
        }
    }
}

/// The form fields `wire` declares secret by name, with their kinds.
fn secret_fields(wire: &WireRequest) -> Vec<(&str, &'static str)> {
    wire.sensitive
        .iter()
        .filter_map(|s| match s {
            Sensitive::Field(kind, name) => Some((name.as_str(), *kind)),
            _ => None,
        })
        .collect()
}

/// A request header as a report may show it: credentials and cookies by
/// structure, whatever their length.
fn request_header(name: &str, value: &str, redactor: &Redactor) -> String {
    if name.eq_ignore_ascii_case("authorization") {
        return match value.split_once(' ') {
            Some((scheme, cred)) => format!("{scheme} {}", fingerprint("cred", cred)),
            None => fingerprint("cred", value),
        };
    }
    if name.eq_ignore_ascii_case("cookie") {
        return value
            .split(';')
            .map(|pair| match pair.trim().split_once('=') {
                Some((k, v)) => format!("{k}={}", fingerprint("ck", v)),
                None => pair.trim().to_string(),
            })
            .collect::<Vec<_>>()
            .join("; ");
    }
    redactor.field(value)
}

/// A response header as a report may show it: a cookie's value by
/// structure.
fn response_header(name: &str, value: &str, redactor: &Redactor) -> String {
    if name.eq_ignore_ascii_case("set-cookie") {
        let (pair, attributes) = value.split_once(';').unwrap_or((value, ""));
        let shown = match pair.split_once('=') {
            Some((k, v)) => format!("{}={}", k.trim(), fingerprint("ck", v.trim())),
            None => pair.to_string(),
        };
        return if attributes.is_empty() {
            shown
        } else {
            format!("{shown};{}", redactor.redact(attributes))
        };
    }
    redactor.field(value)
}

/// The request as a report may show it: every secret a fingerprint.
pub fn request_record(wire: &WireRequest, redactor: &Redactor) -> RequestRecord {
    let fields = secret_fields(wire);
    let headers = wire
        .headers
        .iter()
        .map(|(k, v)| (k.clone(), request_header(k, v, redactor)))
        .collect();
    let body = wire.body.as_ref().map(|(ctype, b)| {
        let text = String::from_utf8_lossy(b);
        let shown = if ctype.starts_with("application/x-www-form-urlencoded") {
            redact_form(&text, &fields, redactor)
        } else if let Ok(v) = serde_json::from_slice::<serde_json::Value>(b) {
            return redactor.redact_json(&v);
        } else {
            text.chars().take(SHOWN_BODY_BYTES).collect()
        };
        redactor.redact(&shown)
    });
    let mut url = wire.url.clone();
    if url.query().is_some() {
        let q = redact_form(url.query().unwrap_or_default(), &fields, redactor);
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
    let html = r
        .header("content-type")
        .is_some_and(|c| c.to_ascii_lowercase().contains("html"));
    ResponseRecord {
        status: r.status,
        headers: r
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), response_header(k, v, redactor)))
            .collect(),
        body: match &json {
            Some(j) => redactor.redact_json(j),
            None => {
                let text = r.body_text();
                let text = if html {
                    crate::oauth::login::form::redact_inputs(&text)
                } else {
                    text
                };
                redactor.redact(&text.chars().take(SHOWN_BODY_BYTES).collect::<String>())
            }
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

/// A form string with secret-bearing parameters replaced by fingerprints:
/// by name (the protocol's own, and those the request declares secret),
/// and by value (a known secret, at any length).
/// Fingerprints stay readable (`pw#3f9a1c`, not `pw%233f9a1c`).
fn redact_form(text: &str, fields: &[(&str, &'static str)], redactor: &Redactor) -> String {
    let mut pairs = Vec::new();
    for part in text.split('&').filter(|p| !p.is_empty()) {
        let (raw_k, raw_v) = part.split_once('=').unwrap_or((part, ""));
        let decode = |s: &str| {
            form_urlencoded::parse(format!("x={s}").as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default()
        };
        let (k, v) = (decode(raw_k), decode(raw_v));
        let declared = fields
            .iter()
            .find(|(name, _)| *name == k)
            .map(|(_, kind)| *kind);
        let shown = match secret_kind(&k).or(declared) {
            Some(kind) => fingerprint(kind, &v),
            None => match redactor.structural(&v) {
                Some(fp) => fp,
                None => raw_v.to_string(),
            },
        };
        pairs.push(if part.contains('=') {
            format!("{raw_k}={shown}")
        } else {
            raw_k.to_string()
        });
    }
    pairs.join("&")
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
