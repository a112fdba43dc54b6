//! Each vendor profile's distinctive behaviour over real HTTP: EmpowerID
//! (user in Basic, `id` and `id_token: null`, tokeninfo/userinfo), Oracle
//! IDCS (offline_access, JWT client assertions, per-scope lifetimes), WSO2
//! (renew_refresh_token, validity period); and HTTPS.

use crate::mock_support;

use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use mock_support::*;
use serde_json::{Value, json};
use tokenprobe::mock::{MockConfig, Profile};

async fn profile(p: Profile) -> Mock {
    start(MockConfig {
        virtual_clock: true,
        ..MockConfig::profile(p)
    })
    .await
}

// ---- EmpowerID ----

fn raw_basic(user: &str, password: &str) -> String {
    let raw = format!("{user}:{password}");
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    )
}

async fn empowerid_login(m: &Mock, password: &str, scope: &str) -> Resp {
    let r = m
        .http
        .post(m.server.token_endpoint())
        .header("authorization", raw_basic("alice", password))
        .form(&[
            ("grant_type", "password"),
            ("client_id", APP.0),
            ("client_secret", APP.1),
            ("scope", scope),
        ])
        .send()
        .await
        .unwrap();
    read(r).await
}

#[tokio::test]
async fn empowerid_takes_the_user_from_basic_and_adds_its_extras() {
    let m = profile(Profile::EmpowerId).await;
    assert!(m.server.token_endpoint().ends_with("/oauth/v2/token"));
    let r = empowerid_login(&m, "alice-pass-1", "read").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["id_token"], Value::Null, "null without openid");
    assert!(r.json.as_object().unwrap().contains_key("id_token"));
    let id = r.str("id");
    assert_eq!(
        id.split('-').map(str::len).collect::<Vec<_>>(),
        [8, 4, 4, 4, 12]
    );
    let with_openid = empowerid_login(&m, "alice-pass-1", "openid").await;
    assert!(with_openid.json["id_token"].is_string());

    // A wrong user password is the user's fault, not the client's.
    empowerid_login(&m, "wrong", "read")
        .await
        .assert_error(400, "invalid_grant");

    // Refresh with the client in the body rotates.
    let rt = r.str("refresh_token");
    let p = [
        ("grant_type", "refresh_token"),
        ("refresh_token", rt.as_str()),
    ];
    let refreshed = m.token(Auth::Post(APP.0, APP.1), &p).await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.text);
    assert_ne!(refreshed.str("refresh_token"), rt);
    // Its clients authenticate in the body only.
    m.token(Auth::Basic(APP.0, APP.1), &p)
        .await
        .assert_error(401, "invalid_client");
}

#[tokio::test]
async fn empowerid_serves_its_paths_tokeninfo_and_userinfo() {
    let m = profile(Profile::EmpowerId).await;
    let d: Value = m
        .http
        .get(m.url("/oauth/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(d["token_endpoint"], m.server.token_endpoint());
    assert_eq!(
        d["token_endpoint_auth_methods_supported"],
        json!(["client_secret_post", "none"])
    );
    let r = m
        .token(
            Auth::Post(APP.0, APP.1),
            &[("grant_type", "client_credentials")],
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        m.post("/token", Auth::Post(APP.0, APP.1), &[]).await.status,
        404
    );

    let at = empowerid_login(&m, "alice-pass-1", "openid email")
        .await
        .str("access_token");
    let bearer = |path: &'static str, token: String| {
        let m = &m;
        async move {
            read(
                m.http
                    .get(m.url(path))
                    .bearer_auth(token)
                    .send()
                    .await
                    .unwrap(),
            )
            .await
        }
    };
    let info = bearer("/oauth/v2/tokeninfo", at.clone()).await;
    assert_eq!(
        (info.status, &info.json["active"], &info.json["client_id"]),
        (200, &json!(true), &json!("app"))
    );
    let user = bearer("/oauth/v2/userinfo", at.clone()).await;
    assert_eq!(user.json["sub"], "alice");
    assert_eq!(user.json["email"], "alice@example.test");
    let bad = bearer("/oauth/v2/userinfo", "nope".into()).await;
    assert_eq!((bad.status, bad.error()), (401, "invalid_token"));
    assert!(
        bad.header("www-authenticate")
            .unwrap()
            .starts_with("Bearer")
    );
}

// ---- Oracle IDCS ----

const MYSCOPES: &str = "urn:opc:idm:__myscopes__";

fn assertion(claims: Value) -> String {
    let key =
        EncodingKey::from_rsa_pem(tokenprobe::mock::CLIENT_JWT_PRIVATE_KEY.as_bytes()).unwrap();
    jsonwebtoken::encode(&Header::new(Algorithm::RS256), &claims, &key).unwrap()
}

async fn jwt_claims(m: &Mock, jti: &str) -> Value {
    let now = m.advance(0).await;
    json!({"iss": "jwt-app", "sub": "jwt-app", "aud": m.server.token_endpoint(), "exp": now + 300, "jti": jti})
}

async fn with_assertion(m: &Mock, assertion: &str, assertion_type: &str) -> Resp {
    m.token(
        Auth::None,
        &[
            ("grant_type", "client_credentials"),
            ("client_assertion_type", assertion_type),
            ("client_assertion", assertion),
        ],
    )
    .await
}

const JWT_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

#[tokio::test]
async fn idcs_accepts_a_private_key_jwt_and_refuses_each_defect() {
    let m = profile(Profile::Idcs).await;
    assert!(m.server.token_endpoint().ends_with("/oauth2/v1/token"));
    let good = assertion(jwt_claims(&m, "a1").await);
    let r = with_assertion(&m, &good, JWT_TYPE).await;
    assert_eq!(r.status, 200, "{}", r.text);
    with_assertion(&m, &good, JWT_TYPE)
        .await
        .assert_error(401, "invalid_client");

    let mut issuer_aud = jwt_claims(&m, "a2").await;
    issuer_aud["aud"] = m.server.issuer().into();
    assert_eq!(
        with_assertion(&m, &assertion(issuer_aud), JWT_TYPE)
            .await
            .status,
        200
    );

    let defects: Vec<(&str, Value)> = vec![
        ("iss", json!("app")),
        ("sub", json!("app")),
        ("aud", json!("http://127.0.0.1:1/elsewhere")),
        ("exp", json!(1)),
    ];
    for (i, (claim, value)) in defects.into_iter().enumerate() {
        let mut c = jwt_claims(&m, &format!("d{i}")).await;
        c[claim] = value;
        let r = with_assertion(&m, &assertion(c), JWT_TYPE).await;
        assert_eq!(
            (r.status, r.error()),
            (401, "invalid_client"),
            "{claim}: {}",
            r.text
        );
    }
    let fresh = assertion(jwt_claims(&m, "t1").await);
    with_assertion(
        &m,
        &fresh,
        "urn:ietf:params:oauth:client-assertion-type:saml2-bearer",
    )
    .await
    .assert_error(401, "invalid_client");
    // One character flipped inside the signature (not in its last, partly
    // padding character).
    let mut forged = fresh.clone().into_bytes();
    let i = forged.len() - 10;
    forged[i] = if forged[i] == b'A' { b'B' } else { b'A' };
    let forged = String::from_utf8(forged).unwrap();
    with_assertion(&m, &forged, JWT_TYPE)
        .await
        .assert_error(401, "invalid_client");
    // A virtual clock moved forward does not expire an assertion: the
    // client stamps it with its own, real clock (the runner's `wait` steps
    // advance the server's clock only).
    let later = assertion(jwt_claims(&m, "c1").await);
    m.advance(3600).await;
    let r = with_assertion(&m, &later, JWT_TYPE).await;
    assert_eq!(r.status, 200, "{}", r.text);
}

#[tokio::test]
async fn idcs_client_secret_jwt_and_basic_work() {
    let m = profile(Profile::Idcs).await;
    let mut c = jwt_claims(&m, "h1").await;
    c["iss"] = "app".into();
    c["sub"] = "app".into();
    let hs = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &c,
        &EncodingKey::from_secret(b"app-secret"),
    )
    .unwrap();
    assert_eq!(with_assertion(&m, &hs, JWT_TYPE).await.status, 200);
    let basic = m
        .token(
            Auth::Basic(APP.0, APP.1),
            &[("grant_type", "client_credentials")],
        )
        .await;
    assert_eq!(basic.status, 200);
    assert_eq!(basic.str("scope"), MYSCOPES);
}

#[tokio::test]
async fn idcs_issues_refresh_tokens_only_with_offline_access() {
    let m = profile(Profile::Idcs).await;
    let without = m.login(Some(MYSCOPES)).await;
    assert!(
        without.json.get("refresh_token").is_none(),
        "{}",
        without.text
    );
    let with = m.login(Some(&format!("{MYSCOPES} offline_access"))).await;
    let r = m.refresh(APP, &with.str("refresh_token"), None).await;
    assert_eq!(r.status, 200, "{}", r.text);
}

#[tokio::test]
async fn idcs_gives_a_refreshed_access_token_its_scopes_full_lifetime() {
    let m = profile(Profile::Idcs).await;
    let long = format!("{MYSCOPES} urn:opc:resource:expiry offline_access");
    let login = m.login(Some(&long)).await;
    assert_eq!(login.json["expires_in"], 31_556_952);
    m.advance(80_000).await;
    let r = m.refresh(APP, &login.str("refresh_token"), None).await;
    assert_eq!(
        r.json["expires_in"], 31_556_952,
        "never the remainder: {}",
        r.text
    );
    let short = m
        .refresh(
            APP,
            &r.str("refresh_token"),
            Some(&format!("{MYSCOPES} offline_access")),
        )
        .await;
    assert_eq!(short.json["expires_in"], 3600);
}

// ---- WSO2 ----

#[tokio::test]
async fn wso2_renews_refresh_tokens_with_a_new_validity_period() {
    let m = profile(Profile::Wso2).await;
    assert!(m.server.token_endpoint().ends_with("/oauth2/token"));
    let rt = m.login(None).await.str("refresh_token");
    m.advance(1000).await;
    let r = m.refresh(APP, &rt, None).await;
    let renewed = r.str("refresh_token");
    assert_ne!(renewed, rt);
    // Introspection gives `exp` on the caller's clock (the virtual one
    // moved 1000 s ahead): the renewed token's full validity from now.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let exp = m.introspect(&renewed).await["exp"].as_u64().unwrap();
    assert!(
        (now + 84_599..now + 84_602).contains(&exp),
        "new expiry {exp} vs now {now}"
    );
    m.refresh(APP, &rt, None)
        .await
        .assert_error(400, "invalid_grant");
    assert_eq!(
        m.refresh(APP, &renewed, None).await.status,
        200,
        "no family revocation"
    );
    let cc = m
        .token(
            Auth::Basic(APP.0, APP.1),
            &[("grant_type", "client_credentials")],
        )
        .await;
    assert!(cc.json.get("refresh_token").is_none());
}

#[tokio::test]
async fn wso2_without_renewal_returns_the_same_refresh_token_until_it_expires() {
    let m = start(MockConfig {
        virtual_clock: true,
        ..MockConfig::profile(Profile::Wso2).renew_refresh_token(false)
    })
    .await;
    let rt = m.login(None).await.str("refresh_token");
    assert_eq!(m.refresh(APP, &rt, None).await.str("refresh_token"), rt);
    m.advance(84_600).await;
    m.refresh(APP, &rt, None)
        .await
        .assert_error(400, "invalid_grant");
}

// ---- TLS ----

#[tokio::test]
async fn tls_serves_https_with_the_published_certificate() {
    let m = start(MockConfig {
        tls: true,
        ..MockConfig::strict()
    })
    .await;
    assert!(m.server.base_url().starts_with("https://127.0.0.1:"));
    let pem = m.server.tls_certificate_pem().expect("a certificate");
    let http = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(20))
        .no_proxy()
        .tls_certs_only([reqwest::Certificate::from_pem(pem.as_bytes()).unwrap()])
        .build()
        .unwrap();
    let m = Mock { http, ..m };
    let r = m.login(None).await;
    assert_eq!(r.str("token_type"), "Bearer");
    assert!(
        client().get(m.url("/jwks")).send().await.is_err(),
        "untrusted without the cert"
    );
}
