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
        (&["hios", &w, "--max-group", "0", "--out", o], "--max-group"),
        (&["hios", &w, "--beta=-1", "--out", o], "--beta"),
        (&["compare", &w, &w, "--tolerance=-1"], "--tolerance"),
        (&["regress", "--tolerance=-1"], "--tolerance"),
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
