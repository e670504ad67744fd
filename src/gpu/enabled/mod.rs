//! The cudarc executor. One host thread per GPU issues that GPU's tasks, in the plan's order,
//! onto one stream per lane; dependencies between lanes of a GPU are events, dependencies
//! between GPUs are events passed through a small ring between the two host threads plus a
//! peer copy of the producer's bytes. A blocking driver call (a peer copy the driver stages
//! through host memory, say) then holds up one GPU's issue, not every GPU's.

mod kernels;

use super::plan::{CopyKernel, Plan, Work, ELEMENT_BYTES};
use super::ExecOptions;
use super::{
    CopyInterference, GpuInfo, LinkFit, Measurement, Mode, OpProfile, OpTimes, SegmentTimes, StageTime, TOGETHER,
};
use crate::zoo::graph::OpGraph;
use cudarc::driver::sys;
use cudarc::driver::{CudaContext, CudaEvent, CudaGraph, CudaSlice, CudaStream};
use kernels::{address, Handles, Kernel, Library};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::time::Instant;

pub(crate) fn err(what: &str, e: impl std::fmt::Debug) -> String {
    format!("{what}: {e:?}")
}

pub(crate) fn check(what: &str, r: sys::CUresult) -> Result<(), String> {
    if r == sys::cudaError_enum::CUDA_SUCCESS {
        Ok(())
    } else {
        Err(format!("{what}: {r:?}"))
    }
}

fn driver_present() -> bool {
    // cudarc panics on its first call if libcuda cannot be loaded.
    unsafe { sys::is_culib_present() && cudarc::nvrtc::sys::is_culib_present() }
}

fn contexts(devices: usize) -> Result<Vec<Arc<CudaContext>>, String> {
    (0..devices)
        .map(|d| {
            let ctx = CudaContext::new(d).map_err(|e| err("context", e))?;
            // Explicit events order everything here; cudarc's per-buffer tracking would add
            // waits of its own between the streams that touch a buffer.
            // SAFETY: buffers outlive every stream that uses them (all are dropped after the
            // final synchronisation), and the plan's events order their uses.
            unsafe { ctx.disable_event_tracking() };
            Ok(ctx)
        })
        .collect()
}

/// Enables peer access between every pair that supports it; returns, per ordered pair, whether
/// the driver reports direct peer access.
fn enable_peers(ctxs: &[Arc<CudaContext>]) -> Result<Vec<(usize, usize, bool)>, String> {
    let mut out = Vec::new();
    for (a, ca) in ctxs.iter().enumerate() {
        for (b, cb) in ctxs.iter().enumerate() {
            if a == b {
                continue;
            }
            let mut can = 0;
            check("can access peer", unsafe { sys::cuDeviceCanAccessPeer(&mut can, a as i32, b as i32) })?;
            if can == 1 {
                ca.bind_to_thread().map_err(|e| err("bind", e))?;
                let r = unsafe { sys::cuCtxEnablePeerAccess(cb.cu_ctx(), 0) };
                if r != sys::cudaError_enum::CUDA_SUCCESS
                    && r != sys::cudaError_enum::CUDA_ERROR_PEER_ACCESS_ALREADY_ENABLED
                {
                    return Err(format!("peer access {a}->{b}: {r:?}"));
                }
                // cudarc allocates from the device's default memory pool, whose memory peer
                // access does not cover: the pool itself must let GPU a in. Without this a
                // copy between the GPUs fails, or the driver stages it through the host.
                let mut pool = std::ptr::null_mut();
                check("default memory pool", unsafe { sys::cuDeviceGetDefaultMemPool(&mut pool, b as i32) })?;
                let desc = sys::CUmemAccessDesc {
                    location: sys::CUmemLocation {
                        type_: sys::CUmemLocationType::CU_MEM_LOCATION_TYPE_DEVICE,
                        id: a as i32,
                    },
                    flags: sys::CUmemAccess_flags::CU_MEM_ACCESS_FLAGS_PROT_READWRITE,
                };
                check("memory pool access", unsafe { sys::cuMemPoolSetAccess(pool, &desc, 1) })?;
            }
            out.push((a, b, can == 1));
        }
    }
    Ok(out)
}

fn compile() -> Result<cudarc::nvrtc::Ptx, String> {
    cudarc::nvrtc::compile_ptx(kernels::SOURCE).map_err(|e| err("NVRTC", e))
}

fn timing_event(ctx: &Arc<CudaContext>) -> Result<CudaEvent, String> {
    ctx.new_event(Some(sys::CUevent_flags::CU_EVENT_DEFAULT)).map_err(|e| err("event", e))
}

/// Median of `runs` event-timed runs of `f` on `stream`, after `warmup` untimed ones.
fn time_ms(
    stream: &Arc<CudaStream>,
    warmup: usize,
    runs: usize,
    mut f: impl FnMut() -> Result<(), String>,
) -> Result<f64, String> {
    // `f` may make raw driver calls on `stream`, which act in the current context.
    stream.context().bind_to_thread().map_err(|e| err("bind", e))?;
    for _ in 0..warmup {
        f()?;
    }
    let (start, end) = (timing_event(stream.context())?, timing_event(stream.context())?);
    let mut ms = Vec::with_capacity(runs);
    for _ in 0..runs {
        start.record(stream).map_err(|e| err("record", e))?;
        f()?;
        end.record(stream).map_err(|e| err("record", e))?;
        end.synchronize().map_err(|e| err("synchronize", e))?;
        ms.push(start.elapsed_ms(&end).map_err(|e| err("elapsed", e))? as f64);
    }
    Ok(median(&mut ms))
}

fn median(xs: &mut [f64]) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

/// Busy-kernel clock cycles per millisecond on one GPU.
fn calibrate(lib: &Library, stream: &Arc<CudaStream>) -> Result<f64, String> {
    let sink = stream.alloc_zeros::<f32>(1).map_err(|e| err("alloc", e))?;
    let p = address(&sink, stream);
    let ms = time_ms(stream, 1, 7, || kernels::busy(lib, stream, 10_000_000, p))?;
    Ok(10_000_000.0 / ms)
}

fn driver_version() -> String {
    let mut v = 0;
    match unsafe { sys::cuDriverGetVersion(&mut v) } {
        sys::cudaError_enum::CUDA_SUCCESS => format!("CUDA driver API {}.{}", v / 1000, (v % 1000) / 10),
        _ => "unknown".into(),
    }
}

pub fn probe() -> Result<GpuInfo, String> {
    if !driver_present() {
        return Err("no NVIDIA driver (libcuda) or NVRTC found on this machine".into());
    }
    let devices = CudaContext::device_count().map_err(|e| err("device count", e))? as usize;
    if devices == 0 {
        return Err("the NVIDIA driver reports no GPU".into());
    }
    let ctx = CudaContext::new(0).map_err(|e| err("context", e))?;
    let name = ctx.name().map_err(|e| err("name", e))?;
    let lib = Library::load(&ctx, &compile()?)?;
    let cycles_per_ms = calibrate(&lib, &ctx.default_stream())?;
    Ok(GpuInfo { devices, name, cycles_per_ms, driver: driver_version(), libraries: kernels::libraries_present() })
}

/// Events passed from a producer's host thread to a consumer's: slot `s % ring.len()` carries
/// sample `s`; `recorded` and `waited` count samples, so that a slot is re-recorded only after
/// the consumer has enqueued its wait on it.
struct Mailbox {
    ring: Vec<CudaEvent>,
    recorded: AtomicUsize,
    waited: AtomicUsize,
}

const RING: usize = 4;

/// Spins until `f` holds; gives up when another GPU thread has failed (its records would
/// never come).
fn spin_until(abort: &AtomicBool, f: impl Fn() -> bool) -> Result<(), String> {
    let mut spins = 0u32;
    while !f() {
        if abort.load(Ordering::Relaxed) {
            return Err("stopped: another GPU thread failed".into());
        }
        spins += 1;
        if spins < 1000 {
            std::hint::spin_loop();
        } else {
            std::thread::yield_now();
        }
    }
    Ok(())
}

/// A dependency on another GPU: the mailbox to wait on, and the copy to make.
struct Import {
    mailbox: usize,
    bytes: usize,
    /// Recorded on the receiving GPU's copy stream after the copy; the consumer waits on it.
    copied: CudaEvent,
    src: u64,
    src_gpu: usize,
    dst: u64,
    dst_gpu: usize,
}

/// What a task takes in: its input addresses, and the imports it performs first.
struct Wiring {
    /// Address of each dependency's data (the producer's buffer, or the local copy).
    inputs: Vec<u64>,
    /// Wait on a mailbox, then copy its producer's bytes over if any.
    imports: Vec<Import>,
    /// Same-GPU producers on other lanes whose events to wait for.
    local_waits: Vec<usize>,
    /// Mailboxes this task records into.
    exports: Vec<usize>,
    /// Whether a same-GPU task on another lane waits for this one.
    local_event: bool,
}

/// Runs a plan: `Mode::Pipeline` pushes streams of `samples` and `2 * samples` samples through
/// without waiting between them, in turn (the stream's time per sample, and the steady state's
/// from their difference); `Mode::Latency` runs them one at a time (time per sample, start to
/// finish). One warm-up repeat, then `repeats` timed ones, issued as `how` says.
pub fn execute(
    plan: &Plan,
    mode: Mode,
    samples: usize,
    repeats: usize,
    how: ExecOptions,
) -> Result<Measurement, String> {
    let ExecOptions { graphs, copy, trace, host_polled_imports } = how;
    plan.check()?;
    if trace && (!graphs || mode != Mode::Latency) {
        return Err("a trace times graph replays of one sample at a time (--graphs --latency, or a schedule)".into());
    }
    let info = probe()?;
    if plan.graph.is_some() && !info.libraries {
        return Err("cuDNN or cuBLAS cannot be loaded: real kernels need both".into());
    }
    let devices = info.devices;
    let ctxs = contexts(devices)?;
    let peers = enable_peers(&ctxs)?;
    let ptx = compile()?;
    let tasks = &plan.tasks;
    let phys = |t: usize| tasks[t].gpu % devices;
    // Lanes: one stream per (logical GPU, stream) pair, on its physical GPU.
    let (lane, lane_gpu) = plan.lanes(devices);
    let streams: Vec<Arc<CudaStream>> =
        lane_gpu.iter().map(|&g| ctxs[g].new_stream().map_err(|e| err("stream", e))).collect::<Result<_, _>>()?;
    let libs: Vec<Library> = ctxs.iter().map(|c| Library::load(c, &ptx)).collect::<Result<_, _>>()?;
    let copy_streams: Vec<Arc<CudaStream>> =
        ctxs.iter().map(|c| c.new_stream().map_err(|e| err("stream", e))).collect::<Result<_, _>>()?;
    // Output buffers, filled with random values (never time on zeros).
    let mut keep: Vec<CudaSlice<f32>> = Vec::new();
    let mut out_addr = Vec::with_capacity(tasks.len());
    for (t, task) in tasks.iter().enumerate() {
        let (buf, p) = kernels::random_buffer(
            &libs[phys(t)],
            &streams[lane[t]],
            task.out_bytes.div_ceil(ELEMENT_BYTES),
            t as u32,
            1.0,
        )?;
        keep.push(buf);
        out_addr.push(p);
    }
    // Pipelines stream samples with each task its lag behind (one-forward-one-backward on
    // training splits); a graph replays one whole sample, so there every lag is 0.
    let lags = if mode == Mode::Pipeline && !graphs { plan.pipeline_lags() } else { vec![0; tasks.len()] };
    let max_lag = lags.iter().copied().max().unwrap_or(0);
    // A producer may run up to the largest lag ahead of its consumer: the ring must hold that.
    let ring_len = RING + max_lag;
    // Wiring: imports once per (producer, consumer lane), by the lane's first consumer.
    let mut mailboxes: Vec<Mailbox> = Vec::new();
    let mut imported: HashMap<(usize, usize), u64> = HashMap::new();
    let mut wiring: Vec<Wiring> = tasks
        .iter()
        .map(|_| Wiring {
            inputs: Vec::new(),
            imports: Vec::new(),
            local_waits: Vec::new(),
            exports: Vec::new(),
            local_event: false,
        })
        .collect();
    for (t, task) in tasks.iter().enumerate() {
        for d in &task.deps {
            let u = d.task;
            // Where the task finds the producer's output: in place on its own GPU, else the
            // lane's import of it (made here by its first consumer).
            let addr = if phys(u) == phys(t) {
                if lane[u] != lane[t] {
                    wiring[u].local_event = true;
                    wiring[t].local_waits.push(u);
                }
                out_addr[u]
            } else if let Some(&p) = imported.get(&(u, lane[t])) {
                p
            } else {
                let ctx = &ctxs[phys(u)];
                let ring = (0..ring_len)
                    .map(|_| ctx.new_event(None).map_err(|e| err("event", e)))
                    .collect::<Result<_, _>>()?;
                mailboxes.push(Mailbox { ring, recorded: AtomicUsize::new(0), waited: AtomicUsize::new(0) });
                let m = mailboxes.len() - 1;
                let dst = if d.bytes > 0 {
                    let (buf, p) = kernels::random_buffer(
                        &libs[phys(t)],
                        &streams[lane[t]],
                        d.bytes.div_ceil(ELEMENT_BYTES),
                        7,
                        1.0,
                    )?;
                    keep.push(buf);
                    p
                } else {
                    out_addr[u]
                };
                imported.insert((u, lane[t]), dst);
                let copied = ctxs[phys(t)].new_event(None).map_err(|e| err("event", e))?;
                wiring[t].imports.push(Import {
                    mailbox: m,
                    bytes: d.bytes,
                    copied,
                    src: out_addr[u],
                    src_gpu: phys(u),
                    dst,
                    dst_gpu: phys(t),
                });
                wiring[u].exports.push(m);
                dst
            };
            // Only an input dependency hands its buffer to the task's kernel (`Dep::input`).
            if d.input {
                wiring[t].inputs.push(addr);
            }
        }
    }
    for s in &streams {
        s.synchronize().map_err(|e| err("synchronize", e))?;
    }
    let gpus_used: Vec<usize> = {
        let mut g: Vec<usize> = (0..tasks.len()).map(phys).collect();
        g.sort_unstable();
        g.dedup();
        g
    };
    let barrier = Barrier::new(gpus_used.len() + 1);
    let abort = AtomicBool::new(false);
    // Rounds of samples: one sample each (latency); or, for pipelines, pairs of `samples` and
    // `2 * samples` samples, whose difference is `samples` samples in steady state, without
    // the fill and drain that the max-load leaves out. The first round (or pair) warms up.
    let sizes: Vec<usize> = match mode {
        Mode::Latency => vec![1; (repeats + 1) * samples],
        Mode::Pipeline => (0..repeats + 1).flat_map(|_| [samples, 2 * samples]).collect(),
    };
    let windows: Vec<std::ops::Range<usize>> = sizes
        .iter()
        .scan(0usize, |start, &n| {
            *start += n;
            Some(*start - n..*start)
        })
        .collect();
    let rounds = windows.len();
    let sh = Shared {
        plan,
        ctxs: &ctxs,
        streams: &streams,
        copy_streams: &copy_streams,
        libs: &libs,
        lane: &lane,
        lane_gpu: &lane_gpu,
        wiring: &wiring,
        mailboxes: &mailboxes,
        out_addr: &out_addr,
        lags: &lags,
        devices,
        info: &info,
        abort: &abort,
        peer_kernel_copies: peers.iter().all(|p| p.2),
        copy,
        host_polled_imports,
    };
    let mut issue_ms = vec![0.0f64; gpus_used.len()];
    let mut raw_traces: Vec<RawTrace> = Vec::new();
    let warmup = rounds / (repeats + 1);
    let wall = std::thread::scope(|scope| -> Result<Vec<f64>, String> {
        let mut handles = Vec::new();
        for &g in &gpus_used {
            let (sh, barrier, windows) = (&sh, &barrier, &windows);
            handles.push(scope.spawn(move || -> Result<(f64, Option<RawTrace>), String> {
                // A failure here must not leave the other threads at a barrier: keep meeting
                // the barriers with nothing to do, and report the error at the end.
                let setup = setup_thread(sh, g, graphs, trace);
                let mut traced: Vec<Vec<u64>> = Vec::new();
                let mut failure = setup.as_ref().err().cloned();
                if failure.is_some() {
                    sh.abort.store(true, Ordering::Relaxed);
                }
                let mut issue = 0.0;
                for window in windows {
                    barrier.wait();
                    if let (Ok(st), None) = (&setup, &failure) {
                        let start = Instant::now();
                        let mut r = Ok(());
                        for s in window.start..window.end + max_lag {
                            r = r.and_then(|_| {
                                if st.segments.is_empty() {
                                    issue_step(sh, st, s, window)
                                } else if window.contains(&s) {
                                    replay(sh, st, s)
                                } else {
                                    Ok(())
                                }
                            });
                        }
                        issue += start.elapsed().as_secs_f64() * 1e3;
                        failure = r.and_then(|_| sync_lanes(sh, st)).err();
                        if let (Some(tr), None) = (&st.tracer, &failure) {
                            match tr.read(&sh.streams[st.lanes[0]]) {
                                Ok(t) => traced.push(t),
                                Err(e) => failure = Some(e),
                            }
                        }
                        if failure.is_some() {
                            sh.abort.store(true, Ordering::Relaxed);
                        }
                    }
                    barrier.wait();
                }
                match (failure, setup) {
                    (Some(e), _) => Err(format!("gpu {g}: {e}")),
                    (None, Ok(st)) => Ok((
                        issue,
                        st.tracer.map(|tr| RawTrace {
                            gpu: g,
                            layout: tr.layout,
                            samples: traced.split_off(warmup.min(traced.len())),
                        }),
                    )),
                    (None, Err(e)) => Err(e),
                }
            }));
        }
        let mut wall = Vec::with_capacity(rounds);
        for _ in 0..rounds {
            barrier.wait();
            let start = Instant::now();
            barrier.wait();
            wall.push(start.elapsed().as_secs_f64() * 1e3);
        }
        // Report the thread that failed first, not those it stopped.
        let mut errors = Vec::new();
        for (i, h) in handles.into_iter().enumerate() {
            match h.join().map_err(|_| "a GPU thread panicked".to_string())? {
                Ok((ms, t)) => {
                    issue_ms[i] = ms;
                    raw_traces.extend(t);
                }
                Err(e) => errors.push(e),
            }
        }
        errors.sort_by_key(|e| e.contains("another GPU thread failed"));
        match errors.into_iter().next() {
            Some(e) => Err(e),
            None => Ok(wall),
        }
    })?;
    let total_samples: usize = sizes.iter().sum();
    let issue_per_sample = issue_ms.iter().fold(0.0f64, |a, &b| a.max(b)) / total_samples as f64;
    let (repeats_ms, steady_repeats_ms) = match mode {
        Mode::Latency => (wall[warmup..].to_vec(), Vec::new()),
        Mode::Pipeline => wall[warmup..]
            .chunks(2)
            .map(|pair| (pair[0] / samples as f64, (pair[1] - pair[0]) / samples as f64))
            .unzip(),
    };
    let per_sample_ms = median(&mut repeats_ms.clone());
    let steady_ms_per_sample = (!steady_repeats_ms.is_empty()).then(|| median(&mut steady_repeats_ms.clone()));
    Ok(Measurement {
        per_sample_ms,
        repeats_ms,
        steady_ms_per_sample,
        steady_repeats_ms,
        samples,
        devices_used: gpus_used.len(),
        issue_ms_per_sample: issue_per_sample,
        peer_access: peers.iter().all(|p| p.2),
        graphs,
        copy_kernel: copy,
        gpu: info,
        trace: segment_traces(&raw_traces),
    })
}

/// What every GPU thread reads.
struct Shared<'a> {
    plan: &'a Plan,
    ctxs: &'a [Arc<CudaContext>],
    streams: &'a [Arc<CudaStream>],
    /// One stream per GPU for copies from other GPUs.
    copy_streams: &'a [Arc<CudaStream>],
    libs: &'a [Library],
    lane: &'a [usize],
    lane_gpu: &'a [usize],
    wiring: &'a [Wiring],
    mailboxes: &'a [Mailbox],
    out_addr: &'a [u64],
    /// Samples each task runs behind the pipeline's front (see `Plan::pipeline_lags`).
    lags: &'a [usize],
    devices: usize,
    info: &'a GpuInfo,
    /// Set by a GPU thread that failed, so that the others stop waiting for it.
    abort: &'a AtomicBool,
    /// Every pair of GPUs has peer access: copies between GPUs run as kernels.
    peer_kernel_copies: bool,
    /// The copy kernel.
    copy: CopyKernel,
    /// Issue a copy only once its producer is done (see `ExecOptions::host_polled_imports`).
    host_polled_imports: bool,
}

/// One GPU thread's own: its tasks in issue order, their kernels (prepared on this thread, as
/// cuDNN handles must be), busy cycles, events, and the captured graph in graph mode.
struct ThreadState {
    gpu: usize,
    mine: Vec<usize>,
    lanes: Vec<usize>,
    handles: Vec<Option<Handles>>,
    kernels: Vec<Option<Kernel>>,
    cycles: Vec<u64>,
    events: Vec<Option<CudaEvent>>,
    sink: (CudaSlice<f32>, u64),
    /// In graph mode, one sample as captured segments, replayed in order; empty otherwise.
    segments: Vec<Segment>,
    /// Fork and join events of the captures, kept alive with the graphs.
    _capture_events: Vec<CudaEvent>,
    /// The time stamps of a traced replay (graph mode, `--trace`).
    tracer: Option<Tracer>,
}

/// A traced replay's time stamps (`kernels::stamp`), written anew each sample into one buffer:
/// first the sample's start on the thread's first lane; then per segment one as the first node
/// of its graph and one as its last, and per copy of its imports one before and one after it on
/// the copy stream.
struct Tracer {
    slots: CudaSlice<u64>,
    base: u64,
    /// Per segment, its tasks and its copies.
    layout: Vec<(usize, usize)>,
    /// Per segment, its first stamp: its start; then its end and its copies'.
    first: Vec<usize>,
}

impl Tracer {
    fn new(stream: &Arc<CudaStream>, layout: Vec<(usize, usize)>) -> Result<Tracer, String> {
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
    fn at(&self, i: usize) -> u64 {
        self.base + 8 * i as u64
    }

    /// The sample's stamps (the thread's streams synchronised).
    fn read(&self, stream: &Arc<CudaStream>) -> Result<Vec<u64>, String> {
        stream.clone_dtoh(&self.slots).map_err(|e| err("read stamps", e))
    }
}

/// One GPU thread's traced samples: per segment its tasks and copies, and each timed sample's
/// stamps as `Tracer` lays them out.
struct RawTrace {
    gpu: usize,
    layout: Vec<(usize, usize)>,
    samples: Vec<Vec<u64>>,
}

/// Per segment of every GPU, the median over the timed samples of its stamps in milliseconds
/// from the sample's first stamp on any GPU.
fn segment_traces(raw: &[RawTrace]) -> Vec<SegmentTimes> {
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
struct Segment {
    tasks: Vec<usize>,
    graph: Option<CudaGraph>,
}

fn setup_thread(sh: &Shared, g: usize, graphs: bool, trace: bool) -> Result<ThreadState, String> {
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
                let graph: &OpGraph = sh.plan.graph.as_ref().ok_or("an operator task without a graph")?;
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
fn replay(sh: &Shared, st: &ThreadState, s: usize) -> Result<(), String> {
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
fn import(
    sh: &Shared,
    stream: &Arc<CudaStream>,
    w: &Wiring,
    s: usize,
    stamp: &mut dyn FnMut(&Arc<CudaStream>) -> Result<(), String>,
) -> Result<(), String> {
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

fn export(sh: &Shared, stream: &Arc<CudaStream>, w: &Wiring, s: usize) -> Result<(), String> {
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
fn issue_step(sh: &Shared, st: &ThreadState, s: usize, window: &std::ops::Range<usize>) -> Result<(), String> {
    issue(sh, st, &st.mine, |t| s.checked_sub(sh.lags[t]).filter(|x| window.contains(x)), true)
}

/// Issues `tasks` (this thread's, in plan order), each for the sample `sample_of` gives it.
/// Without `cross` (a graph capture) it leaves out what crosses GPUs, and waits only on
/// producers among `tasks`: earlier segments are done before a segment's graph starts.
fn issue(
    sh: &Shared,
    st: &ThreadState,
    tasks: &[usize],
    sample_of: impl Fn(usize) -> Option<usize>,
    cross: bool,
) -> Result<(), String> {
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

fn sync_lanes(sh: &Shared, st: &ThreadState) -> Result<(), String> {
    for &l in &st.lanes {
        debug_assert_eq!(sh.lane_gpu[l], st.gpu);
        sh.streams[l].synchronize().map_err(|e| err("synchronize", e))?;
    }
    Ok(())
}

/// CUDA-graph timing on one stream: `runs` launches captured as one graph, replayed five
/// times between events, the median per launch.
struct Replay {
    stream: Arc<CudaStream>,
    start: CudaEvent,
    end: CudaEvent,
    runs: usize,
}

impl Replay {
    fn new(ctx: &Arc<CudaContext>, stream: &Arc<CudaStream>, runs: usize) -> Result<Replay, String> {
        Ok(Replay { stream: stream.clone(), start: timing_event(ctx)?, end: timing_event(ctx)?, runs })
    }

    fn ms(&self, launch: &mut dyn FnMut() -> Result<(), String>) -> Result<f64, String> {
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
            .ok_or("the captured graph is empty")?;
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
type GroupLauncher<'a> = dyn FnMut(usize, &Arc<CudaStream>, &Handles) -> Result<(), String> + 'a;

/// Streams of one GPU, each with its own cuDNN and cuBLAS handles (lane 0 is the one timed),
/// and the events that fork the others from lane 0 and join them back, as a HIOS stage runs.
struct Lanes {
    ctx: Arc<CudaContext>,
    lanes: Vec<(Arc<CudaStream>, Handles)>,
    fork: CudaEvent,
    joins: Vec<CudaEvent>,
}

impl Lanes {
    fn new(ctx: &Arc<CudaContext>, count: usize) -> Result<Lanes, String> {
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
    fn reserve(&mut self, count: usize) -> Result<(), String> {
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
    fn side_by_side(&self, groups: usize, group: &mut GroupLauncher) -> Result<(), String> {
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
struct Own {
    kernel: Kernel,
    _buffers: Vec<CudaSlice<f32>>,
    inputs: Vec<u64>,
    input_lens: Vec<usize>,
    y: u64,
}

impl Own {
    fn prepare(
        op: &crate::zoo::graph::Op,
        lib: &Library,
        (stream, h): (&Arc<CudaStream>, &Handles),
        seed: u32,
        warmup: usize,
    ) -> Result<Option<Own>, String> {
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

    fn launch(&self, lib: &Library, stream: &Arc<CudaStream>, h: &Handles) -> Result<(), String> {
        self.kernel.launch(lib, stream, h, &self.inputs, self.y)
    }
}

/// What empties L2 before a cold launch: one read of three times the cache.
struct Flush {
    l2_bytes: usize,
    buffer: (CudaSlice<f32>, u64),
    n: usize,
    _sink: CudaSlice<f32>,
    sink: u64,
}

impl Flush {
    fn new(ctx: &Arc<CudaContext>, lib: &Library, stream: &Arc<CudaStream>) -> Result<Flush, String> {
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
    fn evict(&self, lib: &Library, stream: &Arc<CudaStream>, inputs: &[(u64, usize)]) -> Result<(), String> {
        kernels::read_all(lib, stream, self.buffer.1, self.n as u64, self.sink)?;
        for &(p, n) in inputs {
            kernels::read_all(lib, stream, p, n as u64, self.sink)?;
        }
        Ok(())
    }
}

/// GPU 0's context and the NVRTC kernels, once the driver, NVRTC, cuDNN and cuBLAS are known to
/// load (`what` needs them all).
fn real_kernels_on_gpu0(what: &str) -> Result<(Arc<CudaContext>, Library), String> {
    if !driver_present() {
        return Err("no NVIDIA driver (libcuda) or NVRTC found on this machine".into());
    }
    if !kernels::libraries_present() {
        return Err(format!("cuDNN or cuBLAS cannot be loaded: {what} needs both"));
    }
    let ctx = contexts(1)?.remove(0);
    let lib = Library::load(&ctx, &compile()?)?;
    Ok((ctx, lib))
}

/// Stages of operators of `g` (each a list of groups of operator indices), one after another,
/// each operator on buffers of its own: each stage's groups side by side, group k on lane k,
/// its operators one after another, the next stage after all of them (`parallel`), or every
/// operator on lane 0 in order. Warm (repeating themselves), and cold where `flush` is given:
/// each repetition after L2 is flushed and the operators' inputs read back in, less those
/// reads alone (never below the warm time, as an operator's cold time).
#[allow(clippy::too_many_arguments)]
fn stages_ms(
    g: &OpGraph,
    stages: &[&[Vec<usize>]],
    parallel: bool,
    lanes: &mut Lanes,
    lib: &Library,
    replay: &Replay,
    warmup: usize,
    flush: Option<&Flush>,
) -> Result<(f64, Option<f64>), String> {
    let widest = stages.iter().map(|s| s.len()).max().unwrap_or(1);
    lanes.reserve(if parallel { widest } else { 1 })?;
    let mut prepared: Vec<Vec<Vec<Own>>> = Vec::with_capacity(stages.len());
    for groups in stages {
        let mut stage = Vec::with_capacity(groups.len());
        for (k, ops) in groups.iter().enumerate() {
            let (st, h) = &lanes.lanes[if parallel { k } else { 0 }];
            let mut own = Vec::new();
            for &o in ops {
                own.extend(Own::prepare(&g.ops[o], lib, (st, h), (o * 7 + k + 1) as u32, warmup)?);
            }
            stage.push(own);
        }
        prepared.push(stage);
    }
    let run = || -> Result<(), String> {
        for stage in &prepared {
            if parallel && stage.len() > 1 {
                lanes.side_by_side(stage.len(), &mut |k, st, h| {
                    stage[k].iter().try_for_each(|o| o.launch(lib, st, h))
                })?;
            } else {
                let (st, h) = &lanes.lanes[0];
                stage.iter().flatten().try_for_each(|o| o.launch(lib, st, h))?;
            }
        }
        Ok(())
    };
    let warm = replay.ms(&mut || run())?;
    let Some(flush) = flush else { return Ok((warm, None)) };
    let inputs: Vec<(u64, usize)> = prepared
        .iter()
        .flatten()
        .flatten()
        .flat_map(|o| o.inputs.iter().copied().zip(o.input_lens.iter().copied()))
        .collect();
    let main = &lanes.lanes[0].0;
    let flushed = replay.ms(&mut || {
        flush.evict(lib, main, &inputs)?;
        run()
    })?;
    let flushes = replay.ms(&mut || flush.evict(lib, main, &inputs))?;
    Ok((warm, Some((flushed - flushes).max(warm))))
}

/// Every operator of `g` on GPU 0, one at a time, with random inputs (never zeros). After
/// `warmup` launches, per operator and launch, medians of five rounds of `runs` launches:
/// - host: eager launches timed by the host's clock (what issuing costs);
/// - GPU, warm: the launches captured as one CUDA graph, replayed and timed by events, so that
///   the host cannot stretch them; the operator repeats itself, so its weights sit in L2;
/// - GPU, cold: the same, with L2 flushed before each launch (a read of several times the
///   cache) and the inputs read back in, minus a graph of the flushes alone: an operator
///   whose weights come from memory while its inputs, just produced, are in L2, as in a
///   model whose working set exceeds the cache;
/// - GPU, together: `TOGETHER` copies launched at once on as many streams (warm), whose time
///   against `TOGETHER` times the warm one is the share of the GPU the operator occupies; and
///   the same after the flush (less the flushes), against `TOGETHER` times the cold one;
/// - GPU, peer: the operator launched at once with its peer (`concurrency::peers`: an
///   independent operator of the same depth), each on buffers of its own, warm, as two groups
///   of a HIOS stage run.
pub fn profile_ops(g: &OpGraph, warmup: usize, runs: usize, mut progress: impl FnMut()) -> Result<OpProfile, String> {
    let (ctx, lib) = real_kernels_on_gpu0("profiling")?;
    let mut lanes = Lanes::new(&ctx, TOGETHER)?;
    let stream = lanes.lanes[0].0.clone();
    let replay = Replay::new(&ctx, &stream, runs)?;
    let flush = Flush::new(&ctx, &lib, &stream)?;
    let peers = super::concurrency::peers(g);
    let mut ops = Vec::with_capacity(g.ops.len());
    for (i, op) in g.ops.iter().enumerate() {
        let h = &lanes.lanes[0].1;
        let kernel = Kernel::prepare(op, &lib, &stream, h, i as u32)?;
        if matches!(kernel, Kernel::Nothing) {
            ops.push(OpTimes::default());
            progress();
            continue;
        }
        let mut bufs = Vec::new();
        for (j, s) in op.input_shapes.iter().enumerate() {
            let n: usize = s.iter().product();
            bufs.push((kernels::random_buffer(&lib, &stream, n, (i * 31 + j) as u32, 1.0)?, n));
        }
        let y = kernels::random_buffer(&lib, &stream, op.numel() as usize, 3, 1.0)?;
        let inputs: Vec<u64> = bufs.iter().map(|b| b.0 .1).collect();
        for _ in 0..warmup {
            kernel.launch(&lib, &stream, h, &inputs, y.1)?;
        }
        // Host: eager launches, timed by the clock (too few to fill the launch queue).
        let mut host = Vec::new();
        for _ in 0..5 {
            stream.synchronize().map_err(|e| err("synchronize", e))?;
            let t0 = Instant::now();
            for _ in 0..runs {
                kernel.launch(&lib, &stream, h, &inputs, y.1)?;
            }
            host.push(t0.elapsed().as_secs_f64() * 1e3 / runs as f64);
        }
        stream.synchronize().map_err(|e| err("synchronize", e))?;
        let warm = replay.ms(&mut || kernel.launch(&lib, &stream, h, &inputs, y.1))?;
        let own_inputs: Vec<(u64, usize)> = bufs.iter().map(|b| (b.0 .1, b.1)).collect();
        let mut evict = || flush.evict(&lib, &stream, &own_inputs);
        let flushed = replay.ms(&mut || {
            evict()?;
            kernel.launch(&lib, &stream, h, &inputs, y.1)
        })?;
        let flushes = replay.ms(&mut evict)?;
        // The difference of two medians can dip below the warm time by noise; never below it.
        let cold = (flushed - flushes).max(warm);
        // Together: TOGETHER copies started at once, one per stream, each with its own kernel
        // (workspace) and output, joined before the next round, as the groups of a HIOS stage.
        let mut copies = Vec::with_capacity(TOGETHER - 1);
        for (k, (st, oh)) in lanes.lanes.iter().enumerate().take(TOGETHER).skip(1) {
            let kk = Kernel::prepare(op, &lib, st, oh, (i * TOGETHER + k) as u32)?;
            let yk = kernels::random_buffer(&lib, st, op.numel() as usize, 4 + k as u32, 1.0)?;
            for _ in 0..warmup.min(3) {
                kk.launch(&lib, st, oh, &inputs, yk.1)?;
            }
            st.synchronize().map_err(|e| err("synchronize", e))?;
            copies.push((kk, yk));
        }
        let mut launch_together = || -> Result<(), String> {
            lanes.side_by_side(TOGETHER, &mut |k, st, oh| match k {
                0 => kernel.launch(&lib, st, oh, &inputs, y.1),
                _ => copies[k - 1].0.launch(&lib, st, oh, &inputs, copies[k - 1].1 .1),
            })
        };
        let together = replay.ms(&mut launch_together)?;
        // Together, cold: the same copies after the flush and the inputs read back in, less
        // the reads alone, as `cold` is.
        let together_flushed = replay.ms(&mut || {
            evict()?;
            launch_together()
        })?;
        let together_cold = (together_flushed - flushes).max(together);
        drop(copies);
        let (peer, peer_cold) = match peers[i] {
            Some(j) => {
                let pair = [vec![i], vec![j]];
                let (w, c) = stages_ms(g, &[&pair], true, &mut lanes, &lib, &replay, warmup.min(3), Some(&flush))?;
                (w, c.unwrap_or(0.0))
            }
            None => (0.0, 0.0),
        };
        ops.push(OpTimes {
            gpu_ms: warm,
            gpu_cold_ms: cold,
            host_ms: median(&mut host),
            gpu_together_ms: together,
            gpu_together_cold_ms: together_cold,
            peer: peers[i],
            gpu_peer_ms: peer,
            gpu_peer_cold_ms: peer_cold,
        });
        progress();
    }
    Ok(OpProfile { ops, l2_bytes: flush.l2_bytes })
}

/// Each stage of `stages` (groups of operators of `g`, by index) on GPU 0, every operator on
/// buffers of its own: side by side as the executor runs a stage (group k on stream k, forked
/// from and joined to the first) and one after another on one stream, warm and cold (L2
/// flushed and the inputs read back in before each repetition, as `bench profile` times an
/// operator cold); and each group alone, warm. With `whole` (every stage of a schedule, in
/// order), also that whole sequence side by side and on one stream, warm: the schedule
/// without its data dependencies.
pub fn profile_stages(
    g: &OpGraph,
    stages: &[Vec<Vec<usize>>],
    whole: Option<&[Vec<Vec<usize>>]>,
    warmup: usize,
    runs: usize,
) -> Result<(Vec<StageTime>, Option<[f64; 2]>), String> {
    let (ctx, lib) = real_kernels_on_gpu0("timing stages")?;
    let mut lanes = Lanes::new(&ctx, 1)?;
    let main = lanes.lanes[0].0.clone();
    let replay = Replay::new(&ctx, &main, runs)?;
    let flush = Flush::new(&ctx, &lib, &main)?;
    let times = stages
        .iter()
        .map(|groups| {
            let one = [groups.as_slice()];
            let (side_by_side_ms, side_by_side_cold_ms) =
                stages_ms(g, &one, true, &mut lanes, &lib, &replay, warmup, Some(&flush))?;
            let (one_stream_ms, one_stream_cold_ms) =
                stages_ms(g, &one, false, &mut lanes, &lib, &replay, warmup, Some(&flush))?;
            let alone_ms = groups
                .iter()
                .map(|ops| {
                    let alone = [std::slice::from_ref(ops)];
                    stages_ms(g, &alone, false, &mut lanes, &lib, &replay, warmup, None).map(|t| t.0)
                })
                .collect::<Result<_, _>>()?;
            Ok(StageTime {
                groups: groups.clone(),
                side_by_side_ms,
                one_stream_ms,
                side_by_side_cold_ms: side_by_side_cold_ms.unwrap_or(0.0),
                one_stream_cold_ms: one_stream_cold_ms.unwrap_or(0.0),
                alone_ms,
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    let whole = match whole {
        Some(all) => {
            let all: Vec<&[Vec<usize>]> = all.iter().map(Vec::as_slice).collect();
            let side = stages_ms(g, &all, true, &mut lanes, &lib, &replay, warmup, None)?.0;
            let one = stages_ms(g, &all, false, &mut lanes, &lib, &replay, warmup, None)?.0;
            Some([side, one])
        }
        None => None,
    };
    Ok((times, whole))
}

/// Back-to-back CUDA graphs on one stream of GPU 0: `tasks` one-warp busy tasks of `task_ms`
/// captured as one graph, and one task per graph with `tasks` such graphs launched one after
/// another (as graph replay runs a GPU's segments), each timed by events around a whole
/// sample; the medians of `repeats` samples, `[one graph, one graph per task]`.
pub fn profile_graph_gap(tasks: usize, task_ms: f64, repeats: usize) -> Result<[f64; 2], String> {
    if !driver_present() {
        return Err("no NVIDIA driver (libcuda) or NVRTC found on this machine".into());
    }
    let ctx = contexts(1)?.remove(0);
    let lib = Library::load(&ctx, &compile()?)?;
    let stream = ctx.new_stream().map_err(|e| err("stream", e))?;
    let cycles = (task_ms * calibrate(&lib, &stream)?).round() as u64;
    let sink = stream.alloc_zeros::<f32>(1).map_err(|e| err("alloc", e))?;
    let sink_p = address(&sink, &stream);
    let capture = |count: usize| -> Result<CudaGraph, String> {
        stream
            .begin_capture(sys::CUstreamCaptureMode::CU_STREAM_CAPTURE_MODE_RELAXED)
            .map_err(|e| err("capture", e))?;
        for _ in 0..count {
            kernels::busy(&lib, &stream, cycles, sink_p)?;
        }
        let g = stream
            .end_capture(sys::CUgraphInstantiate_flags(0))
            .map_err(|e| err("end capture", e))?
            .ok_or("the captured graph is empty")?;
        g.upload().map_err(|e| err("graph upload", e))?;
        Ok(g)
    };
    let (whole, single) = (capture(tasks)?, capture(1)?);
    let (start, end) = (timing_event(&ctx)?, timing_event(&ctx)?);
    let timed = |launches: &mut dyn FnMut() -> Result<(), String>| -> Result<f64, String> {
        let mut ms = Vec::with_capacity(repeats);
        for r in 0..repeats + 1 {
            start.record(&stream).map_err(|e| err("record", e))?;
            launches()?;
            end.record(&stream).map_err(|e| err("record", e))?;
            end.synchronize().map_err(|e| err("synchronize", e))?;
            // The first sample warms up.
            if r > 0 {
                ms.push(start.elapsed_ms(&end).map_err(|e| err("elapsed", e))? as f64);
            }
        }
        Ok(median(&mut ms))
    };
    let one = timed(&mut || whole.launch().map_err(|e| err("graph launch", e)))?;
    let many = timed(&mut || (0..tasks).try_for_each(|_| single.launch().map_err(|e| err("graph launch", e))))?;
    Ok([one, many])
}

/// Copy times over a range of sizes, fitted to α + bytes/β: GPU 0 → GPU 1 (when there are
/// two GPUs) and host ↔ GPU 0 through pinned memory.
pub fn profile_links(runs: usize, copy: CopyKernel) -> Result<Vec<LinkFit>, String> {
    let devices = CudaContext::device_count().map_err(|e| err("device count", e))? as usize;
    let ctxs = contexts(devices.min(2))?;
    let peers = enable_peers(&ctxs)?;
    let sizes: Vec<usize> = (0..=8).map(|i| 4096usize << (2 * i)).collect(); // 4 KiB .. 256 MiB
    let mut fits = Vec::new();
    let s0 = ctxs[0].new_stream().map_err(|e| err("stream", e))?;
    let biggest = *sizes.last().expect("sizes");
    let src = s0.alloc_zeros::<u8>(biggest).map_err(|e| err("alloc", e))?;
    let src_p = address(&src, &s0);
    let dst0 = s0.alloc_zeros::<u8>(biggest).map_err(|e| err("alloc", e))?;
    let dst0_p = address(&dst0, &s0);
    let mut host: *mut std::ffi::c_void = std::ptr::null_mut();
    ctxs[0].bind_to_thread().map_err(|e| err("bind", e))?;
    check("pinned alloc", unsafe { sys::cuMemAllocHost_v2(&mut host, biggest) })?;
    let mut measure = |name: &str, f: &mut dyn FnMut(usize) -> Result<f64, String>| -> Result<(), String> {
        let points: Vec<(usize, f64)> = sizes.iter().map(|&b| f(b).map(|ms| (b, ms))).collect::<Result<_, _>>()?;
        fits.push(LinkFit::fit(name, points));
        Ok(())
    };
    measure("device-to-device (same GPU)", &mut |b| {
        time_ms(&s0, 2, runs, || check("copy", unsafe { sys::cuMemcpyDtoDAsync_v2(dst0_p, src_p, b, s0.cu_stream()) }))
    })?;
    measure("host-to-device (pinned)", &mut |b| {
        time_ms(&s0, 2, runs, || check("copy", unsafe { sys::cuMemcpyHtoDAsync_v2(dst0_p, host, b, s0.cu_stream()) }))
    })?;
    measure("device-to-host (pinned)", &mut |b| {
        time_ms(&s0, 2, runs, || check("copy", unsafe { sys::cuMemcpyDtoHAsync_v2(host, src_p, b, s0.cu_stream()) }))
    })?;
    if ctxs.len() == 2 {
        let s1 = ctxs[1].new_stream().map_err(|e| err("stream", e))?;
        let dst1 = s1.alloc_zeros::<u8>(biggest).map_err(|e| err("alloc", e))?;
        let dst1_p = address(&dst1, &s1);
        let direct = peers.iter().any(|p| p.0 == 0 && p.1 == 1 && p.2);
        let name = if direct && copy == CopyKernel::Engine {
            "GPU 0 to GPU 1 (copy engine over peer access)"
        } else if direct {
            "GPU 0 to GPU 1 (copy kernel over peer access)"
        } else {
            "GPU 0 to GPU 1 (driver peer copy, no peer access)"
        };
        let lib1 = Library::load(&ctxs[1], &compile()?)?;
        measure(name, &mut |b| {
            time_ms(&s1, 2, runs, || {
                if direct {
                    // The executor's mechanism: a copy kernel on GPU 1 reading GPU 0's memory.
                    kernels::copy(&lib1, &s1, src_p, dst1_p, b, copy)
                } else {
                    check("peer copy", unsafe {
                        sys::cuMemcpyPeerAsync(dst1_p, ctxs[1].cu_ctx(), src_p, ctxs[0].cu_ctx(), b, s1.cu_stream())
                    })
                }
            })
        })?;
        s1.synchronize().map_err(|e| err("synchronize", e))?;
        drop(dst1);
    }
    s0.synchronize().map_err(|e| err("synchronize", e))?;
    unsafe { sys::cuMemFreeHost(host) };
    Ok(fits)
}

/// How a copy kernel from GPU 0 and an SM-filling kernel on GPU 1 share GPU 1 (see
/// `CopyInterference`); `None` with fewer than two GPUs or without peer access (the executor
/// then copies through the driver, not with a kernel).
pub fn profile_copy_interference(runs: usize, copy: CopyKernel) -> Result<Option<CopyInterference>, String> {
    let devices = CudaContext::device_count().map_err(|e| err("device count", e))? as usize;
    if devices < 2 {
        return Ok(None);
    }
    let ctxs = contexts(2)?;
    let peers = enable_peers(&ctxs)?;
    if !peers.iter().any(|p| p.0 == 0 && p.1 == 1 && p.2) {
        return Ok(None);
    }
    let ptx = compile()?;
    let (lib0, lib1) = (Library::load(&ctxs[0], &ptx)?, Library::load(&ctxs[1], &ptx)?);
    let s0 = ctxs[0].new_stream().map_err(|e| err("stream", e))?;
    let (a, b) =
        (ctxs[1].new_stream().map_err(|e| err("stream", e))?, ctxs[1].new_stream().map_err(|e| err("stream", e))?);
    // 64 MiB over the link against a read of 1 GiB of local memory: similar times on H200.
    let bytes = 64usize << 20;
    let local_n = (1usize << 30) / ELEMENT_BYTES;
    let src = kernels::random_buffer(&lib0, &s0, bytes / ELEMENT_BYTES, 1, 1.0)?;
    s0.synchronize().map_err(|e| err("synchronize", e))?;
    let dst = kernels::random_buffer(&lib1, &b, bytes / ELEMENT_BYTES, 2, 1.0)?;
    let local = kernels::random_buffer(&lib1, &a, local_n, 3, 1.0)?;
    let sink = kernels::random_buffer(&lib1, &a, 1, 4, 1.0)?;
    b.synchronize().map_err(|e| err("synchronize", e))?;
    let compute = || kernels::read_all(&lib1, &a, local.1, local_n as u64, sink.1);
    let copy_on = |s: &Arc<CudaStream>| kernels::copy(&lib1, s, src.1, dst.1, bytes, copy);
    let compute_ms = time_ms(&a, 3, runs, compute)?;
    let copy_ms = time_ms(&a, 3, runs, || copy_on(&a))?;
    let (fork, join) =
        (ctxs[1].new_event(None).map_err(|e| err("event", e))?, ctxs[1].new_event(None).map_err(|e| err("event", e))?);
    let together_ms = time_ms(&a, 3, runs, || {
        fork.record(&a).map_err(|e| err("record", e))?;
        b.wait(&fork).map_err(|e| err("wait", e))?;
        copy_on(&b)?;
        compute()?;
        join.record(&b).map_err(|e| err("record", e))?;
        a.wait(&join).map_err(|e| err("wait", e))
    })?;
    a.synchronize().map_err(|e| err("synchronize", e))?;
    Ok(Some(CopyInterference::new(bytes, compute_ms, copy_ms, together_ms)))
}
