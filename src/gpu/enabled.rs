//! The cudarc executor: a calibrated spin kernel compiled with NVRTC stands in for each
//! operator; stages run on their GPU's own stream, in pipeline, with events for the
//! dependencies between stages and peer copies for the activations they pass on.

use super::{GpuInfo, Measurement, StageSpec};
use cudarc::driver::{CudaContext, CudaFunction, CudaSlice, CudaStream, LaunchConfig, PushKernelArg};
use std::sync::Arc;
use std::time::Instant;

const BUSY: &str = r#"
extern "C" __global__ void busy(unsigned long long cycles, float* out) {
    long long start = clock64();
    float x = (float)threadIdx.x;
    while ((unsigned long long)(clock64() - start) < cycles) { x = x * 0.999999f + 0.5f; }
    if (x == -12345.0f) { out[0] = x; }
}
"#;

fn err(what: &str, e: impl std::fmt::Debug) -> String {
    format!("{what}: {e:?}")
}

/// One context, stream and busy kernel per GPU.
struct Gpu {
    ctx: Arc<CudaContext>,
    stream: Arc<CudaStream>,
    busy: CudaFunction,
}

fn open(devices: usize) -> Result<Vec<Gpu>, String> {
    let ptx = cudarc::nvrtc::compile_ptx(BUSY).map_err(|e| err("NVRTC", e))?;
    let gpus: Vec<Gpu> = (0..devices)
        .map(|d| {
            let ctx = CudaContext::new(d).map_err(|e| err("context", e))?;
            // The pipeline orders its streams with explicit events; cudarc's per-buffer event
            // tracking would add its own waits between the streams that touch a buffer.
            // SAFETY: every buffer here is used in an order the explicit events already enforce.
            unsafe { ctx.disable_event_tracking() };
            let stream = ctx.new_stream().map_err(|e| err("stream", e))?;
            let module = ctx.load_module(ptx.clone()).map_err(|e| err("module", e))?;
            let busy = module.load_function("busy").map_err(|e| err("function", e))?;
            Ok(Gpu { ctx, stream, busy })
        })
        .collect::<Result<_, String>>()?;
    // Direct peer copies over NVLink: without peer access the driver stages them through host
    // memory, which measured 2 to 4 times slower pipelines on two H200s.
    for a in &gpus {
        for b in &gpus {
            if a.ctx.cu_ctx() != b.ctx.cu_ctx() {
                a.ctx.bind_to_thread().map_err(|e| err("bind", e))?;
                // SAFETY: both contexts are alive; an already-enabled pair returns an error we ignore.
                let r = unsafe { cudarc::driver::sys::cuCtxEnablePeerAccess(b.ctx.cu_ctx(), 0) };
                if r != cudarc::driver::sys::cudaError_enum::CUDA_SUCCESS
                    && r != cudarc::driver::sys::cudaError_enum::CUDA_ERROR_PEER_ACCESS_ALREADY_ENABLED
                {
                    return Err(format!("peer access: {r:?}"));
                }
            }
        }
    }
    Ok(gpus)
}

/// Launches the busy kernel: one block of one warp, so the kernels of different streams run
/// side by side on different multiprocessors. `sink` must belong to `stream` alone: cudarc
/// orders streams that write one buffer, which would serialise the stages.
fn spin(g: &Gpu, stream: &Arc<CudaStream>, sink: &mut CudaSlice<f32>, cycles: u64) -> Result<(), String> {
    let mut b = stream.launch_builder(&g.busy);
    b.arg(&cycles);
    b.arg(sink);
    let cfg = LaunchConfig { grid_dim: (1, 1, 1), block_dim: (32, 1, 1), shared_mem_bytes: 0 };
    unsafe { b.launch(cfg) }.map(|_| ()).map_err(|e| err("launch", e))
}

/// Cycles per millisecond of the busy kernel on GPU 0: the median of several timed runs of
/// 10⁷ cycles, after a warm-up.
fn calibrate(g: &Gpu) -> Result<f64, String> {
    let s = g.stream.clone();
    let mut sink = s.alloc_zeros::<f32>(1).map_err(|e| err("alloc", e))?;
    spin(g, &s, &mut sink, 1_000_000)?;
    let mut rates = Vec::new();
    for _ in 0..7 {
        let start =
            s.record_event(Some(cudarc::driver::sys::CUevent_flags::CU_EVENT_DEFAULT)).map_err(|e| err("event", e))?;
        spin(g, &s, &mut sink, 10_000_000)?;
        let end =
            s.record_event(Some(cudarc::driver::sys::CUevent_flags::CU_EVENT_DEFAULT)).map_err(|e| err("event", e))?;
        let ms = start.elapsed_ms(&end).map_err(|e| err("elapsed", e))? as f64;
        rates.push(10_000_000.0 / ms);
    }
    rates.sort_by(f64::total_cmp);
    Ok(rates[rates.len() / 2])
}

fn driver_present() -> bool {
    // cudarc panics on its first call if libcuda cannot be loaded.
    unsafe { cudarc::driver::sys::is_culib_present() && cudarc::nvrtc::sys::is_culib_present() }
}

pub fn probe() -> Result<GpuInfo, String> {
    if !driver_present() {
        return Err("no NVIDIA driver (libcuda) or NVRTC found on this machine".into());
    }
    let devices = CudaContext::device_count().map_err(|e| err("device count", e))? as usize;
    if devices == 0 {
        return Err("the NVIDIA driver reports no GPU".into());
    }
    let gpus = open(1)?;
    let name = gpus[0].ctx.name().map_err(|e| err("name", e))?;
    let cycles_per_ms = calibrate(&gpus[0])?;
    Ok(GpuInfo { devices, name, cycles_per_ms })
}

/// Runs `samples` samples through the stages (each stage on `stage.gpu` modulo the GPUs
/// present), `repeats` times after one warm-up repeat; returns the median time per sample.
pub fn run_pipeline(stages: &[StageSpec], samples: usize, repeats: usize) -> Result<Measurement, String> {
    let info = probe()?;
    let devices = info.devices;
    let gpus = open(devices)?;
    let used: std::collections::BTreeSet<usize> = stages.iter().map(|s| s.gpu % devices).collect();
    // One stream per stage on its GPU; a buffer per stage for the activation it sends.
    let streams: Vec<Arc<CudaStream>> = stages
        .iter()
        .map(|s| gpus[s.gpu % devices].ctx.new_stream().map_err(|e| err("stream", e)))
        .collect::<Result<_, _>>()?;
    let outs: Vec<CudaSlice<u8>> = stages
        .iter()
        .zip(&streams)
        .map(|(s, st)| st.alloc_zeros::<u8>(s.send_bytes.max(1)).map_err(|e| err("alloc", e)))
        .collect::<Result<_, _>>()?;
    let mut ins: Vec<CudaSlice<u8>> = stages
        .iter()
        .enumerate()
        .map(|(i, _)| {
            let bytes = if i == 0 { 1 } else { stages[i - 1].send_bytes.max(1) };
            streams[i].alloc_zeros::<u8>(bytes).map_err(|e| err("alloc", e))
        })
        .collect::<Result<_, _>>()?;
    let mut sinks: Vec<CudaSlice<f32>> =
        streams.iter().map(|st| st.alloc_zeros::<f32>(1).map_err(|e| err("alloc", e))).collect::<Result<_, _>>()?;
    let cycles: Vec<Vec<u64>> = stages
        .iter()
        .map(|s| s.kernels_ms.iter().map(|ms| (ms * info.cycles_per_ms).round() as u64).collect())
        .collect();
    // Diagnostic: PLACEBENCH_VALIDATE_NO_COPY=1 keeps the event dependencies and drops the copies.
    let no_copy = std::env::var_os("PLACEBENCH_VALIDATE_NO_COPY").is_some();
    let mut results = Vec::new();
    for repeat in 0..=repeats {
        let start = Instant::now();
        for _ in 0..samples {
            for i in 0..stages.len() {
                if i > 0 {
                    // Wait for the previous stage's activation, then pull it over (a peer copy
                    // when the stages sit on different GPUs).
                    let ready = streams[i - 1].record_event(None).map_err(|e| err("event", e))?;
                    streams[i].wait(&ready).map_err(|e| err("wait", e))?;
                    if !no_copy {
                        streams[i].memcpy_dtod(&outs[i - 1], &mut ins[i]).map_err(|e| err("copy", e))?;
                    }
                }
                let g = &gpus[stages[i].gpu % devices];
                for &c in &cycles[i] {
                    spin(g, &streams[i], &mut sinks[i], c)?;
                }
            }
        }
        for s in &streams {
            s.synchronize().map_err(|e| err("synchronize", e))?;
        }
        let ms = start.elapsed().as_secs_f64() * 1e3 / samples as f64;
        if repeat > 0 {
            results.push(ms);
        }
    }
    let mut sorted = results.clone();
    sorted.sort_by(f64::total_cmp);
    Ok(Measurement { per_sample_ms: sorted[sorted.len() / 2], repeats_ms: results, samples, devices_used: used.len() })
}
