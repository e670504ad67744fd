//! What every sweeping command does once its cells have run: the rows and each cell's file
//! written under `--out` (the files staged and committed with the rows, so none is
//! half-written), then the table or JSON, the summary line and the exit code.

use crate::error::Result;
use crate::results::out::stage;
use crate::results::table::{print_summary, print_table};
use crate::results::{write_results, Record, RunMetadata};
use crate::run::Journal;
use std::path::Path;

/// A finished sweep: its rows, each cell's file (written under `subdir`), the run's metadata.
pub struct Finished<'a> {
    pub records: &'a [Record],
    pub files: &'a [(String, String)],
    pub subdir: &'a str,
    pub meta: RunMetadata,
    /// Print the rows as JSON instead of the table.
    pub json: bool,
}

/// Writes and prints a finished sweep; `then` runs after the files are in place (figures).
pub fn report(
    out: Option<&Path>,
    done: Finished,
    journal: Option<Journal>,
    then: impl FnOnce(&Path) -> Result<()>,
) -> Result<i32> {
    let Finished { records, files, subdir, meta, json } = done;
    if let Some(dir) = out {
        let bytes: Vec<(String, Vec<u8>)> = files.iter().map(|(n, t)| (n.clone(), t.clone().into_bytes())).collect();
        let staged = stage(dir, subdir, &bytes)?;
        write_results(dir, &meta, records)?;
        staged.commit()?;
        eprintln!("wrote {}", dir.join("results.csv").display());
        then(dir)?;
    }
    let refs: Vec<&Record> = records.iter().collect();
    if json {
        println!("{}", serde_json::to_string_pretty(&refs).unwrap_or_default());
    } else {
        print_table(&refs);
    }
    print_summary(&refs);
    if crate::run::journal::end(journal, &refs) {
        return Ok(130);
    }
    Ok(i32::from(records.iter().any(|r| r.status.is_failure())))
}

/// A command's `--gpu` run: the GPU checked before the output folder is claimed (without one
/// nothing is written), then `measure`'s rows and files written and reported.
pub fn gpu_run(
    out: &Path,
    output: &crate::run::options::OutputArgs,
    threads: usize,
    measure: impl FnOnce() -> Result<(Vec<Record>, Vec<crate::run::RunFile>)>,
) -> Result<i32> {
    crate::gpu::probe()?;
    let _claim = crate::results::out::OutDir::claim(out)?;
    let (records, files) = measure()?;
    let meta = crate::run::session::metadata(&output.common, threads);
    let done = Finished { records: &records, files: &files, subdir: "runs", meta, json: output.json };
    report(Some(out), done, None, |_| Ok(()))
}
