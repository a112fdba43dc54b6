//! The mock as the command line drives it: `--profile`, `--config`, the knob
//! flags and `--fault` become one [`MockConfig`], and a running mock gets a
//! target file that describes it truthfully (its real address, its
//! certificate, and the behaviour the knobs gave it).
//!
//! Used by `tokenprobe mock`, `check` (the embedded default and `--mock
//! PROFILE`) and `load`.

use crate::cli::CliError;
use crate::diag::{Diagnostic, did_you_mean};
use crate::mock::{
    DpopMode, Fault, GraceReturns, IdTokenAlg, MockConfig, MockServer, Profile, RefreshExpiry,
    ReuseDetection, Rotation, TlsIdentity,
};
use crate::secret::Secret;
use crate::target::{ClockControl, LoginFile, LoginGrant, Target, TargetFile};
use crate::yaml::{self, Source};
use std::path::{Path, PathBuf};

/// The target file of each profile, embedded so that `check --mock P` works
/// from any directory. Relative `key_file`s in them resolve from the
/// repository root.
const TARGETS: [(Profile, &str, &str); 4] = [
    (
        Profile::Strict,
        "fixtures/targets/mock-strict.yaml",
        include_str!("../../fixtures/targets/mock-strict.yaml"),
    ),
    (
        Profile::EmpowerId,
        "fixtures/targets/mock-empowerid.yaml",
        include_str!("../../fixtures/targets/mock-empowerid.yaml"),
    ),
    (
        Profile::Idcs,
        "fixtures/targets/mock-idcs.yaml",
        include_str!("../../fixtures/targets/mock-idcs.yaml"),
    ),
    (
        Profile::Wso2,
        "fixtures/targets/mock-wso2.yaml",
        include_str!("../../fixtures/targets/mock-wso2.yaml"),
    ),
];

/// Flags that shape a mock, shared by `mock`, `check --mock` and `load --mock`.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct MockKnobs {
    /// A YAML file overriding the profile's defaults (examples in fixtures/mock/).
    #[arg(long = "config", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Plant a defect (repeatable); `tokenprobe mock --list-faults` lists them.
    #[arg(long = "fault", value_name = "NAME", value_parser = parse_fault)]
    pub faults: Vec<Fault>,
    /// Serve HTTPS with a certificate made at start-up.
    #[arg(long, value_parser = ["self-signed"], conflicts_with = "tls_cert")]
    pub tls: Option<String>,
    /// Serve HTTPS with this certificate chain (PEM).
    #[arg(long, value_name = "PEM", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The private key (PEM) of --tls-cert.
    #[arg(long, value_name = "PEM", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// rotate | static | omit
    #[arg(long, value_parser = parse_enum::<Rotation>)]
    pub rotation: Option<Rotation>,
    /// Seconds during which a rotated refresh token still works.
    #[arg(long, value_name = "S")]
    pub grace_period: Option<u64>,
    /// Graceful rotation: replays of the previous token accepted inside the
    /// grace period.
    #[arg(long, value_name = "N")]
    pub grace_reuse_limit: Option<u32>,
    /// Graceful rotation: what a replay inside the grace period gets: same | new
    #[arg(long, value_parser = parse_enum::<GraceReturns>, value_name = "WHAT")]
    pub grace_returns: Option<GraceReturns>,
    /// family | none
    #[arg(long, value_parser = parse_enum::<ReuseDetection>)]
    pub reuse_detection: Option<ReuseDetection>,
    /// Access-token lifetime in seconds.
    #[arg(long, value_name = "S")]
    pub access_token_ttl: Option<u64>,
    /// Refresh-token lifetime in seconds.
    #[arg(long, value_name = "S")]
    pub refresh_token_ttl: Option<u64>,
    /// sliding | absolute
    #[arg(long, value_parser = parse_enum::<RefreshExpiry>)]
    pub refresh_expiry: Option<RefreshExpiry>,
    /// DPoP (RFC 9449): off | optional | required; with a proof, tokens are
    /// bound to its key (the mock's target then declares clients.primary.dpop).
    #[arg(long, value_parser = parse_enum::<DpopMode>, value_name = "MODE")]
    pub dpop: Option<DpopMode>,
    /// DPoP: demand a server nonce in proofs (use_dpop_nonce).
    #[arg(long)]
    pub dpop_nonce: bool,
    /// How id_tokens are signed: ES256 (strict's default, fast) | RS256 (the
    /// vendor profiles').
    #[arg(long, value_parser = parse_enum::<IdTokenAlg>, value_name = "ALG")]
    pub id_token_alg: Option<IdTokenAlg>,
    /// How the mock's target signs in: password (default) |
    /// authorization_code (through the mock's login and consent pages) |
    /// jwt_bearer (a JWT user assertion, as IDCS takes it). The mock serves
    /// every one; this chooses what its target file declares.
    #[arg(long, value_parser = parse_enum::<LoginGrant>, value_name = "GRANT")]
    pub login: Option<LoginGrant>,
    /// Login pages: ask for the username on a page of its own, then the
    /// password (identifier-first).
    #[arg(long)]
    pub identifier_first: bool,
    /// Login pages: after the password, ask for this one-time code (MFA).
    /// The mock's target then declares a `login.pages` step that fills it
    /// from TOKENPROBE_MOCK_MFA_CODE.
    #[arg(long, value_name = "CODE")]
    pub mfa_code: Option<String>,
    /// Login pages: add unrelated forms (a search box, a language selector).
    #[arg(long)]
    pub extra_forms: bool,
    /// A slow server: each client authentication holds one of two workers
    /// for this many milliseconds (as PBKDF2 would).
    #[arg(long, value_name = "MS")]
    pub client_auth_cost_ms: Option<u64>,
    /// Single flight: a rotating refresh answers after MS, and copies of it
    /// arriving meanwhile get its successor (an idempotent answer).
    #[arg(long, value_name = "MS")]
    pub single_flight_ms: Option<u64>,
}

impl MockKnobs {
    /// True when any flag was given (they make sense only with a mock).
    pub fn any(&self) -> bool {
        self.config.is_some()
            || !self.faults.is_empty()
            || self.tls.is_some()
            || self.tls_cert.is_some()
            || self.rotation.is_some()
            || self.grace_period.is_some()
            || self.grace_reuse_limit.is_some()
            || self.grace_returns.is_some()
            || self.reuse_detection.is_some()
            || self.access_token_ttl.is_some()
            || self.refresh_token_ttl.is_some()
            || self.refresh_expiry.is_some()
            || self.id_token_alg.is_some()
            || self.dpop.is_some()
            || self.dpop_nonce
            || self.login.is_some()
            || self.identifier_first
            || self.mfa_code.is_some()
            || self.extra_forms
            || self.client_auth_cost_ms.is_some()
            || self.single_flight_ms.is_some()
    }
}

fn parse_fault(s: &str) -> Result<Fault, String> {
    s.parse::<Fault>().map_err(|e| {
        let names: Vec<&str> = Fault::ALL.iter().map(|f| f.as_str()).collect();
        match did_you_mean(s, names.iter().copied()) {
            Some(near) => format!("{e}; did you mean `{near}`?"),
            None => format!("{e}; `tokenprobe mock --list-faults` lists them"),
        }
    })
}

/// Parses a snake_case enum value through its serde name, so that the flag
/// accepts exactly what configuration and target files accept.
fn parse_enum<T: serde::de::DeserializeOwned>(s: &str) -> Result<T, String> {
    serde_json::from_value(serde_json::Value::String(s.to_string())).map_err(|e| {
        let e = e.to_string();
        // "unknown variant `x`, expected one of `a`, `b`" is already clear.
        e.split(" at line ").next().unwrap_or(&e).to_string()
    })
}

/// The configuration of a mock: `profile` (or the config file's `profile`,
/// or strict) → the config file → knob flags → faults.
pub fn resolve(
    profile: Option<Profile>,
    knobs: &MockKnobs,
    virtual_clock: bool,
) -> Result<MockConfig, Diagnostic> {
    let file = match &knobs.config {
        Some(path) => Some(read_config(path)?),
        None => None,
    };
    let from_file = match &file {
        Some((source, map)) => match map.get("profile") {
            Some(p) => Some(
                serde_json::from_value::<Profile>(p.clone())
                    .map_err(|e| source.error_at_path("profile", e.to_string()))?,
            ),
            None => None,
        },
        None => None,
    };
    let profile = profile.or(from_file).unwrap_or(Profile::Strict);
    let mut cfg = MockConfig::profile(profile);
    if let Some((source, map)) = file {
        let known = known_keys();
        for (key, value) in map {
            if key == "profile" {
                continue;
            }
            // WSO2's names for two settings.
            let (key, value) = match key.as_str() {
                "refresh_token_validity_s" => ("refresh_token_ttl_s".to_string(), value),
                "renew_refresh_token" => match value.as_bool() {
                    Some(renew) => (
                        "rotation".to_string(),
                        serde_json::json!(if renew { "rotate" } else { "static" }),
                    ),
                    None => {
                        return Err(source
                            .error_at_path(&key, "`renew_refresh_token` must be true or false"));
                    }
                },
                _ => (key, value),
            };
            if !known.contains(&key) {
                let mut d = source.error_at_path(&key, format!("unknown field `{key}`"));
                if let Some(near) = did_you_mean(&key, known.iter().map(String::as_str)) {
                    d = d.with_help(format!("did you mean `{near}`?"));
                }
                return Err(d);
            }
            let one = serde_json::json!({ key.clone(): value });
            cfg = cfg
                .with_overrides(one)
                .map_err(|e| source.error_at_path(&key, format!("`{key}`: {e}")))?;
        }
    }
    if let Some(r) = knobs.rotation {
        cfg.rotation = r;
    }
    if let Some(g) = knobs.grace_period {
        cfg.grace_period_s = g;
    }
    if let Some(n) = knobs.grace_reuse_limit {
        cfg.grace_reuse_limit = Some(n);
    }
    if let Some(r) = knobs.grace_returns {
        cfg.grace_returns = r;
    }
    if let Some(r) = knobs.reuse_detection {
        cfg.reuse_detection = r;
    }
    if let Some(t) = knobs.access_token_ttl {
        cfg.access_token_ttl_s = t;
    }
    if let Some(t) = knobs.refresh_token_ttl {
        cfg.refresh_token_ttl_s = t;
    }
    if let Some(e) = knobs.refresh_expiry {
        cfg.refresh_expiry = e;
    }
    if let Some(a) = knobs.id_token_alg {
        cfg.id_token_alg = a;
    }
    if let Some(d) = knobs.dpop {
        cfg.dpop = d;
    }
    if knobs.dpop_nonce {
        cfg.dpop_nonce = true;
        if cfg.dpop == DpopMode::Off {
            cfg.dpop = DpopMode::Optional;
        }
    }
    for f in &knobs.faults {
        cfg = cfg.fault(*f);
    }
    if let Some(l) = knobs.login {
        cfg.target_login = l;
    }
    cfg.identifier_first |= knobs.identifier_first;
    cfg.extra_forms |= knobs.extra_forms;
    if let Some(ms) = knobs.client_auth_cost_ms {
        cfg.client_auth_cost_ms = ms;
    }
    if let Some(ms) = knobs.single_flight_ms {
        cfg.single_flight_ms = ms;
    }
    if let Some(code) = &knobs.mfa_code {
        cfg.mfa_code = Some(code.clone());
    }
    cfg.virtual_clock |= virtual_clock;
    if knobs.tls.is_some() {
        cfg.tls = true;
    }
    if let (Some(cert), Some(key)) = (&knobs.tls_cert, &knobs.tls_key) {
        let read = |p: &Path| {
            std::fs::read_to_string(p)
                .map_err(|e| Diagnostic::file(p, format!("cannot read PEM file: {e}")))
        };
        cfg.tls = true;
        cfg.tls_identity = Some(TlsIdentity {
            cert_pem: read(cert)?,
            key_pem: Secret::new(read(key)?),
        });
    }
    Ok(cfg)
}

/// A configuration file as a map of top-level members.
fn read_config(
    path: &Path,
) -> Result<(Source, serde_json::Map<String, serde_json::Value>), Diagnostic> {
    let source = Source::read(path)?;
    match yaml::parse::<serde_json::Value>(&source)? {
        serde_json::Value::Object(map) => Ok((source, map)),
        _ => Err(Diagnostic::file(
            path,
            "a mock configuration must be a mapping of settings",
        )),
    }
}

/// The members a configuration file may set.
fn known_keys() -> Vec<String> {
    match serde_json::to_value(MockConfig::strict()) {
        Ok(serde_json::Value::Object(m)) => m.keys().cloned().collect(),
        _ => Vec::new(),
    }
}

/// The embedded target file of `profile`, its declarations brought in line
/// with `cfg` (knobs and configuration files change behaviour; faults do
/// not, a fault is a defect the declaration must expose).
pub fn target_file(
    profile: Profile,
    cfg: &MockConfig,
) -> Result<(PathBuf, TargetFile), Diagnostic> {
    let (_, path, text) = TARGETS
        .iter()
        .find(|(p, _, _)| *p == profile)
        .expect("every profile has a target file");
    let source = Source::from_str(Path::new(path), text)?;
    let mut file: TargetFile = yaml::parse(&source)?;
    let b = &mut file.behaviour;
    b.rotation = cfg.rotation;
    b.grace_period_s = cfg.grace_period_s;
    b.grace_reuse_limit = cfg.grace_reuse_limit;
    b.grace_returns = cfg.grace_returns;
    // With DPoP on, every client proves possession (ES256) and the mock
    // binds their refresh tokens to the key.
    if cfg.dpop != DpopMode::Off {
        for c in file.clients.values_mut() {
            c.dpop = Some(crate::target::DpopFile {
                alg: crate::dpop::DpopAlg::ES256,
                binds_refresh_tokens: Some(true),
                nonce: Some(cfg.dpop_nonce),
            });
        }
    }
    b.reuse_detection = cfg.reuse_detection;
    b.access_token_ttl_s = Some(cfg.access_token_ttl_s);
    b.refresh_token_ttl_s = Some(cfg.refresh_token_ttl_s);
    b.refresh_expiry = cfg.refresh_expiry;
    b.refresh_token_max_lifetime_s = cfg.refresh_token_max_lifetime_s;
    b.id_token_on_refresh &= cfg.id_token;
    b.refresh_token_requires_scope = cfg.refresh_token_requires_scope.clone();
    file.clock_control = cfg.virtual_clock.then(|| ClockControl {
        url: crate::mock::CLOCK_PATH.to_string(),
    });
    file.login = login_block(cfg.target_login, profile, &file)?;
    if let (Some(code), Some(login)) = (&cfg.mfa_code, &mut file.login)
        && login.grant == LoginGrant::AuthorizationCode
    {
        login.pages.push(mfa_step(profile, code)?);
    }
    sync_accounts(&mut file, cfg);
    Ok((PathBuf::from(path), file))
}

/// The accounts of `cfg` in the target: the secret of each client the
/// target names, the password of each user (a user the configuration
/// renamed is the one at the same place in its list).
fn sync_accounts(file: &mut TargetFile, cfg: &MockConfig) {
    for c in file.clients.values_mut() {
        if let Some(account) = cfg.clients.iter().find(|a| a.id == c.id)
            && c.secret.is_some()
        {
            c.secret = Some(account.secret.expose().to_string());
        }
    }
    let defaults = MockConfig::profile(cfg.profile).users;
    for u in file.users.values_mut() {
        let account = cfg
            .users
            .iter()
            .find(|a| a.username == u.username)
            .or_else(|| {
                defaults
                    .iter()
                    .position(|a| a.username == u.username)
                    .and_then(|i| cfg.users.get(i))
            });
        if let Some(a) = account {
            u.username = a.username.clone();
            u.password = a.password.expose().to_string();
        }
    }
}

/// The directory of this process's mock secrets that a target file reads
/// with `${file:…}` (the MFA code).
pub fn secrets_dir() -> PathBuf {
    std::env::temp_dir().join(format!("tokenprobe-mock-{}-secrets", std::process::id()))
}

/// A `login.pages` step through the mock's MFA page, its code read from a
/// file of this process's (so that it is a secret in every report).
fn mfa_step(profile: Profile, code: &str) -> Result<crate::target::LoginPageFile, Diagnostic> {
    let dir = secrets_dir();
    let path = dir.join("mfa-code");
    std::fs::create_dir_all(&dir)
        .map_err(|e| e.to_string())
        .and_then(|_| {
            crate::report::write_atomically(&path, code.as_bytes()).map_err(|e| e.to_string())
        })
        .map_err(|e| Diagnostic::file(&path, format!("cannot write the MFA code: {e}")))?;
    Ok(crate::target::LoginPageFile {
        matches: crate::target::PageMatchFile {
            path: Some(crate::mock::Paths::of(profile).mfa.to_string()),
            ..Default::default()
        },
        fill: [("otp".to_string(), format!("${{file:{}}}", path.display()))]
            .into_iter()
            .collect(),
        submit: Some("verify".into()),
    })
}

/// The private half of the key the mock trusts for user assertions.
const USER_ASSERTION_KEY: &str = include_str!("../../fixtures/keys/user-assertion-key.pem");

/// The `login` block a mock's target declares for `grant`: the mock's own
/// redirect URI, the target's scope; for assertions, the test key (written
/// to a file of its own, so that the target works from any folder).
fn login_block(
    grant: LoginGrant,
    profile: Profile,
    file: &TargetFile,
) -> Result<Option<LoginFile>, Diagnostic> {
    let blank = LoginFile {
        grant,
        scope: file.password_grant.scope.clone(),
        authorization_endpoint: None,
        redirect_uri: None,
        params: Default::default(),
        pkce: Default::default(),
        form: None,
        origins: Vec::new(),
        max_hops: None,
        pages: Vec::new(),
        key_file: None,
        alg: None,
        kid: None,
        iss: None,
        sub: None,
        aud: None,
        lifetime_s: None,
        tracks_jti: None,
        command: Vec::new(),
        timeout_s: None,
    };
    Ok(match grant {
        LoginGrant::Password | LoginGrant::Command => None,
        LoginGrant::AuthorizationCode => Some(LoginFile {
            authorization_endpoint: Some(crate::mock::Paths::of(profile).authorize.to_string()),
            redirect_uri: Some(crate::mock::REDIRECT_URI.to_string()),
            ..blank
        }),
        LoginGrant::JwtBearer => {
            let dir = std::env::temp_dir().join("tokenprobe-test-keys");
            let path = dir.join("user-assertion-key.pem");
            std::fs::create_dir_all(&dir)
                .map_err(|e| e.to_string())
                .and_then(|_| {
                    crate::report::write_atomically(&path, USER_ASSERTION_KEY.as_bytes())
                        .map_err(|e| e.to_string())
                })
                .map_err(|e| Diagnostic::file(&path, format!("cannot write the test key: {e}")))?;
            Some(LoginFile {
                key_file: Some(path.display().to_string()),
                alg: Some("RS256".into()),
                tracks_jti: Some(true),
                ..blank
            })
        }
    })
}

/// The target file of a running mock: [`target_file`] at the server's real
/// address, trusting `ca_file` when it serves TLS.
pub fn describe(
    server: &MockServer,
    cfg: &MockConfig,
    ca_file: Option<&Path>,
) -> Result<TargetFile, Diagnostic> {
    let (_, mut file) = target_file(cfg.profile, cfg)?;
    file.base_url = Some(server.base_url());
    file.issuer = Some(server.issuer());
    file.name = format!("tokenprobe mock ({})", cfg.profile);
    if let Some(ca) = ca_file {
        file.tls.ca_file = Some(ca.display().to_string());
    }
    Ok(file)
}

/// A target file rendered as YAML, with a header saying what made it.
pub fn render(file: &TargetFile, cfg: &MockConfig) -> Result<String, String> {
    let faults: Vec<&str> = cfg.faults.iter().map(|f| f.as_str()).collect();
    let mut out = format!(
        "# Generated by `tokenprobe mock` for the running {} mock{}.\n",
        cfg.profile,
        if faults.is_empty() {
            String::new()
        } else {
            format!(" (planted faults: {})", faults.join(", "))
        }
    );
    out.push_str(&yaml::to_string(file).map_err(|e| e.to_string())?);
    Ok(out)
}

/// A mock started in-process on a free loopback port, and its target.
pub struct Started {
    pub server: MockServer,
    pub target: Target,
    pub config: MockConfig,
}

/// Starts `cfg` on 127.0.0.1:0 and resolves its target: `target_path` when
/// given (rebased on the mock: a declaration to test against this mock),
/// else the profile's own, truthful one.
pub async fn start(cfg: MockConfig, target_path: Option<&Path>) -> Result<Started, CliError> {
    let server = MockServer::start(cfg.clone(), "127.0.0.1:0".parse().expect("loopback"))
        .await
        .map_err(|e| CliError::Internal(format!("cannot start the mock: {e}")))?;
    let mut target = match target_path {
        Some(path) => {
            let mut t = Target::load(path)?;
            let base = url::Url::parse(&server.base_url())
                .map_err(|e| CliError::Internal(e.to_string()))?;
            t.rebase(&base);
            t
        }
        None => {
            let file = describe(&server, &cfg, None)?;
            let text = render(&file, &cfg).map_err(CliError::Internal)?;
            let (path, _) = target_file(cfg.profile, &cfg)?;
            let source = Source::from_str(&path, &text)?;
            let mut t = Target::from_source(&source, &|_| None)?;
            let faults: Vec<&str> = cfg.faults.iter().map(|f| f.as_str()).collect();
            t.source = if faults.is_empty() {
                format!("embedded mock ({})", cfg.profile)
            } else {
                format!(
                    "embedded mock ({}, faults: {})",
                    cfg.profile,
                    faults.join(", ")
                )
            };
            t
        }
    };
    target.tls.ca_pem = server.tls_certificate_pem().map(str::to_string);
    Ok(Started {
        server,
        target,
        config: cfg,
    })
}

/// The documented defaults of `profile` as a configuration file (the
/// checked-in copies are `fixtures/mock/PROFILE.yaml`).
pub fn defaults_file(profile: Profile) -> Result<String, String> {
    Ok(format!(
        "# The defaults of the mock's {profile} profile: every setting `--config` accepts.\n\
         # Copy this file, keep the settings to change, and pass it with --config.\n\
         # Generated from the code: UPDATE_FIXTURES=1 cargo test --lib mockenv\n{}",
        yaml::to_string(&MockConfig::profile(profile)).map_err(|e| e.to_string())?
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checked_in_profile_defaults_are_current() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/mock");
        for p in Profile::ALL {
            let path = root.join(format!("{p}.yaml"));
            let want = defaults_file(p).unwrap();
            if std::env::var_os("UPDATE_FIXTURES").is_some() {
                std::fs::create_dir_all(&root).unwrap();
                std::fs::write(&path, &want).unwrap();
            }
            let have = std::fs::read_to_string(&path).unwrap_or_default();
            assert!(
                have == want,
                "{} is stale: run UPDATE_FIXTURES=1 cargo test --lib mockenv",
                path.display()
            );
            // And it is a valid configuration that gives the profile back.
            let knobs = MockKnobs {
                config: Some(path.clone()),
                ..MockKnobs::default()
            };
            assert_eq!(
                resolve(None, &knobs, false).unwrap(),
                MockConfig::profile(p)
            );
        }
    }

    #[test]
    fn every_profile_target_parses_and_follows_the_knobs() {
        for p in Profile::ALL {
            let cfg = MockConfig {
                rotation: Rotation::Static,
                grace_period_s: 7,
                ..MockConfig::profile(p)
            };
            let (path, file) = target_file(p, &cfg).unwrap();
            assert!(
                path.ends_with(format!("mock-{p}.yaml")),
                "{}",
                path.display()
            );
            assert_eq!(file.behaviour.rotation, Rotation::Static);
            assert_eq!(file.behaviour.grace_period_s, 7);
            assert!(file.clock_control.is_none());
        }
    }

    #[test]
    fn profile_targets_declare_the_profile_defaults() {
        for p in Profile::ALL {
            let cfg = MockConfig::profile(p);
            let (_, path, text) = TARGETS.iter().find(|(q, _, _)| *q == p).unwrap();
            let source = Source::from_str(Path::new(path), text).unwrap();
            let file: TargetFile = yaml::parse(&source).unwrap();
            let b = &file.behaviour;
            assert_eq!(b.rotation, cfg.rotation, "{path}");
            assert_eq!(b.grace_period_s, cfg.grace_period_s, "{path}");
            assert_eq!(b.reuse_detection, cfg.reuse_detection, "{path}");
            assert_eq!(b.access_token_ttl_s, Some(cfg.access_token_ttl_s), "{path}");
            assert_eq!(
                b.refresh_token_ttl_s,
                Some(cfg.refresh_token_ttl_s),
                "{path}"
            );
            assert_eq!(b.refresh_expiry, cfg.refresh_expiry, "{path}");
            assert_eq!(
                b.refresh_token_max_lifetime_s, cfg.refresh_token_max_lifetime_s,
                "{path}"
            );
            assert_eq!(
                b.refresh_token_requires_scope, cfg.refresh_token_requires_scope,
                "{path}"
            );
        }
    }

    #[test]
    fn config_file_overrides_and_flags_override_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.yaml");
        std::fs::write(
            &path,
            "profile: wso2\nrotation: static\ngrace_period_s: 5\n",
        )
        .unwrap();
        let knobs = MockKnobs {
            config: Some(path),
            grace_period: Some(9),
            faults: vec![Fault::Race],
            ..MockKnobs::default()
        };
        let cfg = resolve(None, &knobs, true).unwrap();
        assert_eq!(cfg.profile, Profile::Wso2);
        assert_eq!(cfg.rotation, Rotation::Static);
        assert_eq!(cfg.grace_period_s, 9);
        assert_eq!(cfg.faults, vec![Fault::Race]);
        assert!(cfg.virtual_clock);
    }

    #[test]
    fn config_file_errors_name_the_line_and_the_field() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.yaml");
        std::fs::write(&path, "rotation: rotate\ngrace_period: 5\n").unwrap();
        let knobs = MockKnobs {
            config: Some(path.clone()),
            ..MockKnobs::default()
        };
        let d = resolve(None, &knobs, false).unwrap_err().to_string();
        assert!(d.contains("m.yaml:2:1"), "{d}");
        assert!(d.contains("grace_period_s"), "{d}");

        std::fs::write(&path, "access_token_ttl_s: soon\n").unwrap();
        let d = resolve(None, &knobs, false).unwrap_err().to_string();
        assert!(d.contains("m.yaml:1:1"), "{d}");
        assert!(d.contains("access_token_ttl_s"), "{d}");
    }

    #[test]
    fn wso2_setting_names_are_accepted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.yaml");
        std::fs::write(
            &path,
            "profile: wso2\nrenew_refresh_token: false\nrefresh_token_validity_s: 600\n",
        )
        .unwrap();
        let knobs = MockKnobs {
            config: Some(path),
            ..MockKnobs::default()
        };
        let cfg = resolve(None, &knobs, false).unwrap();
        assert_eq!(cfg.rotation, Rotation::Static);
        assert_eq!(cfg.refresh_token_ttl_s, 600);
    }

    #[test]
    fn knob_values_are_the_file_format_names() {
        assert_eq!(parse_enum::<Rotation>("static"), Ok(Rotation::Static));
        let e = parse_enum::<Rotation>("rotating").unwrap_err();
        assert!(e.contains("rotate"), "{e}");
        let e = parse_fault("rotation_keep_old").unwrap_err();
        assert!(e.contains("rotation_keeps_old"), "{e}");
    }
}
