//! Typed errors of the library; each one names the file and, for bad input, the field.

use std::path::PathBuf;

/// Everything the library can fail with. `main.rs` turns these into a one-line message and a
/// non-zero exit; nothing here panics on user input.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A workload, split or result file that does not follow its format. `location` names the
    /// node, edge or field (for example `node 12: field "fpgaLatency"`).
    #[error("{}: {location}: {message}", file.display())]
    Input { file: PathBuf, location: String, message: String },
    /// Reading or writing a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A request that cannot be carried out (unknown algorithm, missing directory, ...).
    #[error("{0}")]
    Usage(String),
    /// An algorithm failed in a way that is not the workload's fault.
    #[error("{0}")]
    Algorithm(String),
    /// The cell's time limit ran out before the algorithm had an answer: a `timeout` row.
    #[error("{0}")]
    TimedOut(String),
    /// The instance lies beyond what an exact method can enumerate (too many ideals): the
    /// runner records the cell as skipped, not failed.
    #[error("{0}")]
    OutOfReach(String),
    /// A GPU, its driver or a library call failed, or a plan cannot run on the GPUs here.
    #[error("{0}")]
    Gpu(String),
    /// A schedule that the simulator or the schedule check rejects.
    #[error("{0}")]
    Schedule(String),
}

impl Error {
    /// A bad-input error. Control characters of the input quoted in `location` or `message`
    /// (a key with an escaped newline) are written as escapes, so the message stays one line.
    pub fn input(file: impl Into<PathBuf>, location: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Input { file: file.into(), location: one_line(location.into()), message: one_line(message.into()) }
    }

    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io { path: path.into(), source }
    }
}

fn one_line(s: String) -> String {
    if !s.chars().any(char::is_control) {
        return s;
    }
    s.chars().map(|c| if c.is_control() { c.escape_default().to_string() } else { c.to_string() }).collect()
}

/// The library's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
