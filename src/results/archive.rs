//! Archived GPU runs: each run folder is kept as one `RUN.tar.xz` under `results/gpu/`, read
//! here without unpacking (the figures' rows) or unpacked where scripts and tests need files.

use crate::error::{Error, Result};
use std::io::Read;
use std::path::{Path, PathBuf};

/// Every `*.tar.xz` under `dir`, sorted by name.
pub fn archives(dir: &Path) -> Result<Vec<PathBuf>> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Ok(Vec::new()) };
    let mut out: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file() && p.to_string_lossy().ends_with(".tar.xz"))
        .collect();
    out.sort();
    Ok(out)
}

/// The files of `archive` whose path inside it `want` accepts, as (path, bytes).
pub fn read_entries(archive: &Path, want: impl Fn(&str) -> bool) -> Result<Vec<(String, Vec<u8>)>> {
    let file = std::fs::File::open(archive).map_err(|e| Error::io(archive, e))?;
    let mut tar = tar::Archive::new(xz2::read::XzDecoder::new(file));
    let mut out = Vec::new();
    let bad = |e: std::io::Error| Error::input(archive, "archive", e.to_string());
    for entry in tar.entries().map_err(bad)? {
        let mut entry = entry.map_err(bad)?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let path = entry.path().map_err(bad)?.to_string_lossy().to_string();
        if want(&path) {
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes).map_err(bad)?;
            out.push((path, bytes));
        }
    }
    Ok(out)
}

/// Unpacks `archive` into `into` (which then holds the run's folder); returns that folder.
/// Unpacks into a temporary sibling first and renames it, so that a reader never sees half a
/// run, and a run already unpacked is kept as it is.
pub fn unpack(archive: &Path, into: &Path) -> Result<PathBuf> {
    let name = archive.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
    let run = name.strip_suffix(".tar.xz").unwrap_or(&name).to_owned();
    let target = into.join(&run);
    if target.is_dir() {
        return Ok(target);
    }
    std::fs::create_dir_all(into).map_err(|e| Error::io(into, e))?;
    let tmp = tempfile::TempDir::new_in(into).map_err(|e| Error::io(into, e))?;
    let file = std::fs::File::open(archive).map_err(|e| Error::io(archive, e))?;
    tar::Archive::new(xz2::read::XzDecoder::new(file))
        .unpack(tmp.path())
        .map_err(|e| Error::input(archive, "archive", e.to_string()))?;
    let unpacked = tmp.path().join(&run);
    if std::fs::rename(&unpacked, &target).is_err() && !target.is_dir() {
        return Err(Error::input(archive, "archive", format!("holds no folder {run}/")));
    }
    Ok(target)
}
