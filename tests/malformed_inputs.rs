//! Bad workload files: one test per fixture in `tests/fixtures/malformed/`, each asserting that
//! the message names the file and the offending field (and node, edge or line where there is
//! one), plus the command line's behaviour on bad input.

use placebench::algorithms::{dp::Dp, Objective, RunOptions};
use placebench::results::Status;
use placebench::run::run_cell;
use placebench::workload::load_workload;
use std::path::PathBuf;
use std::process::Command;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

/// Loads a malformed fixture and checks that the error message contains every `needle`.
fn rejects(file: &str, needles: &[&str]) {
    let path = fixture(&format!("malformed/{file}"));
    let err = load_workload(&path, file).expect_err("a malformed workload must be rejected").to_string();
    assert!(err.contains(file), "message does not name the file: {err}");
    for n in needles {
        assert!(err.contains(n), "message lacks {n:?}: {err}");
    }
}

#[test]
fn not_json() {
    rejects("not_json.json", &["line 2", "not valid JSON"]);
}

#[test]
fn missing_top_field() {
    rejects("missing_top_field.json", &["\"maxCPUs\"", "missing required field"]);
}

#[test]
fn missing_node_field() {
    rejects("missing_node_field.json", &["node 1", "\"fpgaLatency\"", "missing"]);
}

#[test]
fn wrong_type() {
    rejects("wrong_type.json", &["node 2", "\"cpuLatency\"", "expected a number"]);
}

#[test]
fn nan_latency() {
    rejects("nan_latency.json", &["\"fpgaLatency\"", "not valid JSON"]);
}

#[test]
fn infinite_latency() {
    rejects("infinite_latency.json", &["\"cpuLatency\"", "out of range"]);
}

#[test]
fn negative_size() {
    rejects("negative_size.json", &["node 1", "\"size\"", ">= 0"]);
}

#[test]
fn negative_latency() {
    rejects("negative_latency.json", &["node 0", "\"fpgaLatency\"", ">= 0"]);
}

#[test]
fn duplicate_id() {
    rejects("duplicate_id.json", &["node 1", "\"id\"", "duplicate"]);
}

#[test]
fn unknown_edge_node() {
    rejects("unknown_edge_node.json", &["edge 1->99", "\"destId\"", "no node has id 99"]);
}

#[test]
fn self_loop() {
    rejects("self_loop.json", &["edge 2->2", "self-loop"]);
}

#[test]
fn cycle_names_its_nodes() {
    rejects("cycle.json", &["cycle through nodes 0, 1, 2"]);
}

#[test]
fn backward_to_forward() {
    rejects("backward_to_forward.json", &["edge 3->0", "backward node to a forward node"]);
}

#[test]
fn inconsistent_cost() {
    rejects("inconsistent_cost.json", &["edge 0->2", "\"cost\"", "same cost"]);
}

#[test]
fn negative_max_fpgas() {
    rejects("negative_max_fpgas.json", &["\"maxFPGAs\"", "must be >= 0"]);
}

#[test]
fn bad_flag() {
    rejects("bad_flag.json", &["node 0", "\"isBackwardNode\"", "0/1"]);
}

#[test]
fn nodes_not_array() {
    rejects("nodes_not_array.json", &["\"nodes\"", "expected an array"]);
}

/// serde_json would keep the second `maxFPGAs` silently; the loader refuses the file.
#[test]
fn duplicate_key() {
    rejects("duplicate_key.json", &["line 4", "\"maxFPGAs\"", "duplicate key"]);
}

/// An empty graph is no workload (it used to be "optimal 0").
#[test]
fn empty_nodes() {
    rejects("empty_nodes.json", &["\"nodes\"", "at least one node"]);
}

/// Each latency is finite, their sum is not: refused, not a "feasible, inf" row.
#[test]
fn latency_sum_overflows() {
    rejects("latency_sum_overflows.json", &["\"cpuLatency\"", "overflows"]);
}

/// The parse error's column falls among multibyte characters: the message names the line
/// (the field finder used to slice the line at a byte inside a character and panic).
#[test]
fn escape_after_multibyte() {
    rejects("escape_after_multibyte.json", &["line 16", "invalid escape"]);
}

/// A UTF-8 byte-order mark (editors on Windows write one) is accepted.
#[test]
fn byte_order_mark_is_accepted() {
    let w = load_workload(&fixture("byte_order_mark.json"), "bom").expect("loads");
    assert_eq!(w.len(), 3);
}

/// `maxFPGAs` and `maxCPUs` of a billion used to abort the process (allocations sized by them);
/// counts beyond the nodes are clamped, and the DP's optimum is that of three devices each.
#[test]
fn huge_device_counts_are_clamped_to_the_nodes() {
    let w = load_workload(&fixture("huge_device_counts.json"), "huge").expect("loads");
    assert_eq!((w.max_accs, w.max_cpus), (3, 3));
    let cell = run_cell(&w, &Dp, Objective::Throughput, &RunOptions::default());
    assert_eq!(cell.record.status, Status::Optimal, "{:?}", cell.record);
    // More than three devices of a kind could not be used: the optimum of three accelerators
    // and one CPU, computed apart.
    let mut three = w.clone();
    three.max_accs = 3;
    three.max_cpus = 1;
    let again = run_cell(&three, &Dp, Objective::Throughput, &RunOptions::default());
    assert_eq!(cell.record.objective, again.record.objective);
}

/// A workload that loads but where nothing fits gets an `infeasible` row, not a crash.
#[test]
fn infeasible_memory_is_a_status() {
    let w = load_workload(&fixture("infeasible_memory.json"), "infeasible_memory").expect("loads");
    let cell = run_cell(&w, &Dp, Objective::Throughput, &RunOptions::default());
    assert_eq!(cell.record.status, Status::Infeasible, "{:?}", cell.record);
    assert!(cell.artifact.is_none());
}

/// The binary exits non-zero with one line naming file and field, and writes no results.
#[test]
fn cli_rejects_bad_input_without_writing() {
    let out = tempfile::tempdir().expect("temp dir");
    let res = Command::new(env!("CARGO_BIN_EXE_bench"))
        .args(["throughput", "--quiet", "--out"])
        .arg(out.path())
        .arg(fixture("malformed/negative_size.json"))
        .output()
        .expect("runs");
    assert_eq!(res.status.code(), Some(2));
    let err = String::from_utf8_lossy(&res.stderr);
    assert!(err.contains("negative_size.json") && err.contains("\"size\""), "{err}");
    assert_eq!(std::fs::read_dir(out.path()).expect("exists").count(), 0, "nothing may be written");
}

/// One test per further fixture of `tests/fixtures/malformed/`: a file and the words its
/// message must hold (the file, the node, edge or line, the field, what is wrong).
macro_rules! malformed {
    ($($name:ident: $($needle:literal),+;)+) => {
        $(
            #[test]
            fn $name() {
                rejects(concat!(stringify!($name), ".json"), &[$($needle),+]);
            }
        )+
    };
}

malformed! {
    backward_missing: "node 1", "\"isBackwardNode\"", "missing";
    backward_string: "node 1", "\"isBackwardNode\"", "0/1";
    color_class_fraction: "node 1", "\"colorClass\"", "integer";
    color_class_string: "node 1", "\"colorClass\"", "integer";
    contained_subnodes: "node 1", "\"containedSubnodes\"", "not supported";
    cost_missing: "edge 1->2", "\"cost\"", "missing";
    cost_negative: "edge 1->2", "\"cost\"", ">= 0";
    cpu_latency_missing: "node 2", "\"cpuLatency\"", "missing";
    cpu_latency_null: "node 2", "\"cpuLatency\"", "found null";
    deep_nesting: "line 5", "\"extra\"", "recursion limit";
    dest_string: "edges[0]", "\"destId\"", "integer";
    duplicate_key_in_edge: "line 35", "\"cost\"", "duplicate key";
    duplicate_key_in_node: "line 10", "\"cpuLatency\"", "duplicate key";
    edge_not_object: "edges[0]", "expected an object";
    edges_not_array: "\"edges\"", "expected an array";
    empty_file: "line 1", "not valid JSON";
    fpga_latency_string: "node 2", "\"fpgaLatency\"", "expected a number";
    id_fraction: "nodes[1]", "\"id\"", "integer";
    id_missing: "nodes[1]", "\"id\"", "missing";
    id_string: "nodes[1]", "\"id\"", "integer";
    max_cpus_negative: "\"maxCPUs\"", ">= 0";
    max_fpgas_fraction: "\"maxFPGAs\"", "integer";
    max_fpgas_string: "\"maxFPGAs\"", "integer";
    max_size_negative: "\"maxSizePerFPGA\"", ">= 0";
    max_size_string: "\"maxSizePerFPGA\"", "expected a number";
    missing_edges: "\"edges\"", "missing";
    missing_max_fpgas: "\"maxFPGAs\"", "missing";
    missing_max_size: "\"maxSizePerFPGA\"", "missing";
    missing_nodes: "\"nodes\"", "missing";
    node_not_object: "nodes[1]", "expected an object";
    not_utf8: "file", "not UTF-8";
    number_too_large: "line 10", "\"fpgaLatency\"", "out of range";
    occupancy_above_one: "node 1", "\"occupancy\"", "(0, 1]";
    occupancy_string: "node 1", "\"occupancy\"", "expected a number";
    occupancy_zero: "node 1", "\"occupancy\"", "(0, 1]";
    size_array: "node 1", "\"size\"", "expected a number";
    size_sum_overflows: "\"size\"", "overflows";
    source_missing: "edges[0]", "\"sourceId\"", "missing";
    supported_missing: "node 0", "\"supportedOnFpga\"", "missing";
    supported_string: "node 0", "\"supportedOnFpga\"", "0/1";
    supported_two: "node 0", "\"supportedOnFpga\"", "0/1";
    top_level_array: "top level", "expected a JSON object";
    trailing_garbage: "line 44", "trailing characters";
    truncated: "line 19", "\"size\"", "EOF";
    unknown_source: "edge 42->2", "\"sourceId\"", "no node has id 42";
    utf16: "file", "not UTF-8";
}
