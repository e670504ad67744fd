//! Operators as real kernels: cuDNN convolutions and pooling, cuBLAS matrix products, and
//! NVRTC kernels for the element-wise rest. Each operator is prepared once (descriptors,
//! algorithm, workspace, weights filled with random values) for one stream, then launched on
//! raw device pointers as many times as the executor needs.

use super::{check, err};
use crate::gpu::plan::{CopyKernel, KERNEL_BLOCKS_MAX, KERNEL_THREADS};
use crate::zoo::graph::{Attrs, Op, OpKind};
use cudarc::cublas::sys as blas;
use cudarc::cudnn::sys as dnn;
use cudarc::driver::sys;
use cudarc::driver::{CudaContext, CudaFunction, CudaSlice, CudaStream, DevicePtr, LaunchConfig, PushKernelArg};
use std::sync::Arc;

mod ops;

pub use ops::Kernel;

/// The NVRTC kernels' CUDA source, compiled at run time.
pub const SOURCE: &str = include_str!("kernels.cu");

const NAMES: [&str; 14] = [
    "busy",
    "fill",
    "affine",
    "relu",
    "add",
    "concat_part",
    "rows_softmax",
    "rows_layernorm",
    "gather",
    "copy_words",
    "copy_wide",
    "read_all",
    "stamp",
    "page_gather",
];

/// The NVRTC kernels, loaded into one GPU's context.
pub struct Library {
    f: Vec<CudaFunction>,
}

impl Library {
    pub fn load(ctx: &Arc<CudaContext>, ptx: &cudarc::nvrtc::Ptx) -> crate::Result<Library> {
        let module = ctx.load_module(ptx.clone()).map_err(|e| err("module", e))?;
        let f = NAMES.iter().map(|n| module.load_function(n).map_err(|e| err(n, e))).collect::<Result<_, _>>()?;
        Ok(Library { f })
    }

    fn get(&self, name: &str) -> &CudaFunction {
        &self.f[NAMES.iter().position(|n| *n == name).expect("known kernel")]
    }
}

fn grid(n: u64) -> LaunchConfig {
    let blocks = n.div_ceil(KERNEL_THREADS as u64).clamp(1, KERNEL_BLOCKS_MAX as u64) as u32;
    LaunchConfig { grid_dim: (blocks, 1, 1), block_dim: (KERNEL_THREADS as u32, 1, 1), shared_mem_bytes: 0 }
}

fn rows_grid(rows: u64) -> LaunchConfig {
    LaunchConfig { grid_dim: (rows.div_ceil(4).max(1) as u32, 1, 1), block_dim: (128, 1, 1), shared_mem_bytes: 0 }
}

/// Launches a spin kernel of `cycles` clock cycles on one warp (so that concurrent streams
/// share the GPU), writing nothing unless the impossible happens.
pub fn busy(lib: &Library, stream: &Arc<CudaStream>, cycles: u64, sink: u64) -> crate::Result<()> {
    let mut b = stream.launch_builder(lib.get("busy"));
    b.arg(&cycles);
    b.arg(&sink);
    let cfg = LaunchConfig { grid_dim: (1, 1, 1), block_dim: (32, 1, 1), shared_mem_bytes: 0 };
    unsafe { b.launch(cfg) }.map(|_| ()).map_err(|e| err("launch busy", e))
}

/// Writes the GPU's global timer to the 8 bytes at `at` when `stream` gets there.
pub fn stamp(lib: &Library, stream: &Arc<CudaStream>, at: u64) -> crate::Result<()> {
    let mut b = stream.launch_builder(lib.get("stamp"));
    b.arg(&at);
    let cfg = LaunchConfig { grid_dim: (1, 1, 1), block_dim: (1, 1, 1), shared_mem_bytes: 0 };
    unsafe { b.launch(cfg) }.map(|_| ()).map_err(|e| err("launch stamp", e))
}

/// Copies `bytes` (a multiple of 4) from `src`, on any GPU this one has peer access to, to `dst`
/// (both 16-byte aligned), as `copy` says: 4-byte words on up to every thread slot of the GPU,
/// or 16-byte words on at most `blocks` blocks (the last bytes short of 16 as words), or by the
/// copy engine.
pub fn copy(
    lib: &Library,
    stream: &Arc<CudaStream>,
    src: u64,
    dst: u64,
    bytes: usize,
    copy: CopyKernel,
) -> crate::Result<()> {
    let launch = |name: &str, src: u64, dst: u64, n: u64, cfg: LaunchConfig| {
        let mut b = stream.launch_builder(lib.get(name));
        b.arg(&src);
        b.arg(&dst);
        b.arg(&n);
        unsafe { b.launch(cfg) }.map(|_| ()).map_err(|e| err("launch copy", e))
    };
    // The grid the issue model charges for (`CopyKernel::grid`).
    let cfg = LaunchConfig {
        grid_dim: (copy.grid(bytes) as u32, 1, 1),
        block_dim: (KERNEL_THREADS as u32, 1, 1),
        shared_mem_bytes: 0,
    };
    match copy {
        CopyKernel::Engine => {
            // A raw driver call acts in the thread's current context: the stream's.
            stream.context().bind_to_thread().map_err(|e| err("bind", e))?;
            check("copy", unsafe { sys::cuMemcpyDtoDAsync_v2(dst, src, bytes, stream.cu_stream()) })
        }
        CopyKernel::Words => launch("copy_words", src, dst, (bytes / 4) as u64, cfg),
        CopyKernel::Wide { .. } => {
            let wide = bytes / 16;
            if wide > 0 {
                launch("copy_wide", src, dst, wide as u64, cfg)?;
            }
            let tail = (bytes % 16 / 4) as u64;
            if tail > 0 {
                let done = (wide * 16) as u64;
                launch("copy_words", src + done, dst + done, tail, grid(tail))?;
            }
            Ok(())
        }
    }
}

/// Reads `n` floats at `p` (see `read_all`): one launch, results discarded.
pub fn read_all(lib: &Library, stream: &Arc<CudaStream>, p: u64, n: u64, sink: u64) -> crate::Result<()> {
    let mut b = stream.launch_builder(lib.get("read_all"));
    b.arg(&p);
    b.arg(&n);
    b.arg(&sink);
    unsafe { b.launch(grid(n)) }.map(|_| ()).map_err(|e| err("launch read_all", e))
}

/// `out[x] = virt[table[x / s] · s + x mod s]` for `x < n`: a model's weights through its page
/// table.
pub fn page_gather(
    lib: &Library,
    stream: &Arc<CudaStream>,
    out: u64,
    virt: u64,
    table: u64,
    n: u64,
    s: u32,
) -> crate::Result<()> {
    let mut b = stream.launch_builder(lib.get("page_gather"));
    b.arg(&out);
    b.arg(&virt);
    b.arg(&table);
    b.arg(&n);
    b.arg(&s);
    unsafe { b.launch(grid(n)) }.map(|_| ()).map_err(|e| err("launch page_gather", e))
}

/// Fills `n` floats at `p` with uniform values in [-scale, scale]: never time on zeros.
pub fn fill(lib: &Library, stream: &Arc<CudaStream>, p: u64, n: u64, seed: u32, scale: f32) -> crate::Result<()> {
    let mut b = stream.launch_builder(lib.get("fill"));
    b.arg(&p);
    b.arg(&n);
    b.arg(&seed);
    b.arg(&scale);
    unsafe { b.launch(grid(n)) }.map(|_| ()).map_err(|e| err("launch fill", e))
}

/// A device buffer of `n` floats filled with random values, and its address.
pub fn random_buffer(
    lib: &Library,
    stream: &Arc<CudaStream>,
    n: usize,
    seed: u32,
    scale: f32,
) -> crate::Result<(CudaSlice<f32>, u64)> {
    let buf = stream.alloc_zeros::<f32>(n.max(1)).map_err(|e| err("alloc", e))?;
    let p = address(&buf, stream);
    fill(lib, stream, p, n.max(1) as u64, seed, scale)?;
    Ok((buf, p))
}

pub fn address<T>(buf: &CudaSlice<T>, stream: &Arc<CudaStream>) -> u64 {
    // Event tracking is off in every context here, so the guard records nothing.
    let (p, _guard) = buf.device_ptr(stream);
    p
}

/// cuDNN and cuBLAS handles bound to one stream.
pub struct Handles {
    pub dnn: dnn::cudnnHandle_t,
    pub blas: blas::cublasHandle_t,
}

fn dnn_ok(what: &str, s: dnn::cudnnStatus_t) -> crate::Result<()> {
    if s == dnn::cudnnStatus_t::CUDNN_STATUS_SUCCESS {
        Ok(())
    } else {
        Err(crate::Error::Gpu(format!("cuDNN {what}: {s:?}")))
    }
}

fn blas_ok(what: &str, s: blas::cublasStatus_t) -> crate::Result<()> {
    if s == blas::cublasStatus_t::CUBLAS_STATUS_SUCCESS {
        Ok(())
    } else {
        Err(crate::Error::Gpu(format!("cuBLAS {what}: {s:?}")))
    }
}

/// Whether cuDNN and cuBLAS can be loaded (cudarc panics on the first call otherwise).
pub fn libraries_present() -> bool {
    unsafe { dnn::is_culib_present() && blas::is_culib_present() }
}

impl Handles {
    pub fn new(stream: &Arc<CudaStream>) -> crate::Result<Handles> {
        stream.context().bind_to_thread().map_err(|e| err("bind", e))?;
        let mut h = Handles { dnn: std::ptr::null_mut(), blas: std::ptr::null_mut() };
        unsafe {
            dnn_ok("create", dnn::cudnnCreate(&mut h.dnn))?;
            dnn_ok("set stream", dnn::cudnnSetStream(h.dnn, stream.cu_stream() as _))?;
            blas_ok("create", blas::cublasCreate_v2(&mut h.blas))?;
            blas_ok("set stream", blas::cublasSetStream_v2(h.blas, stream.cu_stream() as _))?;
            // TF32 tensor cores for fp32 matmuls, as cuDNN already allows for convolutions.
            blas_ok("math mode", blas::cublasSetMathMode(h.blas, blas::cublasMath_t::CUBLAS_TF32_TENSOR_OP_MATH))?;
        }
        Ok(h)
    }
}

impl Drop for Handles {
    fn drop(&mut self) {
        unsafe {
            dnn::cudnnDestroy(self.dnn);
            blas::cublasDestroy_v2(self.blas);
        }
    }
}

fn tensor4(dims: [usize; 4]) -> crate::Result<dnn::cudnnTensorDescriptor_t> {
    let mut d = std::ptr::null_mut();
    unsafe {
        dnn_ok("tensor", dnn::cudnnCreateTensorDescriptor(&mut d))?;
        dnn_ok(
            "tensor 4d",
            dnn::cudnnSetTensor4dDescriptor(
                d,
                dnn::cudnnTensorFormat_t::CUDNN_TENSOR_NCHW,
                dnn::cudnnDataType_t::CUDNN_DATA_FLOAT,
                dims[0] as i32,
                dims[1] as i32,
                dims[2] as i32,
                dims[3] as i32,
            ),
        )?;
    }
    Ok(d)
}

fn nchw(shape: &[usize]) -> [usize; 4] {
    match shape {
        [n, c, h, w] => [*n, *c, *h, *w],
        [n, c] => [*n, *c, 1, 1],
        other => [1, other.iter().product(), 1, 1],
    }
}
