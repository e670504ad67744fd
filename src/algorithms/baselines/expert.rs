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
/// prescribes for Inception-v3 and ResNet-50. A file under the workload's own sub-folders
/// (`dir/OperatorGraphs/resnet50_inference_expert.json` for `OperatorGraphs/resnet50_inference`)
/// comes before one directly in `dir`, so that two workloads of one name in different folders
/// can each have their own.
pub fn expert_file(w: &Workload, dirs: &[PathBuf]) -> Option<PathBuf> {
    let (folder, stem) = w.name.rsplit_once('/').unwrap_or(("", &w.name));
    let mut names = vec![format!("{stem}_expert.json")];
    if let Some(base) = stem.strip_suffix("_training") {
        names.push(format!("{base}_inference_expert.json"));
    }
    let nested = names.iter().flat_map(|n| dirs.iter().map(move |d| d.join(folder).join(n)));
    let flat = names.iter().flat_map(|n| dirs.iter().map(move |d| d.join(n)));
    nested.chain(flat).find(|p| p.is_file())
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

#[cfg(test)]
mod lookup_tests {
    use super::*;
    use std::path::Path;

    /// A workload finds the expert file of its own sub-folder before one of the same name
    /// directly in the folder (an operator graph used to pick up the layer graph's split).
    #[test]
    fn an_expert_file_of_the_workloads_own_folder_comes_first() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("OperatorGraphs")).unwrap();
        std::fs::write(d.path().join("net_expert.json"), "{}").unwrap();
        std::fs::write(d.path().join("OperatorGraphs/net_expert.json"), "{}").unwrap();
        let text = r#"{"maxSizePerFPGA": 1, "maxFPGAs": 1, "maxCPUs": 1, "edges": [],
            "nodes": [{"id": 0, "supportedOnFpga": 1, "cpuLatency": 1, "fpgaLatency": 1, "isBackwardNode": 0}]}"#;
        let named = |name: &str| crate::workload::parse_workload(text.as_bytes(), Path::new("w.json"), name).unwrap();
        let dirs = [d.path().to_path_buf()];
        assert_eq!(
            expert_file(&named("OperatorGraphs/net"), &dirs),
            Some(d.path().join("OperatorGraphs/net_expert.json"))
        );
        assert_eq!(expert_file(&named("LayerGraphs/net"), &dirs), Some(d.path().join("net_expert.json")));
        assert_eq!(expert_file(&named("net"), &dirs), Some(d.path().join("net_expert.json")));
    }
}
