//! What each GPU thread does: set up its kernels and lanes, capture and replay graphs, import
//! and export between GPUs, issue its tasks, trace a replay.

use super::executor::*;
use super::*;

/// A traced replay's time stamps (`kernels::stamp`), written anew each sample into one buffer:
/// first the sample's start on the thread's first lane; then per segment one as the first node
/// of its graph and one as its last, and per copy of its imports one before and one after it on
/// the copy stream.
pub(super) struct Tracer {
    pub(super) slots: CudaSlice<u64>,
    pub(super) base: u64,
    /// Per segment, its tasks and its copies.
    pub(super) layout: Vec<(usize, usize)>,
    /// Per segment, its first stamp: its start; then its end and its copies'.
    pub(super) first: Vec<usize>,
}

impl Tracer {
    pub(super) fn new(stream: &Arc<CudaStream>, layout: Vec<(usize, usize)>) -> crate::Result<Tracer> {
        let first: Vec<usize> = layout
            .iter()
            .scan(1, |next, &(_, copies)| {
                *next += 2 + 2 * copies;
                Some(*next - 2 - 2 * copies)
            })
            .collect();
        let n = 1 + layout.iter().map(|&(_, c)| 2 + 2 * c).sum::<usize>();
        let slots = stream.alloc_zeros::<u64>(n).map_err(|e| err("alloc", e))?;
        let base = address(&slots, stream);
        Ok(Tracer { slots, base, layout, first })
    }

    /// The address of stamp `i`.
    pub(super) fn at(&self, i: usize) -> u64 {
        self.base + 8 * i as u64
    }

    /// The sample's stamps (the thread's streams synchronised).
    pub(super) fn read(&self, stream: &Arc<CudaStream>) -> crate::Result<Vec<u64>> {
        stream.clone_dtoh(&self.slots).map_err(|e| err("read stamps", e))
    }
}

/// One GPU thread's traced samples: per segment its tasks and copies, and each timed sample's
/// stamps as `Tracer` lays them out.
pub(super) struct RawTrace {
    pub(super) gpu: usize,
    pub(super) layout: Vec<(usize, usize)>,
    pub(super) samples: Vec<Vec<u64>>,
}

/// Per segment of every GPU, the median over the timed samples of its stamps in milliseconds
/// from the sample's first stamp on any GPU.
pub(super) fn segment_traces(raw: &[RawTrace]) -> Vec<SegmentTimes> {
    let samples = raw.iter().map(|r| r.samples.len()).min().unwrap_or(0);
    let origin: Vec<u64> = (0..samples).map(|j| raw.iter().map(|r| r.samples[j][0]).min().unwrap_or(0)).collect();
    let mut out = Vec::new();
    for r in raw.iter().filter(|_| samples > 0) {
        let at = |k: usize| {
            let mut ms: Vec<f64> =
                (0..samples).map(|j| r.samples[j][k].wrapping_sub(origin[j]) as f64 * 1e-6).collect();
            median(&mut ms)
        };
        let mut k = 1;
        for (index, &(tasks, copies)) in r.layout.iter().enumerate() {
            let (ready_ms, end_ms) = (at(k), at(k + 1));
            let copies_ms = (0..copies).map(|c| [at(k + 2 + 2 * c), at(k + 3 + 2 * c)]).collect();
            k += 2 + 2 * copies;
            out.push(SegmentTimes { gpu: r.gpu, index, tasks, ready_ms, end_ms, copies_ms, copies_from: Vec::new() });
        }
    }
    out
}

/// A run of one GPU thread's stages between exchanges with other GPUs, as one CUDA graph: the
/// imports of its tasks run before it, their exports after it (only its first stage imports,
/// only its last exports).
pub(super) struct Segment {
    pub(super) tasks: Vec<usize>,
    pub(super) graph: Option<CudaGraph>,
}

pub(super) fn setup_thread(sh: &Shared, g: usize, graphs: bool, trace: bool) -> crate::Result<ThreadState> {
    let ctx = &sh.ctxs[g];
    ctx.bind_to_thread().map_err(|e| err("bind", e))?;
    let n = sh.plan.tasks.len();
    let mine: Vec<usize> = (0..n).filter(|&t| sh.plan.tasks[t].gpu % sh.devices == g).collect();
    let mut lanes: Vec<usize> = mine.iter().map(|&t| sh.lane[t]).collect();
    lanes.sort_unstable();
    lanes.dedup();
    let first = &sh.streams[lanes[0]];
    let cycles_per_ms = if g == 0 { sh.info.cycles_per_ms } else { calibrate(&sh.libs[g], first)? };
    let sink = kernels::random_buffer(&sh.libs[g], first, 1, 0, 1.0)?;
    let mut st = ThreadState {
        gpu: g,
        mine: mine.clone(),
        lanes,
        handles: (0..sh.streams.len()).map(|_| None).collect(),
        kernels: (0..n).map(|_| None).collect(),
        cycles: vec![0; n],
        events: (0..n).map(|_| None).collect(),
        sink,
        segments: Vec::new(),
        _capture_events: Vec::new(),
        tracer: None,
    };
    for &t in &mine {
        let l = sh.lane[t];
        match &sh.plan.tasks[t].work {
            Work::Busy { ms } => st.cycles[t] = (ms * cycles_per_ms).round() as u64,
            Work::Op { op } => {
                let graph: &OpGraph = sh
                    .plan
                    .graph
                    .as_ref()
                    .ok_or_else(|| crate::Error::Gpu("an operator task without a graph".into()))?;
                if st.handles[l].is_none() {
                    st.handles[l] = Some(Handles::new(&sh.streams[l])?);
                }
                let h = st.handles[l].as_ref().expect("just made");
                st.kernels[t] = Some(Kernel::prepare(&graph.ops[*op], &sh.libs[g], &sh.streams[l], h, *op as u32)?);
            }
        }
        if sh.wiring[t].local_event {
            st.events[t] = Some(ctx.new_event(None).map_err(|e| err("event", e))?);
        }
    }
    if graphs {
        // One sample cut into segments at every exchange with another GPU (a segment starts
        // at a task that imports and ends at one that exports), each captured from its lanes
        // (fork from the thread's first lane, join back into it) and replayed as one graph:
        // no host launch per operator, while another GPU's inputs still arrive mid-sample.
        let cuts =
            sh.plan.segments(&st.mine, |t| !sh.wiring[t].imports.is_empty(), |t| !sh.wiring[t].exports.is_empty());
        let origin_lane = st.lanes[0];
        let origin = &sh.streams[origin_lane];
        origin.synchronize().map_err(|e| err("synchronize", e))?;
        let mut keep = Vec::new();
        let mut segments = Vec::with_capacity(cuts.len());
        if trace {
            let copies = |tasks: &[usize]| -> usize {
                tasks.iter().map(|&t| sh.wiring[t].imports.iter().filter(|i| i.bytes > 0).count()).sum()
            };
            st.tracer = Some(Tracer::new(origin, cuts.iter().map(|c| (c.len(), copies(c))).collect())?);
        }
        let lib = &sh.libs[g];
        for (i, tasks) in cuts.into_iter().enumerate() {
            let stamp = |k: usize| match &st.tracer {
                Some(tr) => kernels::stamp(lib, origin, tr.at(tr.first[i] + k)),
                None => Ok(()),
            };
            let mut lanes: Vec<usize> = tasks.iter().map(|&t| sh.lane[t]).filter(|&l| l != origin_lane).collect();
            lanes.sort_unstable();
            lanes.dedup();
            origin
                .begin_capture(sys::CUstreamCaptureMode::CU_STREAM_CAPTURE_MODE_RELAXED)
                .map_err(|e| err("capture", e))?;
            stamp(0)?;
            let fork = ctx.new_event(None).map_err(|e| err("event", e))?;
            fork.record(origin).map_err(|e| err("record", e))?;
            for &l in &lanes {
                sh.streams[l].wait(&fork).map_err(|e| err("wait", e))?;
            }
            issue(sh, &st, &tasks, |_| Some(0), false)?;
            keep.push(fork);
            for &l in &lanes {
                let e = ctx.new_event(None).map_err(|e| err("event", e))?;
                e.record(&sh.streams[l]).map_err(|e| err("record", e))?;
                origin.wait(&e).map_err(|e| err("wait", e))?;
                keep.push(e);
            }
            stamp(1)?;
            // A segment of empty tasks (graph inputs) captures nothing: only its exchanges run.
            let graph = origin.end_capture(sys::CUgraphInstantiate_flags(0)).map_err(|e| err("end capture", e))?;
            if let Some(g) = &graph {
                g.upload().map_err(|e| err("graph upload", e))?;
            }
            segments.push(Segment { tasks, graph });
        }
        st.segments = segments;
        st._capture_events = keep;
    }
    for &l in &st.lanes {
        sh.streams[l].synchronize().map_err(|e| err("synchronize", e))?;
    }
    Ok(st)
}

/// Replays sample `s` of this thread's segments on its first lane: each segment's imports
/// (waits and copies), its graph, its exports.
pub(super) fn replay(sh: &Shared, st: &ThreadState, s: usize) -> crate::Result<()> {
    let origin = &sh.streams[st.lanes[0]];
    let lib = &sh.libs[st.gpu];
    if let Some(tr) = &st.tracer {
        kernels::stamp(lib, origin, tr.at(0))?;
    }
    for (i, seg) in st.segments.iter().enumerate() {
        // A traced replay stamps before and after each copy (the segment's stamps 2, 3, ...).
        let mut next = st.tracer.as_ref().map(|tr| tr.first[i] + 2);
        let mut stamp = |copies: &Arc<CudaStream>| match (&st.tracer, next.as_mut()) {
            (Some(tr), Some(k)) => {
                *k += 1;
                kernels::stamp(lib, copies, tr.at(*k - 1))
            }
            _ => Ok(()),
        };
        for &t in &seg.tasks {
            import(sh, origin, &sh.wiring[t], s, &mut stamp)?;
        }
        if let Some(g) = &seg.graph {
            g.launch().map_err(|e| err("graph launch", e))?;
        }
        for &t in &seg.tasks {
            export(sh, origin, &sh.wiring[t], s)?;
        }
    }
    Ok(())
}

/// Imports task `w`'s inputs from other GPUs for sample `s` ahead of `stream`, calling `stamp`
/// on the copy stream before and after each copy (a traced replay's time stamps).
pub(super) fn import(
    sh: &Shared,
    stream: &Arc<CudaStream>,
    w: &Wiring,
    s: usize,
    stamp: &mut dyn FnMut(&Arc<CudaStream>) -> crate::Result<()>,
) -> crate::Result<()> {
    if !w.imports.is_empty() {
        // The raw calls below act in the thread's current context, which must be the stream's.
        stream.context().bind_to_thread().map_err(|e| err("bind", e))?;
    }
    for i in &w.imports {
        let mb = &sh.mailboxes[i.mailbox];
        spin_until(sh.abort, || mb.recorded.load(Ordering::Acquire) > s)?;
        let sent = mb.ring[s % mb.ring.len()].cu_event();
        if sh.host_polled_imports {
            // cuEventQuery takes an event of another GPU's context.
            spin_until(sh.abort, || unsafe { sys::cuEventQuery(sent) } == sys::cudaError_enum::CUDA_SUCCESS)?;
        }
        if i.bytes == 0 {
            check("wait event", unsafe { sys::cuStreamWaitEvent(stream.cu_stream(), sent, 0) })?;
            mb.waited.store(s + 1, Ordering::Release);
            continue;
        }
        // The copy runs on the receiving GPU's copy stream, so that it overlaps the compute
        // queued before its consumer (transfers are delays in the schedule's model, not work
        // on a compute stream); the consumer's stream waits for it.
        let copies = &sh.copy_streams[i.dst_gpu];
        check("wait event", unsafe { sys::cuStreamWaitEvent(copies.cu_stream(), sent, 0) })?;
        mb.waited.store(s + 1, Ordering::Release);
        stamp(copies)?;
        if sh.peer_kernel_copies {
            kernels::copy(&sh.libs[i.dst_gpu], copies, i.src, i.dst, i.bytes, sh.copy)?;
        } else {
            // Measured on two H200s: the driver's peer copy blocks the issuing host thread,
            // which chains the GPU threads into one; kept only where peer access is missing.
            let (sc, dc) = (sh.ctxs[i.src_gpu].cu_ctx(), sh.ctxs[i.dst_gpu].cu_ctx());
            check("peer copy", unsafe { sys::cuMemcpyPeerAsync(i.dst, dc, i.src, sc, i.bytes, copies.cu_stream()) })?;
        }
        stamp(copies)?;
        i.copied.record(copies).map_err(|e| err("record", e))?;
        stream.wait(&i.copied).map_err(|e| err("wait", e))?;
    }
    Ok(())
}

pub(super) fn export(sh: &Shared, stream: &Arc<CudaStream>, w: &Wiring, s: usize) -> crate::Result<()> {
    for &m in &w.exports {
        let mb = &sh.mailboxes[m];
        spin_until(sh.abort, || mb.waited.load(Ordering::Acquire) + mb.ring.len() > s)?;
        mb.ring[s % mb.ring.len()].record(stream).map_err(|e| err("record", e))?;
        mb.recorded.store(s + 1, Ordering::Release);
    }
    Ok(())
}

/// Step `s` of a round whose samples are `window`: each task issues sample `s - lag`, where
/// that sample is in the window.
pub(super) fn issue_step(
    sh: &Shared,
    st: &ThreadState,
    s: usize,
    window: &std::ops::Range<usize>,
) -> crate::Result<()> {
    issue(sh, st, &st.mine, |t| s.checked_sub(sh.lags[t]).filter(|x| window.contains(x)), true)
}

/// Issues `tasks` (this thread's, in plan order), each for the sample `sample_of` gives it.
/// Without `cross` (a graph capture) it leaves out what crosses GPUs, and waits only on
/// producers among `tasks`: earlier segments are done before a segment's graph starts.
pub(super) fn issue(
    sh: &Shared,
    st: &ThreadState,
    tasks: &[usize],
    sample_of: impl Fn(usize) -> Option<usize>,
    cross: bool,
) -> crate::Result<()> {
    let lib = &sh.libs[st.gpu];
    for &t in tasks {
        let Some(s) = sample_of(t) else { continue };
        let stream = &sh.streams[sh.lane[t]];
        let w = &sh.wiring[t];
        for &u in w.local_waits.iter().filter(|u| cross || tasks.contains(u)) {
            stream.wait(st.events[u].as_ref().expect("producer event")).map_err(|e| err("wait", e))?;
        }
        if cross {
            import(sh, stream, w, s, &mut |_| Ok(()))?;
        }
        match &st.kernels[t] {
            Some(k) => {
                let h = st.handles[sh.lane[t]].as_ref().expect("handles of an operator's lane");
                k.launch(lib, stream, h, &w.inputs, sh.out_addr[t])?;
            }
            None if st.cycles[t] > 0 => kernels::busy(lib, stream, st.cycles[t], st.sink.1)?,
            None => {}
        }
        if let Some(e) = &st.events[t] {
            e.record(stream).map_err(|e| err("record", e))?;
        }
        if cross {
            export(sh, stream, w, s)?;
        }
    }
    Ok(())
}

pub(super) fn sync_lanes(sh: &Shared, st: &ThreadState) -> crate::Result<()> {
    for &l in &st.lanes {
        debug_assert_eq!(sh.lane_gpu[l], st.gpu);
        sh.streams[l].synchronize().map_err(|e| err("synchronize", e))?;
    }
    Ok(())
}

/// CUDA-graph timing on one stream: `runs` launches captured as one graph, replayed five
/// times between events, the median per launch.
pub(super) struct Replay {
    pub(super) stream: Arc<CudaStream>,
    pub(super) start: CudaEvent,
    pub(super) end: CudaEvent,
    pub(super) runs: usize,
}

impl Replay {
    pub(super) fn new(ctx: &Arc<CudaContext>, stream: &Arc<CudaStream>, runs: usize) -> crate::Result<Replay> {
        Ok(Replay { stream: stream.clone(), start: timing_event(ctx)?, end: timing_event(ctx)?, runs })
    }

    pub(super) fn ms(&self, launch: &mut dyn FnMut() -> crate::Result<()>) -> crate::Result<f64> {
        let stream = &self.stream;
        stream
            .begin_capture(sys::CUstreamCaptureMode::CU_STREAM_CAPTURE_MODE_RELAXED)
            .map_err(|e| err("capture", e))?;
        for _ in 0..self.runs {
            launch()?;
        }
        let graph = stream
            .end_capture(sys::CUgraphInstantiate_flags(0))
            .map_err(|e| err("end capture", e))?
            .ok_or_else(|| crate::Error::Gpu("the captured graph is empty".into()))?;
        graph.launch().map_err(|e| err("graph launch", e))?;
        let mut ms = Vec::new();
        for _ in 0..5 {
            self.start.record(stream).map_err(|e| err("record", e))?;
            graph.launch().map_err(|e| err("graph launch", e))?;
            self.end.record(stream).map_err(|e| err("record", e))?;
            self.end.synchronize().map_err(|e| err("synchronize", e))?;
            ms.push(self.start.elapsed_ms(&self.end).map_err(|e| err("elapsed", e))? as f64 / self.runs as f64);
        }
        Ok(median(&mut ms))
    }
}

/// Launches group k of a stage on the stream (and handles) it is given.
pub(super) type GroupLauncher<'a> = dyn FnMut(usize, &Arc<CudaStream>, &Handles) -> crate::Result<()> + 'a;

/// Streams of one GPU, each with its own cuDNN and cuBLAS handles (lane 0 is the one timed),
/// and the events that fork the others from lane 0 and join them back, as a HIOS stage runs.
pub(super) struct Lanes {
    pub(super) ctx: Arc<CudaContext>,
    pub(super) lanes: Vec<(Arc<CudaStream>, Handles)>,
    pub(super) fork: CudaEvent,
    pub(super) joins: Vec<CudaEvent>,
}

impl Lanes {
    pub(super) fn new(ctx: &Arc<CudaContext>, count: usize) -> crate::Result<Lanes> {
        let mut l = Lanes {
            ctx: ctx.clone(),
            lanes: Vec::new(),
            fork: ctx.new_event(None).map_err(|e| err("event", e))?,
            joins: Vec::new(),
        };
        l.reserve(count)?;
        Ok(l)
    }

    /// At least `count` lanes.
    pub(super) fn reserve(&mut self, count: usize) -> crate::Result<()> {
        while self.lanes.len() < count {
            let st = self.ctx.new_stream().map_err(|e| err("stream", e))?;
            let h = Handles::new(&st)?;
            self.lanes.push((st, h));
            self.joins.push(self.ctx.new_event(None).map_err(|e| err("event", e))?);
        }
        Ok(())
    }

    /// Runs `group(k)` on lane k for k < `groups`, all started together from lane 0 and joined
    /// back into it.
    pub(super) fn side_by_side(&self, groups: usize, group: &mut GroupLauncher) -> crate::Result<()> {
        let main = &self.lanes[0].0;
        self.fork.record(main).map_err(|e| err("record", e))?;
        for (k, (st, h)) in self.lanes.iter().enumerate().take(groups).skip(1) {
            st.wait(&self.fork).map_err(|e| err("wait", e))?;
            group(k, st, h)?;
        }
        group(0, main, &self.lanes[0].1)?;
        for ((st, _), j) in self.lanes.iter().zip(&self.joins).take(groups).skip(1) {
            j.record(st).map_err(|e| err("record", e))?;
            main.wait(j).map_err(|e| err("wait", e))?;
        }
        Ok(())
    }
}

/// An operator ready to launch on one stream, with buffers of its own (random, never zeros),
/// warmed up; `None` for one that launches nothing.
pub(super) struct Own {
    pub(super) kernel: Kernel,
    pub(super) _buffers: Vec<CudaSlice<f32>>,
    pub(super) inputs: Vec<u64>,
    pub(super) input_lens: Vec<usize>,
    pub(super) y: u64,
}

impl Own {
    pub(super) fn prepare(
        op: &crate::zoo::graph::Op,
        lib: &Library,
        (stream, h): (&Arc<CudaStream>, &Handles),
        seed: u32,
        warmup: usize,
    ) -> crate::Result<Option<Own>> {
        let kernel = Kernel::prepare(op, lib, stream, h, seed)?;
        if matches!(kernel, Kernel::Nothing) {
            return Ok(None);
        }
        let mut buffers = Vec::new();
        let (mut inputs, mut input_lens) = (Vec::new(), Vec::new());
        for (j, s) in op.input_shapes.iter().enumerate() {
            let n: usize = s.iter().product();
            let (b, p) = kernels::random_buffer(lib, stream, n, seed.wrapping_mul(31).wrapping_add(j as u32), 1.0)?;
            buffers.push(b);
            inputs.push(p);
            input_lens.push(n);
        }
        let (yb, y) = kernels::random_buffer(lib, stream, op.numel() as usize, seed.wrapping_add(11), 1.0)?;
        buffers.push(yb);
        let own = Own { kernel, _buffers: buffers, inputs, input_lens, y };
        for _ in 0..warmup {
            own.launch(lib, stream, h)?;
        }
        stream.synchronize().map_err(|e| err("synchronize", e))?;
        Ok(Some(own))
    }

    pub(super) fn launch(&self, lib: &Library, stream: &Arc<CudaStream>, h: &Handles) -> crate::Result<()> {
        self.kernel.launch(lib, stream, h, &self.inputs, self.y)
    }
}

/// What empties L2 before a cold launch: one read of three times the cache.
pub(super) struct Flush {
    pub(super) l2_bytes: usize,
    pub(super) buffer: (CudaSlice<f32>, u64),
    pub(super) n: usize,
    pub(super) _sink: CudaSlice<f32>,
    pub(super) sink: u64,
}

impl Flush {
    pub(super) fn new(ctx: &Arc<CudaContext>, lib: &Library, stream: &Arc<CudaStream>) -> crate::Result<Flush> {
        let l2_bytes = ctx
            .attribute(sys::CUdevice_attribute::CU_DEVICE_ATTRIBUTE_L2_CACHE_SIZE)
            .map_err(|e| err("L2 size", e))? as usize;
        // Three times the cache, read once, leaves nothing of what was there before.
        let n = (3 * l2_bytes / 4).max(1 << 20);
        let buffer = kernels::random_buffer(lib, stream, n, 7, 1.0)?;
        let sink = stream.alloc_zeros::<f32>(1).map_err(|e| err("alloc", e))?;
        let sink_p = kernels::address(&sink, stream);
        Ok(Flush { l2_bytes, buffer, n, _sink: sink, sink: sink_p })
    }

    /// Flushes L2, then reads `inputs` (address, elements) back in: an operator's weights come
    /// from memory while its inputs, just produced, are in L2.
    pub(super) fn evict(&self, lib: &Library, stream: &Arc<CudaStream>, inputs: &[(u64, usize)]) -> crate::Result<()> {
        kernels::read_all(lib, stream, self.buffer.1, self.n as u64, self.sink)?;
        for &(p, n) in inputs {
            kernels::read_all(lib, stream, p, n as u64, self.sink)?;
        }
        Ok(())
    }
}
