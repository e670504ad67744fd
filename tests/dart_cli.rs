//! `bench dart` from the command line: bad task sets exit 2 with one line naming file, task
//! and field and write nothing; the preset runs with every row confirmed by the checker, its
//! run files' timelines consistent and drawn; `bench dart gen` is seeded and its sets read
//! back; `bench dart ratio` counts its rows.

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
        ("neither.json", task(r#""period_ms":10"#), "one of a zoo model, a workload or layers"),
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
    assert_eq!(rows.len(), 2 * 7, "two sets × seven methods");
    for r in &rows {
        let status = r["status"].as_str().unwrap();
        assert!(["feasible", "infeasible", "skipped"].contains(&status), "{r}");
        if status == "feasible" {
            assert!(r["notes"].as_str().unwrap().contains("misses=0"), "{r}");
        }
        if status != "skipped" && r["objective"].is_number() {
            let file = out.join("runs").join(r["placement_file"].as_str().unwrap());
            let run: serde_json::Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
            timeline_is_consistent(&run);
            let stem =
                format!("{}__{}_timeline.png", r["workload"].as_str().unwrap(), r["algorithm"].as_str().unwrap());
            assert!(out.join("figures").join(stem.replace('/', "__")).exists(), "{r}");
        }
    }
    assert!(out.join("results.csv").exists());
}

/// A run file's timeline: every bar on a named lane, not ending before it starts, naming a
/// task of the set; no two bars of a lane overlap (a node, or a task's stream, runs one unit
/// at a time).
fn timeline_is_consistent(run: &serde_json::Value) {
    let lanes = run["lanes"].as_array().unwrap().len();
    let tasks = run["tasks"].as_array().unwrap().len();
    let segs = run["timeline"].as_array().unwrap();
    assert!(!segs.is_empty());
    let mut by_lane: Vec<Vec<(f64, f64)>> = vec![Vec::new(); lanes];
    for s in segs {
        let (a, b) = (s["start_ms"].as_f64().unwrap(), s["end_ms"].as_f64().unwrap());
        assert!(b >= a, "{s}");
        assert!((s["task"].as_u64().unwrap() as usize) < tasks, "{s}");
        by_lane[s["lane"].as_u64().unwrap() as usize].push((a, b));
    }
    for lane in &mut by_lane {
        lane.sort_by(|x, y| x.0.total_cmp(&y.0));
        for w in lane.windows(2) {
            assert!(w[1].0 >= w[0].1 - 1e-9, "overlapping units {w:?}");
        }
    }
}

/// `bench dart ratio`: each point's ratio is the share of its rows that are feasible (counted
/// here from results.json), and wherever the one-node baseline runs a set, DART runs it too
/// (its candidates include one-node's, and an admitted set misses nothing). A reversed range
/// exits 2, its error naming the flag, nothing written.
#[test]
fn the_ratio_sweep_counts_its_rows() {
    let d = scratch("ratio");
    let out = d.join("out");
    let args = ["dart", "ratio", "--utilisations", "0.3:0.9:0.3", "--sets", "4", "--tasks", "4", "--layers", "3"];
    let more = ["--cores", "4", "--patterns", "3", "-q", "--out", out.to_str().unwrap()];
    let (code, _, err) = bench(&[&args[..], &more[..]].concat());
    assert_eq!(code, Some(0), "{err}");
    let rows: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("results.json")).unwrap()).unwrap();
    let rows = rows["records"].as_array().unwrap();
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("ratio").join("ratio.json")).unwrap()).unwrap();
    let points = summary["points"].as_array().unwrap();
    let mut methods: Vec<&str> =
        rows.iter().filter(|r| r["status"] != "skipped").map(|r| r["algorithm"].as_str().unwrap()).collect();
    methods.sort();
    methods.dedup();
    assert_eq!(points.len(), 3 * methods.len(), "three utilisations × the methods that ran");
    for p in points {
        let (u, m) = (p["utilisation"].as_f64().unwrap(), p["method"].as_str().unwrap());
        let of: Vec<&serde_json::Value> = rows
            .iter()
            .filter(|r| r["algorithm"] == m && r["workload"].as_str().unwrap().starts_with(&format!("gen/u={u}/")))
            .collect();
        let ok = of.iter().filter(|r| r["status"] == "feasible" && r["feasible"] == true).count();
        assert_eq!((p["sets"].as_u64().unwrap() as usize, p["schedulable"].as_u64().unwrap() as usize), (of.len(), ok));
        assert_eq!(of.len(), 4, "{p}");
    }
    for r in rows.iter().filter(|r| r["algorithm"] == "one-node" && r["status"] == "feasible") {
        let dart = rows.iter().find(|d| d["algorithm"] == "dart" && d["workload"] == r["workload"]).unwrap();
        assert_eq!(dart["status"], "feasible", "{}", r["workload"]);
    }
    assert!(out.join("ratio").join("ratio.png").exists() && out.join("ratio").join("ratio.csv").exists());
    let (code, _, err) =
        bench(&["dart", "ratio", "--utilisations", "0.9:0.3:0.1", "--out", d.join("bad").to_str().unwrap()]);
    assert_eq!(code, Some(2));
    assert!(err.lines().next().unwrap().contains("--utilisations"), "{err}");
    assert!(!d.join("bad").exists());
}

/// A task from a dnn-partitioning workload: its layers keep the workload's accelerator and CPU
/// times (sums compared with the file's), and the set runs.
#[test]
fn a_task_from_a_paper_workload() {
    let inputs = std::env::var("PLACEBENCH_PAPER_INPUTS")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/dnn-partitioning"));
    let w = inputs.join("latency-inputs/LayerGraphs/resnet50_inference.json");
    if !w.exists() {
        eprintln!("skipped: the paper's inputs are absent");
        return;
    }
    let d = scratch("paper");
    let set = d.join("set.json");
    let text = format!(
        r#"{{"schema_version":1,"tasks":[{{"name":"r","class":"rt","period_ms":1000,"workload":{:?},"blocks":8}},{{"name":"b","class":"be","period_ms":1000,"model":"nasnet-mobile"}}]}}"#,
        w.to_str().unwrap()
    );
    std::fs::write(&set, text).unwrap();
    let cost = placebench::zoo::cost::CostModel::resolve("h200", "pcie").unwrap();
    let ts = placebench::multitenant::dart::taskset::read_taskset(&set, &cost).unwrap();
    let file: serde_json::Value = serde_json::from_slice(&std::fs::read(&w).unwrap()).unwrap();
    let sum = |k: &str| file["nodes"].as_array().unwrap().iter().map(|n| n[k].as_f64().unwrap()).sum::<f64>();
    let layers = &ts.tasks[0].layers;
    assert_eq!(layers.len(), 8);
    let (g, c) = (layers.iter().map(|l| l.gpu_ms).sum::<f64>(), layers.iter().map(|l| l.core_ms).sum::<f64>());
    assert!((g - sum("fpgaLatency")).abs() < 1e-6 * g && (c - sum("cpuLatency")).abs() < 1e-6 * c, "{g} {c}");
    let out = d.join("out");
    let (code, stdout, err) = bench(&[
        "dart",
        set.to_str().unwrap(),
        "--method",
        "dart",
        "--patterns",
        "3",
        "-q",
        "--json",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(0), "{err}");
    let rows: Vec<serde_json::Value> = serde_json::from_str(&stdout).unwrap();
    assert!(["feasible", "infeasible"].contains(&rows[0]["status"].as_str().unwrap()), "{}", rows[0]);
}
