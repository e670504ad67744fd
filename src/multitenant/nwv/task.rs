//! The tasks whose weights share one memory: a parameter vector and an importance of the same
//! length per task. Three sources: a network converted from the reference implementation
//! (`NAME.json` beside `NAME.weights.f32` and `NAME.fisher.f32`, importance its diagonal
//! empirical Fisher), a zoo model with seeded weights and a declared importance proxy (for
//! memory and timing: no trained weights exist), and variants of a base with sparse
//! perturbations of chosen pages, whose ideal sharing is known.

use crate::error::{Error, Result};
use crate::multitenant::tenant::{graph, model_name, parse_model};
use crate::zoo::graph::{Attrs, OpKind};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// One task: its weights and their importance, element by element.
#[derive(Debug, Clone)]
pub struct Task {
    pub name: String,
    pub weights: Vec<f32>,
    pub importance: Vec<f32>,
    /// Where the numbers came from (`fisher`, `magnitude2`, `uniform`, `variant of ...`).
    pub source: String,
}

impl Task {
    pub fn len(&self) -> usize {
        self.weights.len()
    }

    pub fn is_empty(&self) -> bool {
        self.weights.is_empty()
    }

    /// Pages of `s` weights, the last zero-padded.
    pub fn pages(&self, s: usize) -> usize {
        self.len().div_ceil(s)
    }

    /// The weights and importance of page `p` (shorter than `s` on the last page).
    pub fn page(&self, p: usize, s: usize) -> (&[f32], &[f32]) {
        let a = p * s;
        let b = ((p + 1) * s).min(self.len());
        (&self.weights[a..b], &self.importance[a..b])
    }

    /// The importance of each page, summed (the reference orders pages by it).
    pub fn page_sums(&self, s: usize) -> Vec<f64> {
        (0..self.pages(s)).map(|p| self.page(p, s).1.iter().map(|&f| f as f64).sum()).collect()
    }

    /// The task with every importance divided by its largest (the slides' normalised Fisher).
    pub fn normalised(mut self) -> Task {
        let m = self.importance.iter().copied().fold(0.0f32, f32::max);
        if m > 0.0 {
            self.importance.iter_mut().for_each(|f| *f /= m);
        }
        self
    }
}

/// The importance a task without a shipped Fisher is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Importance {
    /// The shipped diagonal Fisher (reference networks); for zoo models, `magnitude2`.
    Fisher,
    /// Each weight's square: large weights matter more.
    Magnitude2,
    /// Every weight alike.
    Uniform,
}

impl Importance {
    fn proxy(self, w: &[f32]) -> (Vec<f32>, &'static str) {
        match self {
            Importance::Uniform => (vec![1.0; w.len()], "uniform"),
            Importance::Fisher | Importance::Magnitude2 => (w.iter().map(|x| x * x).collect(), "magnitude2"),
        }
    }
}

/// The fields of a converted network's description that we read.
#[derive(Debug, Deserialize)]
struct NetworkJson {
    name: String,
    num_weights: usize,
}

/// The folder of the converted reference networks: `$PLACEBENCH_NWV`, else `../shared/nwv`.
pub fn reference_dir() -> PathBuf {
    std::env::var_os("PLACEBENCH_NWV").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("../shared/nwv"))
}

/// The five reference networks in the reference's matching order.
pub const REFERENCE: &[&str] = &["mnist", "gsc", "gtsrb", "cifar10", "svhn"];

/// Little-endian f32 values of `path`, exactly `n` of them.
pub fn read_f32(path: &Path, n: usize, field: &str) -> Result<Vec<f32>> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    if bytes.len() != 4 * n {
        return Err(Error::input(
            path,
            format!("field {field:?}"),
            format!("{} bytes where {n} float32 values ({} bytes) are declared", bytes.len(), 4 * n),
        ));
    }
    Ok(bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect())
}

/// A converted network from its description `json` (the weight and Fisher files beside it).
pub fn read_network(json: &Path, importance: Importance) -> Result<Task> {
    let text = std::fs::read(json).map_err(|e| Error::io(json, e))?;
    let d: NetworkJson =
        serde_json::from_slice(&text).map_err(|e| Error::input(json, "network description", e.to_string()))?;
    if d.num_weights == 0 {
        return Err(Error::input(json, "field \"num_weights\"", "a network needs at least one weight"));
    }
    let dir = json.parent().unwrap_or(Path::new("."));
    let weights = read_f32(&dir.join(format!("{}.weights.f32", d.name)), d.num_weights, "num_weights")?;
    let wpath = dir.join(format!("{}.fisher.f32", d.name));
    let (importance, source) = match importance {
        Importance::Fisher => {
            let f = read_f32(&wpath, d.num_weights, "num_weights")?;
            if let Some(k) = f.iter().position(|x| !x.is_finite() || *x < 0.0) {
                return Err(Error::input(&wpath, format!("element {k}"), "a Fisher value must be finite and ≥ 0"));
            }
            (f, "fisher")
        }
        other => other.proxy(&weights),
    };
    if let Some(k) = weights.iter().position(|x| !x.is_finite()) {
        return Err(Error::input(json, format!("weight {k}"), "not a finite number"));
    }
    Ok(Task { name: d.name, weights, importance, source: source.into() })
}

/// A zoo model at batch 1 with seeded weights: He-normal for convolutions and dense layers
/// (fan-in from the kernel), scale 1 and shift 0 for normalisations, N(0, 0.02) elsewhere.
pub fn zoo_task(name: &str, seed: u64, importance: Importance) -> Option<Task> {
    let model = parse_model(name)?;
    let g = graph(model, 1);
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x6e77_7600);
    let mut w = Vec::with_capacity(g.params() as usize);
    for op in &g.ops {
        let n = op.params as usize;
        if n == 0 {
            continue;
        }
        let fan_in = match (op.kind, op.attrs) {
            (_, Attrs::Conv { k, groups, .. }) => {
                let cin = op.input_shapes.first().and_then(|s| s.get(1)).copied().unwrap_or(1);
                k.0 * k.1 * cin / groups.max(1)
            }
            (OpKind::MatMul, _) => op.input_shapes.first().and_then(|s| s.last()).copied().unwrap_or(1),
            _ => 0,
        };
        if op.kind == OpKind::Norm {
            w.extend((0..n).map(|i| if i < n / 2 { 1.0 } else { 0.0 }));
            continue;
        }
        let sd = if fan_in > 0 { (2.0 / fan_in as f64).sqrt() } else { 0.02 };
        let d = Normal::new(0.0, sd).unwrap_or_else(|_| Normal::new(0.0, 0.02).expect("a positive deviation"));
        w.extend((0..n).map(|_| d.sample(&mut rng) as f32));
    }
    let (importance, source) = importance.proxy(&w);
    Some(Task { name: model_name(model), weights: w, importance, source: source.into() })
}

/// A seeded random network of `n` weights, N(0, 0.1), importance `magnitude2` (tests, presets
/// that must run without data).
pub fn synthetic(name: &str, n: usize, seed: u64) -> Task {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let d = Normal::new(0.0f64, 0.1).expect("a positive deviation");
    let weights: Vec<f32> = (0..n).map(|_| d.sample(&mut rng) as f32).collect();
    let importance = weights.iter().map(|x| x * x + 1e-6).collect();
    Task { name: name.into(), weights, importance, source: "synthetic".into() }
}

/// `k` copies of `base`, copy `c` with `changed` of its pages perturbed (seeded, by up to ±0.05
/// a weight: closer to their own base page than to any other), every other page bit-identical
/// to the base's. Returns the copies and, per copy, the perturbed pages.
pub fn variants(base: &Task, k: usize, changed: usize, s: usize, seed: u64) -> (Vec<Task>, Vec<Vec<usize>>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x7661_7269);
    let pages = base.pages(s);
    let mut out = Vec::with_capacity(k);
    let mut touched = Vec::with_capacity(k);
    for c in 0..k {
        let mut t = base.clone();
        t.name = format!("{}~{}", base.name, c + 1);
        t.source = format!("variant of {}", base.name);
        let mut chosen: Vec<usize> = (0..pages).collect();
        // A partial Fisher–Yates shuffle: the first `changed` are a uniform sample.
        let m = changed.min(pages);
        for i in 0..m {
            let j = rng.random_range(i..pages);
            chosen.swap(i, j);
        }
        chosen.truncate(m);
        chosen.sort_unstable();
        for &p in &chosen {
            let (a, b) = (p * s, ((p + 1) * s).min(t.len()));
            for x in &mut t.weights[a..b] {
                *x += rng.random_range(-0.05f32..0.05);
            }
            for (w, f) in t.weights[a..b].iter().zip(&mut t.importance[a..b]) {
                *f = w * w + 1e-6;
            }
        }
        out.push(t);
        touched.push(chosen);
    }
    (out, touched)
}
