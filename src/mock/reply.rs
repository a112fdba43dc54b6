//! Responses: RFC 6749 §5 JSON bodies with `Cache-Control: no-store` and
//! `Pragma: no-cache`, and [`OAuthError`], the error every handler returns.
//! The `errors_as_200` and `no_store_missing` faults are applied here, in
//! one place.

use super::fault::{Fault, FaultSet};
use crate::wire::{ErrorCode, ErrorResponse};
use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use std::borrow::Cow;

/// The `WWW-Authenticate` challenge sent with every 401 of the token,
/// revocation and introspection endpoints.
pub const BASIC_CHALLENGE: &str = "Basic realm=\"tokenprobe-mock\"";

/// An RFC 6749 §5.2 error, ready to be sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    pub status: StatusCode,
    /// A registered code, or another one for bearer endpoints (`invalid_token`).
    pub error: &'static str,
    pub description: Cow<'static, str>,
    pub retry_after_s: Option<u64>,
    /// `WWW-Authenticate` value when 401.
    pub challenge: &'static str,
}

impl OAuthError {
    /// 400, or 401 for `invalid_client` (RFC 6749 §5.2).
    pub fn new(code: ErrorCode, description: impl Into<Cow<'static, str>>) -> OAuthError {
        let status = match code {
            ErrorCode::InvalidClient => StatusCode::UNAUTHORIZED,
            _ => StatusCode::BAD_REQUEST,
        };
        OAuthError {
            status,
            error: code.as_str(),
            description: description.into(),
            retry_after_s: None,
            challenge: BASIC_CHALLENGE,
        }
    }

    pub fn invalid_request(description: impl Into<Cow<'static, str>>) -> OAuthError {
        OAuthError::new(ErrorCode::InvalidRequest, description)
    }

    pub fn invalid_client(description: impl Into<Cow<'static, str>>) -> OAuthError {
        OAuthError::new(ErrorCode::InvalidClient, description)
    }

    pub fn with_status(mut self, status: StatusCode) -> OAuthError {
        self.status = status;
        self
    }

    /// 429 with `Retry-After`.
    pub fn throttled(code: ErrorCode, retry_after_s: u64) -> OAuthError {
        OAuthError {
            retry_after_s: Some(retry_after_s),
            ..OAuthError::new(code, "too many failed attempts; try again later")
                .with_status(StatusCode::TOO_MANY_REQUESTS)
        }
    }

    /// 401 `invalid_token` with a Bearer challenge (RFC 6750 §3.1).
    pub fn invalid_token() -> OAuthError {
        OAuthError {
            status: StatusCode::UNAUTHORIZED,
            error: "invalid_token",
            description: "the access token is missing, expired or revoked".into(),
            retry_after_s: None,
            challenge: "Bearer error=\"invalid_token\"",
        }
    }
}

/// Builds responses with the configured headers.
#[derive(Debug, Clone, Copy)]
pub struct Reply {
    no_store: bool,
    errors_as_200: bool,
    empty_errors: bool,
    bearer_challenge: bool,
}

impl Reply {
    pub fn new(faults: FaultSet) -> Reply {
        Reply {
            no_store: !faults.has(Fault::NoStoreMissing),
            errors_as_200: faults.has(Fault::ErrorsAs200),
            empty_errors: faults.has(Fault::EmptyErrorBody),
            bearer_challenge: faults.has(Fault::BearerChallenge),
        }
    }

    /// A JSON response with the no-store headers.
    pub fn json(&self, status: StatusCode, body: Vec<u8>) -> Response {
        let mut r = Response::new(Body::from(body));
        *r.status_mut() = status;
        let h = r.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if self.no_store {
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
        }
        r
    }

    /// A JSON value as a 200 response.
    pub fn ok<T: serde::Serialize>(&self, value: &T) -> Response {
        match serde_json::to_vec(value) {
            Ok(body) => self.json(StatusCode::OK, body),
            Err(_) => self.error(&OAuthError::invalid_request("response not serializable")),
        }
    }

    pub fn error(&self, e: &OAuthError) -> Response {
        let body = ErrorResponse {
            error: e.error.to_string(),
            error_description: Some(e.description.to_string()),
            error_uri: None,
        };
        let status = if self.errors_as_200 {
            StatusCode::OK
        } else {
            e.status
        };
        let mut r = if self.empty_errors {
            let mut r = Response::new(Body::empty());
            *r.status_mut() = status;
            r
        } else {
            self.json(status, serde_json::to_vec(&body).unwrap_or_default())
        };
        let h = r.headers_mut();
        if e.status == StatusCode::UNAUTHORIZED {
            let challenge = if self.bearer_challenge && e.challenge == BASIC_CHALLENGE {
                "Bearer realm=\"tokenprobe-mock\", error=\"invalid_client\""
            } else {
                e.challenge
            };
            h.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(challenge),
            );
        }
        if let Some(s) = e.retry_after_s {
            h.insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        if e.status == StatusCode::METHOD_NOT_ALLOWED {
            h.insert(header::ALLOW, HeaderValue::from_static("POST"));
        }
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_client_is_401_with_a_challenge_and_the_rest_400() {
        let r = Reply::new(FaultSet::default());
        let resp = r.error(&OAuthError::invalid_client("x"));
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(resp.headers()[header::WWW_AUTHENTICATE], BASIC_CHALLENGE);
        assert_eq!(resp.headers()[header::CACHE_CONTROL], "no-store");
        for code in ErrorCode::ALL
            .into_iter()
            .filter(|c| *c != ErrorCode::InvalidClient)
        {
            assert_eq!(
                r.error(&OAuthError::new(code, "x")).status(),
                StatusCode::BAD_REQUEST
            );
        }
    }

    #[test]
    fn the_header_faults_apply_to_every_response() {
        let r = Reply::new(FaultSet::new(&[Fault::ErrorsAs200, Fault::NoStoreMissing]));
        let resp = r.error(&OAuthError::invalid_client("x"));
        assert_eq!(resp.status(), StatusCode::OK);
        assert!(resp.headers().get(header::CACHE_CONTROL).is_none());
        assert!(resp.headers().get(header::PRAGMA).is_none());
    }
}
