//! `bench salus`: run GPU-sharing policies on traces, write their rows and run files, print the
//! table; `bench salus gen`: write a generated trace.

use crate::error::Result;
use crate::multitenant::salus::sweep::{gen_trace, only_presets, salus_records, write_or_print, SalusArgs, SalusCommand};
use crate::results::out::{stage, OutDir};
use crate::results::table::print_table;
use crate::results::{write_results, Record};
use crate::run::session::{metadata, set_threads};
use std::path::PathBuf;

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
        let files: Vec<(String, Vec<u8>)> = files.into_iter().map(|(n, t)| (n, t.into_bytes())).collect();
        let staged = stage(dir, "runs", &files)?;
        write_results(dir, &metadata(&a.common, threads), &records)?;
        staged.commit()?;
        eprintln!("wrote {}", dir.join("results.csv").display());
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
