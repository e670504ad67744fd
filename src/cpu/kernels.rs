//! One zoo operator prepared for the CPU: its kernel, its own seeded input, weight and output
//! buffers, and the code that runs it data-parallel on a node's threads. Convolutions are
//! im2col plus a GEMM (through `matrixmultiply`), dense layers and attention products GEMMs,
//! and the rest plain loops; every kernel splits its output into disjoint pieces, one piece a
//! work item of the node's pool.

use super::CpuNode;
use crate::zoo::graph::{Attrs, Op, OpKind};

/// What an operator computes, with the sizes its loops need.
#[derive(Debug, Clone, PartialEq)]
pub enum Kernel {
    /// Input placeholders and reshapes move no data.
    Nothing,
    Conv(Conv),
    /// `[rows, inp] × [inp, out] + bias`.
    Linear {
        rows: usize,
        inp: usize,
        out: usize,
    },
    /// `batch` products `[m, k] × [k, n]` (`transpose_b`: the second operand stored `[n, k]`).
    BatchedMatMul {
        batch: usize,
        m: usize,
        k: usize,
        n: usize,
        transpose_b: bool,
    },
    Relu {
        len: usize,
    },
    /// The element-wise sum of `arity` operands.
    Add {
        len: usize,
        arity: usize,
    },
    /// Scale and shift per channel over `planes` planes of `hw` values, `channels` channels.
    BatchNorm {
        planes: usize,
        hw: usize,
        channels: usize,
    },
    /// Normalisation, or softmax, over the last axis.
    LayerNorm {
        rows: usize,
        cols: usize,
    },
    Softmax {
        rows: usize,
        cols: usize,
    },
    Pool {
        planes: usize,
        h: usize,
        w: usize,
        oh: usize,
        ow: usize,
        k: usize,
        s: usize,
        p: usize,
        max: bool,
    },
    GlobalPool {
        planes: usize,
        hw: usize,
    },
    /// Operands of `parts[i]` values per batch item, stacked along the channels.
    Concat {
        batch: usize,
        parts: Vec<usize>,
    },
    Embedding {
        rows: usize,
        hidden: usize,
        table_rows: usize,
    },
}

/// A convolution's sizes (NCHW, weights `[cout, cin/groups, kh, kw]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Conv {
    pub n: usize,
    pub cin: usize,
    pub h: usize,
    pub w: usize,
    pub cout: usize,
    pub oh: usize,
    pub ow: usize,
    pub k: (usize, usize),
    pub s: (usize, usize),
    pub p: (usize, usize),
    pub groups: usize,
}

impl Conv {
    /// The GEMM's inner dimension: one output value's inputs.
    pub fn depth(&self) -> usize {
        self.cin / self.groups * self.k.0 * self.k.1
    }

    /// A 1×1 convolution of stride 1 without padding reads its input as the GEMM operand.
    fn direct(&self) -> bool {
        self.k == (1, 1) && self.s == (1, 1) && self.p == (0, 0)
    }
}

fn numel(shape: &[usize]) -> usize {
    shape.iter().product()
}

impl Kernel {
    /// The kernel of a zoo operator (`None`: shapes this executor does not know).
    pub fn of(op: &Op) -> Option<Kernel> {
        let len = numel(&op.shape);
        let input = |i: usize| op.input_shapes.get(i).map(Vec::as_slice);
        Some(match (op.kind, op.attrs) {
            (OpKind::Input, _) | (_, Attrs::Reshape) => Kernel::Nothing,
            (OpKind::Conv, Attrs::Conv { k, s, p, groups }) => {
                let [n, cin, h, w]: [usize; 4] = input(0)?.try_into().ok()?;
                let [_, cout, oh, ow]: [usize; 4] = op.shape.as_slice().try_into().ok()?;
                Kernel::Conv(Conv { n, cin, h, w, cout, oh, ow, k, s, p, groups })
            }
            (OpKind::MatMul, Attrs::Linear) => {
                let out = *op.shape.last()?;
                let inp = *input(0)?.last()?;
                Kernel::Linear { rows: len / out.max(1), inp, out }
            }
            (OpKind::MatMul, Attrs::BatchedMatMul { transpose_b }) => {
                let a = input(0)?;
                let r = a.len();
                let (m, k, n) = (a[r - 2], a[r - 1], op.shape[r - 1]);
                Kernel::BatchedMatMul { batch: numel(&a[..r - 2]), m, k, n, transpose_b }
            }
            (OpKind::Activation, _) => Kernel::Relu { len },
            (OpKind::Add, _) => Kernel::Add { len, arity: op.inputs.len().max(1) },
            (OpKind::Norm, _) if op.shape.len() == 4 => Kernel::BatchNorm {
                planes: op.shape[0] * op.shape[1],
                hw: op.shape[2] * op.shape[3],
                channels: op.shape[1],
            },
            (OpKind::Norm, _) => {
                let cols = *op.shape.last()?;
                Kernel::LayerNorm { rows: len / cols.max(1), cols }
            }
            (OpKind::Softmax, _) => {
                let cols = *op.shape.last()?;
                Kernel::Softmax { rows: len / cols.max(1), cols }
            }
            (OpKind::Pool, Attrs::Pool { k, s, p, max }) => {
                let [n, c, h, w]: [usize; 4] = input(0)?.try_into().ok()?;
                Kernel::Pool { planes: n * c, h, w, oh: op.shape[2], ow: op.shape[3], k, s, p, max }
            }
            (OpKind::Pool, Attrs::GlobalPool) => {
                let i = input(0)?;
                Kernel::GlobalPool { planes: i[0] * i[1], hw: numel(&i[2..]) }
            }
            (OpKind::Concat, _) => {
                let batch = op.shape[0].max(1);
                let parts = op.input_shapes.iter().map(|s| numel(s) / batch).collect();
                Kernel::Concat { batch, parts }
            }
            (OpKind::Embedding, _) => {
                let hidden = *op.shape.last()?;
                Kernel::Embedding {
                    rows: len / hidden.max(1),
                    hidden,
                    table_rows: (op.params as usize / hidden.max(1)).max(1),
                }
            }
            _ => return None,
        })
    }

    /// Floats of scratch one work item needs (the im2col block of a convolution).
    pub fn scratch(&self, threads: usize) -> usize {
        match self {
            Kernel::Conv(c) if !c.direct() => c.depth() * conv_chunk(c, threads),
            _ => 0,
        }
    }
}

/// Columns of a convolution's output plane in one work item: enough items for every thread
/// twice over, and an im2col block that stays near the core's cache.
fn conv_chunk(c: &Conv, threads: usize) -> usize {
    let cols = c.oh * c.ow;
    let planes = c.n * c.groups;
    let per_plane = (2 * threads).div_ceil(planes.max(1)).max(1);
    cols.div_ceil(per_plane).clamp(1, 1024)
}

/// Values from a seeded linear congruential sequence in [-0.5, 0.5).
fn fill(len: usize, seed: u64) -> Vec<f32> {
    let mut x = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    (0..len)
        .map(|_| {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((x >> 40) as f32 / (1u64 << 24) as f32) - 0.5
        })
        .collect()
}

/// An operator with buffers of its own.
pub struct Prepared {
    pub kernel: Kernel,
    pub inputs: Vec<Vec<f32>>,
    pub weights: Vec<f32>,
    pub out: Vec<f32>,
}

/// A pointer to an output that work items write in disjoint pieces.
#[derive(Clone, Copy)]
struct Shared(*mut f32);
unsafe impl Send for Shared {}
unsafe impl Sync for Shared {}

impl Shared {
    /// The `i`-th value (a method, so that closures capture the whole wrapper).
    fn at(&self, i: usize) -> *mut f32 {
        self.0.wrapping_add(i)
    }

    /// Values `start..start + len`, which no other work item touches.
    #[allow(clippy::mut_from_ref)]
    fn piece(&self, start: usize, len: usize) -> &mut [f32] {
        unsafe { std::slice::from_raw_parts_mut(self.at(start), len) }
    }
}

impl Prepared {
    /// `op` with seeded inputs and weights (`None`: an operator without a CPU kernel).
    pub fn new(op: &Op, seed: u64) -> Option<Prepared> {
        let kernel = Kernel::of(op)?;
        let inputs: Vec<Vec<f32>> = match &kernel {
            Kernel::Nothing => Vec::new(),
            _ => op.input_shapes.iter().enumerate().map(|(i, s)| fill(numel(s), seed + i as u64)).collect(),
        };
        let weights = match &kernel {
            Kernel::Conv(c) => fill(c.cout * c.depth(), seed ^ 0x5eed),
            Kernel::Linear { inp, out, .. } => fill(inp * out + out, seed ^ 0x5eed),
            Kernel::BatchNorm { channels, .. } => fill(2 * channels, seed ^ 0x5eed),
            Kernel::LayerNorm { cols, .. } => fill(2 * cols, seed ^ 0x5eed),
            Kernel::Embedding { table_rows, hidden, .. } => fill(table_rows * hidden, seed ^ 0x5eed),
            _ => Vec::new(),
        };
        let out = vec![0.0; if kernel == Kernel::Nothing { 0 } else { numel(&op.shape) }];
        Some(Prepared { kernel, inputs, weights, out })
    }

    /// Runs the operator on `node`'s threads.
    pub fn run(&mut self, node: &CpuNode) {
        let out = Shared(self.out.as_mut_ptr());
        let (ins, wts) = (&self.inputs, &self.weights);
        let threads = node.threads();
        // Rows per item for the loops over rows or planes: about four items a thread.
        let rows_per = |rows: usize| rows.div_ceil(4 * threads).max(1);
        match &self.kernel {
            Kernel::Nothing => {}
            Kernel::Conv(c) => conv(node, c, &ins[0], wts, out),
            Kernel::Linear { rows, inp, out: cols } => {
                let (rows, inp, cols) = (*rows, *inp, *cols);
                let (x, bias) = (&ins[0], &wts[inp * cols..]);
                // Rows when there are enough of them, else column blocks of the weights.
                let (rb, cb) =
                    if rows >= threads { (rows_per(rows), cols) } else { (rows, cols.div_ceil(2 * threads)) };
                let (ri, ci) = (rows.div_ceil(rb), cols.div_ceil(cb));
                node.each(ri * ci, &|item, _| {
                    let (r0, c0) = ((item / ci) * rb, (item % ci) * cb);
                    let (mr, nc) = (rb.min(rows - r0), cb.min(cols - c0));
                    unsafe {
                        matrixmultiply::sgemm(
                            mr,
                            inp,
                            nc,
                            1.0,
                            x.as_ptr().add(r0 * inp),
                            inp as isize,
                            1,
                            wts.as_ptr().add(c0),
                            cols as isize,
                            1,
                            0.0,
                            out.at(r0 * cols + c0),
                            cols as isize,
                            1,
                        );
                        for r in r0..r0 + mr {
                            for j in c0..c0 + nc {
                                *out.at(r * cols + j) += bias[j];
                            }
                        }
                    }
                });
            }
            Kernel::BatchedMatMul { batch, m, k, n, transpose_b } => {
                let (batch, m, k, n) = (*batch, *m, *k, *n);
                let (rsb, csb) = if *transpose_b { (1, k as isize) } else { (n as isize, 1) };
                let rb = (batch * m).div_ceil(4 * threads).clamp(1, m);
                let per = m.div_ceil(rb);
                node.each(batch * per, &|item, _| {
                    let (b, r0) = (item / per, (item % per) * rb);
                    let mr = rb.min(m - r0);
                    unsafe {
                        matrixmultiply::sgemm(
                            mr,
                            k,
                            n,
                            1.0,
                            ins[0].as_ptr().add(b * m * k + r0 * k),
                            k as isize,
                            1,
                            ins[1].as_ptr().add(b * k * n),
                            rsb,
                            csb,
                            0.0,
                            out.at(b * m * n + r0 * n),
                            n as isize,
                            1,
                        );
                    }
                });
            }
            Kernel::Relu { len } => {
                let step = rows_per(*len);
                node.each(len.div_ceil(step), &|item, _| {
                    let (a, b) = (item * step, (item * step + step).min(*len));
                    for (o, x) in out.piece(a, b - a).iter_mut().zip(&ins[0][a..b]) {
                        *o = x.max(0.0);
                    }
                });
            }
            Kernel::Add { len, .. } => {
                let step = rows_per(*len);
                node.each(len.div_ceil(step), &|item, _| {
                    let (a, b) = (item * step, (item * step + step).min(*len));
                    let o = out.piece(a, b - a);
                    o.copy_from_slice(&ins[0][a..b]);
                    for x in &ins[1..] {
                        for (o, x) in o.iter_mut().zip(&x[a..b]) {
                            *o += x;
                        }
                    }
                });
            }
            Kernel::BatchNorm { planes, hw, channels } => {
                let rb = rows_per(*planes);
                node.each(planes.div_ceil(rb), &|item, _| {
                    for p in item * rb..(item * rb + rb).min(*planes) {
                        let (scale, shift) = (wts[2 * (p % channels)], wts[2 * (p % channels) + 1]);
                        for (o, x) in out.piece(p * hw, *hw).iter_mut().zip(&ins[0][p * hw..(p + 1) * hw]) {
                            *o = x * scale + shift;
                        }
                    }
                });
            }
            Kernel::LayerNorm { rows, cols } => {
                let (rows, cols, rb) = (*rows, *cols, rows_per(*rows));
                node.each(rows.div_ceil(rb), &|item, _| {
                    for r in item * rb..(item * rb + rb).min(rows) {
                        let x = &ins[0][r * cols..(r + 1) * cols];
                        let mean = x.iter().sum::<f32>() / cols as f32;
                        let var = x.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / cols as f32;
                        let inv = 1.0 / (var + 1e-5).sqrt();
                        for (j, v) in x.iter().enumerate() {
                            unsafe { *out.at(r * cols + j) = (v - mean) * inv * wts[j] + wts[cols + j] };
                        }
                    }
                });
            }
            Kernel::Softmax { rows, cols } => {
                let (rows, cols, rb) = (*rows, *cols, rows_per(*rows));
                node.each(rows.div_ceil(rb), &|item, _| {
                    for r in item * rb..(item * rb + rb).min(rows) {
                        let x = &ins[0][r * cols..(r + 1) * cols];
                        let top = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                        let sum: f32 = x.iter().map(|v| (v - top).exp()).sum();
                        for (j, v) in x.iter().enumerate() {
                            unsafe { *out.at(r * cols + j) = (v - top).exp() / sum };
                        }
                    }
                });
            }
            Kernel::Pool { planes, h, w, oh, ow, k, s, p, max } => {
                let rb = rows_per(*planes);
                let win = Window { h: *h, w: *w, oh: *oh, ow: *ow, k: (*k, *k), s: (*s, *s), p: (*p, *p) };
                let (init, scale) = if *max { (f32::NEG_INFINITY, 1.0) } else { (0.0, 1.0 / (k * k) as f32) };
                node.each(planes.div_ceil(rb), &|item, _| {
                    for pl in item * rb..(item * rb + rb).min(*planes) {
                        let o = out.piece(pl * oh * ow, oh * ow);
                        o.fill(init);
                        let x = &ins[0][pl * h * w..(pl + 1) * h * w];
                        if *max {
                            win.each(x, o, |acc, v, _| *acc = acc.max(v));
                        } else {
                            win.each(x, o, |acc, v, _| *acc += v);
                            o.iter_mut().for_each(|v| *v *= scale);
                        }
                    }
                });
            }
            Kernel::GlobalPool { planes, hw } => {
                let rb = rows_per(*planes);
                node.each(planes.div_ceil(rb), &|item, _| {
                    for pl in item * rb..(item * rb + rb).min(*planes) {
                        let v = ins[0][pl * hw..(pl + 1) * hw].iter().sum::<f32>() / *hw as f32;
                        unsafe { *out.at(pl) = v };
                    }
                });
            }
            Kernel::Concat { batch, parts } => {
                let total: usize = parts.iter().sum();
                node.each(batch * parts.len(), &|item, _| {
                    let (b, i) = (item / parts.len(), item % parts.len());
                    let at = b * total + parts[..i].iter().sum::<usize>();
                    let src = &ins[i][b * parts[i]..(b + 1) * parts[i]];
                    unsafe { std::ptr::copy_nonoverlapping(src.as_ptr(), out.at(at), parts[i]) };
                });
            }
            Kernel::Embedding { rows, hidden, table_rows } => {
                let rb = rows_per(*rows);
                node.each(rows.div_ceil(rb), &|item, _| {
                    for r in item * rb..(item * rb + rb).min(*rows) {
                        let id = (ins[0][r].to_bits() as usize) % table_rows;
                        let src = &wts[id * hidden..(id + 1) * hidden];
                        unsafe { std::ptr::copy_nonoverlapping(src.as_ptr(), out.at(r * hidden), *hidden) };
                    }
                });
            }
        }
    }
}

/// A convolution as one GEMM per (batch item, group, block of output columns): the weights
/// `[cout/groups, depth]` times the block's im2col columns `[depth, cols]`.
fn conv(node: &CpuNode, c: &Conv, x: &[f32], w: &[f32], out: Shared) {
    let (cin_g, cout_g, depth) = (c.cin / c.groups, c.cout / c.groups, c.depth());
    let (cols, chunk) = (c.oh * c.ow, conv_chunk(c, node.threads()));
    if cin_g == 1 && cout_g == 1 {
        return depthwise(node, c, x, w, out);
    }
    let per_plane = cols.div_ceil(chunk);
    node.each(c.n * c.groups * per_plane, &|item, scratch| {
        let (plane, c0) = (item / per_plane, (item % per_plane) * chunk);
        let (b, g) = (plane / c.groups, plane % c.groups);
        let nc = chunk.min(cols - c0);
        let input = &x[(b * c.cin + g * cin_g) * c.h * c.w..];
        let (bp, rsb) = if c.direct() {
            (input[c0..].as_ptr(), (c.h * c.w) as isize)
        } else {
            // Sized by the node for its largest item; grown once if a caller sized it short.
            if scratch.len() < depth * nc {
                scratch.resize(depth * nc, 0.0);
            }
            let block = &mut scratch[..depth * nc];
            im2col(c, input, c0, nc, block);
            (block.as_ptr(), nc as isize)
        };
        unsafe {
            matrixmultiply::sgemm(
                cout_g,
                depth,
                nc,
                1.0,
                w.as_ptr().add(g * cout_g * depth),
                depth as isize,
                1,
                bp,
                rsb,
                1,
                0.0,
                out.at((b * c.cout + g * cout_g) * cols + c0),
                cols as isize,
                1,
            );
        }
    });
}

/// A window sliding over one plane: its sizes, kernel, stride and padding.
struct Window {
    h: usize,
    w: usize,
    oh: usize,
    ow: usize,
    k: (usize, usize),
    s: (usize, usize),
    p: (usize, usize),
}

impl Window {
    /// `f(out, in, kernel tap)` for every output value and every input value its window
    /// covers outside the padding, one kernel tap at a time along whole output rows (so that
    /// the inner loop runs without a bounds test).
    fn each(&self, x: &[f32], o: &mut [f32], f: impl Fn(&mut f32, f32, usize)) {
        let (sy, sx, py, px) = (self.s.0, self.s.1, self.p.0, self.p.1);
        for ky in 0..self.k.0 {
            for kx in 0..self.k.1 {
                let tap = ky * self.k.1 + kx;
                // Output columns whose input column ox·sx + kx − px lies inside the plane.
                let lo = px.saturating_sub(kx).div_ceil(sx).min(self.ow);
                let hi = (self.w + px).saturating_sub(kx).div_ceil(sx).min(self.ow).max(lo);
                for oy in 0..self.oh {
                    let Some(iy) = (oy * sy + ky).checked_sub(py).filter(|&iy| iy < self.h) else { continue };
                    let row = &x[iy * self.w..][..self.w];
                    let orow = &mut o[oy * self.ow..][..self.ow];
                    for ox in lo..hi {
                        f(&mut orow[ox], row[ox * sx + kx - px], tap);
                    }
                }
            }
        }
    }
}

/// A depthwise convolution (one input and one output channel a group), each plane directly.
fn depthwise(node: &CpuNode, c: &Conv, x: &[f32], w: &[f32], out: Shared) {
    let taps = c.k.0 * c.k.1;
    let win = Window { h: c.h, w: c.w, oh: c.oh, ow: c.ow, k: c.k, s: c.s, p: c.p };
    let (plane_in, plane_out) = (c.h * c.w, c.oh * c.ow);
    node.each(c.n * c.cout, &|plane, _| {
        let ch = plane % c.cout;
        let o = out.piece(plane * plane_out, plane_out);
        o.fill(0.0);
        let kernel = &w[ch * taps..(ch + 1) * taps];
        win.each(&x[plane * plane_in..(plane + 1) * plane_in], o, |acc, v, tap| *acc += v * kernel[tap]);
    });
}

/// The input values each of the output columns `c0..c0 + nc` reads, one row per (input
/// channel, kernel row, kernel column); zero where the window covers the padding.
pub fn im2col(c: &Conv, input: &[f32], c0: usize, nc: usize, block: &mut [f32]) {
    let (kh, kw) = c.k;
    for ci in 0..c.cin / c.groups {
        for ky in 0..kh {
            for kx in 0..kw {
                let row = &mut block[((ci * kh + ky) * kw + kx) * nc..][..nc];
                for (j, v) in row.iter_mut().enumerate() {
                    let (oy, ox) = ((c0 + j) / c.ow, (c0 + j) % c.ow);
                    let iy = (oy * c.s.0 + ky) as isize - c.p.0 as isize;
                    let ix = (ox * c.s.1 + kx) as isize - c.p.1 as isize;
                    *v = if iy >= 0 && ix >= 0 && (iy as usize) < c.h && (ix as usize) < c.w {
                        input[(ci * c.h + iy as usize) * c.w + ix as usize]
                    } else {
                        0.0
                    };
                }
            }
        }
    }
}
