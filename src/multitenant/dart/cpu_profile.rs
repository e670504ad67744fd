//! The CPU side of `bench dart --gpu`: every layer of every task run by the CPU kernels on
//! nodes of 1, 2, 4, … cores (pinned), its largest and median times per core count, and the
//! fit to the pipeline model's `t_core / s(c)`: `t_core` the one-core time and σ the largest
//! overhead any measured count implies, so that the model is at least every measured time.
//! A profile is written to a file and read back by later processes on the same machine.

use super::model::{speedup, Task};
use super::taskset::TaskSet;
use crate::cpu::{CpuLayers, CpuNode};
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::time::Instant;

pub const CPU_PROFILE_SCHEMA: u32 = 1;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CpuProfileFile {
    pub schema_version: u32,
    pub taskset: String,
    /// The host's processor, as the system names it.
    pub host: String,
    pub core_counts: Vec<usize>,
    pub runs: usize,
    pub pinned: bool,
    pub tasks: Vec<CpuProfiledTask>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CpuProfiledTask {
    pub task: String,
    pub layers: Vec<String>,
    /// Per layer, per core count (as `core_counts`): the largest and the median run, ms.
    pub largest_ms: Vec<Vec<f64>>,
    pub median_ms: Vec<Vec<f64>>,
}

/// One, two, four, … cores below `cores`, and `cores − 1` (what a CPU node beside the GPU's
/// issuing core can have).
pub fn core_counts(cores: usize) -> Vec<usize> {
    let top = cores.saturating_sub(1).max(1);
    let mut v: Vec<usize> = std::iter::successors(Some(1usize), |c| Some(c * 2)).take_while(|&c| c < top).collect();
    v.push(top);
    v
}

fn host() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("model name")).map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into())
}

impl CpuProfileFile {
    /// Every layer of `set` on every core count, `runs` timed runs after one warm-up.
    pub fn measure(set: &TaskSet, cpu: &CpuLayers, cores: usize, runs: usize) -> Result<CpuProfileFile> {
        let counts = core_counts(cores);
        let mut tasks: Vec<CpuProfiledTask> = set
            .tasks
            .iter()
            .map(|t| CpuProfiledTask {
                task: t.name.clone(),
                layers: t.layers.iter().map(|l| l.name.clone()).collect(),
                largest_ms: vec![Vec::new(); t.layers.len()],
                median_ms: vec![Vec::new(); t.layers.len()],
            })
            .collect();
        let mut pinned = true;
        for &c in &counts {
            let ids: Vec<usize> = (0..c).collect();
            let node = CpuNode::new(&ids, true, cpu.scratch(c))?;
            pinned &= node.pinned;
            for (i, t) in set.tasks.iter().enumerate() {
                for l in 0..t.layers.len() {
                    cpu.run(&node, i, l);
                    let mut xs: Vec<f64> = (0..runs)
                        .map(|_| {
                            let t0 = Instant::now();
                            cpu.run(&node, i, l);
                            t0.elapsed().as_secs_f64() * 1e3
                        })
                        .collect();
                    xs.sort_by(f64::total_cmp);
                    tasks[i].largest_ms[l].push(xs[xs.len() - 1]);
                    tasks[i].median_ms[l].push(xs[xs.len() / 2]);
                }
            }
            eprintln!("{}: CPU layers profiled on {c} cores", set.name);
        }
        Ok(CpuProfileFile {
            schema_version: CPU_PROFILE_SCHEMA,
            taskset: set.name.clone(),
            host: host(),
            core_counts: counts,
            runs,
            pinned,
            tasks,
        })
    }

    /// Whether this profile was made for `set` on a machine of `cores` cores here.
    fn fits(&self, set: &TaskSet, cores: usize) -> bool {
        self.schema_version == CPU_PROFILE_SCHEMA
            && self.taskset == set.name
            && self.host == host()
            && self.core_counts == core_counts(cores)
            && self.tasks.len() == set.tasks.len()
            && self
                .tasks
                .iter()
                .zip(&set.tasks)
                .all(|(p, t)| p.task == t.name && p.layers.iter().eq(t.layers.iter().map(|l| &l.name)))
    }

    /// Per task and layer, `(t_core, σ)` fitted to the largest (`worst`) or the median runs.
    pub fn fit(&self, worst: bool) -> Vec<Vec<(f64, f64)>> {
        self.tasks
            .iter()
            .map(|t| {
                let runs = if worst { &t.largest_ms } else { &t.median_ms };
                runs.iter().map(|xs| fit(&self.core_counts, xs)).collect()
            })
            .collect()
    }
}

/// `(t_core, σ)` with `t_core / s(c) ≥ xs[i]` at every count `counts[i]`: the one-core time,
/// and the largest σ any other count needs.
pub fn fit(counts: &[usize], xs: &[f64]) -> (f64, f64) {
    let one = counts.iter().position(|&c| c == 1).map_or(0.0, |i| xs[i]);
    let t1 = one.max(f64::MIN_POSITIVE);
    let sigma = counts
        .iter()
        .zip(xs)
        .filter(|(&c, _)| c > 1)
        .map(|(&c, &x)| ((x * c as f64 / t1 - 1.0) / (c as f64 - 1.0)).max(0.0))
        .fold(0.0, f64::max);
    (one, sigma)
}

/// The profile at `path` when it was made for this set and machine, else measured (and
/// written there, when a path is given).
pub fn load_or_measure(
    path: Option<&Path>,
    set: &TaskSet,
    cpu: &CpuLayers,
    cores: usize,
    runs: usize,
) -> Result<CpuProfileFile> {
    if let Some(p) = path.filter(|p| p.exists()) {
        let text = std::fs::read_to_string(p).map_err(|e| Error::io(p, e))?;
        let f: CpuProfileFile =
            crate::strict_json::typed(&text).map_err(|e| Error::Usage(format!("{}: {e}", p.display())))?;
        if f.fits(set, cores) {
            eprintln!("{}: CPU profile read from {}", set.name, p.display());
            return Ok(f);
        }
        eprintln!("{}: {} was made for another set or machine; profiling again", set.name, p.display());
    }
    let f = CpuProfileFile::measure(set, cpu, cores, runs)?;
    if let Some(p) = path {
        let text = serde_json::to_string_pretty(&f).map_err(|e| Error::Usage(e.to_string()))? + "\n";
        crate::results::write_atomic(p, text.as_bytes())?;
    }
    Ok(f)
}

/// `tasks` with every layer's one-core time and σ replaced by the fit, times `scale`.
pub fn with_cpu_times(tasks: &mut [Task], fitted: &[Vec<(f64, f64)>], scale: f64) {
    for (t, fs) in tasks.iter_mut().zip(fitted) {
        for (l, &(t1, sigma)) in t.layers.iter_mut().zip(fs) {
            l.core_ms = t1 * scale;
            l.sigma = sigma;
        }
    }
}

/// The one-core time a layer measured at `ms` on `cores` cores implies under σ.
pub fn one_core_ms(ms: f64, cores: u32, sigma: f64) -> f64 {
    ms * speedup(cores, sigma)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fit_covers_every_measured_count() {
        let counts = core_counts(16);
        assert_eq!(counts, vec![1, 2, 4, 8, 15]);
        let xs = [10.0, 5.5, 3.2, 1.9, 1.4];
        let (t1, sigma) = fit(&counts, &xs);
        assert_eq!(t1, 10.0);
        for (&c, &x) in counts.iter().zip(&xs) {
            assert!(t1 / speedup(c as u32, sigma) >= x - 1e-9, "{c} cores: {} < {x}", t1 / speedup(c as u32, sigma));
        }
        // The count that needs the largest overhead is met exactly.
        assert!(counts.iter().zip(&xs).any(|(&c, &x)| (t1 / speedup(c as u32, sigma) - x).abs() < 1e-9));
        assert_eq!(core_counts(1), vec![1]);
        assert_eq!(core_counts(2), vec![1]);
    }
}
