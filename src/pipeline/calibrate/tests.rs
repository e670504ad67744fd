//! Calibration on hand-made rows.

use super::runs::{cuts, forked, Cut, Forked};
use super::*;
use serde_json::json;

/// Rows as `bench calibrate` reads them.
fn typed(rows: Vec<Value>) -> Vec<ValidateRow> {
    rows.iter().map(|r| ValidateRow::of(r).expect("a row")).collect()
}

/// Worked by hand: two operators, warm 1 and 2, cold 3 and 2, half the reads missing L2,
/// scale 0.5: every GPU-time list halves (and the peers' sums, not their efficiency), and
/// the scaled lists charge 0.5 + 0.5 · 1 = 1 and 1 + 0.5 · 0 = 1 (the scale of the
/// unscaled mix 1 + 0.5 · 2 = 2 and 2).
#[test]
fn charges_the_scaled_mix_of_warm_and_cold() {
    let mut p = json!({"op_gpu_warm_ms": [1.0, 2.0], "op_gpu_cold_ms": [3.0, 2.0],
                       "op_gpu_together_ms": [4.0, 8.0], "op_gpu_together_cold_ms": [6.0, 8.0],
                       "op_gpu_peer_ms": [0.0, 2.5],
                       "peers": {"pairs": 1, "measured_ms": 2.5, "serial_ms": 3.0, "formula_ms": 2.0, "efficiency": 0.5},
                       "peers_wide": [{"groups": 3, "pairs": 1, "measured_ms": 4.0, "serial_ms": 6.0, "formula_ms": 2.0, "efficiency": 0.5}]});
    scale_times(&mut p, 0.5);
    assert_eq!(
        p["peers_wide"],
        json!([{"groups": 3, "pairs": 1, "measured_ms": 2.0, "serial_ms": 3.0, "formula_ms": 1.0, "efficiency": 0.5}])
    );
    assert_eq!(p["op_gpu_peer_ms"], json!([0.0, 1.25]));
    assert_eq!(
        p["peers"],
        json!({"pairs": 1, "measured_ms": 1.25, "serial_ms": 1.5, "formula_ms": 1.0, "efficiency": 0.5})
    );
    assert_eq!(p["op_gpu_warm_ms"], json!([0.5, 1.0]));
    assert_eq!(p["op_gpu_cold_ms"], json!([1.5, 1.0]));
    assert_eq!(p["op_gpu_together_ms"], json!([2.0, 4.0]));
    assert_eq!(p["op_gpu_together_cold_ms"], json!([3.0, 4.0]));
    assert_eq!(charged(&[0.5, 1.0], &[1.5, 1.0], 0.5), vec![1.0, 1.0]);
    assert_eq!(charged(&[1.0, 2.0], &[3.0, 2.0], 0.5), vec![2.0, 2.0]);
}

fn row(hash: &str, kind: &str, graphs: bool, gpus: u64, measured: f64, issue: f64) -> Value {
    json!({"status": "measured", "workload_hash": hash, "kind": kind, "graphs": graphs, "timing":
           if kind == "throughput" { "steady" } else { "latency" }, "gpus_in_plan": gpus,
           "algorithm": "one-device", "file": format!("{hash}-{kind}-{graphs}-{gpus}"),
           "measured_ms": measured, "issue_model_ms": issue})
}

#[test]
fn anchors_are_one_gpu_graph_replays_of_this_workload_only() {
    let rows = vec![
        row("other", "latency", true, 1, 2.0, 2.5),
        row("h", "latency", false, 1, 2.0, 2.5),
        row("h", "throughput", true, 2, 2.0, 2.5),
        row("h", "hios", true, 1, 2.2, 2.5),
        row("h", "throughput", true, 1, 2.0, 2.5),
    ];
    let rows = typed(rows);
    let [steady, alone] = anchors(&rows, "h", "one-device").unwrap();
    assert_eq!(steady.unwrap().file, "h-throughput-true-1");
    assert_eq!(alone.unwrap().file, "h-hios-true-1");
    assert!(anchors(&rows[..3], "h", "one-device").is_err());
    assert!(anchors(&rows, "h", "dp").is_err());
}

/// Worked by hand: plan a.json whole (1 graph) 1.0 ms, cut after every 8 stages (21
/// graphs) 1.06 ms and after every 32 (6) 1.01: (1.06 − 1.0) / 20 = 3 µs per later graph.
/// Rows of another workload, of two GPUs, eager, traced, or of a plan measured only whole are
/// left out.
#[test]
fn a_later_graph_costs_the_difference_of_whole_and_cut_over_their_graphs() {
    let cut = |file: &str, hash: &str, graphs: u64, ms: f64| {
        json!({"status": "measured", "graphs": true, "gpus_in_plan": 1, "timing": "latency",
               "workload_hash": hash, "graphs_per_sample": [graphs, 0], "measured_ms": ms, "file": file})
    };
    let mut eager = cut("a.json", "h", 30, 9.0);
    eager["graphs"] = json!(false);
    let mut two = cut("a.json", "h", 40, 9.0);
    two["gpus_in_plan"] = json!(2);
    let mut traced = cut("a.json", "h", 60, 9.0);
    traced["trace"] = json!({});
    let rows = vec![
        cut("a.json", "h", 21, 1.06),
        cut("a.json", "h", 1, 1.0),
        cut("a.json", "h", 6, 1.01),
        cut("a.json", "other", 50, 9.0),
        cut("b.json", "h", 1, 1.0),
        eager,
        two,
        traced,
    ];
    let found = cuts(&typed(rows), &["h".to_string()]);
    assert_eq!(found, vec![Cut { file: "a.json".into(), whole: (1, 1.0), cut: (21, 1.06) }]);
    assert!((found[0].per_graph_ms() - 0.003).abs() < 1e-12);
}

/// Worked by hand: scale 0.8 (a gain of 1/0.8 − 1 = 0.25), sample overhead 0.1 ms, 0.5 µs
/// per fork; plan a.json whole 1.1 ms, with 40 forks 1.25 and with 320 forks 1.5: the
/// sparser run counts, (1.25 − 1.1 − 0.02) / ((1.1 − 0.1) × 0.25) = 0.52. Rows of another
/// workload, of two GPUs, traced, or of a plan measured only forked are left out.
#[test]
fn a_fork_share_is_the_sparser_forked_runs_loss_over_the_calibrations_gain() {
    let run = |file: &str, hash: &str, forks: u64, ms: f64| {
        json!({"status": "measured", "graphs": true, "gpus_in_plan": 1, "timing": "latency",
               "workload_hash": hash, "concurrent_stages": [forks], "measured_ms": ms, "file": file})
    };
    let mut two = run("a.json", "h", 8, 9.0);
    two["gpus_in_plan"] = json!(2);
    let mut traced = run("a.json", "h", 9, 9.0);
    traced["trace"] = json!({});
    let rows = vec![
        run("a.json", "h", 320, 1.5),
        run("a.json", "h", 0, 1.1),
        run("a.json", "h", 40, 1.25),
        run("a.json", "other", 4, 9.0),
        run("b.json", "h", 40, 1.0),
        two,
        traced,
    ];
    let found = forked(&typed(rows), &["h".to_string()]);
    assert_eq!(found, vec![Forked { file: "a.json".into(), whole_ms: 1.1, forks: 40, forked_ms: 1.25 }]);
    assert!((found[0].share(0.8, 0.1, 0.0005) - 0.52).abs() < 1e-12);
}

/// Worked by hand: the pipeline measured 2 against 2.5 predicted (scale 0.8); the plan
/// alone measured 2.2 against 2.5 predicted, i.e. 2.0 of scaled GPU time: 0.2 of overhead.
/// A profile calibrated before with an overhead of 0.1 in its prediction of 2.6 alone is
/// fitted to the same numbers.
#[test]
fn fits_the_scale_on_the_pipeline_and_the_overhead_on_the_sample_alone() {
    let a = |m: f64, i: f64| Anchor { file: String::new(), kind: String::new(), measured_ms: m, issue_ms: i };
    let (scale, overhead) = fit(Some(&a(2.0, 2.5)), Some(&a(2.2, 2.5)), 0.0);
    assert!((scale - 0.8).abs() < 1e-12 && (overhead - 0.2).abs() < 1e-12);
    let (scale, overhead) = fit(Some(&a(2.0, 2.5)), Some(&a(2.2, 2.6)), 0.1);
    assert!((scale - 0.8).abs() < 1e-12 && (overhead - 0.2).abs() < 1e-12);
    // The sample alone only: the scale from it, no overhead.
    let (scale, overhead) = fit(None, Some(&a(2.2, 2.75)), 0.0);
    assert!((scale - 0.8).abs() < 1e-12 && overhead == 0.0);
}
