//! Mutations: byte edits that break the text, and edits of the parsed JSON tree that keep it
//! well-formed but wrong (a number out of range, a field of the wrong type, a list element
//! repeated or gone), so that both the parser and the checks behind it are reached.

use rand::{Rng, RngCore};
use serde_json::Value;

/// Tokens the readers care about: field names, numbers at the edges of their types, escapes.
const DICTIONARY: &[&str] = &[
    "\"id\"",
    "\"nodes\"",
    "\"edges\"",
    "\"sourceId\"",
    "\"destId\"",
    "\"cost\"",
    "\"size\"",
    "\"maxFPGAs\"",
    "\"maxCPUs\"",
    "\"maxSizePerFPGA\"",
    "\"colorClass\"",
    "\"supportedOnFpga\"",
    "\"cpuLatency\"",
    "\"fpgaLatency\"",
    "\"isBackwardNode\"",
    "\"containedSubnodes\"",
    "\"layerId\"",
    "\"cpus\"",
    "\"fpgas\"",
    "\"load\"",
    "\"stages\"",
    "\"gpu_of\"",
    "\"gpus\"",
    "\"latency\"",
    "\"schema_version\"",
    "\"timeline\"",
    "-1",
    "0",
    "-0",
    "1e308",
    "1e309",
    "-1e309",
    "4294967296",
    "2147483648",
    "9223372036854775807",
    "9223372036854775808",
    "18446744073709551616",
    "0.5",
    "1e-320",
    "NaN",
    "Infinity",
    "null",
    "true",
    "false",
    "\"\\ud800\"",
    "\"\\u0000\"",
    "\"\u{e9}\"",
    "\u{feff}",
    "[]",
    "{}",
    "[[[[[[[[[[[[[[[[",
    "]]]]]]]]",
    ",",
    ":",
    "\"",
    "\\",
    "\n",
];

const INTERESTING_NUMBERS: &[f64] = &[0.0, -1.0, 1.0, 2.0, 3.0, 0.5, 1e300, -1e300, 4294967296.0, 1e-300, 1e15];

/// A mutant of `input`, with `other` (another corpus entry) for splicing.
pub fn mutate(input: &[u8], other: &[u8], rng: &mut impl RngCore, max_len: usize) -> Vec<u8> {
    // Either well-formed edits of the tree (which reach the checks behind the parser) or
    // byte edits (which reach the parser), rarely both: a byte edit mostly breaks the syntax.
    let mut out = input.to_vec();
    let tree = rng.random_bool(0.5);
    if tree {
        for _ in 0..rng.random_range(1..=3) {
            match tree_mutation(&out, rng) {
                Some(m) => out = m,
                None => break,
            }
        }
    }
    if !tree || rng.random_bool(0.1) {
        for _ in 0..1 << rng.random_range(0..4) {
            byte_mutation(&mut out, other, rng);
        }
    }
    out.truncate(max_len);
    out
}

fn span(len: usize, rng: &mut impl RngCore) -> (usize, usize) {
    if len == 0 {
        return (0, 0);
    }
    let start = rng.random_range(0..len);
    let n = rng.random_range(1..=16.min(len - start));
    (start, n)
}

fn byte_mutation(b: &mut Vec<u8>, other: &[u8], rng: &mut impl RngCore) {
    let len = b.len();
    match rng.random_range(0..7) {
        0 if len > 0 => {
            let i = rng.random_range(0..len);
            b[i] ^= 1 << rng.random_range(0..8);
        }
        1 if len > 0 => {
            let i = rng.random_range(0..len);
            b[i] = *b"{}[]\",:0-e.\\\n\0".get(rng.random_range(0..15)).unwrap_or(&0xff);
        }
        2 if len > 0 => {
            let (s, n) = span(len, rng);
            b.drain(s..s + n);
        }
        3 if len > 0 => {
            let (s, n) = span(len, rng);
            let copy: Vec<u8> = b[s..s + n].to_vec();
            let at = rng.random_range(0..=b.len());
            b.splice(at..at, copy);
        }
        4 if !other.is_empty() => {
            let cut = rng.random_range(0..=len);
            let from = rng.random_range(0..other.len());
            b.truncate(cut);
            b.extend_from_slice(&other[from..]);
        }
        5 if len > 0 => {
            // A run of digits: numbers too long for any integer type.
            let at = rng.random_range(0..=len);
            let digits = vec![b'9'; rng.random_range(1..40)];
            b.splice(at..at, digits);
        }
        _ => {
            let token = DICTIONARY[rng.random_range(0..DICTIONARY.len())].as_bytes();
            let at = rng.random_range(0..=len);
            b.splice(at..at, token.iter().copied());
        }
    }
}

/// Where a value sits in its document.
#[derive(Clone)]
enum Step {
    Index(usize),
    Key(String),
}

fn paths(v: &Value, here: &mut Vec<Step>, all: &mut Vec<Vec<Step>>) {
    all.push(here.clone());
    match v {
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                here.push(Step::Index(i));
                paths(x, here, all);
                here.pop();
            }
        }
        Value::Object(m) => {
            for (k, x) in m {
                here.push(Step::Key(k.clone()));
                paths(x, here, all);
                here.pop();
            }
        }
        _ => {}
    }
}

fn at<'a>(v: &'a mut Value, path: &[Step]) -> Option<&'a mut Value> {
    path.iter().try_fold(v, |v, s| match s {
        Step::Index(i) => v.get_mut(*i),
        Step::Key(k) => v.get_mut(k.as_str()),
    })
}

/// An edit of the document's tree, or None when `input` is not JSON.
fn tree_mutation(input: &[u8], rng: &mut impl RngCore) -> Option<Vec<u8>> {
    let mut doc: Value = serde_json::from_slice(input).ok()?;
    let mut all = Vec::new();
    paths(&doc, &mut Vec::new(), &mut all);
    let path = all[rng.random_range(0..all.len())].clone();
    let donor = {
        let p = &all[rng.random_range(0..all.len())];
        at(&mut doc, p).cloned().unwrap_or(Value::Null)
    };
    match rng.random_range(0..6) {
        // Remove the value from its parent.
        0 if !path.is_empty() => {
            let (last, parent) = path.split_last()?;
            match (at(&mut doc, parent)?, last) {
                (Value::Array(a), Step::Index(i)) => {
                    a.remove(*i);
                }
                (Value::Object(m), Step::Key(k)) => {
                    m.shift_remove(k);
                }
                _ => {}
            }
        }
        // Repeat an element of a list.
        1 => {
            if let Value::Array(a) = at(&mut doc, &path)? {
                if !a.is_empty() {
                    let x = a[rng.random_range(0..a.len())].clone();
                    a.insert(rng.random_range(0..=a.len()), x);
                }
            }
        }
        // Another part of the document in its place.
        2 => *at(&mut doc, &path)? = donor,
        // A number at an edge.
        3 => {
            let x = INTERESTING_NUMBERS[rng.random_range(0..INTERESTING_NUMBERS.len())];
            let n = if x.fract() == 0.0 && x.abs() < 1e18 && rng.random_bool(0.5) {
                Value::from(x as i64)
            } else {
                serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number)
            };
            *at(&mut doc, &path)? = n;
        }
        // A value of another type.
        4 => {
            let v = match rng.random_range(0..6) {
                0 => Value::Null,
                1 => Value::Bool(rng.random_bool(0.5)),
                2 => Value::String("x".into()),
                3 => Value::Array(vec![]),
                4 => Value::Object(Default::default()),
                _ => Value::String("12".into()),
            };
            *at(&mut doc, &path)? = v;
        }
        // A number nudged by one.
        _ => {
            let v = at(&mut doc, &path)?;
            if let Some(i) = v.as_i64() {
                *v = Value::from(i.wrapping_add(if rng.random_bool(0.5) { 1 } else { -1 }));
            }
        }
    }
    serde_json::to_vec(&doc).ok()
}
