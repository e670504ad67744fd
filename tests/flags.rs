//! Flags out of their range are refused before anything runs: exit 2, one line naming the flag,
//! nothing written. `--time-limit inf` (and limits too long for any clock) mean no limit, and a
//! reader that closes the pipe early ends the output quietly.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};

fn bench(args: &[&str]) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_bench")).args(args).output().expect("bench runs");
    (out.status.code(), String::from_utf8_lossy(&out.stderr).to_string())
}

fn workload() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("inputs/throughput/resnet50_layers_inference.json").display().to_string()
}

#[test]
fn flags_out_of_range_exit_2_naming_the_flag_and_write_nothing() {
    let w = workload();
    let out = std::env::temp_dir().join(format!("placebench-flags-{}", std::process::id()));
    let o = out.to_str().unwrap();
    let cases: &[(&[&str], &str)] = &[
        (&["throughput", &w, "--time-limit=-1", "--out", o], "--time-limit"),
        (&["throughput", &w, "--time-limit", "nan", "--out", o], "--time-limit"),
        (&["throughput", &w, "--time-limit", "0", "--out", o], "--time-limit"),
        (&["throughput", &w, "--mip-gap", "5", "--out", o], "--mip-gap"),
        (&["throughput", &w, "--mip-gap", "nan", "--out", o], "--mip-gap"),
        (&["throughput", &w, "--mip-gap=-1", "--out", o], "--mip-gap"),
        (&["throughput", &w, "--threads", "0", "--out", o], "--threads"),
        (&["throughput", &w, "--restarts", "0", "--out", o], "--restarts"),
        (&["latency", &w, "--subgraphs-per-device", "0", "--out", o], "--subgraphs-per-device"),
        (&["hios", &w, "--gpus", "0", "--out", o], "--gpus"),
        (&["hios", &w, "--streams", "0", "--out", o], "--streams"),
        (&["hios", &w, "--window", "0", "--out", o], "--window"),
        (&["hios", &w, "--window", "1", "--out", o], "--window"),
        (&["hios", &w, "--max-group", "0", "--out", o], "--max-group"),
        (&["hios", &w, "--max-groups", "0", "--out", o], "--max-groups"),
        (&["hios", &w, "--max-group-size", "0", "--out", o], "--max-group-size"),
        (&["hios", &w, "--part-size", "0", "--out", o], "--part-size"),
        (&["hios", &w, "--part-size", "129", "--out", o], "--part-size"),
        (&["hios", &w, "--faithful=everything", "--out", o], "--faithful"),
        (&["hios", &w, "--beta=-1", "--out", o], "--beta"),
        (&["compare", &w, &w, "--tolerance=-1"], "--tolerance"),
        (&["regress", "--tolerance=-1"], "--tolerance"),
        (&["gen", "resnet50", "--image", "0", "--out", o], "--image"),
        (&["gen", "randwire", "--ws-p", "2", "--out", o], "--ws-p"),
        (&["gen", "randwire", "--channels", "0", "--out", o], "--channels"),
        (&["gen", "resnet50", "--memory=-5", "--out", o], "--memory"),
        (&["gen", "resnet50", "--batch", "0", "--out", o], "--batch"),
        (&["gen", "bert", "--seq", "0", "--out", o], "--seq"),
    ];
    for (args, flag) in cases {
        let (code, err) = bench(args);
        assert_eq!(code, Some(2), "{args:?}: {err}");
        assert!(err.contains(flag), "{args:?} does not name {flag}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert!(!out.exists(), "{args:?} wrote {}", out.display());
    }
}

#[test]
fn an_infinite_or_huge_time_limit_means_no_limit() {
    let w = workload();
    for limit in ["inf", "1e30"] {
        for algo in ["dp", "local-search", "pipedream"] {
            let (code, err) = bench(&["throughput", &w, "--algo", algo, "--time-limit", limit, "--quiet"]);
            assert_eq!(code, Some(0), "{algo} at --time-limit {limit}: {err}");
        }
    }
}

#[test]
fn a_closed_pipe_ends_the_output_quietly() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_bench"))
        .args(["gen", "inception-v3", "--granularity", "op"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("bench runs");
    let mut first = [0u8; 64];
    child.stdout.take().expect("stdout").read_exact(&mut first).expect("some output");
    // The pipe closes here, long before the workload is written out.
    let out = child.wait_with_output().expect("bench ends");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert_ne!(out.status.code(), Some(101), "{err}");
}

/// Sizes a model cannot be built at (its windows larger than their input, a sequence longer
/// than the position table) used to panic in the builder: exit 2, one line naming the first
/// operator it cannot build, nothing written.
#[test]
fn a_model_too_small_or_too_long_is_refused_naming_the_operator() {
    let out = std::env::temp_dir().join(format!("placebench-gen-{}.json", std::process::id()));
    let o = out.to_str().unwrap();
    let cases: &[(&[&str], &str)] = &[
        (&["gen", "inception-v3", "--image", "10", "--out", o], "maxpool"),
        (&["gen", "inception-v3", "--image", "1", "--out", o], "window"),
        (&["gen", "bert", "--seq", "100000", "--out", o], "position table"),
        (&["gen", "gpt", "--seq", "2000", "--out", o], "position table"),
    ];
    for (args, what) in cases {
        let (code, err) = bench(args);
        assert_eq!(code, Some(2), "{args:?}: {err}");
        assert!(err.contains(what) && err.lines().count() == 1, "{args:?}: {err}");
        assert!(!out.exists(), "{args:?} wrote {o}");
    }
}

/// `bench hios` keeps `--time-limit` (the DP split ran 17 s at 1 s) and gives more GPUs than
/// operators a skipped row (`--gpus 100000` ran for minutes).
#[test]
fn hios_keeps_its_time_limit_and_skips_more_gpus_than_operators() {
    let w = Path::new(env!("CARGO_MANIFEST_DIR")).join("inputs/throughput/randwire_ops_inference.json");
    let w = w.display().to_string();
    let out = Command::new(env!("CARGO_BIN_EXE_bench"))
        .args(["hios", &w, "--gpus", "8", "--gpus", "100000", "--time-limit", "1", "--quiet", "--json"])
        .output()
        .expect("bench runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json rows");
    for r in rows.as_array().expect("rows") {
        let (name, status) = (r["workload"].as_str().unwrap(), r["status"].as_str().unwrap());
        if name.ends_with("@k100000") {
            assert_eq!(status, "skipped", "{r}");
        } else {
            // A limit is checked between steps: a generous margin, not a measure of speed.
            assert!(r["wall_seconds"].as_f64().unwrap() < 15.0, "{r}");
            assert!(["feasible", "timeout"].contains(&status), "{r}");
        }
    }
}

/// Requests that make no sense exit 2 with one line before any work: an algorithm asked for
/// twice, a regression check without a baseline, a comparison of result sets that share no
/// cell, an `--out` that is a file (it used to be noticed after the whole run).
#[test]
fn senseless_requests_exit_2_before_any_work() {
    let w = workload();
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("a-file");
    std::fs::write(&file, "x").unwrap();
    let f = file.to_str().unwrap();
    let nothing = dir.path().join("none");
    let root = env!("CARGO_MANIFEST_DIR");
    let (thr, lat) = (format!("{root}/results/baseline/throughput"), format!("{root}/results/baseline/latency"));
    let cases: &[(&[&str], &str)] = &[
        (&["throughput", &w, "--algo", "dp", "--algo", "dp"], "given twice"),
        (&["regress", "--baseline", nothing.to_str().unwrap()], "no baseline"),
        (&["compare", &thr, &lat], "share no"),
        (&["throughput", &w, "--algo", "dp", "--out", f], "a file, not a folder"),
        (&["hios", &w, "--gpus", "1", "--resume"], "--resume needs"),
        (&["hios", &w, "--contention", "reference", "--beta", "0.2"], "--beta"),
    ];
    for (args, what) in cases {
        let (code, err) = bench(args);
        assert_eq!(code, Some(2), "{args:?}: {err}");
        assert!(err.contains(what) && err.lines().count() == 1, "{args:?}: {err}");
    }
    assert_eq!(std::fs::read(&file).unwrap(), b"x");
}

/// Ctrl-C keeps what finished: the first interrupt lets running cells end and starts no more,
/// the results of the finished cells are written (the others are rows marked not run), the
/// exit code is 130, and `--resume` runs only the rest. (Should the run end before the
/// interrupt arrives, it must have finished normally, without a journal left.)
#[test]
fn an_interrupted_run_keeps_its_cells_and_resumes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("run");
    let args = |resume: bool| {
        let mut v = vec!["throughput", "--algo", "dp", "--algo", "ip-contig", "--algo", "ip-noncontig"];
        v.extend(["--time-limit", "2", "--threads", "1", "--out", out.to_str().unwrap()]);
        if resume {
            v.push("--resume");
        }
        v.into_iter().map(String::from).collect::<Vec<_>>()
    };
    let mut child = Command::new(env!("CARGO_BIN_EXE_bench")).args(args(false)).stderr(Stdio::piped()).spawn().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    // SAFETY: signalling a child process of this test.
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGINT);
    }
    let status = child.wait().unwrap();
    let csv = std::fs::read_to_string(out.join("results.csv")).expect("results written");
    let journal = out.join(".journal.jsonl");
    if status.code() == Some(130) {
        assert!(csv.contains("not run"), "{csv}");
        assert!(journal.exists());
        let (code, err) = bench(&args(true).iter().map(String::as_str).collect::<Vec<_>>());
        assert_eq!(code, Some(0), "{err}");
        assert!(err.contains("resuming:"), "{err}");
        let csv = std::fs::read_to_string(out.join("results.csv")).unwrap();
        assert!(!csv.contains("not run"), "{csv}");
    } else {
        assert_eq!(status.code(), Some(0));
        assert!(!csv.contains("not run") && !journal.exists());
    }
    assert!(!journal.exists(), "a finished run leaves no journal");
}

/// `regress --update --algo X` reruns X on the baseline's workloads and replaces only X's
/// rows: every other row stays byte for byte, the pass is recorded in the metadata, and the
/// refreshed baseline then compares clean. Run on a copy of the committed baseline with the
/// embedded workloads only, so the paper rows stay as they are too.
#[test]
fn regress_refresh_replaces_only_the_named_algorithms_rows() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().expect("temp dir");
    for kind in ["throughput", "latency"] {
        std::fs::create_dir_all(dir.path().join(kind)).unwrap();
        for f in ["results.csv", "results.json"] {
            std::fs::copy(root.join("results/baseline").join(kind).join(f), dir.path().join(kind).join(f)).unwrap();
        }
    }
    let b = dir.path().to_str().unwrap();
    let rows = |kind: &str| -> Vec<String> {
        let text = std::fs::read_to_string(dir.path().join(kind).join("results.csv")).unwrap();
        text.lines().filter(|l| !l.contains(",scotch,")).map(str::to_owned).collect()
    };
    let before = (rows("throughput"), rows("latency"));
    let (code, err) = bench(&["regress", "--baseline", b, "--update", "--algo", "scotch", "--quiet"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("rows replaced"), "{err}");
    assert_eq!((rows("throughput"), rows("latency")), before, "a row of another algorithm changed");
    let meta = std::fs::read_to_string(dir.path().join("throughput/results.json")).unwrap();
    assert!(meta.contains("\"refreshed\"") && meta.contains("--algo scotch"), "refresh not recorded");
    let (code, err) = bench(&["regress", "--baseline", b, "--algo", "scotch", "--quiet"]);
    assert_eq!(code, Some(0), "{err}");
    let (code, err) = bench(&["regress", "--baseline", b, "--algo", "no-such", "--quiet"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("unknown algorithm"), "{err}");
}

/// `bench hios --resume` keeps the cells of the run's journal and schedules only the rest.
#[test]
fn a_resumed_hios_sweep_keeps_the_journals_cells() {
    use clap::Parser;
    use placebench::cli::args::{Cli, Command};
    use placebench::hios::sweep::hios_records;
    use placebench::run::{CellResult, Journal};
    let w = workload();
    let parse = || {
        let argv = ["bench", "hios", &w, "--algo", "sequential", "--algo", "heft", "--gpus", "2", "--threads", "1"];
        match Cli::try_parse_from(argv).expect("arguments parse").command {
            Command::Hios(a) => a,
            other => panic!("parsed as {other:?}"),
        }
    };
    let (first, _) = hios_records(&parse(), None).expect("sweep runs");
    assert_eq!(first.len(), 2);
    let dir = tempfile::tempdir().expect("temp dir");
    let j = Journal::open(dir.path(), false).unwrap();
    let mut kept = CellResult { record: first[0].clone(), artifact: None };
    kept.record.message = "kept from the journal".into();
    j.append(&kept);
    drop(j);
    let j = Journal::open(dir.path(), true).unwrap();
    assert_eq!(j.resumed(), 1);
    let (again, _) = hios_records(&parse(), Some(&j)).expect("sweep runs");
    assert_eq!(again.len(), 2);
    assert_eq!(again[0].message, "kept from the journal", "the journal's cell was rerun");
    assert_eq!(again[1].message, first[1].message, "the other cell was not run afresh");
}
