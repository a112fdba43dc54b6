//! The load report as Markdown, for a CI job summary.

use crate::load::result::{LoadReport, started_line, status_note};

fn ms(us: u64) -> String {
    format!("{:.2} ms", us as f64 / 1000.0)
}

/// The Markdown summary (for a CI job summary).
pub fn page(r: &LoadReport) -> String {
    let mut m = String::new();
    let breached = r.thresholds.iter().filter(|t| !t.passed).count();
    m.push_str(&format!(
        "## tokenprobe load: {}{}\n\n{} requests in {:.1} s, **{:.1} req/s**, {} failures ({:.3} %). {}\n\n",
        r.target,
        if r.interrupted { " (interrupted)" } else { "" },
        r.totals.requests,
        r.totals.duration_s,
        r.totals.rps,
        r.totals.failures,
        r.totals.error_rate * 100.0,
        if r.thresholds.is_empty() {
            "No thresholds.".to_string()
        } else if breached == 0 {
            format!("All {} thresholds passed.", r.thresholds.len())
        } else {
            format!("**{breached} of {} thresholds breached.**", r.thresholds.len())
        }
    ));
    if let Some(why) = &r.stopped {
        m.push_str(&format!(
            "**Stopped early: {why}.** The figures cover what ran.\n\n"
        ));
    }
    m.push_str(&format!("{}\n\n", started_line(r)));
    if let Some(s) = r.shard {
        m.push_str(&format!(
            "Shard {} of {}: its thresholds are judged over all shards by `tokenprobe report merge`.\n\n",
            s.index, s.count
        ));
    }
    if !r.shards.is_empty() {
        m.push_str(&format!(
            "Merged from {} shards (histograms added: the percentiles are exact).\n\n| shard | started | duration | requests | failures | req/s | p99 |\n| ---: | --- | ---: | ---: | ---: | ---: | ---: |\n",
            r.shards.len()
        ));
        for s in &r.shards {
            m.push_str(&format!(
                "| {} | {} | {:.1} s | {} | {} | {:.1} | {} |\n",
                s.index,
                s.started_at,
                s.duration_s,
                s.requests,
                s.failures,
                s.rps,
                ms(s.p99_us)
            ));
        }
        m.push('\n');
    }
    m.push_str("| kind | count | p50 | p90 | p95 | p99 | p99.9 | max |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
    for (k, l) in &r.latency_us {
        m.push_str(&format!(
            "| {k} | {} | {} | {} | {} | {} | {} | {} |\n",
            l.count,
            ms(l.p50),
            ms(l.p90),
            ms(l.p95),
            ms(l.p99),
            ms(l.p999),
            ms(l.max)
        ));
    }
    if let Some(p) = &r.dpop_proof_us {
        m.push_str(&format!(
            "\nDPoP proofs: {} signed, p50 {} p99 {} each (the generator's cost).\n",
            p.count,
            ms(p.p50),
            ms(p.p99)
        ));
    }
    if let Some(c) = &r.connections {
        m.push_str(&format!(
            "\nConnections: {} opened{}, ready in p50 {} p99 {} (not in the request latencies).\n",
            c.opened,
            super::terminal::tls_handshakes(c),
            ms(c.setup_us.p50),
            ms(c.setup_us.p99)
        ));
    }
    let v = &r.violations;
    m.push_str(&format!(
        "\n| violation | count |\n| --- | ---: |\n| chain breaks | {} |\n| replays accepted | {} |\n| duplicate tokens | {} |\n| rotation violations | {} |\n",
        v.chain_breaks, v.replay_accepted, v.duplicate_tokens, v.rotation_violations
    ));
    if !r.errors.by_code.is_empty() {
        m.push_str("\n| error | count |\n| --- | ---: |\n");
        for (k, n) in &r.errors.by_code {
            m.push_str(&format!("| `{k}` | {n} |\n"));
        }
    }
    m.push_str("\n| status | count |\n| --- | ---: |\n");
    for (k, n) in &r.errors.by_status {
        m.push_str(&format!("| {k} | {n}{} |\n", status_note(r, k)));
    }
    if !r.thresholds.is_empty() {
        m.push_str("\n| threshold | observed | result |\n| --- | ---: | --- |\n");
        for t in &r.thresholds {
            m.push_str(&format!(
                "| `{}`{} | {} | {} |\n",
                t.threshold,
                if t.default { " (default gate)" } else { "" },
                t.observed,
                if t.passed { "passed" } else { "**breached**" }
            ));
        }
    }
    for reg in &r.regressions {
        m.push_str(&format!("\n- regression: {reg}"));
    }
    if !r.regressions.is_empty() {
        m.push('\n');
    }
    m
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_summary_keeps_its_shape() {
        let md = super::page(&crate::load::result::sample());
        insta::assert_snapshot!("load_markdown", md);
    }
}
