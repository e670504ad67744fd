//! `--shard I/N`: the N parts of a sweep are disjoint, cover it, and each row equals the
//! one-machine run's (timings aside), for the placement and the packing family.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

fn bench(args: &[&str]) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_bench")).args(args).output().expect("bench runs");
    (out.status.code(), String::from_utf8_lossy(&out.stderr).into())
}

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("placebench-shard-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// (workload, algorithm, options) → (status, objective) of a results.csv.
fn rows(dir: &Path) -> BTreeMap<(String, String, String), (String, String)> {
    let mut r = csv::Reader::from_path(dir.join("results.csv")).unwrap();
    let h = r.headers().unwrap().clone();
    let col = |n: &str| h.iter().position(|x| x == n).unwrap();
    r.records()
        .map(Result::unwrap)
        .map(|x| {
            let k = (x[col("workload")].to_owned(), x[col("algorithm")].to_owned(), x[col("options")].to_owned());
            (k, (x[col("status")].to_owned(), x[col("objective")].to_owned()))
        })
        .collect()
}

/// Runs the sweep whole and in `parts` shards, checks the shards, merges them and compares the
/// merge with the whole run; returns the shards' folders.
fn check(name: &str, args: &[&str], parts: usize, shard_args: &[&str]) -> Vec<PathBuf> {
    let whole = scratch(&format!("{name}-whole"));
    let mut a: Vec<&str> = args.to_vec();
    let w = whole.to_str().unwrap().to_owned();
    a.extend(["--out", &w, "-q"]);
    let (code, err) = bench(&a);
    assert_eq!(code, Some(0), "{err}");
    let all = rows(&whole);
    let mut union = BTreeMap::new();
    let mut dirs = Vec::new();
    for i in 0..parts {
        let dir = scratch(&format!("{name}-{i}"));
        let (d, s) = (dir.to_str().unwrap().to_owned(), format!("{i}/{parts}"));
        let mut a: Vec<&str> = args.to_vec();
        a.extend(["--out", &d, "-q", "--shard", &s]);
        a.extend(shard_args);
        let (code, err) = bench(&a);
        assert_eq!(code, Some(0), "shard {s}: {err}");
        let meta: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join("results.json")).unwrap()).unwrap();
        assert_eq!(meta["metadata"]["shard"].as_str(), Some(s.as_str()), "{meta:?}");
        for (k, v) in rows(&dir) {
            assert!(union.insert(k.clone(), v).is_none(), "{k:?} in two shards");
        }
        dirs.push(dir);
    }
    assert_eq!(union, all, "{name}: the shards' rows differ from the one-machine run's");
    let merged = scratch(&format!("{name}-merged"));
    let mut a = vec!["merge".to_owned()];
    a.extend(dirs.iter().map(|d| d.to_string_lossy().into_owned()));
    a.extend(["--out".to_owned(), merged.to_string_lossy().into_owned()]);
    let (code, err) = bench(&a.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(rows(&merged), all, "{name}: the merge differs from the one-machine run");
    let (code, err) = bench(&["compare", whole.to_str().unwrap(), merged.to_str().unwrap(), "--strict"]);
    assert_eq!(code, Some(0), "{name}: bench compare finds a difference: {err}");
    let files = |d: &Path| {
        walkdir::WalkDir::new(d).into_iter().filter_map(|e| e.ok()).filter(|e| e.file_type().is_file()).count()
    };
    assert_eq!(files(&merged), files(&whole), "{name}: the cells' files");
    dirs
}

#[test]
fn shards_are_disjoint_and_cover_the_sweep() {
    let algos = ["throughput", "--algo", "dp", "--algo", "one-device", "--algo", "expert", "--algo", "pipedream"];
    check("throughput", &algos, 3, &[]);
    // Balanced by the committed baseline's times instead of the hash.
    let baseline = concat!(env!("CARGO_MANIFEST_DIR"), "/results/baseline/throughput");
    check("throughput-costs", &algos, 3, &["--shard-costs", baseline]);
    let dirs = check("nwv", &["nwv", "variants", "--sweep", "3"], 2, &[]);
    let arg = |d: &Path| d.to_str().unwrap().to_owned();
    let out = scratch("refused");
    // A shard missing: merged all the same, reported, exit 1.
    let (code, err) = bench(&["merge", &arg(&dirs[0]), "--out", &arg(&out)]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("missing shards: 1/2"), "{err}");
    // The same shard twice, and a shard of another sweep: refused, nothing written.
    let out = scratch("twice");
    let (code, err) = bench(&["merge", &arg(&dirs[0]), &arg(&dirs[0]), "--out", &arg(&out)]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("metadata.shard") && !out.exists(), "{err}");
    let other = scratch("other");
    let (code, err) = bench(&["nwv", "variants", "--sweep", "2", "--shard", "1/2", "--out", &arg(&other), "-q"]);
    assert_eq!(code, Some(0), "{err}");
    let (code, err) = bench(&["merge", &arg(&dirs[0]), &arg(&other), "--out", &arg(&out)]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("metadata.command") && err.trim().lines().count() == 1 && !out.exists(), "{err}");
}

#[test]
fn a_bad_shard_is_refused_before_anything_runs() {
    for bad in ["3/3", "x", "1/0"] {
        let (code, err) = bench(&["throughput", "--algo", "dp", "--shard", bad]);
        assert_eq!(code, Some(2), "{bad}: {err}");
        assert!(err.contains("--shard"), "{bad}: {err}");
    }
    let (code, err) = bench(&["throughput", "--algo", "dp", "--shard", "0/2", "--shard-costs", "no/such/results"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("--shard-costs") && err.contains("no/such/results"), "{err}");
}
