//! The code flow's recipe, in process: pages it must not post to (an MFA
//! page) stop it with nothing sent, `login.pages` gets it through them,
//! identifier-first logins and unrelated forms are handled, and the
//! browser's rules hold (307/308 keep the post, `form_post` carries the
//! response, the redirect URI matches exactly, one `Accept`, an `Origin`).

use std::time::Duration;
use tokenprobe::mock::{MockConfig, MockServer, REDIRECT_URI};
use tokenprobe::oauth::http::{HttpOptions, build_client};
use tokenprobe::oauth::login::code::{
    self, Authorize, Authorized, CodeFlow, FillValue, FrontChannelError, PageMatch, PageStep, Pkce,
};
use tokenprobe::oauth::login::form::FormHints;
use tokenprobe::redact::Redactor;
use tokenprobe::secret::Secret;
use url::Url;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

fn flow(authorize: &str, pages: Vec<PageStep>) -> CodeFlow {
    CodeFlow {
        authorization_endpoint: Some(Url::parse(authorize).unwrap()),
        redirect_uri: Url::parse(REDIRECT_URI).unwrap(),
        scope: Some("openid".into()),
        params: Vec::new(),
        pkce: Pkce::S256,
        form: FormHints::default(),
        origins: Vec::new(),
        max_hops: code::MAX_HOPS,
        pages,
    }
}

async fn walk(flow: &CodeFlow, redactor: &Redactor) -> Result<Authorized, FrontChannelError> {
    let client = build_client(&HttpOptions::default(), 4).unwrap();
    let req = Authorize {
        client_id: "app",
        username: "alice",
        password: "alice-pass-1",
        scope: None,
        pkce: Pkce::S256,
        extra: Vec::new(),
        issuer: None,
    };
    code::authorize(&client, flow, &req, Duration::from_secs(10), redactor).await
}

async fn mock(cfg: MockConfig) -> MockServer {
    MockServer::start(cfg, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap()
}

fn records(a: &[code::Hop]) -> String {
    serde_json::to_string(&a.iter().map(|h| &h.exchange).collect::<Vec<_>>()).unwrap()
}

#[tokio::test]
async fn an_mfa_page_stops_the_login_within_three_hops_with_nothing_posted() {
    let server = mock(MockConfig {
        mfa_code: Some("4711".into()),
        ..MockConfig::strict()
    })
    .await;
    let f = flow(&server.url(server.paths().authorize), Vec::new());
    let err = walk(&f, &Redactor::new()).await.unwrap_err();
    let FrontChannelError::Recipe {
        hop, url, status, ..
    } = &err
    else {
        panic!("{err}");
    };
    assert!(*hop <= 3, "{err}");
    assert_eq!(*status, 200, "{err}");
    assert!(url.ends_with("/login/mfa"), "{err}");
    let text = err.to_string();
    assert!(text.contains("otp (text)"), "the fields are named: {text}");
    assert!(text.contains("Verify"), "the buttons are named: {text}");
    assert!(text.contains("login.pages"), "the way on is named: {text}");
    assert!(
        text.contains("path: \"/login/mfa\""),
        "a step to copy: {text}"
    );
    assert_eq!(server.mfa_posts(), 0, "nothing was posted to the MFA page");
}

#[tokio::test]
async fn login_pages_fill_the_mfa_page_and_the_code_stays_secret() {
    let server = mock(MockConfig {
        mfa_code: Some("4711".into()),
        ..MockConfig::strict()
    })
    .await;
    let redactor = Redactor::new();
    redactor.add("s", "4711");
    let f = flow(
        &server.url(server.paths().authorize),
        vec![PageStep {
            matches: PageMatch::Path("/login/mfa".into()),
            fill: vec![("otp".into(), FillValue::Secret(Secret::new("4711")))],
            submit: Some("Verify".into()),
        }],
    );
    let done = walk(&f, &redactor).await.unwrap();
    assert!(done.code().is_some(), "{done:?}");
    assert_eq!(server.mfa_posts(), 1);
    assert!(
        done.hops
            .iter()
            .any(|h| h.summary.contains("login.pages[0]")),
        "{:?}",
        done.hops.iter().map(|h| &h.summary).collect::<Vec<_>>()
    );
    let shown = records(&done.hops);
    assert!(!shown.contains("4711"), "{shown}");
    assert!(!shown.contains("alice-pass-1"), "{shown}");
    assert!(
        shown.contains(&tokenprobe::secret::fingerprint("s", "4711")),
        "{shown}"
    );
}

#[tokio::test]
async fn identifier_first_pages_and_unrelated_forms() {
    let server = mock(MockConfig {
        identifier_first: true,
        extra_forms: true,
        ..MockConfig::strict()
    })
    .await;
    let f = flow(&server.url(server.paths().authorize), Vec::new());
    let done = walk(&f, &Redactor::new()).await.unwrap();
    assert!(done.code().is_some());
    let summaries: Vec<&str> = done.hops.iter().map(|h| h.summary.as_str()).collect();
    assert!(summaries[0].ends_with("(identifier)"), "{summaries:?}");
    assert!(summaries[1].ends_with("(login form)"), "{summaries:?}");
    assert!(
        !summaries
            .iter()
            .any(|s| s.contains("/search") || s.contains("/lang")),
        "the unrelated forms were left alone: {summaries:?}"
    );
}

/// A wiremock responder that answers `/authorize` with `page(state)`.
fn with_state(page: fn(&str) -> String) -> impl Fn(&wiremock::Request) -> ResponseTemplate {
    move |r: &wiremock::Request| {
        let state = r
            .url
            .query_pairs()
            .find(|(k, _)| k == "state")
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default();
        ResponseTemplate::new(200)
            .set_body_raw(page(&state), "text/html; charset=utf-8")
            .insert_header("set-cookie", format!("s={state}; Path=/"))
    }
}

#[tokio::test]
async fn a_307_posts_the_credentials_again_and_the_post_carries_an_origin() {
    let server = wiremock::MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/authorize"))
        .respond_with(with_state(|_| {
            r#"<form method=post action="/login"><input name=user><input type=password name=pw><button>Sign in</button></form>"#.into()
        }))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/login"))
        .respond_with(ResponseTemplate::new(307).insert_header("location", "/login2"))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/login2"))
        .respond_with(|r: &wiremock::Request| {
            let cookie = r
                .headers
                .get("cookie")
                .and_then(|c| c.to_str().ok())
                .unwrap_or("")
                .to_string();
            let state = cookie.strip_prefix("s=").unwrap_or("");
            ResponseTemplate::new(302).insert_header(
                "location",
                format!("{REDIRECT_URI}?code=c0de&state={state}"),
            )
        })
        .mount(&server)
        .await;
    let f = flow(&format!("{}/authorize", server.uri()), Vec::new());
    let done = walk(&f, &Redactor::new()).await.unwrap();
    assert_eq!(done.code(), Some("c0de"));
    assert!(done.state_echoed());
    let got = server.received_requests().await.unwrap();
    let again = got.iter().find(|r| r.url.path() == "/login2").unwrap();
    assert_eq!(again.method, wiremock::http::Method::POST);
    let body = String::from_utf8_lossy(&again.body);
    assert!(
        body.contains("pw=alice-pass-1"),
        "the body went along: {body}"
    );
    for r in &got {
        assert_eq!(
            r.headers.get_all("accept").iter().count(),
            1,
            "one Accept: {r:?}"
        );
    }
    let post = got.iter().find(|r| r.url.path() == "/login").unwrap();
    assert_eq!(
        post.headers.get("origin").and_then(|v| v.to_str().ok()),
        Some(server.uri().as_str())
    );
}

#[tokio::test]
async fn a_form_post_response_is_read_and_a_lookalike_redirect_is_not_taken() {
    let server = wiremock::MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/authorize"))
        .respond_with(with_state(|state| {
            format!(
                r#"<body onload="document.forms[0].submit()"><form method=post action="{REDIRECT_URI}"><input type=hidden name=code value=fp-code><input type=hidden name=state value="{state}"></form></body>"#
            )
        }))
        .mount(&server)
        .await;
    let f = flow(&format!("{}/authorize", server.uri()), Vec::new());
    let done = walk(&f, &Redactor::new()).await.unwrap();
    assert_eq!(done.code(), Some("fp-code"));
    assert!(done.state_echoed());

    // `/callback-evil` is not `/callback`: followed as any redirect (and
    // nothing listens there), never read as the response.
    let evil = wiremock::MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/authorize"))
        .respond_with(
            ResponseTemplate::new(302)
                .insert_header("location", format!("{REDIRECT_URI}-evil?code=stolen")),
        )
        .mount(&evil)
        .await;
    let f = flow(&format!("{}/authorize", evil.uri()), Vec::new());
    let err = walk(&f, &Redactor::new()).await.unwrap_err();
    assert!(matches!(err, FrontChannelError::Transport { .. }), "{err}");
}

#[test]
fn the_redirect_uri_matches_exactly() {
    let r = Url::parse("https://app.example/cb?tenant=1").unwrap();
    let at = |u: &str| code::at_redirect_uri(&Url::parse(u).unwrap(), &r);
    assert!(at("https://app.example/cb?tenant=1&code=x"));
    assert!(at("https://app.example:443/cb?code=x&tenant=1"));
    assert!(!at("https://app.example/cb-evil?tenant=1&code=x"));
    assert!(
        !at("https://app.example/cb?code=x"),
        "its own parameter kept"
    );
    assert!(!at("http://app.example/cb?tenant=1&code=x"));
    assert!(!at("https://app.example.evil/cb?tenant=1&code=x"));
}

/// A consent form that carries the request's own parameters as hidden
/// fields (django-oauth-toolkit's does): those stay readable, the
/// anti-forgery value is a fingerprint.
#[tokio::test]
async fn public_parameters_in_hidden_fields_stay_readable() {
    let server = wiremock::MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/authorize"))
        .respond_with(with_state(|state| {
            format!(
                r#"<form method=post action="/consent"><input type=hidden name=csrfmiddlewaretoken value=k3y-of-the-session><input type=hidden name=scope value="openid offline_access"><input type=hidden name=redirect_uri value="{REDIRECT_URI}"><input type=hidden name=client_id value=app><input type=hidden name=state value="{state}"><input type=hidden name=flag value=on><button name=allow value=Authorize>Authorize</button></form>"#
            )
        }))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/consent"))
        .respond_with(|r: &wiremock::Request| {
            let state = url::form_urlencoded::parse(&r.body)
                .find(|(k, _)| k == "state")
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default();
            ResponseTemplate::new(302).insert_header(
                "location",
                format!("{REDIRECT_URI}?code=c0de&state={state}"),
            )
        })
        .mount(&server)
        .await;
    let mut f = flow(&format!("{}/authorize", server.uri()), Vec::new());
    f.scope = Some("openid offline_access".into());
    let done = walk(&f, &Redactor::new()).await.unwrap();
    assert_eq!(done.code(), Some("c0de"));
    let shown = records(&done.hops);
    assert!(!shown.contains("k3y-of-the-session"), "{shown}");
    assert!(shown.contains("csrfmiddlewaretoken=hf#"), "{shown}");
    assert!(
        shown.contains("flag=hf#"),
        "a short hidden value too: {shown}"
    );
    assert!(shown.contains("scope=openid+offline_access"), "{shown}");
    assert!(
        shown.contains("redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fcallback"),
        "{shown}"
    );
    assert!(shown.contains("client_id=app"), "{shown}");
}
