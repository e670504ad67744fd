//! Measured pairwise co-run slowdowns: the file `bench salus corun` writes, and the table the
//! simulator and the checker read when a run is given one.
//!
//! With slowdowns, an item `a` running beside the set `B` progresses at
//! `r_a = 1 / (1 + Σ_{b∈B} (s_ab − 1))`, `s_ab` the slowdown measured while `a` and `b` ran
//! side by side (one number per pair: both slow down alike). A pair the file does not measure
//! takes the occupancy model's prediction for two items, `1 / shared_rate(u_a + u_b, β)`, so
//! that a pair alone runs as the plain rate model says.
//!
//! Sets of three and four may be measured too (each member's own slowdown while all of them
//! run); under [`Combine::Measured`] a running set that was measured runs at its members'
//! measured rates, and any other set combines its pairs additively.

use super::fluid::shared_rate;
use super::tenant::Tenant;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Version of [`CorunFile`] (version 1, without sets, is read too).
pub const CORUN_SCHEMA: u32 = 2;

/// The largest set whose members' slowdowns a table keeps.
pub const MAX_SET: usize = 4;

/// One measured set of three or more items: each member's slowdown while all of them ran.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetRow {
    pub tenants: Vec<String>,
    /// Each member's iteration alone, ms.
    pub alone_ms: Vec<f64>,
    /// Each member's iterations finished while every member was running.
    pub iterations: Vec<usize>,
    /// Each member's mean iteration in the set over its time alone.
    pub slowdowns: Vec<f64>,
    /// What the pairs' additive combination predicts for each member.
    pub additive_slowdowns: Vec<f64>,
}

/// One measured pair.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PairRow {
    pub a: String,
    pub b: String,
    pub alone_a_ms: f64,
    pub alone_b_ms: f64,
    pub together_ms: f64,
    pub occupancy_a: f64,
    pub occupancy_b: f64,
    pub measured_slowdown: f64,
    pub predicted_slowdown: f64,
    /// The pair time the rate model predicts from the measured alone times.
    pub predicted_together_ms: f64,
}

/// What `bench salus corun` writes.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CorunFile {
    pub schema_version: u32,
    pub gpu: String,
    pub beta: f64,
    pub warmup: usize,
    pub runs: usize,
    pub pairs: Vec<PairRow>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sets: Vec<SetRow>,
}

/// Reads a co-run file; bad input names the file, the pair and the field.
pub fn read_corun(path: &Path) -> Result<CorunFile> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let f: CorunFile = serde_json::from_str(&text).map_err(|e| Error::input(path, "JSON", e.to_string()))?;
    if !(1..=CORUN_SCHEMA).contains(&f.schema_version) {
        return Err(Error::input(
            path,
            "field \"schema_version\"",
            format!("{} (this build reads 1 to {CORUN_SCHEMA})", f.schema_version),
        ));
    }
    for (i, r) in f.sets.iter().enumerate() {
        let n = r.tenants.len();
        let ok = (3..=MAX_SET).contains(&n)
            && r.slowdowns.len() == n
            && r.slowdowns.iter().all(|s| s.is_finite() && *s > 0.0);
        if !ok {
            return Err(Error::input(
                path,
                format!("set {i} ({}): field \"slowdowns\"", r.tenants.join(" + ")),
                format!("needs 3 to {MAX_SET} members, each with a positive slowdown"),
            ));
        }
    }
    for (i, p) in f.pairs.iter().enumerate() {
        if !(p.measured_slowdown.is_finite() && p.measured_slowdown > 0.0) {
            return Err(Error::input(
                path,
                format!("pair {i} ({} + {}): field \"measured_slowdown\"", p.a, p.b),
                format!("{} is not a positive number", p.measured_slowdown),
            ));
        }
    }
    Ok(f)
}

/// The model-and-batch part of a tenant name (`resnet50_b32_train` → `resnet50_b32`): pairs
/// are measured on forward passes and stand for training tenants of the same model and batch.
fn model_batch(name: &str) -> &str {
    name.rsplit_once('_').map_or(name, |(head, _)| head)
}

/// How the pairs' slowdowns combine when more than two items run at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Combine {
    /// `r_a = 1 / (1 + Σ_b (s_ab − 1))`: each other item adds its pair's excess.
    #[default]
    Additive,
    /// `r_a = 2 / (n · mean_b s_ab)` for `n ≥ 2` items: the GPU's throughput saturates at a
    /// pair's (two items already fill it), shared evenly; two items run as their pair.
    Saturating,
    /// A running set measured as a whole (three or four items) runs at its members' measured
    /// rates; any other set as `additive`.
    Measured,
}

impl Combine {
    pub fn as_str(self) -> &'static str {
        match self {
            Combine::Additive => "additive",
            Combine::Saturating => "saturating",
            Combine::Measured => "measured",
        }
    }
}

/// The slowdown of every pair of a run's tenants.
#[derive(Debug, Clone, PartialEq)]
pub struct PairSlowdowns {
    /// Where the table came from (a file's name and hash), for the rows' options.
    pub source: String,
    k: usize,
    s: Vec<f64>,
    /// Pairs (unordered, with a tenant paired with itself) taken from the file.
    pub measured: usize,
    pub pairs: usize,
    /// Measured slowdowns below 1 (timing noise) counted as 1.
    pub clamped: usize,
    pub combine: Combine,
    /// Measured sets: the members' tenants in ascending order (padded with `NONE`), and each
    /// position's slowdown (members of one tenant averaged).
    sets: std::collections::HashMap<SetKey, [f64; MAX_SET]>,
}

type SetKey = [u32; MAX_SET];
const NONE: u32 = u32::MAX;

/// The sorted key of a set of tenants; `None` when it has more than [`MAX_SET`] members.
fn set_key(members: impl Iterator<Item = usize>) -> Option<SetKey> {
    let mut key = [NONE; MAX_SET];
    let mut n = 0;
    for m in members {
        if n == MAX_SET {
            return None;
        }
        key[n] = m as u32;
        n += 1;
    }
    key[..n].sort_unstable();
    Some(key)
}

impl PairSlowdowns {
    /// The table for `tenants` from `file`'s pairs: a pair is found by the tenants' names, else
    /// by their model and batch; unmeasured pairs take the rate model's two-item prediction.
    pub fn new(tenants: &[Tenant], file: &CorunFile, source: &str, beta: f64) -> PairSlowdowns {
        let k = tenants.len();
        let mut t = PairSlowdowns {
            source: source.to_owned(),
            k,
            s: vec![1.0; k * k],
            measured: 0,
            pairs: k * (k + 1) / 2,
            clamped: 0,
            combine: Combine::Additive,
            sets: Default::default(),
        };
        let find = |a: &str, b: &str, key: fn(&str) -> &str| {
            file.pairs.iter().find(|p| {
                let (x, y) = (key(&p.a), key(&p.b));
                (x == key(a) && y == key(b)) || (x == key(b) && y == key(a))
            })
        };
        for i in 0..k {
            for j in i..k {
                let (a, b) = (&tenants[i].name, &tenants[j].name);
                let row = find(a, b, |n| n).or_else(|| find(a, b, model_batch));
                let s = match row {
                    Some(p) => {
                        t.measured += 1;
                        if p.measured_slowdown < 1.0 {
                            t.clamped += 1;
                        }
                        p.measured_slowdown.max(1.0)
                    }
                    None => 1.0 / shared_rate(tenants[i].occupancy + tenants[j].occupancy, beta),
                };
                t.s[i * k + j] = s;
                t.s[j * k + i] = s;
            }
        }
        for row in &file.sets {
            let by = |key: fn(&str) -> &str| -> Option<Vec<usize>> {
                row.tenants.iter().map(|n| tenants.iter().position(|t| key(&t.name) == key(n))).collect()
            };
            let Some(ids) = by(|n| n).or_else(|| by(model_batch)) else { continue };
            t.insert_set(&ids, &row.slowdowns);
        }
        t
    }

    /// Records set `members` (tenants, three to [`MAX_SET`]) measured as a whole, each member's
    /// slowdown in it (below 1 counted as 1; members of one tenant averaged).
    pub fn insert_set(&mut self, members: &[usize], slowdowns: &[f64]) {
        let Some(key) = set_key(members.iter().copied()) else { return };
        let mut at = [0.0; MAX_SET];
        for (p, &m) in key.iter().enumerate().filter(|(_, &m)| m != NONE) {
            let (n, sum) = members
                .iter()
                .zip(slowdowns)
                .filter(|(&i, _)| i as u32 == m)
                .fold((0usize, 0.0), |(n, sum), (_, &s)| (n + 1, sum + s.max(1.0)));
            at[p] = sum / n as f64;
        }
        self.sets.insert(key, at);
    }

    /// Sets measured as a whole that this table found among its tenants.
    pub fn measured_sets(&self) -> usize {
        self.sets.len()
    }

    /// Tenant `me`'s measured slowdown while the tenants `others` run beside it, when that
    /// whole set was measured.
    pub fn in_set(&self, me: usize, others: impl Iterator<Item = usize>) -> Option<f64> {
        let key = set_key(std::iter::once(me).chain(others))?;
        let at = self.sets.get(&key)?;
        key.iter().position(|&m| m == me as u32).map(|p| at[p])
    }

    /// A table given directly (tests): `s[i][j]` for tenants `i`, `j`.
    pub fn from_matrix(s: Vec<Vec<f64>>) -> PairSlowdowns {
        let k = s.len();
        let pairs = k * (k + 1) / 2;
        PairSlowdowns {
            source: "given".into(),
            k,
            s: s.into_iter().flatten().collect(),
            measured: pairs,
            pairs,
            clamped: 0,
            combine: Combine::Additive,
            sets: Default::default(),
        }
    }

    /// The slowdown of tenant `a` while `b` runs beside it.
    pub fn get(&self, a: usize, b: usize) -> f64 {
        self.s[a * self.k + b]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_fall_back_to_model_and_batch() {
        assert_eq!(model_batch("resnet50_b32_train"), "resnet50_b32");
        assert_eq!(model_batch("inception-v3_b8_infer"), "inception-v3_b8");
        assert_eq!(model_batch("plain"), "plain");
    }
}
