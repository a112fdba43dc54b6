//! The summary `tokenprobe load` prints at the end of a run: a pure
//! function of the report, as every renderer here.

use crate::load::result::LoadReport;
use crate::load::run::Observer;
use crate::load::vu::Live;
use std::io::IsTerminal;
use std::time::Duration;

/// What a run says while it runs: lines on stderr, and the live line only
/// on a terminal, redrawn in place.
pub struct Stderr {
    live: bool,
}

impl Stderr {
    pub fn new() -> Stderr {
        Stderr {
            live: std::io::stderr().is_terminal(),
        }
    }
}

impl Default for Stderr {
    fn default() -> Stderr {
        Stderr::new()
    }
}

impl Observer for Stderr {
    fn line(&self, text: &str) {
        eprintln!("{text}");
    }

    fn live(&self, now: Option<(&Live, Duration)>) {
        match now {
            Some((l, elapsed)) if self.live => eprint!("\r\x1b[2K{}", live_line(l, elapsed)),
            None if self.live => eprintln!(),
            _ => {}
        }
    }
}

/// The requests, the latencies per kind (and from when they were due, in
/// the open model), violations, errors, thresholds and regressions.
pub fn summary(r: &LoadReport) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(
        &mut out,
        "{} requests in {:.1}s: {:.1} req/s, {} failures ({:.3}%)",
        r.totals.requests,
        r.totals.duration_s,
        r.totals.rps,
        r.totals.failures,
        r.totals.error_rate * 100.0
    );
    for (kind, l) in &r.latency_us {
        let _ = writeln!(
            &mut out,
            "  {kind:<9} n={:<8} p50 {:>8.2}ms  p90 {:>8.2}ms  p99 {:>8.2}ms  p99.9 {:>8.2}ms  max {:>8.2}ms",
            l.count,
            l.p50 as f64 / 1000.0,
            l.p90 as f64 / 1000.0,
            l.p99 as f64 / 1000.0,
            l.p999 as f64 / 1000.0,
            l.max as f64 / 1000.0
        );
    }
    let _ = writeln!(&mut out, "{}", crate::load::result::started_line(r));
    if let Some(corrected) = &r.latency_us_corrected {
        for (kind, l) in corrected {
            let _ = writeln!(
                &mut out,
                "  {kind:<9} from due: p50 {:>8.2}ms  p90 {:>8.2}ms  p99 {:>8.2}ms  p99.9 {:>8.2}ms  max {:>8.2}ms",
                l.p50 as f64 / 1000.0,
                l.p90 as f64 / 1000.0,
                l.p99 as f64 / 1000.0,
                l.p999 as f64 / 1000.0,
                l.max as f64 / 1000.0
            );
        }
    }
    if let Some(p) = &r.dpop_proof_us {
        let _ = writeln!(
            &mut out,
            "  DPoP proofs: {} signed, p50 {:.3}ms p99 {:.3}ms each",
            p.count,
            p.p50 as f64 / 1000.0,
            p.p99 as f64 / 1000.0
        );
    }
    if let Some(c) = &r.connections {
        let _ = writeln!(
            &mut out,
            "  connections: {} opened{}, ready in p50 {:.3}ms p99 {:.3}ms (not in the request latencies)",
            c.opened,
            tls_handshakes(c),
            c.setup_us.p50 as f64 / 1000.0,
            c.setup_us.p99 as f64 / 1000.0
        );
    }
    if let (Some(scheduled), Some(dropped)) = (r.totals.scheduled, r.totals.dropped) {
        let _ = writeln!(
            &mut out,
            "iterations: {scheduled} due, {dropped} dropped ({:.1}%) with {} in flight at most",
            if scheduled > 0 {
                dropped as f64 * 100.0 / scheduled as f64
            } else {
                0.0
            },
            r.settings.max_in_flight.unwrap_or(0)
        );
    }
    let v = &r.violations;
    let shown = |name: &str, n: u64| {
        if v.not_probed.contains_key(name) {
            format!("{name}=not-probed")
        } else {
            format!("{name}={n}")
        }
    };
    let _ = writeln!(
        &mut out,
        "violations: {} {} {} {}",
        shown("chain_breaks", v.chain_breaks),
        shown("replay_accepted", v.replay_accepted),
        shown("duplicate_tokens", v.duplicate_tokens),
        shown("rotation_violations", v.rotation_violations)
    );
    for (name, why) in &v.not_probed {
        if name != "dropped" {
            let _ = writeln!(&mut out, "  not probed: {name}: {why}");
        }
    }
    if !r.errors.by_code.is_empty() {
        let codes: Vec<String> = r
            .errors
            .by_code
            .iter()
            .map(|(k, n)| format!("{k}={n}"))
            .collect();
        let _ = writeln!(&mut out, "errors: {}", codes.join(" "));
    }
    if r.totals.expected_refusals > 0 {
        let _ = writeln!(
            &mut out,
            "expected refusals: {} replays of rotated refresh tokens refused, as they must be (not failures)",
            r.totals.expected_refusals
        );
    }
    for t in &r.thresholds {
        let verdict = match (&t.not_probed, t.passed) {
            (Some(why), _) => format!("not probed ({why})"),
            (None, true) => format!("passed ({})", t.observed),
            (None, false) => format!("BREACHED ({})", t.observed),
        };
        let _ = writeln!(
            &mut out,
            "threshold {}{}: {verdict}",
            t.threshold,
            if t.default {
                " (default gate; --max-error-rate)"
            } else {
                ""
            }
        );
    }
    for reg in &r.regressions {
        let _ = writeln!(&mut out, "regression: {reg}");
    }
    out
}

/// The live line of a run in progress: seconds in, requests in the last
/// second, their p99, errors, chain breaks, users active, dropped.
pub fn live_line(l: &crate::load::vu::Live, elapsed: std::time::Duration) -> String {
    format!(
        "{:>4}s  {:>8} req/s  p99 {:>7.2}ms  errors {:>6}  chain breaks {:>5}  active {:>5}{}",
        elapsed.as_secs(),
        l.last_second,
        l.p99_us as f64 / 1000.0,
        l.failures,
        l.chain_breaks,
        l.active,
        if l.dropped > 0 {
            format!("  dropped {}", l.dropped)
        } else {
            String::new()
        }
    )
}

/// `, TLS: 1 full handshake, 31 resumed`, or nothing on plain HTTP.
pub(crate) fn tls_handshakes(c: &crate::load::result::ConnectionsDoc) -> String {
    if c.tls_full + c.tls_resumed == 0 {
        return String::new();
    }
    format!(
        ", TLS: {} full handshake{}, {} resumed",
        c.tls_full,
        if c.tls_full == 1 { "" } else { "s" },
        c.tls_resumed
    )
}
