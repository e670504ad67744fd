//! Loader for the dnn-partitioning JSON format: every check names the file, the
//! node or edge and the field, so a user can fix the input from the message alone.

use super::{Header, Node, Workload};
use crate::error::{Error, Result};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Tolerance of the reference for out-edges of one source that disagree on `cost`.
const COST_AGREEMENT: f64 = 1e-6;

/// Reads and validates one workload file. `name` is what results call it.
pub fn load_workload(path: &Path, name: &str) -> Result<Workload> {
    parse_workload(&read_file(path)?, path, name)
}

/// A file's bytes, decompressed when its name ends in `.xz` (profiled workloads are kept
/// compressed). A workload's hash is that of its JSON text, compressed or not.
pub fn read_file(path: &Path) -> Result<Vec<u8>> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    if path.extension().is_none_or(|e| e != "xz") {
        return Ok(bytes);
    }
    let mut out = Vec::new();
    std::io::Read::read_to_end(&mut xz2::read::XzDecoder::new(bytes.as_slice()), &mut out)
        .map_err(|e| Error::input(path, "file", format!("not an xz stream: {e}")))?;
    Ok(out)
}

/// A file's text: UTF-8, without a leading byte-order mark (no part of JSON, but editors on
/// Windows write one).
pub fn utf8_text<'a>(bytes: &'a [u8], file: &Path) -> Result<&'a str> {
    let text = std::str::from_utf8(bytes).map_err(|e| Error::input(file, "file", format!("not UTF-8 text: {e}")))?;
    Ok(text.strip_prefix('\u{feff}').unwrap_or(text))
}

/// A workload's name from its file: the file name without `.json` or `.json.xz`.
pub fn file_stem(path: &Path) -> String {
    let name = path.file_name().map(|s| s.to_string_lossy().to_string()).unwrap_or_default();
    let name = name.strip_suffix(".xz").unwrap_or(&name);
    name.strip_suffix(".json").unwrap_or(name).to_owned()
}

/// Validates a workload given as bytes; `file` is only used in messages.
pub fn parse_workload(bytes: &[u8], file: &Path, name: &str) -> Result<Workload> {
    let err = |location: String, message: String| Error::input(file, location, message);
    let text = utf8_text(bytes, file)?;
    let root: Value = crate::strict_json::value(text).map_err(|e| {
        let field = field_at(text, e.line(), e.column()).map(|f| format!(", in field \"{f}\"")).unwrap_or_default();
        err(format!("line {} column {}{field}", e.line(), e.column()), format!("not valid JSON: {e}"))
    })?;
    let top = root.as_object().ok_or_else(|| err("top level".into(), "expected a JSON object".into()))?;
    let f = Fields { file, obj: top, at: "top level".into() };
    let max_size_per_acc = f.nonneg_number("maxSizePerFPGA")?;
    let max_accs = f.count("maxFPGAs")?;
    let max_cpus = f.count("maxCPUs")?;
    let raw_nodes = f.array("nodes")?;
    let raw_edges = f.array("edges")?;
    if raw_nodes.is_empty() {
        return Err(f.error("nodes", "empty: a workload has at least one node"));
    }
    // More devices of a kind than nodes cannot be used; counts beyond them are clamped, so that
    // no algorithm sizes anything by a count of a billion.
    let (max_accs, max_cpus) = (max_accs.min(raw_nodes.len()), max_cpus.min(raw_nodes.len()));

    let mut nodes = Vec::with_capacity(raw_nodes.len());
    let mut index: HashMap<i64, usize> = HashMap::new();
    for (pos, raw) in raw_nodes.iter().enumerate() {
        let obj = raw.as_object().ok_or_else(|| err(format!("nodes[{pos}]"), "expected an object".into()))?;
        let id = Fields { file, obj, at: format!("nodes[{pos}]") }.integer("id")?;
        let f = Fields { file, obj, at: format!("node {id}") };
        if obj.contains_key("containedSubnodes") {
            return Err(f.error("containedSubnodes", "pre-contracted nodes are not supported"));
        }
        let node = Node {
            id,
            name: obj.get("name").and_then(Value::as_str).map(str::to_owned),
            cpu_latency: f.nonneg_number("cpuLatency")?,
            acc_latency: f.nonneg_number("fpgaLatency")?,
            size: match obj.get("size") {
                None => 0.0,
                Some(_) => f.nonneg_number("size")?,
            },
            supported_on_acc: f.flag("supportedOnFpga")?,
            backward: f.flag("isBackwardNode")?,
            out_elements: obj
                .get("outShape")
                .and_then(Value::as_array)
                .and_then(|a| a.iter().map(Value::as_f64).product::<Option<f64>>()),
            occupancy: match obj.get("occupancy") {
                None | Some(Value::Null) => None,
                Some(_) => {
                    let u = f.nonneg_number("occupancy")?;
                    if u == 0.0 || u > 1.0 {
                        return Err(f.error("occupancy", &format!("must be in (0, 1], found {u}")));
                    }
                    Some(u)
                }
            },
            color_class: match obj.get("colorClass") {
                None | Some(Value::Null) => None,
                Some(_) => Some(f.integer("colorClass")?),
            },
        };
        if index.insert(id, nodes.len()).is_some() {
            return Err(f.error("id", "duplicate node id"));
        }
        nodes.push(node);
    }

    let mut edges = Vec::with_capacity(raw_edges.len());
    let mut out_cost: Vec<Option<(f64, usize)>> = vec![None; nodes.len()];
    for (pos, raw) in raw_edges.iter().enumerate() {
        let obj = raw.as_object().ok_or_else(|| err(format!("edges[{pos}]"), "expected an object".into()))?;
        let f = Fields { file, obj, at: format!("edges[{pos}]") };
        let src_id = f.integer("sourceId")?;
        let dst_id = f.integer("destId")?;
        let f = Fields { file, obj, at: format!("edge {src_id}->{dst_id} (edges[{pos}])") };
        let cost = f.nonneg_number("cost")?;
        let src = *index.get(&src_id).ok_or_else(|| f.error("sourceId", &format!("no node has id {src_id}")))?;
        let dst = *index.get(&dst_id).ok_or_else(|| f.error("destId", &format!("no node has id {dst_id}")))?;
        if src == dst {
            return Err(f.error("destId", "self-loop: an edge from a node to itself"));
        }
        if nodes[src].backward && !nodes[dst].backward {
            return Err(f.error(
                "destId",
                "edge from a backward node to a forward node (backward nodes must come after all forward ones)",
            ));
        }
        match out_cost[src] {
            None => out_cost[src] = Some((cost, pos)),
            Some((first, first_pos)) if (first - cost).abs() > COST_AGREEMENT * first.abs().max(1.0) => {
                return Err(f.error(
                    "cost",
                    &format!(
                        "{cost} differs from {first} on edges[{first_pos}]: all out-edges of node {src_id} must carry the same cost"
                    ),
                ));
            }
            Some(_) => {}
        }
        edges.push((src, dst));
    }
    check_acyclic(&nodes, &edges, file)?;
    check_sums(&nodes, &out_cost, file)?;

    let out_cost = out_cost.into_iter().map(|c| c.map_or(0.0, |(c, _)| c)).collect();
    let hash = format!("{:x}", Sha256::digest(bytes));
    let header = Header { name: name.to_owned(), content_hash: hash, max_size_per_acc, max_accs, max_cpus };
    Ok(Workload::from_parts(header, nodes, edges, out_cost))
}

/// Fails with the ids of the nodes on one cycle, if the graph has any. Iterative (Kahn's
/// order, then a walk back along predecessors among what it could not order), so that no
/// graph is too deep for the stack.
fn check_acyclic(nodes: &[Node], edges: &[(usize, usize)], file: &Path) -> Result<()> {
    let n = nodes.len();
    let mut succ = vec![Vec::new(); n];
    let mut pred = vec![Vec::new(); n];
    for &(u, v) in edges {
        succ[u].push(v);
        pred[v].push(u);
    }
    let order = crate::dag::topological_order(n, &succ, crate::dag::Ready::Fifo);
    if order.len() == n {
        return Ok(());
    }
    let mut ordered = vec![false; n];
    for &v in &order {
        ordered[v] = true;
    }
    // Every node left has a predecessor left: walking back must come round.
    let start = (0..n).find(|&v| !ordered[v]).expect("some node is unordered");
    let mut seen = vec![usize::MAX; n];
    let mut path = Vec::new();
    let mut v = start;
    while seen[v] == usize::MAX {
        seen[v] = path.len();
        path.push(v);
        v = *pred[v].iter().find(|&&u| !ordered[u]).expect("an unordered node has an unordered predecessor");
    }
    let mut ids: Vec<i64> = path[seen[v]..].iter().map(|&x| nodes[x].id).collect();
    ids.sort_unstable();
    const SHOWN: usize = 20;
    let mut list: Vec<String> = ids.iter().take(SHOWN).map(i64::to_string).collect();
    if ids.len() > SHOWN {
        list.push(format!("and {} more", ids.len() - SHOWN));
    }
    Err(Error::input(file, "edges", format!("the graph has a cycle through nodes {}", list.join(", "))))
}

/// Fails where a sum the models take overflows: every node on one device, every transfer.
fn check_sums(nodes: &[Node], out_cost: &[Option<(f64, usize)>], file: &Path) -> Result<()> {
    let sums = [
        ("cpuLatency", nodes.iter().map(|n| n.cpu_latency).sum::<f64>()),
        ("fpgaLatency", nodes.iter().map(|n| n.acc_latency).sum::<f64>()),
        ("size", nodes.iter().map(|n| n.size).sum::<f64>()),
    ];
    for (field, sum) in sums {
        if !sum.is_finite() {
            return Err(Error::input(file, format!("nodes: field \"{field}\""), "the sum over all nodes overflows"));
        }
    }
    if !out_cost.iter().flatten().map(|c| c.0).sum::<f64>().is_finite() {
        return Err(Error::input(file, "edges: field \"cost\"", "the sum over all edges overflows"));
    }
    Ok(())
}

/// Typed access to the fields of one JSON object, with errors that say where.
struct Fields<'a> {
    file: &'a Path,
    obj: &'a Map<String, Value>,
    at: String,
}

impl<'a> Fields<'a> {
    fn error(&self, field: &str, message: &str) -> Error {
        Error::input(self.file, format!("{}: field \"{field}\"", self.at), message)
    }

    fn get(&self, field: &str) -> Result<&Value> {
        self.obj.get(field).ok_or_else(|| self.error(field, "missing required field"))
    }

    fn nonneg_number(&self, field: &str) -> Result<f64> {
        let v = self.get(field)?;
        let x = v.as_f64().ok_or_else(|| self.error(field, &format!("expected a number, found {}", kind(v))))?;
        if !x.is_finite() || x < 0.0 {
            return Err(self.error(field, &format!("must be a finite number >= 0, found {x}")));
        }
        Ok(x)
    }

    fn integer(&self, field: &str) -> Result<i64> {
        let v = self.get(field)?;
        if let Some(i) = v.as_i64() {
            return Ok(i);
        }
        // Some writers emit integral floats (3.0); accept exactly those.
        match v.as_f64() {
            Some(x) if x.fract() == 0.0 && x.abs() < 9.0e15 => Ok(x as i64),
            _ => Err(self.error(field, &format!("expected an integer, found {}", kind(v)))),
        }
    }

    fn count(&self, field: &str) -> Result<usize> {
        let i = self.integer(field)?;
        usize::try_from(i).map_err(|_| self.error(field, &format!("must be >= 0, found {i}")))
    }

    fn array(&self, field: &str) -> Result<&'a Vec<Value>> {
        let v = self.obj.get(field).ok_or_else(|| self.error(field, "missing required field"))?;
        v.as_array().ok_or_else(|| self.error(field, &format!("expected an array, found {}", kind(v))))
    }

    /// The format writes flags as booleans or as 0/1 integers, sometimes mixed in one file.
    fn flag(&self, field: &str) -> Result<bool> {
        match self.get(field)? {
            Value::Bool(b) => Ok(*b),
            v => match v.as_f64() {
                Some(0.0) => Ok(false),
                Some(1.0) => Ok(true),
                _ => Err(self.error(field, &format!("expected true/false or 0/1, found {}", kind(v)))),
            },
        }
    }
}

fn kind(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("the boolean {b}"),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) => format!("the string {s:?}"),
        Value::Array(_) => "an array".into(),
        Value::Object(_) => "an object".into(),
    }
}

/// The JSON key whose value holds position (line, column), for parse errors such as an
/// out-of-range number or a `NaN` literal: the last `"key":` before that column on that line.
fn field_at(text: &str, line: usize, column: usize) -> Option<String> {
    let l = text.lines().nth(line.checked_sub(1)?)?;
    // serde_json counts columns in bytes; a multibyte character may straddle one.
    let mut end = column.min(l.len());
    while !l.is_char_boundary(end) {
        end -= 1;
    }
    let upto = &l[..end];
    let colon = upto.rfind(':')?;
    let key_end = upto[..colon].rfind('"')?;
    let key_start = upto[..key_end].rfind('"')?;
    Some(upto[key_start + 1..key_end].to_owned())
}

/// All `*.json` files under `dir`, recursively, sorted, with the name each workload gets:
/// its path relative to `dir` without the extension.
pub fn discover_json_files(dir: &Path) -> Result<Vec<(PathBuf, String)>> {
    if !dir.is_dir() {
        return Err(Error::Usage(format!("{}: not a directory", dir.display())));
    }
    let mut out = Vec::new();
    // Symbolic links are followed: a folder of links to workloads is a folder of workloads.
    for entry in walkdir::WalkDir::new(dir).follow_links(true).sort_by_file_name() {
        let entry = entry.map_err(|e| Error::Usage(format!("{}: {e}", dir.display())))?;
        let p = entry.path();
        let name = p.file_name().map(|s| s.to_string_lossy().to_string()).unwrap_or_default();
        if entry.file_type().is_file() && (name.ends_with(".json") || name.ends_with(".json.xz")) {
            let rel = p.strip_prefix(dir).unwrap_or(p).with_file_name(file_stem(p));
            out.push((p.to_path_buf(), rel.to_string_lossy().replace('\\', "/")));
        }
    }
    Ok(out)
}
