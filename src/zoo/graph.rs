//! Operator graphs with real shapes: a builder that infers every output shape from its inputs
//! and refuses inconsistent ones, and counts parameters and FLOPs per operator.

use std::fmt;

/// What an operator does; the cost model's efficiency factors are per kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OpKind {
    Input,
    Conv,
    MatMul,
    Pool,
    Norm,
    Activation,
    Add,
    Concat,
    Softmax,
    Embedding,
}

impl fmt::Display for OpKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", format!("{self:?}").to_lowercase())
    }
}

/// What a kernel needs beyond the shapes to run an operator (the GPU executor reads it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attrs {
    None,
    Conv {
        k: (usize, usize),
        s: (usize, usize),
        p: (usize, usize),
        groups: usize,
    },
    Pool {
        k: usize,
        s: usize,
        p: usize,
        max: bool,
    },
    GlobalPool,
    /// Dense layer on the last axis.
    Linear,
    BatchedMatMul {
        transpose_b: bool,
    },
    /// No data movement.
    Reshape,
}

/// One operator.
#[derive(Debug, Clone)]
pub struct Op {
    pub name: String,
    pub kind: OpKind,
    pub inputs: Vec<usize>,
    /// Shapes of the inputs when the operator was built (checked against the producers).
    pub input_shapes: Vec<Vec<usize>>,
    pub shape: Vec<usize>,
    /// Number of parameters (weights and biases).
    pub params: u64,
    /// Floating-point operations (a multiply-add counts 2).
    pub flops: f64,
    /// The layer (block) it belongs to; a layer graph contracts each block into one node.
    pub block: String,
    pub attrs: Attrs,
}

impl Op {
    pub fn numel(&self) -> u64 {
        self.shape.iter().product::<usize>() as u64
    }
}

/// An operator graph under construction; operators are added in a topological order.
#[derive(Debug, Clone, Default)]
pub struct OpGraph {
    pub ops: Vec<Op>,
    block: String,
    /// The first operator the sizes asked for could not build (a window larger than its input,
    /// operands of different shapes): the graph is unusable, and `check_shapes` says why.
    broken: Option<String>,
}

fn numel(shape: &[usize]) -> f64 {
    shape.iter().product::<usize>() as f64
}

/// Output size of a convolution or pooling window along one axis (`None`: the window does not
/// fit the padded input).
fn window(size: usize, k: usize, stride: usize, pad: usize) -> Option<usize> {
    (size + 2 * pad >= k && stride > 0).then(|| (size + 2 * pad - k) / stride + 1)
}

impl OpGraph {
    /// Records that `name` cannot be built as asked (the first such operator is reported).
    pub(crate) fn broken(&mut self, name: &str, why: String) {
        if self.broken.is_none() {
            let block = if self.block.is_empty() { String::new() } else { format!("{}.", self.block) };
            self.broken = Some(format!("{block}{name}: {why}"));
        }
    }

    /// The output size of a window along one axis, recording a window that does not fit (its
    /// output then has size 0).
    fn window(&mut self, name: &str, size: usize, k: usize, stride: usize, pad: usize) -> usize {
        window(size, k, stride, pad).unwrap_or_else(|| {
            self.broken(name, format!("window {k} larger than the padded input {size} + 2 x {pad}"));
            0
        })
    }

    /// Operators added from now on belong to `name`.
    pub fn block(&mut self, name: impl Into<String>) {
        self.block = name.into();
    }

    pub fn shape(&self, x: usize) -> &[usize] {
        &self.ops[x].shape
    }

    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        name: &str,
        kind: OpKind,
        inputs: &[usize],
        shape: Vec<usize>,
        params: u64,
        flops: f64,
        attrs: Attrs,
    ) -> usize {
        let input_shapes = inputs.iter().map(|&i| self.ops[i].shape.clone()).collect();
        let block = self.block.clone();
        let name = if block.is_empty() { name.to_owned() } else { format!("{block}.{name}") };
        self.ops.push(Op { name, kind, inputs: inputs.to_vec(), input_shapes, shape, params, flops, block, attrs });
        self.ops.len() - 1
    }

    pub fn input(&mut self, name: &str, shape: Vec<usize>) -> usize {
        self.push(name, OpKind::Input, &[], shape, 0, 0.0, Attrs::None)
    }

    /// 2-D convolution on NCHW, no bias (a batch norm follows).
    #[allow(clippy::too_many_arguments)]
    pub fn conv(
        &mut self,
        name: &str,
        x: usize,
        out: usize,
        k: (usize, usize),
        s: (usize, usize),
        p: (usize, usize),
        groups: usize,
    ) -> usize {
        let [n, c, h, w] = self.shape(x).try_into().expect("conv takes NCHW");
        if groups == 0 || c % groups != 0 || out % groups != 0 {
            self.broken(name, format!("channels {c} -> {out} not divisible into {groups} groups"));
        }
        let shape = vec![n, out, self.window(name, h, k.0, s.0, p.0), self.window(name, w, k.1, s.1, p.1)];
        let per_out = (c / groups.max(1) * k.0 * k.1) as u64;
        let flops = 2.0 * numel(&shape) * per_out as f64;
        self.push(name, OpKind::Conv, &[x], shape, per_out * out as u64, flops, Attrs::Conv { k, s, p, groups })
    }

    /// Batch norm: scale and shift per channel.
    pub fn batch_norm(&mut self, name: &str, x: usize) -> usize {
        let shape = self.shape(x).to_vec();
        let flops = 2.0 * numel(&shape);
        self.push(name, OpKind::Norm, &[x], shape.clone(), 2 * shape[1] as u64, flops, Attrs::None)
    }

    /// Layer norm over the last axis.
    pub fn layer_norm(&mut self, name: &str, x: usize) -> usize {
        let shape = self.shape(x).to_vec();
        let flops = 5.0 * numel(&shape);
        self.push(
            name,
            OpKind::Norm,
            &[x],
            shape.clone(),
            2 * *shape.last().expect("rank >= 1") as u64,
            flops,
            Attrs::None,
        )
    }

    pub fn activation(&mut self, name: &str, x: usize) -> usize {
        let shape = self.shape(x).to_vec();
        let flops = numel(&shape);
        self.push(name, OpKind::Activation, &[x], shape, 0, flops, Attrs::None)
    }

    pub fn softmax(&mut self, name: &str, x: usize) -> usize {
        let shape = self.shape(x).to_vec();
        let flops = 5.0 * numel(&shape);
        self.push(name, OpKind::Softmax, &[x], shape, 0, flops, Attrs::None)
    }

    /// Max pooling with a k×k window.
    pub fn max_pool(&mut self, name: &str, x: usize, k: usize, s: usize, p: usize) -> usize {
        self.pool(name, x, k, s, p, true)
    }

    /// Average pooling with a k×k window.
    pub fn avg_pool(&mut self, name: &str, x: usize, k: usize, s: usize, p: usize) -> usize {
        self.pool(name, x, k, s, p, false)
    }

    fn pool(&mut self, name: &str, x: usize, k: usize, s: usize, p: usize, max: bool) -> usize {
        let [n, c, h, w] = self.shape(x).try_into().expect("pool takes NCHW");
        let shape = vec![n, c, self.window(name, h, k, s, p), self.window(name, w, k, s, p)];
        let flops = numel(&shape) * (k * k) as f64;
        self.push(name, OpKind::Pool, &[x], shape, 0, flops, Attrs::Pool { k, s, p, max })
    }

    /// Global average pooling to N×C.
    pub fn global_pool(&mut self, name: &str, x: usize) -> usize {
        let [n, c, h, w] = self.shape(x).try_into().expect("pool takes NCHW");
        let flops = (n * c * h * w) as f64;
        self.push(name, OpKind::Pool, &[x], vec![n, c], 0, flops, Attrs::GlobalPool)
    }

    /// Element-wise sum of operands of one shape.
    pub fn add(&mut self, name: &str, xs: &[usize]) -> usize {
        let shape = self.shape(xs[0]).to_vec();
        if let Some(&x) = xs.iter().find(|&&x| self.shape(x) != &shape[..]) {
            let why = format!("adding shapes that differ ({:?} and {shape:?})", self.shape(x));
            self.broken(name, why);
        }
        let flops = numel(&shape) * (xs.len() - 1) as f64;
        self.push(name, OpKind::Add, xs, shape, 0, flops, Attrs::None)
    }

    /// Concatenation along axis 1 (channels for NCHW).
    pub fn concat(&mut self, name: &str, xs: &[usize]) -> usize {
        let mut shape = self.shape(xs[0]).to_vec();
        shape[1] = 0;
        for &x in xs {
            let s = self.shape(x).to_vec();
            if s.len() != shape.len() || s[0] != shape[0] || s[2..] != shape[2..] {
                self.broken(name, format!("concatenating {s:?} with {shape:?}"));
            }
            shape[1] += s.get(1).copied().unwrap_or(0);
        }
        self.push(name, OpKind::Concat, xs, shape, 0, 0.0, Attrs::None)
    }

    /// Dense layer on the last axis, with bias.
    pub fn linear(&mut self, name: &str, x: usize, out: usize) -> usize {
        let mut shape = self.shape(x).to_vec();
        let inp = *shape.last().expect("rank >= 1");
        *shape.last_mut().expect("rank >= 1") = out;
        let flops = 2.0 * numel(&shape) * inp as f64;
        self.push(name, OpKind::MatMul, &[x], shape, (inp * out + out) as u64, flops, Attrs::Linear)
    }

    /// Batched matrix product of activations: [b, m, k] × [b, k, n] (or `transpose_b`:
    /// [b, n, k]) → [b, m, n].
    pub fn batched_matmul(&mut self, name: &str, a: usize, b: usize, transpose_b: bool) -> usize {
        let (sa, sb) = (self.shape(a).to_vec(), self.shape(b).to_vec());
        let r = sa.len();
        assert!(r >= 2 && sb.len() == r && sa[..r - 2] == sb[..r - 2], "{name}: {sa:?} x {sb:?}");
        let (k_b, n) = if transpose_b { (sb[r - 1], sb[r - 2]) } else { (sb[r - 2], sb[r - 1]) };
        assert_eq!(sa[r - 1], k_b, "{name}: inner dimensions {sa:?} x {sb:?}");
        let mut shape = sa.clone();
        shape[r - 1] = n;
        let flops = 2.0 * numel(&shape) * sa[r - 1] as f64;
        self.push(name, OpKind::MatMul, &[a, b], shape, 0, flops, Attrs::BatchedMatMul { transpose_b })
    }

    /// Reshape without data movement (split or merge heads); costs nothing but keeps shapes.
    pub fn reshape(&mut self, name: &str, x: usize, shape: Vec<usize>) -> usize {
        assert_eq!(numel(self.shape(x)), numel(&shape), "{name}: reshape changes the element count");
        self.push(name, OpKind::Activation, &[x], shape, 0, 0.0, Attrs::Reshape)
    }

    /// Token embedding (plus position) lookup: ids [b, s] → [b, s, hidden].
    pub fn embedding(&mut self, name: &str, x: usize, rows: usize, hidden: usize) -> usize {
        let [b, s] = self.shape(x).try_into().expect("embedding takes [batch, seq]");
        self.push(
            name,
            OpKind::Embedding,
            &[x],
            vec![b, s, hidden],
            (rows * hidden) as u64,
            (b * s * hidden) as f64,
            Attrs::None,
        )
    }

    /// Total parameters.
    pub fn params(&self) -> u64 {
        self.ops.iter().map(|o| o.params).sum()
    }

    /// Multiply-adds of convolutions and matrix products (the usual "FLOPs" of model cards).
    pub fn macs(&self) -> f64 {
        self.ops.iter().filter(|o| matches!(o.kind, OpKind::Conv | OpKind::MatMul)).map(|o| o.flops / 2.0).sum()
    }

    /// Every edge carries exactly the shape its consumer was built for.
    pub fn check_shapes(&self) -> crate::Result<()> {
        if let Some(why) = &self.broken {
            return Err(crate::Error::Usage(format!("the model cannot be built at these sizes: {why}")));
        }
        for op in &self.ops {
            for (i, &x) in op.inputs.iter().enumerate() {
                if x >= self.ops.len() || self.ops[x].shape != op.input_shapes[i] {
                    return Err(crate::Error::Algorithm(format!(
                        "{}: input {i} from {} has shape {:?}, built for {:?}",
                        op.name, self.ops[x].name, self.ops[x].shape, op.input_shapes[i]
                    )));
                }
            }
        }
        Ok(())
    }
}
