//! `bench fuzz`: a fuzzer for the input readers (workload loader, split and schedule files).
//!
//! It mutates a corpus (built-in seeds, the corpus folder, extra seed folders) with byte and
//! JSON-tree edits and runs each mutant through its reader, catching panics. A mutant is kept
//! when it reaches new code: edges counted by SanitizerCoverage in a build made by
//! `scripts/fuzz.sh`, or in an ordinary build a kind of refusal not seen before. Every panic
//! and every refusal that is not a one-line input error naming the file is a failure, saved
//! under `--out`/crashes/. The report (`fuzz.json`), its figure and the minimised corpus are
//! what the run leaves; `tests/fuzz_corpus.rs` replays the corpus and the crashes.

pub mod corpus;
pub mod coverage;
pub mod mutate;
pub mod targets;

use crate::error::{Error, Result};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI32, AtomicPtr, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use targets::{check, Target, Verdict};

pub const REPORT_SCHEMA_VERSION: u32 = 1;

/// An input slower than this is a failure (a reader that hangs).
const SLOW: Duration = Duration::from_secs(1);
/// Distinct failures kept per target (the same one found again is only counted).
const MAX_CRASHES: usize = 50;

#[derive(Debug, clap::Args)]
pub struct FuzzArgs {
    /// Reader to fuzz (repeatable; default all)
    #[arg(long, value_enum)]
    pub target: Vec<Target>,
    /// Mutated inputs per target, at least 1
    #[arg(long, default_value_t = 1_000_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub inputs: u64,
    /// Seed of every random choice (recorded in the report)
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Corpus folder, one sub-folder per target: read as seeds, then replaced by the
    /// minimised corpus of this run in an instrumented build, or added to in an ordinary one
    /// (unless --no-save)
    #[arg(long, default_value = "tests/fixtures/fuzz", value_name = "DIR")]
    pub corpus: PathBuf,
    /// Folder of further workload files to start from, read only (repeatable)
    #[arg(long, value_name = "DIR")]
    pub workload_seeds: Vec<PathBuf>,
    /// Folder for fuzz.json, the figure and crashes/
    #[arg(long, default_value = "results/fuzz", value_name = "DIR")]
    pub out: PathBuf,
    /// Longest input in bytes, at least 1 (longer seeds are left out)
    #[arg(long, default_value_t = 4096, value_parser = crate::run::parse::at_least_one)]
    pub max_len: usize,
    /// Leave the corpus folder as it is
    #[arg(long)]
    pub no_save: bool,
    /// No progress lines
    #[arg(short, long)]
    pub quiet: bool,
}

/// What one run found, as written to `fuzz.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FuzzReport {
    pub schema_version: u32,
    pub placebench_version: String,
    pub git_commit: String,
    pub date_utc: String,
    pub seed: u64,
    /// Whether novelty was judged by edge coverage (an instrumented build) or by outcome.
    pub instrumented: bool,
    pub max_len: usize,
    pub targets: Vec<TargetReport>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TargetReport {
    pub target: Target,
    /// Mutated inputs run (the corpus's own replay not counted).
    pub inputs: u64,
    pub seconds: f64,
    pub inputs_per_second: f64,
    /// Edges (and hit-count buckets) reached, or kinds of outcome when not instrumented.
    pub coverage: usize,
    pub read: u64,
    pub refused: u64,
    pub panics: u64,
    pub violations: u64,
    pub slowest_seconds: f64,
    pub corpus_at_start: usize,
    pub corpus_at_end: usize,
    pub crashes: Vec<String>,
    /// (inputs so far, coverage, corpus size), at 1, 2, 5 × powers of ten and at the end.
    pub curve: Vec<(u64, usize, usize)>,
}

impl FuzzReport {
    pub fn failures(&self) -> u64 {
        self.targets.iter().map(|t| t.panics + t.violations).sum()
    }
}

static PANIC: Mutex<Option<String>> = Mutex::new(None);

/// The input running now and the file it goes to should the process abort (a failed
/// allocation or a stack overflow ends the process, past any `catch_unwind`).
static CURRENT: (AtomicPtr<u8>, AtomicUsize) = (AtomicPtr::new(std::ptr::null_mut()), AtomicUsize::new(0));
static FATAL_FD: AtomicI32 = AtomicI32::new(-1);

extern "C" fn on_abort(sig: libc::c_int) {
    let fd = FATAL_FD.load(Ordering::Relaxed);
    let (p, n) = (CURRENT.0.load(Ordering::Relaxed), CURRENT.1.load(Ordering::Relaxed));
    // SAFETY: write, signal and raise are async-signal-safe; `p` points at `n` bytes of the
    // input being run, alive until the next input is set.
    unsafe {
        if fd >= 0 && !p.is_null() {
            libc::write(fd, p as *const libc::c_void, n);
            libc::fsync(fd);
        }
        libc::signal(sig, libc::SIG_DFL);
        libc::raise(sig);
    }
}

/// Opens `out/crashes/<target>-fatal.json` for the abort handler.
fn arm_fatal(out: &Path, target: Target) -> Result<PathBuf> {
    let dir = out.join("crashes");
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    let path = dir.join(format!("{}-fatal.json", target.name()));
    let f = std::fs::File::create(&path).map_err(|e| Error::io(&path, e))?;
    let old = FATAL_FD.swap(std::os::fd::IntoRawFd::into_raw_fd(f), Ordering::Relaxed);
    // SAFETY: closing the descriptor of the previous target, which nothing else holds; the
    // handler is installed once and only reads the descriptor.
    unsafe {
        if old >= 0 {
            libc::close(old);
        }
        libc::signal(libc::SIGABRT, on_abort as *const () as libc::sighandler_t);
    }
    Ok(path)
}

/// What running one input gave.
enum Ran {
    Fine(Verdict),
    /// A failure, whether a panic, and what it was.
    Failed {
        panicked: bool,
        what: String,
    },
}

fn run_one(target: Target, bytes: &[u8]) -> (Ran, Duration) {
    CURRENT.1.store(bytes.len(), Ordering::Relaxed);
    CURRENT.0.store(bytes.as_ptr() as *mut u8, Ordering::Relaxed);
    let start = Instant::now();
    let r = catch_unwind(AssertUnwindSafe(|| check(target, bytes)));
    let took = start.elapsed();
    let ran = match r {
        Ok(Verdict::Violation(what)) => Ran::Failed { panicked: false, what },
        Ok(v) if took > SLOW => {
            Ran::Failed { panicked: false, what: format!("took {:.1} s ({v:?})", took.as_secs_f64()) }
        }
        Ok(v) => Ran::Fine(v),
        Err(_) => {
            let m = PANIC.lock().map(|mut p| p.take()).ok().flatten();
            Ran::Failed { panicked: true, what: format!("panicked: {}", m.unwrap_or_default()) }
        }
    };
    (ran, took)
}

/// Novelty of the last input: new edges, or (not instrumented) a new kind of outcome.
struct Novelty {
    seen: coverage::Seen,
    shapes: HashSet<String>,
}

impl Novelty {
    fn new() -> Self {
        Novelty { seen: coverage::Seen::default(), shapes: HashSet::new() }
    }

    fn judge(&mut self, ran: &Ran) -> bool {
        if coverage::instrumented() {
            return self.seen.absorb(None);
        }
        let shape = match ran {
            Ran::Fine(Verdict::Refused(s)) => s.clone(),
            Ran::Fine(_) => "read".into(),
            Ran::Failed { what, .. } => what.clone(),
        };
        self.shapes.insert(shape)
    }

    fn size(&self) -> usize {
        if coverage::instrumented() {
            self.seen.edges
        } else {
            self.shapes.len()
        }
    }
}

fn is_sample(i: u64) -> bool {
    let mut p = 1;
    while p <= i {
        if i == p || i == 2 * p || i == 5 * p {
            return true;
        }
        p *= 10;
    }
    false
}

/// Fuzzes one target; new corpus entries are returned for saving.
fn fuzz_target(target: Target, a: &FuzzArgs, rng: &mut ChaCha8Rng) -> Result<(TargetReport, Vec<Vec<u8>>)> {
    let mut corpus: Vec<Vec<u8>> = target.seeds();
    corpus.extend(corpus::load(&a.corpus, target)?.into_iter().map(|(_, b)| b));
    if target == Target::Workload {
        for dir in &a.workload_seeds {
            let files = crate::workload::discover_json_files(dir)?;
            for (p, _) in files {
                corpus.push(std::fs::read(&p).map_err(|e| Error::io(&p, e))?);
            }
        }
    }
    corpus.retain(|c| c.len() <= a.max_len);
    let fatal = arm_fatal(&a.out, target)?;
    let at_start = corpus.len();
    let mut novelty = Novelty::new();
    let mut rep = TargetReport {
        target,
        inputs: 0,
        seconds: 0.0,
        inputs_per_second: 0.0,
        coverage: 0,
        read: 0,
        refused: 0,
        panics: 0,
        violations: 0,
        slowest_seconds: 0.0,
        corpus_at_start: at_start,
        corpus_at_end: 0,
        crashes: Vec::new(),
        curve: Vec::new(),
    };
    let mut failures_seen = HashSet::new();
    let crash_dir = a.out.join("crashes");
    let mut tally = |rep: &mut TargetReport, ran: &Ran, took: Duration, bytes: &[u8]| -> Result<()> {
        rep.slowest_seconds = rep.slowest_seconds.max(took.as_secs_f64());
        match ran {
            Ran::Fine(Verdict::Read) => rep.read += 1,
            Ran::Fine(_) => rep.refused += 1,
            Ran::Failed { panicked, what: m } => {
                if *panicked {
                    rep.panics += 1;
                } else {
                    rep.violations += 1;
                }
                // One input per kind of failure (the same one at another column is no news).
                if rep.crashes.len() < MAX_CRASHES && failures_seen.insert(targets::shape(m)) {
                    let path = corpus::save(&crash_dir, target, bytes)?;
                    eprintln!("{}: {m} (input saved as {})", target.name(), path.display());
                    rep.crashes.push(path.display().to_string());
                }
            }
        }
        Ok(())
    };
    for c in &corpus {
        coverage::reset();
        let (ran, took) = run_one(target, c);
        novelty.judge(&ran);
        tally(&mut rep, &ran, took, c)?;
    }
    let (read0, refused0) = (rep.read, rep.refused);
    let mut added = Vec::new();
    let started = Instant::now();
    let mut last_line = Instant::now();
    for i in 1..=a.inputs {
        let x = rng.random_range(0..corpus.len());
        let y = rng.random_range(0..corpus.len());
        let m = mutate::mutate(&corpus[x], &corpus[y], rng, a.max_len);
        coverage::reset();
        let (ran, took) = run_one(target, &m);
        tally(&mut rep, &ran, took, &m)?;
        if novelty.judge(&ran) {
            corpus.push(m.clone());
            added.push(m);
        }
        if is_sample(i) || i == a.inputs {
            rep.curve.push((i, novelty.size(), corpus.len()));
        }
        if !a.quiet && last_line.elapsed() > Duration::from_secs(5) {
            last_line = Instant::now();
            let rate = i as f64 / started.elapsed().as_secs_f64();
            eprintln!(
                "{}: {i}/{} inputs, {rate:.0}/s, coverage {}, corpus {}, failures {}",
                target.name(),
                a.inputs,
                novelty.size(),
                corpus.len(),
                rep.panics + rep.violations
            );
        }
    }
    rep.inputs = a.inputs;
    rep.read -= read0;
    rep.refused -= refused0;
    rep.seconds = started.elapsed().as_secs_f64();
    rep.inputs_per_second = a.inputs as f64 / rep.seconds.max(1e-9);
    rep.coverage = novelty.size();
    // Nothing aborted: the file the handler would have written is empty.
    std::fs::remove_file(&fatal).ok();
    Ok((rep, if coverage::instrumented() { minimised(target, &corpus) } else { added }))
}

/// The corpus cut to the smallest entries that keep its coverage (built-in seeds left out:
/// they need no file).
fn minimised(target: Target, corpus: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let seeds = target.seeds();
    let mut entries = Vec::with_capacity(corpus.len());
    let mut edges = Vec::new();
    for c in corpus {
        let mut seen = coverage::Seen::default();
        coverage::reset();
        let _ = run_one(target, c);
        seen.absorb(Some(&mut edges));
        entries.push((c.len(), edges.clone()));
    }
    corpus::minimise(&entries).into_iter().map(|i| corpus[i].clone()).filter(|c| !seeds.contains(c)).collect()
}

/// Runs `bench fuzz`; exit code 1 when anything failed.
pub fn fuzz(a: FuzzArgs) -> Result<i32> {
    let targets: Vec<Target> = if a.target.is_empty() { targets::ALL.to_vec() } else { a.target.clone() };
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(|info| {
        if let Ok(mut p) = PANIC.lock() {
            *p = Some(format!("{info}").replace('\n', " "));
        }
    }));
    let mut rng = ChaCha8Rng::seed_from_u64(a.seed);
    if !a.quiet {
        eprintln!(
            "fuzzing {} with {} inputs each; novelty by {}",
            targets.iter().map(|t| t.name()).collect::<Vec<_>>().join(", "),
            a.inputs,
            if coverage::instrumented() {
                "edge coverage"
            } else {
                "outcome (build with scripts/fuzz.sh for coverage)"
            }
        );
    }
    let mut reports = Vec::new();
    let mut saves = Vec::new();
    for &t in &targets {
        let (rep, keep) = fuzz_target(t, &a, &mut rng)?;
        reports.push(rep);
        saves.push((t, keep));
    }
    std::panic::set_hook(previous);
    let mut report = FuzzReport {
        schema_version: REPORT_SCHEMA_VERSION,
        placebench_version: env!("CARGO_PKG_VERSION").into(),
        git_commit: env!("PLACEBENCH_COMMIT").into(),
        date_utc: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
        seed: a.seed,
        instrumented: coverage::instrumented(),
        max_len: a.max_len,
        targets: reports,
    };
    for ((t, keep), rep) in saves.into_iter().zip(report.targets.iter_mut()) {
        rep.corpus_at_end = keep.len();
        if a.no_save {
            continue;
        }
        if report.instrumented {
            replace_corpus(&a.corpus, t, &keep)?;
        } else {
            // Novelty by outcome is too coarse to judge what the corpus may lose: only add.
            for b in &keep {
                corpus::save(&a.corpus, t, b)?;
            }
        }
    }
    std::fs::create_dir_all(&a.out).map_err(|e| Error::io(&a.out, e))?;
    let json = serde_json::to_vec_pretty(&report).map_err(|e| Error::Usage(format!("fuzz report: {e}")))?;
    crate::results::write_atomic(&a.out.join("fuzz.json"), &json)?;
    let fig = crate::plots::fuzz::plot(&report, &a.out.join("fuzz"))?;
    for t in &report.targets {
        println!(
            "{:<9} {:>9} inputs {:>8.0}/s  coverage {:>6}  corpus {:>5}  read {:>8}  refused {:>8}  panics {}  violations {}  slowest {:.3} s",
            t.target.name(),
            t.inputs,
            t.inputs_per_second,
            t.coverage,
            t.corpus_at_end,
            t.read,
            t.refused,
            t.panics,
            t.violations,
            t.slowest_seconds
        );
    }
    eprintln!("wrote {} and {}", a.out.join("fuzz.json").display(), fig.png.display());
    Ok(if report.failures() > 0 { 1 } else { 0 })
}

/// Replaces `dir/<target>/` by `keep` (files named by hash; others removed).
fn replace_corpus(dir: &Path, target: Target, keep: &[Vec<u8>]) -> Result<()> {
    let names: HashSet<String> = keep.iter().map(|b| corpus::name_of(b)).collect();
    for (p, _) in corpus::load(dir, target)? {
        let name = p.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
        if !names.contains(&name) {
            std::fs::remove_file(&p).map_err(|e| Error::io(&p, e))?;
        }
    }
    for b in keep {
        corpus::save(dir, target, b)?;
    }
    Ok(())
}
