//! Targets: the server under test, its credentials and what it declares.
//!
//! `model.rs` is the file format; this module resolves it (`${env:…}`,
//! `${file:…}`, relative endpoints) into a [`Target`] whose secrets are
//! [`Secret`]s. No network here: discovery happens when a run starts.
//!
//! May use: `oauth`, `dpop`, `secret`, `redact`, `wire`, `diag`, `yaml`.

pub mod discover;
mod login;
mod model;

pub use discover::{DiscoveryError, discover};
pub use model::*;

use crate::diag::{Diagnostic, Diagnostics};
use crate::oauth::auth::{self, SigningKey};
use crate::oauth::http::HttpOptions;
use crate::secret::Secret;
use crate::yaml::Source;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;
use url::Url;

/// A resolved target.
#[derive(Debug, Clone)]
pub struct Target {
    pub name: String,
    /// The file it came from, or a description (`embedded mock (strict)`).
    pub source: String,
    pub token_endpoint: Option<Url>,
    pub discovery: Option<Url>,
    pub revocation_endpoint: Option<Url>,
    pub introspection_endpoint: Option<Url>,
    pub jwks_uri: Option<Url>,
    pub issuer: Option<String>,
    /// The issuer came from discovery, not from the file: a mismatch with
    /// the tokens is then the server's, not the target's.
    pub issuer_from_discovery: bool,
    pub clients: BTreeMap<String, Client>,
    pub users: BTreeMap<String, User>,
    /// How a session starts (the password grant unless `login` says).
    pub login: Login,
    /// The scope a login asks for: `login.scope`, else `password_grant.scope`.
    pub login_scope: Option<String>,
    /// The PEM text of the user-assertion key (only for the redactor).
    pub login_key_pem: Option<Secret>,
    pub password_grant: PasswordGrant,
    pub scopes: BTreeMap<String, String>,
    pub behaviour: Behaviour,
    pub introspection: Introspection,
    pub client_credentials: ClientCredentialsGrant,
    pub tls: TlsResolved,
    pub timing: Timing,
    pub clock_control: Option<Url>,
}

/// A client of the target: the request layer's own type.
pub use crate::oauth::Client;
pub use crate::oauth::login::Login;

#[derive(Debug, Clone)]
pub struct User {
    pub username: String,
    pub password: Secret,
}

#[derive(Debug, Clone, Default)]
pub struct TlsResolved {
    pub insecure: bool,
    pub ca_file: Option<PathBuf>,
    /// CA certificates in memory (the in-process mock's self-signed one).
    pub ca_pem: Option<String>,
}

impl Target {
    /// Reads and resolves a target file; every problem of it is reported.
    pub fn load(path: &Path) -> Result<Target, Diagnostics> {
        let source = Source::read(path).map_err(|d| Diagnostics(vec![d]))?;
        Target::from_source(&source, &|name| std::env::var(name).ok())
    }

    /// Resolves a target from text already read; `env` looks variables up.
    /// Every problem is reported: the file's own (keys, types), then what
    /// resolving finds (variables, URLs, keys, scopes).
    pub fn from_source(
        source: &Source,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Target, Diagnostics> {
        let (file, mut errors) = crate::yaml::parse_all::<TargetFile>(source);
        let Some(file) = file else {
            return Err(Diagnostics(errors));
        };
        let resolver = Resolver {
            source,
            env,
            errors: Default::default(),
        };
        let target = resolver.resolve(file);
        errors.extend(resolver.errors.into_inner());
        match target {
            Some(t) if errors.is_empty() => Ok(t),
            _ => Err(Diagnostics(errors)),
        }
    }

    /// Every secret this target holds, with the kind its fingerprint
    /// shows (`cs`, `pw`, `key`, `s`), for the output redactor.
    pub fn secrets(&self) -> Vec<(&'static str, Secret)> {
        let mut out = Vec::new();
        for c in self.clients.values() {
            out.extend(c.secret.clone().map(|s| ("cs", s)));
            out.extend(c.key_pem.clone().map(|s| ("key", s)));
        }
        for u in self.users.values() {
            out.push(("pw", u.password.clone()));
        }
        if let Some(pem) = &self.login_key_pem {
            out.push(("key", pem.clone()));
        }
        if let Login::AuthorizationCode(flow) = &self.login {
            for step in &flow.pages {
                for (_, v) in &step.fill {
                    if let crate::oauth::login::code::FillValue::Secret(s) = v {
                        out.push(("s", s.clone()));
                    }
                }
            }
        }
        out
    }

    /// A redactor that knows this target's secrets, and its client ids and
    /// scopes as public values.
    pub fn redactor(&self) -> crate::redact::Redactor {
        let r = crate::redact::Redactor::new();
        for (kind, s) in self.secrets() {
            r.add_secret(kind, &s);
        }
        for c in self.clients.values() {
            r.add_public(&c.id);
        }
        for s in self
            .login_scope
            .iter()
            .chain(self.password_grant.scope.iter())
        {
            r.add_public(s);
        }
        if let Login::AuthorizationCode(flow) = &self.login {
            r.add_public(flow.redirect_uri.as_str());
        }
        r
    }

    /// Replaces the base of every endpoint URL by `base` (the embedded mock's
    /// real address, known only once it listens).
    pub fn rebase(&mut self, base: &Url) {
        for url in [
            &mut self.token_endpoint,
            &mut self.discovery,
            &mut self.revocation_endpoint,
            &mut self.introspection_endpoint,
            &mut self.jwks_uri,
            &mut self.clock_control,
        ]
        .into_iter()
        .flatten()
        {
            let _ = url.set_scheme(base.scheme());
            let _ = url.set_host(base.host_str());
            let _ = url.set_port(base.port());
        }
        if let Some(issuer) = &mut self.issuer
            && let Ok(mut u) = Url::parse(issuer)
        {
            let _ = u.set_scheme(base.scheme());
            let _ = u.set_host(base.host_str());
            let _ = u.set_port(base.port());
            *issuer = u.as_str().trim_end_matches('/').to_string();
        }
    }

    /// What the target leaves the suite unable to check, and what to change:
    /// declared lifetimes that no wait can cover. Not errors: the checks are
    /// skipped, with the reason.
    pub fn advice(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.discovery.is_some() {
            let left: Vec<&str> = [
                ("token_endpoint", self.token_endpoint.is_none()),
                ("revocation_endpoint", self.revocation_endpoint.is_none()),
                (
                    "introspection_endpoint",
                    self.introspection_endpoint.is_none(),
                ),
                ("jwks_uri", self.jwks_uri.is_none()),
                ("issuer", self.issuer.is_none()),
            ]
            .into_iter()
            .filter_map(|(k, missing)| missing.then_some(k))
            .collect();
            if !left.is_empty() {
                out.push(format!(
                    "{} come from the discovery document when a run starts (check, load)",
                    left.join(", ")
                ));
            }
        }
        if self.clock_control.is_some() {
            return out;
        }
        let max = self.timing.max_wait_s;
        let b = &self.behaviour;
        for (key, v) in [
            ("behaviour.refresh_token_ttl_s", b.refresh_token_ttl_s),
            (
                "behaviour.refresh_token_max_lifetime_s",
                b.refresh_token_max_lifetime_s,
            ),
        ] {
            if let Some(v) = v
                && v as f64 + 1.0 > max
            {
                out.push(format!(
                    "{key} is {v} s, longer than timing.max_wait_s ({max} s): the checks that wait it out (EXP-RT, …) will be skipped; give a test client a short lifetime, or raise timing.max_wait_s"
                ));
            }
        }
        if b.refresh_token_ttl_s.is_none() {
            out.push("behaviour.refresh_token_ttl_s is not declared: the refresh-token expiry checks will be skipped".into());
        }
        out
    }

    /// The HTTP settings for this target; `insecure` and `ca_file` from the
    /// command line win over the file's.
    pub fn http_options(&self, insecure: bool, ca_file: Option<&Path>) -> HttpOptions {
        HttpOptions {
            request_timeout: Duration::from_secs_f64(self.timing.request_timeout_s),
            connect_timeout: Duration::from_secs_f64(self.timing.connect_timeout_s),
            insecure: insecure || self.tls.insecure,
            ca_file: ca_file
                .map(Path::to_path_buf)
                .or_else(|| self.tls.ca_file.clone()),
            ca_pem: self.tls.ca_pem.clone(),
        }
    }

    /// Whether the server offers the password grant: as declared
    /// (`password_grant.enabled`), else when it is how sessions start.
    pub fn password_offered(&self) -> bool {
        self.password_grant
            .enabled
            .unwrap_or(matches!(self.login, Login::Password))
    }

    pub fn client(&self, name: &str) -> Option<&Client> {
        self.clients.get(name)
    }

    pub fn user(&self, name: &str) -> Option<&User> {
        self.users.get(name)
    }
}

/// Resolves a target file, gathering every problem in `errors` (the
/// target is built only when there are none).
struct Resolver<'a> {
    source: &'a Source,
    env: &'a dyn Fn(&str) -> Option<String>,
    errors: std::cell::RefCell<Vec<Diagnostic>>,
}

impl Resolver<'_> {
    /// The value, or `None` with its problem noted.
    fn keep<T>(&self, r: Result<T, Diagnostic>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(d) => {
                self.errors.borrow_mut().push(d);
                None
            }
        }
    }

    fn note(&self, d: Diagnostic) {
        self.errors.borrow_mut().push(d);
    }

    fn resolve(&self, f: TargetFile) -> Option<Target> {
        let base = f
            .base_url
            .as_ref()
            .and_then(|b| self.keep(self.url(None, "base_url", b)));
        let base = base.as_ref();
        let opt_url = |key: &str, v: &Option<String>| -> Option<Url> {
            v.as_ref().and_then(|v| self.keep(self.url(base, key, v)))
        };
        let token_endpoint = opt_url("token_endpoint", &f.token_endpoint);
        let discovery = opt_url("discovery", &f.discovery);
        if f.token_endpoint.is_none() && f.discovery.is_none() {
            self.note(
                self.source
                    .error_at_path("name", "the target needs `token_endpoint` or `discovery`"),
            );
        }
        if !f.clients.contains_key("primary") {
            self.note(
                self.source
                    .error_at_path("clients", "the target needs a client named `primary`"),
            );
        }
        let mut clients = BTreeMap::new();
        for (name, c) in &f.clients {
            let path = format!("clients.{name}");
            let secret = c.secret.as_ref().and_then(|s| {
                self.keep(self.expand(&format!("{path}.secret"), s).map(Secret::new))
            });
            let needs_secret = matches!(
                c.auth,
                AuthMethod::ClientSecretBasic
                    | AuthMethod::ClientSecretPost
                    | AuthMethod::ClientSecretJwt
            );
            if needs_secret && c.secret.is_none() {
                self.note(self.source.error_at_path(
                    &path,
                    format!(
                        "client `{name}` authenticates with {} and needs a `secret`",
                        c.auth.as_str()
                    ),
                ));
            }
            let key_pem = c.key_file.as_ref().and_then(|k| {
                let k = self.keep(self.expand(&format!("{path}.key_file"), k))?;
                let p = self.relative_path(&k);
                let pem = std::fs::read_to_string(&p).map_err(|e| {
                    self.source.error_at_path(
                        &format!("{path}.key_file"),
                        format!("cannot read key file {}: {e}", p.display()),
                    )
                });
                self.keep(pem).map(Secret::new)
            });
            if c.key_file.is_some() && key_pem.is_none() {
                continue;
            }
            let signing = self
                .keep(self.signing(&path, name, c, key_pem.as_ref()))
                .flatten();
            clients.insert(
                name.clone(),
                Client {
                    id: self
                        .keep(self.expand(&format!("{path}.id"), &c.id))
                        .unwrap_or_default(),
                    secret,
                    auth: c.auth,
                    signing,
                    key_pem,
                    kid: c.kid.clone(),
                    dpop: c.dpop.as_ref().map(|d| d.alg),
                    dpop_nonce: c.dpop.as_ref().is_some_and(|d| d.nonce.unwrap_or(false)),
                    dpop_binds_refresh: c.dpop.as_ref().is_some_and(|d| {
                        d.binds_refresh_tokens.unwrap_or(c.auth == AuthMethod::None)
                    }),
                },
            );
        }
        let mut users = BTreeMap::new();
        for (name, u) in &f.users {
            let path = format!("users.{name}");
            let username = self.keep(self.expand(&format!("{path}.username"), &u.username));
            let password = self.keep(self.expand(&format!("{path}.password"), &u.password));
            if let (Some(username), Some(password)) = (username, password) {
                users.insert(
                    name.clone(),
                    User {
                        username,
                        password: Secret::new(password),
                    },
                );
            }
        }
        let tls = TlsResolved {
            insecure: f.tls.insecure,
            ca_file: f.tls.ca_file.as_ref().and_then(|c| {
                self.keep(
                    self.expand("tls.ca_file", c)
                        .map(|c| self.relative_path(&c)),
                )
            }),
            ca_pem: None,
        };
        let clock_control = f
            .clock_control
            .as_ref()
            .and_then(|c| self.keep(self.url(base, "clock_control.url", &c.url)));
        self.keep(self.scopes_make_sense(&f));
        for (key, v) in [
            ("timing.request_timeout_s", f.timing.request_timeout_s),
            ("timing.connect_timeout_s", f.timing.connect_timeout_s),
        ] {
            if !(v > 0.0 && v <= 3600.0) {
                self.note(
                    self.source
                        .error_at_path(key, format!("`{key}` must be between 0 and 3600 seconds")),
                );
            }
        }
        let issuer = f
            .issuer
            .as_ref()
            .and_then(|i| self.keep(self.expand("issuer", i)));
        let (login, login_key_pem) = match &f.login {
            Some(l) => self
                .login(l, base, &clients)
                .unwrap_or((Login::Password, None)),
            None => (Login::Password, None),
        };
        let login_scope = f
            .login
            .as_ref()
            .and_then(|l| l.scope.clone())
            .or_else(|| f.password_grant.scope.clone())
            .filter(|s| !s.trim().is_empty());
        let revocation_endpoint = opt_url("revocation_endpoint", &f.revocation_endpoint);
        let introspection_endpoint = opt_url("introspection_endpoint", &f.introspection_endpoint);
        let jwks_uri = opt_url("jwks_uri", &f.jwks_uri);
        if !self.errors.borrow().is_empty() {
            return None;
        }
        Some(Target {
            name: f.name.clone(),
            source: self.source.path.display().to_string(),
            token_endpoint,
            discovery,
            revocation_endpoint,
            introspection_endpoint,
            jwks_uri,
            issuer,
            issuer_from_discovery: false,
            clients,
            users,
            login,
            login_scope,
            login_key_pem,
            password_grant: PasswordGrant {
                // An empty scope asks for nothing: the server's default.
                scope: f
                    .password_grant
                    .scope
                    .clone()
                    .filter(|s| !s.trim().is_empty()),
                ..f.password_grant.clone()
            },
            scopes: f.scopes.clone(),
            behaviour: f.behaviour.clone(),
            introspection: f.introspection.clone(),
            client_credentials: f.client_credentials.clone(),
            tls,
            timing: f.timing.clone(),
            clock_control,
        })
    }

    /// The named scopes the scope checks use, against the scope the
    /// password grant asks for: a mistake here would show as the server's.
    fn scopes_make_sense(&self, f: &TargetFile) -> Result<(), Diagnostic> {
        let Some(granted) = f.password_grant.scope.as_deref() else {
            return Ok(());
        };
        let granted: Vec<&str> = granted.split_whitespace().collect();
        if let Some(extra) = f.scopes.get("extra") {
            let inside: Vec<&str> = extra
                .split_whitespace()
                .filter(|w| granted.contains(w))
                .collect();
            if !inside.is_empty() {
                return Err(self
                    .source
                    .error_at_text(
                        "scopes",
                        "extra:",
                        format!(
                            "`scopes.extra` must be a scope the password grant does not ask for, but `{}` is in password_grant.scope",
                            inside.join(" ")
                        ),
                    )
                    .with_help(
                        "choose a scope that exists on the server and that the grant does not include (scope/widen asks for it on top)",
                    ));
            }
        }
        if let Some(narrow) = f.scopes.get("narrow") {
            let outside: Vec<&str> = narrow
                .split_whitespace()
                .filter(|w| !granted.contains(w))
                .collect();
            if !outside.is_empty() || narrow.split_whitespace().count() >= granted.len() {
                return Err(self
                    .source
                    .error_at_text(
                        "scopes",
                        "narrow:",
                        format!(
                            "`scopes.narrow` must be a proper subset of password_grant.scope ({}){}",
                            granted.join(" "),
                            if outside.is_empty() {
                                String::new()
                            } else {
                                format!(": `{}` is not in it", outside.join(" "))
                            }
                        ),
                    )
                    .with_help("leave out at least one scope of the grant"));
            }
        }
        Ok(())
    }

    /// Paths in a target file are relative to the file.
    fn relative_path(&self, p: &str) -> PathBuf {
        let p = Path::new(p);
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.source.path.parent().unwrap_or(Path::new(".")).join(p)
        }
    }

    fn url(&self, base: Option<&Url>, key: &str, value: &str) -> Result<Url, Diagnostic> {
        let value = self.expand(key, value)?;
        let parsed = match base {
            Some(base) if !value.contains("://") => {
                let mut b = base.clone();
                if !b.path().ends_with('/') {
                    let p = format!("{}/", b.path());
                    b.set_path(&p);
                }
                b.join(value.trim_start_matches('/'))
            }
            _ => Url::parse(&value),
        };
        let url = parsed.map_err(|e| {
            let hint = if base.is_none() && !value.contains("://") {
                " (a path needs `base_url`)"
            } else {
                ""
            };
            self.source
                .error_at_path(key, format!("`{key}` is not a valid URL: {e}{hint}"))
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(self
                .source
                .error_at_path(key, format!("`{key}` must be an http or https URL")));
        }
        Ok(url)
    }

    /// Expands `${env:NAME}` and `${file:PATH}` in a value.
    fn expand(&self, key: &str, value: &str) -> Result<String, Diagnostic> {
        let mut out = String::new();
        let mut rest = value;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let Some(len) = rest[start..].find('}') else {
                return Err(self.source.error_at_text(
                    key,
                    "${",
                    format!("`{key}`: unclosed `${{`"),
                ));
            };
            let reference = &rest[start + 2..start + len];
            let whole = &rest[start..=start + len];
            match reference.split_once(':') {
                Some(("env", name)) => match (self.env)(name) {
                    Some(v) => out.push_str(&v),
                    None => {
                        return Err(self.source.error_at_text(
                            key,
                            whole,
                            format!("`{key}`: environment variable {name} is not set"),
                        ));
                    }
                },
                Some(("file", path)) => {
                    let p = self.relative_path(path);
                    match std::fs::read_to_string(&p) {
                        Ok(v) => out.push_str(v.trim_end_matches(['\n', '\r'])),
                        Err(e) => {
                            return Err(self.source.error_at_text(
                                key,
                                whole,
                                format!("`{key}`: cannot read {}: {e}", p.display()),
                            ));
                        }
                    }
                }
                _ => {
                    return Err(self
                        .source
                        .error_at_text(key, whole, format!("`{key}`: unknown reference `{whole}`"))
                        .with_help("write ${env:NAME} or ${file:PATH}"));
                }
            }
            rest = &rest[start + len + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str, env: &[(&str, &str)]) -> Result<Target, Diagnostic> {
        load_all(text, env).map_err(|d| d.0.into_iter().next().expect("one at least"))
    }

    fn load_all(text: &str, env: &[(&str, &str)]) -> Result<Target, Diagnostics> {
        let source = Source::from_str(Path::new("t.yaml"), text).unwrap();
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        Target::from_source(&source, &|name| {
            env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
        })
    }

    const BASIC: &str = "name: t\nbase_url: http://127.0.0.1:9/base\ntoken_endpoint: /token\nclients:\n  primary:\n    id: app\n    secret: ${env:APP_SECRET}\nusers:\n  primary: { username: alice, password: pw }\n";

    #[test]
    fn resolves_env_and_relative_endpoints() {
        let t = load(BASIC, &[("APP_SECRET", "s3cret")]).unwrap();
        assert_eq!(
            t.token_endpoint.unwrap().as_str(),
            "http://127.0.0.1:9/base/token"
        );
        assert_eq!(
            t.clients["primary"].secret.as_ref().unwrap().expose(),
            "s3cret"
        );
        assert_eq!(t.clients["primary"].auth, AuthMethod::ClientSecretBasic);
    }

    #[test]
    fn a_missing_variable_names_the_key_and_line() {
        let d = load(BASIC, &[]).unwrap_err();
        assert_eq!(
            d.message,
            "`clients.primary.secret`: environment variable APP_SECRET is not set"
        );
        assert_eq!((d.line, d.column), (Some(7), Some(13)));
    }

    #[test]
    fn structural_errors_are_reported() {
        let d = load("name: t\nclients:\n  primary: {id: a, secret: b}\n", &[]).unwrap_err();
        assert!(
            d.message.contains("needs `token_endpoint` or `discovery`"),
            "{}",
            d.message
        );
        let d = load(
            "name: t\ntoken_endpoint: /token\nclients:\n  primary: {id: a, secret: b}\n",
            &[],
        )
        .unwrap_err();
        assert!(d.message.contains("needs `base_url`"), "{}", d.message);
        let d = load(
            "name: t\ntoken_endpoint: http://x/t\nclients:\n  primary: {id: a}\n",
            &[],
        )
        .unwrap_err();
        assert!(d.message.contains("needs a `secret`"), "{}", d.message);
        let d = load("name: t\ntoken_endpoint: http://x/t\nbehaviour:\n  rotaton: rotate\nclients:\n  primary: {id: a, secret: b}\n", &[]).unwrap_err();
        assert_eq!(d.help.as_deref(), Some("did you mean `rotation`?"));
        assert_eq!(d.line, Some(4));
    }

    /// Issue 22: a file with several mistakes took a round each.
    #[test]
    fn every_problem_of_a_target_is_reported_at_once() {
        let text = "name: t\ntoken_endpoint: /token\nrevocation_endpoint: ftp://x/r\nclients:\n  primary: { id: a, secret: \"${env:NOPE}\" }\n  other: { id: b, auth: client_secret_post }\nbehaviour:\n  rotaton: rotate\n";
        let all = load_all(text, &[]).unwrap_err().0;
        let messages: Vec<&str> = all.iter().map(|d| d.message.as_str()).collect();
        assert!(
            messages
                .iter()
                .any(|m| m.contains("unknown field `rotaton`")),
            "{messages:?}"
        );
        assert!(
            messages.iter().any(|m| m.contains("needs `base_url`")),
            "{messages:?}"
        );
        assert!(
            messages.iter().any(|m| m.contains("http or https")),
            "{messages:?}"
        );
        assert!(
            messages.iter().any(|m| m.contains("NOPE is not set")),
            "{messages:?}"
        );
        assert!(
            messages.iter().any(|m| m.contains("needs a `secret`")),
            "{messages:?}"
        );
        assert_eq!(all.len(), 5, "{messages:?}");
    }

    #[test]
    fn rebase_moves_every_endpoint() {
        let mut t = load(BASIC, &[("APP_SECRET", "s")]).unwrap();
        t.rebase(&Url::parse("http://127.0.0.1:4444").unwrap());
        assert_eq!(
            t.token_endpoint.unwrap().as_str(),
            "http://127.0.0.1:4444/base/token"
        );
    }
}
