//! The mock's HTTP side: request parsing (form, Basic), client
//! authentication, grant dispatch and RFC 6749 §5 responses.

// Handlers return the finished error response as `Err`: it is the natural
// type here and only built on the (cold) error path.
#![allow(clippy::result_large_err)]

use super::MockConfig;
use super::store::{Issued, Store};
use crate::wire::{self, ErrorCode, ErrorResponse, TokenResponse};
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use base64::Engine;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use subtle::ConstantTimeEq;

/// Request bodies larger than this are refused with `invalid_request`.
const MAX_BODY: usize = 64 * 1024;

struct Shared {
    cfg: MockConfig,
    store: Mutex<Store>,
    clock_offset: AtomicU64,
    base_url: String,
}

impl Shared {
    fn now(&self) -> u64 {
        let real = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        real + self.clock_offset.load(Ordering::SeqCst)
    }
}

/// A running mock.
pub struct MockServer {
    addr: SocketAddr,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl MockServer {
    /// Starts the mock on `listen` (port 0 picks a free port).
    pub async fn start(cfg: MockConfig, listen: SocketAddr) -> std::io::Result<MockServer> {
        let listener = tokio::net::TcpListener::bind(listen).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            store: Mutex::new(Store::default()),
            clock_offset: AtomicU64::new(0),
            base_url: format!("http://{addr}"),
            cfg,
        });
        let mut app = Router::new()
            .route("/token", any(token))
            .route("/revoke", post(revoke))
            .route("/introspect", post(introspect))
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/.well-known/oauth-authorization-server", get(discovery));
        if shared.cfg.virtual_clock {
            app = app.route("/__tokenprobe/clock", post(clock));
        }
        let app = app.fallback(not_found).with_state(shared);
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
        });
        Ok(MockServer {
            addr,
            shutdown: Some(tx),
            task,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn token_endpoint(&self) -> String {
        format!("{}/token", self.base_url())
    }

    /// Stops accepting connections and waits for the server task.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let _ = tokio::time::timeout(std::time::Duration::from_secs(5), &mut self.task).await;
    }
}

fn json_response(status: StatusCode, body: String) -> Response {
    let mut r = (status, body).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    r
}

fn error(code: ErrorCode, description: &str) -> Response {
    let status = if code == ErrorCode::InvalidClient {
        StatusCode::UNAUTHORIZED
    } else {
        StatusCode::BAD_REQUEST
    };
    let body = ErrorResponse {
        error: code.as_str().into(),
        error_description: Some(description.into()),
        error_uri: None,
    };
    let mut r = json_response(status, serde_json::to_string(&body).unwrap_or_default());
    if code == ErrorCode::InvalidClient {
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"tokenprobe-mock\""),
        );
    }
    r
}

async fn not_found() -> Response {
    json_response(StatusCode::NOT_FOUND, r#"{"error":"not_found"}"#.into())
}

/// A parsed form body; duplicates are kept so they can be refused.
struct Form(Vec<(String, String)>);

impl Form {
    fn parse(bytes: &[u8]) -> Result<Form, Response> {
        // form_urlencoded is lenient; refuse what is not even text.
        if std::str::from_utf8(bytes).is_err() {
            return Err(error(
                ErrorCode::InvalidRequest,
                "body is not UTF-8 form data",
            ));
        }
        let pairs: Vec<(String, String)> = form_urlencoded::parse(bytes)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        for (i, (k, _)) in pairs.iter().enumerate() {
            if pairs[..i].iter().any(|(p, _)| p == k) {
                return Err(error(ErrorCode::InvalidRequest, "a parameter is repeated"));
            }
        }
        Ok(Form(pairs))
    }

    fn get(&self, k: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(p, _)| p == k)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }
}

/// Reads and checks a token-style request: POST, form-encoded, bounded,
/// no repeated parameters, no credentials in the query.
async fn read_form(req: Request) -> Result<(HeaderMap, Form), Response> {
    let (parts, body) = req.into_parts();
    if parts.method != Method::POST {
        let mut r = error(
            ErrorCode::InvalidRequest,
            "the token endpoint accepts POST only",
        );
        *r.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
        r.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
        return Err(r);
    }
    if let Some(q) = parts.uri.query() {
        let has_secret = form_urlencoded::parse(q.as_bytes())
            .any(|(k, _)| k == "client_secret" || k == "password" || k == "refresh_token");
        if has_secret {
            return Err(error(
                ErrorCode::InvalidRequest,
                "credentials must not be sent in the query string",
            ));
        }
    }
    let ctype = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !ctype
        .to_ascii_lowercase()
        .starts_with("application/x-www-form-urlencoded")
    {
        return Err(error(
            ErrorCode::InvalidRequest,
            "the body must be application/x-www-form-urlencoded",
        ));
    }
    let bytes: Bytes = axum::body::to_bytes(Body::new(body), MAX_BODY)
        .await
        .map_err(|_| error(ErrorCode::InvalidRequest, "request body too large"))?;
    Ok((parts.headers, Form::parse(&bytes)?))
}

fn ct_eq(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

/// `Authorization: Basic` credentials, percent-decoded (RFC 6749 §2.3.1).
fn basic_credentials(headers: &HeaderMap) -> Option<Result<(String, String), ()>> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, rest) = v.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(rest.trim())
        .map_err(|_| ());
    Some(decoded.and_then(|d| {
        let s = String::from_utf8(d).map_err(|_| ())?;
        let (id, secret) = s.split_once(':').ok_or(())?;
        let dec = |x: &str| -> String {
            form_urlencoded::parse(format!("v={x}").as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default()
        };
        Ok((dec(id), dec(secret)))
    }))
}

/// Authenticates the client; returns its id.
fn authenticate(shared: &Shared, headers: &HeaderMap, form: &Form) -> Result<String, Response> {
    let basic = basic_credentials(headers);
    if basic.is_some() && form.get("client_secret").is_some() {
        return Err(error(
            ErrorCode::InvalidRequest,
            "use one client authentication method, not two",
        ));
    }
    let (id, secret) = match basic {
        Some(Ok(c)) => c,
        Some(Err(())) => {
            return Err(error(
                ErrorCode::InvalidClient,
                "malformed Basic credentials",
            ));
        }
        None => match (form.get("client_id"), form.get("client_secret")) {
            (Some(id), Some(secret)) => (id.to_string(), secret.to_string()),
            _ => {
                return Err(error(
                    ErrorCode::InvalidClient,
                    "client authentication required",
                ));
            }
        },
    };
    let known = shared.cfg.clients.iter().find(|c| c.id == id);
    // Compare against a dummy when the client is unknown, so timing says nothing.
    let expected = known.map_or("\u{0}unknown-client", |c| c.secret.as_str());
    if known.is_none() || !ct_eq(expected, &secret) {
        return Err(error(
            ErrorCode::InvalidClient,
            "client authentication failed",
        ));
    }
    Ok(id)
}

fn scope_words(s: &str) -> Vec<String> {
    let mut v: Vec<String> = s.split_whitespace().map(str::to_string).collect();
    v.dedup();
    v
}

fn issued(i: Issued) -> Response {
    let body = TokenResponse {
        access_token: i.access_token,
        token_type: "Bearer".into(),
        expires_in: Some(i.expires_in),
        refresh_token: i.refresh_token,
        scope: Some(i.scope.join(" ")),
        id_token: None,
        extra: Default::default(),
    };
    json_response(
        StatusCode::OK,
        serde_json::to_string(&body).unwrap_or_default(),
    )
}

async fn token(State(shared): State<Arc<Shared>>, req: Request) -> Response {
    let (headers, form) = match read_form(req).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let Some(grant) = form.get("grant_type").map(str::to_string) else {
        return error(ErrorCode::InvalidRequest, "grant_type is missing");
    };
    let client_id = match authenticate(&shared, &headers, &form) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let allowed = |g: &str| {
        shared
            .cfg
            .clients
            .iter()
            .any(|c| c.id == client_id && c.grants.iter().any(|x| x == g))
    };
    let cfg = &shared.cfg;
    let now = shared.now();
    match grant.as_str() {
        wire::grant::PASSWORD => {
            if !allowed(&grant) {
                return error(
                    ErrorCode::UnauthorizedClient,
                    "this client may not use the password grant",
                );
            }
            let (Some(user), Some(password)) = (form.get("username"), form.get("password")) else {
                return error(
                    ErrorCode::InvalidRequest,
                    "username and password are required",
                );
            };
            let ok = cfg
                .users
                .iter()
                .any(|u| u.username == user && ct_eq(&u.password, password));
            if !ok {
                return error(
                    ErrorCode::InvalidGrant,
                    "invalid resource owner credentials",
                );
            }
            let scope = match form.get("scope") {
                Some(s) => scope_words(s),
                None => scope_words(&cfg.default_scope),
            };
            if scope.iter().any(|s| !cfg.scopes.contains(s)) {
                return error(ErrorCode::InvalidScope, "unknown scope");
            }
            let mut store = shared.store.lock().unwrap_or_else(|e| e.into_inner());
            issued(store.issue(cfg, &client_id, Some(user), scope, true, now))
        }
        wire::grant::CLIENT_CREDENTIALS => {
            let scope = match form.get("scope") {
                Some(s) => scope_words(s),
                None => scope_words(&cfg.default_scope),
            };
            if scope.iter().any(|s| !cfg.scopes.contains(s)) {
                return error(ErrorCode::InvalidScope, "unknown scope");
            }
            let mut store = shared.store.lock().unwrap_or_else(|e| e.into_inner());
            // RFC 6749 §4.4.3: no refresh token for client credentials.
            issued(store.issue(cfg, &client_id, None, scope, false, now))
        }
        wire::grant::REFRESH_TOKEN => {
            if !allowed(&grant) {
                return error(
                    ErrorCode::UnauthorizedClient,
                    "this client may not use the refresh_token grant",
                );
            }
            let Some(rt) = form.get("refresh_token") else {
                return error(ErrorCode::InvalidRequest, "refresh_token is missing");
            };
            let requested = form.get("scope").map(scope_words);
            let mut store = shared.store.lock().unwrap_or_else(|e| e.into_inner());
            match store.refresh(cfg, rt, &client_id, requested, now) {
                Ok(i) => issued(i),
                Err((code, why)) => error(code, why),
            }
        }
        _ => error(ErrorCode::UnsupportedGrantType, "unsupported grant_type"),
    }
}

async fn revoke(State(shared): State<Arc<Shared>>, req: Request) -> Response {
    let (headers, form) = match read_form(req).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let client = match authenticate(&shared, &headers, &form) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let Some(token) = form.get("token") else {
        return error(ErrorCode::InvalidRequest, "token is missing");
    };
    shared
        .store
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .revoke(token, &client);
    json_response(StatusCode::OK, "{}".into())
}

async fn introspect(State(shared): State<Arc<Shared>>, req: Request) -> Response {
    let (headers, form) = match read_form(req).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let client = match authenticate(&shared, &headers, &form) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let Some(token) = form.get("token") else {
        return error(ErrorCode::InvalidRequest, "token is missing");
    };
    let now = shared.now();
    let answer = shared
        .store
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .introspect(token, &client, now);
    json_response(
        StatusCode::OK,
        serde_json::to_string(&answer).unwrap_or_default(),
    )
}

async fn discovery(State(shared): State<Arc<Shared>>) -> Response {
    let base = &shared.base_url;
    let doc = wire::Discovery {
        issuer: Some(base.clone()),
        token_endpoint: format!("{base}/token"),
        revocation_endpoint: Some(format!("{base}/revoke")),
        introspection_endpoint: Some(format!("{base}/introspect")),
        jwks_uri: None,
        grant_types_supported: vec![
            "password".into(),
            "refresh_token".into(),
            "client_credentials".into(),
        ],
        token_endpoint_auth_methods_supported: vec![
            "client_secret_basic".into(),
            "client_secret_post".into(),
        ],
        scopes_supported: shared.cfg.scopes.clone(),
    };
    json_response(
        StatusCode::OK,
        serde_json::to_string(&doc).unwrap_or_default(),
    )
}

async fn clock(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let Ok(adv) = serde_json::from_slice::<wire::ClockAdvance>(&body) else {
        return error(ErrorCode::InvalidRequest, "expected {\"seconds\": N}");
    };
    shared.clock_offset.fetch_add(adv.seconds, Ordering::SeqCst);
    json_response(
        StatusCode::OK,
        serde_json::to_string(&wire::ClockState { now: shared.now() }).unwrap_or_default(),
    )
}
