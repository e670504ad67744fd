//! `bench nwv`: sets of tasks (presets, or models named on the command line) × matchers ×
//! virtual-memory sizes, run by the one runner and judged by the checker; rows in the common
//! schema (objective `nwv`: the matching cost) and one run file per cell.

use super::family::{PackingCell, TaskSet};
use super::matchers::{MatchOptions, Matcher, Order};
use super::task::{read_network, reference_dir, synthetic, variants, zoo_task, Importance, Task, REFERENCE};
use crate::error::{Error, Result};
use crate::registry;
use crate::results::Record;
use crate::run::options::OutputArgs;
use crate::run::{run_with_files, Journal, RunFile};
use clap::Args;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

#[derive(Debug, Args)]
pub struct NwvArgs {
    /// Presets (reference: the reference implementation's five networks with their Fisher
    /// information, read from --data; variants: a seeded base network and four copies with ten
    /// pages perturbed each; zoo: six zoo models with seeded weights, pages of 16,384), or
    /// models forming one set: reference network names (mnist, gsc, gtsrb, cifar10, svhn),
    /// zoo model names, or network description files (NAME.json). Default: reference.
    #[arg(value_name = "MODELS|PRESET")]
    pub models: Vec<String>,
    /// Matcher (repeatable; default all): nwv-lap, nwv-greedy, random, dedup, no-sharing.
    #[arg(long = "matcher", value_name = "NAME")]
    pub matchers: Vec<String>,
    /// Weights a page (default: the preset's; 100 for named models).
    #[arg(long, value_parser = crate::run::parse::at_least_one)]
    pub page_size: Option<usize>,
    /// Virtual pages (repeatable; default: the largest task's page count).
    #[arg(long = "virtual-pages", value_name = "N", value_parser = crate::run::parse::at_least_one)]
    pub virtual_pages: Vec<usize>,
    /// Also this many sizes evenly spaced from the largest task's pages to all tasks' pages,
    /// for the figure of cost against packing ratio.
    #[arg(long, default_value_t = 0)]
    pub sweep: usize,
    /// Re-match every task against all the others this many times after adding them.
    #[arg(long, default_value_t = 0)]
    pub passes: usize,
    /// The order tasks are added in.
    #[arg(long, value_enum, default_value_t = Order::Given)]
    pub order: Order,
    /// Importance of weights where no Fisher information is shipped (zoo models and named
    /// networks with --importance other than fisher).
    #[arg(long, value_enum, default_value_t = Importance::Fisher)]
    pub importance: Importance,
    /// Divide every task's importance by its largest.
    #[arg(long)]
    pub normalise: bool,
    /// The reference's quirks: the greedy matcher compares with the virtual pages' initial
    /// values, and a weight count that fills its last page gets a whole extra page.
    #[arg(long)]
    pub faithful: bool,
    /// The largest virtual memory, in pages, that nwv-lap and nwv-greedy build a cost matrix
    /// for (larger ones are skipped).
    #[arg(long, default_value_t = 4096, value_parser = crate::run::parse::at_least_one)]
    pub lap_max: usize,
    /// Folder of the converted reference networks (default $PLACEBENCH_NWV, else ../shared/nwv).
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// Also write each packing's virtual weights and page tables as .npy files under DIR, for
    /// an external trainer.
    #[arg(long, value_name = "DIR")]
    pub export: Option<PathBuf>,
    /// Output folder (default results/nwv when only presets are run).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Measure switching between zoo models on this machine's GPU 0 instead of comparing
    /// matchers: the virtual weights resident and one gather per switch, against reloading
    /// and caching (pages of 16,384 weights unless --page-size says otherwise).
    #[arg(long)]
    pub gpu: bool,
    /// With --gpu: random requests per sequence (repeatable; default 30 and 300).
    #[arg(long = "requests", value_name = "N", value_parser = crate::run::parse::at_least_one)]
    pub requests: Vec<usize>,
    /// With --gpu: switching method (repeatable; default all).
    #[arg(long = "switch", value_enum, value_name = "METHOD")]
    pub switch: Vec<crate::gpu::switching::SwitchMethod>,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// The presets' names.
pub const PRESETS: &[&str] = &["reference", "variants", "zoo"];

/// The six zoo models of the `zoo` preset.
pub const ZOO: &[&str] = &["resnet50", "inception-v3", "bert", "gpt", "nasnet-mobile", "randwire"];

/// The `variants` preset's base: weights, copies, pages perturbed per copy.
pub const VARIANTS: (usize, usize, usize) = (20_000, 4, 10);

fn hash_tasks(name: &str, tasks: &[Task]) -> String {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    for t in tasks {
        h.update(t.name.as_bytes());
        for (w, f) in t.weights.iter().zip(&t.importance) {
            h.update(w.to_le_bytes());
            h.update(f.to_le_bytes());
        }
    }
    format!("{:x}", h.finalize())
}

/// One task named on the command line.
fn task(arg: &str, a: &NwvArgs, data: &Path) -> Result<Task> {
    if REFERENCE.contains(&arg) {
        let json = data.join(format!("{arg}.json"));
        if !json.exists() {
            return Err(Error::Usage(format!(
                "{arg}: the reference networks are not in {} (set --data or PLACEBENCH_NWV)",
                data.display()
            )));
        }
        return read_network(&json, a.importance);
    }
    if let Some(t) = zoo_task(arg, a.output.common.seed, a.importance) {
        return Ok(t);
    }
    let path = Path::new(arg);
    if path.extension().is_some_and(|e| e == "json") && path.exists() {
        return read_network(path, a.importance);
    }
    Err(Error::Usage(format!(
        "{arg}: neither a preset ({}), a reference network ({}), a zoo model nor a network file",
        PRESETS.join(", "),
        REFERENCE.join(", ")
    )))
}

/// The sets the arguments name: each preset its own set, the other names one set together.
pub fn sets(a: &NwvArgs) -> Result<Vec<TaskSet>> {
    let data = a.data.clone().unwrap_or_else(reference_dir);
    let names = if a.models.is_empty() { vec!["reference".to_owned()] } else { a.models.clone() };
    let seed = a.output.common.seed;
    let mut out = Vec::new();
    let mut loose = Vec::new();
    for n in &names {
        let (tasks, page_size) = match n.as_str() {
            "reference" => (REFERENCE.iter().map(|m| task(m, a, &data)).collect::<Result<Vec<_>>>()?, 100),
            "variants" => {
                let (n, k, changed) = VARIANTS;
                let base = synthetic("base", n, seed);
                let (mut copies, _) = variants(&base, k, changed, 100, seed);
                copies.insert(0, base);
                (copies, 100)
            }
            "zoo" => (ZOO.iter().map(|m| task(m, a, &data)).collect::<Result<Vec<_>>>()?, 16_384),
            _ => {
                loose.push(task(n, a, &data)?);
                continue;
            }
        };
        out.push((n.clone(), tasks, page_size));
    }
    if !loose.is_empty() {
        let name = loose.iter().map(|t| t.name.as_str()).collect::<Vec<_>>().join("+");
        out.push((name, loose, 100));
    }
    Ok(out
        .into_iter()
        .map(|(name, tasks, s)| {
            let tasks: Vec<Task> = if a.normalise { tasks.into_iter().map(Task::normalised).collect() } else { tasks };
            let page_size = a.page_size.unwrap_or(s);
            TaskSet { hash: hash_tasks(&name, &tasks), name, tasks, page_size }
        })
        .collect())
}

/// The matchers the arguments name, in registry order.
pub fn matchers(names: &[String]) -> Result<Vec<&'static dyn Matcher>> {
    registry::select(names, registry::packing(), |m| m.name(), "matcher")
}

/// The virtual-memory sizes of a set: those asked for, else its largest task's pages, and the
/// sweep's.
pub fn sizes(set: &TaskSet, a: &NwvArgs) -> Vec<usize> {
    let mut v = if a.virtual_pages.is_empty() { vec![set.min_pages()] } else { a.virtual_pages.clone() };
    let (lo, hi) = (set.min_pages(), set.all_pages());
    for k in 1..=a.sweep {
        v.push(lo + ((hi - lo) as f64 * k as f64 / a.sweep as f64).round() as usize);
    }
    v.sort_unstable();
    v.dedup();
    v
}

/// The options every matcher reads.
pub fn options(a: &NwvArgs) -> MatchOptions {
    MatchOptions { seed: a.output.common.seed, faithful: a.faithful, lap_max: a.lap_max }
}

/// Runs every set × matcher × size; the records and each cell's run file.
pub fn records(sets: &[TaskSet], a: &NwvArgs, journal: Option<&Journal>) -> Result<(Vec<Record>, Vec<RunFile>)> {
    let ms = matchers(&a.matchers)?;
    let o = options(a);
    let mut cells = Vec::new();
    for set in sets {
        for &m in &ms {
            // Matchers that size the memory themselves run once.
            let own = m.virtual_pages(&set.tasks, set.page_size, &o);
            let vs = own.map_or_else(|| sizes(set, a), |v| vec![v]);
            for v in vs {
                cells.push(PackingCell {
                    set,
                    matcher: m,
                    virtual_pages: v,
                    passes: a.passes,
                    order: a.order,
                    options: o.clone(),
                });
            }
        }
    }
    Ok(run_with_files(&cells, a.output.common.quiet, journal))
}

/// Whether every argument is a preset (the run then writes to results/nwv by default).
pub fn only_presets(a: &NwvArgs) -> bool {
    a.models.iter().all(|t| PRESETS.contains(&t.as_str()))
}
