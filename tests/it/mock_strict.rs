//! The strict mock over real HTTP: each grant, response headers and shape,
//! every RFC 6749 error the request format and client authentication can
//! cause, and that nothing a client sends yields a 5xx.

use crate::mock_support;

use mock_support::*;
use serde_json::Value;
use tokenprobe::mock::{ClientAccount, FailureLimit, MockConfig};

fn is_vschar_token(t: &str) -> bool {
    t.len() >= 43 && t.bytes().all(|b| (0x21..=0x7e).contains(&b))
}

#[tokio::test]
async fn the_password_grant_answers_rfc_6749_5_1() {
    let m = strict().await;
    let r = m.login(None).await;
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.header("cache-control"), Some("no-store"));
    assert_eq!(r.header("pragma"), Some("no-cache"));
    assert_eq!(r.str("token_type"), "Bearer");
    assert_eq!(r.json["expires_in"], Value::from(3600));
    assert_eq!(r.str("scope"), "read", "the default scope is echoed");
    assert!(is_vschar_token(&r.str("access_token")));
    assert!(is_vschar_token(&r.str("refresh_token")));
    assert_ne!(r.str("access_token"), r.str("refresh_token"));
    let members = r.json.as_object().unwrap();
    assert!(members.values().all(|v| !v.is_null()), "{}", r.text);
    assert!(!members.contains_key("id_token"), "no openid, no id_token");

    let r = m.login(Some("write read write")).await;
    assert_eq!(r.str("scope"), "write read", "duplicates dropped");
}

#[tokio::test]
async fn body_credentials_work_like_basic() {
    let m = strict().await;
    let r = m
        .token(
            Auth::Post(OTHER.0, OTHER.1),
            &[
                ("grant_type", "password"),
                ("username", "bob"),
                ("password", "bob-pass-2"),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
}

#[tokio::test]
async fn client_credentials_issues_no_refresh_token() {
    let m = strict().await;
    for client in [APP, ("cc-only", "cc-only-secret")] {
        let r = m
            .token(
                Auth::Basic(client.0, client.1),
                &[("grant_type", "client_credentials"), ("scope", "read")],
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert!(r.json.get("refresh_token").is_none(), "{}", r.text);
        assert_eq!(r.str("scope"), "read");
        let info = m.introspect(&r.str("access_token")).await;
        assert_eq!(info["client_id"], client.0);
        assert!(info.get("sub").is_none());
    }
}

#[tokio::test]
async fn only_a_form_post_is_served() {
    let m = strict().await;
    let r = read(m.http.get(m.server.token_endpoint()).send().await.unwrap()).await;
    r.assert_error(405, "invalid_request");
    let json = serde_json::json!({"grant_type": "password", "username": "alice", "password": "alice-pass-1"});
    m.token_raw("application/json", json.to_string())
        .await
        .assert_error(400, "invalid_request");
    m.token_raw("text/plain", "grant_type=client_credentials")
        .await
        .assert_error(400, "invalid_request");
    // A charset parameter on the right type is fine.
    let r = m
        .token_raw(
            "application/x-www-form-urlencoded; charset=UTF-8",
            "grant_type=client_credentials",
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
}

#[tokio::test]
async fn a_repeated_parameter_is_invalid_and_unknown_ones_are_ignored() {
    let m = strict().await;
    let body = "grant_type=password&username=alice&password=alice-pass-1&username=alice";
    let form = "application/x-www-form-urlencoded";
    m.token_raw(form, body)
        .await
        .assert_error(400, "invalid_request");
    let body = "grant_type=password&username=alice&password=alice-pass-1&colour=blue";
    assert_eq!(m.token_raw(form, body).await.status, 200);
}

#[tokio::test]
async fn grant_type_errors() {
    let m = strict().await;
    let app = Auth::Basic(APP.0, APP.1);
    m.token(app, &[("username", "alice")])
        .await
        .assert_error(400, "invalid_request");
    m.token(
        app,
        &[("grant_type", "urn:ietf:params:oauth:grant-type:device_code")],
    )
    .await
    .assert_error(400, "unsupported_grant_type");
    m.token(app, &[("grant_type", "Password")])
        .await
        .assert_error(400, "unsupported_grant_type");
    let cc = Auth::Basic("cc-only", "cc-only-secret");
    let p = [
        ("grant_type", "password"),
        ("username", ALICE.0),
        ("password", ALICE.1),
    ];
    m.token(cc, &p)
        .await
        .assert_error(400, "unauthorized_client");
}

#[tokio::test]
async fn missing_parameters_are_invalid_request() {
    let m = strict().await;
    let app = Auth::Basic(APP.0, APP.1);
    m.token(app, &[("grant_type", "password"), ("password", ALICE.1)])
        .await
        .assert_error(400, "invalid_request");
    m.token(app, &[("grant_type", "password"), ("username", ALICE.0)])
        .await
        .assert_error(400, "invalid_request");
    m.token(
        app,
        &[
            ("grant_type", "password"),
            ("username", ALICE.0),
            ("password", ""),
        ],
    )
    .await
    .assert_error(400, "invalid_request");
    m.token(app, &[("grant_type", "refresh_token")])
        .await
        .assert_error(400, "invalid_request");
}

#[tokio::test]
async fn bad_user_credentials_are_invalid_grant_with_identical_bodies() {
    let m = strict().await;
    let app = Auth::Basic(APP.0, APP.1);
    let wrong = m
        .token(
            app,
            &[
                ("grant_type", "password"),
                ("username", "alice"),
                ("password", "nope"),
            ],
        )
        .await;
    let unknown = m
        .token(
            app,
            &[
                ("grant_type", "password"),
                ("username", "mallory"),
                ("password", "nope"),
            ],
        )
        .await;
    wrong.assert_error(400, "invalid_grant");
    unknown.assert_error(400, "invalid_grant");
    assert_eq!(wrong.text, unknown.text);
    m.token(
        app,
        &[
            ("grant_type", "password"),
            ("username", "alice"),
            ("password", "bob-pass-2"),
        ],
    )
    .await
    .assert_error(400, "invalid_grant");
}

#[tokio::test]
async fn repeated_wrong_passwords_are_throttled_per_user() {
    let m = start(MockConfig {
        password_failures: FailureLimit {
            max_failures: 3,
            window_s: 60,
        },
        virtual_clock: true,
        ..MockConfig::strict()
    })
    .await;
    let app = Auth::Basic(APP.0, APP.1);
    for _ in 0..3 {
        let r = m
            .token(
                app,
                &[
                    ("grant_type", "password"),
                    ("username", "alice"),
                    ("password", "x"),
                ],
            )
            .await;
        r.assert_error(400, "invalid_grant");
    }
    let p = [
        ("grant_type", "password"),
        ("username", ALICE.0),
        ("password", ALICE.1),
    ];
    let r = m.token(app, &p).await;
    assert_eq!(
        r.status, 429,
        "locked even with the right password: {}",
        r.text
    );
    assert!(r.header("retry-after").is_some());
    let bob = [
        ("grant_type", "password"),
        ("username", "bob"),
        ("password", "bob-pass-2"),
    ];
    assert_eq!(
        m.token(app, &bob).await.status,
        200,
        "other users are not affected"
    );
    m.advance(60).await;
    assert_eq!(m.token(app, &p).await.status, 200, "the window passes");
}

#[tokio::test]
async fn client_authentication_failures_are_401_invalid_client_with_a_challenge() {
    let m = strict().await;
    let p = [("grant_type", "client_credentials")];
    for auth in [
        Auth::None,
        Auth::Basic("app", "wrong"),
        Auth::Basic("nobody", "app-secret"),
        Auth::Post("app", "wrong"),
    ] {
        let r = m.token(auth, &p).await;
        r.assert_error(401, "invalid_client");
        assert_eq!(
            r.header("www-authenticate"),
            Some("Basic realm=\"tokenprobe-mock\"")
        );
    }
    let r = m
        .token(
            Auth::None,
            &[("grant_type", "client_credentials"), ("client_id", "app")],
        )
        .await;
    r.assert_error(401, "invalid_client");
    let r = m
        .token_raw(
            "application/x-www-form-urlencoded",
            "grant_type=client_credentials",
        )
        .await;
    assert_eq!(r.status, 200, "control: the raw helper authenticates");
    let r = read(
        m.http
            .post(m.server.token_endpoint())
            .header("authorization", "Basic !!notbase64")
            .form(&p)
            .send()
            .await
            .unwrap(),
    )
    .await;
    r.assert_error(401, "invalid_client");
}

#[tokio::test]
async fn basic_credentials_are_form_decoded_after_base64() {
    let secret = "p:w&+ %é";
    let mut cfg = MockConfig {
        virtual_clock: true,
        ..MockConfig::strict()
    };
    cfg.clients.push(ClientAccount::new(
        "odd client",
        secret,
        vec!["client_credentials".into()],
    ));
    let m = start(cfg).await;
    let p = [("grant_type", "client_credentials")];
    let r = m.token(Auth::Basic("odd client", secret), &p).await;
    assert_eq!(r.status, 200, "{}", r.text);
    // Without the form encoding the colon in the secret is misread.
    use base64::Engine;
    let raw = base64::engine::general_purpose::STANDARD.encode(format!("odd client:{secret}"));
    let r = read(
        m.http
            .post(m.server.token_endpoint())
            .header("authorization", format!("Basic {raw}"))
            .form(&p)
            .send()
            .await
            .unwrap(),
    )
    .await;
    r.assert_error(401, "invalid_client");
}

#[tokio::test]
async fn two_client_authentication_methods_are_invalid_request() {
    let m = strict().await;
    let r = m
        .token(
            Auth::Basic(APP.0, APP.1),
            &[
                ("grant_type", "client_credentials"),
                ("client_id", "app"),
                ("client_secret", "app-secret"),
            ],
        )
        .await;
    r.assert_error(400, "invalid_request");
}

#[tokio::test]
async fn credentials_in_the_query_string_are_refused() {
    let m = strict().await;
    let url = format!(
        "{}?client_id=app&client_secret=app-secret",
        m.server.token_endpoint()
    );
    let r = read(
        m.http
            .post(url)
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap(),
    )
    .await;
    r.assert_error(400, "invalid_request");
}

#[tokio::test]
async fn oversized_bodies_get_a_json_413() {
    let m = strict().await;
    let body = format!(
        "grant_type=client_credentials&pad={}",
        "a".repeat(70 * 1024)
    );
    let r = m.token_raw("application/x-www-form-urlencoded", body).await;
    r.assert_error(413, "invalid_request");
}

#[tokio::test]
async fn malformed_requests_never_yield_a_5xx() {
    let m = strict().await;
    let form = "application/x-www-form-urlencoded";
    let bodies: Vec<Vec<u8>> = vec![
        b"".to_vec(),
        b"&&&===".to_vec(),
        b"grant_type=%".to_vec(),
        b"grant_type=%zz".to_vec(),
        b"grant_type=\xff\xfe".to_vec(),
        b"grant_type=password&username=%00&password=%00".to_vec(),
        b"grant_type=refresh_token&refresh_token=%F0%9F%98%80".to_vec(),
        b"grant_type=refresh_token&refresh_token=".to_vec(),
        b"grant_type=password&scope=%20%20".to_vec(),
        b"grant_type=refresh_token&refresh_token=x&scope=nonsense".to_vec(),
        vec![b'a'; 5000],
    ];
    for body in bodies {
        let r = m.token_raw(form, body.clone()).await;
        assert!(
            r.status < 500 && r.status != 200,
            "{:?} → {} {}",
            String::from_utf8_lossy(&body),
            r.status,
            r.text
        );
        assert!(!r.error().is_empty(), "{}", r.text);
    }
    for path in ["/revoke", "/introspect"] {
        let r = m.post(path, Auth::Basic(APP.0, APP.1), &[]).await;
        r.assert_error(400, "invalid_request");
        let r = m.post(path, Auth::None, &[("token", "x")]).await;
        r.assert_error(401, "invalid_client");
    }
    let r = read(m.http.get(m.url("/nowhere")).send().await.unwrap()).await;
    assert_eq!(r.status, 404);
}

#[tokio::test]
async fn discovery_and_jwks_describe_the_server() {
    let m = strict().await;
    for path in [
        "/.well-known/openid-configuration",
        "/.well-known/oauth-authorization-server",
    ] {
        let d: tokenprobe::wire::Discovery = m
            .http
            .get(m.url(path))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(d.issuer.as_deref(), Some(m.server.base_url().as_str()));
        assert_eq!(d.token_endpoint, m.server.token_endpoint());
        assert_eq!(d.revocation_endpoint, Some(m.url("/revoke")));
        assert_eq!(d.introspection_endpoint, Some(m.url("/introspect")));
        assert_eq!(d.jwks_uri, Some(m.url("/jwks")));
        for g in ["password", "refresh_token", "client_credentials"] {
            assert!(d.grant_types().contains(&g), "{g}");
        }
        assert_eq!(
            d.token_endpoint_auth_methods_supported,
            ["client_secret_basic", "client_secret_post", "none"]
        );
        assert!(d.scopes_supported.iter().any(|s| s == "openid"));
    }
    let jwks: Value = m
        .http
        .get(m.url("/jwks"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(jwks["keys"][0]["kid"], tokenprobe::mock::KEY_ID);
    assert_eq!(jwks["keys"][0]["kty"], "EC", "strict signs with ES256");
    assert_eq!(jwks["keys"][0]["crv"], "P-256");
    // The vendor profiles sign with RS256, as the vendors do; the JWKS
    // follows the algorithm.
    for p in [
        tokenprobe::mock::Profile::EmpowerId,
        tokenprobe::mock::Profile::Idcs,
        tokenprobe::mock::Profile::Wso2,
    ] {
        assert_eq!(
            MockConfig::profile(p).id_token_alg,
            tokenprobe::mock::IdTokenAlg::RS256
        );
    }
    let m = start(MockConfig {
        id_token_alg: tokenprobe::mock::IdTokenAlg::RS256,
        ..MockConfig::strict()
    })
    .await;
    let jwks: Value = m
        .http
        .get(m.url("/jwks"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(jwks["keys"][0]["kty"], "RSA");
}

#[tokio::test]
async fn the_clock_endpoint_exists_only_with_a_virtual_clock() {
    let m = start(MockConfig::strict()).await;
    let r = m
        .http
        .post(m.url(tokenprobe::mock::CLOCK_PATH))
        .json(&serde_json::json!({"seconds": 5}))
        .send()
        .await;
    assert_eq!(r.unwrap().status(), 404);
    let m = strict().await;
    let t0 = m.advance(0).await;
    let t1 = m.advance(90_000).await;
    assert!((90_000..90_003).contains(&(t1 - t0)), "{t0} {t1}");
    let r = m
        .http
        .post(m.url(tokenprobe::mock::CLOCK_PATH))
        .body("{")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
}

#[tokio::test]
async fn shutdown_is_graceful_and_frees_the_port() {
    let m = strict().await;
    let addr = m.server.local_addr();
    m.login(None).await;
    m.server.shutdown().await;
    let again = tokenprobe::mock::MockServer::start(MockConfig::strict(), addr).await;
    assert!(again.is_ok(), "the port is free again");
}

/// Issue 32 item 9: with a virtual clock moved forward, introspection's
/// `iat` and `exp` are on one clock (`iat` was the virtual one and `exp`
/// the wall's, so `iat` could come after `exp`).
#[tokio::test]
async fn introspection_iat_and_exp_share_a_clock() {
    let m = mock_support::start(tokenprobe::mock::MockConfig {
        virtual_clock: true,
        ..tokenprobe::mock::MockConfig::strict()
    })
    .await;
    let login = m.login(Some("read")).await;
    let at = login.str("access_token");
    m.advance(1800).await;
    let i = m.introspect(&at).await;
    let (iat, exp) = (i["iat"].as_u64().unwrap(), i["exp"].as_u64().unwrap());
    assert!(iat < exp, "{i}");
    assert_eq!(exp - iat, 3600, "{i}");
}
