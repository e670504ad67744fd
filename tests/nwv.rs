//! The weight-packing family against independent computations: brute force over every
//! injective map on small instances, the reference implementation's own packing and the
//! numbers its data's description records, closed forms (identical tasks, no sharing), and
//! the checker's rejection of tampered claims.

use placebench::multitenant::nwv::check::{check, Claim};
use placebench::multitenant::nwv::greedy::Greedy;
use placebench::multitenant::nwv::matchers::{
    pack, Dedup, Lap, MatchOptions, Matcher, Memory, NoSharing, Order, RandomMatch,
};
use placebench::multitenant::nwv::packing::{
    gather, loss_increase, page_cost, pair_cost, total_cost, virtual_weights, Packing,
};
use placebench::multitenant::nwv::task::{
    read_f32, read_network, reference_dir, synthetic, variants, Importance, Task, REFERENCE,
};
use proptest::prelude::*;

fn opts() -> MatchOptions {
    MatchOptions { seed: 7, faithful: false, lap_max: 4096 }
}

fn claim_of(tasks: &[Task], pk: Packing) -> Claim {
    let virt = virtual_weights(tasks, &pk);
    Claim {
        cost: total_cost(tasks, &pk),
        loss_increase: loss_increase(tasks, &pk, &virt),
        virtual_weights: virt,
        padded: false,
        packing: pk,
    }
}

/// The reference networks, or `None` (the test then skips with one line).
fn reference() -> Option<Vec<Task>> {
    let dir = reference_dir();
    if !dir.join("mnist.json").exists() {
        eprintln!("skipped: the reference networks are not in {}", dir.display());
        return None;
    }
    Some(REFERENCE.iter().map(|n| read_network(&dir.join(format!("{n}.json")), Importance::Fisher).unwrap()).collect())
}

/// Task `i`'s least cost over every injective map of its pages onto `v` pages, given the
/// others' tables.
fn brute_force(tasks: &[Task], s: usize, v: usize, tables: &[Vec<usize>], i: usize) -> f64 {
    let occ: Vec<Vec<(usize, usize)>> = (0..v)
        .map(|x| {
            tables
                .iter()
                .enumerate()
                .flat_map(|(j, t)| t.iter().enumerate().filter(move |e| *e.1 == x).map(move |(p, _)| (j, p)))
                .collect()
        })
        .collect();
    let n = tasks[i].pages(s);
    fn go(p: usize, n: usize, used: &mut Vec<bool>, c: &dyn Fn(usize, usize) -> f64) -> f64 {
        if p == n {
            return 0.0;
        }
        let mut best = f64::INFINITY;
        for x in 0..used.len() {
            if !used[x] {
                used[x] = true;
                best = best.min(c(p, x) + go(p + 1, n, used, c));
                used[x] = false;
            }
        }
        best
    }
    go(0, n, &mut vec![false; v], &|p, x| page_cost(tasks, s, i, p, &occ[x]))
}

fn small_task(name: &str, w: Vec<f32>, masked: Vec<bool>) -> Task {
    let importance = w.iter().zip(&masked).map(|(x, &m)| if m { 0.0 } else { x * x + 0.1 }).collect();
    Task { name: name.into(), weights: w, importance, source: "test".into() }
}

prop_compose! {
    fn instance()(s in 1usize..4, pages in prop::collection::vec(1usize..5, 2..4), extra in 0usize..3, seed in 0u64..1000)
        -> (Vec<Task>, usize, usize) {
        // The last task has at most 7 pages and the memory at most 8, for brute force.
        let v = (*pages.iter().max().unwrap() + extra).min(8);
        let tasks = pages.iter().enumerate().map(|(i, &p)| {
            let t = synthetic(&format!("t{i}"), p.min(v) * s - usize::from(s > 1 && i % 2 == 1), seed + i as u64);
            small_task(&t.name, t.weights.clone(), t.weights.iter().map(|x| x.abs() < 0.02).collect())
        }).collect();
        (tasks, s, v)
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// The assignment is exact per step: it equals brute force over every injective map of
    /// the last task's pages, and no other matcher does better from the same earlier packing.
    #[test]
    fn lap_equals_brute_force_and_beats_the_others((tasks, s, v) in instance()) {
        let last = tasks.len() - 1;
        let before = pack(&Lap, &tasks[..last], s, v, Order::Given, 0, &opts());
        let mem = |tables: &[Vec<usize>]| Memory {
            tasks: &tasks, page_size: s, virtual_pages: v,
            tables: tables.iter().cloned().map(Some).chain(std::iter::once(None)).collect(),
        };
        let step_cost = |m: &dyn Matcher| {
            let t = m.place(&mem(&before.tables), last, &opts());
            let mut tables = before.tables.clone();
            tables.push(t);
            let pk = Packing { page_size: s, virtual_pages: v, tables };
            let r = check(&tasks, &claim_of(&tasks, pk.clone()));
            prop_assert!(r.violations.is_empty(), "{:?}", r.violations);
            Ok(total_cost(&tasks, &pk))
        };
        let base = total_cost(&tasks[..last], &before);
        let lap = step_cost(&Lap)?;
        let exact = brute_force(&tasks, s, v, &before.tables, last);
        prop_assert!((lap - base - exact).abs() <= 1e-9 * exact.max(1.0), "lap {} brute force {}", lap - base, exact);
        for m in [&Greedy as &dyn Matcher, &RandomMatch] {
            prop_assert!(lap <= step_cost(m)? + 1e-9, "{} beat the assignment", m.name());
        }
    }

    /// Re-matching passes never raise the cost, for the exact and the greedy matcher.
    #[test]
    fn passes_never_increase_cost((tasks, s, v) in instance(), passes in 1usize..3) {
        for m in [&Lap as &dyn Matcher, &Greedy, &RandomMatch] {
            let once = total_cost(&tasks, &pack(m, &tasks, s, v, Order::Given, 0, &opts()));
            let more = total_cost(&tasks, &pack(m, &tasks, s, v, Order::Given, passes, &opts()));
            prop_assert!(more <= once + 1e-9, "{}: {once} -> {more}", m.name());
        }
    }

    /// The pair cost is symmetric and ignores every position where either importance is 0.
    #[test]
    fn the_cost_is_symmetric_and_masked(w in prop::collection::vec(-1f32..1.0, 1..20), u in prop::collection::vec(-1f32..1.0, 1..20), junk in -5f32..5.0) {
        let n = w.len().min(u.len());
        let f: Vec<f32> = (0..n).map(|k| if k % 3 == 0 { 0.0 } else { 1.0 + k as f32 }).collect();
        let g: Vec<f32> = (0..n).map(|k| if k % 4 == 1 { 0.0 } else { 0.5 }).collect();
        let (w, u) = (&w[..n], &u[..n]);
        prop_assert_eq!(pair_cost(w, &f, u, &g), pair_cost(u, &g, w, &f));
        let mut w2 = w.to_vec();
        for k in (0..n).filter(|k| f[*k] == 0.0 || g[*k] == 0.0) {
            w2[k] = junk;
        }
        prop_assert_eq!(pair_cost(w, &f, u, &g), pair_cost(&w2, &f, u, &g));
    }
}

/// Identical tasks share every page at no cost, each page on its twin's page.
#[test]
fn identical_tasks_cost_nothing_and_map_page_to_twin() {
    let a = synthetic("a", 950, 3);
    let mut b = a.clone();
    b.name = "b".into();
    let tasks = vec![a, b];
    for m in [&Lap as &dyn Matcher, &Dedup] {
        let pk = pack(m, &tasks, 100, 10, Order::Given, 0, &opts());
        assert_eq!(total_cost(&tasks, &pk), 0.0, "{}", m.name());
        assert_eq!(pk.tables[0], pk.tables[1], "{}", m.name());
        assert_eq!(pk.virtual_pages, 10, "{}", m.name());
    }
}

/// In variants of a base, every unperturbed page lands on its base page, and deduplication
/// needs one page more for each perturbed one.
#[test]
fn variants_share_their_unperturbed_pages_with_the_base() {
    let base = synthetic("base", 5000, 11);
    let (copies, touched) = variants(&base, 3, 5, 100, 11);
    let mut tasks = vec![base];
    tasks.extend(copies);
    let pk = pack(&Lap, &tasks, 100, 50, Order::Given, 0, &opts());
    for (c, changed) in touched.iter().enumerate() {
        for p in (0..50).filter(|p| !changed.contains(p)) {
            assert_eq!(pk.tables[c + 1][p], pk.tables[0][p], "copy {} page {p}", c + 1);
        }
    }
    let dd = pack(&Dedup, &tasks, 100, 50, Order::Given, 0, &opts());
    assert_eq!(dd.virtual_pages, 50 + touched.iter().map(Vec::len).sum::<usize>());
}

/// The virtual weights minimise the importance-weighted penalty element by element; with a
/// page for every task page nothing is lost and the gather gives every task back bit for bit.
#[test]
fn virtual_weights_minimise_the_penalty_and_no_sharing_loses_nothing() {
    let tasks: Vec<Task> = (0..3).map(|i| synthetic(&format!("t{i}"), 730 + 40 * i, i as u64)).collect();
    let pk = pack(&RandomMatch, &tasks, 100, 9, Order::Given, 0, &opts());
    let virt = virtual_weights(&tasks, &pk);
    let occ = pk.occupancy();
    for y in (0..virt.len()).step_by(37) {
        let stored: Vec<(f64, f64)> = occ[y / 100]
            .iter()
            .filter(|&&(i, p)| p * 100 + y % 100 < tasks[i].len())
            .map(|&(i, p)| (tasks[i].weights[p * 100 + y % 100] as f64, tasks[i].importance[p * 100 + y % 100] as f64))
            .collect();
        let penalty = |x: f64| stored.iter().map(|(w, f)| f * (x - w).powi(2)).sum::<f64>();
        let at = penalty(virt[y] as f64);
        for eps in [1e-3, -1e-3] {
            assert!(penalty(virt[y] as f64 + eps) >= at, "position {y}");
        }
    }
    let ns = pack(&NoSharing, &tasks, 100, 0, Order::Given, 0, &opts());
    let v = virtual_weights(&tasks, &ns);
    assert!(loss_increase(&tasks, &ns, &v).iter().all(|&d| d == 0.0));
    for (t, table) in tasks.iter().zip(&ns.tables) {
        let back = gather(&v, table, 100, t.len());
        assert!(back.iter().zip(&t.weights).all(|(a, b)| a.to_bits() == b.to_bits()), "{}", t.name);
    }
}

/// The checker rejects tables that are not injective or out of range, and claims of cost,
/// loss increase or virtual weights that the stored weights do not give.
#[test]
fn the_checker_rejects_tampered_claims() {
    let tasks: Vec<Task> = (0..2).map(|i| synthetic(&format!("t{i}"), 450, i as u64)).collect();
    let good = claim_of(&tasks, pack(&Lap, &tasks, 100, 5, Order::Given, 0, &opts()));
    assert!(check(&tasks, &good).violations.is_empty());
    let mut c = good.clone();
    c.packing.tables[1][0] = c.packing.tables[1][1];
    assert!(check(&tasks, &c).violations.iter().any(|v| v.contains("two pages")));
    let mut c = good.clone();
    c.packing.tables[0][2] = 5;
    assert!(check(&tasks, &c).violations.iter().any(|v| v.contains("beyond")));
    let mut c = good.clone();
    c.cost *= 0.9;
    assert!(check(&tasks, &c).violations.iter().any(|v| v.contains("claimed cost")));
    let mut c = good.clone();
    c.loss_increase[1] += 1.0;
    assert!(check(&tasks, &c).violations.iter().any(|v| v.contains("loss increase")));
    let mut c = good;
    c.virtual_weights[3] += 0.5;
    assert!(check(&tasks, &c).violations.iter().any(|v| v.contains("virtual weight 3")));
}

/// The reference's arithmetic: 458/656/665/455/455 pages of 100, 4.04 on 665 pages.
#[test]
fn the_reference_arithmetic() {
    let Some(tasks) = reference() else { return };
    let pages: Vec<usize> = tasks.iter().map(|t| t.pages(100)).collect();
    assert_eq!(pages, vec![458, 656, 665, 455, 455]);
    let pk = pack(&Greedy, &tasks, 100, 665, Order::Given, 0, &opts());
    assert!((pk.ratio(&tasks) - 268_692.0 / 66_500.0).abs() < 1e-12);
    assert!((pk.ratio(&tasks) - 4.04).abs() < 0.005);
}

/// The reference's own packing, re-checked: its page tables pass the checker, share pages as
/// its log says (636 pages held by four networks, 29 by five), cost what the data's
/// description computed independently (102.99597 and the ten pair costs, in float64), and
/// the last network trained gathers back exactly its stored weights.
#[test]
fn the_reference_packing_rechecked() {
    let Some(tasks) = reference() else { return };
    let dir = reference_dir().join("reference");
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join("page_tables.json")).unwrap()).unwrap();
    let tables: Vec<Vec<usize>> = doc["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| serde_json::from_value(t["page_table"].clone()).unwrap())
        .collect();
    let pk = Packing { page_size: 100, virtual_pages: 665, tables };
    let claim = claim_of(&tasks, pk.clone());
    let rep = check(&tasks, &claim);
    assert!(rep.violations.is_empty(), "{:?}", rep.violations);
    assert_eq!(rep.levels, vec![0, 0, 0, 0, 636, 29]);
    let recorded = doc["cost_with_network_weights_and_fishers"]["cumulative_after_adding"]["svhn"].as_f64().unwrap();
    assert!((rep.cost - recorded).abs() < 1e-6 * recorded, "{} vs {recorded}", rep.cost);
    let pairs = placebench::multitenant::nwv::packing::pair_costs(&tasks, &pk);
    for (key, x) in doc["cost_with_network_weights_and_fishers"]["pairs"].as_object().unwrap() {
        let (a, b) = key.split_once(',').unwrap();
        let (i, j) = (REFERENCE.iter().position(|n| *n == a).unwrap(), REFERENCE.iter().position(|n| *n == b).unwrap());
        assert!((pairs[i][j] - x.as_f64().unwrap()).abs() < 1e-6 * x.as_f64().unwrap().max(1e-3), "{key}");
    }
    let virt = read_f32(&dir.join("virtual_weight_page.f32"), 66_500, "virtual_weight_page").unwrap();
    let svhn = read_f32(&dir.join("svhn.virtualized_weights.f32"), tasks[4].len(), "svhn").unwrap();
    let back = gather(&virt, &pk.tables[4], 100, tasks[4].len());
    assert!(back.iter().zip(&svhn).all(|(a, b)| a.to_bits() == b.to_bits()));
}

/// Our greedy matcher places as many pages on each occupancy level as the reference's log
/// records (that part of its matching is deterministic), and the assignment costs no more
/// than the greedy or random matchers from the same earlier packing, on every step.
#[test]
fn the_reference_levels_and_the_matchers_order_on_real_networks() {
    let Some(tasks) = reference() else { return };
    let pk = pack(&Greedy, &tasks, 100, 665, Order::Given, 0, &opts());
    let want: [&[(usize, usize)]; 4] =
        [&[(0, 207), (1, 449)], &[(1, 216), (2, 449)], &[(2, 216), (3, 239)], &[(3, 426), (4, 29)]];
    for (k, want) in want.iter().enumerate() {
        let i = k + 1;
        let mut per_level = std::collections::BTreeMap::new();
        for &v in &pk.tables[i] {
            let below = (0..i).filter(|&j| pk.tables[j].contains(&v)).count();
            *per_level.entry(below).or_insert(0) += 1;
        }
        assert_eq!(per_level.into_iter().collect::<Vec<_>>(), want.to_vec(), "{}", tasks[i].name);
    }
    for i in 1..tasks.len() {
        let before = pack(&Greedy, &tasks[..i], 100, 665, Order::Given, 0, &opts());
        let step = |m: &dyn Matcher| {
            let mut tables: Vec<Option<Vec<usize>>> = before.tables.iter().cloned().map(Some).collect();
            tables.resize(tasks.len(), None);
            let mem = Memory { tasks: &tasks, page_size: 100, virtual_pages: 665, tables };
            let t = m.place(&mem, i, &opts());
            let mut all = before.tables.clone();
            all.push(t);
            total_cost(&tasks[..=i], &Packing { page_size: 100, virtual_pages: 665, tables: all })
        };
        let lap = step(&Lap);
        assert!(lap <= step(&Greedy) + 1e-9 && lap <= step(&RandomMatch) + 1e-9, "{}", tasks[i].name);
    }
}

/// `--faithful` gives a task that fills its last page exactly a whole extra page, as the
/// reference does, and the checker accepts that only from a packing that declares it;
/// `--order size-desc` adds the largest task first, onto the identity.
#[test]
fn faithful_padding_and_order() {
    let tasks = vec![synthetic("a", 300, 1), synthetic("b", 450, 2)];
    let f = MatchOptions { faithful: true, ..opts() };
    let pk = pack(&Greedy, &tasks, 100, 5, Order::Given, 0, &f);
    assert_eq!(pk.tables[0].len(), 4, "300 weights fill three pages: the reference pads a fourth");
    assert_eq!(pk.tables[1].len(), 5);
    let mut claim = claim_of(&tasks, pk);
    claim.padded = true;
    assert!(check(&tasks, &claim).violations.is_empty(), "{:?}", check(&tasks, &claim).violations);
    claim.padded = false;
    assert!(check(&tasks, &claim).violations.iter().any(|v| v.contains("pages in its table")));
    let pk = pack(&Lap, &tasks, 100, 5, Order::SizeDesc, 0, &opts());
    assert_eq!(pk.tables[1], vec![0, 1, 2, 3, 4]);
    assert_eq!(pk.tables[0].len(), 3);
}

/// `--normalise` divides each task's importance by its largest: the largest becomes 1, the
/// order of importances and every masked position stay, and the cost scales accordingly.
#[test]
fn normalised_importance() {
    let mut t = synthetic("a", 500, 4);
    t.importance[7] = 0.0;
    let top = t.importance.iter().copied().fold(0.0f32, f32::max);
    let n = t.clone().normalised();
    assert_eq!(n.importance.iter().copied().fold(0.0f32, f32::max), 1.0);
    assert_eq!(n.importance[7], 0.0);
    for (a, b) in t.importance.iter().zip(&n.importance) {
        assert!((a / top - b).abs() <= 1e-6 * b.abs().max(1e-6));
    }
    let u = synthetic("b", 500, 5);
    let (one, two) = (
        pair_cost(&t.weights, &t.importance, &u.weights, &t.importance),
        pair_cost(&n.weights, &n.importance, &u.weights, &n.importance),
    );
    assert!((one / top as f64 - two).abs() <= 1e-5 * two);
}
