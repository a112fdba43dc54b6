//! The sender: token requests built the way `check` builds them, and sent
//! on one of three transports (a user's own HTTP/1.1 connection, plain or
//! TLS; the runtime's reqwest client; a DPoP-signed request). It answers
//! with the status and body, or why there was none; recording is the
//! caller's.

use super::exchange::{Conn, Opened, RefreshTemplate, lean_send};
use super::profile::{Connection, LoadSettings};
use crate::dpop::{DpopAlg, DpopKey};
use crate::oauth::http::{self, HttpOptions, TransportError};
use crate::oauth::{Client, RequestError, TokenRequest, WireRequest};
use crate::secret::Secret;
use crate::target::Target;
use crate::wire::{UserCredentials, grant};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use url::Url;

/// RS256 DPoP keys made for a run, shared round robin by the users.
const RSA_DPOP_KEYS: usize = 8;

/// What a transport returns: the status and body, or no answer.
pub(super) type Sent = Result<(u16, bytes::Bytes), TransportError>;

pub struct Sender {
    /// One HTTP client per runtime (`slot`), so that each runtime's
    /// connections are driven by that runtime and its pool is its own: no
    /// request waits on another thread.
    clients: Vec<reqwest::Client>,
    /// The refresh request with everything but the token built once.
    template: Option<RefreshTemplate>,
    /// Refreshes go on each user's own connection (the closed and open
    /// models), closed after each answer with `--connection per-request`.
    pub(super) direct: bool,
    per_request: bool,
    pub(super) http: HttpOptions,
    /// The primary client, and where its requests go.
    pub(super) client: Client,
    pub(super) endpoint: Url,
    /// The password grant's user credentials placement and scope.
    user_credentials: UserCredentials,
    scope: Option<String>,
    /// DPoP: the server's nonce, once it gave one.
    dpop_nonce: Mutex<Option<String>>,
    /// DPoP with RS256: a few keys the users share (an RSA key takes about
    /// a hundred times longer to make than an EC one).
    rsa_keys: Vec<DpopKey>,
}

/// Why a run cannot start. Nothing has been sent when this is raised.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("{0}")]
    Missing(&'static str),
    #[error(transparent)]
    Request(#[from] RequestError),
}

impl Sender {
    /// The sender of `target`'s primary client, checked before anything
    /// is sent: both kinds of request can be built for `account` (a
    /// client assertion that cannot be signed stops here).
    pub fn new(
        clients: Vec<reqwest::Client>,
        target: &Target,
        http: HttpOptions,
        settings: &LoadSettings,
        account: &(String, Secret),
    ) -> Result<Sender, SetupError> {
        assert!(!clients.is_empty(), "one client per runtime");
        let endpoint = target
            .token_endpoint
            .clone()
            .ok_or(SetupError::Missing("the target has no token endpoint"))?;
        let client = target
            .client("primary")
            .cloned()
            .ok_or(SetupError::Missing("the target has no client `primary`"))?;
        let mut s = Sender {
            clients,
            template: None,
            direct: false,
            per_request: settings.connection == Connection::PerRequest,
            http,
            client,
            endpoint,
            user_credentials: target.password_grant.user_credentials,
            scope: target
                .password_grant
                .scope
                .clone()
                .filter(|s| !s.is_empty()),
            dpop_nonce: Mutex::new(None),
            rsa_keys: Vec::new(),
        };
        s.token_request(None, account)?;
        s.token_request(Some("probe"), account)?;
        if s.client.dpop.is_none() {
            let mark = Some(RefreshTemplate::MARK);
            if let (Ok(one), Ok(two)) = (
                s.token_request(mark, account),
                s.token_request(mark, account),
            ) {
                s.template = RefreshTemplate::new(&one, &two, &s.http);
            }
        }
        // The direct path is the closed and open models': their users and
        // pooled chains are bounded by the connections; the sessions model
        // holds far more sessions than connections. Per request, each
        // refresh opens its connection (a TCP and, over TLS, a handshake,
        // timed apart from the request) and closes it after the answer.
        s.direct =
            settings.sessions.is_none() && s.template.as_ref().is_some_and(|t| t.direct.is_some());
        if s.client.dpop == Some(DpopAlg::RS256) {
            s.rsa_keys = (0..RSA_DPOP_KEYS)
                .filter_map(|_| DpopKey::generate(DpopAlg::RS256).ok())
                .collect();
        }
        Ok(s)
    }

    /// The runtime `slot`'s HTTP client.
    pub(super) fn http_client(&self, slot: usize) -> &reqwest::Client {
        &self.clients[slot]
    }

    /// The DPoP key of the `i`-th user, if the client declares DPoP.
    pub(super) fn dpop_key(&self, i: usize) -> Option<Box<DpopKey>> {
        match self.client.dpop {
            Some(DpopAlg::RS256) if !self.rsa_keys.is_empty() => {
                Some(Box::new(self.rsa_keys[i % self.rsa_keys.len()].clone()))
            }
            Some(alg) => DpopKey::generate(alg).ok().map(Box::new),
            None => None,
        }
    }

    /// A token request of the primary client, built by the request layer
    /// exactly as `check` builds it: the password grant with `account`, or
    /// a refresh of `refresh_token`.
    pub fn token_request(
        &self,
        refresh_token: Option<&str>,
        account: &(String, Secret),
    ) -> Result<WireRequest, RequestError> {
        let request =
            match refresh_token {
                Some(t) => TokenRequest::new(grant::REFRESH_TOKEN, &self.client, &self.endpoint)
                    .param("refresh_token", t),
                None => {
                    let mut r = TokenRequest::new(grant::PASSWORD, &self.client, &self.endpoint)
                        .user(&account.0, account.1.expose(), self.user_credentials);
                    if let Some(scope) = &self.scope {
                        r = r.param("scope", scope);
                    }
                    r
                }
            };
        Ok(request.build()?.post(self.endpoint.clone()))
    }

    /// Sends a built request on the runtime's client, signed with `dpop`
    /// when given (`proof` hears how long each signature took).
    pub(super) async fn send(
        &self,
        slot: usize,
        wire: &WireRequest,
        dpop: Option<&DpopKey>,
        proof: impl Fn(Duration),
    ) -> Sent {
        match dpop {
            None => lean_send(wire.to_reqwest(&self.clients[slot])).await,
            Some(key) => self.send_with_proof(slot, wire, key, proof).await,
        }
    }

    /// True when refreshes can be sent from the template (no DPoP).
    pub(super) fn templated(&self, dpop: Option<&DpopKey>) -> bool {
        self.template.is_some() && dpop.is_none()
    }

    /// A refresh of `token` from the template: the URL, the headers and
    /// the form around the token built once (see [`RefreshTemplate`]), on
    /// the user's own connection when there is one (`opened` says whether
    /// and how it was opened on the way). Only when [`Sender::templated`].
    pub(super) async fn send_refresh(
        &self,
        slot: usize,
        token: &str,
        conn: Option<&mut Option<Box<Conn>>>,
        opened: &mut Option<Opened>,
    ) -> Sent {
        let Some(t) = &self.template else {
            return Err(TransportError::new(
                crate::verdict::ErrorClass::Request,
                "request",
            ));
        };
        match (&t.direct, conn) {
            (Some(d), Some(conn)) => {
                let sent = d.send(conn, t, token, &self.http, opened).await;
                if self.per_request {
                    *conn = None;
                }
                sent
            }
            // reqwest's future is large: boxed, so that the direct path's
            // future (moved per request) does not carry it.
            _ => Box::pin(lean_send(t.request(&self.clients[slot], token))).await,
        }
    }

    /// Opens the user's own connection ahead of its first refresh (the
    /// open model's warm-up); how, when it was opened.
    pub(super) async fn open(&self, conn: &mut Option<Box<Conn>>) -> Option<Opened> {
        let d = self.template.as_ref()?.direct.as_ref()?;
        d.open(conn, &self.http).await
    }

    /// A DPoP request: a proof per try, its signing timed, and once more
    /// with the server's nonce when it demands one (RFC 9449 §8).
    async fn send_with_proof(
        &self,
        slot: usize,
        wire: &WireRequest,
        key: &DpopKey,
        proof: impl Fn(Duration),
    ) -> Sent {
        let mut tries = 0;
        loop {
            tries += 1;
            let t = Instant::now();
            let nonce = self
                .dpop_nonce
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone();
            let signed = wire.clone().with_dpop(key, nonce.as_deref());
            proof(t.elapsed());
            let Ok(signed) = signed else {
                return Err(TransportError::new(
                    crate::verdict::ErrorClass::Request,
                    "request",
                ));
            };
            let r = http::send(
                signed.to_reqwest(&self.clients[slot]),
                self.http.request_timeout,
            )
            .await?;
            match crate::oauth::request::dpop_nonce_demanded(&r) {
                Some(n) if tries == 1 => {
                    *self.dpop_nonce.lock().unwrap_or_else(|p| p.into_inner()) = Some(n);
                }
                _ => return Ok((r.status, bytes::Bytes::from(r.body))),
            }
        }
    }
}
