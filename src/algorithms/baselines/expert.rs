//! `expert`: a human expert's split read from a file. An inference split is
//! extended to the training graph through the co-location classes.

use crate::algorithms::{Algorithm, Claim, Objective, Outcome, RunOptions};
use crate::error::{Error, Result};
use crate::placement::{Placement, Split};
use crate::workload::Workload;
use std::path::PathBuf;

pub struct Expert;

/// The expert file for a workload: `<stem>_expert.json` in one of `dirs`, or for a training
/// workload the inference split `<stem with _inference>_expert.json`, as the paper's README
/// prescribes for Inception-v3 and ResNet-50.
pub fn expert_file(w: &Workload, dirs: &[PathBuf]) -> Option<PathBuf> {
    let stem = w.name.rsplit('/').next().unwrap_or(&w.name);
    let mut names = vec![format!("{stem}_expert.json")];
    if let Some(base) = stem.strip_suffix("_training") {
        names.push(format!("{base}_inference_expert.json"));
    }
    names.iter().flat_map(|n| dirs.iter().map(move |d| d.join(n))).find(|p| p.is_file())
}

fn resolve(w: &Workload, opts: &RunOptions) -> Result<(PathBuf, Placement), crate::family::NotApplicable> {
    let file = expert_file(w, &opts.expert_dirs)
        .ok_or_else(|| crate::family::NotApplicable::from("no human-expert split for this workload"))?;
    let split = Split::load(&file).map_err(|e| crate::family::NotApplicable(e.to_string()))?;
    let placement = split
        .extend_to_placement(w, &file)
        .map_err(|e| crate::family::NotApplicable(format!("the expert split does not fit this workload: {e}")))?;
    Ok((file, placement))
}

impl Algorithm for Expert {
    fn name(&self) -> &'static str {
        "expert"
    }

    fn objective(&self) -> Objective {
        Objective::Throughput
    }

    fn summary(&self) -> &'static str {
        "a human expert's split (<workload>_expert.json in --experts folders), scored as given"
    }

    fn applicable(&self, w: &Workload, opts: &RunOptions) -> Result<(), crate::family::NotApplicable> {
        resolve(w, opts).map(|_| ())
    }

    fn run(&self, w: &Workload, opts: &RunOptions) -> Result<Outcome> {
        let (file, placement) = resolve(w, opts).map_err(|e| Error::Algorithm(e.0))?;
        Ok(Outcome::found(placement, None, Claim::Feasible).note("file", file.display()))
    }
}
