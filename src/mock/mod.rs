//! The mock token server: a real, stateful OAuth 2.0 token endpoint that the
//! conformance runner uses as its embedded default target and that the
//! self-tests and load runs aim at.
//!
//! It shares only [`crate::wire`] types with the client side. Layout, from
//! the outside in:
//! - [`server`]: binding, routing, HTTP/1.1 (+TLS), purge sweeps, shutdown;
//! - `login`, `pages`: the authorization endpoint, its login and consent
//!   pages per profile, codes with PKCE, the JWT user-assertion grant;
//! - `token`, `endpoints`: the handlers; `request`: form POSTs and client
//!   authentication; `reply`: RFC 6749 §5 responses and [`OAuthError`];
//! - `store`: tokens, families, rotation, reuse detection, expiry;
//! - `app`: the resolved configuration; [`config`]: [`MockConfig`] and the
//!   vendor [`Profile`]s; [`fault`]: planted defects;
//! - `shards`: the digest-keyed, sharded maps under the store;
//! - `clock`, `form`, `keys`, `limit`: the small parts.
//!
//! Default accounts (every profile): users `alice`/`alice-pass-1`,
//! `bob`/`bob-pass-2` and the brute-force canary `carol`/`carol-pass-3`;
//! clients `app`/`app-secret`, `other-app`/`other-app-secret`,
//! `reserved+client`/`p@ss:w%rd+&= !` (reserved characters) and the canary
//! `canary-app`/`canary-app-secret` (password, refresh_token,
//! client_credentials), and `cc-only`/`cc-only-secret` (client_credentials
//! only). IDCS adds `jwt-app` (`private_key_jwt`, key in `fixtures/keys`).
//!
//! May use: `dpop`, `secret`, `wire`, `diag`, `yaml`, `markup`.

mod app;
mod clock;
pub mod config;
mod endpoints;
pub mod fault;
mod form;
mod interactions;
mod keys;
mod limit;
mod login;
mod pages;
mod paths;
mod policy;
mod reply;
mod request;
pub mod server;
mod shards;
mod store;
mod token;

pub use app::{CLOCK_PATH, Paths};
pub use config::REDIRECT_URI;
pub use config::{
    Account, AuthMethod, ClientAccount, DpopMode, FailureLimit, GraceReturns, IdTokenAlg,
    MockConfig, Profile, RefreshExpiry, ReuseDetection, Rotation, ScopeTtl, TlsIdentity,
    UserCredentials,
};
pub use fault::Fault;
pub use keys::KEY_ID;
pub use reply::OAuthError;
pub use server::MockServer;

/// The private key of the IDCS profile's `jwt-app` client, for tests and
/// scenarios that sign `private_key_jwt` assertions (a fixed test key).
pub const CLIENT_JWT_PRIVATE_KEY: &str = include_str!("../../fixtures/keys/client-jwt-key.pem");
