//! The executor's entry point and what its GPU threads share: the mailboxes between GPUs, each
//! task's wiring (inputs, imports, exports), and the threads' own state.

use super::threads::*;
use super::*;

/// Events passed from a producer's host thread to a consumer's: slot `s % ring.len()` carries
/// sample `s`; `recorded` and `waited` count samples, so that a slot is re-recorded only after
/// the consumer has enqueued its wait on it.
pub(super) struct Mailbox {
    pub(super) ring: Vec<CudaEvent>,
    pub(super) recorded: AtomicUsize,
    pub(super) waited: AtomicUsize,
}

pub(super) const RING: usize = 4;

/// Spins until `f` holds; gives up when another GPU thread has failed (its records would
/// never come).
pub(super) fn spin_until(abort: &AtomicBool, f: impl Fn() -> bool) -> crate::Result<()> {
    let mut spins = 0u32;
    while !f() {
        if abort.load(Ordering::Relaxed) {
            return Err(crate::Error::Gpu("stopped: another GPU thread failed".into()));
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
pub(super) struct Import {
    pub(super) mailbox: usize,
    pub(super) bytes: usize,
    /// Recorded on the receiving GPU's copy stream after the copy; the consumer waits on it.
    pub(super) copied: CudaEvent,
    pub(super) src: u64,
    pub(super) src_gpu: usize,
    pub(super) dst: u64,
    pub(super) dst_gpu: usize,
}

/// What a task takes in: its input addresses, and the imports it performs first.
pub(super) struct Wiring {
    /// Address of each dependency's data (the producer's buffer, or the local copy).
    pub(super) inputs: Vec<u64>,
    /// Wait on a mailbox, then copy its producer's bytes over if any.
    pub(super) imports: Vec<Import>,
    /// Same-GPU producers on other lanes whose events to wait for.
    pub(super) local_waits: Vec<usize>,
    /// Mailboxes this task records into.
    pub(super) exports: Vec<usize>,
    /// Whether a same-GPU task on another lane waits for this one.
    pub(super) local_event: bool,
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
) -> crate::Result<Measurement> {
    let ExecOptions { graphs, copy, trace, host_polled_imports } = how;
    plan.check()?;
    if trace && (!graphs || mode != Mode::Latency) {
        return Err(crate::Error::Gpu(
            "a trace times graph replays of one sample at a time (--graphs --latency, or a schedule)".into(),
        ));
    }
    let info = probe()?;
    if plan.graph.is_some() && !info.libraries {
        return Err(crate::Error::Gpu("cuDNN or cuBLAS cannot be loaded: real kernels need both".into()));
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
    let wall = std::thread::scope(|scope| -> crate::Result<Vec<f64>> {
        let mut handles = Vec::new();
        for &g in &gpus_used {
            let (sh, barrier, windows) = (&sh, &barrier, &windows);
            handles.push(scope.spawn(move || -> crate::Result<(f64, Option<RawTrace>)> {
                // A failure here must not leave the other threads at a barrier: keep meeting
                // the barriers with nothing to do, and report the error at the end.
                let setup = setup_thread(sh, g, graphs, trace);
                let mut traced: Vec<Vec<u64>> = Vec::new();
                let mut failure = setup.as_ref().err().map(|e| crate::Error::Gpu(e.to_string()));
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
                    (Some(e), _) => Err(crate::Error::Gpu(format!("gpu {g}: {e}"))),
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
            match h.join().map_err(|_| crate::Error::Gpu("a GPU thread panicked".into()))? {
                Ok((ms, t)) => {
                    issue_ms[i] = ms;
                    raw_traces.extend(t);
                }
                Err(e) => errors.push(e),
            }
        }
        errors.sort_by_key(|e| e.to_string().contains("another GPU thread failed"));
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
pub(super) struct Shared<'a> {
    pub(super) plan: &'a Plan,
    pub(super) ctxs: &'a [Arc<CudaContext>],
    pub(super) streams: &'a [Arc<CudaStream>],
    /// One stream per GPU for copies from other GPUs.
    pub(super) copy_streams: &'a [Arc<CudaStream>],
    pub(super) libs: &'a [Library],
    pub(super) lane: &'a [usize],
    pub(super) lane_gpu: &'a [usize],
    pub(super) wiring: &'a [Wiring],
    pub(super) mailboxes: &'a [Mailbox],
    pub(super) out_addr: &'a [u64],
    /// Samples each task runs behind the pipeline's front (see `Plan::pipeline_lags`).
    pub(super) lags: &'a [usize],
    pub(super) devices: usize,
    pub(super) info: &'a GpuInfo,
    /// Set by a GPU thread that failed, so that the others stop waiting for it.
    pub(super) abort: &'a AtomicBool,
    /// Every pair of GPUs has peer access: copies between GPUs run as kernels.
    pub(super) peer_kernel_copies: bool,
    /// The copy kernel.
    pub(super) copy: CopyKernel,
    /// Issue a copy only once its producer is done (see `ExecOptions::host_polled_imports`).
    pub(super) host_polled_imports: bool,
}

/// One GPU thread's own: its tasks in issue order, their kernels (prepared on this thread, as
/// cuDNN handles must be), busy cycles, events, and the captured graph in graph mode.
pub(super) struct ThreadState {
    pub(super) gpu: usize,
    pub(super) mine: Vec<usize>,
    pub(super) lanes: Vec<usize>,
    pub(super) handles: Vec<Option<Handles>>,
    pub(super) kernels: Vec<Option<Kernel>>,
    pub(super) cycles: Vec<u64>,
    pub(super) events: Vec<Option<CudaEvent>>,
    pub(super) sink: (CudaSlice<f32>, u64),
    /// In graph mode, one sample as captured segments, replayed in order; empty otherwise.
    pub(super) segments: Vec<Segment>,
    /// Fork and join events of the captures, kept alive with the graphs.
    pub(super) _capture_events: Vec<CudaEvent>,
    /// The time stamps of a traced replay (graph mode, `--trace`).
    pub(super) tracer: Option<Tracer>,
}
