//! `bench salus`: run GPU-sharing policies on traces, write their rows, run files and
//! figures, print the table; `bench salus gen`: write a generated trace.

use super::sweep::Finished;
use crate::error::Result;
use crate::multitenant::salus::sweep::{
    gen_trace, only_presets, salus_records, write_or_print, SalusArgs, SalusCommand,
};
use crate::results::out::OutDir;
use crate::results::Record;
use crate::run::session::{metadata, set_threads};
use std::path::{Path, PathBuf};

pub fn salus(a: SalusArgs) -> Result<i32> {
    match a.command {
        Some(SalusCommand::Gen(g)) => {
            write_or_print(g.out.as_deref(), &gen_trace(&g)?)?;
            return Ok(0);
        }
        Some(SalusCommand::Corun(c)) => return crate::multitenant::salus::corun::corun(&c),
        None => {}
    }
    let a = a.run;
    let threads = set_threads(&a.output.common);
    if a.gpu {
        let out = a.out.clone().unwrap_or_else(|| PathBuf::from("results/salus-gpu"));
        return super::sweep::gpu_run(&out, &a.output, threads, || crate::multitenant::salus::gpu_run::run(&a));
    }
    let out = a.out.clone().or_else(|| only_presets(&a).then(|| PathBuf::from("results/salus")));
    let _claim = out.as_deref().map(OutDir::claim).transpose()?;
    let journal = crate::run::journal::start(out.as_deref(), a.output.resume)?;
    let (records, files) = salus_records(&a, journal.as_ref())?;
    let meta = metadata(&a.output.common, threads);
    let done = Finished { records: &records, files: &files, subdir: "runs", meta, json: a.output.json };
    super::sweep::report(out.as_deref(), done, journal, |dir| figures(&records, &files, &dir.join("figures")))
}

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
