//! What the fuzzer feeds: the workload loader, the split reader and the schedule reader, each
//! with the property every input must keep. An input is either read, or refused with one
//! line that is an input error naming the file (and a location in it); anything else, a panic
//! above all, is a violation.

use crate::error::Error;
use crate::hios::file::ScheduleFile;
use crate::placement::Split;
use crate::workload::{parse_workload, Workload};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// A reader under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Target {
    /// The dnn-partitioning workload loader.
    Workload,
    /// Split files (expert splits, placements): read, then resolved on a small workload.
    Split,
    /// HIOS schedule files: read, then resolved and checked on a small workload.
    Schedule,
}

pub const ALL: [Target; 3] = [Target::Workload, Target::Split, Target::Schedule];

impl Target {
    pub fn name(self) -> &'static str {
        match self {
            Target::Workload => "workload",
            Target::Split => "split",
            Target::Schedule => "schedule",
        }
    }

    /// Valid inputs to start from (the corpus on disk adds to them).
    pub fn seeds(self) -> Vec<Vec<u8>> {
        let texts: &[&str] = match self {
            Target::Workload => &[WORKLOAD, TRAINING_WORKLOAD],
            Target::Split => &[
                r#"{"cpus": [{"nodes": []}], "fpgas": [{"nodes": [0, 1]}, {"nodes": [2, 3]}]}"#,
                r#"{"cpus": [{"nodes": [3]}], "fpgas": [{"load": 1.5, "nodes": [0, 1, 2]}], "maxLoad": 1.5}"#,
            ],
            Target::Schedule => &[
                r#"{"schema_version": 1, "workload": "w", "algorithm": "seq", "gpus": 1, "latency": 2.5,
                    "gpu_of": {"0": 0, "1": 0, "2": 0, "3": 0}, "stages": [[[[0]], [[1], [2]], [[3]]]],
                    "timeline": [{"gpu": 0, "start": 0.0, "end": 0.5, "ops": [0]}]}"#,
                r#"{"workload": "w", "algorithm": "two", "gpus": 2, "latency": 2.0,
                    "gpu_of": {"0": 0, "1": 0, "2": 1, "3": 0}, "stages": [[[[0]], [[1]], [[3]]], [[[2]]]]}"#,
            ],
        };
        texts.iter().map(|t| t.as_bytes().to_vec()).collect()
    }
}

/// The workload the split and schedule inputs are resolved on: a diamond 0 → {1, 2} → 3.
const WORKLOAD: &str = r#"{"maxSizePerFPGA": 100, "maxFPGAs": 2, "maxCPUs": 1,
 "nodes": [
  {"id": 0, "supportedOnFpga": 1, "cpuLatency": 1.0, "fpgaLatency": 0.5, "isBackwardNode": 0, "colorClass": 0, "size": 1},
  {"id": 1, "supportedOnFpga": 1, "cpuLatency": 2.0, "fpgaLatency": 0.5, "isBackwardNode": 0, "colorClass": 1, "size": 1},
  {"id": 2, "supportedOnFpga": 0, "cpuLatency": 1.5, "fpgaLatency": 0.0, "isBackwardNode": 0, "colorClass": 2, "size": 2},
  {"id": 3, "supportedOnFpga": 1, "cpuLatency": 1.0, "fpgaLatency": 0.25, "isBackwardNode": 0, "colorClass": 3, "size": 1}],
 "edges": [
  {"sourceId": 0, "destId": 1, "cost": 0.1, "size": 4},
  {"sourceId": 0, "destId": 2, "cost": 0.1, "size": 4},
  {"sourceId": 1, "destId": 3, "cost": 0.2, "size": 8},
  {"sourceId": 2, "destId": 3, "cost": 0.05, "size": 2}]}"#;

/// A training graph: the forward pass of `WORKLOAD`'s first two nodes and their backward twins.
const TRAINING_WORKLOAD: &str = r#"{"maxSizePerFPGA": 10.5, "maxFPGAs": 3, "maxCPUs": 0,
 "nodes": [
  {"id": 10, "supportedOnFpga": true, "cpuLatency": 1, "fpgaLatency": 0.5, "isBackwardNode": false, "colorClass": 7, "size": 1},
  {"id": 11, "supportedOnFpga": true, "cpuLatency": 2, "fpgaLatency": 0.5, "isBackwardNode": false, "colorClass": 8, "size": 1},
  {"id": 12, "supportedOnFpga": true, "cpuLatency": 2, "fpgaLatency": 0.7, "isBackwardNode": true, "colorClass": 8, "size": 0},
  {"id": 13, "supportedOnFpga": true, "cpuLatency": 1, "fpgaLatency": 0.6, "isBackwardNode": true, "colorClass": 7, "size": 0}],
 "edges": [
  {"sourceId": 10, "destId": 11, "cost": 0.1},
  {"sourceId": 11, "destId": 12, "cost": 0.3},
  {"sourceId": 12, "destId": 13, "cost": 0.3}]}"#;

/// The file name every message must carry.
pub const FILE: &str = "fuzzed-input.json";

/// How an input fared.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Read (and resolved) without complaint.
    Read,
    /// Refused as it should be; the message's shape, with numbers dropped (for novelty
    /// without instrumentation).
    Refused(String),
    /// Refused the wrong way: not an input error, not one line, or another file named.
    Violation(String),
}

fn the_workload() -> &'static Workload {
    static W: std::sync::OnceLock<Workload> = std::sync::OnceLock::new();
    W.get_or_init(|| {
        parse_workload(WORKLOAD.as_bytes(), Path::new("diamond.json"), "w").expect("the fuzz workload reads")
    })
}

/// Runs one input through `target`'s reader (panics are the caller's to catch).
pub fn check(target: Target, bytes: &[u8]) -> Verdict {
    let file = Path::new(FILE);
    let result = match target {
        Target::Workload => parse_workload(bytes, file, "w").map(|_| ()),
        Target::Split => {
            Split::parse(bytes, file).and_then(|s| s.extend_to_placement(the_workload(), file)).map(|_| ())
        }
        Target::Schedule => ScheduleFile::parse(bytes, file).and_then(|s| s.schedule(the_workload(), file)).map(|_| ()),
    };
    match result {
        Ok(()) => Verdict::Read,
        Err(e) => judge(&e),
    }
}

fn judge(e: &Error) -> Verdict {
    let text = e.to_string();
    match e {
        Error::Input { file, location, .. }
            if file == Path::new(FILE) && !location.is_empty() && !text.contains('\n') =>
        {
            Verdict::Refused(shape(&format!("{location}: {text}")))
        }
        _ => Verdict::Violation(format!("not a one-line input error naming the file: {text:?}")),
    }
}

/// A message with its numbers and quoted text dropped: what kind of refusal it is.
pub fn shape(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut quoted = false;
    for c in message.chars() {
        match c {
            '"' => quoted = !quoted,
            _ if quoted => {}
            '0'..='9' => {
                if !out.ends_with('#') {
                    out.push('#');
                }
            }
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_seed_reads() {
        for t in ALL {
            for s in t.seeds() {
                assert_eq!(check(t, &s), Verdict::Read, "{}: {}", t.name(), String::from_utf8_lossy(&s));
            }
        }
    }

    #[test]
    fn a_gpu_count_without_its_stages_is_refused() {
        let text = String::from_utf8(Target::Schedule.seeds()[1].clone())
            .unwrap()
            .replace("\"gpus\": 2", "\"gpus\": 2000000000");
        match check(Target::Schedule, text.as_bytes()) {
            Verdict::Refused(m) => assert!(m.contains("gpus"), "{m}"),
            v => panic!("{v:?}"),
        }
    }

    #[test]
    fn a_refusal_names_the_file_in_one_line() {
        for t in ALL {
            assert!(matches!(check(t, b"{"), Verdict::Refused(_)), "{}", t.name());
        }
    }
}
