//! On a machine without a GPU (CI, this project's machine) or a build without the `cuda`
//! feature, the GPU commands say so in one line and exit 2, after checking their input, and
//! write nothing.

mod common;

use common::{bench_status as bench, gpu_run, read_json as read};
use std::path::Path;

/// `bench validate WORKLOAD --schedule …(every schedule in `schedules`) --graphs --measured
/// MEASURED --out OUT`: the committed rows of a run's schedules remodelled without a GPU.
fn remodel_schedules(workload: &Path, schedules: &Path, measured: &Path, out: &Path) -> (i32, String) {
    let mut args = vec!["validate".to_string(), workload.to_string_lossy().to_string()];
    for e in std::fs::read_dir(schedules).unwrap() {
        args.push("--schedule".into());
        args.push(e.unwrap().path().to_string_lossy().to_string());
    }
    args.extend(
        ["--graphs", "--measured", measured.to_str().unwrap(), "--out", out.to_str().unwrap()].map(String::from),
    );
    bench(&args.iter().map(String::as_str).collect::<Vec<_>>())
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
    let (code, err) = bench(&["links", "--out", profiled.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("bench links:"), "{err}");
    assert!(!profiled.exists());
    for (family, out_dir) in [("salus", dir.join("salus-gpu")), ("dart", dir.join("dart-gpu"))] {
        let (code, err) = bench(&[family, "--gpu", "--out", out_dir.to_str().unwrap()]);
        assert_eq!(code, 2, "{err}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        assert!(err.contains("cuda"), "{err}");
        assert!(!out_dir.exists(), "{family} --gpu wrote {}", out_dir.display());
    }
    // A bad input is reported as such before any GPU question.
    let (code, err) = bench(&["validate", "no/such/workload.json", placement.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("no/such/workload.json"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// `validate --measured` needs no GPU: it keeps an earlier run's measurements and recomputes
/// the predictions. Checked on the committed H100 graph replays of BERT-base's HIOS schedules
/// (a process per plan, the profile as measured): every measured field comes back unchanged,
/// the workload's prediction is the schedule's own latency, and for the one-stream sequential schedule (no host launches under graph replay, one
/// GPU, no copies) the issue model is the sum over every operator of its warm GPU time plus the
/// share of the model's working set beyond L2 times its cold time's excess, recomputed here
/// from the profile's provenance.
#[test]
fn measured_runs_are_remodelled_without_a_gpu() {
    let workload = gpu_run("h100-process-per-plan").join("profiled/h100/bert_b1_op_k1_gpucost.json");
    let run = gpu_run("h100-process-per-plan");
    let schedules = run.join("hios/bert_b1_op_k1_gpucost/schedules");
    let measured = run.join("validate_hios_graphs_bert_b1_op_k1.json");
    let out = std::env::temp_dir().join(format!("placebench-remodel-{}.json", std::process::id()));
    let plans = std::fs::read_dir(&schedules).unwrap().count();
    assert!(plans >= 3, "the run's schedules");
    let (code, err) = remodel_schedules(&workload, &schedules, &measured, &out);
    assert_eq!(code, 0, "{err}");
    let rows = |p: &Path| read(p).as_array().expect("rows").clone();
    let (old, new) = (rows(&measured), rows(&out));
    let profile = read(&workload);
    let p = &profile["placebench"]["profiled"];
    let sum = |key: &str| p[key].as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).sum::<f64>();
    let miss = (1.0 - p["l2_bytes"].as_f64().unwrap() / p["working_set_bytes"].as_f64().unwrap()).max(0.0);
    assert!(miss > 0.5, "BERT-base does not fit in L2");
    let gpu_sum = sum("op_gpu_warm_ms") + miss * (sum("op_gpu_cold_ms") - sum("op_gpu_warm_ms"));
    assert_eq!(new.len(), plans);
    for r in &new {
        let before = old.iter().find(|o| o["file"] == r["file"]).expect("the same plan measured");
        for key in ["measured_ms", "repeats_ms", "samples", "gpu", "date_utc", "graphs"] {
            assert_eq!(r[key], before[key], "{key} of {}", r["file"]);
        }
        let schedule: serde_json::Value = read(&schedules.join(r["file"].as_str().unwrap()));
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

/// Rows measured before the executor told inputs from waits ran one add kernel more per wait
/// of an add; remodelling computes how many from the plan (`extra_add_kernels`) for rows that
/// lack the field, and keeps the 0 every row measured since carries. Checked on the committed
/// H100 run of BERT-base's schedules with the field taken off: in the sequential schedule every
/// operator waits for the one before it, so it ran one extra kernel per add node of the
/// workload, counted here from the workload file; every schedule ran some.
#[test]
fn rows_measured_before_the_fix_say_how_many_adds_they_ran_beyond_the_plan() {
    let workload = gpu_run("h100-process-per-plan").join("profiled/h100/bert_b1_op_k1_gpucost.json");
    let run = gpu_run("h100-process-per-plan");
    let schedules = run.join("hios/bert_b1_op_k1_gpucost/schedules");
    let mut rows = read(&run.join("validate_hios_graphs_bert_b1_op_k1.json")).as_array().expect("rows").clone();
    for r in rows.iter_mut() {
        r.as_object_mut().unwrap().remove("extra_add_kernels");
    }
    // One row as if measured since: its 0 stays.
    let since = rows.iter().position(|r| r["algorithm"] == "heft").expect("a heft row");
    rows[since]["extra_add_kernels"] = serde_json::json!(0);
    let dir = std::env::temp_dir();
    let (measured, out) = (
        dir.join(format!("placebench-adds-in-{}.json", std::process::id())),
        dir.join(format!("placebench-adds-out-{}.json", std::process::id())),
    );
    std::fs::write(&measured, serde_json::to_vec(&rows).unwrap()).unwrap();
    let (code, err) = remodel_schedules(&workload, &schedules, &measured, &out);
    assert_eq!(code, 0, "{err}");
    let adds = read(&workload)["nodes"].as_array().unwrap().iter().filter(|n| n["kind"] == "add").count();
    assert!(adds > 10, "BERT-base's residual adds");
    for r in read(&out).as_array().unwrap() {
        let extra = r["extra_add_kernels"].as_u64().expect("the field");
        match r["algorithm"].as_str().unwrap() {
            "heft" => assert_eq!(extra, 0, "a row measured since keeps its 0"),
            "sequential" => assert_eq!(extra as usize, adds),
            a => assert!(extra as usize >= adds, "{a}: every add waits for something"),
        }
    }
    std::fs::remove_file(&measured).ok();
    std::fs::remove_file(&out).ok();
}

/// `bench calibrate` needs no GPU. Checked on the committed H100 run made with a process per
/// plan: BERT-base's profile calibrated on its one-device placement (pipeline in steady state,
/// and one sample at a time) charges in all exactly the steady pipeline's measured time, read
/// here from the run's file; remodelled with it, the issue model reproduces both calibration
/// rows (marked as such) and predicts the other plans as before up to the one scale, computed
/// here from the two measured and predicted numbers.
#[test]
fn a_profile_is_calibrated_on_its_one_gpu_runs_without_a_gpu() {
    let run = gpu_run("h100-process-per-plan");
    // The profile the run measured with (kept with it), as `bench profile` wrote it.
    let workload = run.join("profiled/h100/bert_b1_op_k1_gpucost.json");
    let dir = std::env::temp_dir().join(format!("placebench-calibrate-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let calibrated = dir.join("bert_b1_op_k1_gpucost.json");
    let (latency, throughput) = (
        run.join("validate_latency_graphs_bert_b1_op_k1.json"),
        run.join("validate_throughput_graphs_bert_b1_op_k1.json"),
    );
    let (code, err) = bench(&[
        "calibrate",
        workload.to_str().unwrap(),
        "--measured",
        latency.to_str().unwrap(),
        "--measured",
        throughput.to_str().unwrap(),
        "--out",
        calibrated.to_str().unwrap(),
    ]);
    let rows_t = read(&throughput);
    let rows_l = read(&latency);
    let one = |rows: &serde_json::Value| {
        rows.as_array().unwrap().iter().find(|r| r["algorithm"] == "one-device").unwrap().clone()
    };
    let (steady, alone) = (one(&rows_t), one(&rows_l));
    assert_eq!(code, 0, "{err}");
    let v = read(&calibrated);
    let c = &v["placebench"]["profiled"]["calibration"];
    let measured = steady["measured_ms"].as_f64().unwrap();
    let scale = measured / steady["issue_model_ms"].as_f64().unwrap();
    assert!((c["scale"].as_f64().unwrap() - scale).abs() < 1e-12);
    let total: f64 = v["nodes"].as_array().unwrap().iter().map(|n| n["fpgaLatency"].as_f64().unwrap()).sum();
    // The plan leaves the input tensor (a few hundred bytes) out of its working set.
    assert!((total - measured).abs() < 1e-6 * measured, "{total} against {measured}");
    let overhead = alone["measured_ms"].as_f64().unwrap() - scale * alone["issue_model_ms"].as_f64().unwrap();
    assert!((c["sample_overhead_ms"].as_f64().unwrap() - overhead).abs() < 1e-12);
    for (file, kind, rows) in [(&latency, "latency", &rows_l), (&throughput, "throughput", &rows_t)] {
        let placements =
            run.join(if kind == "latency" { "latency" } else { "place" }).join("bert_b1_op_k1_gpucost/placements");
        let out = dir.join(format!("{kind}.json"));
        let mut args = vec!["validate".to_string(), calibrated.to_string_lossy().to_string()];
        for e in std::fs::read_dir(&placements).unwrap() {
            args.push(e.unwrap().path().to_string_lossy().to_string());
        }
        if kind == "latency" {
            args.push("--latency".into());
        }
        args.extend(
            ["--graphs", "--measured", file.to_str().unwrap(), "--out", out.to_str().unwrap()].map(String::from),
        );
        let (code, err) = bench(&args.iter().map(String::as_str).collect::<Vec<_>>());
        assert_eq!(code, 0, "{err}");
        for r in read(&out).as_array().unwrap() {
            let old = rows.as_array().unwrap().iter().find(|o| o["file"] == r["file"]).unwrap();
            assert_eq!(r["measured_ms"], old["measured_ms"]);
            let issue = r["issue_model_ms"].as_f64().unwrap();
            let mine = r["algorithm"] == "one-device";
            assert_eq!(r["calibration_row"], mine, "{}", r["file"]);
            if mine {
                let m = r["measured_ms"].as_f64().unwrap();
                assert!((issue - m).abs() < 1e-9 * m, "{kind}: {issue} against {m}");
            } else {
                let extra = if kind == "latency" { overhead } else { 0.0 };
                let want = scale * old["issue_model_ms"].as_f64().unwrap() + extra;
                assert!((issue - want).abs() < 1e-9 * want, "{kind} {}: {issue} against {want}", r["file"]);
            }
        }
    }
    std::fs::remove_dir_all(&dir).ok();
}
