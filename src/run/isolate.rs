//! Cells run in a process of their own: an algorithm that says it is `isolated` (the integer
//! programs) runs under a time limit as a child `bench cell`, which gets the workload, the
//! options and the time left on stdin and answers with its outcome on stdout. The parent
//! stops the child when it runs past its limit by more than a grace (HiGHS does not look at
//! the clock while a large model is built or presolved: 69 s at a 1 s limit on an 8,000-node
//! chain), and a crash of the solver's native code (an abort, a failed allocation) fails that
//! row instead of the whole run. Only the `bench` binary turns this on ([`enable`]); a library
//! user runs every cell in its own process.

use crate::algorithms::{self, Algorithm, Outcome, RunOptions};
use crate::error::{Error, Result};
use crate::workload::Workload;
use serde::{Deserialize, Serialize};
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

const CELL_SCHEMA_VERSION: u32 = 1;

static EXE: OnceLock<PathBuf> = OnceLock::new();

/// Runs isolated algorithms through this executable (`bench`, which has the `cell` command).
pub fn enable() {
    if let Ok(exe) = std::env::current_exe() {
        let _ = EXE.set(exe);
    }
}

/// How long past its limit a child may run before it is stopped: HiGHS stops itself close to
/// the limit once it solves; the grace covers the process start and reading the answer.
pub fn grace(limit: f64) -> Duration {
    Duration::from_secs_f64(2.0 + 0.05 * limit)
}

#[derive(Serialize, Deserialize)]
struct Request {
    schema_version: u32,
    algorithm: String,
    workload: Workload,
    opts: RunOptions,
}

#[derive(Serialize, Deserialize)]
enum Answer {
    Outcome(Box<Outcome>),
    TimedOut(String),
    OutOfReach(String),
    Failed(String),
}

/// Runs `algo` on `w`: in a child process when isolation is on, the algorithm asks for it and
/// the options carry a finite limit; in this process otherwise.
pub fn attempt(algo: &'static dyn Algorithm, w: &Workload, opts: &RunOptions) -> Result<Outcome> {
    let (Some(exe), Some(left)) = (EXE.get(), opts.remaining()) else { return algo.run(w, opts) };
    if !algo.isolated() {
        return algo.run(w, opts);
    }
    let limit = opts.time_limit.unwrap_or(left);
    let request = Request {
        schema_version: CELL_SCHEMA_VERSION,
        algorithm: algo.name().into(),
        workload: w.clone(),
        opts: RunOptions { time_limit: Some(left), ..opts.clone() },
    };
    let body = serde_json::to_vec(&request).map_err(|e| Error::Algorithm(format!("cell request: {e}")))?;
    let mut cmd = Command::new(exe);
    cmd.arg("cell").stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::inherit());
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        // Ctrl-C reaches only the parent, which lets running cells finish; the child dies with
        // the parent should the parent be killed.
        cmd.process_group(0);
        // SAFETY: prctl is async-signal-safe and touches nothing of the parent's.
        unsafe {
            cmd.pre_exec(|| {
                #[cfg(target_os = "linux")]
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
    }
    let mut child = cmd.spawn().map_err(|e| Error::Algorithm(format!("could not start {}: {e}", exe.display())))?;
    let mut stdout = child.stdout.take().ok_or_else(|| Error::Algorithm("child without stdout".into()))?;
    // Read on a thread of its own: a long answer would fill the pipe and stall the child.
    let reader = std::thread::spawn(move || {
        let mut out = Vec::new();
        stdout.read_to_end(&mut out).map(|_| out)
    });
    if let Some(mut stdin) = child.stdin.take() {
        // A child that died at once shows in its exit status below.
        let _ = stdin.write_all(&body);
    }
    let stop_at = Instant::now() + Duration::from_secs_f64(left) + grace(limit);
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() >= stop_at => {
                let _ = child.kill();
                let _ = child.wait();
                let _ = reader.join();
                return Err(Error::TimedOut(format!(
                    "stopped {:.1} s past its time limit of {limit} s (the solver did not return; it does not \
                     check the clock while it builds or presolves a model)",
                    grace(limit).as_secs_f64()
                )));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(Error::Algorithm(format!("waiting for the cell's process: {e}"))),
        }
    };
    let out = reader.join().ok().and_then(|r| r.ok()).unwrap_or_default();
    if !status.success() {
        return Err(Error::Algorithm(format!("the cell's process died ({status}) without an answer")));
    }
    match serde_json::from_slice::<Answer>(&out) {
        Ok(Answer::Outcome(o)) => Ok(*o),
        Ok(Answer::TimedOut(m)) => Err(Error::TimedOut(m)),
        Ok(Answer::OutOfReach(m)) => Err(Error::OutOfReach(m)),
        Ok(Answer::Failed(m)) => Err(Error::Algorithm(m)),
        Err(e) => Err(Error::Algorithm(format!("the cell's process answered unreadably: {e}"))),
    }
}

/// `bench cell`: the child's side. Reads a request on stdin, runs it here, answers on stdout.
pub fn serve() -> Result<i32> {
    let mut input = Vec::new();
    std::io::stdin().read_to_end(&mut input).map_err(|e| Error::Usage(format!("stdin: {e}")))?;
    let req: Request =
        serde_json::from_slice(&input).map_err(|e| Error::Usage(format!("stdin: not a cell request: {e}")))?;
    if req.schema_version > CELL_SCHEMA_VERSION {
        return Err(Error::Usage(format!(
            "stdin: cell request version {} is newer than this build",
            req.schema_version
        )));
    }
    // The algorithm's own parallelism (the DP of a warm start), as in the parent's pool.
    let _ = rayon::ThreadPoolBuilder::new().num_threads(req.opts.threads.max(1)).build_global();
    let algo = algorithms::find(&req.algorithm)
        .ok_or_else(|| Error::Usage(format!("stdin: unknown algorithm {:?}", req.algorithm)))?;
    let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| algo.run(&req.workload, &req.opts)));
    let answer = match run {
        Ok(Ok(o)) => Answer::Outcome(Box::new(o)),
        Ok(Err(Error::TimedOut(m))) => Answer::TimedOut(m),
        Ok(Err(Error::OutOfReach(m))) => Answer::OutOfReach(m),
        Ok(Err(e)) => Answer::Failed(e.to_string()),
        Err(p) => Answer::Failed(format!("panicked: {}", super::panic_text(&p))),
    };
    let body = serde_json::to_vec(&answer).map_err(|e| Error::Usage(format!("cell answer: {e}")))?;
    std::io::stdout().write_all(&body).map_err(|e| Error::Usage(format!("stdout: {e}")))?;
    Ok(0)
}
