//! `scotch`: k-way graph partitioning of the class graph with the Scotch library,
//! called in-process instead of through a `gpart` binary.
//!
//! Vertex weight is a class's accelerator time, edge weight the communication between two
//! classes, both scaled by 1e6 to integers as the reference does. Scotch balances vertex
//! weights and minimises the cut; it sees neither memory, contiguity nor CPUs, so its split is
//! scored as it is and may be infeasible. Differences from the reference: vertices are numbered
//! densely (the reference's labels near 2^31 made `gpart` allocate about 8 GB); weights are
//! at least 1, since Scotch treats a zero-weight vertex as free to put anywhere; and the scale
//! drops below 1e6 where the summed weights would not fit Scotch's 32-bit integers (large
//! operator graphs), since Scotch's sums then wrap around and its partition is garbage.

use crate::algorithms::atoms::{build_atoms, AtomOptions};
use crate::algorithms::{Algorithm, Claim, Objective, Outcome, RunOptions};
use crate::error::{Error, Result};
use crate::placement::{Device, Placement};
use crate::workload::Workload;
use scotch_sys as s;
use std::collections::BTreeMap;
use std::mem::MaybeUninit;
use std::sync::Mutex;

/// libscotch keeps some state in globals: one call at a time.
static SCOTCH: Mutex<()> = Mutex::new(());

const SCALE: f64 = 1e6;
/// The most either summed weight may reach: half of Scotch's integer range, as headroom for
/// the partial sums it forms while refining.
const SUM_LIMIT: f64 = (1u64 << 30) as f64;

pub struct Scotch;

impl Algorithm for Scotch {
    fn name(&self) -> &'static str {
        "scotch"
    }

    fn objective(&self) -> Objective {
        Objective::Throughput
    }

    fn summary(&self) -> &'static str {
        "Scotch k-way partition of the class graph (balanced compute, least cut)"
    }

    fn applicable(&self, w: &Workload, _opts: &RunOptions) -> Result<(), crate::family::NotApplicable> {
        if w.max_accs == 0 {
            return Err("the workload has no accelerator (maxFPGAs = 0)".into());
        }
        if let Some(v) = w.nodes.iter().find(|v| !v.supported_on_acc) {
            return Err(format!("node {} is not supported on accelerators and Scotch uses no CPU", v.id).into());
        }
        Ok(())
    }

    fn run(&self, w: &Workload, opts: &RunOptions) -> Result<Outcome> {
        let atoms = build_atoms(w, AtomOptions::default());
        let n = atoms.len();
        // Per ordered pair of classes (A, B): the cost of every distinct node of A that sends
        // into B, added to both directions.
        let mut weight: BTreeMap<(usize, usize), f64> = BTreeMap::new();
        for u in 0..w.len() {
            let a = atoms.atom_of[u];
            let mut targets: Vec<usize> = w.succ[u].iter().map(|&x| atoms.atom_of[x]).filter(|&b| b != a).collect();
            targets.sort_unstable();
            targets.dedup();
            for b in targets {
                *weight.entry((a, b)).or_default() += w.out_cost[u];
                *weight.entry((b, a)).or_default() += w.out_cost[u];
            }
        }
        let scale = weight_scale(atoms.acc.iter().sum(), weight.values().sum());
        let to_int = |x: f64| ((x * scale) as s::SCOTCH_Num).max(1);
        let mut verttab = Vec::with_capacity(n + 1);
        let mut edgetab = Vec::new();
        let mut edlotab = Vec::new();
        let mut entries = weight.iter().peekable();
        for a in 0..n {
            verttab.push(edgetab.len() as s::SCOTCH_Num);
            while let Some(((_, b), wt)) = entries.next_if(|((x, _), _)| *x == a) {
                edgetab.push(*b as s::SCOTCH_Num);
                edlotab.push(to_int(*wt));
            }
        }
        verttab.push(edgetab.len() as s::SCOTCH_Num);
        let velotab: Vec<s::SCOTCH_Num> = atoms.acc.iter().map(|&x| to_int(x)).collect();
        let graph = ClassGraph { verttab, velotab, edgetab, edlotab };
        let parttab = {
            let _guard = SCOTCH.lock().unwrap_or_else(|p| p.into_inner());
            map(&graph, w.max_accs, opts.seed)?
        };
        let device = (0..w.len()).map(|v| Device::Acc(parttab[atoms.atom_of[v]] as usize)).collect();
        Ok(Outcome::found(Placement { device }, None, Claim::Feasible))
    }
}

/// The factor from times to Scotch's integer weights: 1e6, or less where a sum would overflow.
fn weight_scale(vertex_sum: f64, edge_sum: f64) -> f64 {
    let largest = vertex_sum.max(edge_sum);
    if largest * SCALE > SUM_LIMIT {
        SUM_LIMIT / largest
    } else {
        SCALE
    }
}

/// A graph in Scotch's compact arrays (base 0, arcs in both directions).
struct ClassGraph {
    verttab: Vec<s::SCOTCH_Num>,
    velotab: Vec<s::SCOTCH_Num>,
    edgetab: Vec<s::SCOTCH_Num>,
    edlotab: Vec<s::SCOTCH_Num>,
}

/// Maps `g` onto `parts` identical devices in a context of Scotch's own: one thread, the
/// deterministic option on and its generator seeded with `seed`, so that the partition
/// depends on the graph and the seed only (Scotch's default context may use every core,
/// and its threaded refinement then varies from run to run).
fn map(g: &ClassGraph, parts: usize, seed: u64) -> Result<Vec<s::SCOTCH_Num>> {
    let fail = |what: &str| Error::Algorithm(format!("Scotch: {what} failed"));
    let vertnbr = g.velotab.len() as s::SCOTCH_Num;
    let mut parttab = vec![0 as s::SCOTCH_Num; g.velotab.len()];
    // Declared in this order so that drops run backwards: the bound graph before the graph it
    // views, both before their context.
    let mut context = Owned::<s::SCOTCH_Context>::init(s::SCOTCH_contextInit, s::SCOTCH_contextExit)
        .ok_or_else(|| fail("context init"))?;
    let mut graph =
        Owned::<s::SCOTCH_Graph>::init(s::SCOTCH_graphInit, s::SCOTCH_graphExit).ok_or_else(|| fail("graph init"))?;
    let mut bound =
        Owned::<s::SCOTCH_Graph>::init(s::SCOTCH_graphInit, s::SCOTCH_graphExit).ok_or_else(|| fail("graph init"))?;
    let mut arch = Owned::<s::SCOTCH_Arch>::init(s::SCOTCH_archInit, s::SCOTCH_archExit)
        .ok_or_else(|| fail("architecture init"))?;
    let mut strat = Owned::<s::SCOTCH_Strat>::init(s::SCOTCH_stratInit, s::SCOTCH_stratExit)
        .ok_or_else(|| fail("strategy init"))?;
    // SAFETY: every structure was initialised above and outlives the calls; the arrays are
    // Scotch's compact format with `vertnbr + 1` vertex indices, borrowed for longer than
    // `graph` lives.
    unsafe {
        let c = context.ptr();
        check(s::SCOTCH_contextOptionSetNum(c, s::SCOTCH_OPTIONNUMDETERMINISTIC as i32, 1), "deterministic option")?;
        check(s::SCOTCH_contextOptionSetNum(c, s::SCOTCH_OPTIONNUMRANDOMFIXEDSEED as i32, 1), "fixed-seed option")?;
        s::SCOTCH_contextRandomSeed(c, seed as s::SCOTCH_Num);
        check(s::SCOTCH_contextThreadSpawn(c, 1, std::ptr::null()), "thread spawn")?;
        check(
            s::SCOTCH_graphBuild(
                graph.ptr(),
                0,
                vertnbr,
                g.verttab.as_ptr(),
                std::ptr::null(),
                g.velotab.as_ptr(),
                std::ptr::null(),
                g.edgetab.len() as s::SCOTCH_Num,
                g.edgetab.as_ptr(),
                g.edlotab.as_ptr(),
            ),
            "graph build",
        )?;
        check(s::SCOTCH_contextBindGraph(c, graph.ptr(), bound.ptr()), "context binding")?;
        check(s::SCOTCH_archCmplt(arch.ptr(), parts as s::SCOTCH_Num), "architecture")?;
        check(s::SCOTCH_graphMap(bound.ptr(), arch.ptr(), strat.ptr(), parttab.as_mut_ptr()), "mapping")?;
    }
    Ok(parttab)
}

fn check(rc: i32, what: &str) -> Result<()> {
    if rc == 0 {
        Ok(())
    } else {
        Err(Error::Algorithm(format!("Scotch: {what} failed (code {rc})")))
    }
}

/// A Scotch structure with its init and exit functions, freed on drop.
struct Owned<T> {
    inner: Box<MaybeUninit<T>>,
    exit: unsafe extern "C" fn(*mut T),
}

impl<T> Owned<T> {
    fn init(init: unsafe extern "C" fn(*mut T) -> i32, exit: unsafe extern "C" fn(*mut T)) -> Option<Self> {
        let mut inner = Box::new(MaybeUninit::<T>::uninit());
        // SAFETY: Scotch's init functions fill the structure they are given.
        (unsafe { init(inner.as_mut_ptr()) } == 0).then_some(Owned { inner, exit })
    }

    fn ptr(&mut self) -> *mut T {
        self.inner.as_mut_ptr()
    }
}

impl<T> Drop for Owned<T> {
    fn drop(&mut self) {
        // SAFETY: initialised in `init`, freed once here.
        unsafe { (self.exit)(self.inner.as_mut_ptr()) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_that_would_overflow_are_scaled_down() {
        assert_eq!(weight_scale(10.0, 20.0), SCALE);
        let scale = weight_scale(1.0, 30_000.0);
        assert!(scale < SCALE && 30_000.0 * scale <= SUM_LIMIT + 1.0);
    }
}
