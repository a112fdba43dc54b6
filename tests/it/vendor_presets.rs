//! The vendor presets in fixtures/targets resolve with their documented
//! environment variables, name the variable when one is missing, and
//! declare what each vendor documents.

use std::collections::HashMap;
use std::path::Path;
use tokenprobe::target::{Rotation, Target};
use tokenprobe::yaml::Source;

const PRESETS: [&str; 9] = [
    "empowerid.yaml",
    "empowerid-code.yaml",
    "idcs.yaml",
    "idcs-code.yaml",
    "idcs-jwt.yaml",
    "idcs-assertion.yaml",
    "wso2.yaml",
    "wso2-code.yaml",
    "wso2-no-renewal.yaml",
];

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Every `${env:NAME}` of a file, given a plausible value.
fn env_for(text: &str) -> HashMap<String, String> {
    let re = regex::Regex::new(r"\$\{env:([A-Z0-9_]+)\}").unwrap();
    re.captures_iter(text)
        .map(|c| {
            let name = c[1].to_string();
            let value = if name.ends_with("BASE_URL") {
                "https://idp.example.test".to_string()
            } else if name.ends_with("KEY_FILE") {
                root()
                    .join("fixtures/keys/client-jwt-key.pem")
                    .display()
                    .to_string()
            } else if name.ends_with("CA_FILE") {
                root()
                    .join("fixtures/keys/client-jwt-key.pub.pem")
                    .display()
                    .to_string()
            } else {
                format!("value-of-{}", name.to_lowercase())
            };
            (name, value)
        })
        .collect()
}

fn load(name: &str, env: &HashMap<String, String>) -> Result<Target, String> {
    let path = root().join("fixtures/targets").join(name);
    let source = Source::read(&path).map_err(|d| d.to_string())?;
    Target::from_source(&source, &|k| env.get(k).cloned()).map_err(|d| d.to_string())
}

#[test]
fn every_preset_resolves_with_its_documented_variables() {
    for name in PRESETS {
        let text = std::fs::read_to_string(root().join("fixtures/targets").join(name)).unwrap();
        let env = env_for(&text);
        assert!(
            !env.is_empty(),
            "{name} reads its credentials from the environment"
        );
        for var in env.keys() {
            assert!(
                text.lines()
                    .any(|l| l.starts_with('#') && l.contains(var.as_str())),
                "{name}: the header comment documents {var}"
            );
        }
        let t = load(name, &env).unwrap_or_else(|e| panic!("{name}: {e}"));
        let token = t.token_endpoint.as_ref().expect("a token endpoint");
        assert!(
            token.as_str().starts_with("https://idp.example.test/"),
            "{name}: {token}"
        );
        assert!(!t.secrets().is_empty(), "{name}");
        assert!(
            t.client("primary").is_some() && t.user("primary").is_some(),
            "{name}"
        );
    }
}

#[test]
fn a_missing_variable_is_named_with_the_key_that_needs_it() {
    for name in PRESETS {
        let text = std::fs::read_to_string(root().join("fixtures/targets").join(name)).unwrap();
        let mut env = env_for(&text);
        // A preset that sends no password (a JWT user assertion) has none.
        let Some(victim) = env.keys().find(|k| k.contains("PASSWORD")).cloned() else {
            assert!(name.contains("assertion"), "{name}: no password variable");
            continue;
        };
        env.remove(&victim);
        let e = load(name, &env).unwrap_err();
        assert!(e.contains(&victim), "{name}: {e}");
        assert!(e.contains("users.primary.password"), "{name}: {e}");
    }
}

#[test]
fn presets_declare_the_vendors_documented_behaviour() {
    let get = |name: &str| {
        let text = std::fs::read_to_string(root().join("fixtures/targets").join(name)).unwrap();
        load(name, &env_for(&text)).unwrap()
    };
    let empowerid = get("empowerid.yaml");
    assert_eq!(
        empowerid.password_grant.user_credentials,
        tokenprobe::target::UserCredentials::BasicHeader
    );
    let idcs = get("idcs.yaml");
    assert_eq!(
        idcs.behaviour.refresh_token_requires_scope.as_deref(),
        Some("offline_access")
    );
    assert!(
        idcs.password_grant
            .scope
            .as_deref()
            .unwrap()
            .contains("offline_access")
    );
    assert_eq!(
        get("idcs-jwt.yaml").client("primary").unwrap().auth,
        tokenprobe::target::AuthMethod::PrivateKeyJwt
    );
    // The presets without the password grant sign in the vendor's way.
    use tokenprobe::target::Login;
    for name in ["empowerid-code.yaml", "idcs-code.yaml", "wso2-code.yaml"] {
        let t = get(name);
        assert!(
            matches!(&t.login, Login::AuthorizationCode(f) if f.redirect_uri.as_str() == "http://127.0.0.1:9/callback"),
            "{name}"
        );
        assert!(!t.password_offered(), "{name}");
    }
    let assertion = get("idcs-assertion.yaml");
    assert!(
        matches!(&assertion.login, Login::JwtBearer(a) if a.aud.as_deref() == Some("https://identity.oraclecloud.com/")),
        "the seed's audience"
    );
    let wso2 = get("wso2.yaml");
    assert_eq!(wso2.behaviour.rotation, Rotation::Rotate);
    assert_eq!(wso2.behaviour.refresh_token_ttl_s, Some(84_600));
    assert_eq!(
        get("wso2-no-renewal.yaml").behaviour.rotation,
        Rotation::Static
    );
}
