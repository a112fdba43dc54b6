//! Tests of `html`.

use super::*;

#[test]
fn the_page_keeps_its_shape() {
    let r = crate::load::result::sample();
    let page = page(&r);
    assert!(page.starts_with("<!doctype html>"));
    assert_eq!(
        page.matches("<svg").count(),
        5,
        "one chart each, errors included"
    );
    assert!(!page.contains("<script"), "self-contained, no script");
    assert!(
        !page.contains("http://") || !page.contains("src="),
        "no external asset"
    );
    assert!(page.contains("1 of 2 thresholds breached"), "{page}");
    // The p99<250ms threshold is marked on the latency chart, above
    // its scale (the data's: 0-0.3 ms).
    assert!(
        page.contains(">p99&lt;250ms ↑ above the scale</text>"),
        "{page}"
    );
}

#[test]
fn ticks_are_round_numbers() {
    assert_eq!(nice_step(100.0, 4.0), 50.0);
    assert_eq!(nice_step(7.0, 6.0), 2.0);
    assert_eq!(nice_step(0.3, 4.0), 0.1);
    assert_eq!(time_label(90.0), "1m30s");
    assert_eq!(time_label(7200.0), "2h");
    assert_eq!(percentile_label(2.0), "99%");
    assert_eq!(percentile_label(3.0), "99.9%");
    assert_eq!(number(25_000.0), "25k");
}

/// Issue 22: a 250 ms threshold scaled the axis to 250 ms, and curves
/// of 0-10 ms lay flat along the bottom.
#[test]
fn the_latency_axis_fits_the_data_and_marks_an_off_scale_threshold() {
    let chart = Chart {
        title: "latency",
        unit: "ms",
        x: XAxis::Time,
        series: vec![Series {
            name: "p99".into(),
            points: vec![(0.0, 2.0), (1.0, 8.0), (2.0, 6.0)],
            dashed: false,
        }],
        lines: vec![(250.0, "p99<250ms".into())],
    };
    let svg = chart.svg();
    assert!(svg.contains("p99&lt;250ms ↑ above the scale"), "{svg}");
    // The top tick is the data's range (8), not 250.
    assert!(svg.contains(">8</text>"), "{svg}");
    assert!(!svg.contains(">250</text>"), "{svg}");
}
