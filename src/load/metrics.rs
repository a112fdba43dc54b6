//! Live metrics (`load --metrics-listen ADDR`): the run as OpenMetrics text
//! at `http://ADDR/metrics` while it goes, to watch beside the identity
//! server's own dashboards (Prometheus, Grafana). Built on
//! `prometheus-client`, the maintained implementation of the OpenMetrics
//! specification, rather than an encoder of ours.
//!
//! Series: `tokenprobe_requests_total{kind,status,code}`,
//! `tokenprobe_request_duration_seconds{kind}` (a histogram),
//! `tokenprobe_active` (users, or iterations in flight),
//! `tokenprobe_dropped_iterations_total`,
//! `tokenprobe_violations_total{violation}`. Label values are bounded: an
//! error code the server invents is counted as `other`.

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::sync::Arc;
use std::time::Duration;

use super::stats::{Kind, Outcome};

type Labels = Vec<(String, String)>;

/// Error codes kept as label values (RFC 6749 §5.2, RFC 6750, RFC 7009,
/// RFC 8628, RFC 9449); any other is `other`.
const KNOWN_CODES: [&str; 14] = [
    "invalid_request",
    "invalid_client",
    "invalid_grant",
    "unauthorized_client",
    "unsupported_grant_type",
    "invalid_scope",
    "invalid_token",
    "access_denied",
    "server_error",
    "temporarily_unavailable",
    "unsupported_token_type",
    "slow_down",
    "invalid_dpop_proof",
    "use_dpop_nonce",
];

fn latency_histogram() -> Histogram {
    // 100 µs to about 26 s.
    Histogram::new(exponential_buckets(0.0001, 2.0, 19))
}

/// The run's live series.
pub struct Metrics {
    registry: Registry,
    requests: Family<Labels, Counter>,
    /// The hot series, looked up once: successes and latency per kind (the
    /// request path then only adds to atomics).
    ok: [Counter; 3],
    latency_of: [Histogram; 3],
    active: Gauge,
    dropped: Counter,
    violations: Family<Labels, Counter>,
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("tokenprobe");
        let requests = Family::<Labels, Counter>::default();
        let latency = Family::<Labels, Histogram, fn() -> Histogram>::new_with_constructor(
            latency_histogram as fn() -> Histogram,
        );
        let active = Gauge::default();
        let dropped = Counter::default();
        let violations = Family::<Labels, Counter>::default();
        registry.register(
            "requests",
            "Token requests sent, by kind, HTTP status (2xx, the code, or transport) and OAuth error code",
            requests.clone(),
        );
        registry.register(
            "request_duration_seconds",
            "Time from sending a token request to its answer",
            latency.clone(),
        );
        registry.register(
            "active",
            "Virtual users started (closed model) or iterations in flight (open model)",
            active.clone(),
        );
        registry.register(
            "dropped_iterations",
            "Open model: iterations due while max-in-flight were running, not sent",
            dropped.clone(),
        );
        registry.register(
            "violations",
            "Correctness violations under load (chain_breaks, replay_accepted, duplicate_tokens, rotation_violations)",
            violations.clone(),
        );
        for v in [
            "chain_breaks",
            "replay_accepted",
            "duplicate_tokens",
            "rotation_violations",
        ] {
            let _ = violations.get_or_create(&vec![("violation".into(), v.into())]);
        }
        let kind = |k: Kind| k.as_str().to_string();
        let ok = Kind::ALL.map(|k| {
            requests
                .get_or_create(&vec![
                    ("kind".into(), kind(k)),
                    ("status".into(), "2xx".into()),
                    ("code".into(), "-".into()),
                ])
                .clone()
        });
        let latency_of = Kind::ALL.map(|k| {
            latency
                .get_or_create(&vec![("kind".into(), kind(k))])
                .clone()
        });
        Metrics {
            registry,
            requests,
            ok,
            latency_of,
            active,
            dropped,
            violations,
        }
    }

    /// One request of `kind` that ended with `outcome` after `took`.
    pub fn observe(&self, kind: Kind, outcome: &Outcome, took: Duration) {
        self.latency_of[kind as usize].observe(took.as_secs_f64());
        if *outcome == Outcome::Ok {
            self.ok[kind as usize].inc();
            return;
        }
        let (status, code) = match outcome {
            Outcome::Ok => ("2xx".to_string(), "-".to_string()),
            Outcome::Status(s, c) => (
                s.to_string(),
                match c.as_deref() {
                    Some(c) if KNOWN_CODES.contains(&c) => c.to_string(),
                    Some(_) => "other".to_string(),
                    None => "-".to_string(),
                },
            ),
            Outcome::Transport(class) => ("transport".to_string(), class.clone()),
        };
        self.requests
            .get_or_create(&vec![
                ("kind".into(), kind.as_str().to_string()),
                ("status".into(), status),
                ("code".into(), code),
            ])
            .inc();
    }

    pub fn violation(&self, name: &str, n: u64) {
        self.violations
            .get_or_create(&vec![("violation".into(), name.into())])
            .inc_by(n);
    }

    pub fn dropped(&self, n: u64) {
        self.dropped.inc_by(n);
    }

    /// The OpenMetrics text, with the active gauge set to `active`.
    pub fn render(&self, active: u64) -> String {
        self.active.set(i64::try_from(active).unwrap_or(i64::MAX));
        let mut out = String::new();
        let _ = encode(&mut out, &self.registry);
        out
    }
}

/// A running `/metrics` endpoint; stops when dropped.
pub struct Endpoint {
    pub addr: std::net::SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Endpoint {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Serves `render()` at `http://addr/metrics` on a thread of its own (so a
/// scrape never waits on the load's runtimes). The address is bound before
/// this returns: a port in use is an error here, not a silent thread.
pub fn serve(
    addr: std::net::SocketAddr,
    render: Arc<dyn Fn() -> String + Send + Sync>,
) -> std::io::Result<Endpoint> {
    let listener = std::net::TcpListener::bind(addr)?;
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::Builder::new()
        .name("metrics".into())
        .spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async move {
                let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                    return;
                };
                let app = axum::Router::new().route(
                    "/metrics",
                    axum::routing::get(move || {
                        let body = render();
                        async move {
                            (
                                [(
                                    axum::http::header::CONTENT_TYPE,
                                    "application/openmetrics-text; version=1.0.0; charset=utf-8",
                                )],
                                body,
                            )
                        }
                    }),
                );
                let _ = axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        let _ = stopped.await;
                    })
                    .await;
            });
        })?;
    Ok(Endpoint {
        addr,
        stop: Some(stop),
        thread: Some(thread),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_names_what_was_counted_and_bounds_its_labels() {
        let m = Metrics::new();
        m.observe(Kind::Refresh, &Outcome::Ok, Duration::from_millis(3));
        m.observe(
            Kind::Login,
            &Outcome::Status(400, Some("invalid_grant".into())),
            Duration::from_millis(1),
        );
        m.observe(
            Kind::Refresh,
            &Outcome::Status(400, Some("made_up_by_the_server".into())),
            Duration::from_millis(1),
        );
        m.violation("chain_breaks", 2);
        m.dropped(5);
        let text = m.render(7);
        for line in [
            r#"tokenprobe_requests_total{kind="refresh",status="2xx",code="-"} 1"#,
            r#"tokenprobe_requests_total{kind="login",status="400",code="invalid_grant"} 1"#,
            r#"tokenprobe_requests_total{kind="refresh",status="400",code="other"} 1"#,
            r#"tokenprobe_violations_total{violation="chain_breaks"} 2"#,
            r#"tokenprobe_violations_total{violation="replay_accepted"} 0"#,
            "tokenprobe_dropped_iterations_total 5",
            "tokenprobe_active 7",
            r#"tokenprobe_request_duration_seconds_count{kind="refresh"} 2"#,
            "# EOF",
        ] {
            assert!(text.contains(line), "{line} not in:\n{text}");
        }
        assert!(!text.contains("made_up"), "{text}");
    }
}
