//! The profiler: each operator alone (warm, cold, occupancy, host issue), concurrent stages,
//! graph launches, links between GPUs and a copy beside a busy GPU, all on real kernels.

use super::threads::*;
use super::*;

/// GPU 0's context and the NVRTC kernels, once the driver, NVRTC, cuDNN and cuBLAS are known to
/// load (`what` needs them all).
pub(super) fn real_kernels_on_gpu0(what: &str) -> crate::Result<(Arc<CudaContext>, Library)> {
    if !driver_present() {
        return Err(crate::Error::Gpu("no NVIDIA driver (libcuda) or NVRTC found on this machine".into()));
    }
    if !kernels::libraries_present() {
        return Err(crate::Error::Gpu(format!("cuDNN or cuBLAS cannot be loaded: {what} needs both")));
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
pub(super) fn stages_ms(
    g: &OpGraph,
    stages: &[&[Vec<usize>]],
    parallel: bool,
    lanes: &mut Lanes,
    lib: &Library,
    replay: &Replay,
    warmup: usize,
    flush: Option<&Flush>,
) -> crate::Result<(f64, Option<f64>)> {
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
    let run = || -> crate::Result<()> {
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
pub fn profile_ops(g: &OpGraph, warmup: usize, runs: usize, mut progress: impl FnMut()) -> crate::Result<OpProfile> {
    let (ctx, lib) = real_kernels_on_gpu0("profiling")?;
    let mut lanes = Lanes::new(&ctx, TOGETHER)?;
    let stream = lanes.lanes[0].0.clone();
    let replay = Replay::new(&ctx, &stream, runs)?;
    let flush = Flush::new(&ctx, &lib, &stream)?;
    let peers = crate::gpu::concurrency::peers(g);
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
        let mut launch_together = || -> crate::Result<()> {
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
) -> crate::Result<(Vec<StageTime>, Option<[f64; 2]>)> {
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
        .collect::<crate::Result<Vec<_>>>()?;
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
pub fn profile_graph_gap(tasks: usize, task_ms: f64, repeats: usize) -> crate::Result<[f64; 2]> {
    if !driver_present() {
        return Err(crate::Error::Gpu("no NVIDIA driver (libcuda) or NVRTC found on this machine".into()));
    }
    let ctx = contexts(1)?.remove(0);
    let lib = Library::load(&ctx, &compile()?)?;
    let stream = ctx.new_stream().map_err(|e| err("stream", e))?;
    let cycles = (task_ms * calibrate(&lib, &stream)?).round() as u64;
    let sink = stream.alloc_zeros::<f32>(1).map_err(|e| err("alloc", e))?;
    let sink_p = address(&sink, &stream);
    let capture = |count: usize| -> crate::Result<CudaGraph> {
        stream
            .begin_capture(sys::CUstreamCaptureMode::CU_STREAM_CAPTURE_MODE_RELAXED)
            .map_err(|e| err("capture", e))?;
        for _ in 0..count {
            kernels::busy(&lib, &stream, cycles, sink_p)?;
        }
        let g = stream
            .end_capture(sys::CUgraphInstantiate_flags(0))
            .map_err(|e| err("end capture", e))?
            .ok_or_else(|| crate::Error::Gpu("the captured graph is empty".into()))?;
        g.upload().map_err(|e| err("graph upload", e))?;
        Ok(g)
    };
    let (whole, single) = (capture(tasks)?, capture(1)?);
    let (start, end) = (timing_event(&ctx)?, timing_event(&ctx)?);
    let timed = |launches: &mut dyn FnMut() -> crate::Result<()>| -> crate::Result<f64> {
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
pub fn profile_links(runs: usize, copy: CopyKernel) -> crate::Result<Vec<LinkFit>> {
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
    let mut measure = |name: &str, f: &mut dyn FnMut(usize) -> crate::Result<f64>| -> crate::Result<()> {
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
pub fn profile_copy_interference(runs: usize, copy: CopyKernel) -> crate::Result<Option<CopyInterference>> {
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
