//! The strict mock's refresh lifecycle over real HTTP: rotation, reuse
//! detection, client binding, scope, revocation, introspection, expiry on the
//! virtual clock, grace period, id_token on refresh, concurrency.

use crate::mock_support;

use jsonwebtoken::{Algorithm, DecodingKey, Validation, jwk::JwkSet};
use mock_support::*;
use serde_json::Value;
use std::sync::Arc;
use tokenprobe::mock::{MockConfig, RefreshExpiry, Rotation};

#[tokio::test]
async fn rotation_then_reuse_revokes_the_family() {
    let m = strict().await;
    let login = m.login(None).await;
    let r0 = login.str("refresh_token");
    let first = m.refresh(APP, &r0, None).await;
    assert_eq!(first.status, 200, "{}", first.text);
    let r1 = first.str("refresh_token");
    assert_ne!(r1, r0);
    assert_eq!(first.header("cache-control"), Some("no-store"));
    assert!(!m.active(&r0).await, "the rotated token is inactive");
    assert!(m.active(&r1).await);

    m.refresh(APP, &r0, None)
        .await
        .assert_error(400, "invalid_grant");
    m.refresh(APP, &r1, None)
        .await
        .assert_error(400, "invalid_grant");
    assert!(
        !m.active(&first.str("access_token")).await,
        "family access tokens die"
    );
    assert!(!m.active(&login.str("access_token")).await);
    let fresh = m.login(None).await;
    assert_eq!(
        m.refresh(APP, &fresh.str("refresh_token"), None)
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn a_chain_of_rotations_never_repeats_a_token() {
    let m = strict().await;
    let mut seen = std::collections::HashSet::new();
    let mut rt = m.login(None).await.str("refresh_token");
    seen.insert(rt.clone());
    for _ in 0..6 {
        let r = m.refresh(APP, &rt, None).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.str("scope"), "read");
        rt = r.str("refresh_token");
        assert!(seen.insert(rt.clone()), "a token came back twice");
        assert!(seen.insert(r.str("access_token")));
    }
}

#[tokio::test]
async fn a_refresh_token_is_bound_to_its_client() {
    let m = strict().await;
    let rt = m.login(None).await.str("refresh_token");
    m.refresh(OTHER, &rt, None)
        .await
        .assert_error(400, "invalid_grant");
    assert_eq!(
        m.refresh(APP, &rt, None).await.status,
        200,
        "not consumed by the attempt"
    );
    let r = m
        .token(
            Auth::None,
            &[("grant_type", "refresh_token"), ("refresh_token", &rt)],
        )
        .await;
    r.assert_error(401, "invalid_client");
}

#[tokio::test]
async fn bogus_refresh_tokens_are_invalid_grant() {
    let m = strict().await;
    let login = m.login(Some("openid read")).await;
    let rt = login.str("refresh_token");
    let mut flipped = rt.clone().into_bytes();
    flipped[10] = if flipped[10] == b'A' { b'B' } else { b'A' };
    let flipped = String::from_utf8(flipped).unwrap();
    for bogus in [
        "random-garbage",
        &rt[..20],
        &flipped,
        &login.str("access_token"),
        &login.str("id_token"),
    ] {
        m.refresh(APP, bogus, None)
            .await
            .assert_error(400, "invalid_grant");
    }
    assert_eq!(m.refresh(APP, &rt, None).await.status, 200);
}

#[tokio::test]
async fn scope_can_narrow_but_not_widen() {
    let m = strict().await;
    let rt = m.login(Some("read write")).await.str("refresh_token");
    let narrow = m.refresh(APP, &rt, Some("read")).await;
    assert_eq!(narrow.str("scope"), "read");
    assert_eq!(
        m.introspect(&narrow.str("access_token")).await["scope"],
        "read"
    );
    let full = m
        .refresh(APP, &narrow.str("refresh_token"), Some("read write"))
        .await;
    assert_eq!(
        full.status, 200,
        "the grant keeps its original scope: {}",
        full.text
    );
    let rt = full.str("refresh_token");
    m.refresh(APP, &rt, Some("read write email"))
        .await
        .assert_error(400, "invalid_scope");
    m.refresh(APP, &rt, Some("admin"))
        .await
        .assert_error(400, "invalid_scope");
    let omitted = m.refresh(APP, &rt, None).await;
    assert_eq!(omitted.str("scope"), "read write");
}

#[tokio::test]
async fn revocation_is_per_client_and_cascades() {
    let m = strict().await;
    let login = m.login(None).await;
    let (at, rt) = (login.str("access_token"), login.str("refresh_token"));
    let revoke = |auth, token: String| {
        let m = &m;
        async move { m.post("/revoke", auth, &[("token", &token)]).await }
    };
    assert_eq!(
        revoke(Auth::Basic(APP.0, APP.1), "garbage".into())
            .await
            .status,
        200
    );
    assert_eq!(
        revoke(Auth::Basic(OTHER.0, OTHER.1), rt.clone())
            .await
            .status,
        200
    );
    assert!(m.active(&rt).await, "another client cannot revoke it");
    revoke(Auth::None, rt.clone())
        .await
        .assert_error(401, "invalid_client");
    assert_eq!(
        revoke(Auth::Post(APP.0, APP.1), rt.clone()).await.status,
        200
    );
    assert!(!m.active(&rt).await);
    assert!(
        !m.active(&at).await,
        "the grant's access token dies with it"
    );
    m.refresh(APP, &rt, None)
        .await
        .assert_error(400, "invalid_grant");
}

#[tokio::test]
async fn introspection_describes_live_tokens() {
    let m = strict().await;
    let now = m.advance(0).await;
    let login = m.login(Some("read write")).await;
    let at = m.introspect(&login.str("access_token")).await;
    assert_eq!(at["active"], true);
    assert_eq!(at["scope"], "read write");
    assert_eq!(at["client_id"], "app");
    assert_eq!(at["username"], "alice");
    assert_eq!(at["sub"], "alice");
    assert_eq!(at["token_type"], "Bearer");
    let exp = at["exp"].as_u64().unwrap();
    assert!((now + 3600..now + 3602).contains(&exp), "{exp} vs {now}");
    let rt = m.introspect(&login.str("refresh_token")).await;
    assert_eq!(rt["active"], true);
    assert_eq!(rt["token_type"], "refresh_token");
    assert_eq!(
        m.introspect("nothing").await,
        serde_json::json!({"active": false})
    );
}

#[tokio::test]
async fn expiry_follows_the_virtual_clock() {
    let m = strict().await;
    let login = m.login(None).await;
    let at = login.str("access_token");
    m.advance(3600).await;
    assert!(!m.active(&at).await, "the access token expired");
    let r = m.refresh(APP, &login.str("refresh_token"), None).await;
    assert_eq!(
        r.status, 200,
        "refresh works after the access token expired"
    );
    assert!(m.active(&r.str("access_token")).await);
    m.advance(86_400).await;
    m.refresh(APP, &r.str("refresh_token"), None)
        .await
        .assert_error(400, "invalid_grant");
}

#[tokio::test]
async fn sliding_expiry_stops_at_the_family_cap() {
    let m = start(MockConfig {
        virtual_clock: true,
        refresh_token_ttl_s: 1000,
        refresh_token_max_lifetime_s: Some(2500),
        ..MockConfig::strict()
    })
    .await;
    let mut rt = m.login(None).await.str("refresh_token");
    for _ in 0..2 {
        m.advance(900).await;
        let r = m.refresh(APP, &rt, None).await;
        assert_eq!(r.status, 200, "sliding: each successor lives 1000 s more");
        rt = r.str("refresh_token");
    }
    m.advance(700).await;
    m.refresh(APP, &rt, None)
        .await
        .assert_error(400, "invalid_grant");
}

#[tokio::test]
async fn absolute_expiry_is_inherited_by_successors() {
    let m = start(MockConfig {
        virtual_clock: true,
        refresh_token_ttl_s: 1000,
        refresh_expiry: RefreshExpiry::Absolute,
        ..MockConfig::strict()
    })
    .await;
    let rt = m.login(None).await.str("refresh_token");
    m.advance(900).await;
    let r1 = m.refresh(APP, &rt, None).await.str("refresh_token");
    m.advance(100).await;
    m.refresh(APP, &r1, None)
        .await
        .assert_error(400, "invalid_grant");
}

#[tokio::test]
async fn static_rotation_returns_the_same_token_until_it_expires() {
    let m = start(MockConfig {
        virtual_clock: true,
        rotation: Rotation::Static,
        refresh_token_ttl_s: 1000,
        ..MockConfig::strict()
    })
    .await;
    let rt = m.login(None).await.str("refresh_token");
    for _ in 0..3 {
        let r = m.refresh(APP, &rt, None).await;
        assert_eq!(r.str("refresh_token"), rt);
    }
    m.advance(1000).await;
    m.refresh(APP, &rt, None)
        .await
        .assert_error(400, "invalid_grant");
}

#[tokio::test]
async fn a_grace_replay_returns_the_successor_and_keeps_the_family() {
    let m = start(MockConfig {
        virtual_clock: true,
        grace_period_s: 30,
        ..MockConfig::strict()
    })
    .await;
    let r0 = m.login(None).await.str("refresh_token");
    let r1 = m.refresh(APP, &r0, None).await.str("refresh_token");
    m.advance(10).await;
    let replay = m.refresh(APP, &r0, None).await;
    assert_eq!(replay.status, 200, "{}", replay.text);
    assert_eq!(replay.str("refresh_token"), r1);
    assert!(m.active(&r1).await, "the family survives");
    let r2 = m.refresh(APP, &r1, None).await.str("refresh_token");
    m.refresh(APP, &r0, None)
        .await
        .assert_error(400, "invalid_grant");
    assert!(
        !m.active(&r2).await,
        "a replay past the depth revokes the family"
    );
    let r0 = m.login(None).await.str("refresh_token");
    m.refresh(APP, &r0, None).await;
    m.advance(30).await;
    m.refresh(APP, &r0, None)
        .await
        .assert_error(400, "invalid_grant");
}

async fn verify_id_token(m: &Mock, token: &str) -> Value {
    let d: Value = m
        .http
        .get(m.url("/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let jwks: JwkSet = m
        .http
        .get(d["jwks_uri"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let header = jsonwebtoken::decode_header(token).unwrap();
    let key = jwks
        .find(header.kid.as_deref().expect("kid"))
        .expect("key in JWKS");
    // The algorithm the discovery document announces (ES256 for strict).
    let alg: Algorithm = d["id_token_signing_alg_values_supported"][0]
        .as_str()
        .expect("announced")
        .parse()
        .unwrap();
    assert_eq!(header.alg, alg);
    let mut v = Validation::new(alg);
    v.set_audience(&["app"]);
    v.set_issuer(&[d["issuer"].as_str().unwrap()]);
    jsonwebtoken::decode::<Value>(token, &DecodingKey::from_jwk(key).unwrap(), &v)
        .expect("signature and claims verify")
        .claims
}

#[tokio::test]
async fn the_id_token_keeps_its_identity_across_refreshes() {
    let m = strict().await;
    let login = m.login(Some("openid read")).await;
    let first = verify_id_token(&m, &login.str("id_token")).await;
    assert_eq!(first["sub"], "alice");
    assert!(first.get("nonce").is_none());
    m.advance(100).await;
    let r = m.refresh(APP, &login.str("refresh_token"), None).await;
    let second = verify_id_token(&m, &r.str("id_token")).await;
    for claim in ["iss", "sub", "aud", "auth_time"] {
        assert_eq!(first[claim], second[claim], "{claim}");
    }
    assert!(second["iat"].as_u64() >= first["iat"].as_u64().map(|i| i + 100));
    let narrowed = m.refresh(APP, &r.str("refresh_token"), Some("read")).await;
    assert!(
        narrowed.json.get("id_token").is_none(),
        "no openid, no id_token"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_fifty_simultaneous_refreshes_exactly_one_wins() {
    let m = Arc::new(strict().await);
    let rt = m.login(None).await.str("refresh_token");
    let barrier = Arc::new(tokio::sync::Barrier::new(50));
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let (m, rt, barrier) = (m.clone(), rt.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                let r = m.refresh(APP, &rt, None).await;
                (r.status, r.error().to_string())
            })
        })
        .collect();
    let mut results = Vec::new();
    for t in tasks {
        results.push(t.await.unwrap());
    }
    let wins = results.iter().filter(|(s, _)| *s == 200).count();
    assert_eq!(wins, 1, "{results:?}");
    assert!(
        results
            .iter()
            .all(|(s, e)| *s == 200 || (*s == 400 && e == "invalid_grant")),
        "{results:?}"
    );
}

#[tokio::test]
async fn purging_drops_expired_state() {
    let m = start(MockConfig {
        virtual_clock: true,
        access_token_ttl_s: 60,
        refresh_token_ttl_s: 120,
        ..MockConfig::strict()
    })
    .await;
    for _ in 0..10 {
        let rt = m.login(None).await.str("refresh_token");
        m.refresh(APP, &rt, None).await;
    }
    assert_eq!(m.server.token_counts(), (20, 20));
    m.advance(60).await;
    m.server.purge_now();
    assert_eq!(
        m.server.token_counts(),
        (0, 20),
        "rotated tokens stay for reuse detection"
    );
    m.advance(60).await;
    m.server.purge_now();
    assert_eq!(m.server.token_counts(), (0, 0));
}
