//! GPU memory as Salus cuts it: a persistent region holding every admitted job's P and
//! ephemeral lanes, each at least as large as its largest member's E. The invariant
//! `ΣP + ΣL ≤ C` makes any choice of running members safe.
//!
//! The lane assignment of Salus's paper (its Algorithm 1) joins an existing lane without
//! checking that the newcomer's persistent bytes still fit; [`Memory::admit`] checks it, and
//! [`Memory::admit_literal`] keeps the paper's version so that a test can show what it breaks.

use serde::Serialize;

/// How lanes are formed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum LaneMode {
    /// The lane assignment: a new lane, else the best-fitting lane, else a lane grown.
    Auto,
    /// One lane for everyone, as large as its largest member.
    One,
    /// A lane of its own for each job.
    PerJob,
    /// Salus's published code: a lane of 1.05 (1.1 P + E) a job, holding its P too.
    Faithful,
    /// One job in memory at a time.
    Exclusive,
}

impl LaneMode {
    pub fn as_str(self) -> &'static str {
        match self {
            LaneMode::Auto => "auto",
            LaneMode::One => "one",
            LaneMode::PerJob => "per-job",
            LaneMode::Faithful => "faithful",
            LaneMode::Exclusive => "exclusive",
        }
    }
}

/// The size Salus's code gives a job's lane: P and E together, P inflated by 10% and the whole
/// by 5% (its "HACK" margins).
pub fn faithful_lane(p: f64, e: f64) -> f64 {
    1.05 * (1.1 * p + e)
}

/// An open lane.
#[derive(Debug, Clone, PartialEq)]
pub struct Lane {
    pub id: usize,
    pub size: f64,
    /// Members and their ephemeral bytes.
    pub members: Vec<(usize, f64)>,
}

/// Where a job was admitted.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Placed {
    pub lane: usize,
    /// The lane's size after the admission (larger than before: the lane grew).
    pub lane_size: f64,
    /// Bytes charged to the persistent region (0 where the lane holds them).
    pub persistent: f64,
}

/// The ledger of one GPU's memory.
#[derive(Debug, Clone)]
pub struct Memory {
    pub capacity: f64,
    pub persistent: f64,
    pub lanes: Vec<Lane>,
    next_id: usize,
}

impl Memory {
    pub fn new(capacity: f64) -> Memory {
        Memory { capacity, persistent: 0.0, lanes: Vec::new(), next_id: 0 }
    }

    pub fn lanes_total(&self) -> f64 {
        self.lanes.iter().map(|l| l.size).sum()
    }

    /// Bytes reserved: the persistent region and every lane.
    pub fn reserved(&self) -> f64 {
        self.persistent + self.lanes_total()
    }

    /// Whether a job `(p, e)` fits a fresh lane of its own now (step 1 of the assignment).
    pub fn fits_fresh(&self, p: f64, e: f64) -> bool {
        self.reserved() + p + e <= self.capacity
    }

    fn open(&mut self, job: usize, size: f64, e: f64, persistent: f64) -> Placed {
        let id = self.next_id;
        self.next_id += 1;
        self.lanes.push(Lane { id, size, members: vec![(job, e)] });
        self.persistent += persistent;
        Placed { lane: id, lane_size: size, persistent }
    }

    fn join(&mut self, at: usize, job: usize, p: f64, e: f64) -> Placed {
        let lane = &mut self.lanes[at];
        lane.size = lane.size.max(e);
        lane.members.push((job, e));
        let placed = Placed { lane: lane.id, lane_size: lane.size, persistent: p };
        self.persistent += p;
        placed
    }

    /// Admits job `(p, e)` under `mode`, or says it must wait.
    pub fn admit(&mut self, mode: LaneMode, job: usize, p: f64, e: f64) -> Option<Placed> {
        let c = self.capacity;
        match mode {
            LaneMode::Auto => self.assign(job, p, e, true),
            LaneMode::One => match self.lanes.first() {
                None => (p + e <= c).then(|| self.open(job, e, e, p)),
                Some(l) => (self.persistent + p + l.size.max(e) <= c).then(|| self.join(0, job, p, e)),
            },
            LaneMode::PerJob => self.fits_fresh(p, e).then(|| self.open(job, e, e, p)),
            LaneMode::Exclusive => (self.lanes.is_empty() && p + e <= c).then(|| self.open(job, e, e, p)),
            LaneMode::Faithful => {
                let size = faithful_lane(p, e);
                (self.reserved() + size <= c).then(|| self.open(job, size, e, 0.0))
            }
        }
    }

    /// The paper's lane assignment as printed: step 2 joins a lane without the persistent check.
    pub fn admit_literal(&mut self, job: usize, p: f64, e: f64) -> Option<Placed> {
        self.assign(job, p, e, false)
    }

    fn assign(&mut self, job: usize, p: f64, e: f64, check_persistent: bool) -> Option<Placed> {
        let (c, total) = (self.capacity, self.lanes_total());
        if self.persistent + p + total + e <= c {
            return Some(self.open(job, e, e, p));
        }
        if !check_persistent || self.persistent + p + total <= c {
            // Best fit: the smallest lane that holds E, then the fewest members, then the lowest id.
            let best = (0..self.lanes.len()).filter(|&i| self.lanes[i].size >= e).min_by(|&a, &b| {
                let (la, lb) = (&self.lanes[a], &self.lanes[b]);
                la.size.total_cmp(&lb.size).then(la.members.len().cmp(&lb.members.len())).then(la.id.cmp(&lb.id))
            });
            if let Some(i) = best {
                return Some(self.join(i, job, p, e));
            }
        }
        let mut smaller: Vec<usize> = (0..self.lanes.len()).filter(|&i| self.lanes[i].size < e).collect();
        smaller.sort_by(|&a, &b| self.lanes[a].size.total_cmp(&self.lanes[b].size).then(a.cmp(&b)));
        for i in smaller {
            if self.persistent + p + total - self.lanes[i].size + e <= c {
                return Some(self.join(i, job, p, e));
            }
        }
        None
    }

    /// Removes `job` from lane `lane`, freeing its persistent bytes; an emptied lane closes
    /// (returns true), and with `shrink` a lane keeps only its largest member's E.
    pub fn release(&mut self, job: usize, lane: usize, persistent: f64, shrink: bool) -> (bool, Option<f64>) {
        self.persistent = (self.persistent - persistent).max(0.0);
        let Some(i) = self.lanes.iter().position(|l| l.id == lane) else { return (false, None) };
        self.lanes[i].members.retain(|&(j, _)| j != job);
        if self.lanes[i].members.is_empty() {
            self.lanes.remove(i);
            return (true, None);
        }
        if shrink {
            let l = &mut self.lanes[i];
            let need = l.members.iter().map(|m| m.1).fold(0.0, f64::max);
            if need < l.size {
                l.size = need;
                return (false, Some(need));
            }
        }
        (false, None)
    }

    /// Whether the seed's safety condition holds: `ΣP + Σ_l max_{j∈l} E_j ≤ C`.
    pub fn safe(&self) -> bool {
        let lanes: f64 = self.lanes.iter().map(|l| l.members.iter().map(|m| m.1).fold(0.0, f64::max)).sum();
        self.persistent + lanes <= self.capacity * (1.0 + 1e-12)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_literal_assignment_breaks_safety_and_the_corrected_one_waits() {
        // C = 10. A (P 1, E 5) opens a lane of 5. B (P 5, E 5) fits no fresh lane (16 > 10);
        // the literal step 2 joins A's lane, so ΣP + max E = 6 + 5 = 11 > 10.
        let mut literal = Memory::new(10.0);
        literal.admit_literal(0, 1.0, 5.0).unwrap();
        assert!(literal.admit_literal(1, 5.0, 5.0).is_some());
        assert!(!literal.safe());
        let mut fixed = Memory::new(10.0);
        fixed.admit(LaneMode::Auto, 0, 1.0, 5.0).unwrap();
        assert_eq!(fixed.admit(LaneMode::Auto, 1, 5.0, 5.0), None);
        assert!(fixed.safe());
    }

    #[test]
    fn steps_open_join_and_grow() {
        let mut m = Memory::new(20.0);
        let a = m.admit(LaneMode::Auto, 0, 2.0, 6.0).unwrap(); // open: 8
        let b = m.admit(LaneMode::Auto, 1, 2.0, 6.0).unwrap(); // open: 16
        assert_ne!(a.lane, b.lane);
        // 16 + 1 + 5 > 20: join the best-fitting lane of size ≥ 5 (the lower id on a tie).
        let c = m.admit(LaneMode::Auto, 2, 1.0, 5.0).unwrap();
        assert_eq!(c.lane, a.lane);
        // ΣP 5 + ΣL 12 = 17; E 8 fits no lane, grow one: 5 + 1 + 12 − 6 + 8 = 20 ≤ 20.
        let d = m.admit(LaneMode::Auto, 3, 1.0, 8.0).unwrap();
        assert_eq!(d.lane_size, 8.0);
        assert!(m.reserved() <= 20.0 && m.safe());
        assert_eq!(m.admit(LaneMode::Auto, 4, 0.5, 1.0), None);
    }

    #[test]
    fn faithful_lanes_hold_one_job_and_release_closes_them() {
        let mut m = Memory::new(100.0);
        let a = m.admit(LaneMode::Faithful, 0, 10.0, 10.0).unwrap();
        assert!((a.lane_size - 1.05 * 21.0).abs() < 1e-9 && a.persistent == 0.0);
        let b = m.admit(LaneMode::Faithful, 1, 10.0, 10.0).unwrap();
        assert_ne!(a.lane, b.lane);
        assert!(m.lanes.iter().all(|l| l.members.len() == 1));
        assert_eq!(m.release(0, a.lane, 0.0, false), (true, None));
        assert_eq!(m.lanes.len(), 1);
    }
}
