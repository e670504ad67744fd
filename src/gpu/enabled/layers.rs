//! Layers of zoo models on GPU 0, for runtimes that schedule them one at a time: each model's
//! operators grouped into consecutive layers, each operator prepared on its model's stream
//! (high or low priority) with buffers of its own, each layer captured as one CUDA graph, and
//! a layer launched and waited for on that stream from whichever host thread runs it.

use super::err;
use super::kernels::{Handles, Library};
use super::profiler::real_kernels_on_gpu0;
use super::threads::Own;
use crate::zoo::graph::OpGraph;
use cudarc::driver::{sys, CudaContext, CudaGraph, CudaStream};
use std::ops::Range;
use std::sync::{Arc, Mutex};

/// One model's stream, handles and prepared layers.
struct Model {
    stream: Arc<CudaStream>,
    _handles: Handles,
    /// The prepared operators (their buffers) and each layer's graph of them.
    _ops: Vec<Vec<Own>>,
    graphs: Vec<Option<CudaGraph>>,
}

/// The raw cuDNN/cuBLAS handles and descriptors are not `Send`; a model is only ever used by
/// one thread at a time (behind its mutex), with the context bound to that thread first,
/// which is how both libraries allow a handle to move between threads.
struct Guarded(Model);
unsafe impl Send for Guarded {}

pub struct LayerKernels {
    ctx: Arc<CudaContext>,
    _lib: Library,
    models: Vec<Mutex<Guarded>>,
}

// `Library` holds loaded functions of the one context, which the driver lets any thread use.
unsafe impl Sync for LayerKernels {}
unsafe impl Send for LayerKernels {}

impl LayerKernels {
    /// `models[i]`: a graph, its layers as ranges of operators (topological order) and whether
    /// its stream has the high priority.
    pub fn new(models: &[(OpGraph, Vec<Range<usize>>, bool)]) -> crate::Result<LayerKernels> {
        let (ctx, lib) = real_kernels_on_gpu0("running layers")?;
        let (low, high) = cudarc::driver::result::stream::get_priority_range().map_err(|e| err("priority range", e))?;
        let mut out = Vec::with_capacity(models.len());
        for (m, (g, ranges, high_priority)) in models.iter().enumerate() {
            let stream =
                ctx.new_stream_with_priority(if *high_priority { high } else { low }).map_err(|e| err("stream", e))?;
            let handles = Handles::new(&stream)?;
            let (mut layers, mut graphs) = (Vec::with_capacity(ranges.len()), Vec::with_capacity(ranges.len()));
            for r in ranges {
                let mut ops = Vec::new();
                for o in r.clone() {
                    let seed = (m * 100_003 + o * 7 + 1) as u32;
                    ops.extend(Own::prepare(&g.ops[o], &lib, (&stream, &handles), seed, 2)?);
                }
                // A layer of operators that launch nothing has no graph.
                stream
                    .begin_capture(sys::CUstreamCaptureMode::CU_STREAM_CAPTURE_MODE_RELAXED)
                    .map_err(|e| err("capture", e))?;
                for op in &ops {
                    op.launch(&lib, &stream, &handles)?;
                }
                graphs.push(stream.end_capture(sys::CUgraphInstantiate_flags(0)).map_err(|e| err("end capture", e))?);
                layers.push(ops);
            }
            out.push(Mutex::new(Guarded(Model { stream, _handles: handles, _ops: layers, graphs })));
        }
        Ok(LayerKernels { ctx, _lib: lib, models: out })
    }

    /// Launches layer `layer` of model `m` on its stream and waits until the GPU is done.
    pub fn run(&self, m: usize, layer: usize) -> crate::Result<()> {
        self.ctx.bind_to_thread().map_err(|e| err("bind", e))?;
        let g = self.models[m].lock().unwrap_or_else(|e| e.into_inner());
        let Model { stream, graphs, .. } = &g.0;
        if let Some(graph) = &graphs[layer] {
            graph.launch().map_err(|e| err("graph launch", e))?;
        }
        stream.synchronize().map_err(|e| err("synchronize", e))
    }

    /// The GPU's name.
    pub fn device(&self) -> String {
        self.ctx.name().unwrap_or_else(|_| "GPU".into())
    }
}
