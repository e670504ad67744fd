//! On a machine without a GPU (CI, this project's machine) or a build without the `cuda`
//! feature, the GPU commands say so in one line and exit 2, after checking their input, and
//! write nothing.

use std::path::Path;
use std::process::Command;

fn bench(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_bench")).args(args).output().expect("bench runs");
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stderr).to_string())
}

#[test]
fn gpu_commands_say_there_is_no_gpu_and_exit_2() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = std::env::temp_dir().join(format!("placebench-no-gpu-{}", std::process::id()));
    let workload = root.join("inputs/throughput/resnet50_layers_inference.json");
    let (code, _) = bench(&[
        "throughput",
        workload.to_str().unwrap(),
        "--algo",
        "one-device",
        "--quiet",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(code, 0);
    let placement = std::fs::read_dir(dir.join("placements")).unwrap().next().unwrap().unwrap().path();
    let out = dir.join("validate.json");
    let (code, err) =
        bench(&["validate", workload.to_str().unwrap(), placement.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("bench validate:") && (err.contains("cuda") || err.contains("driver")), "{err}");
    assert!(!out.exists(), "validate wrote {}", out.display());
    let profiled = dir.join("profiled.json");
    let (code, err) = bench(&["profile", "resnet50", "--out", profiled.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("bench profile:"), "{err}");
    assert!(!profiled.exists());
    // A bad input is reported as such before any GPU question.
    let (code, err) = bench(&["validate", "no/such/workload.json", placement.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("no/such/workload.json"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// `validate --measured` needs no GPU: it keeps an earlier run's measurements and recomputes
/// the predictions. Checked on the committed H100 graph replays of BERT-base's HIOS schedules:
/// every measured field comes back unchanged, the workload's prediction is the schedule's own
/// latency, and for the one-stream sequential schedule (no host launches under graph replay, one
/// GPU, no copies) the issue model is the sum over every operator of its warm GPU time plus the
/// share of the model's working set beyond L2 times its cold time's excess, recomputed here
/// from the profile's provenance.
#[test]
fn measured_runs_are_remodelled_without_a_gpu() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let workload = root.join("results/gpu/h100-real-kernels/profiled/h100/bert_b1_op_k1_gpucost.json");
    let run = root.join("results/gpu/h100-real-kernels");
    let schedules = run.join("hios/bert_b1_op_k1_gpucost/schedules");
    let measured = run.join("validate_hios_graphs_bert_b1_op_k1.json");
    let out = std::env::temp_dir().join(format!("placebench-remodel-{}.json", std::process::id()));
    let mut args = vec!["validate".to_string(), workload.to_string_lossy().to_string()];
    for e in std::fs::read_dir(&schedules).unwrap() {
        args.push("--schedule".into());
        args.push(e.unwrap().path().to_string_lossy().to_string());
    }
    args.extend(
        ["--graphs", "--measured", measured.to_str().unwrap(), "--out", out.to_str().unwrap()].map(String::from),
    );
    let (code, err) = bench(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(code, 0, "{err}");
    let read = |p: &Path| -> Vec<serde_json::Value> { serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap() };
    let (old, new) = (read(&measured), read(&out));
    let profile: serde_json::Value = serde_json::from_slice(&std::fs::read(&workload).unwrap()).unwrap();
    let p = &profile["placebench"]["profiled"];
    let sum = |key: &str| p[key].as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).sum::<f64>();
    let miss = (1.0 - p["l2_bytes"].as_f64().unwrap() / p["working_set_bytes"].as_f64().unwrap()).max(0.0);
    assert!(miss > 0.5, "BERT-base does not fit in L2");
    let gpu_sum = sum("op_gpu_warm_ms") + miss * (sum("op_gpu_cold_ms") - sum("op_gpu_warm_ms"));
    assert_eq!(new.len(), 3);
    for r in &new {
        let before = old.iter().find(|o| o["file"] == r["file"]).expect("the same plan measured");
        for key in ["measured_ms", "repeats_ms", "samples", "gpu", "date_utc", "graphs"] {
            assert_eq!(r[key], before[key], "{key} of {}", r["file"]);
        }
        let schedule: serde_json::Value =
            serde_json::from_slice(&std::fs::read(schedules.join(r["file"].as_str().unwrap())).unwrap()).unwrap();
        assert_eq!(r["predicted_ms"], schedule["latency"]);
        let issue = r["issue_model_ms"].as_f64().expect("an issue model");
        if r["algorithm"] == "sequential" {
            // The plan leaves the input tensor (never launched) out of the working set: a few
            // hundred bytes of half a gigabyte.
            assert!((issue - gpu_sum).abs() < 1e-6 * gpu_sum, "{issue} against {gpu_sum}");
            assert!(issue < sum("op_gpu_cold_ms") && issue > sum("op_gpu_warm_ms"));
        }
    }
    std::fs::remove_file(&out).ok();
}
