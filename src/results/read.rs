//! Reads results written by `bench` (results.json, or results.csv when that is all there is).

use super::{Record, RunMetadata};
use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

/// Loads the records (and metadata, from JSON) of a results file or of a folder holding one.
pub fn load_results(path: &Path) -> Result<(Option<RunMetadata>, Vec<Record>)> {
    let file: PathBuf = if path.is_dir() {
        let json = path.join("results.json");
        if json.is_file() {
            json
        } else {
            path.join("results.csv")
        }
    } else {
        path.to_path_buf()
    };
    let text = std::fs::read_to_string(&file).map_err(|e| Error::io(&file, e))?;
    if file.extension().is_some_and(|e| e == "csv") {
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let records = reader
            .deserialize()
            .enumerate()
            .map(|(i, r)| r.map_err(|e| Error::input(&file, format!("row {}", i + 1), e.to_string())))
            .collect::<Result<Vec<Record>>>()?;
        return Ok((None, records));
    }
    #[derive(serde::Deserialize)]
    struct ResultsFile {
        metadata: Option<RunMetadata>,
        records: Vec<Record>,
    }
    let f: ResultsFile = crate::strict_json::typed(&text).map_err(|e| {
        Error::input(&file, format!("line {} column {}", e.line(), e.column()), format!("not a results file: {e}"))
    })?;
    Ok((f.metadata, f.records))
}
