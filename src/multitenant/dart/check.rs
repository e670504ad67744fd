//! The pipeline family's checker: replays a run's log with its own bookkeeping and re-derives
//! every node's timeline and every job's response time. It confirms that a node runs one unit
//! at a time, each unit as long as its logged work and never longer than its WCET, a real-time
//! unit a whole stage and a best-effort unit one layer in order, every stage after the one
//! before it; that at every start no unit it should have preferred was waiting (real time
//! before best effort, then priority, then the earlier job; best effort first come first
//! served); that no node idles at the end of an instant while a unit waits for it; and that
//! real-time releases are at least a period apart.

use super::model::{layer_wcets, Cuts, Node, Platform, Task};
use super::rta::priority_order;
use super::sim::Event;
use std::collections::BTreeMap;

/// What the replay found.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub violations: usize,
    pub first: Vec<String>,
    /// Per task, each finished job's response time, ms.
    pub responses: Vec<Vec<f64>>,
    /// Real-time jobs that finished after their deadline.
    pub misses: usize,
}

#[derive(Debug, Clone)]
struct Pending {
    release: f64,
    stage: usize,
    layer: usize,
    since: f64,
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

/// Replays `events` of a run of `tasks` cut by `cuts` over `cfg`.
pub fn check(p: &Platform, tasks: &[Task], cfg: &[Node], cuts: &[Cuts], events: &[Event]) -> Report {
    let n = tasks.len();
    let wcet: Vec<Vec<Vec<f64>>> = (0..n).map(|i| layer_wcets(p, &tasks[i], cfg, &cuts[i])).collect();
    let start_of = |i: usize, k: usize| if k == 0 { 0 } else { cuts[i][k - 1] };
    let first_stage = |i: usize, from: usize| (from..cfg.len()).find(|&k| cuts[i][k] > start_of(i, k));
    let mut rank = vec![usize::MAX; n];
    for (pos, i) in priority_order(tasks).into_iter().enumerate() {
        rank[i] = pos;
    }
    let mut r = Report { responses: vec![Vec::new(); n], ..Report::default() };
    let fail = |r: &mut Report, why: String| {
        r.violations += 1;
        if r.first.len() < 5 {
            r.first.push(why);
        }
    };
    // (task, job) → what it waits for; node → (task, job, stage, end, started at, work).
    let mut pending: BTreeMap<(usize, usize), Pending> = BTreeMap::new();
    let mut busy: Vec<Option<(usize, usize, f64)>> = vec![None; cfg.len()];
    let mut last_release: Vec<Option<f64>> = vec![None; n];
    // A unit waiting for node k ranks before another (lower is first).
    let key = |i: usize, job: usize, since: f64| {
        let rt = tasks[i].rt();
        (!rt, if rt { rank[i] as f64 } else { since }, if rt { job as f64 } else { 0.0 }, i, job)
    };
    let waiting_for = |pending: &BTreeMap<(usize, usize), Pending>, k: usize, t: f64| {
        pending
            .iter()
            .filter(|(_, w)| w.stage == k && w.since <= t + 1e-9 * t.abs().max(1.0))
            .map(|(&(i, j), w)| key(i, j, w.since))
            .min_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal))
    };
    let mut idx = 0;
    while idx < events.len() {
        let t_now = match events[idx] {
            Event::Release { t, .. } | Event::Start { t, .. } | Event::End { t, .. } => t,
        };
        // One instant: every event at this time, in log order.
        while idx < events.len() {
            let e = events[idx];
            let t = match e {
                Event::Release { t, .. } | Event::Start { t, .. } | Event::End { t, .. } => t,
            };
            if t > t_now {
                break;
            }
            idx += 1;
            match e {
                Event::Release { t, task, job } => {
                    if tasks[task].rt() {
                        if let Some(prev) = last_release[task] {
                            if t < prev + tasks[task].period_ms * (1.0 - 1e-12) {
                                fail(&mut r, format!("task {task} released {} ms after its last", t - prev));
                            }
                        }
                        last_release[task] = Some(t);
                    }
                    match first_stage(task, 0) {
                        Some(k) => {
                            pending.insert(
                                (task, job),
                                Pending { release: t, stage: k, layer: start_of(task, k), since: t },
                            );
                        }
                        None => r.responses[task].push(0.0),
                    }
                }
                Event::Start { t, task, job, stage, first, end, work_ms } => {
                    let Some(w) = pending.get(&(task, job)).cloned() else {
                        fail(&mut r, format!("t={t}: task {task} job {job} starts without waiting"));
                        continue;
                    };
                    if busy[stage].is_some() {
                        fail(&mut r, format!("t={t}: node {stage} starts a unit while busy"));
                    }
                    if w.stage != stage || w.layer != first || w.since > t + 1e-9 {
                        fail(
                            &mut r,
                            format!("t={t}: task {task} job {job} starts stage {stage} layer {first} out of order"),
                        );
                    }
                    let whole = cuts[task][stage];
                    let ok_span = if tasks[task].rt() {
                        first == start_of(task, stage) && end == whole
                    } else {
                        end == first + 1
                    };
                    if !ok_span || end > whole {
                        fail(&mut r, format!("t={t}: task {task} runs layers {first}..{end} as one unit"));
                    }
                    let base = start_of(task, stage);
                    let bound: f64 = (first..end.min(whole)).map(|l| wcet[task][stage][l - base]).sum();
                    if work_ms > bound * (1.0 + 1e-9) + 1e-12 {
                        fail(&mut r, format!("t={t}: task {task} works {work_ms} ms, above its WCET {bound}"));
                    }
                    if let Some(best) = waiting_for(&pending, stage, t) {
                        if best < key(task, job, w.since) {
                            fail(&mut r, format!("t={t}: node {stage} starts task {task} job {job} while task {} job {} should go first", best.3, best.4));
                        }
                    }
                    pending.remove(&(task, job));
                    busy[stage] = Some((task, job, t + work_ms));
                    pending.insert((task, job), Pending { stage: usize::MAX, layer: end, since: f64::INFINITY, ..w });
                }
                Event::End { t, task, job, stage } => {
                    let Some((bt, bj, due)) = busy[stage] else {
                        fail(&mut r, format!("t={t}: node {stage} ends a unit it did not start"));
                        continue;
                    };
                    if (bt, bj) != (task, job) || !close(t, due) {
                        fail(
                            &mut r,
                            format!("t={t}: node {stage} ends task {task} job {job}, not its unit (due {due})"),
                        );
                    }
                    busy[stage] = None;
                    let Some(w) = pending.remove(&(task, job)) else { continue };
                    if w.layer < cuts[task][stage] {
                        pending.insert((task, job), Pending { stage, since: t, ..w });
                    } else if let Some(k) = first_stage(task, stage + 1) {
                        pending.insert((task, job), Pending { stage: k, layer: start_of(task, k), since: t, ..w });
                    } else {
                        let resp = t - w.release;
                        if tasks[task].rt() && resp > tasks[task].deadline_ms * (1.0 + 1e-12) {
                            r.misses += 1;
                        }
                        r.responses[task].push(resp);
                    }
                }
            }
        }
        // End of the instant: no idle node with a unit waiting for it.
        for (k, b) in busy.iter().enumerate() {
            if b.is_none() {
                if let Some(w) = waiting_for(&pending, k, t_now) {
                    fail(&mut r, format!("t={t_now}: node {k} idles while task {} job {} waits", w.3, w.4));
                }
            }
        }
    }
    if let Some(((i, j), _)) = pending.iter().next() {
        fail(&mut r, format!("task {i} job {j} never finished"));
    }
    r
}
