//! `bench nwv` from the command line: bad networks exit 2 with one line naming the file and
//! the field and write nothing; the variants preset runs with every row confirmed, its run
//! files agreeing with its rows, its figure drawn and its packings exported; the reference
//! preset's greedy rows share pages level by level as the reference's log records.

use std::path::PathBuf;
use std::process::Command;

fn bench(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_bench")).args(args).output().expect("bench runs");
    (out.status.code(), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
}

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("placebench-nwv-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn bad_networks_exit_2_with_one_line_and_write_nothing() {
    let d = scratch("bad");
    let f32s = |n: usize| vec![0u8; 4 * n];
    std::fs::write(d.join("short.weights.f32"), f32s(10)).unwrap();
    std::fs::write(d.join("short.fisher.f32"), f32s(12)).unwrap();
    std::fs::write(d.join("short.json"), r#"{"name":"short","num_weights":12}"#).unwrap();
    std::fs::write(d.join("nofield.json"), r#"{"name":"nofield"}"#).unwrap();
    std::fs::write(d.join("zero.json"), r#"{"name":"zero","num_weights":0}"#).unwrap();
    let cases = [
        ("short.json", "short.weights.f32", "field \"num_weights\""),
        ("nofield.json", "nofield.json", "num_weights"),
        ("zero.json", "zero.json", "field \"num_weights\""),
    ];
    for (file, names, want) in cases {
        let out = d.join(format!("{file}.out"));
        let path = d.join(file);
        let (code, _, err) = bench(&["nwv", path.to_str().unwrap(), "--out", out.to_str().unwrap(), "-q"]);
        assert_eq!(code, Some(2), "{file}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{file}: {err}");
        assert!(err.contains(names) && err.contains(want), "{file}: {err}");
        assert!(!out.exists(), "{file}: created the output folder");
    }
    // Without a GPU (or the cuda feature) --gpu says so in one line, creating nothing.
    let gpu_out = d.join("gpu");
    let (code, _, err) = bench(&["nwv", "zoo", "--gpu", "--out", gpu_out.to_str().unwrap()]);
    assert_eq!(code, Some(2), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("cuda") || err.contains("driver"), "{err}");
    assert!(!gpu_out.exists());
    let (code, _, err) = bench(&["nwv", "vgg99"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("vgg99") && err.trim().lines().count() == 1, "{err}");
    let (code, _, err) =
        bench(&["nwv", "variants", "--matcher", "hungarian-magic", "--out", d.join("m").to_str().unwrap()]);
    assert_eq!(code, Some(2));
    assert!(err.contains("unknown matcher"), "{err}");
}

fn csv_rows(path: &std::path::Path) -> Vec<csv::StringRecord> {
    csv::Reader::from_path(path).unwrap().records().map(Result::unwrap).collect()
}

#[test]
fn the_variants_preset_runs_confirmed_and_exports() {
    let d = scratch("run");
    let (out, export) = (d.join("out"), d.join("export"));
    let (code, _, err) = bench(&[
        "nwv",
        "variants",
        "--sweep",
        "2",
        "--passes",
        "1",
        "--out",
        out.to_str().unwrap(),
        "--export",
        export.to_str().unwrap(),
        "-q",
    ]);
    assert_eq!(code, Some(0), "{err}");
    let header = csv::Reader::from_path(out.join("results.csv")).unwrap().headers().unwrap().clone();
    let col = |n: &str| header.iter().position(|h| h == n).unwrap();
    let rows = csv_rows(&out.join("results.csv"));
    // Three sizes for the matchers that take one, one row each for dedup and no-sharing.
    assert_eq!(rows.len(), 3 * 3 + 2);
    let mut at_min = std::collections::HashMap::new();
    for r in &rows {
        assert_eq!(&r[col("status")], "feasible", "{r:?}");
        let file = out.join("runs").join(&r[col("placement_file")]);
        let run: serde_json::Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
        let objective: f64 = r[col("objective")].parse().unwrap();
        assert_eq!(run["cost"].as_f64().unwrap(), objective, "{}", file.display());
        if r[col("workload")].ends_with("@v=200") {
            at_min.insert(r[col("algorithm")].to_owned(), objective);
        }
        let v = run["virtual_pages"].as_u64().unwrap() as usize;
        let npy = export.join(format!("variants__{}__v{v}", &r[col("algorithm")])).join("virtual_weights.npy");
        assert_eq!(std::fs::metadata(&npy).unwrap().len() as usize % 4, 0, "{}", npy.display());
        assert!(std::fs::metadata(&npy).unwrap().len() as usize >= v * 100 * 4);
    }
    assert!(at_min["nwv-lap"] <= at_min["random"], "{at_min:?}");
    assert!(out.join("figures").join("variants_cost.png").exists());
}

#[test]
fn the_reference_greedy_levels_from_the_command_line() {
    let dir = placebench::multitenant::nwv::task::reference_dir();
    if !dir.join("mnist.json").exists() {
        eprintln!("skipped: the reference networks are not in {}", dir.display());
        return;
    }
    let d = scratch("reference");
    for faithful in [false, true] {
        let out = d.join(format!("out-{faithful}"));
        let mut args = vec!["nwv", "reference", "--matcher", "nwv-greedy", "--out", out.to_str().unwrap(), "-q"];
        if faithful {
            args.push("--faithful");
        }
        let (code, _, err) = bench(&args);
        assert_eq!(code, Some(0), "{err}");
        let run: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out.join("runs").join("reference@v=665__nwv-greedy.json")).unwrap())
                .unwrap();
        assert_eq!(run["levels"], serde_json::json!([0, 0, 0, 0, 636, 29]), "faithful={faithful}");
        assert!((run["packing_ratio"].as_f64().unwrap() - 4.0405).abs() < 1e-4);
    }
}
