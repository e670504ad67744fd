//! The packing family's cells: one matcher packing one set of tasks onto a virtual memory of
//! a given size. The matcher's packing, with the cost, virtual weights and loss increases it
//! implies, is the claim; the checker re-derives all of it from the stored weights, and a
//! claim it does not confirm is a `mismatch`.

use super::check::{check, Claim};
use super::matchers::{pack, MatchOptions, Matcher, Order, RandomMatch};
use super::packing::{loss_increase, pair_costs, total_cost, virtual_weights};
use super::task::Task;
use crate::error::Result;
use crate::family::{Cell, CellResult, NotApplicable};
use crate::results::{Record, Status};
use serde::Serialize;

/// The objective kind of the family's rows: the total matching cost (lower is better).
pub const OBJECTIVE: &str = "nwv";

/// A set of tasks to pack, with its name and content hash.
#[derive(Debug, Clone)]
pub struct TaskSet {
    pub name: String,
    pub hash: String,
    pub tasks: Vec<Task>,
    pub page_size: usize,
}

impl TaskSet {
    /// The fewest virtual pages that hold every task: its largest page count.
    pub fn min_pages(&self) -> usize {
        self.tasks.iter().map(|t| t.pages(self.page_size)).max().unwrap_or(1)
    }

    /// Pages with no sharing at all.
    pub fn all_pages(&self) -> usize {
        self.tasks.iter().map(|t| t.pages(self.page_size)).sum()
    }
}

pub struct PackingCell<'a> {
    pub set: &'a TaskSet,
    pub matcher: &'static dyn Matcher,
    pub virtual_pages: usize,
    pub passes: usize,
    pub order: Order,
    pub options: MatchOptions,
}

/// What a cell writes beside its row.
#[derive(Debug, Serialize)]
pub struct RunFile<'a> {
    pub schema_version: u32,
    pub set: &'a str,
    pub matcher: &'a str,
    pub page_size: usize,
    pub virtual_pages: usize,
    pub packing_ratio: f64,
    pub cost: f64,
    pub cost_random: f64,
    /// Virtual pages holding exactly k task pages, for k = 0, 1, ….
    pub levels: &'a [usize],
    pub pair_costs: Vec<Vec<f64>>,
    pub tasks: Vec<TaskRow<'a>>,
}

#[derive(Debug, Serialize)]
pub struct TaskRow<'a> {
    pub name: &'a str,
    pub source: &'a str,
    pub weights: usize,
    pub loss_increase: f64,
    pub page_table: &'a [usize],
}

pub const RUN_SCHEMA: u32 = 1;

impl Cell for PackingCell<'_> {
    type Answer = (Claim, f64);

    fn header(&self) -> Record {
        let o = &self.options;
        let options = format!(
            "page_size={};virtual_pages={};passes={};order={};faithful={}",
            self.set.page_size,
            self.virtual_pages,
            self.passes,
            serde_json::to_value(self.order).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default(),
            o.faithful
        );
        Record::new(
            &format!("{}@v={}", self.set.name, self.virtual_pages),
            &self.set.hash,
            OBJECTIVE,
            self.matcher.name(),
            options,
            o.seed,
        )
    }

    fn applicable(&self) -> std::result::Result<(), NotApplicable> {
        let s = self.set;
        if self.virtual_pages < s.min_pages() {
            return Err(
                format!("{} virtual pages cannot hold a task of {} pages", self.virtual_pages, s.min_pages()).into()
            );
        }
        self.matcher.applies(&s.tasks, s.page_size, self.virtual_pages, &self.options)
    }

    fn attempt(&self) -> Result<(Claim, f64)> {
        let t0 = std::time::Instant::now();
        let s = self.set;
        let packing =
            pack(self.matcher, &s.tasks, s.page_size, self.virtual_pages, self.order, self.passes, &self.options);
        let seconds = t0.elapsed().as_secs_f64();
        let tasks = &self.set.tasks;
        let virt = virtual_weights(tasks, &packing);
        let claim = Claim {
            cost: total_cost(tasks, &packing),
            loss_increase: loss_increase(tasks, &packing, &virt),
            virtual_weights: virt,
            padded: self.options.faithful,
            packing,
        };
        Ok((claim, seconds))
    }

    fn judge(&self, (claim, seconds): (Claim, f64), mut r: Record) -> CellResult {
        let tasks = &self.set.tasks;
        let rep = check(tasks, &claim);
        let pk = &claim.packing;
        // The reference point of every cost: a random packing of the same memory.
        let set = self.set;
        let random = pack(&RandomMatch, tasks, set.page_size, pk.virtual_pages, self.order, 0, &self.options);
        let random = total_cost(tasks, &random);
        r.objective = Some(rep.cost);
        r.claimed_objective = Some(claim.cost);
        r.devices_used = Some(pk.virtual_pages);
        r.status = Status::Feasible;
        r.feasible = rep.violations.is_empty();
        if !rep.violations.is_empty() {
            r.status = Status::Mismatch;
            r.message = format!("the checker found {} violations; first: {}", rep.violations.len(), rep.violations[0]);
        }
        let worst = rep.loss_increase.iter().copied().fold(0.0, f64::max);
        let vs_random = if rep.cost > 0.0 { random / rep.cost } else { f64::INFINITY };
        r.notes = format!(
            "packing_ratio={};virtual_pages={};levels={};cost_random={random};random_over_method={vs_random};max_loss_increase={worst};matching_seconds={seconds}",
            rep.ratio,
            pk.virtual_pages,
            rep.levels.iter().map(usize::to_string).collect::<Vec<_>>().join("/"),
        );
        let file = RunFile {
            schema_version: RUN_SCHEMA,
            set: &self.set.name,
            matcher: self.matcher.name(),
            page_size: pk.page_size,
            virtual_pages: pk.virtual_pages,
            packing_ratio: rep.ratio,
            cost: rep.cost,
            cost_random: random,
            levels: &rep.levels,
            pair_costs: pair_costs(tasks, pk),
            tasks: tasks
                .iter()
                .zip(&pk.tables)
                .zip(&rep.loss_increase)
                .map(|((t, table), &dl)| TaskRow {
                    name: &t.name,
                    source: &t.source,
                    weights: t.len(),
                    loss_increase: dl,
                    page_table: table,
                })
                .collect(),
        };
        CellResult { record: r, artifact: serde_json::to_value(&file).ok() }
    }
}
