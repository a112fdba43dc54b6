//! Types that carry secrets never show them through `Debug` (a `{:?}` in
//! an error message or a log line would otherwise print a password): each
//! one is built with short, unmistakable secrets and formatted.

use std::time::Duration;
use tokenprobe::check::context::{Captured, Rendered};
use tokenprobe::oauth::http::HttpResponse;
use tokenprobe::oauth::login::code::{Authorize, Authorized, FillValue, PageMatch, PageStep, Pkce};
use tokenprobe::oauth::login::form;
use tokenprobe::oauth::login::{Prepared, Who};
use tokenprobe::oauth::request::{Sensitive, TokenRequest};
use tokenprobe::secret::Secret;
use tokenprobe::target::Target;
use tokenprobe::wire::UserCredentials;
use tokenprobe::yaml::Source;

/// Secrets no output may show: four and five characters, as test
/// accounts have them.
const SECRETS: [&str; 5] = ["Qz7x9", "Ab3d", "tkn01", "cD0de", "Hf4x"];

#[track_caller]
fn hides(what: &str, shown: String) {
    for s in SECRETS {
        assert!(!shown.contains(s), "{what} shows `{s}`: {shown}");
    }
}

fn target() -> Target {
    let text = r#"name: t
token_endpoint: http://127.0.0.1:9/token
clients:
  primary: { id: app, secret: Ab3d }
users:
  primary: { username: alice, password: Qz7x9 }
login:
  grant: authorization_code
  redirect_uri: http://127.0.0.1:9/callback
  pages:
    - match: { path: /mfa }
      fill: { otp: "${env:OTP}", user: "${username}" }
"#;
    let source = Source::from_str(std::path::Path::new("t.yaml"), text).unwrap();
    Target::from_source(&source, &|name| {
        (name == "OTP").then(|| "cD0de".to_string())
    })
    .unwrap()
}

#[test]
fn secret_carrying_types_show_no_secret_in_debug() {
    let t = target();
    hides("Target", format!("{t:?}"));
    let client = t.client("primary").unwrap();
    let endpoint = t.token_endpoint.clone().unwrap();
    let who = Who {
        client,
        username: "alice",
        password: "Qz7x9",
        user_credentials: UserCredentials::Form,
        token_endpoint: &endpoint,
        scope: None,
        issuer: None,
    };
    hides("Who", format!("{who:?}"));
    let wire = TokenRequest::new("password", client, &endpoint)
        .user("alice", "Qz7x9", UserCredentials::Form)
        .param("refresh_token", "tkn01")
        .build()
        .unwrap();
    hides("TokenForm", format!("{wire:?}"));
    let wire = wire.post(endpoint.clone());
    hides("WireRequest", format!("{wire:?}"));
    hides(
        "Sensitive",
        format!(
            "{:?}",
            [
                Sensitive::Text("pw", "Qz7x9".into()),
                Sensitive::Basic("app".into(), "Ab3d".into())
            ]
        ),
    );
    let response = HttpResponse {
        status: 200,
        headers: vec![("set-cookie".into(), "s=Hf4x".into())],
        body: br#"{"access_token":"tkn01","refresh_token":"tkn01"}"#.to_vec(),
        truncated: false,
        elapsed: Duration::ZERO,
    };
    hides("HttpResponse", format!("{response:?}"));
    hides(
        "Captured",
        format!("{:?}", Captured::from_response(&response)),
    );
    hides(
        "Rendered",
        format!(
            "{:?}",
            Rendered {
                text: "tkn01".into(),
                secret: true
            }
        ),
    );
    hides(
        "Prepared::Response",
        format!("{:?}", Prepared::Response(response)),
    );
    let authorized = Authorized {
        response: vec![
            ("code".into(), "cD0de".into()),
            ("state".into(), "s".into()),
        ],
        status: 302,
        sent_state: "s".into(),
        sent_nonce: None,
        code_verifier: Some("tkn01".into()),
        code_challenge: None,
        redirect_uri: "http://127.0.0.1:9/callback".into(),
        hops: Vec::new(),
        authenticated_at: None,
    };
    hides("Authorized", format!("{authorized:?}"));
    hides(
        "Prepared::Request",
        format!(
            "{:?}",
            Prepared::Request {
                wire,
                front: Some(Box::new(authorized))
            }
        ),
    );
    let authorize = Authorize {
        client_id: "app",
        username: "alice",
        password: "Qz7x9",
        scope: None,
        pkce: Pkce::S256,
        extra: Vec::new(),
        issuer: None,
    };
    hides("Authorize", format!("{authorize:?}"));
    let step = PageStep {
        matches: PageMatch::Path("/mfa".into()),
        fill: vec![("otp".into(), FillValue::Secret(Secret::new("cD0de")))],
        submit: None,
    };
    hides("PageStep", format!("{step:?}"));
    let page = r#"<form method=post><input type=hidden name=k value=Hf4x><input type=password name=p value=Qz7x9></form>"#;
    hides("form::Form", format!("{:?}", form::forms(page)));
    let file: tokenprobe::target::TargetFile = serde_yaml::from_str(
        "name: t\ntoken_endpoint: http://x/token\nclients:\n  primary: { id: app, secret: Ab3d }\nusers:\n  primary: { username: alice, password: Qz7x9 }\nlogin:\n  grant: authorization_code\n  pages:\n    - match: { path: /mfa }\n      fill: { otp: cD0de }\n",
    )
    .unwrap();
    hides("TargetFile", format!("{file:?}"));
}
