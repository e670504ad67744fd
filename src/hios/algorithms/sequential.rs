//! `sequential`: every operator on GPU 0, one after another in topological order. The
//! smallest scheduler, and the template for a new one.

use super::{HiosOptions, Scheduled, Scheduler};
use crate::error::Result;
use crate::hios::{Problem, Schedule};
use crate::workload::Workload;

pub struct Sequential;

impl Scheduler for Sequential {
    fn name(&self) -> &'static str {
        "sequential"
    }

    fn summary(&self) -> &'static str {
        "every operator on GPU 0, one stream, topological order"
    }

    fn schedule(&self, p: &Problem, _w: &Workload, o: &HiosOptions) -> Result<Scheduled> {
        let s = Schedule::sequential_on(vec![0; p.len()], o.gpus, &p.order);
        super::claimed(p, s, p.w.iter().sum())
    }
}
