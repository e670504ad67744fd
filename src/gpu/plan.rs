//! Execution plans: the tasks the GPU executor runs, built on the CPU from a placement or a
//! HIOS schedule, so that what runs is testable without a GPU.
//!
//! A task is one operator as a real kernel, or a calibrated busy kernel of a given time (the
//! paper's workloads have times but no shapes; CPU nodes run as busy kernels of their CPU time,
//! on a GPU, labelled as such). Tasks sit on a (GPU, stream) lane; a dependency on a task of
//! another GPU is a real copy of the producer's output bytes.

use crate::evaluate::Evaluation;
use crate::hios::Schedule;
use crate::placement::{Device, Placement};
use crate::workload::Workload;
use crate::zoo::graph::{OpGraph, OpKind};

/// Bytes per element of the executor's tensors (fp32 storage; cuDNN and cuBLAS may use TF32).
pub const ELEMENT_BYTES: usize = 4;

/// Bytes a busy-kernel dependency moves between GPUs: the paper's inputs give times, not
/// bytes, so the copy only carries the dependency; the modelled time is spent as busy time.
pub const BUSY_EDGE_BYTES: usize = 64 << 10;

/// The element-wise kernels' launch shape (copies between GPUs among them): blocks of
/// `KERNEL_THREADS`, at most `KERNEL_BLOCKS_MAX`, a grid stride beyond; that fills the 2048
/// resident threads of each of the 132 SMs of an H100 or H200.
pub const KERNEL_THREADS: usize = 256;
pub const KERNEL_BLOCKS_MAX: usize = 132 * 8;

/// The share of the receiving GPU's compute a copy of `bytes` from another GPU takes while it
/// runs. Measured on 2×H200 (`results/gpu-history/h200x2-copy-blocks/`), a 64 MiB copy and an
/// SM-filling kernel beside it lose 89–100% of the shorter one's time whatever the copy's block
/// count (16 to 1056): a copy that streams holds the GPU. One shorter than a full wave of the
/// word kernel (1 MiB) is mostly latency and holds its share of that wave.
pub fn copy_hold(bytes: usize) -> f64 {
    CopyKernel::Words.grid(bytes) as f64 / KERNEL_BLOCKS_MAX as f64
}

/// How the executor copies between GPUs: a kernel on the receiving GPU reading the producer's
/// memory over the link, or (`Engine`, a diagnostic so far) the copy engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CopyKernel {
    /// 4-byte words, a block per 256 of them up to every thread slot of the GPU (`--word-copies`;
    /// what every run before `--copy-blocks` used, and rows without a `copy_kernel` field ran).
    Words,
    /// 16-byte words, four in flight per thread, on at most `blocks` blocks.
    Wide { blocks: usize },
    /// The receiving GPU's copy engine (`cuMemcpyDtoDAsync` between peers): no SMs taken.
    Engine,
}

impl CopyKernel {
    /// Blocks launched for `bytes` (none by the copy engine).
    pub fn grid(self, bytes: usize) -> usize {
        match self {
            CopyKernel::Words => (bytes / ELEMENT_BYTES).div_ceil(KERNEL_THREADS).clamp(1, KERNEL_BLOCKS_MAX),
            CopyKernel::Wide { blocks } => {
                (bytes / 16).div_ceil(KERNEL_THREADS).clamp(1, blocks.clamp(1, KERNEL_BLOCKS_MAX))
            }
            CopyKernel::Engine => 0,
        }
    }
}

/// What a task runs.
#[derive(Debug, Clone, PartialEq)]
pub enum Work {
    /// A spin kernel of this many milliseconds.
    Busy { ms: f64 },
    /// Operator `op` of the plan's graph, as real kernels.
    Op { op: usize },
}

/// A dependency on an earlier task; when the two sit on different GPUs, `bytes` are copied.
#[derive(Debug, Clone, PartialEq)]
pub struct Dep {
    pub task: usize,
    pub bytes: usize,
    /// Whether the task's kernel reads the producer's output as an operator input (the input
    /// dependencies of an operator are its inputs, in order). Otherwise the task only waits for
    /// it — a schedule's order inside a GPU, a diagnostic branch's return — and its kernel never
    /// sees it: an add handed one more buffer would add it in too.
    pub input: bool,
}

impl Dep {
    /// The producer's output is one of the task's inputs.
    pub fn input(task: usize, bytes: usize) -> Dep {
        Dep { task, bytes, input: true }
    }

    /// The task waits for the producer (and its `bytes`, from another GPU) without reading them.
    pub fn wait(task: usize, bytes: usize) -> Dep {
        Dep { task, bytes, input: false }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Task {
    /// Logical GPU; the executor maps it onto the GPUs present (modulo their count).
    pub gpu: usize,
    /// Stream within the GPU.
    pub stream: usize,
    pub work: Work,
    pub deps: Vec<Dep>,
    /// Bytes of the task's output buffer.
    pub out_bytes: usize,
    /// Tasks of one GPU sharing a stage form one HIOS stage (they are contiguous in a GPU's
    /// issue order): under graph replay the stage's inputs from other GPUs all arrive before
    /// it starts and its outputs leave when it has ended, as the schedule's model has it.
    /// Elsewhere every task is a stage of its own (its index).
    pub stage: usize,
}

/// Tasks in an order that respects every dependency (the order each GPU's host thread issues
/// its own tasks in).
#[derive(Debug, Clone)]
pub struct Plan {
    pub tasks: Vec<Task>,
    /// The operator graph of `Work::Op` tasks (none for busy-kernel plans).
    pub graph: Option<OpGraph>,
    /// What the kernels are, for the results.
    pub kernels: &'static str,
    /// Under graph replay, also cut a GPU's share of a sample after every this many stages (0:
    /// only at exchanges with other GPUs): a diagnostic of what cutting alone costs.
    pub cut_every: usize,
}

pub const REAL_KERNELS: &str = "real kernels: cuDNN convolutions and pooling, cuBLAS matmuls, NVRTC element-wise";
pub const BUSY_KERNELS: &str =
    "calibrated busy kernels: fpgaLatency per node (cpuLatency for CPU nodes), modelled communication as busy time";

impl Plan {
    /// Logical GPUs used.
    pub fn gpus(&self) -> usize {
        self.tasks.iter().map(|t| t.gpu + 1).max().unwrap_or(0)
    }

    /// How many samples behind the pipeline's front each task runs when samples stream through
    /// (`Mode::Pipeline`): one more than its producer for every hop between stages, so that no
    /// GPU's host thread, issuing its tasks in order, ever waits on another thread's progress
    /// within a step, and each stream goes on with the next sample instead of waiting for a
    /// chain through other GPUs. On a training split this is a one-forward-one-backward order
    /// (the backward of stage j runs 2(S - 1 - j) samples behind its forward); where stages
    /// outnumber GPUs, the stages a GPU shares no longer wait for each other.
    pub fn pipeline_lags(&self) -> Vec<usize> {
        let mut lag = vec![0usize; self.tasks.len()];
        for (i, t) in self.tasks.iter().enumerate() {
            lag[i] =
                t.deps.iter().map(|d| lag[d.task] + usize::from(t.gpu != self.tasks[d.task].gpu)).max().unwrap_or(0);
        }
        lag
    }

    /// One GPU's tasks (`mine`, in issue order) cut into the segments that graph replay runs,
    /// each as one CUDA graph: a segment starts at a stage with a task that imports from
    /// another GPU and ends after a stage with one that exports, so that a stage's inputs from
    /// other GPUs all arrive before it starts and its outputs leave when all of it has ended
    /// (the schedule model's stage; with a stage per task, a cut at every exchange).
    pub fn segments(
        &self,
        mine: &[usize],
        imports: impl Fn(usize) -> bool,
        exports: impl Fn(usize) -> bool,
    ) -> Vec<Vec<usize>> {
        let mut cuts: Vec<Vec<usize>> = Vec::new();
        let mut cur: Vec<usize> = Vec::new();
        let mut stages = 0;
        for members in mine.chunk_by(|&a, &b| self.tasks[a].stage == self.tasks[b].stage) {
            if members.iter().any(|&t| imports(t)) && !cur.is_empty() {
                cuts.push(std::mem::take(&mut cur));
                stages = 0;
            }
            cur.extend_from_slice(members);
            stages += 1;
            if members.iter().any(|&t| exports(t)) || (self.cut_every > 0 && stages >= self.cut_every) {
                cuts.push(std::mem::take(&mut cur));
                stages = 0;
            }
        }
        if !cur.is_empty() {
            cuts.push(cur);
        }
        cuts
    }

    /// The streams the executor makes on `devices` GPUs, one per logical GPU and stream in
    /// order of first use: each task's lane, and each lane's GPU (the logical one modulo the
    /// GPUs present).
    pub fn lanes(&self, devices: usize) -> (Vec<usize>, Vec<usize>) {
        let mut keys: Vec<(usize, usize)> = Vec::new();
        let lane = self
            .tasks
            .iter()
            .map(|t| match keys.iter().position(|&k| k == (t.gpu, t.stream)) {
                Some(i) => i,
                None => {
                    keys.push((t.gpu, t.stream));
                    keys.len() - 1
                }
            })
            .collect();
        (lane, keys.iter().map(|k| k.0 % devices).collect())
    }

    /// Checks that every dependency points to an earlier task and that each operator gets as
    /// many input dependencies as it has inputs (its kernel reads exactly those).
    pub fn check(&self) -> crate::Result<()> {
        for (i, t) in self.tasks.iter().enumerate() {
            if let Some(d) = t.deps.iter().find(|d| d.task >= i) {
                return Err(crate::Error::Gpu(format!("task {i} depends on task {} issued after it", d.task)));
            }
            if let (Work::Op { op }, Some(g)) = (&t.work, &self.graph) {
                let (got, want) = (t.deps.iter().filter(|d| d.input).count(), g.ops[*op].inputs.len());
                if got != want {
                    return Err(crate::Error::Gpu(format!(
                        "task {i} (operator {}) has {got} input dependencies for {want} inputs",
                        g.ops[*op].name
                    )));
                }
            }
        }
        Ok(())
    }
}

/// A chain of `hops + 1` busy tasks of `ms` each, task `i` on GPU `i % gpus`, each passing
/// `bytes` to the next: on two GPUs every hop is an exchange between them, on one none is.
/// Timed one sample at a time, the difference per hop between the two is what an exchange
/// costs the executor beyond its copy (`bench profile` measures it so).
pub fn ping_pong(hops: usize, gpus: usize, ms: f64, bytes: usize) -> Plan {
    fan_ping_pong(hops, 1, gpus, ms, bytes)
}

/// [`ping_pong`] with `fan` tasks per hop, one after another on one stream as one stage, each
/// passing `bytes` to the next hop's first task: on two GPUs every hop imports `fan` inputs,
/// so its copies queue on the receiving GPU's copy stream. Against the same on one GPU, the
/// growth of the time per hop with `fan` is what one more queued copy costs (`bench links`).
pub fn fan_ping_pong(hops: usize, fan: usize, gpus: usize, ms: f64, bytes: usize) -> Plan {
    let fan = fan.max(1);
    let mut tasks = Vec::with_capacity((hops + 1) * fan);
    for hop in 0..=hops {
        for j in 0..fan {
            let deps = match (hop, j) {
                (0, 0) => Vec::new(),
                (_, 0) => ((hop - 1) * fan..hop * fan).map(|task| Dep::input(task, bytes)).collect(),
                _ => vec![Dep::input(hop * fan + j - 1, bytes)],
            };
            tasks.push(Task {
                gpu: hop % gpus.max(1),
                stream: 0,
                work: Work::Busy { ms },
                deps,
                out_bytes: bytes,
                stage: hop,
            });
        }
    }
    Plan { tasks, graph: None, kernels: BUSY_KERNELS, cut_every: 0 }
}

/// `stages` HIOS-like stages on one GPU, each of `groups` busy tasks of `ms` on as many
/// streams, every task of a stage after every task of the stage before. Busy kernels take one
/// warp, so a stage's tasks overlap fully: replayed one sample at a time against the same
/// stages of one task each, the difference per stage and extra group is what forking and
/// joining streams costs a graph replay (`bench profile` measures it so).
pub fn fork_join(stages: usize, groups: usize, ms: f64) -> Plan {
    let groups = groups.max(1);
    let mut tasks = Vec::with_capacity(stages * groups);
    for s in 0..stages {
        for g in 0..groups {
            let deps = if s == 0 {
                Vec::new()
            } else {
                ((s - 1) * groups..s * groups).map(|task| Dep::wait(task, 0)).collect()
            };
            tasks.push(Task { gpu: 0, stream: g, work: Work::Busy { ms }, deps, out_bytes: 4, stage: s });
        }
    }
    Plan { tasks, graph: None, kernels: BUSY_KERNELS, cut_every: 0 }
}

/// The pipeline stages of a placement: devices in order of their first node in `order`.
pub fn stages(placement: &Placement, order: &[usize]) -> Vec<Device> {
    let mut out: Vec<Device> = Vec::new();
    for &v in order {
        if !out.contains(&placement.device[v]) {
            out.push(placement.device[v]);
        }
    }
    out
}

/// A placement of a workload without shapes, one busy kernel per node, each stage on its own
/// GPU; a stage ends with a busy kernel of its modelled communication time.
pub fn busy_placement(w: &Workload, placement: &Placement, e: &Evaluation) -> Plan {
    let order = w.topological_order();
    let stage_of = stages(placement, &order);
    let stage = |v: usize| stage_of.iter().position(|d| *d == placement.device[v]).expect("every device is a stage");
    let mut task_of = vec![usize::MAX; w.nodes.len()];
    let mut tasks = Vec::new();
    for &v in &order {
        let s = stage(v);
        let ms = if placement.device[v].is_acc() { w.nodes[v].acc_latency } else { w.nodes[v].cpu_latency };
        let deps = w.pred[v]
            .iter()
            .map(|&u| Dep::input(task_of[u], if stage(u) == s { 0 } else { BUSY_EDGE_BYTES }))
            .collect();
        task_of[v] = tasks.len();
        let stage = tasks.len();
        tasks.push(Task { gpu: s, stream: 0, work: Work::Busy { ms }, deps, out_bytes: BUSY_EDGE_BYTES, stage });
    }
    for (s, d) in stage_of.iter().enumerate() {
        let comm = e.devices.iter().find(|x| x.device == *d).map_or(0.0, |x| x.comm);
        if comm > 0.0 {
            let stage = tasks.len();
            tasks.push(Task {
                gpu: s,
                stream: 0,
                work: Work::Busy { ms: comm },
                deps: Vec::new(),
                out_bytes: 4,
                stage,
            });
        }
    }
    Plan { tasks, graph: None, kernels: BUSY_KERNELS, cut_every: 0 }
}

/// A placement of a zoo workload: every operator of an accelerator node as real kernels on its
/// stage's GPU; a CPU node as one busy kernel of its CPU time. `node_ops[v]` lists node `v`'s
/// operators (forward nodes only: zoo training workloads are not run with real kernels).
pub fn op_placement(w: &Workload, g: OpGraph, node_ops: &[Vec<usize>], placement: &Placement) -> Plan {
    let order = w.topological_order();
    let stage_of = stages(placement, &order);
    let mut node_of = vec![0; g.ops.len()];
    for (v, ops) in node_ops.iter().enumerate() {
        for &o in ops {
            node_of[o] = v;
        }
    }
    let stage = |v: usize| stage_of.iter().position(|d| *d == placement.device[v]).expect("every device is a stage");
    // Operators in graph order (the builder's order is topological); a CPU node's operators
    // collapse into one busy task at its first operator, which waits for all of the node's inputs.
    let mut task_of = vec![usize::MAX; g.ops.len()];
    let mut tasks: Vec<Task> = Vec::new();
    let mut cpu_task = vec![usize::MAX; node_ops.len()];
    for o in 0..g.ops.len() {
        let v = node_of[o];
        let s = stage(v);
        let dep = |u: usize, task_of: &[usize]| {
            Dep::input(task_of[u], if stage(node_of[u]) == s { 0 } else { g.ops[u].numel() as usize * ELEMENT_BYTES })
        };
        if placement.device[v].is_acc() {
            let deps = g.ops[o].inputs.iter().map(|&u| dep(u, &task_of)).collect();
            task_of[o] = tasks.len();
            let work = if g.ops[o].kind == OpKind::Input { Work::Busy { ms: 0.0 } } else { Work::Op { op: o } };
            let (out_bytes, stage) = (g.ops[o].numel() as usize * ELEMENT_BYTES, tasks.len());
            tasks.push(Task { gpu: s, stream: 0, work, deps, out_bytes, stage });
        } else if cpu_task[v] == usize::MAX {
            let inside = |u: usize| node_of[u] == v;
            let mut deps: Vec<Dep> = Vec::new();
            for &p in &node_ops[v] {
                for &u in &g.ops[p].inputs {
                    if !inside(u) && !deps.iter().any(|d| d.task == task_of[u]) {
                        deps.push(dep(u, &task_of));
                    }
                }
            }
            cpu_task[v] = tasks.len();
            let out = node_ops[v].iter().map(|&p| g.ops[p].numel() as usize).max().unwrap_or(1) * ELEMENT_BYTES;
            tasks.push(Task {
                gpu: s,
                stream: 0,
                work: Work::Busy { ms: w.nodes[v].cpu_latency },
                deps,
                out_bytes: out,
                stage: tasks.len(),
            });
            task_of[o] = cpu_task[v];
        } else {
            task_of[o] = cpu_task[v];
        }
    }
    Plan { tasks, graph: Some(g), kernels: REAL_KERNELS, cut_every: 0 }
}

/// A HIOS schedule: each GPU runs its stages in order; the groups of a stage run at once, one
/// stream each; a stage starts when the GPU's previous stage has finished. With a graph, node
/// `v` is operator `v` (operator-granularity zoo workloads); without, busy kernels of `w`'s
/// accelerator times.
pub fn schedule(w: &Workload, s: &Schedule, graph: Option<OpGraph>) -> crate::Result<Plan> {
    let n = w.nodes.len();
    if let Some(g) = &graph {
        if g.ops.len() != n {
            return Err(crate::Error::Gpu(format!("the schedule has {n} operators, the model {}", g.ops.len())));
        }
    }
    // Extra ordering: the first operator of each group waits for the last of every group of
    // the GPU's previous stage; inside a group, operators run in their listed order.
    let mut after: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut lane = vec![(0usize, 0usize); n];
    let mut stage_id = vec![0usize; n];
    let mut stages_seen = 0;
    for (gpu, stages) in s.stages.iter().enumerate() {
        let mut prev_ends: Vec<usize> = Vec::new();
        for stage in stages {
            let mut ends = Vec::new();
            stages_seen += 1;
            for (q, group) in stage.iter().enumerate() {
                for (i, &v) in group.iter().enumerate() {
                    lane[v] = (gpu, q);
                    stage_id[v] = stages_seen;
                    if i == 0 {
                        after[v].extend(prev_ends.iter().copied());
                    } else {
                        after[v].push(group[i - 1]);
                    }
                }
                if let Some(&last) = group.last() {
                    ends.push(last);
                }
            }
            if !ends.is_empty() {
                prev_ends = ends;
            }
        }
    }
    // One issue order for every GPU's thread: a topological order of data and schedule edges.
    let mut succ: Vec<Vec<usize>> = vec![Vec::new(); n];
    for v in 0..n {
        for &u in w.pred[v].iter().chain(&after[v]) {
            succ[u].push(v);
        }
    }
    let order = crate::dag::topological_order(n, &succ, crate::dag::Ready::Fifo);
    if order.len() != n {
        return Err(crate::Error::Gpu("the schedule's stage order contradicts the graph's edges".into()));
    }
    let mut task_of = vec![usize::MAX; n];
    let mut tasks = Vec::with_capacity(n);
    for &v in &order {
        let (gpu, stream) = lane[v];
        let bytes_of = |u: usize| match &graph {
            Some(g) => g.ops[u].numel() as usize * ELEMENT_BYTES,
            None => BUSY_EDGE_BYTES,
        };
        // An operator's inputs in its own order (the workload's edges are a set); the stage
        // order only waits, or an add would be handed its predecessor's buffer to add in too.
        let inputs = graph.as_ref().map_or(&w.pred[v], |g| &g.ops[v].inputs);
        let mut deps: Vec<Dep> =
            inputs.iter().map(|&u| Dep::input(task_of[u], if lane[u].0 == gpu { 0 } else { bytes_of(u) })).collect();
        deps.extend(after[v].iter().map(|&u| Dep::wait(task_of[u], 0)));
        let work = match &graph {
            Some(g) if g.ops[v].kind != OpKind::Input => Work::Op { op: v },
            Some(_) => Work::Busy { ms: 0.0 },
            None => Work::Busy { ms: w.nodes[v].acc_latency },
        };
        task_of[v] = tasks.len();
        tasks.push(Task { gpu, stream, work, deps, out_bytes: bytes_of(v), stage: stage_id[v] });
    }
    let kernels = if graph.is_some() { REAL_KERNELS } else { BUSY_KERNELS };
    Ok(Plan { tasks, graph, kernels, cut_every: 0 })
}
