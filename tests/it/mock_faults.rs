//! Each planted fault, shown with plain HTTP requests: the same request that
//! the strict mock answers correctly (see mock_refresh.rs, mock_strict.rs)
//! gets the defective answer.

use crate::mock_support;

use mock_support::*;
use std::sync::Arc;
use tokenprobe::mock::{Fault, MockConfig};

async fn with(fault: Fault) -> Mock {
    start(MockConfig {
        virtual_clock: true,
        ..MockConfig::strict().fault(fault)
    })
    .await
}

async fn rotate_once(m: &Mock) -> (String, String) {
    let r0 = m.login(None).await.str("refresh_token");
    let r = m.refresh(APP, &r0, None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    (r0, r.str("refresh_token"))
}

#[test]
fn every_fault_has_a_name_and_a_description() {
    for f in Fault::ALL {
        assert_eq!(f.to_string().parse::<Fault>(), Ok(f));
        assert!(!f.description().is_empty());
    }
}

#[tokio::test]
async fn rotation_keeps_old() {
    let m = with(Fault::RotationKeepsOld).await;
    let (r0, r1) = rotate_once(&m).await;
    assert_ne!(r0, r1, "a new token is issued");
    assert_eq!(
        m.refresh(APP, &r0, None).await.status,
        200,
        "but the old one still works"
    );
}

#[tokio::test]
async fn no_family_revoke() {
    let m = with(Fault::NoFamilyRevoke).await;
    let (r0, r1) = rotate_once(&m).await;
    m.refresh(APP, &r0, None)
        .await
        .assert_error(400, "invalid_grant");
    assert_eq!(
        m.refresh(APP, &r1, None).await.status,
        200,
        "the family survives the replay"
    );
}

#[tokio::test]
async fn same_refresh_token() {
    let m = with(Fault::SameRefreshToken).await;
    let (r0, r1) = rotate_once(&m).await;
    assert_eq!(r0, r1);
    assert_eq!(m.refresh(APP, &r0, None).await.status, 200);
}

#[tokio::test]
async fn cross_client() {
    let m = with(Fault::CrossClient).await;
    let rt = m.login(None).await.str("refresh_token");
    let r = m.refresh(OTHER, &rt, None).await;
    assert_eq!(r.status, 200, "{}", r.text);
}

#[tokio::test]
async fn scope_widen() {
    let m = with(Fault::ScopeWiden).await;
    let rt = m.login(Some("read")).await.str("refresh_token");
    let r = m.refresh(APP, &rt, Some("read write email")).await;
    assert_eq!((r.status, r.str("scope")), (200, "read write email".into()));
}

#[tokio::test]
async fn expired_refresh_accepted() {
    let m = with(Fault::ExpiredRefreshAccepted).await;
    let rt = m.login(None).await.str("refresh_token");
    m.advance(86_400 * 2).await;
    m.server.purge_now();
    assert_eq!(m.refresh(APP, &rt, None).await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn race() {
    let m = Arc::new(with(Fault::Race).await);
    let rt = m.login(None).await.str("refresh_token");
    let n = 50;
    let barrier = Arc::new(tokio::sync::Barrier::new(n));
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let (m, rt, b) = (m.clone(), rt.clone(), barrier.clone());
            tokio::spawn(async move {
                b.wait().await;
                m.refresh(APP, &rt, None).await.status
            })
        })
        .collect();
    let mut wins = 0;
    for t in tasks {
        let status = t.await.unwrap();
        assert!(status < 500);
        wins += usize::from(status == 200);
    }
    assert!(wins > 1, "several refreshes of one token won: {wins}");
}

#[tokio::test]
async fn errors_as_200() {
    let m = with(Fault::ErrorsAs200).await;
    let p = [
        ("grant_type", "password"),
        ("username", "alice"),
        ("password", "wrong"),
    ];
    let r = m.token(Auth::Basic(APP.0, APP.1), &p).await;
    assert_eq!((r.status, r.error()), (200, "invalid_grant"));
}

#[tokio::test]
async fn no_store_missing() {
    let m = with(Fault::NoStoreMissing).await;
    let r = m.login(None).await;
    assert!(r.header("cache-control").is_none() && r.header("pragma").is_none());
}

#[tokio::test]
async fn id_token_sub_changes() {
    let m = with(Fault::IdTokenSubChanges).await;
    let login = m.login(Some("openid")).await;
    let r = m.refresh(APP, &login.str("refresh_token"), None).await;
    let sub = |t: &str| {
        let claims: serde_json::Value = jsonwebtoken::dangerous::insecure_decode(t).unwrap().claims;
        claims["sub"].clone()
    };
    assert_ne!(sub(&login.str("id_token")), sub(&r.str("id_token")));
}

#[tokio::test]
async fn faults_combine() {
    let m = start(MockConfig {
        virtual_clock: true,
        ..MockConfig::strict()
            .fault(Fault::CrossClient)
            .fault(Fault::NoStoreMissing)
    })
    .await;
    let rt = m.login(None).await.str("refresh_token");
    let r = m.refresh(OTHER, &rt, None).await;
    assert_eq!(r.status, 200);
    assert!(r.header("cache-control").is_none());
}
