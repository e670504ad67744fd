//! `bench salus`: run GPU-sharing policies on traces, write their rows and run files, print the
//! table; `bench salus gen`: write a generated trace.

use crate::error::Result;
use crate::multitenant::salus::sweep::{
    gen_trace, only_presets, salus_records, write_or_print, SalusArgs, SalusCommand,
};
use crate::results::out::{stage, OutDir};
use crate::results::table::print_table;
use crate::results::{write_results, Record};
use crate::run::session::{metadata, set_threads};
use std::path::{Path, PathBuf};

/// The figures of each trace: JCT distribution, makespan bars, memory timeline.
fn figures(records: &[Record], files: &[(String, String)], dir: &Path) -> Result<()> {
    let runs: std::collections::HashMap<&str, serde_json::Value> =
        files.iter().filter_map(|(n, t)| Some((n.as_str(), serde_json::from_str(t).ok()?))).collect();
    let mut traces: Vec<&str> = records.iter().map(|r| r.workload.as_str()).collect();
    traces.dedup();
    for trace in traces {
        let of: Vec<&serde_json::Value> = records
            .iter()
            .filter(|r| r.workload == trace)
            .filter_map(|r| r.placement_file.as_deref().and_then(|f| runs.get(f)))
            .collect();
        for f in crate::plots::salus::plot(trace, &of, dir)? {
            eprintln!("wrote {}", f.png.display());
        }
    }
    Ok(())
}

pub fn salus(a: SalusArgs) -> Result<i32> {
    if let Some(SalusCommand::Gen(g)) = a.command {
        write_or_print(g.out.as_deref(), &gen_trace(&g)?)?;
        return Ok(0);
    }
    let a = a.run;
    let threads = set_threads(&a.common);
    let out = a.out.clone().or_else(|| only_presets(&a).then(|| PathBuf::from("results/salus")));
    let _claim = out.as_deref().map(OutDir::claim).transpose()?;
    let journal = crate::run::journal::start(out.as_deref(), a.resume)?;
    let (records, files) = salus_records(&a, journal.as_ref())?;
    if let Some(dir) = &out {
        let bytes: Vec<(String, Vec<u8>)> = files.iter().map(|(n, t)| (n.clone(), t.clone().into_bytes())).collect();
        let staged = stage(dir, "runs", &bytes)?;
        write_results(dir, &metadata(&a.common, threads), &records)?;
        staged.commit()?;
        eprintln!("wrote {}", dir.join("results.csv").display());
        figures(&records, &files, &dir.join("figures"))?;
    }
    let refs: Vec<&Record> = records.iter().collect();
    if a.json {
        println!("{}", serde_json::to_string_pretty(&refs).unwrap_or_default());
    } else {
        print_table(&refs);
    }
    crate::results::table::print_summary(&refs);
    if crate::run::journal::end(journal, &refs) {
        return Ok(130);
    }
    Ok(i32::from(records.iter().any(|r| r.status.is_failure())))
}
