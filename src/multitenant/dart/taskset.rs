//! Task sets: the file format, tasks from the zoo's models, and generated sets.
//!
//! A file is JSON: `{"schema_version": 1, "tasks": [...]}`, each task `name`, `class` (`rt` or
//! `be`), `period_ms`, optional `deadline_ms` (default the period), `weight` (default 1) and
//! `input_bytes`, and one of `model` (a zoo model, with `batch` and `blocks`), `workload` (a
//! dnn-partitioning file, with `blocks`) or explicit `layers` (`gpu_ms`, `issue_ms`,
//! `core_ms`, `sigma`, `out_bytes`).
//!
//! A zoo model's operators, in topological order, are merged into `blocks` consecutive layers
//! of about equal GPU time (default 16); a layer's GPU time is the cost model's (less its
//! launch, which is the host's issue time), its time on one core the CPU preset's times its
//! nominal core count, and the bytes after it every tensor produced up to it and read after it.

use super::model::{Class, Layer, Task};
use crate::error::{Error, Result};
use crate::hios::family::GPU_CAPACITY;
use crate::multitenant::tenant::{graph, model_name, parse_model};
use crate::zoo::cost::{op_seconds, CostModel};
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Version of [`TaskSetFile`].
pub const TASKSET_SCHEMA: u32 = 1;
/// Cores of the nominal CPU preset: one core's time is the preset's times this.
pub const CPU_PRESET_CORES: f64 = 32.0;
/// Data-parallel overhead σ of a zoo layer on several cores.
pub const DEFAULT_SIGMA: f64 = 0.1;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskSpec {
    pub name: String,
    pub class: Class,
    pub period_ms: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline_ms: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_bytes: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocks: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layers: Option<Vec<Layer>>,
    /// A dnn-partitioning workload file, relative to the task set's folder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workload: Option<std::path::PathBuf>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskSetFile {
    pub schema_version: u32,
    pub tasks: Vec<TaskSpec>,
}

/// A task set ready to analyse.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskSet {
    pub name: String,
    pub tasks: Vec<Task>,
}

/// A zoo model at `batch` as `blocks` layers on `cost`'s accelerator and CPU.
pub fn zoo_layers(model: crate::zoo::Model, batch: usize, blocks: usize, cost: &CostModel) -> (Vec<Layer>, f64) {
    let g = graph(model, batch);
    let (acc, cpu) = (&cost.accelerator, &cost.cpu);
    let bpe = acc.bytes_per_element;
    let n = g.ops.len();
    let gpu: Vec<f64> = g.ops.iter().map(|o| (op_seconds(o, acc) - acc.launch_overhead).max(0.0) * 1e3).collect();
    let core: Vec<f64> = g.ops.iter().map(|o| op_seconds(o, cpu) * CPU_PRESET_CORES * 1e3).collect();
    // Bytes crossing the cut after position i: produced at or before i, read after it.
    let mut last_use = vec![0usize; n];
    for (i, o) in g.ops.iter().enumerate() {
        for &x in &o.inputs {
            last_use[x] = last_use[x].max(i);
        }
    }
    let crossing =
        |i: usize| -> f64 { (0..=i).filter(|&x| last_use[x] > i).map(|x| g.ops[x].numel() as f64 * bpe).sum() };
    let issue = vec![acc.launch_overhead * 1e3; n];
    let occ: Vec<f64> = g.ops.iter().map(|o| (o.numel() as f64 / GPU_CAPACITY).min(1.0)).collect();
    let layers = merge_blocks(&model_name(model), [&gpu, &issue, &core, &occ], crossing, blocks);
    let input = g.ops.iter().filter(|o| o.inputs.is_empty()).map(|o| o.numel() as f64 * bpe).sum();
    (layers, input)
}

/// Consecutive operators (in topological order) merged into `blocks` layers of about equal
/// GPU time; `crossing(i)` is the bytes a cut after operator `i` copies.
/// `[gpu, issue, core, occupancy]` are per operator; a block's occupancy is its operators'
/// mean weighted by GPU time.
fn merge_blocks(name: &str, per_op: [&[f64]; 4], crossing: impl Fn(usize) -> f64, blocks: usize) -> Vec<Layer> {
    let [gpu, issue, core, occ] = per_op;
    let n = gpu.len();
    let total: f64 = gpu.iter().sum();
    let blocks = blocks.clamp(1, n.max(1));
    let mut layers = Vec::with_capacity(blocks);
    let (mut acc_gpu, mut start) = (0.0, 0usize);
    for (i, &t) in gpu.iter().enumerate() {
        acc_gpu += t;
        let target = total * (layers.len() + 1) as f64 / blocks as f64;
        if (acc_gpu >= target && layers.len() + 1 < blocks) || i + 1 == n {
            let ops = start..i + 1;
            let g: f64 = ops.clone().map(|k| gpu[k]).sum();
            let busy: f64 = ops.clone().map(|k| gpu[k] * occ[k]).sum();
            layers.push(Layer {
                name: format!("{name}[{}..{}]", ops.start, ops.end),
                gpu_ms: ops.clone().map(|k| gpu[k]).sum(),
                issue_ms: ops.clone().map(|k| issue[k]).sum(),
                core_ms: ops.clone().map(|k| core[k]).sum(),
                sigma: DEFAULT_SIGMA,
                out_bytes: if i + 1 == n { 0.0 } else { crossing(i) },
                occupancy: if g > 0.0 { (busy / g).clamp(1e-3, 1.0) } else { 1.0 },
            });
            start = i + 1;
        }
    }
    layers
}

/// The operators a zoo layer merges, from its name (`model[first..end]`, as the blocks are
/// named).
pub fn op_range(layer_name: &str) -> Option<std::ops::Range<usize>> {
    let inner = layer_name.rsplit_once('[')?.1.strip_suffix(']')?;
    let (a, b) = inner.split_once("..")?;
    Some(a.parse().ok()?..b.parse().ok()?)
}

/// A dnn-partitioning workload (read as milliseconds, as the zoo's and the profiled workloads
/// write them) as `blocks` layers: its accelerator latency as the GPU time, its CPU latency as
/// one core's, and a cut's communication cost as the bytes that take as long over `cost`'s
/// link. Every node must run on the accelerator.
pub fn workload_layers(file: &Path, blocks: usize, cost: &CostModel) -> Result<Vec<Layer>> {
    let name = file.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let w = crate::workload::load_workload(file, &name)?;
    if let Some(n) = w.nodes.iter().find(|n| !n.supported_on_acc) {
        return Err(Error::input(
            file,
            format!("node {}: field \"supportedOnFpga\"", n.id),
            "a pipeline task needs every node on the GPU",
        ));
    }
    let order = w.topological_order();
    let mut pos = vec![0usize; order.len()];
    for (p, &v) in order.iter().enumerate() {
        pos[v] = p;
    }
    let gpu: Vec<f64> = order.iter().map(|&v| w.nodes[v].acc_latency).collect();
    let core: Vec<f64> = order.iter().map(|&v| w.nodes[v].cpu_latency).collect();
    let bytes_per_ms = cost.link.bandwidth / 1e3;
    let crossing = |i: usize| -> f64 {
        order[..=i]
            .iter()
            .filter(|&&v| w.succ[v].iter().any(|&s| pos[s] > i))
            .map(|&v| w.out_cost[v] * bytes_per_ms)
            .sum()
    };
    let (none, full) = (vec![0.0; gpu.len()], vec![1.0; gpu.len()]);
    Ok(merge_blocks(&name, [&gpu, &none, &core, &full], crossing, blocks))
}

fn positive(path: &Path, task: &str, field: &str, v: f64) -> Result<f64> {
    if v.is_finite() && v > 0.0 {
        Ok(v)
    } else {
        Err(Error::input(path, format!("task {task:?}: field \"{field}\""), format!("must be a number > 0, got {v}")))
    }
}

/// Reads a task-set file; bad input names the file, the task and the field.
pub fn read_taskset(path: &Path, cost: &CostModel) -> Result<TaskSet> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let f: TaskSetFile = serde_json::from_str(&text).map_err(|e| Error::input(path, "JSON", e.to_string()))?;
    if f.schema_version != TASKSET_SCHEMA {
        return Err(Error::input(
            path,
            "field \"schema_version\"",
            format!("{} (this build reads {TASKSET_SCHEMA})", f.schema_version),
        ));
    }
    if f.tasks.is_empty() {
        return Err(Error::input(path, "field \"tasks\"", "no tasks"));
    }
    let name = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let tasks = f.tasks.iter().map(|s| resolve(path, s, cost)).collect::<Result<_>>()?;
    Ok(TaskSet { name, tasks })
}

/// One task of a file.
pub fn resolve(path: &Path, s: &TaskSpec, cost: &CostModel) -> Result<Task> {
    let period = positive(path, &s.name, "period_ms", s.period_ms)?;
    let deadline = positive(path, &s.name, "deadline_ms", s.deadline_ms.unwrap_or(period))?;
    if deadline > period {
        return Err(Error::input(
            path,
            format!("task {:?}: field \"deadline_ms\"", s.name),
            "must be at most the period",
        ));
    }
    let weight = positive(path, &s.name, "weight", s.weight.unwrap_or(1.0))?;
    let (layers, input) = match (&s.model, &s.layers, &s.workload) {
        (None, None, Some(f)) => {
            let file = path.parent().map_or_else(|| f.clone(), |d| d.join(f));
            (workload_layers(&file, s.blocks.unwrap_or(16), cost)?, 0.0)
        }
        (Some(m), None, None) => {
            let model = parse_model(m).ok_or_else(|| {
                Error::input(path, format!("task {:?}: field \"model\"", s.name), format!("unknown zoo model {m:?}"))
            })?;
            zoo_layers(model, s.batch.unwrap_or(1).max(1), s.blocks.unwrap_or(16), cost)
        }
        (None, Some(l), None) if !l.is_empty() => {
            for x in l {
                let fields = [
                    ("gpu_ms", x.gpu_ms),
                    ("issue_ms", x.issue_ms),
                    ("core_ms", x.core_ms),
                    ("sigma", x.sigma),
                    ("out_bytes", x.out_bytes),
                ];
                if let Some((f, v)) = fields.iter().find(|(_, v)| !(v.is_finite() && *v >= 0.0)) {
                    return Err(Error::input(
                        path,
                        format!("task {:?}: layer {:?}: field \"{f}\"", s.name, x.name),
                        format!("must be a finite number >= 0, got {v}"),
                    ));
                }
                if !(x.occupancy > 0.0 && x.occupancy <= 1.0) {
                    return Err(Error::input(
                        path,
                        format!("task {:?}: layer {:?}: field \"occupancy\"", s.name, x.name),
                        format!("must be in (0, 1], got {}", x.occupancy),
                    ));
                }
            }
            (l.clone(), 0.0)
        }
        _ => {
            return Err(Error::input(
                path,
                format!("task {:?}: field \"model\"", s.name),
                "give one of a zoo model, a workload or layers",
            ));
        }
    };
    Ok(Task {
        name: s.name.clone(),
        class: s.class,
        period_ms: period,
        deadline_ms: deadline,
        weight,
        input_bytes: s.input_bytes.unwrap_or(input),
        layers,
    })
}

/// A generated set: `n` tasks whose utilisations (of one GPU, at their GPU times) sum to
/// `total` by UUniFast, periods log-uniform in `[10, 100]` ms, deadlines the periods, the
/// first half real-time; each task `layers` layers splitting its GPU time at random, each
/// layer's time on one core 5 to 50 times its GPU time (log-uniform), its output 0.1 to 10 MB.
pub fn generate(n: usize, total: f64, layers: usize, seed: u64) -> TaskSet {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    // UUniFast (Bini and Buttazzo).
    let mut u = Vec::with_capacity(n);
    let mut sum = total;
    for i in 1..n {
        let next = sum * rng.random::<f64>().powf(1.0 / (n - i) as f64);
        u.push(sum - next);
        sum = next;
    }
    u.push(sum);
    let log_uniform =
        |rng: &mut rand_chacha::ChaCha8Rng, lo: f64, hi: f64| (lo.ln() + (hi / lo).ln() * rng.random::<f64>()).exp();
    let tasks = u
        .iter()
        .enumerate()
        .map(|(i, &ui)| {
            let period = log_uniform(&mut rng, 10.0, 100.0);
            let c = ui * period;
            let shares: Vec<f64> = (0..layers).map(|_| 0.1 + rng.random::<f64>()).collect();
            let s: f64 = shares.iter().sum();
            let layers = shares
                .iter()
                .enumerate()
                .map(|(l, w)| {
                    let gpu = c * w / s;
                    Layer {
                        name: format!("l{l}"),
                        gpu_ms: gpu * 0.95,
                        issue_ms: gpu * 0.05,
                        core_ms: gpu * log_uniform(&mut rng, 5.0, 50.0),
                        sigma: DEFAULT_SIGMA,
                        out_bytes: log_uniform(&mut rng, 1e5, 1e7),
                        occupancy: 1.0,
                    }
                })
                .collect();
            Task {
                name: format!("t{i}"),
                class: if i < n.div_ceil(2) { Class::Rt } else { Class::Be },
                period_ms: period,
                deadline_ms: period,
                weight: 1.0,
                input_bytes: log_uniform(&mut rng, 1e5, 1e6),
                layers,
            }
        })
        .collect();
    TaskSet { name: format!("uunifast-u{total}-n{n}-s{seed}"), tasks }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uunifast_hits_its_total_and_is_seeded() {
        let a = generate(6, 0.8, 4, 3);
        assert_eq!(a, generate(6, 0.8, 4, 3));
        let u: f64 =
            a.tasks.iter().map(|t| t.layers.iter().map(|l| l.gpu_ms + l.issue_ms).sum::<f64>() / t.period_ms).sum();
        assert!((u - 0.8).abs() < 1e-9, "{u}");
        assert_eq!(a.tasks.iter().filter(|t| t.rt()).count(), 3);
        assert!(a.tasks.iter().all(|t| (10.0..=100.0).contains(&t.period_ms)));
    }

    #[test]
    fn zoo_blocks_keep_the_models_time() {
        let cost = CostModel::resolve("h200", "pcie").unwrap();
        let (layers, input) = zoo_layers(crate::zoo::Model::Resnet50, 1, 12, &cost);
        assert_eq!(layers.len(), 12);
        let g = graph(crate::zoo::Model::Resnet50, 1);
        let want: f64 = g
            .ops
            .iter()
            .map(|o| (op_seconds(o, &cost.accelerator) - cost.accelerator.launch_overhead).max(0.0) * 1e3)
            .sum();
        let got: f64 = layers.iter().map(|l| l.gpu_ms).sum();
        assert!((got - want).abs() < 1e-9 * want);
        // ResNet-50's input: 3 × 224 × 224 elements at 2 bytes.
        assert_eq!(input, 3.0 * 224.0 * 224.0 * 2.0);
        assert!(layers[..11].iter().all(|l| l.out_bytes > 0.0) && layers[11].out_bytes == 0.0);
    }
}
