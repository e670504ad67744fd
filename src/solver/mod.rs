//! The only module that names HiGHS: build a mixed-integer program, solve it with limits and an
//! optional start, and report everything the solver knows (status, incumbent, dual bound, gap,
//! nodes, time), which the good_lp wrapper would merge or drop.

use std::ffi::{c_void, CStr, CString};
use std::time::Instant;

/// A column of the program.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Var(usize);

/// A minimisation MIP under construction.
pub struct Mip {
    problem: highs::RowProblem,
    cols: Vec<highs::Col>,
}

/// Limits and controls of one solve.
#[derive(Debug, Clone)]
pub struct SolveOptions {
    pub time_limit: f64,
    /// Relative gap at which HiGHS stops.
    pub mip_gap: f64,
    pub threads: usize,
    pub seed: u64,
    /// Further HiGHS options, as `name`, `value` text (typed on the way in).
    pub extra: Vec<(String, String)>,
}

/// How the solve ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SolveStatus {
    /// Optimal within `mip_gap`.
    Optimal,
    /// Proven infeasible.
    Infeasible,
    /// Time limit reached (with or without an incumbent).
    TimeLimit,
    /// Anything else HiGHS reports.
    Other,
}

/// What the solver reports.
#[derive(Debug, Clone)]
pub struct SolveReport {
    pub status: SolveStatus,
    /// HiGHS's own model status, for the results.
    pub raw_status: String,
    pub objective: Option<f64>,
    /// Best proven lower bound (HiGHS `mip_dual_bound`).
    pub bound: Option<f64>,
    pub gap: Option<f64>,
    pub nodes: Option<i64>,
    pub seconds: f64,
    /// Column values of the incumbent, if any.
    pub values: Option<Vec<f64>>,
}

/// The column index of a variable (its position in a start or solution vector).
pub fn var_index(v: Var) -> usize {
    v.0
}

impl SolveReport {
    pub fn value(&self, v: Var) -> f64 {
        self.values.as_ref().map_or(0.0, |x| x[v.0])
    }
}

/// HiGHS's version, for the results' metadata.
pub fn highs_version() -> String {
    // SAFETY: returns a pointer to a static NUL-terminated string.
    unsafe { CStr::from_ptr(highs_sys::Highs_version()) }.to_string_lossy().into_owned()
}

impl Default for Mip {
    fn default() -> Self {
        Self::new()
    }
}

impl Mip {
    pub fn new() -> Mip {
        Mip { problem: highs::RowProblem::default(), cols: Vec::new() }
    }

    pub fn num_vars(&self) -> usize {
        self.cols.len()
    }

    /// A 0/1 variable with objective coefficient `cost`.
    pub fn binary(&mut self, cost: f64) -> Var {
        self.cols.push(self.problem.add_integer_column(cost, 0.0..=1.0));
        Var(self.cols.len() - 1)
    }

    /// A continuous variable in `[lo, hi]` (use infinities for no bound).
    pub fn continuous(&mut self, cost: f64, lo: f64, hi: f64) -> Var {
        self.cols.push(self.problem.add_column(cost, lo..=hi));
        Var(self.cols.len() - 1)
    }

    /// `lo <= Σ coef·var <= hi`. A variable may appear several times; HiGHS takes each column
    /// once per row, so repeated terms are summed here.
    pub fn row(&mut self, lo: f64, hi: f64, terms: &[(Var, f64)]) {
        let mut t: Vec<(usize, f64)> = terms.iter().map(|&(v, c)| (v.0, c)).collect();
        t.sort_unstable_by_key(|&(v, _)| v);
        let mut merged: Vec<(usize, f64)> = Vec::with_capacity(t.len());
        for (v, c) in t {
            match merged.last_mut() {
                Some((last, sum)) if *last == v => *sum += c,
                _ => merged.push((v, c)),
            }
        }
        self.problem.add_row(lo..=hi, merged.into_iter().map(|(v, c)| (self.cols[v], c)));
    }

    /// Solves; `start` (one value per variable) is passed as a MIP start.
    pub fn solve(self, opts: &SolveOptions, start: Option<&[f64]>) -> SolveReport {
        let begin = Instant::now();
        let fail = |raw: String| SolveReport {
            status: SolveStatus::Other,
            raw_status: raw,
            objective: None,
            bound: None,
            gap: None,
            nodes: None,
            seconds: begin.elapsed().as_secs_f64(),
            values: None,
        };
        let mut model = match self.problem.try_optimise(highs::Sense::Minimise) {
            Ok(m) => m,
            Err(e) => return fail(format!("model rejected: {e:?}")),
        };
        model.make_quiet();
        model.set_option("time_limit", opts.time_limit.max(0.0));
        model.set_option("mip_rel_gap", opts.mip_gap);
        model.set_option("random_seed", (opts.seed % i32::MAX as u64) as i32);
        model.set_option("threads", opts.threads.max(1) as i32);
        for (k, v) in &opts.extra {
            // HiGHS options are typed: the first type the value parses as and HiGHS accepts.
            let ok = match v.as_str() {
                "true" | "false" => model.try_set_option(k.as_str(), v == "true").is_ok(),
                _ => {
                    v.parse::<i32>().is_ok_and(|x| model.try_set_option(k.as_str(), x).is_ok())
                        || v.parse::<f64>().is_ok_and(|x| model.try_set_option(k.as_str(), x).is_ok())
                        || model.try_set_option(k.as_str(), v.as_str()).is_ok()
                }
            };
            if !ok {
                return fail(format!("HiGHS rejected the option {k}={v}"));
            }
        }
        if let Some(s) = start {
            if model.try_set_solution(Some(s), None, None, None).is_err() {
                return fail("MIP start of the wrong length".into());
            }
        }
        let solved = match model.try_solve() {
            Ok(s) => s,
            Err(e) => return fail(format!("solve failed: {e:?}")),
        };
        let seconds = begin.elapsed().as_secs_f64();
        let raw = solved.status();
        let status = match raw {
            highs::HighsModelStatus::Optimal => SolveStatus::Optimal,
            highs::HighsModelStatus::Infeasible => SolveStatus::Infeasible,
            highs::HighsModelStatus::ReachedTimeLimit => SolveStatus::TimeLimit,
            _ => SolveStatus::Other,
        };
        let has_solution = solved.primal_solution_status() == highs::HighsSolutionStatus::Feasible;
        let finite = |x: f64| x.is_finite().then_some(x);
        let bound = solved.double_info_value(c"mip_dual_bound").ok().and_then(finite);
        let objective = has_solution.then(|| solved.objective_value());
        SolveReport {
            status,
            raw_status: format!("{raw:?}"),
            objective,
            bound,
            gap: objective.and(finite(solved.mip_gap())),
            nodes: node_count(solved.as_ptr()),
            seconds,
            values: has_solution.then(|| solved.get_solution().columns().to_vec()),
        }
    }
}

/// `mip_node_count` is a 64-bit info value, which the `highs` crate cannot read.
fn node_count(highs: *const c_void) -> Option<i64> {
    let name = CString::new("mip_node_count").ok()?;
    let mut value: i64 = -1;
    // SAFETY: `highs` is a live solved model; the name is NUL-terminated; HiGHS writes one i64.
    let status = unsafe { highs_sys::Highs_getInt64InfoValue(highs as *mut c_void, name.as_ptr(), &mut value) };
    (status == 0).then_some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// min x + y, x + y >= 1.5, x, y binary: optimum 2, proven.
    #[test]
    fn small_mip() {
        let mut m = Mip::new();
        let x = m.binary(1.0);
        let y = m.binary(1.0);
        m.row(1.5, f64::INFINITY, &[(x, 1.0), (y, 1.0)]);
        let r = m.solve(&SolveOptions { time_limit: 10.0, mip_gap: 0.0, threads: 1, seed: 0, extra: vec![] }, None);
        assert_eq!(r.status, SolveStatus::Optimal);
        assert_eq!(r.objective, Some(2.0));
        assert_eq!(r.bound, Some(2.0));
        assert_eq!(r.value(x) + r.value(y), 2.0);
        assert!(r.nodes.is_some());
    }

    /// Extra options reach HiGHS typed (a string, an integer, a float); an unknown one fails
    /// the solve with its name instead of being ignored.
    #[test]
    fn extra_options_are_applied_or_refused() {
        let build = || {
            let mut m = Mip::new();
            let x = m.binary(1.0);
            let y = m.binary(1.0);
            m.row(1.5, f64::INFINITY, &[(x, 1.0), (y, 1.0)]);
            m
        };
        let opts = |extra: &[(&str, &str)]| SolveOptions {
            time_limit: 10.0,
            mip_gap: 0.0,
            threads: 1,
            seed: 0,
            extra: extra.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        };
        let ok = build()
            .solve(&opts(&[("presolve", "off"), ("mip_max_nodes", "1000"), ("mip_heuristic_effort", "0.3")]), None);
        assert_eq!((ok.status, ok.objective), (SolveStatus::Optimal, Some(2.0)));
        let bad = build().solve(&opts(&[("no_such_option", "1")]), None);
        assert_eq!(bad.status, SolveStatus::Other);
        assert!(bad.raw_status.contains("no_such_option"), "{}", bad.raw_status);
    }
}
