//! `bench merge`: one result set from the shards of a sweep (`--shard I/N` runs). Refused when
//! the shards disagree on what was run: another commit, other options, another count of
//! shards, one shard twice, or one workload under two content hashes. Shards missing from
//! 0..N are reported; the merged set then lacks their cells. Each shard's cell files
//! (placements, schedules, run files) are copied beside the merged rows.

use super::{load_results, write_results, Record, RunMetadata};
use crate::error::{Error, Result};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What a merge found besides the rows.
#[derive(Debug, Default)]
pub struct Merged {
    pub records: Vec<Record>,
    pub meta: Option<RunMetadata>,
    /// Shards of 0..N that no folder held.
    pub missing: Vec<usize>,
    pub count: usize,
}

/// The arguments that decide which cells a run has: its command line less where it wrote,
/// how it showed progress, its threads and its shard.
pub fn deciding_arguments(command: &str) -> Vec<String> {
    let drop_with_value = ["--out", "--shard", "--threads", "-o"];
    let drop = ["--quiet", "-q", "--resume", "--json"];
    let words: Vec<&str> = command.split_whitespace().skip(1).collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < words.len() {
        let w = words[i];
        let key = w.split('=').next().unwrap_or(w);
        if drop_with_value.contains(&key) {
            i += if w.contains('=') { 1 } else { 2 };
            continue;
        }
        if !drop.contains(&w) {
            out.push(w.to_owned());
        }
        i += 1;
    }
    out
}

fn shard_of(meta: &RunMetadata, dir: &Path) -> Result<(usize, usize)> {
    let s = meta.shard.as_deref().ok_or_else(|| {
        Error::input(dir.join("results.json"), "field \"metadata.shard\"", "not the result of a --shard run")
    })?;
    let sh = crate::run::shard::parse(s)
        .map_err(|e| Error::input(dir.join("results.json"), "field \"metadata.shard\"", e))?;
    Ok((sh.index, sh.count))
}

/// Merges the shards in `dirs`.
pub fn merge(dirs: &[PathBuf]) -> Result<Merged> {
    let mut m = Merged::default();
    let mut seen: BTreeMap<usize, &Path> = BTreeMap::new();
    let mut hashes: BTreeMap<String, String> = BTreeMap::new();
    let mut first: Option<(RunMetadata, Vec<String>, PathBuf)> = None;
    for dir in dirs {
        let (meta, records) = load_results(dir)?;
        let file = dir.join("results.json");
        let meta =
            meta.ok_or_else(|| Error::input(&file, "field \"metadata\"", "absent: cannot tell which sweep it is"))?;
        let (index, count) = shard_of(&meta, dir)?;
        let args = deciding_arguments(&meta.command);
        match &first {
            None => {
                m.count = count;
                first = Some((meta.clone(), args, dir.clone()));
            }
            Some((f, fargs, fdir)) => {
                let differ = |what: &str, a: String, b: String| {
                    Error::input(
                        &file,
                        format!("field \"metadata.{what}\""),
                        format!("{b} where {} has {a}", fdir.display()),
                    )
                };
                if f.git_commit != meta.git_commit {
                    return Err(differ("git_commit", format!("{:?}", f.git_commit), format!("{:?}", meta.git_commit)));
                }
                if *fargs != args {
                    return Err(differ("command", fargs.join(" "), args.join(" ")));
                }
                if (f.seed, f.time_limit_seconds) != (meta.seed, meta.time_limit_seconds) {
                    return Err(differ(
                        "seed",
                        format!("{} {:?}", f.seed, f.time_limit_seconds),
                        format!("{} {:?}", meta.seed, meta.time_limit_seconds),
                    ));
                }
                if count != m.count {
                    return Err(differ("shard", format!("N = {}", m.count), format!("N = {count}")));
                }
            }
        }
        if let Some(other) = seen.insert(index, dir) {
            return Err(Error::input(
                &file,
                "field \"metadata.shard\"",
                format!("shard {index}/{count} again (also {})", other.display()),
            ));
        }
        for r in &records {
            if let Some(h) = hashes.insert(r.workload.clone(), r.workload_hash.clone()) {
                if h != r.workload_hash {
                    return Err(Error::input(
                        &file,
                        format!("workload {:?}: field \"workload_hash\"", r.workload),
                        "another content hash than in an earlier shard",
                    ));
                }
            }
        }
        m.records.extend(records);
    }
    m.missing = (0..m.count).filter(|i| !seen.contains_key(i)).collect();
    if let Some((mut meta, _, _)) = first {
        meta.shard = None;
        meta.command = std::env::args().collect::<Vec<_>>().join(" ");
        m.meta = Some(meta);
    }
    Ok(m)
}

/// Writes a merge into `out`: the rows and every shard's cell files.
pub fn write(out: &Path, dirs: &[PathBuf], m: &Merged) -> Result<()> {
    let meta = m.meta.as_ref().ok_or_else(|| Error::Usage("nothing to merge".into()))?;
    for dir in dirs {
        for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
            let path = entry.map_err(|e| Error::io(dir, e))?.path();
            let Some(name) = path.file_name().and_then(|n| n.to_str()) else { continue };
            if !path.is_dir() || name.starts_with('.') {
                continue;
            }
            for f in walkdir::WalkDir::new(&path).into_iter().filter_map(|e| e.ok()).filter(|e| e.file_type().is_file())
            {
                let rel = f.path().strip_prefix(dir).unwrap_or(f.path());
                let bytes = std::fs::read(f.path()).map_err(|e| Error::io(f.path(), e))?;
                super::write_atomic(&out.join(rel), &bytes)?;
            }
        }
    }
    write_results(out, meta, &m.records)
}
