//! Schedulers on calibrated profiles: the latency they optimise and claim is the executor's
//! issue model under graph replay, checked against what the calibration measured and against
//! the same schedulers optimising the stage formula.

use placebench::hios::algorithms::{run, HiosOptions};
use placebench::hios::family::GPU_CAPACITY;
use placebench::hios::{simulate, CalibratedModel, Contention, Problem};
use placebench::workload::{parse_workload, read_file, Workload};
use std::path::{Path, PathBuf};
use std::sync::Arc;

fn profile(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("inputs/profiled/h200").join(format!("{name}_b1_op_k2_gpucost.json.xz"))
}

fn load(name: &str) -> (Workload, serde_json::Value, Arc<CalibratedModel>) {
    let path = profile(name);
    let bytes = read_file(&path).unwrap();
    let w = parse_workload(&bytes, &path, name).unwrap();
    let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    let model = CalibratedModel::of(&w, &v).unwrap().expect("a calibrated profile");
    (w, v, Arc::new(model))
}

/// The calibration replayed the whole model on one GPU one sample at a time and set the
/// sample overhead so that the model meets that measurement; the one-stream schedule is the
/// same work built as a schedule, so its calibrated latency is the measured time.
#[test]
fn one_stream_costs_what_the_calibration_run_measured() {
    for name in ["randwire", "inceptionv3", "nasnetmobile"] {
        let (w, v, model) = load(name);
        let measured = v["placebench"]["profiled"]["calibration"]["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["kind"] == "latency")
            .and_then(|r| r["measured_ms"].as_f64())
            .unwrap();
        let p = Problem::calibrated(&w, GPU_CAPACITY, model);
        let (s, claimed) = run("sequential", &p, &w, &HiosOptions { gpus: 1, ..HiosOptions::default() }).unwrap();
        let t = simulate(&p, &s).unwrap();
        assert_eq!(claimed, t.latency);
        assert!((t.latency - measured).abs() < 0.01 * measured, "{name}: {} against {measured} measured", t.latency);
        // The stage formula knows nothing of the sample's overhead.
        assert!(t.stage_formula_latency < t.latency, "{name}");
    }
}

/// A scheduler optimising the calibrated cost is never worse, by that cost, than the same
/// scheduler's schedule made for the stage formula: the stream passes keep a merged schedule
/// only where the model finds it faster, and `ios` falls back to its own order on one stream.
#[test]
fn optimising_the_model_is_never_worse_by_the_model() {
    for name in ["randwire", "nasnetmobile"] {
        let (w, _, model) = load(name);
        let calibrated = Problem::calibrated(&w, GPU_CAPACITY, model);
        let formula = Problem::from_workload(&w, GPU_CAPACITY, Contention::default());
        for gpus in [1, 2] {
            let o = HiosOptions { gpus, ..HiosOptions::default() };
            for algo in ["ios", "hios-lp-intra", "hios-mr-intra"] {
                let (mine, claimed) = run(algo, &calibrated, &w, &o).unwrap();
                let (theirs, _) = run(algo, &formula, &w, &o).unwrap();
                let theirs = simulate(&calibrated, &theirs).unwrap().latency;
                assert_eq!(claimed, simulate(&calibrated, &mine).unwrap().latency, "{name} {algo} k{gpus}");
                assert!(claimed <= theirs + 1e-12, "{name} {algo} k{gpus}: {claimed} against {theirs}");
            }
        }
    }
}

/// On RandWire over two GPUs the model-driven pass finds a schedule the formula-driven one
/// does not, and the model prefers it by more than its own error on measured runs (3%).
#[test]
fn the_model_changes_what_the_stream_pass_keeps() {
    let (w, _, model) = load("randwire");
    let calibrated = Problem::calibrated(&w, GPU_CAPACITY, model);
    let formula = Problem::from_workload(&w, GPU_CAPACITY, Contention::default());
    let o = HiosOptions { gpus: 2, ..HiosOptions::default() };
    let (mine, claimed) = run("hios-lp-intra", &calibrated, &w, &o).unwrap();
    let (theirs, _) = run("hios-lp-intra", &formula, &w, &o).unwrap();
    assert_ne!(mine, theirs);
    let theirs = simulate(&calibrated, &theirs).unwrap().latency;
    assert!(claimed < 0.97 * theirs, "{claimed} against {theirs}");
}

/// `bench hios` picks the model for a calibrated profile by itself, names it in the options
/// column and keeps the stage formula's latency as a note; `--contention shared` asks for the
/// formula; `--contention calibrated` on a plain workload is refused.
#[test]
fn bench_hios_uses_the_model_where_a_profile_is_calibrated() {
    let out = tempfile::tempdir().unwrap();
    let f = profile("resnet50");
    let args = ["hios", f.to_str().unwrap(), "--gpus", "1", "--algo", "hios-lp-intra", "--quiet", "--json", "--out"];
    let run_with = |extra: &[&str], dir: &str| {
        let mut a: Vec<&str> = args.to_vec();
        let d = out.path().join(dir);
        a.push(d.to_str().unwrap());
        a.extend(extra);
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_bench")).args(&a).output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let rows: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        rows[0].clone()
    };
    let auto = run_with(&[], "auto");
    assert!(auto["options"].as_str().unwrap().contains("Calibrated"), "{auto}");
    assert!(auto["notes"].as_str().unwrap().contains("stage_formula_latency="), "{auto}");
    assert_eq!(auto["status"], "feasible");
    let shared = run_with(&["--contention", "shared"], "shared");
    assert!(shared["options"].as_str().unwrap().contains("Shared"), "{shared}");
    let plain = out.path().join("plain.json");
    let text = r#"{"maxSizePerFPGA": 1e9, "maxFPGAs": 2, "maxCPUs": 0, "nodes": [{"id": 0, "supportedOnFpga": 1, "cpuLatency": 1, "fpgaLatency": 1, "isBackwardNode": 0}], "edges": []}"#;
    std::fs::write(&plain, text).unwrap();
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_bench"))
        .args(["hios", plain.to_str().unwrap(), "--gpus", "1", "--contention", "calibrated", "--quiet", "--out"])
        .arg(out.path().join("plain"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stderr).contains("plain: --contention calibrated needs"));
}
