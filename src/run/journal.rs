//! The journal of a run: every finished cell appended to `--out/.journal.jsonl` as it finishes
//! (its row and its placement or schedule), so that a run stopped part way (Ctrl-C, a killed
//! job) keeps what finished, and `--resume` reruns only the rest. The first Ctrl-C lets the
//! cells running finish and starts no more; the results of what finished are written as
//! usual, with the run marked interrupted. A second Ctrl-C ends the process at once.

use crate::error::{Error, Result};
use crate::family::CellResult;
use crate::results::Record;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

/// The journal's name inside `--out`.
pub const JOURNAL: &str = ".journal.jsonl";

/// Version of a journal line.
const JOURNAL_VERSION: u32 = 1;

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Whether Ctrl-C was pressed since the run began (no cell starts after it).
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::Relaxed)
}

extern "C" fn on_interrupt(_: libc::c_int) {
    INTERRUPTED.store(true, Ordering::Relaxed);
    // SAFETY: `signal` is async-signal-safe; the next Ctrl-C gets the default action.
    unsafe {
        libc::signal(libc::SIGINT, libc::SIG_DFL);
    }
}

/// Catches the first Ctrl-C (see the module doc).
pub fn catch_interrupt() {
    #[cfg(unix)]
    // SAFETY: the handler only stores to an atomic and resets the signal's action.
    unsafe {
        libc::signal(libc::SIGINT, on_interrupt as *const () as libc::sighandler_t);
    }
}

/// What identifies a cell across runs: workload (and its content), algorithm, options, seed.
type Key = (String, String, String, String, u64);

fn key(r: &Record) -> Key {
    (r.workload.clone(), r.workload_hash.clone(), r.algorithm.clone(), r.options.clone(), r.seed)
}

#[derive(Serialize, Deserialize)]
struct Line {
    journal_version: u32,
    record: Record,
    artifact: Option<serde_json::Value>,
}

/// An open journal: the cells it held when opened (with `--resume`) and the file new ones go to.
pub struct Journal {
    path: PathBuf,
    file: Mutex<std::fs::File>,
    done: HashMap<Key, CellResult>,
}

impl Journal {
    /// Opens the journal of `dir`: with `resume`, the cells it holds are kept and not rerun;
    /// without, it starts empty. A last line cut short by a crash is ignored.
    pub fn open(dir: &Path, resume: bool) -> Result<Journal> {
        let path = dir.join(JOURNAL);
        let mut done = HashMap::new();
        if resume {
            if let Ok(f) = std::fs::File::open(&path) {
                for line in std::io::BufReader::new(f).lines().map_while(std::result::Result::ok) {
                    if let Ok(l) = serde_json::from_str::<Line>(&line) {
                        done.insert(key(&l.record), CellResult { record: l.record, artifact: l.artifact });
                    }
                }
            }
        }
        let torn = resume && std::fs::read(&path).is_ok_and(|b| b.last().is_some_and(|&c| c != b'\n'));
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(!resume)
            .append(resume)
            .open(&path)
            .map_err(|e| Error::io(&path, e))?;
        // New lines start on a line of their own after a line cut short.
        if torn {
            file.write_all(b"\n").map_err(|e| Error::io(&path, e))?;
        }
        Ok(Journal { path, file: Mutex::new(file), done })
    }

    /// How many cells the journal held when opened.
    pub fn resumed(&self) -> usize {
        self.done.len()
    }

    /// The result of a cell finished before (same workload, content, algorithm, options, seed).
    pub fn finished(&self, header: &Record) -> Option<CellResult> {
        self.done.get(&key(header)).cloned()
    }

    /// Appends a finished cell (one line, flushed).
    pub fn append(&self, c: &CellResult) {
        let line = Line { journal_version: JOURNAL_VERSION, record: c.record.clone(), artifact: c.artifact.clone() };
        let Ok(mut text) = serde_json::to_string(&line) else { return };
        text.push('\n');
        if let Ok(mut f) = self.file.lock() {
            if f.write_all(text.as_bytes()).and_then(|_| f.flush()).is_err() {
                eprintln!("warning: {}: could not append to the journal", self.path.display());
            }
        }
    }

    /// Removes the journal once the run's results are written.
    pub fn close(self) {
        std::fs::remove_file(&self.path).ok();
    }
}

/// Ends a run's journal: removed when the run finished, kept for `--resume` when it was
/// interrupted, in which case the count of finished cells is reported. True when interrupted.
pub fn end(journal: Option<Journal>, records: &[&Record]) -> bool {
    let stopped = interrupted();
    if let Some(j) = journal.filter(|_| !stopped) {
        j.close();
    }
    if stopped {
        let done = records.iter().filter(|r| !r.message.starts_with("not run:")).count();
        eprintln!("interrupted: {done} of {} cells finished and were written; --resume runs the rest", records.len());
    }
    stopped
}

/// Opens the journal of a run into `out` (none without one), after checking `--resume` has
/// a folder to resume, and starts catching Ctrl-C.
pub fn start(out: Option<&Path>, resume: bool) -> Result<Option<Journal>> {
    if resume && out.is_none() {
        return Err(Error::Usage("--resume needs the --out folder of the run to resume".into()));
    }
    let journal = out.map(|d| Journal::open(d, resume)).transpose()?;
    if let Some(j) = journal.as_ref().filter(|j| j.resumed() > 0) {
        eprintln!("resuming: {} cell(s) finished before are kept", j.resumed());
    }
    catch_interrupt();
    Ok(journal)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::Status;

    fn cell(algorithm: &str) -> CellResult {
        let mut record = Record::new("w", "h", "throughput", algorithm, String::new(), 0);
        record.status = Status::Optimal;
        CellResult { record, artifact: Some(serde_json::json!({"cpus": []})) }
    }

    /// Cells appended are kept by a resumed journal, a torn last line is ignored, and a fresh
    /// (not resumed) journal starts empty.
    #[test]
    fn a_resumed_journal_keeps_every_whole_line() {
        let d = tempfile::tempdir().unwrap();
        let j = Journal::open(d.path(), false).unwrap();
        j.append(&cell("dp"));
        j.append(&cell("scotch"));
        drop(j);
        let mut f = std::fs::OpenOptions::new().append(true).open(d.path().join(JOURNAL)).unwrap();
        f.write_all(b"{\"journal_version\": 1, \"record\": {").unwrap();
        let j = Journal::open(d.path(), true).unwrap();
        assert_eq!(j.resumed(), 2);
        j.append(&cell("pipedream"));
        drop(j);
        let j = Journal::open(d.path(), true).unwrap();
        assert_eq!(j.resumed(), 3, "a line appended after the torn one is whole");
        let kept = j.finished(&cell("dp").record).expect("dp kept");
        assert_eq!(kept.record.status, Status::Optimal);
        assert!(kept.artifact.is_some());
        assert!(j.finished(&cell("ip-contig").record).is_none());
        drop(j);
        assert_eq!(Journal::open(d.path(), false).unwrap().resumed(), 0);
    }
}
