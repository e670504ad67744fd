//! `bench dart`: choose pipelines for task sets with every method, simulate and check them,
//! write their rows and run files, print the table; `bench dart gen`: write a generated set.

use super::sweep::Finished;
use crate::error::Result;
use crate::multitenant::dart::sweep::{dart_records, gen_taskset, only_presets, DartArgs, DartCommand};
use crate::multitenant::salus::sweep::write_or_print;
use crate::results::out::OutDir;
use crate::run::session::{metadata, set_threads};
use std::path::PathBuf;

pub fn dart(a: DartArgs) -> Result<i32> {
    if let Some(DartCommand::Gen(g)) = a.command {
        write_or_print(g.out.as_deref(), &gen_taskset(&g)?)?;
        return Ok(0);
    }
    let a = a.run;
    let threads = set_threads(&a.common);
    let out = a.out.clone().or_else(|| only_presets(&a).then(|| PathBuf::from("results/dart")));
    let _claim = out.as_deref().map(OutDir::claim).transpose()?;
    let journal = crate::run::journal::start(out.as_deref(), a.resume)?;
    let (records, files) = dart_records(&a, journal.as_ref())?;
    let meta = metadata(&a.common, threads);
    let done = Finished { records: &records, files: &files, subdir: "runs", meta, json: a.json };
    super::sweep::report(out.as_deref(), done, journal, |_| Ok(()))
}
