//! Helpers shared by the `tests/mock_*.rs` suites: start a mock on a free
//! loopback port and talk to it with reqwest (every request has a timeout).
#![allow(dead_code)]

use base64::Engine;
use reqwest::header::HeaderMap;
use serde_json::Value;
use std::time::Duration;
use tokenprobe::mock::{MockConfig, MockServer};

pub const APP: (&str, &str) = ("app", "app-secret");
pub const OTHER: (&str, &str) = ("other-app", "other-app-secret");
pub const ALICE: (&str, &str) = ("alice", "alice-pass-1");

/// How the client authenticates a request.
#[derive(Clone, Copy)]
pub enum Auth<'a> {
    None,
    /// RFC 6749 §2.3.1: form-encoded, then base64.
    Basic(&'a str, &'a str),
    /// client_id and client_secret in the body.
    Post(&'a str, &'a str),
}

pub struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    pub text: String,
    pub json: Value,
}

impl Resp {
    pub fn error(&self) -> &str {
        self.json["error"].as_str().unwrap_or("")
    }

    pub fn str(&self, member: &str) -> String {
        self.json[member]
            .as_str()
            .unwrap_or_else(|| panic!("no string `{member}` in {}", self.text))
            .to_string()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts an RFC 6749 §5.2 error with the given status and code.
    #[track_caller]
    pub fn assert_error(&self, status: u16, code: &str) {
        assert_eq!((self.status, self.error()), (status, code), "{}", self.text);
        assert_eq!(self.header("content-type"), Some("application/json"));
        assert_eq!(self.header("cache-control"), Some("no-store"));
    }
}

pub struct Mock {
    pub server: MockServer,
    pub http: reqwest::Client,
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .no_proxy()
        .build()
        .unwrap()
}

pub async fn start(config: MockConfig) -> Mock {
    let server = MockServer::start(config, "127.0.0.1:0".parse().unwrap())
        .await
        .expect("mock starts");
    Mock {
        server,
        http: client(),
    }
}

pub async fn strict() -> Mock {
    start(MockConfig {
        virtual_clock: true,
        ..MockConfig::strict()
    })
    .await
}

pub fn form_encode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

pub fn basic(id: &str, secret: &str) -> String {
    let raw = format!("{}:{}", form_encode(id), form_encode(secret));
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    )
}

pub async fn read(r: reqwest::Response) -> Resp {
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let text = r.text().await.expect("body");
    let json = serde_json::from_str(&text).unwrap_or(Value::Null);
    Resp {
        status,
        headers,
        text,
        json,
    }
}

impl Mock {
    pub fn url(&self, path: &str) -> String {
        self.server.url(path)
    }

    /// A form POST to `path`.
    pub async fn post(&self, path: &str, auth: Auth<'_>, params: &[(&str, &str)]) -> Resp {
        let mut params: Vec<(&str, &str)> = params.to_vec();
        let mut req = self.http.post(self.url(path));
        match auth {
            Auth::None => {}
            Auth::Basic(id, secret) => req = req.header("authorization", basic(id, secret)),
            Auth::Post(id, secret) => {
                params.push(("client_id", id));
                params.push(("client_secret", secret));
            }
        }
        read(req.form(&params).send().await.expect("request")).await
    }

    pub async fn token(&self, auth: Auth<'_>, params: &[(&str, &str)]) -> Resp {
        let path = self.server.paths().token;
        self.post(path, auth, params).await
    }

    /// A raw POST to the token endpoint.
    pub async fn token_raw(&self, content_type: &str, body: impl Into<reqwest::Body>) -> Resp {
        let r = self
            .http
            .post(self.server.token_endpoint())
            .header("authorization", basic(APP.0, APP.1))
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .expect("request");
        read(r).await
    }

    /// alice's password grant for `app` (Basic), scope `scope` if given.
    pub async fn login(&self, scope: Option<&str>) -> Resp {
        let mut p = vec![
            ("grant_type", "password"),
            ("username", ALICE.0),
            ("password", ALICE.1),
        ];
        if let Some(s) = scope {
            p.push(("scope", s));
        }
        let r = self.token(Auth::Basic(APP.0, APP.1), &p).await;
        assert_eq!(r.status, 200, "{}", r.text);
        r
    }

    pub async fn refresh(&self, client: (&str, &str), rt: &str, scope: Option<&str>) -> Resp {
        let mut p = vec![("grant_type", "refresh_token"), ("refresh_token", rt)];
        if let Some(s) = scope {
            p.push(("scope", s));
        }
        self.token(Auth::Basic(client.0, client.1), &p).await
    }

    pub async fn introspect(&self, token: &str) -> Value {
        let path = self.server.paths().introspect;
        let r = self
            .post(path, Auth::Basic(APP.0, APP.1), &[("token", token)])
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        r.json
    }

    pub async fn active(&self, token: &str) -> bool {
        self.introspect(token).await["active"] == Value::Bool(true)
    }

    /// Advances the virtual clock.
    pub async fn advance(&self, seconds: u64) -> u64 {
        let r = self
            .http
            .post(self.url(tokenprobe::mock::CLOCK_PATH))
            .json(&serde_json::json!({ "seconds": seconds }))
            .send()
            .await
            .expect("clock");
        assert_eq!(r.status(), 200);
        r.json::<Value>().await.unwrap()["now"].as_u64().unwrap()
    }
}

/// `tokenprobe mock --listen 127.0.0.1:0` as a child process: its base URL
/// and the target file it wrote; killed when dropped.
pub struct MockProcess {
    child: std::process::Child,
    pub url: String,
    pub target: std::path::PathBuf,
}

impl MockProcess {
    pub fn start() -> MockProcess {
        MockProcess::start_with(&[])
    }

    /// A mock with more flags (`--login authorization_code`, …).
    pub fn start_with(flags: &[&str]) -> MockProcess {
        use std::io::BufRead;
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_tokenprobe"))
            .args(["mock", "--listen", "127.0.0.1:0"])
            .args(flags)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env("NO_COLOR", "1")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let mut words = line.split_whitespace();
        let url = words.next().expect("url").to_string();
        let target = std::path::PathBuf::from(words.next().expect("target"));
        MockProcess { child, url, target }
    }
}

impl Drop for MockProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
