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
