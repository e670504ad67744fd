//! The contracted class graph that the DP and the graph baselines work on: nodes
//! that must share a device become one atom, and the atoms' forward edges form a DAG.
//!
//! Steps, each optional one behind [`AtomOptions`]:
//! 1. co-location classes become atoms (a backward node goes with its forward partner);
//! 2. backward-only ("orphan") classes are ordered by mirroring their backward edges;
//! 3. atoms on a cycle of the contracted forward graph are fused (they must share a device in
//!    any pipeline-ordered placement, so nothing is lost);
//! 4. `merge_trivial`: a zero-latency atom whose only neighbour is one other atom joins it
//!    (moving it there removes communication and adds no compute, so no load grows). Its size
//!    moves too, which can break a memory limit: [`Atoms::moved_size`] records how much moved,
//!    and [`Atoms::without_moved_sizes`] gives the relaxation the DP uses to certify that the
//!    merge cost nothing (the reference merges without any such check);
//! 5. `pipedream`: biconnected components of the forward atom graph, without the arcs out of
//!    zero-latency groups, are contracted;
//! 6. `linearize`: a topological order is chained with artificial edges.

use crate::workload::Workload;

/// Which contractions to apply beyond the co-location classes.
#[derive(Debug, Clone, Copy, Default)]
pub struct AtomOptions {
    pub merge_trivial: bool,
    pub pipedream: bool,
    pub linearize: bool,
}

/// Atoms in a topological order of their forward DAG.
#[derive(Debug, Clone)]
pub struct Atoms {
    pub atom_of: Vec<usize>,
    pub members: Vec<Vec<usize>>,
    pub succ: Vec<Vec<usize>>,
    pub pred: Vec<Vec<usize>>,
    pub cpu: Vec<f64>,
    pub acc: Vec<f64>,
    pub size: Vec<f64>,
    pub supported: Vec<bool>,
    /// Atoms with no forward member (placed by mirrored backward edges).
    pub orphans: usize,
    pub trivial_merges: usize,
    /// Per atom, the size of the trivial groups merged into it.
    pub moved: Vec<f64>,
}

impl Atoms {
    pub fn len(&self) -> usize {
        self.members.len()
    }

    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// Total size that trivial merges moved onto other atoms.
    pub fn moved_size(&self) -> f64 {
        self.moved.iter().sum()
    }

    /// The same atoms with the moved sizes taken off: every placement of the unmerged workload
    /// becomes, after moving each trivial group next to its neighbour, a placement of these
    /// atoms that fits memory and has no larger max-load. So the DP on this relaxation bounds
    /// the unmerged optimum from below.
    pub fn without_moved_sizes(&self) -> Atoms {
        let mut relaxed = self.clone();
        for (s, m) in relaxed.size.iter_mut().zip(&self.moved) {
            *s -= m;
        }
        relaxed
    }
}

struct UnionFind(Vec<usize>);

impl UnionFind {
    fn find(&mut self, x: usize) -> usize {
        let mut r = x;
        while self.0[r] != r {
            r = self.0[r];
        }
        let mut y = x;
        while self.0[y] != r {
            let next = self.0[y];
            self.0[y] = r;
            y = next;
        }
        r
    }

    /// Joins the sets; returns false if they were one already.
    fn union(&mut self, a: usize, b: usize) -> bool {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra == rb {
            return false;
        }
        // Smaller root wins so that labels do not depend on argument order.
        let (lo, hi) = if ra < rb { (ra, rb) } else { (rb, ra) };
        self.0[hi] = lo;
        true
    }
}

/// Current grouping: dense label per node, number of groups, and the forward group edges
/// (class edges plus mirrored orphan edges), deduplicated.
struct Grouping {
    label: Vec<usize>,
    count: usize,
    has_forward: Vec<bool>,
    edges: Vec<(usize, usize)>,
}

fn grouping(w: &Workload, uf: &mut UnionFind) -> Grouping {
    let n = w.len();
    let mut dense = vec![usize::MAX; n];
    let mut label = vec![0; n];
    let mut count = 0;
    for (v, l) in label.iter_mut().enumerate() {
        let r = uf.find(v);
        if dense[r] == usize::MAX {
            dense[r] = count;
            count += 1;
        }
        *l = dense[r];
    }
    let mut has_forward = vec![false; count];
    for v in 0..n {
        if !w.nodes[v].backward {
            has_forward[label[v]] = true;
        }
    }
    let mut edges = Vec::new();
    for &(u, v) in &w.edges {
        let (a, b) = (label[u], label[v]);
        if a == b {
            continue;
        }
        let (fu, fv) = (!w.nodes[u].backward, !w.nodes[v].backward);
        if fu && fv {
            edges.push((a, b));
        } else if !fu && !fv && (!has_forward[a] || !has_forward[b]) {
            // Backward edges run against the forward order: mirror them.
            edges.push((b, a));
        }
    }
    edges.sort_unstable();
    edges.dedup();
    Grouping { label, count, has_forward, edges }
}

/// Fuses groups that lie on a common cycle until the group graph is a DAG.
fn fuse_cycles(w: &Workload, uf: &mut UnionFind) -> Grouping {
    loop {
        let g = grouping(w, uf);
        let mut pg = petgraph::graph::DiGraph::<(), ()>::with_capacity(g.count, g.edges.len());
        for _ in 0..g.count {
            pg.add_node(());
        }
        for &(a, b) in &g.edges {
            pg.add_edge(petgraph::graph::NodeIndex::new(a), petgraph::graph::NodeIndex::new(b), ());
        }
        let mut rep = vec![usize::MAX; g.count];
        let mut merged = false;
        for scc in petgraph::algo::kosaraju_scc(&pg).into_iter().filter(|s| s.len() > 1) {
            for ix in &scc {
                rep[ix.index()] = scc[0].index();
            }
            merged = true;
        }
        if !merged {
            return g;
        }
        let mut first_node = vec![usize::MAX; g.count];
        for v in 0..w.len() {
            if first_node[g.label[v]] == usize::MAX {
                first_node[g.label[v]] = v;
            }
        }
        for a in 0..g.count {
            if rep[a] != usize::MAX {
                uf.union(first_node[a], first_node[rep[a]]);
            }
        }
    }
}

/// Builds the atoms of a workload.
pub fn build_atoms(w: &Workload, opts: AtomOptions) -> Atoms {
    let n = w.len();
    let mut uf = UnionFind((0..n).collect());
    for members in &w.classes {
        for pair in members.windows(2) {
            uf.union(pair[0], pair[1]);
        }
    }
    let mut g = fuse_cycles(w, &mut uf);
    if opts.pipedream {
        // PipeDream ignores input layers (the reference lists their ids by hand):
        // arcs out of a group with no compute at all do not join biconnected components, or a
        // zero-cost input that feeds every layer (BERT's mask) would glue the network together.
        let mut busy = vec![false; g.count];
        for (v, node) in w.nodes.iter().enumerate() {
            busy[g.label[v]] |= node.cpu_latency > 0.0 || node.acc_latency > 0.0;
        }
        let arcs: Vec<(usize, usize)> = g.edges.iter().copied().filter(|&(a, _)| busy[a]).collect();
        for tails in biconnected_tails(g.count, &arcs) {
            let reps: Vec<usize> =
                tails.iter().map(|&a| (0..n).find(|&v| g.label[v] == a).expect("group has a node")).collect();
            for pair in reps.windows(2) {
                uf.union(pair[0], pair[1]);
            }
        }
        g = fuse_cycles(w, &mut uf);
    }
    let mut trivial_merges = 0;
    let mut moved_nodes = Vec::new();
    if opts.merge_trivial {
        while let Some((t, other)) = find_trivial(w, &g) {
            moved_nodes.extend((0..n).filter(|&v| g.label[v] == g.label[t]));
            uf.union(t, other);
            trivial_merges += 1;
            g = fuse_cycles(w, &mut uf);
        }
    }
    let mut atoms = finish(w, g, opts.linearize, trivial_merges);
    moved_nodes.sort_unstable();
    moved_nodes.dedup();
    for v in moved_nodes {
        atoms.moved[atoms.atom_of[v]] += w.nodes[v].size;
    }
    atoms
}

/// A zero-latency, supported group whose only neighbour (over all edges) is one other group;
/// returns a node of it and a node of that neighbour. Moving such a group next to its
/// neighbour removes communication and changes no compute (module doc, step 4).
fn find_trivial(w: &Workload, g: &Grouping) -> Option<(usize, usize)> {
    let mut zero = vec![true; g.count];
    for (v, node) in w.nodes.iter().enumerate() {
        zero[g.label[v]] &= node.cpu_latency == 0.0 && node.acc_latency == 0.0 && node.supported_on_acc;
    }
    const NONE: usize = usize::MAX;
    const MANY: usize = usize::MAX - 1;
    let mut neighbour = vec![NONE; g.count];
    let mut neighbour_node = vec![0; g.count];
    for &(u, v) in &w.edges {
        let (a, b) = (g.label[u], g.label[v]);
        if a == b {
            continue;
        }
        for (x, y, ny) in [(a, b, v), (b, a, u)] {
            neighbour[x] = match neighbour[x] {
                NONE => {
                    neighbour_node[x] = ny;
                    y
                }
                z if z == y => z,
                _ => MANY,
            };
        }
    }
    (0..g.count).find(|&a| zero[a] && neighbour[a] != NONE && neighbour[a] != MANY).map(|a| {
        let t = g.label.iter().position(|&l| l == a).expect("group has a node");
        (t, neighbour_node[a])
    })
}

/// The source endpoints of the arcs of each biconnected component of the undirected group
/// graph (PipeDream contracts each to one stage candidate).
fn biconnected_tails(count: usize, edges: &[(usize, usize)]) -> Vec<Vec<usize>> {
    let mut adj: Vec<Vec<(usize, usize)>> = vec![Vec::new(); count];
    for (e, &(a, b)) in edges.iter().enumerate() {
        adj[a].push((b, e));
        adj[b].push((a, e));
    }
    let mut disc = vec![usize::MAX; count];
    let mut low = vec![0; count];
    let mut time = 0;
    let mut edge_stack: Vec<usize> = Vec::new();
    let mut out = Vec::new();
    // Iterative Hopcroft–Tarjan: frames of (vertex, parent edge, next adjacency index).
    for root in 0..count {
        if disc[root] != usize::MAX {
            continue;
        }
        disc[root] = time;
        low[root] = time;
        time += 1;
        let mut stack = vec![(root, usize::MAX, 0usize)];
        while let Some(top) = stack.last_mut() {
            let (v, pe) = (top.0, top.1);
            if top.2 < adj[v].len() {
                let (x, e) = adj[v][top.2];
                top.2 += 1;
                if e == pe {
                    continue;
                }
                if disc[x] == usize::MAX {
                    edge_stack.push(e);
                    disc[x] = time;
                    low[x] = time;
                    time += 1;
                    stack.push((x, e, 0));
                } else if disc[x] < disc[v] {
                    edge_stack.push(e);
                    low[v] = low[v].min(disc[x]);
                }
            } else {
                stack.pop();
                if let Some(&(p, _, _)) = stack.last() {
                    low[p] = low[p].min(low[v]);
                    if low[v] >= disc[p] {
                        let mut tails = Vec::new();
                        while let Some(e) = edge_stack.pop() {
                            tails.push(edges[e].0);
                            if e == pe {
                                break;
                            }
                        }
                        tails.sort_unstable();
                        tails.dedup();
                        out.push(tails);
                    }
                }
            }
        }
    }
    out
}

/// Orders the groups topologically (smallest first node first) and computes atom totals.
fn finish(w: &Workload, g: Grouping, linearize: bool, trivial_merges: usize) -> Atoms {
    let k = g.count;
    let mut first = vec![usize::MAX; k];
    for v in 0..w.len() {
        first[g.label[v]] = first[g.label[v]].min(v);
    }
    let mut indeg = vec![0; k];
    let mut out = vec![Vec::new(); k];
    for &(a, b) in &g.edges {
        indeg[b] += 1;
        out[a].push(b);
    }
    let mut ready: std::collections::BinaryHeap<std::cmp::Reverse<(usize, usize)>> =
        (0..k).filter(|&a| indeg[a] == 0).map(|a| std::cmp::Reverse((first[a], a))).collect();
    let mut pos = vec![0; k];
    let mut order = Vec::with_capacity(k);
    while let Some(std::cmp::Reverse((_, a))) = ready.pop() {
        pos[a] = order.len();
        order.push(a);
        for &b in &out[a] {
            indeg[b] -= 1;
            if indeg[b] == 0 {
                ready.push(std::cmp::Reverse((first[b], b)));
            }
        }
    }
    debug_assert_eq!(order.len(), k, "fuse_cycles leaves a DAG");
    let atom_of: Vec<usize> = g.label.iter().map(|&l| pos[l]).collect();
    let mut members = vec![Vec::new(); k];
    let (mut cpu, mut acc, mut size, mut supported) = (vec![0.0; k], vec![0.0; k], vec![0.0; k], vec![true; k]);
    for (v, node) in w.nodes.iter().enumerate() {
        let a = atom_of[v];
        members[a].push(v);
        cpu[a] += node.cpu_latency;
        acc[a] += node.acc_latency;
        size[a] += node.size;
        supported[a] &= node.supported_on_acc;
    }
    let mut arcs: Vec<(usize, usize)> = g.edges.iter().map(|&(a, b)| (pos[a], pos[b])).collect();
    if linearize {
        arcs.extend((1..k).map(|a| (a - 1, a)));
    }
    arcs.sort_unstable();
    arcs.dedup();
    let mut succ = vec![Vec::new(); k];
    let mut pred = vec![Vec::new(); k];
    for &(a, b) in &arcs {
        succ[a].push(b);
        pred[b].push(a);
    }
    let orphans = g.has_forward.iter().filter(|&&f| !f).count();
    let moved = vec![0.0; k];
    Atoms { atom_of, members, succ, pred, cpu, acc, size, supported, orphans, trivial_merges, moved }
}
