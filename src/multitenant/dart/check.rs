//! The pipeline family's checker: replays a run's log with its own bookkeeping and re-derives
//! every node's timeline and every job's response time. It confirms that a node runs one unit
//! at a time, each unit as long as its logged work, a real-time unit a whole stage and a
//! best-effort unit one layer in order (a whole stage under the sequential runtime), every
//! stage after the one before it; that no unit works longer than its WCET unless it is a
//! real-time unit that then stops, is reported as an overrun and has the rest of its job run
//! as best effort; that at every start no unit the runtime should have preferred was waiting;
//! that no node idles at the end of an instant while a unit waits for it, nor starts a unit
//! later than the moment it was free with one waiting (beyond a slack, for measured logs); and
//! that real-time releases are at least a period apart.

use super::model::{layer_wcets, Plan, Runtime};
use super::sim::{rank_key, ranks, Event};
use std::collections::{BTreeMap, BTreeSet};

/// What the replay found.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub violations: usize,
    pub first: Vec<String>,
    /// Per task, each finished job's response time, ms.
    pub responses: Vec<Vec<f64>>,
    /// Real-time jobs that finished after their deadline (demoted jobs apart).
    pub misses: usize,
    /// Jobs demoted by an overrun: (task, job, response time).
    pub overruns: Vec<(usize, usize, f64)>,
}

#[derive(Debug, Clone)]
struct Pending {
    release: f64,
    /// The stage it waits for (`None` while one of its units runs).
    stage: Option<usize>,
    layer: usize,
    since: f64,
    demoted: bool,
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

/// A real-time release less than a period after the task's last (what is wrong, if so);
/// `last` becomes `t`. Best-effort releases are never early.
pub fn early_release(task: &super::model::Task, last: &mut Option<f64>, t: f64) -> Option<String> {
    if !task.rt() {
        return None;
    }
    let prev = last.replace(t)?;
    (t < prev + task.period_ms * (1.0 - 1e-12)).then(|| format!("released {} ms after its last", t - prev))
}

/// Replays `events` of a run of `plan`.
pub fn check(plan: &Plan, events: &[Event]) -> Report {
    check_with_slack(plan, events, 0.0)
}

/// The same replay of a measured log, whose starts come a little after the instant that
/// allowed them (a host thread wakes late): a unit counts as waiting for a node, in the
/// priority and idleness rules, only once it has waited `slack_ms`.
pub fn check_with_slack(plan: &Plan, events: &[Event], slack_ms: f64) -> Report {
    let (tasks, cfg, cuts) = (plan.tasks, plan.config, plan.cuts);
    let n = tasks.len();
    let wcet: Vec<Vec<Vec<f64>>> = (0..n).map(|i| layer_wcets(plan.platform, &tasks[i], cfg, &cuts[i])).collect();
    let start_of = |i: usize, k: usize| if k == 0 { 0 } else { cuts[i][k - 1] };
    let first_stage = |i: usize, from: usize| (from..cfg.len()).find(|&k| cuts[i][k] > start_of(i, k));
    let rank = ranks(plan);
    let mut r = Report { responses: vec![Vec::new(); n], ..Report::default() };
    let fail = |r: &mut Report, why: String| {
        r.violations += 1;
        if r.first.len() < 5 {
            r.first.push(why);
        }
    };
    // (task, job) → what it waits for; node → (task, job, end, overran).
    let mut pending: BTreeMap<(usize, usize), Pending> = BTreeMap::new();
    let mut busy: Vec<Option<(usize, usize, f64, bool)>> = vec![None; cfg.len()];
    let mut last_release: Vec<Option<f64>> = vec![None; n];
    let mut free_since = vec![0.0f64; cfg.len()];
    // Overruns found and not yet reported by the log.
    let mut unreported: BTreeSet<(usize, usize)> = BTreeSet::new();
    let key = |i: usize, job: usize, w: &Pending| rank_key(plan, &rank, i, job, w.release, w.since, w.demoted);
    let waiting_for = |pending: &BTreeMap<(usize, usize), Pending>, k: usize, t: f64| {
        pending
            .iter()
            .filter(|(_, w)| w.stage == Some(k) && w.since + slack_ms <= t + 1e-9 * t.abs().max(1.0))
            .map(|(&(i, j), w)| key(i, j, w))
            .min_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal))
    };
    let mut idx = 0;
    while idx < events.len() {
        let t_now = events[idx].t();
        // One instant: every event at this time, in log order.
        while idx < events.len() {
            let e = events[idx];
            let t = e.t();
            if t > t_now {
                break;
            }
            idx += 1;
            match e {
                Event::Release { t, task, job } => {
                    if let Some(why) = early_release(&tasks[task], &mut last_release[task], t) {
                        fail(&mut r, format!("task {task} {why}"));
                    }
                    match first_stage(task, 0) {
                        Some(k) => {
                            let layer = start_of(task, k);
                            let w = Pending { release: t, stage: Some(k), layer, since: t, demoted: false };
                            pending.insert((task, job), w);
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
                    if w.stage != Some(stage) || w.layer != first || w.since > t + 1e-9 {
                        fail(
                            &mut r,
                            format!("t={t}: task {task} job {job} starts stage {stage} layer {first} out of order"),
                        );
                    }
                    let (base, whole) = (start_of(task, stage), cuts[task][stage]);
                    let bound: f64 = (first.max(base)..end.min(whole)).map(|l| wcet[task][stage][l - base]).sum();
                    let overran = work_ms > bound * (1.0 + 1e-9) + 1e-12;
                    let as_rt = tasks[task].rt() && !w.demoted;
                    let ok_span = if as_rt {
                        first == base && (end == whole || (overran && end > first))
                    } else if plan.runtime == Runtime::Sequential {
                        end == whole
                    } else {
                        end == first + 1
                    };
                    if !ok_span || end > whole {
                        fail(&mut r, format!("t={t}: task {task} runs layers {first}..{end} as one unit"));
                    }
                    if overran && !as_rt {
                        fail(&mut r, format!("t={t}: task {task} works {work_ms} ms, above its WCET {bound}"));
                    }
                    if let Some(best) = waiting_for(&pending, stage, t) {
                        if best < key(task, job, &w) {
                            fail(&mut r, format!("t={t}: node {stage} starts task {task} job {job} while task {} job {} should go first", best.3, best.4));
                        }
                    }
                    // The node was free and a unit waited for it since `ready`: a start later than
                    // that (beyond the slack) left it idle.
                    let ready = pending
                        .values()
                        .filter(|x| x.stage == Some(stage))
                        .map(|x| x.since)
                        .fold(f64::INFINITY, f64::min)
                        .max(free_since[stage]);
                    if t > ready + slack_ms + 1e-9 * t.abs().max(1.0) {
                        fail(&mut r, format!("t={t}: node {stage} idled from {ready} while a unit waited"));
                    }
                    busy[stage] = Some((task, job, t + work_ms, overran && as_rt));
                    pending.insert((task, job), Pending { stage: None, layer: end, since: f64::INFINITY, ..w });
                }
                Event::Overrun { t, task, job } => {
                    if !unreported.remove(&(task, job)) {
                        fail(&mut r, format!("t={t}: task {task} job {job} reported as an overrun it did not have"));
                    }
                }
                Event::End { t, task, job, stage } => {
                    let Some((bt, bj, due, overran)) = busy[stage] else {
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
                    free_since[stage] = t;
                    let Some(mut w) = pending.remove(&(task, job)) else { continue };
                    if overran {
                        w.demoted = true;
                        unreported.insert((task, job));
                    }
                    if w.layer < cuts[task][stage] {
                        pending.insert((task, job), Pending { stage: Some(stage), since: t, ..w });
                    } else if let Some(k) = first_stage(task, stage + 1) {
                        let layer = start_of(task, k);
                        pending.insert((task, job), Pending { stage: Some(k), layer, since: t, ..w });
                    } else if w.demoted {
                        r.overruns.push((task, job, t - w.release));
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
        // End of the instant: no idle node with a unit waiting for it. A measured log's next
        // start comes a little after the end that allowed it, so a node counts as idle only
        // once it has been free for the slack (with no slack: at once, as before).
        for (k, b) in busy.iter().enumerate() {
            if b.is_none() && free_since[k] + slack_ms <= t_now + 1e-9 * t_now.abs().max(1.0) {
                if let Some(w) = waiting_for(&pending, k, t_now) {
                    fail(&mut r, format!("t={t_now}: node {k} idles while task {} job {} waits", w.3, w.4));
                }
            }
        }
    }
    if let Some(((i, j), _)) = pending.iter().next() {
        fail(&mut r, format!("task {i} job {j} never finished"));
    }
    if let Some((i, j)) = unreported.iter().next() {
        fail(&mut r, format!("task {i} job {j} overran its WCET and was not reported"));
    }
    r
}
