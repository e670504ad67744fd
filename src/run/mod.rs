//! The one runner: runs any family's cells in parallel (a panic or an error becomes a row,
//! never stops the others; an instance out of an exact method's reach is a typed skip), times
//! each, and hands each answer to its family's checker.

pub mod isolate;
pub mod journal;
pub mod options;
pub mod parse;
mod placement;
pub mod regress;
pub mod session;
pub mod shard;

pub use crate::family::CellResult;
pub use placement::{fill_bounds, run_all, run_cell, run_cells, run_journaled, PlacementCell};

use crate::error::Error;
use crate::family::Cell;
use crate::results::Status;
use indicatif::{ProgressBar, ProgressStyle};
pub use journal::Journal;
use rayon::prelude::*;
use std::panic::AssertUnwindSafe;
use std::time::Instant;

/// Runs `cells` in parallel on the current rayon pool; results in the cells' order, whatever
/// order they finished in, then the family's [`Cell::finish`]. Under `--shard I/N` only the
/// cells of that part run and have rows. With a `journal`, a cell it
/// holds is not run again and each finished cell is appended to it; once Ctrl-C was pressed
/// no cell starts, and those not run are rows that say so.
pub fn run<C: Cell>(cells: &[C], progress: Option<&ProgressBar>, journal: Option<&Journal>) -> Vec<CellResult> {
    let finished = std::sync::atomic::AtomicUsize::new(0);
    let mine: Vec<&C> = if shard::current().is_some() {
        let headers: Vec<_> = cells.iter().map(Cell::header).collect();
        cells.iter().zip(shard::mine(&headers)).filter(|e| e.1).map(|e| e.0).collect()
    } else {
        cells.iter().collect()
    };
    if let (Some(p), true) = (progress, mine.len() < cells.len()) {
        p.set_length(mine.len() as u64);
    }
    let cells = mine;
    let mut results: Vec<CellResult> = cells
        .par_iter()
        .map(|c| {
            let h = c.header();
            if let Some(done) = journal.and_then(|j| j.finished(&h)) {
                if let Some(p) = progress {
                    p.inc(1);
                }
                return done;
            }
            if journal::interrupted() {
                let mut record = h;
                record.status = Status::Skipped;
                record.message = "not run: the run was interrupted (rerun with --resume)".into();
                return CellResult { record, artifact: None };
            }
            if let Some(p) = progress {
                // What is running now, as the bar said before the families shared a runner.
                p.set_message(format!("{} / {}", h.workload, h.algorithm));
            }
            let r = run_one(*c);
            if let Some(j) = journal {
                j.append(&r);
            }
            let n = finished.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            // A log (stderr not a terminal) gets a line per cell where a terminal gets the bar.
            if progress.is_some_and(|p| p.is_hidden()) {
                let rec = &r.record;
                eprintln!(
                    "[{n}/{}] {} / {}: {} in {:.2} s",
                    cells.len(),
                    rec.workload,
                    rec.algorithm,
                    rec.status.as_str(),
                    rec.wall_seconds
                );
            }
            if let Some(p) = progress {
                p.inc(1);
            }
            r
        })
        .collect();
    C::finish(&mut results);
    results
}

/// A file written beside the rows: its name and its text.
pub type RunFile = (String, String);

/// Runs `cells` with a progress bar (unless `quiet`) and turns each artifact into a run file
/// `<workload>__<algorithm>.json` that its row names: what every family's sweep writes.
pub fn run_with_files<C: Cell>(
    cells: &[C],
    quiet: bool,
    journal: Option<&Journal>,
) -> (Vec<crate::results::Record>, Vec<RunFile>) {
    let bar = progress_bar(cells.len(), quiet);
    let results = run(cells, bar.as_ref(), journal);
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let mut records = Vec::with_capacity(results.len());
    let mut files = Vec::new();
    for CellResult { record: mut r, artifact } in results {
        if let Some(v) = artifact {
            let name = format!("{}__{}.json", r.workload.replace('/', "__"), r.algorithm);
            files.push((name.clone(), serde_json::to_string(&v).unwrap_or_default() + "\n"));
            r.placement_file = Some(name);
        }
        records.push(r);
    }
    (records, files)
}

/// Runs one cell: applicability, the timed attempt, the checker.
pub fn run_one<C: Cell>(cell: &C) -> CellResult {
    let mut record = cell.header();
    if let Err(reason) = cell.applicable() {
        record.status = Status::Skipped;
        record.message = reason.0;
        return CellResult { record, artifact: None };
    }
    let start = Instant::now();
    let answer = std::panic::catch_unwind(AssertUnwindSafe(|| cell.attempt()));
    record.wall_seconds = start.elapsed().as_secs_f64();
    match answer {
        Ok(Ok(a)) => cell.judge(a, record),
        Ok(Err(Error::TimedOut(why))) => {
            record.status = Status::Timeout;
            record.message = why;
            CellResult { record, artifact: None }
        }
        Ok(Err(Error::OutOfReach(why))) => {
            record.status = Status::Skipped;
            record.message = why;
            CellResult { record, artifact: None }
        }
        Ok(Err(e)) => {
            record.status = Status::Error;
            record.message = e.to_string();
            CellResult { record, artifact: None }
        }
        Err(panic) => {
            record.status = Status::Error;
            record.message = format!("panicked: {}", panic_text(&panic));
            CellResult { record, artifact: None }
        }
    }
}

fn panic_text(p: &Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

/// A progress bar over `len` cells, or none when `quiet`.
pub fn progress_bar(len: usize, quiet: bool) -> Option<ProgressBar> {
    if quiet {
        return None;
    }
    let bar = ProgressBar::new(len as u64);
    let style = ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {pos}/{len} {msg}")
        .map(|s| s.progress_chars("=> "))
        .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    Some(bar)
}
