//! The load report as a self-contained HTML page (no script, no external
//! asset): the run's parameters, the verdicts, and SVG charts with axes,
//! ticks and units: requests per second by kind, users (or iterations) in
//! flight, latency percentiles over time with the latency thresholds drawn
//! in, errors by code over time, and the latency distribution on a
//! percentile axis (0 %, 90 %, 99 %, 99.9 %, 99.99 %).

use crate::load::result::{LoadReport, decode};
use std::fmt::Write as _;

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 240.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 30.0;
const TOP: f64 = 28.0;
const BOTTOM: f64 = 40.0;

/// Colours of the series (colour-blind safe, Okabe–Ito).
const PALETTE: [&str; 7] = [
    "#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000",
];

use crate::markup::escape;

/// One line of a chart.
struct Series {
    name: String,
    points: Vec<(f64, f64)>,
    dashed: bool,
}

/// How the x axis reads.
#[derive(Clone, Copy)]
enum XAxis {
    /// Seconds from the start of the run.
    Time,
    /// `x` nines: 0 → 0 %, 1 → 90 %, 2 → 99 %, 3 → 99.9 %.
    Percentile,
}

struct Chart<'a> {
    title: &'a str,
    /// The y axis unit (`req/s`, `ms`).
    unit: &'a str,
    x: XAxis,
    series: Vec<Series>,
    /// Horizontal lines: (y, label), thresholds.
    lines: Vec<(f64, String)>,
}

/// A "nice" step (1, 2 or 5 × 10^k) for about `ticks` intervals over `span`.
fn nice_step(span: f64, ticks: f64) -> f64 {
    if !(span > 0.0 && span.is_finite()) {
        return 1.0;
    }
    let raw = span / ticks;
    let magnitude = 10f64.powf(raw.log10().floor());
    let fraction = raw / magnitude;
    let nice = if fraction <= 1.0 {
        1.0
    } else if fraction <= 2.0 {
        2.0
    } else if fraction <= 5.0 {
        5.0
    } else {
        10.0
    };
    nice * magnitude
}

/// A tick label: no trailing zeros, thousands as `k`.
fn number(v: f64) -> String {
    if v.abs() >= 10_000.0 {
        format!("{}k", trim(v / 1000.0))
    } else {
        trim(v)
    }
}

fn trim(v: f64) -> String {
    let s = format!("{v:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" { "0".into() } else { s.into() }
}

fn time_label(s: f64) -> String {
    let s = s.round() as u64;
    match s {
        0..60 => format!("{s}s"),
        60..3600 if s.is_multiple_of(60) => format!("{}m", s / 60),
        60..3600 => format!("{}m{}s", s / 60, s % 60),
        _ if s.is_multiple_of(3600) => format!("{}h", s / 3600),
        _ => format!("{}h{}m", s / 3600, s % 3600 / 60),
    }
}

fn percentile_label(nines: f64) -> String {
    let q = (1.0 - 10f64.powf(-nines)) * 100.0;
    format!("{}%", trim(q))
}

impl Chart<'_> {
    fn svg(&self) -> String {
        let plot_w = WIDTH - LEFT - RIGHT;
        let plot_h = HEIGHT - TOP - BOTTOM;
        let all = self.series.iter().flat_map(|s| s.points.iter());
        let max_x = all.clone().map(|p| p.0).fold(0.0, f64::max);
        // The axis fits the data: a threshold far above it would flatten
        // the curves (0-10 ms under a 250 ms line); one off the scale is
        // marked at the top edge instead. Without data, the lines set it.
        let data_max = all.map(|p| p.1).fold(0.0, f64::max);
        let max_y = if data_max > 0.0 {
            data_max
        } else {
            self.lines.iter().map(|l| l.0).fold(0.0, f64::max)
        };
        let (x_step, x_max) = match self.x {
            XAxis::Time => {
                let step = nice_step(max_x.max(1.0), 6.0).max(1.0);
                (step, (max_x / step).ceil().max(1.0) * step)
            }
            XAxis::Percentile => (1.0, max_x.ceil().max(1.0)),
        };
        let y_step = nice_step(if max_y > 0.0 { max_y } else { 1.0 }, 4.0);
        let y_max = ((max_y / y_step).ceil() * y_step).max(y_step);
        let px = |x: f64| LEFT + x / x_max * plot_w;
        let py = |y: f64| TOP + plot_h - y / y_max * plot_h;
        let mut svg = String::new();
        let _ = write!(
            svg,
            r##"<figure><figcaption>{title}</figcaption><svg viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" role="img" aria-label="{title}" font-size="11" font-family="system-ui,sans-serif">"##,
            title = escape(self.title)
        );
        // Grid and y ticks.
        let mut y = 0.0;
        while y <= y_max + y_step / 2.0 {
            let _ = write!(
                svg,
                r##"<line x1="{LEFT}" y1="{v:.1}" x2="{r:.1}" y2="{v:.1}" stroke="#e4e4e4"/><text x="{t:.1}" y="{b:.1}" text-anchor="end">{label}</text>"##,
                v = py(y),
                r = WIDTH - RIGHT,
                t = LEFT - 6.0,
                b = py(y) + 4.0,
                label = number(y)
            );
            y += y_step;
        }
        // x ticks.
        let mut x = 0.0;
        while x <= x_max + x_step / 2.0 {
            let label = match self.x {
                XAxis::Time => time_label(x),
                XAxis::Percentile => percentile_label(x),
            };
            let _ = write!(
                svg,
                r##"<line x1="{v:.1}" y1="{b:.1}" x2="{v:.1}" y2="{e:.1}" stroke="#888"/><text x="{v:.1}" y="{t:.1}" text-anchor="middle">{label}</text>"##,
                v = px(x),
                b = TOP + plot_h,
                e = TOP + plot_h + 5.0,
                t = TOP + plot_h + 17.0,
            );
            x += x_step;
        }
        // Axes and their titles.
        let x_title = match self.x {
            XAxis::Time => "time since start",
            XAxis::Percentile => "percentile (log scale of the tail)",
        };
        let _ = write!(
            svg,
            r##"<line x1="{LEFT}" y1="{b:.1}" x2="{r:.1}" y2="{b:.1}" stroke="#444"/><line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{b:.1}" stroke="#444"/><text x="{cx:.1}" y="{bt:.1}" text-anchor="middle" fill="#555">{x_title}</text><text x="12" y="{cy:.1}" text-anchor="middle" fill="#555" transform="rotate(-90 12 {cy:.1})">{unit}</text>"##,
            b = TOP + plot_h,
            r = WIDTH - RIGHT,
            cx = LEFT + plot_w / 2.0,
            bt = HEIGHT - 4.0,
            cy = TOP + plot_h / 2.0,
            unit = escape(self.unit),
        );
        // Threshold lines; one above the axis is marked at its top edge.
        for (value, label) in &self.lines {
            if *value > y_max {
                let _ = write!(
                    svg,
                    r##"<line x1="{LEFT}" y1="{TOP}" x2="{r:.1}" y2="{TOP}" stroke="#C00" stroke-dasharray="2 4"/><text x="{r:.1}" y="{t:.1}" text-anchor="end" fill="#C00">{label} ↑ above the scale</text>"##,
                    r = WIDTH - RIGHT,
                    t = TOP + 12.0,
                    label = escape(label)
                );
                continue;
            }
            let _ = write!(
                svg,
                r##"<line x1="{LEFT}" y1="{v:.1}" x2="{r:.1}" y2="{v:.1}" stroke="#C00" stroke-dasharray="6 3"/><text x="{r:.1}" y="{t:.1}" text-anchor="end" fill="#C00">{label}</text>"##,
                v = py(*value),
                r = WIDTH - RIGHT,
                t = py(*value) - 3.0,
                label = escape(label)
            );
        }
        // Series and the legend.
        let mut legend_x = LEFT;
        for (i, s) in self.series.iter().enumerate() {
            let color = PALETTE[i % PALETTE.len()];
            let points: Vec<String> = s
                .points
                .iter()
                .map(|(x, y)| format!("{:.1},{:.1}", px(*x), py(*y)))
                .collect();
            let dash = if s.dashed {
                r#" stroke-dasharray="4 3""#
            } else {
                ""
            };
            if points.len() == 1 {
                let _ = write!(
                    svg,
                    r##"<circle cx="{:.1}" cy="{:.1}" r="2.5" fill="{color}"/>"##,
                    px(s.points[0].0),
                    py(s.points[0].1)
                );
            } else {
                let _ = write!(
                    svg,
                    r##"<polyline fill="none" stroke="{color}" stroke-width="1.6"{dash} points="{}"/>"##,
                    points.join(" ")
                );
            }
            let _ = write!(
                svg,
                r##"<rect x="{legend_x:.1}" y="8" width="12" height="4" fill="{color}"/><text x="{t:.1}" y="14">{name}</text>"##,
                t = legend_x + 16.0,
                name = escape(&s.name)
            );
            legend_x += 28.0 + 6.5 * s.name.chars().count() as f64;
        }
        if self.series.iter().all(|s| s.points.is_empty()) {
            let _ = write!(
                svg,
                r##"<text x="{:.1}" y="{:.1}" text-anchor="middle" fill="#888">nothing to show</text>"##,
                LEFT + plot_w / 2.0,
                TOP + plot_h / 2.0
            );
        }
        svg.push_str("</svg></figure>\n");
        svg
    }
}

/// Per-second rate of a timeline count. Entries may span several seconds,
/// and the last one only the part of its interval the run lasted (not
/// divided by the whole interval, which would show a drop at the end).
fn per_second(
    r: &LoadReport,
    f: impl Fn(&crate::load::result::SecondDoc) -> f64,
) -> Vec<(f64, f64)> {
    let step = r.timeline_step_s.max(1) as f64;
    r.timeline
        .iter()
        .map(|s| {
            let start = s.second as f64;
            let covered = (r.totals.duration_s - start).clamp(0.05, step);
            (start, f(s) / covered)
        })
        .collect()
}

fn charts(r: &LoadReport) -> String {
    let mut out = String::new();
    let kinds = ["refresh", "login", "replay"];
    // Throughput by kind, with rps thresholds.
    let mut series: Vec<Series> = kinds
        .iter()
        .filter(|k| r.latency_us.contains_key(**k))
        .map(|k| Series {
            name: (*k).to_string(),
            points: per_second(r, |s| s.by_kind.get(*k).copied().unwrap_or(0) as f64),
            dashed: false,
        })
        .collect();
    if series.len() > 1 {
        series.insert(
            0,
            Series {
                name: "all".into(),
                points: per_second(r, |s| s.requests as f64),
                dashed: false,
            },
        );
    }
    out += &Chart {
        title: "Requests per second, by kind",
        unit: "requests/s",
        x: XAxis::Time,
        series,
        lines: threshold_lines(r, |m| (m == "rps").then_some(1.0)),
    }
    .svg();
    // Latency percentiles over time, with the latency thresholds.
    let ms = |us: u64| us as f64 / 1000.0;
    let step = |s: &crate::load::result::SecondDoc| s.second as f64;
    out += &Chart {
        title: "Latency over time (all requests)",
        unit: "ms",
        x: XAxis::Time,
        series: vec![
            Series {
                name: "p50".into(),
                points: r.timeline.iter().map(|s| (step(s), ms(s.p50_us))).collect(),
                dashed: false,
            },
            Series {
                name: "p95".into(),
                points: r.timeline.iter().map(|s| (step(s), ms(s.p95_us))).collect(),
                dashed: false,
            },
            Series {
                name: "p99".into(),
                points: r.timeline.iter().map(|s| (step(s), ms(s.p99_us))).collect(),
                dashed: false,
            },
        ],
        lines: threshold_lines(r, |m| {
            matches!(m, "p50" | "p90" | "p95" | "p99" | "p999" | "max").then_some(1e-3)
        }),
    }
    .svg();
    // Users or iterations in flight, and drops.
    let open = r.settings.model == "open";
    let sessions = r.settings.model == "sessions";
    let mut series = vec![Series {
        name: if open {
            "iterations in flight".into()
        } else if sessions {
            "live sessions".into()
        } else {
            "users".into()
        },
        points: r
            .timeline
            .iter()
            .map(|s| (s.second as f64, s.active as f64))
            .collect(),
        dashed: false,
    }];
    if open {
        series.push(Series {
            name: "dropped per second".into(),
            points: per_second(r, |s| s.dropped as f64),
            dashed: false,
        });
    }
    out += &Chart {
        title: if open {
            "Iterations in flight (most per interval) and dropped"
        } else if sessions {
            "Live sessions (most per interval)"
        } else {
            "Active users (most per interval)"
        },
        unit: if open {
            "iterations"
        } else if sessions {
            "sessions"
        } else {
            "users"
        },
        x: XAxis::Time,
        series,
        lines: Vec::new(),
    }
    .svg();
    // Errors by code over time (the codes with most failures).
    let mut codes: Vec<(&String, &u64)> = r.errors.by_code.iter().collect();
    codes.sort_by(|a, b| b.1.cmp(a.1));
    let series: Vec<Series> = codes
        .iter()
        .take(6)
        .map(|(code, _)| Series {
            name: (*code).clone(),
            points: per_second(r, |s| {
                s.errors_by_code.get(*code).copied().unwrap_or(0) as f64
            }),
            dashed: false,
        })
        .collect();
    if series.is_empty() {
        out += "<figure><figcaption>Errors per second, by code</figcaption><p>No failures.</p></figure>\n";
    } else {
        out += &Chart {
            title: "Errors per second, by code",
            unit: "errors/s",
            x: XAxis::Time,
            series,
            lines: Vec::new(),
        }
        .svg();
    }
    // The distribution, per kind; corrected (from due) dashed.
    let curve = |h: &hdrhistogram::Histogram<u64>| -> Vec<(f64, f64)> {
        let top = (h.len() as f64).log10().clamp(1.0, 4.0);
        (0..=(top * 50.0) as usize)
            .map(|i| {
                let nines = i as f64 / 50.0;
                let q = 1.0 - 10f64.powf(-nines);
                (nines, h.value_at_quantile(q) as f64 / 1000.0)
            })
            .collect()
    };
    let mut series: Vec<Series> = kinds
        .iter()
        .filter_map(|k| {
            let h = decode(r.histograms.get(*k)?)?;
            (!h.is_empty()).then(|| Series {
                name: (*k).to_string(),
                points: curve(&h),
                dashed: false,
            })
        })
        .collect();
    if let Some(corrected) = &r.latency_us_corrected
        && let Some(h) = r
            .histograms_corrected
            .as_ref()
            .and_then(|m| m.get("refresh"))
            .and_then(|h| decode(h))
        && !h.is_empty()
        && corrected.contains_key("refresh")
    {
        series.push(Series {
            name: "refresh from due".into(),
            points: curve(&h),
            dashed: true,
        });
    }
    out += &Chart {
        title: "Latency distribution, by kind",
        unit: "ms",
        x: XAxis::Percentile,
        series,
        lines: Vec::new(),
    }
    .svg();
    out
}

/// Horizontal lines for the thresholds on all requests whose metric
/// `scale` accepts (it gives the factor from the threshold's unit to the
/// chart's).
fn threshold_lines(r: &LoadReport, scale: impl Fn(&str) -> Option<f64>) -> Vec<(f64, String)> {
    r.thresholds
        .iter()
        .filter_map(|t| {
            let text = t.threshold.replace(' ', "");
            let at = text.find(['<', '>', '='])?;
            let metric = &text[..at];
            if metric.contains('.') {
                return None;
            }
            let factor = scale(metric)?;
            let value = text[at..].trim_start_matches(['<', '>', '=']);
            let number = if factor == 1.0 {
                value.parse::<f64>().ok()?
            } else {
                humantime::parse_duration(value).ok()?.as_secs_f64() * 1e6 * factor
            };
            Some((number, t.threshold.clone()))
        })
        .collect()
}

fn row(out: &mut String, cells: &[&str]) {
    out.push_str("<tr>");
    for c in cells {
        let _ = write!(out, "<td>{c}</td>");
    }
    out.push_str("</tr>");
}

fn ms(us: u64) -> String {
    format!("{:.2} ms", us as f64 / 1000.0)
}

/// What each violation means, for the reader of the report.
const VIOLATIONS: [(&str, &str); 4] = [
    (
        "chain_breaks",
        "a refresh refused with invalid_grant: the server disowned a refresh token it had issued and not revoked",
    ),
    (
        "replay_accepted",
        "a rotated refresh token replayed (or two refreshes of one token at once) and accepted",
    ),
    (
        "duplicate_tokens",
        "the same access or refresh token issued twice during the run",
    ),
    (
        "rotation_violations",
        "a refresh answered without a new refresh token on a server that declares rotation",
    ),
];

/// The page.
pub fn page(r: &LoadReport) -> String {
    let mut body = String::new();
    let breached = r.thresholds.iter().filter(|t| !t.passed).count();
    let verdict = if r.thresholds.is_empty() {
        "no thresholds".to_string()
    } else if breached == 0 {
        format!("all {} thresholds passed", r.thresholds.len())
    } else {
        format!("{breached} of {} thresholds breached", r.thresholds.len())
    };
    let _ = write!(
        body,
        r#"<h1>tokenprobe load: {target}{interrupted}</h1><p class="lead"><b>{rps:.1} requests/s</b> over {dur:.1} s, {req} requests, {fail} failures ({rate:.3} %){dropped}. <span class="{cls}">{verdict}</span>.</p>"#,
        target = escape(&r.target),
        interrupted = if r.interrupted { " (interrupted)" } else { "" },
        rps = r.totals.rps,
        dur = r.totals.duration_s,
        req = r.totals.requests,
        fail = r.totals.failures,
        rate = r.totals.error_rate * 100.0,
        dropped = match (r.totals.scheduled, r.totals.dropped) {
            (Some(s), Some(d)) => format!(", {d} of {s} iterations dropped"),
            _ => String::new(),
        },
        cls = if breached == 0 { "ok" } else { "bad" },
    );
    if let Some(why) = &r.stopped {
        let _ = write!(
            body,
            r#"<p class="bad"><b>Stopped early</b>: {}. The figures cover what ran.</p>"#,
            escape(why)
        );
    }
    // Parameters.
    let s = &r.settings;
    body.push_str("<h2>Run</h2><table>");
    let model = match (s.model.as_str(), s.arrival_rate, s.sessions) {
        ("open", Some(rate), _) => format!(
            "open: {} iterations/s{}, at most {} in flight",
            number(rate),
            if s.stages.is_empty() {
                String::new()
            } else {
                format!(", then stages {}", s.stages.join(" → "))
            },
            s.max_in_flight.unwrap_or(0)
        ),
        ("sessions", _, Some(n)) => format!(
            "sessions: {n}, each refreshing {} s before its access token expires{}, at most {} in flight",
            number(s.refresh_before_s.unwrap_or(0.0)),
            match s.time_scale {
                Some(f) if f < 1.0 => format!(" (lifetimes scaled by {})", number(f)),
                _ => String::new(),
            },
            s.max_in_flight.unwrap_or(0)
        ),
        _ => format!(
            "closed: {} users, started at {} a second",
            s.users,
            number(s.increase_rate)
        ),
    };
    for (k, v) in [
        ("target", escape(&r.target)),
        ("token endpoint", escape(&r.token_endpoint)),
        ("started", escape(&r.started_at)),
        (
            "run time",
            format!(
                "{} s{} (measured {:.1} s)",
                number(s.run_time_s),
                if s.model == "closed" && s.users as f64 > s.increase_rate {
                    format!(
                        " once the {} users have started ({:.1} s ramp)",
                        s.users,
                        s.users as f64 / s.increase_rate
                    )
                } else {
                    String::new()
                },
                r.totals.duration_s
            ),
        ),
        ("model", model),
        (
            "mix asked",
            if s.model == "sessions" {
                "refreshes; a login when a chain ends".into()
            } else {
                format!(
                    "refresh {} : password {} (a login also starts every chain, and follows each refusal)",
                    s.mix_refresh, s.mix_password
                )
            },
        ),
        ("sent", escape(&crate::load::result::started_line(r))),
        (
            "replay probes",
            if s.replay_rate > 0.0 {
                format!("after {} % of refreshes", number(s.replay_rate * 100.0))
            } else {
                "off".into()
            },
        ),
        (
            "request cap",
            s.rate
                .map_or("none".into(), |r| format!("{} requests/s", number(r))),
        ),
        ("connections", escape(&s.connection)),
        ("accounts", s.accounts.to_string()),
        ("threads", s.threads.to_string()),
        ("tool", escape(&r.tool)),
    ] {
        row(&mut body, &[k, &v]);
    }
    body.push_str("</table>");
    if let Some(sh) = r.shard {
        let _ = write!(
            body,
            "<p>Shard {} of {}: its thresholds are judged over all shards by <code>tokenprobe report merge</code>.</p>",
            sh.index, sh.count
        );
    }
    if !r.shards.is_empty() {
        let _ = write!(
            body,
            "<h2>Shards</h2><p>Merged from {} shards: histograms added, the percentiles are exact.</p><table><tr><th>shard</th><th>started</th><th>duration</th><th>requests</th><th>failures</th><th>requests/s</th><th>p99</th></tr>",
            r.shards.len()
        );
        for s in &r.shards {
            row(
                &mut body,
                &[
                    &s.index.to_string(),
                    &escape(&s.started_at),
                    &format!("{:.1} s", s.duration_s),
                    &s.requests.to_string(),
                    &s.failures.to_string(),
                    &format!("{:.1}", s.rps),
                    &ms(s.p99_us),
                ],
            );
        }
        body.push_str("</table>");
    }
    // Thresholds.
    if !r.thresholds.is_empty() {
        body.push_str(
            "<h2>Thresholds</h2><table><tr><th>threshold</th><th>observed</th><th>result</th></tr>",
        );
        for t in &r.thresholds {
            let result = match (&t.not_probed, t.passed) {
                (Some(why), _) => format!(r#"<span class="np">not probed</span>: {}"#, escape(why)),
                (None, true) => r#"<span class="ok">passed</span>"#.into(),
                (None, false) => r#"<span class="bad">breached</span>"#.into(),
            };
            row(
                &mut body,
                &[
                    &format!(
                        "<code>{}</code>{}",
                        escape(&t.threshold),
                        if t.default {
                            " (the default gate, <code>--max-error-rate</code>)"
                        } else {
                            ""
                        }
                    ),
                    &escape(&t.observed),
                    &result,
                ],
            );
        }
        body.push_str("</table>");
    }
    for reg in &r.regressions {
        let _ = write!(body, r#"<p class="bad">regression: {}</p>"#, escape(reg));
    }
    // Latency table.
    body.push_str("<h2>Latency</h2><table><tr><th>kind</th><th>count</th><th>p50</th><th>p90</th><th>p95</th><th>p99</th><th>p99.9</th><th>max</th></tr>");
    let mut latency_rows = |name: String, l: &crate::load::result::Latency| {
        row(
            &mut body,
            &[
                &name,
                &l.count.to_string(),
                &ms(l.p50),
                &ms(l.p90),
                &ms(l.p95),
                &ms(l.p99),
                &ms(l.p999),
                &ms(l.max),
            ],
        );
    };
    for (k, l) in &r.latency_us {
        latency_rows(escape(k), l);
    }
    if let Some(c) = &r.latency_us_corrected {
        for (k, l) in c {
            latency_rows(format!("{} (from due)", escape(k)), l);
        }
    }
    if let Some(p) = &r.dpop_proof_us {
        latency_rows("DPoP proof signing (generator)".into(), p);
    }
    if let Some(c) = &r.connections {
        latency_rows(
            escape(&format!(
                "connection set-up: {} opened{}",
                c.opened,
                super::terminal::tls_handshakes(c)
            )),
            &c.setup_us,
        );
    }
    body.push_str("</table>");
    // Violations, explained.
    body.push_str("<h2>Correctness under load</h2><table><tr><th>violation</th><th>count</th><th>what it means</th></tr>");
    let v = &r.violations;
    for (name, meaning) in VIOLATIONS {
        let count = match name {
            "chain_breaks" => v.chain_breaks,
            "replay_accepted" => v.replay_accepted,
            "duplicate_tokens" => v.duplicate_tokens,
            _ => v.rotation_violations,
        };
        let shown = match v.not_probed.get(name) {
            Some(why) => format!(r#"<span class="np">not probed</span>: {}"#, escape(why)),
            None if count == 0 => r#"<span class="ok">0</span>"#.into(),
            None => format!(r#"<span class="bad">{count}</span>"#),
        };
        row(&mut body, &[name, &shown, meaning]);
    }
    body.push_str("</table>");
    // Errors.
    if !r.errors.by_code.is_empty() {
        body.push_str("<h2>Errors</h2><table><tr><th>code</th><th>count</th></tr>");
        for (k, n) in &r.errors.by_code {
            row(
                &mut body,
                &[&format!("<code>{}</code>", escape(k)), &n.to_string()],
            );
        }
        body.push_str("</table>");
    }
    body.push_str("<table><tr><th>status</th><th>count</th></tr>");
    for (k, n) in &r.errors.by_status {
        row(
            &mut body,
            &[
                &escape(k),
                &format!("{n}{}", escape(&crate::load::result::status_note(r, k))),
            ],
        );
    }
    body.push_str("</table>");
    body.push_str("<h2>Over time</h2>");
    if r.timeline_step_s > 1 {
        let _ = write!(
            body,
            "<p>Each point covers {} s of the run.</p>",
            r.timeline_step_s
        );
    }
    body.push_str(&charts(r));
    format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>tokenprobe load: {title}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:62rem;margin:2rem auto;padding:0 1rem;color:#222}}h1{{font-size:1.4rem}}h2{{font-size:1.1rem;margin-top:1.6rem}}.lead{{font-size:1.05rem}}table{{border-collapse:collapse;margin:.6rem 0}}td,th{{border:1px solid #ccc;padding:.2rem .6rem;text-align:left;vertical-align:top}}th{{background:#f4f4f4}}figure{{margin:1.2rem 0}}figcaption{{font-weight:600;margin-bottom:.3rem}}.ok{{color:#060}}.bad{{color:#b00;font-weight:600}}.np{{color:#8a6d00;font-weight:600}}code{{font-size:.92em}}</style></head><body>
{body}
</body></html>
"#,
        title = escape(&r.target),
    )
}

#[cfg(test)]
mod tests;
