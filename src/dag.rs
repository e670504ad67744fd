//! Topological order of a directed graph given by successor lists (Kahn's algorithm), written
//! once for every module that needs one. The order among ready nodes is the caller's choice,
//! since plans and reports depend on it.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

/// Which ready node comes next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ready {
    /// The smallest index first (deterministic whatever the edge order).
    Smallest,
    /// First ready, first out.
    Fifo,
    /// Last ready, first out.
    Lifo,
}

/// The nodes `0..n` in a topological order of the arcs `succ`; shorter than `n` when the graph
/// has a cycle (the nodes on or behind it are missing).
pub fn topological_order(n: usize, succ: &[Vec<usize>], ready: Ready) -> Vec<usize> {
    let mut indeg = vec![0usize; n];
    for list in succ {
        for &v in list {
            indeg[v] += 1;
        }
    }
    let mut order = Vec::with_capacity(n);
    let sources = (0..n).filter(|&v| indeg[v] == 0);
    let release = |v: usize, indeg: &mut [usize], push: &mut dyn FnMut(usize)| {
        for &w in &succ[v] {
            indeg[w] -= 1;
            if indeg[w] == 0 {
                push(w);
            }
        }
    };
    match ready {
        Ready::Smallest => {
            let mut heap: BinaryHeap<Reverse<usize>> = sources.map(Reverse).collect();
            while let Some(Reverse(v)) = heap.pop() {
                order.push(v);
                release(v, &mut indeg, &mut |w| heap.push(Reverse(w)));
            }
        }
        Ready::Fifo => {
            let mut queue: VecDeque<usize> = sources.collect();
            while let Some(v) = queue.pop_front() {
                order.push(v);
                release(v, &mut indeg, &mut |w| queue.push_back(w));
            }
        }
        Ready::Lifo => {
            let mut stack: Vec<usize> = sources.collect();
            while let Some(v) = stack.pop() {
                order.push(v);
                release(v, &mut indeg, &mut |w| stack.push(w));
            }
        }
    }
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_policy_orders_a_diamond_and_a_cycle_is_short() {
        let succ = vec![vec![2, 1], vec![3], vec![3], vec![]];
        assert_eq!(topological_order(4, &succ, Ready::Smallest), vec![0, 1, 2, 3]);
        assert_eq!(topological_order(4, &succ, Ready::Fifo), vec![0, 2, 1, 3]);
        assert_eq!(topological_order(4, &succ, Ready::Lifo), vec![0, 1, 2, 3]);
        let cycle = vec![vec![1], vec![2], vec![1]];
        assert_eq!(topological_order(3, &cycle, Ready::Fifo), vec![0]);
    }
}
