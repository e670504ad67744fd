//! `bench salus` from the command line: bad traces and tenants exit 2 with one line naming
//! file, row and field and write nothing; a run writes rows the checker confirmed and run
//! files; `bench salus gen` is seeded; the shared traces run when present.

use std::path::{Path, PathBuf};
use std::process::Command;

fn bench(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_bench")).args(args).output().expect("bench runs");
    (out.status.code(), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
}

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("placebench-salus-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

const HEADER: &str = "job_id,model,batch,kind,iterations,submit_time,duration\n";

#[test]
fn bad_traces_exit_2_with_one_line_and_write_nothing() {
    let d = scratch("bad");
    let cases = [
        ("unknown.csv", format!("{HEADER}0,vgg99,8,train,10,0,\n"), "row 2: field \"model\""),
        ("negative.csv", format!("{HEADER}0,resnet50,8,train,10,-4,\n"), "field \"submit_time\""),
        ("duration.csv", format!("{HEADER}0,resnet50,8,train,10,0,-1\n"), "field \"duration\""),
        // GPT-2 at batch 512 training needs more than 16 GiB.
        (
            "huge.csv",
            format!("{HEADER}0,resnet50,8,train,10,0,\n1,gpt,512,train,10,0,\n"),
            "job 1 (row 3): field \"model\"",
        ),
    ];
    for (file, text, want) in cases {
        let path = d.join(file);
        std::fs::write(&path, text).unwrap();
        let out = d.join(format!("{file}.out"));
        let (code, _, err) = bench(&["salus", path.to_str().unwrap(), "--out", out.to_str().unwrap(), "-q"]);
        assert_eq!(code, Some(2), "{file}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{file}: {err}");
        assert!(err.contains(file) && err.contains(want), "{file}: {err}");
        assert!(!out.join("results.csv").exists(), "{file}: wrote results");
    }
    let (code, _, err) = bench(&["salus", "no-such-preset"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("neither a trace file nor a preset"), "{err}");
    let (code, _, err) = bench(&["salus", "--policy", "lottery", "hpo"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("unknown sharing policy"), "{err}");
}

#[test]
fn a_run_writes_confirmed_rows_and_run_files() {
    let d = scratch("run");
    let gen = |file: &Path| {
        let f = file.to_str().unwrap();
        let args =
            ["--jobs", "12", "--mix", "resnet50:8,nasnet-mobile:8", "--load", "2", "--max-s", "120", "--seed", "3"];
        bench(&[&["salus", "gen", "--out", f][..], &args[..]].concat())
    };
    let (trace, again) = (d.join("t.csv"), d.join("t2.csv"));
    let (code, _, err) = gen(&trace);
    assert_eq!(code, Some(0), "{err}");
    gen(&again);
    assert_eq!(std::fs::read(&trace).unwrap(), std::fs::read(&again).unwrap(), "gen is seeded");
    let out = d.join("out");
    let (code, stdout, err) =
        bench(&["salus", trace.to_str().unwrap(), "--out", out.to_str().unwrap(), "-q", "--json"]);
    assert_eq!(code, Some(0), "{err}");
    let rows: Vec<serde_json::Value> = serde_json::from_str(&stdout).unwrap();
    assert_eq!(rows.len(), 10);
    for r in &rows {
        assert_eq!(r["status"], "feasible", "{r}");
        assert_eq!(r["objective_kind"], "salus");
        assert!(r["lower_bound"].as_f64().unwrap() <= r["objective"].as_f64().unwrap());
        let file = out.join("runs").join(r["placement_file"].as_str().unwrap());
        let run: serde_json::Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
        assert_eq!(run["jobs"].as_array().unwrap().len(), 12);
    }
    assert!(out.join("results.csv").exists());
}

#[test]
fn the_shared_traces_run_when_present() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/traces");
    let t = dir.join("tiresias_60_job.csv");
    if !t.exists() {
        eprintln!("skipped: ../shared/traces is absent");
        return;
    }
    // Tiresias's CNNs mapped to the zoo need more than 16 GiB for NASNet-A Large at batch 32.
    let (code, stdout, err) = bench(&[
        "salus",
        t.to_str().unwrap(),
        "--memory-gib",
        "80",
        "--policy",
        "fifo",
        "--policy",
        "srtf",
        "-q",
        "--json",
    ]);
    assert_eq!(code, Some(0), "{err}");
    let rows: Vec<serde_json::Value> = serde_json::from_str(&stdout).unwrap();
    assert!(rows.iter().all(|r| r["status"] == "feasible"));
    assert!(rows[0]["notes"].as_str().unwrap().contains("mapped_jobs="));
}

#[test]
fn the_committed_preset_rows_are_reproduced() {
    // results/figures/salus holds `bench salus salus-trace hpo inference-consolidation
    // train+infer` at seed 0, every
    // row confirmed by the checker when it was made; a rerun must give the same objectives
    // (regenerate them with that command when a change means to move them).
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("results/figures/salus");
    let (_, committed) = placebench::results::load_results(&dir).unwrap();
    let out = scratch("presets");
    let o = out.to_str().unwrap();
    let (code, stdout, err) = bench(&[
        "salus",
        "salus-trace",
        "hpo",
        "inference-consolidation",
        "train+infer",
        "-q",
        "--json",
        "--threads",
        "2",
        "--out",
        o,
    ]);
    assert_eq!(code, Some(0), "{err}");
    let rows: Vec<serde_json::Value> = serde_json::from_str(&stdout).unwrap();
    assert_eq!(rows.len(), committed.len());
    for (new, old) in rows.iter().zip(&committed) {
        assert_eq!(
            (new["workload"].as_str().unwrap(), new["algorithm"].as_str().unwrap()),
            (old.workload.as_str(), old.algorithm.as_str())
        );
        let (a, b) = (new["objective"].as_f64().unwrap(), old.objective.unwrap());
        assert!((a - b).abs() <= 1e-9 * b.abs(), "{} / {}: {a} now, {b} committed", old.workload, old.algorithm);
    }
}

/// A hand-written co-run file (as `bench salus corun` writes) changes the concurrent
/// policies' rows and says how many of the trace's pairs it measured; a slowdown that is not
/// a positive number is bad input naming the file, the pair and the field.
#[test]
fn measured_slowdowns_from_a_file() {
    let d = scratch("slowdowns");
    let pair = |a: &str, b: &str, s: &str| {
        format!(
            r#"{{"a":"{a}","b":"{b}","alone_a_ms":5,"alone_b_ms":5,"together_ms":8,"occupancy_a":0.9,"occupancy_b":0.9,"measured_slowdown":{s},"predicted_slowdown":2,"predicted_together_ms":10}}"#
        )
    };
    let file = |pairs: String| {
        format!(r#"{{"schema_version":1,"gpu":"hand","beta":0.1,"warmup":1,"runs":1,"pairs":[{pairs}]}}"#)
    };
    let good = d.join("good.json");
    std::fs::write(&good, file(pair("resnet50_b32_infer", "resnet50_b32_infer", "1.2"))).unwrap();
    let run = |extra: &[&str], out: &str| {
        let out = d.join(out);
        let args =
            [&["salus", "salus-trace", "--policy", "pack", "-q", "--json", "--out", out.to_str().unwrap()], extra];
        bench(&args.concat())
    };
    let (code, plain, err) = run(&[], "plain");
    assert_eq!(code, Some(0), "{err}");
    let (code, measured, err) = run(&["--slowdowns", good.to_str().unwrap()], "measured");
    assert_eq!(code, Some(0), "{err}");
    let row = |s: &str| serde_json::from_str::<Vec<serde_json::Value>>(s).unwrap().remove(0);
    let (p, m) = (row(&plain), row(&measured));
    assert_eq!(m["status"], "feasible", "{m}");
    assert!(m["notes"].as_str().unwrap().contains("measured_pairs=1/"), "{m}");
    assert!(m["options"].as_str().unwrap().contains("slowdowns=good.json:"), "{m}");
    assert_ne!(p["objective"], m["objective"], "a measured pair below the model's changes PACK's run");

    let bad = d.join("bad.json");
    std::fs::write(&bad, file(pair("resnet50_b32_infer", "bert_b8_infer", "-1"))).unwrap();
    let (code, _, err) = run(&["--slowdowns", bad.to_str().unwrap()], "bad");
    assert_eq!(code, Some(2), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("bad.json") && err.contains("pair 0") && err.contains("measured_slowdown"), "{err}");
    assert!(!d.join("bad").join("results.csv").exists());
}

/// A committed GPU run predicted again from its profile, without a GPU: with the additive
/// combination every policy's prediction is exactly the one the GPU run recorded beside its
/// measurement (two computations of one prediction: in the GPU process and here); the
/// saturating one changes only the policies that run three or more lanes at once; a profile
/// of another trace, and --combine without measured slowdowns, are refused in one line.
#[test]
fn a_gpu_run_is_predicted_again_from_its_profile() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let scratch_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("gpu-runs");
    let run = placebench::results::archive::unpack(&root.join("results/gpu/h100-salus.tar.xz"), &scratch_dir).unwrap();
    let profile = run.join("gpu_profile.json");
    let d = scratch("gpu-profile");
    let predict = |combine: &str, out: &str| {
        let out = d.join(out);
        let mut args = vec!["salus", "gpu-trace", "--memory-gib", "6", "--gpu-profile", profile.to_str().unwrap()];
        args.extend(["--combine", combine, "-q", "--json", "--out", out.to_str().unwrap()]);
        for p in ["fifo", "srtf", "fair", "pack", "exclusive-fifo", "mps"] {
            args.extend(["--policy", p]);
        }
        let (code, rows, err) = bench(&args);
        assert_eq!(code, Some(0), "{err}");
        serde_json::from_str::<Vec<serde_json::Value>>(&rows).unwrap()
    };
    let additive = predict("additive", "additive");
    let saturating = predict("saturating", "saturating");
    for (a, s) in additive.iter().zip(&saturating) {
        let policy = a["algorithm"].as_str().unwrap();
        let file = run.join(policy).join("runs").join(format!("gpu-trace__{policy}.json"));
        let recorded: serde_json::Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
        let want = recorded["profiled_with_slowdowns"]["mean_jct_s"].as_f64().unwrap();
        let got = a["objective"].as_f64().unwrap();
        assert!((got - want).abs() <= 1e-9 * want, "{policy}: {got} against the GPU run's {want}");
        let concurrent = policy == "pack" || policy == "mps";
        assert_eq!(a["objective"] != s["objective"], concurrent, "{policy}: {} and {}", a["objective"], s["objective"]);
    }
    let (code, _, err) = bench(&[
        "salus",
        "salus-trace",
        "--gpu-profile",
        profile.to_str().unwrap(),
        "-q",
        "--out",
        d.join("x").to_str().unwrap(),
    ]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.trim().lines().count() == 1 && err.contains("gpu_profile.json") && err.contains("trace_hash"), "{err}");
    let (code, _, err) =
        bench(&["salus", "gpu-trace", "--combine", "saturating", "-q", "--out", d.join("y").to_str().unwrap()]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("--combine"), "{err}");
    assert!(!d.join("x").join("results.csv").exists() && !d.join("y").join("results.csv").exists());
}

/// The committed H100 runs with sets measured (`h100-salus-sets`, seed 0, and its held-out
/// `h100-salus-sets-seed1`): predicted again from their profiles without a GPU under
/// `--combine measured`, PACK and MPS equal the predictions the GPU processes recorded, and
/// each is within 10% of what the GPU measured, on makespan and mean JCT (the issue's bar,
/// checked on the committed measurements; the additive rule's predictions differ).
#[test]
fn the_set_measured_runs_are_predicted_again_within_ten_percent() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for (name, seed) in [("h100-salus-sets", "0"), ("h100-salus-sets-seed1", "1")] {
        let scratch_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("gpu-runs");
        let archive = root.join(format!("results/gpu/{name}.tar.xz"));
        let run = placebench::results::archive::unpack(&archive, &scratch_dir).unwrap();
        let profile = run.join("gpu_profile.json");
        let d = scratch(&format!("sets-{name}"));
        let predict = |combine: &str| {
            let out = d.join(combine);
            let (code, rows, err) = bench(&[
                "salus",
                "gpu-trace",
                "--memory-gib",
                "6",
                "--seed",
                seed,
                "--gpu-profile",
                profile.to_str().unwrap(),
                "--combine",
                combine,
                "--policy",
                "pack",
                "--policy",
                "mps",
                "-q",
                "--json",
                "--out",
                out.to_str().unwrap(),
            ]);
            assert_eq!(code, Some(0), "{err}");
            serde_json::from_str::<Vec<serde_json::Value>>(&rows).unwrap()
        };
        let (measured, additive) = (predict("measured"), predict("additive"));
        for (m, a) in measured.iter().zip(&additive) {
            let policy = m["algorithm"].as_str().unwrap();
            let file = run.join(policy).join("runs").join(format!("gpu-trace__{policy}.json"));
            let recorded: serde_json::Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
            let want = recorded["profiled_with_slowdowns"]["mean_jct_s"].as_f64().unwrap();
            let got = m["objective"].as_f64().unwrap();
            assert!((got - want).abs() <= 1e-9 * want, "{name} {policy}: {got} against the GPU run's {want}");
            assert_ne!(m["objective"], a["objective"], "{name} {policy}: the sets change the prediction");
            // This prediction against what the GPU measured.
            let notes = m["notes"].as_str().unwrap();
            let makespan: f64 = notes
                .split(';')
                .find_map(|kv| kv.strip_prefix("makespan_s="))
                .and_then(|v| v.parse().ok())
                .expect("a makespan in the notes");
            let gpu = &recorded["measured"];
            for (key, y) in [("makespan_s", makespan), ("mean_jct_s", got)] {
                let x = gpu[key].as_f64().unwrap();
                assert!((y - x).abs() <= 0.10 * x, "{name} {policy} {key}: predicted {y}, measured {x}");
            }
        }
    }
}
