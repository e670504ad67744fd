//! Writers for results files. Every file is written to a temporary name in its folder and
//! renamed into place, so a reader never sees half a file.

use super::{Record, RunMetadata};
use crate::error::{Error, Result};
use std::io::Write;
use std::path::Path;

/// Writes `bytes` to `path` atomically (temporary file in the same folder, then rename),
/// xz-compressed when the name ends in `.xz`.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    if path.extension().is_some_and(|e| e == "xz") {
        let mut enc = xz2::write::XzEncoder::new(Vec::new(), 9);
        enc.write_all(bytes).map_err(|e| Error::io(path, e))?;
        let packed = enc.finish().map_err(|e| Error::io(path, e))?;
        return write_plain(path, &packed);
    }
    write_plain(path, bytes)
}

fn write_plain(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| Error::io(dir, e))?;
    tmp.write_all(bytes).map_err(|e| Error::io(path, e))?;
    // Temporary files are private (0600); results are ordinary files.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::Permissions::from_mode(0o644);
        std::fs::set_permissions(tmp.path(), mode).map_err(|e| Error::io(path, e))?;
    }
    tmp.persist(path).map_err(|e| Error::io(path, e.error))?;
    Ok(())
}

/// Writes `results.csv` and `results.json` into `dir`.
pub fn write_results(dir: &Path, meta: &RunMetadata, records: &[Record]) -> Result<()> {
    let mut csv = csv::Writer::from_writer(Vec::new());
    for r in records {
        csv.serialize(r).map_err(|e| Error::Usage(format!("CSV: {e}")))?;
    }
    let bytes = csv.into_inner().map_err(|e| Error::Usage(format!("CSV: {e}")))?;
    write_atomic(&dir.join("results.csv"), &bytes)?;
    let json = serde_json::json!({ "metadata": meta, "records": records });
    let text = serde_json::to_vec_pretty(&json).map_err(|e| Error::Usage(format!("JSON: {e}")))?;
    write_atomic(&dir.join("results.json"), &text)
}
