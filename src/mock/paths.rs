//! Where each endpoint of a profile lives: data the pages and the routes
//! share, apart from the running server's state.

use super::config::Profile;

/// Where each endpoint of a profile lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paths {
    pub token: &'static str,
    pub revoke: &'static str,
    pub introspect: &'static str,
    pub jwks: &'static str,
    /// Discovery documents (OpenID and RFC 8414 names).
    pub discovery: &'static [&'static str],
    /// EmpowerID's bearer endpoints.
    pub tokeninfo: Option<&'static str>,
    pub userinfo: Option<&'static str>,
    /// Appended to the base URL to make the issuer.
    pub issuer_suffix: &'static str,
    /// The authorization endpoint, where the login form posts, and the
    /// consent page (GET shows it, POST answers it).
    pub authorize: &'static str,
    pub login: &'static str,
    pub consent: &'static str,
    /// The one-time-code page that follows the password when the mock is
    /// configured with `mfa_code`.
    pub mfa: &'static str,
}

/// Clock control, served only with a virtual clock.
pub const CLOCK_PATH: &str = "/__tokenprobe/clock";

impl Paths {
    pub fn of(profile: Profile) -> Paths {
        match profile {
            Profile::Strict => Paths {
                token: "/token",
                revoke: "/revoke",
                introspect: "/introspect",
                jwks: "/jwks",
                discovery: &[
                    "/.well-known/openid-configuration",
                    "/.well-known/oauth-authorization-server",
                ],
                tokeninfo: None,
                userinfo: None,
                issuer_suffix: "",
                authorize: "/authorize",
                login: "/login",
                consent: "/consent",
                mfa: "/login/mfa",
            },
            Profile::EmpowerId => Paths {
                token: "/oauth/v2/token",
                revoke: "/oauth/v2/revoke",
                introspect: "/oauth/v2/introspect",
                jwks: "/oauth/v2/jwks",
                discovery: &["/oauth/.well-known/openid-configuration"],
                tokeninfo: Some("/oauth/v2/tokeninfo"),
                userinfo: Some("/oauth/v2/userinfo"),
                issuer_suffix: "/oauth",
                authorize: "/oauth/v2/ui/authorize",
                login: "/oauth/v2/ui/login",
                consent: "/oauth/v2/ui/consent",
                mfa: "/oauth/v2/ui/mfa",
            },
            Profile::Idcs => Paths {
                token: "/oauth2/v1/token",
                revoke: "/oauth2/v1/revoke",
                introspect: "/oauth2/v1/introspect",
                jwks: "/admin/v1/SigningCert/jwk",
                discovery: &["/.well-known/openid-configuration"],
                tokeninfo: None,
                userinfo: Some("/oauth2/v1/userinfo"),
                issuer_suffix: "",
                authorize: "/oauth2/v1/authorize",
                login: "/ui/v1/signin",
                consent: "/ui/v1/consent",
                mfa: "/ui/v1/mfa",
            },
            Profile::Wso2 => Paths {
                token: "/oauth2/token",
                revoke: "/oauth2/revoke",
                introspect: "/oauth2/introspect",
                jwks: "/oauth2/jwks",
                discovery: &[
                    "/oauth2/token/.well-known/openid-configuration",
                    "/.well-known/openid-configuration",
                ],
                tokeninfo: None,
                userinfo: Some("/oauth2/userinfo"),
                issuer_suffix: "/oauth2/token",
                authorize: "/oauth2/authorize",
                login: "/commonauth",
                consent: "/authenticationendpoint/oauth2_consent.do",
                mfa: "/authenticationendpoint/totp.do",
            },
        }
    }
}
