//! `bench dart` from the command line: bad task sets exit 2 with one line naming file, task
//! and field and write nothing; the preset runs with every row confirmed by the checker;
//! `bench dart gen` is seeded and its sets read back.

use std::path::PathBuf;
use std::process::Command;

fn bench(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_bench")).args(args).output().expect("bench runs");
    (out.status.code(), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
}

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("placebench-dart-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn bad_task_sets_exit_2_with_one_line_and_write_nothing() {
    let d = scratch("bad");
    let task = |body: &str| format!(r#"{{"schema_version":1,"tasks":[{{"name":"a","class":"rt",{body}}}]}}"#);
    let cases = [
        ("model.json", task(r#""period_ms":10,"model":"vgg99""#), "task \"a\": field \"model\""),
        ("period.json", task(r#""period_ms":-1,"model":"resnet50""#), "task \"a\": field \"period_ms\""),
        ("deadline.json", task(r#""period_ms":10,"deadline_ms":20,"model":"resnet50""#), "field \"deadline_ms\""),
        (
            "layer.json",
            task(
                r#""period_ms":10,"layers":[{"name":"x","gpu_ms":-2,"issue_ms":0,"core_ms":1,"sigma":0,"out_bytes":0}]"#,
            ),
            "layer \"x\": field \"gpu_ms\"",
        ),
        ("neither.json", task(r#""period_ms":10"#), "either a zoo model or layers"),
    ];
    for (file, text, want) in cases {
        let path = d.join(file);
        std::fs::write(&path, text).unwrap();
        let out = d.join(format!("{file}.out"));
        let (code, _, err) = bench(&["dart", path.to_str().unwrap(), "--out", out.to_str().unwrap(), "-q"]);
        assert_eq!(code, Some(2), "{file}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{file}: {err}");
        assert!(err.contains(file) && err.contains(want), "{file}: {err}");
        assert!(!out.join("results.csv").exists(), "{file}: wrote results");
    }
    let (code, _, err) = bench(&["dart", "--method", "edf-magic", "h200-zoo"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("unknown pipeline method"), "{err}");
}

#[test]
fn the_preset_and_a_generated_set_run_confirmed() {
    let d = scratch("run");
    let (a, b) = (d.join("a.json"), d.join("b.json"));
    for f in [&a, &b] {
        let (code, _, err) =
            bench(&["dart", "gen", "--tasks", "4", "--layers", "3", "--seed", "2", "--out", f.to_str().unwrap()]);
        assert_eq!(code, Some(0), "{err}");
    }
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap(), "gen is seeded");
    let out = d.join("out");
    let (code, stdout, err) = bench(&[
        "dart",
        "h200-zoo",
        a.to_str().unwrap(),
        "--cores",
        "4",
        "--max-nodes",
        "3",
        "--patterns",
        "5",
        "-q",
        "--json",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(0), "{err}");
    let rows: Vec<serde_json::Value> = serde_json::from_str(&stdout).unwrap();
    assert_eq!(rows.len(), 8);
    for r in &rows {
        let status = r["status"].as_str().unwrap();
        assert!(["feasible", "infeasible", "skipped"].contains(&status), "{r}");
        if status == "feasible" {
            assert!(r["notes"].as_str().unwrap().contains("misses=0"), "{r}");
            assert!(out.join("runs").join(r["placement_file"].as_str().unwrap()).exists());
        }
    }
    assert!(out.join("results.csv").exists());
}
