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

pub const SOURCE: &str = r#"
extern "C" __global__ void busy(unsigned long long cycles, float* out) {
    long long start = clock64();
    float x = (float)threadIdx.x;
    while ((unsigned long long)(clock64() - start) < cycles) { x = x * 0.999999f + 0.5f; }
    if (x == -12345.0f) { out[0] = x; }
}
__device__ float unit(unsigned int x) {
    x ^= x >> 16; x *= 0x7feb352du; x ^= x >> 15; x *= 0x846ca68bu; x ^= x >> 16;
    return (float)(x & 0xffffffu) / 16777216.0f;
}
#define GRID_STRIDE(i, n) for (unsigned long long i = blockIdx.x * (unsigned long long)blockDim.x + threadIdx.x; i < (n); i += (unsigned long long)gridDim.x * blockDim.x)
extern "C" __global__ void fill(float* p, unsigned long long n, unsigned int seed, float scale) {
    GRID_STRIDE(i, n) { p[i] = (2.0f * unit((unsigned int)i * 2654435761u ^ seed) - 1.0f) * scale; }
}
extern "C" __global__ void affine(const float* x, float* y, const float* w, unsigned long long n, unsigned int c, unsigned int inner) {
    GRID_STRIDE(i, n) { unsigned int ch = (unsigned int)((i / inner) % c); y[i] = x[i] * w[ch] + w[c + ch]; }
}
extern "C" __global__ void relu(const float* x, float* y, unsigned long long n) {
    GRID_STRIDE(i, n) { y[i] = fmaxf(x[i], 0.0f); }
}
extern "C" __global__ void add(const float* a, const float* b, float* y, unsigned long long n) {
    GRID_STRIDE(i, n) { y[i] = a[i] + b[i]; }
}
extern "C" __global__ void concat_part(const float* src, float* dst, unsigned long long outer, unsigned long long inner_src, unsigned long long inner_dst, unsigned long long offset) {
    GRID_STRIDE(i, outer * inner_src) { unsigned long long o = i / inner_src; dst[o * inner_dst + offset + (i - o * inner_src)] = src[i]; }
}
// One warp per row.
extern "C" __global__ void rows_softmax(const float* x, float* y, unsigned int rows, unsigned int cols) {
    unsigned int row = blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32, lane = threadIdx.x % 32;
    if (row >= rows) return;
    const float* r = x + (unsigned long long)row * cols; float* o = y + (unsigned long long)row * cols;
    float m = -3.0e38f;
    for (unsigned int j = lane; j < cols; j += 32) m = fmaxf(m, r[j]);
    for (int d = 16; d > 0; d /= 2) m = fmaxf(m, __shfl_xor_sync(0xffffffffu, m, d));
    float s = 0.0f;
    for (unsigned int j = lane; j < cols; j += 32) s += __expf(r[j] - m);
    for (int d = 16; d > 0; d /= 2) s += __shfl_xor_sync(0xffffffffu, s, d);
    for (unsigned int j = lane; j < cols; j += 32) o[j] = __expf(r[j] - m) / s;
}
extern "C" __global__ void rows_layernorm(const float* x, float* y, const float* w, unsigned int rows, unsigned int cols) {
    unsigned int row = blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32, lane = threadIdx.x % 32;
    if (row >= rows) return;
    const float* r = x + (unsigned long long)row * cols; float* o = y + (unsigned long long)row * cols;
    float s = 0.0f, q = 0.0f;
    for (unsigned int j = lane; j < cols; j += 32) { s += r[j]; q += r[j] * r[j]; }
    for (int d = 16; d > 0; d /= 2) { s += __shfl_xor_sync(0xffffffffu, s, d); q += __shfl_xor_sync(0xffffffffu, q, d); }
    float mean = s / cols, inv = rsqrtf(fmaxf(q / cols - mean * mean, 0.0f) + 1e-5f);
    for (unsigned int j = lane; j < cols; j += 32) o[j] = (r[j] - mean) * inv * w[j] + w[cols + j];
}
// Copies words from another GPU's memory through peer access (NVLink loads): a kernel, so
// the host never waits on it, unlike a driver peer copy.
extern "C" __global__ void copy_words(const unsigned int* src, unsigned int* dst, unsigned long long n) {
    GRID_STRIDE(i, n) { dst[i] = src[i]; }
}
// The same in 16-byte words, four loads in flight per thread before their stores: enough bytes
// in flight over the link from a few blocks, so that a copy need not hold every SM.
extern "C" __global__ void copy_wide(const uint4* src, uint4* dst, unsigned long long n) {
    unsigned long long s = (unsigned long long)gridDim.x * blockDim.x;
    unsigned long long i = blockIdx.x * (unsigned long long)blockDim.x + threadIdx.x;
    for (; i + 3 * s < n; i += 4 * s) {
        uint4 a = src[i], b = src[i + s], c = src[i + 2 * s], d = src[i + 3 * s];
        dst[i] = a; dst[i + s] = b; dst[i + 2 * s] = c; dst[i + 3 * s] = d;
    }
    for (; i < n; i += s) { dst[i] = src[i]; }
}
// Reads `n` floats and keeps nothing: pulls them into L2, or evicts everything else from it
// when the buffer is several times the cache.
extern "C" __global__ void read_all(const float* p, unsigned long long n, float* sink) {
    float acc = 0.0f;
    GRID_STRIDE(i, n) { acc += p[i]; }
    if (acc == -12345.0f) { sink[0] = acc; }
}
// Writes the GPU's global timer (nanoseconds, one clock for all GPUs of a host) to `out`: a
// trace's time stamp, in a stream or inside a captured graph.
extern "C" __global__ void stamp(unsigned long long* out) {
    unsigned long long t;
    asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
    *out = t;
}
extern "C" __global__ void gather(const float* ids, const float* table, float* y, unsigned int tokens, unsigned int hidden, unsigned int rows) {
    GRID_STRIDE(i, (unsigned long long)tokens * hidden) {
        unsigned int t = (unsigned int)(i / hidden), h = (unsigned int)(i % hidden);
        unsigned int r = (unsigned int)(fabsf(ids[t]) * rows) % rows;
        y[i] = table[(unsigned long long)r * hidden + h];
    }
}
"#;

const NAMES: [&str; 13] = [
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
];

/// The NVRTC kernels, loaded into one GPU's context.
pub struct Library {
    f: Vec<CudaFunction>,
}

impl Library {
    pub fn load(ctx: &Arc<CudaContext>, ptx: &cudarc::nvrtc::Ptx) -> Result<Library, String> {
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
pub fn busy(lib: &Library, stream: &Arc<CudaStream>, cycles: u64, sink: u64) -> Result<(), String> {
    let mut b = stream.launch_builder(lib.get("busy"));
    b.arg(&cycles);
    b.arg(&sink);
    let cfg = LaunchConfig { grid_dim: (1, 1, 1), block_dim: (32, 1, 1), shared_mem_bytes: 0 };
    unsafe { b.launch(cfg) }.map(|_| ()).map_err(|e| err("launch busy", e))
}

/// Writes the GPU's global timer to the 8 bytes at `at` when `stream` gets there.
pub fn stamp(lib: &Library, stream: &Arc<CudaStream>, at: u64) -> Result<(), String> {
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
) -> Result<(), String> {
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
pub fn read_all(lib: &Library, stream: &Arc<CudaStream>, p: u64, n: u64, sink: u64) -> Result<(), String> {
    let mut b = stream.launch_builder(lib.get("read_all"));
    b.arg(&p);
    b.arg(&n);
    b.arg(&sink);
    unsafe { b.launch(grid(n)) }.map(|_| ()).map_err(|e| err("launch read_all", e))
}

/// Fills `n` floats at `p` with uniform values in [-scale, scale]: never time on zeros.
pub fn fill(lib: &Library, stream: &Arc<CudaStream>, p: u64, n: u64, seed: u32, scale: f32) -> Result<(), String> {
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
) -> Result<(CudaSlice<f32>, u64), String> {
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

fn dnn_ok(what: &str, s: dnn::cudnnStatus_t) -> Result<(), String> {
    if s == dnn::cudnnStatus_t::CUDNN_STATUS_SUCCESS {
        Ok(())
    } else {
        Err(format!("cuDNN {what}: {s:?}"))
    }
}

fn blas_ok(what: &str, s: blas::cublasStatus_t) -> Result<(), String> {
    if s == blas::cublasStatus_t::CUBLAS_STATUS_SUCCESS {
        Ok(())
    } else {
        Err(format!("cuBLAS {what}: {s:?}"))
    }
}

/// Whether cuDNN and cuBLAS can be loaded (cudarc panics on the first call otherwise).
pub fn libraries_present() -> bool {
    unsafe { dnn::is_culib_present() && blas::is_culib_present() }
}

impl Handles {
    pub fn new(stream: &Arc<CudaStream>) -> Result<Handles, String> {
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

fn tensor4(dims: [usize; 4]) -> Result<dnn::cudnnTensorDescriptor_t, String> {
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

/// One operator, ready to launch.
pub enum Kernel {
    /// Nothing to run (an input, a reshape).
    Nothing,
    Conv {
        x: dnn::cudnnTensorDescriptor_t,
        y: dnn::cudnnTensorDescriptor_t,
        w: dnn::cudnnFilterDescriptor_t,
        conv: dnn::cudnnConvolutionDescriptor_t,
        algo: dnn::cudnnConvolutionFwdAlgo_t,
        workspace: Option<(CudaSlice<u8>, u64, usize)>,
        weights: (CudaSlice<f32>, u64),
    },
    Pool {
        x: dnn::cudnnTensorDescriptor_t,
        y: dnn::cudnnTensorDescriptor_t,
        pool: dnn::cudnnPoolingDescriptor_t,
    },
    /// Row-major C[b] = A[b] · op(B[b]) as a column-major cuBLAS call; `weights` replaces the
    /// second input for dense layers.
    Gemm {
        transpose_b: bool,
        m: i32,
        n: i32,
        k: i32,
        batch: i32,
        weights: Option<(CudaSlice<f32>, u64)>,
    },
    Affine {
        n: u64,
        c: u32,
        inner: u32,
        weights: (CudaSlice<f32>, u64),
    },
    LayerNorm {
        rows: u32,
        cols: u32,
        weights: (CudaSlice<f32>, u64),
    },
    Relu {
        n: u64,
    },
    Add {
        n: u64,
    },
    Concat {
        outer: u64,
        inner: Vec<u64>,
    },
    Softmax {
        rows: u32,
        cols: u32,
    },
    Gather {
        tokens: u32,
        hidden: u32,
        rows: u32,
        table: (CudaSlice<f32>, u64),
    },
}

impl Kernel {
    /// Prepares `op` for `stream`; `seed` makes its weights differ from other operators'.
    pub fn prepare(op: &Op, lib: &Library, stream: &Arc<CudaStream>, h: &Handles, seed: u32) -> Result<Kernel, String> {
        let numel = op.numel();
        let weights =
            |n: usize, fan_in: usize| random_buffer(lib, stream, n, seed, (3.0 / fan_in.max(1) as f32).sqrt());
        Ok(match (op.kind, op.attrs) {
            (OpKind::Input, _) | (_, Attrs::Reshape) => Kernel::Nothing,
            (OpKind::Conv, Attrs::Conv { k, s, p, groups }) => {
                let xs = nchw(&op.input_shapes[0]);
                let ys = nchw(&op.shape);
                let x = tensor4(xs)?;
                let y = tensor4(ys)?;
                let mut w = std::ptr::null_mut();
                let mut conv = std::ptr::null_mut();
                let per_group = xs[1] / groups;
                unsafe {
                    dnn_ok("filter", dnn::cudnnCreateFilterDescriptor(&mut w))?;
                    dnn_ok(
                        "filter 4d",
                        dnn::cudnnSetFilter4dDescriptor(
                            w,
                            dnn::cudnnDataType_t::CUDNN_DATA_FLOAT,
                            dnn::cudnnTensorFormat_t::CUDNN_TENSOR_NCHW,
                            ys[1] as i32,
                            per_group as i32,
                            k.0 as i32,
                            k.1 as i32,
                        ),
                    )?;
                    dnn_ok("convolution", dnn::cudnnCreateConvolutionDescriptor(&mut conv))?;
                    dnn_ok(
                        "convolution 2d",
                        dnn::cudnnSetConvolution2dDescriptor(
                            conv,
                            p.0 as i32,
                            p.1 as i32,
                            s.0 as i32,
                            s.1 as i32,
                            1,
                            1,
                            dnn::cudnnConvolutionMode_t::CUDNN_CROSS_CORRELATION,
                            dnn::cudnnDataType_t::CUDNN_DATA_FLOAT,
                        ),
                    )?;
                    dnn_ok("groups", dnn::cudnnSetConvolutionGroupCount(conv, groups as i32))?;
                    dnn_ok(
                        "math type",
                        dnn::cudnnSetConvolutionMathType(
                            conv,
                            dnn::cudnnMathType_t::CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION,
                        ),
                    )?;
                }
                // cuDNN's heuristic ranking (no trial runs): the choice a framework makes by default.
                let mut perf: [dnn::cudnnConvolutionFwdAlgoPerf_t; 8] = unsafe { std::mem::zeroed() };
                let mut count = 0;
                unsafe {
                    dnn_ok(
                        "algorithm",
                        dnn::cudnnGetConvolutionForwardAlgorithm_v7(
                            h.dnn,
                            x,
                            w,
                            conv,
                            y,
                            8,
                            &mut count,
                            perf.as_mut_ptr(),
                        ),
                    )?;
                }
                let algo = perf[..count as usize]
                    .iter()
                    .find(|p| p.status == dnn::cudnnStatus_t::CUDNN_STATUS_SUCCESS)
                    .map(|p| p.algo)
                    .ok_or_else(|| format!("{}: cuDNN offers no forward algorithm", op.name))?;
                let mut bytes = 0usize;
                unsafe {
                    dnn_ok(
                        "workspace",
                        dnn::cudnnGetConvolutionForwardWorkspaceSize(h.dnn, x, w, conv, y, algo, &mut bytes),
                    )?;
                }
                let workspace = if bytes > 0 {
                    let buf = stream.alloc_zeros::<u8>(bytes).map_err(|e| err("alloc workspace", e))?;
                    let p = address(&buf, stream);
                    Some((buf, p, bytes))
                } else {
                    None
                };
                let fan_in = per_group * k.0 * k.1;
                Kernel::Conv { x, y, w, conv, algo, workspace, weights: weights(ys[1] * fan_in, fan_in)? }
            }
            (OpKind::Pool, a @ (Attrs::Pool { .. } | Attrs::GlobalPool)) => {
                let xs = nchw(&op.input_shapes[0]);
                let (k, s, p, max) = match a {
                    Attrs::Pool { k, s, p, max } => ((k, k), (s, s), (p, p), max),
                    _ => ((xs[2], xs[3]), (1, 1), (0, 0), false),
                };
                let mode = if max {
                    dnn::cudnnPoolingMode_t::CUDNN_POOLING_MAX
                } else {
                    dnn::cudnnPoolingMode_t::CUDNN_POOLING_AVERAGE_COUNT_EXCLUDE_PADDING
                };
                let mut pool = std::ptr::null_mut();
                unsafe {
                    dnn_ok("pooling", dnn::cudnnCreatePoolingDescriptor(&mut pool))?;
                    dnn_ok(
                        "pooling 2d",
                        dnn::cudnnSetPooling2dDescriptor(
                            pool,
                            mode,
                            dnn::cudnnNanPropagation_t::CUDNN_NOT_PROPAGATE_NAN,
                            k.0 as i32,
                            k.1 as i32,
                            p.0 as i32,
                            p.1 as i32,
                            s.0 as i32,
                            s.1 as i32,
                        ),
                    )?;
                }
                Kernel::Pool { x: tensor4(xs)?, y: tensor4(nchw(&op.shape))?, pool }
            }
            (OpKind::MatMul, Attrs::Linear) => {
                let inp = *op.input_shapes[0].last().expect("rank >= 1");
                let out = *op.shape.last().expect("rank >= 1");
                let rows = (numel / out as u64) as i32;
                Kernel::Gemm {
                    transpose_b: false,
                    m: rows,
                    n: out as i32,
                    k: inp as i32,
                    batch: 1,
                    weights: Some(weights(inp * out, inp)?),
                }
            }
            (OpKind::MatMul, Attrs::BatchedMatMul { transpose_b }) => {
                let a = &op.input_shapes[0];
                let r = a.len();
                let (m, k) = (a[r - 2], a[r - 1]);
                let n = op.shape[r - 1];
                let batch: usize = a[..r - 2].iter().product();
                Kernel::Gemm { transpose_b, m: m as i32, n: n as i32, k: k as i32, batch: batch as i32, weights: None }
            }
            (OpKind::Norm, _) if op.shape.len() == 4 || op.shape.len() == 2 => {
                let s = nchw(&op.shape);
                Kernel::Affine { n: numel, c: s[1] as u32, inner: (s[2] * s[3]) as u32, weights: weights(2 * s[1], 1)? }
            }
            (OpKind::Norm, _) => {
                let cols = *op.shape.last().expect("rank >= 1");
                Kernel::LayerNorm {
                    rows: (numel / cols as u64) as u32,
                    cols: cols as u32,
                    weights: weights(2 * cols, 1)?,
                }
            }
            (OpKind::Activation, _) => Kernel::Relu { n: numel },
            (OpKind::Add, _) => Kernel::Add { n: numel },
            (OpKind::Concat, _) => {
                let outer = op.shape[0] as u64;
                let inner = op.input_shapes.iter().map(|s| s.iter().product::<usize>() as u64 / outer).collect();
                Kernel::Concat { outer, inner }
            }
            (OpKind::Softmax, _) => {
                let cols = *op.shape.last().expect("rank >= 1");
                Kernel::Softmax { rows: (numel / cols as u64) as u32, cols: cols as u32 }
            }
            (OpKind::Embedding, _) => {
                let hidden = *op.shape.last().expect("rank >= 1");
                let rows = (op.params as usize / hidden).max(1);
                Kernel::Gather {
                    tokens: (numel / hidden as u64) as u32,
                    hidden: hidden as u32,
                    rows: rows as u32,
                    table: weights(rows * hidden, 1)?,
                }
            }
            (kind, attrs) => return Err(format!("{}: no kernel for {kind} with {attrs:?}", op.name)),
        })
    }

    /// Enqueues the operator on the stream it was prepared for.
    pub fn launch(
        &self,
        lib: &Library,
        stream: &Arc<CudaStream>,
        h: &Handles,
        inputs: &[u64],
        out: u64,
    ) -> Result<(), String> {
        let (one, zero) = (1.0f32, 0.0f32);
        let ptr = |p: u64| p as *const std::ffi::c_void;
        let launch = |name: &str, cfg: LaunchConfig, args: &[&dyn Arg]| -> Result<(), String> {
            let mut b = stream.launch_builder(lib.get(name));
            for a in args {
                a.push(&mut b);
            }
            unsafe { b.launch(cfg) }.map(|_| ()).map_err(|e| err(name, e))
        };
        match self {
            Kernel::Nothing => Ok(()),
            Kernel::Conv { x, y, w, conv, algo, workspace, weights } => {
                let (ws, ws_bytes) = workspace.as_ref().map_or((0, 0), |(_, p, b)| (*p, *b));
                dnn_ok("convolution forward", unsafe {
                    dnn::cudnnConvolutionForward(
                        h.dnn,
                        (&one as *const f32).cast(),
                        *x,
                        ptr(inputs[0]),
                        *w,
                        ptr(weights.1),
                        *conv,
                        *algo,
                        ws as *mut std::ffi::c_void,
                        ws_bytes,
                        (&zero as *const f32).cast(),
                        *y,
                        out as *mut std::ffi::c_void,
                    )
                })
            }
            Kernel::Pool { x, y, pool } => dnn_ok("pooling forward", unsafe {
                dnn::cudnnPoolingForward(
                    h.dnn,
                    *pool,
                    (&one as *const f32).cast(),
                    *x,
                    ptr(inputs[0]),
                    (&zero as *const f32).cast(),
                    *y,
                    out as *mut std::ffi::c_void,
                )
            }),
            Kernel::Gemm { transpose_b, m, n, k, batch, weights } => {
                // Row-major C[m×n] = A[m×k]·B is column-major Cᵀ[n×m] = Bᵀ·Aᵀ.
                let a = inputs[0];
                let b = weights.as_ref().map_or(inputs.get(1).copied().unwrap_or(a), |w| w.1);
                let (op_b, ldb) = if *transpose_b {
                    (blas::cublasOperation_t::CUBLAS_OP_T, *k)
                } else {
                    (blas::cublasOperation_t::CUBLAS_OP_N, *n)
                };
                blas_ok("gemm", unsafe {
                    blas::cublasSgemmStridedBatched(
                        h.blas,
                        op_b,
                        blas::cublasOperation_t::CUBLAS_OP_N,
                        *n,
                        *m,
                        *k,
                        &one,
                        b as *const f32,
                        ldb,
                        if weights.is_some() { 0 } else { (*k as i64) * (*n as i64) },
                        a as *const f32,
                        *k,
                        (*m as i64) * (*k as i64),
                        &zero,
                        out as *mut f32,
                        *n,
                        (*m as i64) * (*n as i64),
                        *batch,
                    )
                })
            }
            Kernel::Affine { n, c, inner, weights } => {
                launch("affine", grid(*n), &[&inputs[0], &out, &weights.1, n, c, inner])
            }
            Kernel::LayerNorm { rows, cols, weights } => {
                launch("rows_layernorm", rows_grid(*rows as u64), &[&inputs[0], &out, &weights.1, rows, cols])
            }
            Kernel::Relu { n } => launch("relu", grid(*n), &[&inputs[0], &out, n]),
            Kernel::Add { n } => {
                launch("add", grid(*n), &[&inputs[0], &inputs[1], &out, n])?;
                for x in &inputs[2..] {
                    launch("add", grid(*n), &[&out, x, &out, n])?;
                }
                Ok(())
            }
            Kernel::Concat { outer, inner } => {
                let total: u64 = inner.iter().sum();
                let mut offset = 0u64;
                for (x, i) in inputs.iter().zip(inner) {
                    launch("concat_part", grid(outer * i), &[x, &out, outer, i, &total, &offset])?;
                    offset += i;
                }
                Ok(())
            }
            Kernel::Softmax { rows, cols } => {
                launch("rows_softmax", rows_grid(*rows as u64), &[&inputs[0], &out, rows, cols])
            }
            Kernel::Gather { tokens, hidden, rows, table } => {
                let n = *tokens as u64 * *hidden as u64;
                launch("gather", grid(n), &[&inputs[0], &table.1, &out, tokens, hidden, rows])
            }
        }
    }
}

impl Drop for Kernel {
    fn drop(&mut self) {
        // SAFETY: the descriptors were created by `prepare` for this kernel alone; the buffers
        // free themselves. Errors on destruction are not actionable here.
        unsafe {
            match self {
                Kernel::Conv { x, y, w, conv, .. } => {
                    dnn::cudnnDestroyTensorDescriptor(*x);
                    dnn::cudnnDestroyTensorDescriptor(*y);
                    dnn::cudnnDestroyFilterDescriptor(*w);
                    dnn::cudnnDestroyConvolutionDescriptor(*conv);
                }
                Kernel::Pool { x, y, pool } => {
                    dnn::cudnnDestroyTensorDescriptor(*x);
                    dnn::cudnnDestroyTensorDescriptor(*y);
                    dnn::cudnnDestroyPoolingDescriptor(*pool);
                }
                _ => {}
            }
        }
    }
}

/// A kernel argument of any of the plain types the kernels take.
trait Arg {
    fn push<'a>(&'a self, b: &mut cudarc::driver::LaunchArgs<'a>);
}

impl<T: cudarc::driver::DeviceRepr> Arg for T {
    fn push<'a>(&'a self, b: &mut cudarc::driver::LaunchArgs<'a>) {
        b.arg(self);
    }
}
