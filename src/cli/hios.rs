//! `bench hios`: run a scheduling sweep, write its rows and schedules, print the table.

use super::sweep::Finished;
use crate::error::Result;
use crate::hios::sweep::{hios_records, HiosArgs};
use crate::results::out::OutDir;
use crate::run::session::{metadata, set_threads};
use std::path::PathBuf;

pub fn hios(a: HiosArgs) -> Result<i32> {
    let threads = set_threads(&a.output.common);
    let out = a.out.clone().or_else(|| a.files.is_empty().then(|| PathBuf::from("results/hios")));
    let _claim = out.as_deref().map(OutDir::claim).transpose()?;
    let journal = crate::run::journal::start(out.as_deref(), a.output.resume)?;
    let (records, files) = hios_records(&a, journal.as_ref())?;
    let meta = metadata(&a.output.common, threads);
    let done = Finished { records: &records, files: &files, subdir: "schedules", meta, json: a.output.json };
    super::sweep::report(out.as_deref(), done, journal, |_| Ok(()))
}
