//! Unit tests of the token store: rotation, grace, reuse → family
//! revocation, expiry (sliding, absolute, cap), revocation, purge.

use super::*;
use crate::mock::config::MockConfig;
use crate::mock::config::ScopeTtl;
use crate::mock::shards::new_token;

const T0: u64 = 1_700_000_000_000;
const S: u64 = 1000;

fn store(edit: impl FnOnce(&mut MockConfig)) -> Store {
    let mut c = MockConfig::strict();
    edit(&mut c);
    Store::new(Policy::from_config(&c))
}

fn login(s: &Store, now: u64) -> Issued {
    s.grant(
        "app".into(),
        Some("alice".into()),
        "read write".into(),
        true,
        now,
    )
}

async fn refresh(s: &Store, rt: &str, now: u64) -> Result<Issued, RefreshError> {
    s.refresh(rt, "app", None, now).await
}

fn rt(i: &Issued) -> String {
    i.refresh_token.clone().expect("a refresh token")
}

#[tokio::test]
async fn rotation_refuses_the_old_token_and_reuse_revokes_the_family() {
    let s = store(|_| {});
    let g = login(&s, T0);
    let r0 = rt(&g);
    let first = refresh(&s, &r0, T0 + S).await.unwrap();
    let r1 = rt(&first);
    assert_ne!(r0, r1);
    assert_eq!(first.generation, 1);
    assert!(s.introspect(&r1, T0 + S).is_some());
    assert!(s.introspect(&r0, T0 + S).is_none(), "rotated is inactive");

    assert_eq!(
        refresh(&s, &r0, T0 + 2 * S).await.unwrap_err(),
        RefreshError::Reused
    );
    assert_eq!(
        refresh(&s, &r1, T0 + 2 * S).await.unwrap_err(),
        RefreshError::Revoked
    );
    assert!(s.introspect(&first.access_token, T0 + 2 * S).is_none());
    assert!(s.introspect(&g.access_token, T0 + 2 * S).is_none());
    // A new grant is unaffected.
    let again = login(&s, T0 + 3 * S);
    assert!(refresh(&s, &rt(&again), T0 + 3 * S).await.is_ok());
}

#[tokio::test]
async fn without_reuse_detection_a_replay_is_refused_and_the_family_lives() {
    let s = store(|c| c.reuse_detection = ReuseDetection::None);
    let r0 = rt(&login(&s, T0));
    let r1 = rt(&refresh(&s, &r0, T0).await.unwrap());
    assert_eq!(
        refresh(&s, &r0, T0).await.unwrap_err(),
        RefreshError::Reused
    );
    assert!(refresh(&s, &r1, T0).await.is_ok());
}

#[tokio::test]
async fn a_grace_replay_returns_the_current_successor_until_a_second_rotation() {
    let s = store(|c| c.grace_period_s = 10);
    let r0 = rt(&login(&s, T0));
    let r1 = rt(&refresh(&s, &r0, T0 + S).await.unwrap());
    let replay = refresh(&s, &r0, T0 + 5 * S).await.unwrap();
    assert_eq!(rt(&replay), r1, "grace replay hands back the successor");
    assert!(s.introspect(&replay.access_token, T0 + 5 * S).is_some());
    // The successor still works, and rotating it makes R2.
    let r2 = rt(&refresh(&s, &r1, T0 + 6 * S).await.unwrap());
    assert_ne!(r2, r1);
    // RU-DEPTH: once R2 exists, R0 is refused even inside R0's grace window.
    assert_eq!(
        refresh(&s, &r0, T0 + 7 * S).await.unwrap_err(),
        RefreshError::Reused
    );
}

#[tokio::test]
async fn after_the_grace_period_a_replay_is_reuse() {
    let s = store(|c| c.grace_period_s = 10);
    let r0 = rt(&login(&s, T0));
    let r1 = rt(&refresh(&s, &r0, T0).await.unwrap());
    assert_eq!(
        refresh(&s, &r0, T0 + 10 * S).await.unwrap_err(),
        RefreshError::Reused
    );
    assert_eq!(
        refresh(&s, &r1, T0 + 10 * S).await.unwrap_err(),
        RefreshError::Revoked
    );
}

#[tokio::test]
async fn static_rotation_returns_the_same_token_and_omit_returns_none() {
    let s = store(|c| c.rotation = Rotation::Static);
    let r0 = rt(&login(&s, T0));
    for i in 1..4 {
        assert_eq!(rt(&refresh(&s, &r0, T0 + i * S).await.unwrap()), r0);
    }
    let s = store(|c| c.rotation = Rotation::Omit);
    let r0 = rt(&login(&s, T0));
    assert!(refresh(&s, &r0, T0).await.unwrap().refresh_token.is_none());
    assert!(refresh(&s, &r0, T0).await.is_ok());
}

#[tokio::test]
async fn sliding_expiry_gives_the_successor_a_fresh_lifetime() {
    let s = store(|c| {
        c.refresh_token_ttl_s = 100;
        c.refresh_token_max_lifetime_s = None;
    });
    let r0 = rt(&login(&s, T0));
    let r1 = rt(&refresh(&s, &r0, T0 + 90 * S).await.unwrap());
    assert!(
        refresh(&s, &r1, T0 + 180 * S).await.is_ok(),
        "90 + 100 > 180"
    );
}

#[tokio::test]
async fn absolute_expiry_makes_the_successor_inherit_the_original() {
    let s = store(|c| {
        c.refresh_token_ttl_s = 100;
        c.refresh_expiry = RefreshExpiry::Absolute;
    });
    let r0 = rt(&login(&s, T0));
    let r1 = rt(&refresh(&s, &r0, T0 + 90 * S).await.unwrap());
    assert_eq!(
        s.introspect(&r1, T0 + 90 * S).unwrap().expires_s,
        (T0 + 100 * S) / 1000
    );
    assert_eq!(
        refresh(&s, &r1, T0 + 100 * S).await.unwrap_err(),
        RefreshError::Expired
    );
}

#[tokio::test]
async fn the_family_cap_stops_sliding_renewal() {
    let s = store(|c| {
        c.refresh_token_ttl_s = 100;
        c.refresh_token_max_lifetime_s = Some(250);
    });
    let mut r = rt(&login(&s, T0));
    for t in [90, 180] {
        r = rt(&refresh(&s, &r, T0 + t * S).await.unwrap());
    }
    assert_eq!(
        s.introspect(&r, T0 + 180 * S).unwrap().expires_s,
        (T0 + 250 * S) / 1000
    );
    assert_eq!(
        refresh(&s, &r, T0 + 250 * S).await.unwrap_err(),
        RefreshError::Expired
    );
}

#[tokio::test]
async fn scope_narrows_without_shrinking_the_grant_and_never_widens() {
    let s = store(|_| {});
    let r0 = rt(&login(&s, T0));
    let narrow = refresh_scoped(&s, &r0, "read").await.unwrap();
    assert_eq!(&*narrow.scope, "read");
    let full = refresh_scoped(&s, &rt(&narrow), "write read")
        .await
        .unwrap();
    assert_eq!(&*full.scope, "write read");
    assert_eq!(
        refresh_scoped(&s, &rt(&full), "read email")
            .await
            .unwrap_err(),
        RefreshError::InvalidScope
    );
    // A refused scope does not consume the token.
    assert!(refresh(&s, &rt(&full), T0).await.is_ok());
}

async fn refresh_scoped(s: &Store, rt: &str, scope: &str) -> Result<Issued, RefreshError> {
    s.refresh(rt, "app", Some(scope), T0).await
}

#[tokio::test]
async fn a_refresh_token_is_bound_to_its_client() {
    let s = store(|_| {});
    let r0 = rt(&login(&s, T0));
    assert_eq!(
        s.refresh(&r0, "other-app", None, T0).await.unwrap_err(),
        RefreshError::WrongClient
    );
    assert!(
        refresh(&s, &r0, T0).await.is_ok(),
        "and is not consumed by it"
    );
}

#[tokio::test]
async fn revocation_checks_the_client_and_cascades_from_refresh_tokens() {
    let s = store(|_| {});
    let g = login(&s, T0);
    assert!(!s.revoke(&rt(&g), "other-app"));
    assert!(!s.revoke("garbage", "app"));
    assert!(s.introspect(&g.access_token, T0).is_some());
    assert!(s.revoke(&rt(&g), "app"));
    assert!(s.introspect(&g.access_token, T0).is_none());
    assert_eq!(
        refresh(&s, &rt(&g), T0).await.unwrap_err(),
        RefreshError::Revoked
    );

    let g = login(&s, T0);
    assert!(s.revoke(&g.access_token, "app"));
    assert!(s.introspect(&g.access_token, T0).is_none());
    assert!(
        refresh(&s, &rt(&g), T0).await.is_ok(),
        "an access token goes alone"
    );
}

#[tokio::test]
async fn purge_drops_expired_and_revoked_state_but_keeps_rotated_tokens() {
    let s = store(|c| {
        c.access_token_ttl_s = 10;
        c.refresh_token_ttl_s = 100;
    });
    let dead = login(&s, T0);
    s.revoke(&rt(&dead), "app");
    let r0 = rt(&login(&s, T0));
    let _r1 = rt(&refresh(&s, &r0, T0).await.unwrap());
    assert_eq!(s.len(), (3, 3));
    assert_eq!(
        s.purge(T0 + S),
        2,
        "the revoked family's access and refresh token"
    );
    assert_eq!(
        refresh(&s, &r0, T0 + S).await.unwrap_err(),
        RefreshError::Reused
    );
    let s2 = store(|c| c.refresh_token_ttl_s = 100);
    login(&s2, T0);
    assert_eq!(
        s2.purge(T0 + 100 * S),
        1,
        "the refresh token; the access token lives 3600 s"
    );
    assert_eq!(s2.len(), (1, 0));
}

#[tokio::test]
async fn refresh_tokens_need_the_required_scope_when_configured() {
    let s = store(|c| c.refresh_token_requires_scope = Some("offline_access".into()));
    assert!(login(&s, T0).refresh_token.is_none());
    let g = s.grant("app".into(), None, "read offline_access".into(), true, T0);
    assert!(g.refresh_token.is_some());
}

#[test]
fn scope_lifetimes_pick_the_first_match() {
    let s = store(|c| {
        c.scope_access_ttl = vec![ScopeTtl {
            scope: "long".into(),
            ttl_s: 31_556_952,
        }]
    });
    assert_eq!(s.policy().access_ttl_s("read long"), 31_556_952);
    assert_eq!(s.policy().access_ttl_s("read longer"), 3600);
}

#[test]
fn tokens_are_long_printable_and_distinct() {
    let a = new_token();
    assert_eq!(a.len(), 43);
    assert!(
        a.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    );
    let many: std::collections::HashSet<String> = (0..1000).map(|_| new_token()).collect();
    assert_eq!(many.len(), 1000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_concurrent_refreshes_of_one_token_exactly_one_wins() {
    let s = Arc::new(store(|_| {}));
    let r0 = rt(&login(&s, T0));
    let barrier = Arc::new(tokio::sync::Barrier::new(32));
    let tasks: Vec<_> = (0..32)
        .map(|_| {
            let (s, r0, b) = (s.clone(), r0.clone(), barrier.clone());
            tokio::spawn(async move {
                b.wait().await;
                refresh(&s, &r0, T0).await.is_ok()
            })
        })
        .collect();
    let mut wins = 0;
    for t in tasks {
        wins += usize::from(t.await.unwrap());
    }
    assert_eq!(wins, 1);
}

#[test]
fn what_the_store_hands_out_shows_no_token_in_debug() {
    let s = store(|c| c.grace_period_s = 30);
    let g = login(&s, T0);
    let shown = format!("{g:?}");
    assert!(!shown.contains(&g.access_token), "{shown}");
    assert!(!shown.contains(&rt(&g)), "{shown}");
}
