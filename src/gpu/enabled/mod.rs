//! The cudarc executor. One host thread per GPU issues that GPU's tasks, in the plan's order,
//! onto one stream per lane; dependencies between lanes of a GPU are events, dependencies
//! between GPUs are events passed through a small ring between the two host threads plus a
//! peer copy of the producer's bytes. A blocking driver call (a peer copy the driver stages
//! through host memory, say) then holds up one GPU's issue, not every GPU's.

mod executor;
mod kernels;
mod layers;
mod profiler;
mod switching;
mod threads;

pub use executor::execute;
pub use layers::LayerKernels;
pub use profiler::{profile_copy_interference, profile_graph_gap, profile_links, profile_ops, profile_stages};
pub use switching::measure_switching;

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

pub(crate) fn err(what: &str, e: impl std::fmt::Debug) -> crate::Error {
    crate::Error::Gpu(format!("{what}: {e:?}"))
}

pub(crate) fn check(what: &str, r: sys::CUresult) -> crate::Result<()> {
    if r == sys::cudaError_enum::CUDA_SUCCESS {
        Ok(())
    } else {
        Err(crate::Error::Gpu(format!("{what}: {r:?}")))
    }
}

pub(super) fn driver_present() -> bool {
    // cudarc panics on its first call if libcuda cannot be loaded.
    unsafe { sys::is_culib_present() && cudarc::nvrtc::sys::is_culib_present() }
}

pub(super) fn contexts(devices: usize) -> crate::Result<Vec<Arc<CudaContext>>> {
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
pub(super) fn enable_peers(ctxs: &[Arc<CudaContext>]) -> crate::Result<Vec<(usize, usize, bool)>> {
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
                    return Err(crate::Error::Gpu(format!("peer access {a}->{b}: {r:?}")));
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

pub(super) fn compile() -> crate::Result<cudarc::nvrtc::Ptx> {
    cudarc::nvrtc::compile_ptx(kernels::SOURCE).map_err(|e| err("NVRTC", e))
}

pub(super) fn timing_event(ctx: &Arc<CudaContext>) -> crate::Result<CudaEvent> {
    ctx.new_event(Some(sys::CUevent_flags::CU_EVENT_DEFAULT)).map_err(|e| err("event", e))
}

/// Median of `runs` event-timed runs of `f` on `stream`, after `warmup` untimed ones.
pub(super) fn time_ms(
    stream: &Arc<CudaStream>,
    warmup: usize,
    runs: usize,
    mut f: impl FnMut() -> crate::Result<()>,
) -> crate::Result<f64> {
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

pub(super) fn median(xs: &mut [f64]) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

/// Busy-kernel clock cycles per millisecond on one GPU.
pub(super) fn calibrate(lib: &Library, stream: &Arc<CudaStream>) -> crate::Result<f64> {
    let sink = stream.alloc_zeros::<f32>(1).map_err(|e| err("alloc", e))?;
    let p = address(&sink, stream);
    let ms = time_ms(stream, 1, 7, || kernels::busy(lib, stream, 10_000_000, p))?;
    Ok(10_000_000.0 / ms)
}

pub(super) fn driver_version() -> String {
    let mut v = 0;
    match unsafe { sys::cuDriverGetVersion(&mut v) } {
        sys::cudaError_enum::CUDA_SUCCESS => format!("CUDA driver API {}.{}", v / 1000, (v % 1000) / 10),
        _ => "unknown".into(),
    }
}

pub fn probe() -> crate::Result<GpuInfo> {
    if !driver_present() {
        return Err(crate::Error::Gpu("no NVIDIA driver (libcuda) or NVRTC found on this machine".into()));
    }
    let devices = CudaContext::device_count().map_err(|e| err("device count", e))? as usize;
    if devices == 0 {
        return Err(crate::Error::Gpu("the NVIDIA driver reports no GPU".into()));
    }
    let ctx = CudaContext::new(0).map_err(|e| err("context", e))?;
    let name = ctx.name().map_err(|e| err("name", e))?;
    let lib = Library::load(&ctx, &compile()?)?;
    let cycles_per_ms = calibrate(&lib, &ctx.default_stream())?;
    Ok(GpuInfo { devices, name, cycles_per_ms, driver: driver_version(), libraries: kernels::libraries_present() })
}
