//! Profiled tenants: measured iteration times and memory that replace the cost model's, read
//! from Salus's per-model workload list or from our tenant CSV.
//!
//! Salus's list (no header; `<model>_<batch>_<length>,jct_s,mem_mib,iterations,command`) has
//! three runs of each model and batch; the least-squares line `jct = a + b · iterations`
//! through them gives the iteration time `b` and the start-up `a` (a through-origin fit where a
//! line would start below zero). Its memory is one number per model and batch; the line
//! `mem = P + e · batch` through a model's three batch sizes splits it: the intercept `P` is
//! what does not grow with the batch (weights, gradients, optimiser state: persistent), the
//! rest ephemeral. Where that line would start at or below zero (or above the least memory) the
//! split is the proportion of the zoo tenant the model maps to.
//!
//! Ours: `model,batch,kind[,iter_ms,memory_mib,persistent_mib,ephemeral_mib,occupancy]`, any of
//! the measured columns blank to keep the zoo's value.

use super::tenant::{model_name, Kind, Tenant};
use super::trace::resolve_model;
use crate::error::{Error, Result};
use crate::zoo::Model;
use sha2::Digest;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const MIB: f64 = (1u64 << 20) as f64;

/// One profiled tenant.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    /// The model as the file names it, normalised (a zoo model's command-line name).
    pub model: String,
    pub zoo: Model,
    pub batch: usize,
    pub kind: Kind,
    pub iter_ms: Option<f64>,
    /// Salus's list: the fitted start-up of a run, ms.
    pub startup_ms: Option<f64>,
    pub memory_bytes: Option<f64>,
    pub persistent_bytes: Option<f64>,
    pub ephemeral_bytes: Option<f64>,
    pub occupancy: Option<f64>,
    /// The first row it was read from.
    pub row: u64,
}

/// One run of Salus's list: what `bench salus gen --workloads` draws jobs from.
#[derive(Debug, Clone, PartialEq)]
pub struct Workload {
    pub name: String,
    pub model: String,
    pub zoo: Model,
    pub mapped: bool,
    pub batch: usize,
    pub iterations: u64,
    pub jct_s: f64,
}

/// A profile file.
#[derive(Debug, Clone, PartialEq)]
pub struct Profiles {
    pub file: PathBuf,
    /// The file's name and the start of its SHA-256, for the rows' options.
    pub label: String,
    /// `salus` or `placebench`.
    pub format: &'static str,
    pub entries: Vec<Profile>,
    pub workloads: Vec<Workload>,
}

/// The name a model is looked up by: the zoo's command-line name, or the file's own.
pub fn normalised(name: &str) -> Option<(Model, bool, String)> {
    let (m, mapped) = resolve_model(name)?;
    Some((m, mapped, if mapped { name.trim().to_ascii_lowercase() } else { model_name(m) }))
}

pub fn read_profiles(path: &Path) -> Result<Profiles> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let first = text.lines().next().unwrap_or("").to_ascii_lowercase();
    let mut p = if first.split(',').any(|f| f.trim() == "model") && first.contains("batch") {
        ours(&text, path)?
    } else {
        salus(&text, path)?
    };
    if p.entries.is_empty() {
        return Err(Error::input(path, "rows", "no tenant profiles"));
    }
    p.file = path.to_owned();
    let name = path.file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    p.label = format!("{name}:{:.12x}", sha2::Sha256::digest(text.as_bytes()));
    Ok(p)
}

fn at(row: u64, field: &str) -> String {
    format!("row {row}: field \"{field}\"")
}

fn number(path: &Path, row: u64, field: &str, s: &str) -> Result<f64> {
    match s.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
        _ => Err(Error::input(path, at(row, field), format!("must be a number > 0, got {:?}", s.trim()))),
    }
}

fn model(path: &Path, row: u64, field: &str, name: &str) -> Result<(Model, bool, String)> {
    normalised(name).ok_or_else(|| {
        Error::input(path, at(row, field), format!("unknown model {name:?} (zoo models, or tf_cnn_benchmarks' CNNs)"))
    })
}

fn salus(text: &str, path: &Path) -> Result<Profiles> {
    let mut rd =
        csv::ReaderBuilder::new().has_headers(false).flexible(true).trim(csv::Trim::All).from_reader(text.as_bytes());
    let mut workloads = Vec::new();
    let mut memory: BTreeMap<(String, usize), (f64, u64)> = BTreeMap::new();
    for (i, rec) in rd.records().enumerate() {
        let row = i as u64 + 1;
        let rec = rec.map_err(|e| Error::input(path, format!("row {row}"), e.to_string()))?;
        if rec.iter().all(str::is_empty) {
            continue;
        }
        let field = |k: usize, name: &str| {
            rec.get(k).filter(|s| !s.is_empty()).ok_or_else(|| Error::input(path, at(row, name), "missing"))
        };
        let name = field(0, "name")?;
        let mut parts = name.rsplitn(3, '_');
        let (_, b, m) = (parts.next(), parts.next(), parts.next());
        let (Some(m), Some(batch)) = (m, b.and_then(|b| b.parse::<usize>().ok()).filter(|&b| b >= 1)) else {
            return Err(Error::input(path, at(row, "name"), format!("{name:?}: expected <model>_<batch>_<length>")));
        };
        let (zoo, mapped, model) = model(path, row, "name", m)?;
        let jct_s = number(path, row, "jct", field(1, "jct")?)?;
        let mem = number(path, row, "mem", field(2, "mem")?)?;
        let it = field(3, "iterations")?;
        let iterations = it.parse::<u64>().ok().filter(|&n| n >= 1).ok_or_else(|| {
            Error::input(path, at(row, "iterations"), format!("must be a whole number >= 1, got {it:?}"))
        })?;
        memory.entry((model.clone(), batch)).or_insert((mem * MIB, row));
        workloads.push(Workload { name: name.to_owned(), model, zoo, mapped, batch, iterations, jct_s });
    }
    let persistent = |model: &str| {
        let pts: Vec<(f64, f64)> =
            memory.iter().filter(|((m, _), _)| m == model).map(|((_, b), (y, _))| (*b as f64, *y)).collect();
        let least = pts.iter().map(|p| p.1).fold(f64::INFINITY, f64::min);
        let (a, _) = fit(&pts);
        (pts.len() >= 2 && a > 0.0 && a < least).then_some(a)
    };
    let persistent: BTreeMap<String, Option<f64>> = memory.keys().map(|(m, _)| (m.clone(), persistent(m))).collect();
    let entries = memory
        .into_iter()
        .map(|((model, batch), (bytes, row))| {
            let runs: Vec<(f64, f64)> = workloads
                .iter()
                .filter(|w| w.model == model && w.batch == batch)
                .map(|w| (w.iterations as f64, w.jct_s))
                .collect();
            let (a, b) = fit(&runs);
            let zoo = workloads.iter().find(|w| w.model == model).map_or(Model::Resnet50, |w| w.zoo);
            Profile {
                persistent_bytes: persistent[&model],
                model,
                zoo,
                batch,
                kind: Kind::Train,
                iter_ms: Some(b * 1e3),
                startup_ms: Some(a * 1e3),
                memory_bytes: Some(bytes),
                ephemeral_bytes: None,
                occupancy: None,
                row,
            }
        })
        .collect();
    Ok(Profiles { file: PathBuf::new(), label: String::new(), format: "salus", entries, workloads })
}

/// `y = a + b · x` by least squares over `(x, y)`; through the origin where there is one
/// distinct `x` or the line would start below zero.
pub fn fit(pts: &[(f64, f64)]) -> (f64, f64) {
    let n = pts.len() as f64;
    let (sx, sy) = pts.iter().fold((0.0, 0.0), |(a, b), &(x, y)| (a + x, b + y));
    let (mx, my) = (sx / n, sy / n);
    let sxx: f64 = pts.iter().map(|&(x, _)| (x - mx) * (x - mx)).sum();
    let sxy: f64 = pts.iter().map(|&(x, y)| (x - mx) * (y - my)).sum();
    if sxx > 0.0 {
        let b = sxy / sxx;
        let a = my - b * mx;
        if a >= 0.0 && b > 0.0 {
            return (a, b);
        }
    }
    let b = pts.iter().map(|&(x, y)| x * y).sum::<f64>() / pts.iter().map(|&(x, _)| x * x).sum::<f64>();
    (0.0, b)
}

fn ours(text: &str, path: &Path) -> Result<Profiles> {
    let mut rd = csv::ReaderBuilder::new().flexible(true).trim(csv::Trim::All).from_reader(text.as_bytes());
    let header: Vec<String> = rd
        .headers()
        .map_err(|e| Error::input(path, "header", e.to_string()))?
        .iter()
        .map(|h| h.to_ascii_lowercase())
        .collect();
    let mut entries: Vec<Profile> = Vec::new();
    for (i, rec) in rd.records().enumerate() {
        let row = i as u64 + 2;
        let rec = rec.map_err(|e| Error::input(path, format!("row {row}"), e.to_string()))?;
        if rec.iter().all(str::is_empty) {
            continue;
        }
        let get = |name: &str| header.iter().position(|h| h == name).and_then(|k| rec.get(k)).filter(|s| !s.is_empty());
        let need = |name: &str| get(name).ok_or_else(|| Error::input(path, at(row, name), "missing"));
        let opt = |name: &str, scale: f64| get(name).map(|s| number(path, row, name, s).map(|v| v * scale)).transpose();
        let (zoo, _, model) = model(path, row, "model", need("model")?)?;
        let b = need("batch")?;
        let batch =
            b.parse::<usize>().ok().filter(|&b| b >= 1).ok_or_else(|| {
                Error::input(path, at(row, "batch"), format!("must be a whole number >= 1, got {b:?}"))
            })?;
        let k = need("kind")?;
        let kind =
            Kind::parse(k).ok_or_else(|| Error::input(path, at(row, "kind"), format!("{k:?}: train or infer")))?;
        let occupancy = opt("occupancy", 1.0)?;
        if occupancy.is_some_and(|u| u > 1.0) {
            return Err(Error::input(path, at(row, "occupancy"), "must be at most 1"));
        }
        let p = Profile {
            model,
            zoo,
            batch,
            kind,
            iter_ms: opt("iter_ms", 1.0)?,
            startup_ms: None,
            memory_bytes: opt("memory_mib", MIB)?,
            persistent_bytes: opt("persistent_mib", MIB)?,
            ephemeral_bytes: opt("ephemeral_mib", MIB)?,
            occupancy,
            row,
        };
        if entries.iter().any(|e| e.model == p.model && e.batch == p.batch && e.kind == p.kind) {
            return Err(Error::input(
                path,
                at(row, "model"),
                format!("{} at batch {batch} is profiled twice", p.model),
            ));
        }
        entries.push(p);
    }
    Ok(Profiles { file: PathBuf::new(), label: String::new(), format: "placebench", entries, workloads: Vec::new() })
}

impl Profiles {
    /// The profile of the model the trace names `written` (normalised) at `batch`, `kind`.
    pub fn find(&self, written: &str, batch: usize, kind: Kind) -> Option<&Profile> {
        self.entries.iter().find(|e| e.model == written && e.batch == batch && e.kind == kind)
    }

    /// `zoo` with the measured quantities of `p` in place of the cost model's. A total memory
    /// alone is split in the zoo tenant's proportion of persistent to ephemeral bytes.
    pub fn apply(&self, p: &Profile, mut zoo: Tenant) -> Tenant {
        if let Some(t) = p.iter_ms {
            zoo.iter_ms = t;
        }
        if let Some(u) = p.occupancy {
            zoo.occupancy = u;
        }
        let share = zoo.persistent_bytes / zoo.footprint().max(f64::MIN_POSITIVE);
        match (p.persistent_bytes, p.ephemeral_bytes, p.memory_bytes) {
            (Some(a), Some(b), _) => (zoo.persistent_bytes, zoo.ephemeral_bytes) = (a, b),
            (Some(a), None, Some(m)) => (zoo.persistent_bytes, zoo.ephemeral_bytes) = (a, (m - a).max(0.0)),
            (None, Some(b), Some(m)) => (zoo.persistent_bytes, zoo.ephemeral_bytes) = ((m - b).max(0.0), b),
            (Some(a), None, None) => zoo.persistent_bytes = a,
            (None, Some(b), None) => zoo.ephemeral_bytes = b,
            (None, None, Some(m)) => (zoo.persistent_bytes, zoo.ephemeral_bytes) = (m * share, m * (1.0 - share)),
            (None, None, None) => {}
        }
        let name = self.label.split(':').next().unwrap_or_default();
        zoo.source = format!("profile {name} row {}", p.row);
        zoo
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fit_recovers_a_line_and_falls_back_through_the_origin() {
        let (a, b) = fit(&[(100.0, 12.0), (500.0, 52.0), (1000.0, 102.0)]);
        assert!((a - 2.0).abs() < 1e-9 && (b - 0.1).abs() < 1e-12, "{a} {b}");
        let (a, b) = fit(&[(100.0, 10.0)]);
        assert_eq!((a, b), (0.0, 0.1));
        // A line starting below zero: through the origin instead.
        let (a, b) = fit(&[(100.0, 5.0), (200.0, 20.0)]);
        assert_eq!(a, 0.0);
        assert!(b > 0.0);
    }
}
