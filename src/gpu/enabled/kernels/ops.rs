//! One operator as a kernel: prepared once for a stream (descriptors, algorithm, workspace,
//! random weights), launched on raw device pointers, freed on drop.

use super::*;

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
    pub fn prepare(op: &Op, lib: &Library, stream: &Arc<CudaStream>, h: &Handles, seed: u32) -> crate::Result<Kernel> {
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
                    .ok_or_else(|| crate::Error::Gpu(format!("{}: cuDNN offers no forward algorithm", op.name)))?;
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
            (kind, attrs) => {
                return Err(crate::Error::Gpu(format!("{}: no kernel for {kind} with {attrs:?}", op.name)))
            }
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
    ) -> crate::Result<()> {
        let (one, zero) = (1.0f32, 0.0f32);
        let ptr = |p: u64| p as *const std::ffi::c_void;
        let launch = |name: &str, cfg: LaunchConfig, args: &[&dyn Arg]| -> crate::Result<()> {
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
