//! Zoo models' layers run on host cores: a node is a pool of threads pinned to cores of its
//! own, and a layer runs its operators one after another, each split data-parallel over the
//! node's threads ([`kernels`]: im2col plus GEMM for convolutions, GEMMs for dense layers and
//! attention, plain loops for the rest). Used where a pipeline puts layers on CPU nodes.

pub mod kernels;

use crate::error::{Error, Result};
use crate::zoo::graph::OpGraph;
use kernels::Prepared;
use rayon::prelude::*;
use std::ops::Range;
use std::sync::Mutex;

/// A pool of threads, each pinned to one of the node's cores, and a scratch buffer per thread.
pub struct CpuNode {
    pool: rayon::ThreadPool,
    scratch: Vec<Mutex<Vec<f32>>>,
    /// Whether every thread was pinned (a container may refuse).
    pub pinned: bool,
}

/// Pins the calling thread to `core` (Linux); false where the system refuses.
pub fn pin(core: usize) -> bool {
    #[cfg(target_os = "linux")]
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(core, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) == 0
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = core;
        false
    }
}

impl CpuNode {
    /// A node of `cores` (host core numbers; without pinning where `pin` is false), its
    /// threads' scratch sized for `scratch` floats each.
    pub fn new(cores: &[usize], pin_threads: bool, scratch: usize) -> Result<CpuNode> {
        if cores.is_empty() {
            return Err(Error::Usage("a CPU node needs at least one core".into()));
        }
        let ids = cores.to_vec();
        let failed = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(!pin_threads));
        let flag = failed.clone();
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(cores.len())
            .thread_name(|i| format!("cpu-node-{i}"))
            .start_handler(move |i| {
                if pin_threads && !pin(ids[i]) {
                    flag.store(true, std::sync::atomic::Ordering::Relaxed);
                }
            })
            .build()
            .map_err(|e| Error::Usage(format!("a CPU node's threads: {e}")))?;
        // The start handlers have run once every thread has taken a job.
        pool.broadcast(|_| ());
        Ok(CpuNode {
            pool,
            scratch: (0..cores.len()).map(|_| Mutex::new(vec![0.0; scratch])).collect(),
            pinned: !failed.load(std::sync::atomic::Ordering::Relaxed),
        })
    }

    pub fn threads(&self) -> usize {
        self.scratch.len()
    }

    /// Runs `f(item, scratch)` for every item in `0..items` on the node's threads.
    pub fn each(&self, items: usize, f: &(dyn Fn(usize, &mut Vec<f32>) + Sync)) {
        self.pool.install(|| {
            (0..items).into_par_iter().for_each(|item| {
                let t = rayon::current_thread_index().unwrap_or(0) % self.scratch.len();
                let mut s = self.scratch[t].lock().unwrap_or_else(|e| e.into_inner());
                f(item, &mut s)
            })
        })
    }
}

/// One model's operators prepared for the CPU, and its layers as ranges of them.
struct Model {
    ops: Vec<Option<Prepared>>,
    layers: Vec<Range<usize>>,
}

/// Every model's layers, ready to run on any node.
pub struct CpuLayers {
    models: Vec<Mutex<Model>>,
    /// Operators without a CPU kernel, by model (they are skipped, and the caller says so).
    pub missing: Vec<usize>,
}

impl CpuLayers {
    /// `models[i]`: a graph and its layers as ranges of operators (topological order). Only
    /// operators inside some layer get buffers.
    pub fn new(models: &[(OpGraph, Vec<Range<usize>>)]) -> CpuLayers {
        let mut out = Vec::with_capacity(models.len());
        let mut missing = Vec::with_capacity(models.len());
        for (m, (g, layers)) in models.iter().enumerate() {
            let mut ops: Vec<Option<Prepared>> = (0..g.ops.len()).map(|_| None).collect();
            let mut lacking = 0;
            for o in layers.iter().flat_map(|r| r.clone()) {
                ops[o] = Prepared::new(&g.ops[o], (m as u64) << 32 | o as u64);
                lacking += usize::from(ops[o].is_none());
            }
            missing.push(lacking);
            out.push(Mutex::new(Model { ops, layers: layers.clone() }));
        }
        CpuLayers { models: out, missing }
    }

    /// The most scratch one work item of any operator needs on a node of `threads` threads.
    pub fn scratch(&self, threads: usize) -> usize {
        self.models
            .iter()
            .map(|m| {
                let m = m.lock().unwrap_or_else(|e| e.into_inner());
                m.ops.iter().flatten().map(|p| p.kernel.scratch(threads)).max().unwrap_or(0)
            })
            .max()
            .unwrap_or(0)
    }

    /// Runs layer `layer` of model `m` on `node`, blocking until it is done.
    pub fn run(&self, node: &CpuNode, m: usize, layer: usize) {
        let mut model = self.models[m].lock().unwrap_or_else(|e| e.into_inner());
        let range = model.layers[layer].clone();
        for p in model.ops[range].iter_mut().flatten() {
            p.run(node);
        }
    }

    /// The output of operator `op` of model `m` (for tests).
    pub fn output(&self, m: usize, op: usize) -> Option<Vec<f32>> {
        let model = self.models[m].lock().unwrap_or_else(|e| e.into_inner());
        model.ops.get(op)?.as_ref().map(|p| p.out.clone())
    }
}
