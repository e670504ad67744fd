//! Profiled tenants: Salus's per-model workload list read and fitted (each run against the
//! fitted line), our tenant CSV replacing the zoo's numbers and refusing bad rows in one line,
//! `bench salus gen --workloads` drawing only the list's runs, and a profiled run confirmed.

use placebench::multitenant::profile::{read_profiles, Profiles};
use placebench::multitenant::tenant::{Kind, Tenant, TenantKey};
use placebench::zoo::cost::CostModel;
use placebench::zoo::Model;
use std::path::{Path, PathBuf};
use std::process::Command;

fn bench(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_bench")).args(args).output().expect("bench runs");
    (out.status.code(), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
}

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("placebench-profiles-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Salus's list, when `../shared/traces` is present.
fn salus_list() -> Option<PathBuf> {
    let f = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/traces/salus_workloads.csv");
    if f.exists() {
        Some(f)
    } else {
        eprintln!("skipped: ../shared/traces is absent");
        None
    }
}

/// 99 runs of 11 models × 3 batches; the line fitted through each model and batch's three runs
/// predicts every run's measured JCT within 3% (the fit recomputed here from the rows), with a
/// start-up of at least zero; the memory is the file's MiB.
#[test]
fn salus_list_is_read_and_fitted() {
    let Some(f) = salus_list() else { return };
    let p = read_profiles(&f).unwrap();
    assert_eq!((p.format, p.workloads.len(), p.entries.len()), ("salus", 99, 33));
    let text = std::fs::read_to_string(&f).unwrap();
    for e in &p.entries {
        let (a, b) = (e.startup_ms.unwrap() / 1e3, e.iter_ms.unwrap() / 1e3);
        assert!(a >= 0.0 && b > 0.0, "{e:?}");
        let runs: Vec<_> = p.workloads.iter().filter(|w| w.model == e.model && w.batch == e.batch).collect();
        assert_eq!(runs.len(), 3, "{} at {}", e.model, e.batch);
        for w in runs {
            let predicted = a + b * w.iterations as f64;
            assert!((predicted / w.jct_s - 1.0).abs() < 0.03, "{}: {predicted} vs {}", w.name, w.jct_s);
            let mem: f64 = text
                .lines()
                .find(|l| l.starts_with(&format!("{},", w.name)))
                .and_then(|l| l.split(',').nth(2))
                .and_then(|m| m.trim().parse().ok())
                .unwrap();
            assert_eq!(e.memory_bytes.unwrap(), mem * (1u64 << 20) as f64, "{}", w.name);
        }
    }
    // The persistent part is one number per model, below its least memory: the intercept of
    // memory over batch size (a hand count for VGG-11: 3709.6, 5087.5, 9203.4 MiB at 25, 50,
    // 100 give 1651.7 MiB).
    let vgg11: Vec<_> = p.entries.iter().filter(|e| e.model == "vgg11").collect();
    let pv = vgg11[0].persistent_bytes.unwrap() / (1u64 << 20) as f64;
    assert!((pv - 1651.65).abs() < 0.01, "{pv}");
    for e in &p.entries {
        if let Some(pb) = e.persistent_bytes {
            assert!(p.entries.iter().filter(|o| o.model == e.model).all(|o| o.persistent_bytes == Some(pb)));
            assert!(pb < e.memory_bytes.unwrap());
        }
    }
    // tf_cnn_benchmarks' names stay apart; its inception3 is the zoo's Inception-v3.
    assert!(p.find("vgg16", 50, Kind::Train).is_some());
    assert!(p.find("inception-v3", 25, Kind::Train).is_some());
    assert!(p.find("vgg16", 32, Kind::Train).is_none());
}

fn profiles(dir: &Path, text: &str) -> Profiles {
    let f = dir.join("tenants.csv");
    std::fs::write(&f, text).unwrap();
    read_profiles(&f).unwrap()
}

/// Measured columns replace the zoo's; a total memory alone keeps the zoo's proportion of
/// persistent to ephemeral bytes; blank columns keep the zoo's values.
#[test]
fn our_tenant_csv_replaces_what_it_measures() {
    let d = scratch("ours");
    let p = profiles(
        &d,
        "model,batch,kind,iter_ms,memory_mib,persistent_mib,ephemeral_mib,occupancy\n\
         resnet50,8,train,12.5,1024,,,0.5\n\
         bert,8,infer,,,100,200,\n",
    );
    let cost = CostModel::resolve("h200", "pcie").unwrap();
    let zoo = Tenant::from_zoo(TenantKey { model: Model::Resnet50, batch: 8, kind: Kind::Train }, &cost);
    let t = p.apply(p.find("resnet50", 8, Kind::Train).unwrap(), zoo.clone());
    assert_eq!((t.iter_ms, t.occupancy), (12.5, 0.5));
    assert!((t.footprint() - 1024.0 * (1u64 << 20) as f64).abs() < 1e-3);
    let share = |t: &Tenant| t.persistent_bytes / t.footprint();
    assert!((share(&t) - share(&zoo)).abs() < 1e-12);
    assert!(t.source.starts_with("profile tenants.csv row 2"), "{}", t.source);
    let zb = Tenant::from_zoo(TenantKey { model: Model::Bert, batch: 8, kind: Kind::Infer }, &cost);
    let b = p.apply(p.find("bert", 8, Kind::Infer).unwrap(), zb.clone());
    assert_eq!((b.iter_ms, b.occupancy), (zb.iter_ms, zb.occupancy));
    assert_eq!((b.persistent_bytes, b.ephemeral_bytes), (100.0 * 1048576.0, 200.0 * 1048576.0));
}

#[test]
fn bad_tenant_rows_exit_2_with_one_line() {
    let d = scratch("bad");
    let head = "model,batch,kind,iter_ms,occupancy\n";
    for (name, body, want) in [
        ("model.csv", "vgg99,8,train,1,\n", "row 2: field \"model\""),
        ("occ.csv", "resnet50,8,train,1,1.5\n", "row 2: field \"occupancy\""),
        ("time.csv", "resnet50,8,train,-3,\n", "row 2: field \"iter_ms\""),
        ("twice.csv", "resnet50,8,train,1,\nresnet50,8,train,2,\n", "row 3: field \"model\""),
    ] {
        let f = d.join(name);
        std::fs::write(&f, format!("{head}{body}")).unwrap();
        let out = d.join(format!("{name}.out"));
        let (code, _, err) =
            bench(&["salus", "hpo", "--tenants", f.to_str().unwrap(), "-q", "--out", out.to_str().unwrap()]);
        assert_eq!(code, Some(2), "{name}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{name}: {err}");
        assert!(err.contains(name) && err.contains(want), "{name}: {err}");
        assert!(!out.join("results.csv").exists());
    }
}

/// `gen --workloads` is seeded and writes only the list's runs (model, batch, iterations and
/// duration of one run each); with the list as tenants every job is profiled and every policy's
/// row is confirmed by the checker.
#[test]
fn a_trace_of_salus_runs_with_salus_profiles() {
    let Some(f) = salus_list() else { return };
    let d = scratch("gen");
    let (t, t2) = (d.join("t.csv"), d.join("t2.csv"));
    let list = f.to_str().unwrap();
    for out in [&t, &t2] {
        let (code, _, err) = bench(&[
            "salus",
            "gen",
            "--workloads",
            list,
            "--jobs",
            "24",
            "--seed",
            "5",
            "--out",
            out.to_str().unwrap(),
        ]);
        assert_eq!(code, Some(0), "{err}");
    }
    assert_eq!(std::fs::read(&t).unwrap(), std::fs::read(&t2).unwrap());
    let p = read_profiles(&f).unwrap();
    let trace = placebench::multitenant::trace::read_trace(&t).unwrap();
    for j in &trace.jobs {
        let ok = p.workloads.iter().any(|w| {
            w.model == j.written_model()
                && w.batch == j.batch
                && w.iterations == j.iterations
                && (Some(w.jct_s) == j.duration_s)
        });
        assert!(ok, "job {} is not a run of the list: {j:?}", j.id);
    }
    let out = d.join("out");
    let (code, stdout, err) =
        bench(&["salus", t.to_str().unwrap(), "--tenants", list, "-q", "--json", "--out", out.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{err}");
    let rows: Vec<serde_json::Value> = serde_json::from_str(&stdout).unwrap();
    assert_eq!(rows.len(), 10);
    for r in &rows {
        assert_eq!(r["status"], "feasible", "{r}");
        let notes = r["notes"].as_str().unwrap();
        let n = notes.split(';').find_map(|kv| kv.strip_prefix("profiled_tenants=")).unwrap();
        let (a, b) = n.split_once('/').unwrap();
        assert_eq!(a, b, "every tenant profiled: {notes}");
    }
}
