//! The fuzz corpus on disk: one file per input, named by its hash, one folder per target;
//! minimised so that every edge (and hit-count bucket) any entry reaches is kept by the
//! smallest entry that reaches it.

use super::targets::Target;
use crate::error::{Error, Result};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The file name of an input: the first 16 hex digits of its SHA-256.
pub fn name_of(bytes: &[u8]) -> String {
    let h = Sha256::digest(bytes);
    h.iter().take(8).map(|b| format!("{b:02x}")).collect::<String>() + ".json"
}

/// Every file directly in `dir/<target>/`, sorted by name (none when the folder is absent).
pub fn load(dir: &Path, target: Target) -> Result<Vec<(PathBuf, Vec<u8>)>> {
    let folder = dir.join(target.name());
    let Ok(entries) = std::fs::read_dir(&folder) else { return Ok(Vec::new()) };
    let mut files: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.is_file()).collect();
    files.sort();
    files.into_iter().map(|p| std::fs::read(&p).map(|b| (p.clone(), b)).map_err(|e| Error::io(&p, e))).collect()
}

/// Writes `bytes` into `dir/<target>/` under its hash (a file already there is left).
pub fn save(dir: &Path, target: Target, bytes: &[u8]) -> Result<PathBuf> {
    let folder = dir.join(target.name());
    std::fs::create_dir_all(&folder).map_err(|e| Error::io(&folder, e))?;
    let path = folder.join(name_of(bytes));
    if !path.exists() {
        crate::results::write_atomic(&path, bytes)?;
    }
    Ok(path)
}

/// Indices of the entries to keep: for each edge, the smallest entry that reaches it.
pub fn minimise(entries: &[(usize, Vec<u32>)]) -> Vec<usize> {
    let mut best: HashMap<u32, (usize, usize)> = HashMap::new();
    for (i, (size, edges)) in entries.iter().enumerate() {
        for &e in edges {
            let slot = best.entry(e).or_insert((*size, i));
            if (*size, i) < *slot {
                *slot = (*size, i);
            }
        }
    }
    let mut keep: Vec<usize> = best.values().map(|&(_, i)| i).collect();
    keep.sort_unstable();
    keep.dedup();
    keep
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimising_keeps_the_smallest_entry_per_edge() {
        let entries = vec![(10, vec![1, 2, 3]), (5, vec![1, 2]), (7, vec![3]), (20, vec![4])];
        assert_eq!(minimise(&entries), vec![1, 2, 3]);
    }
}
