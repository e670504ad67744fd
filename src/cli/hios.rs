//! `bench hios`: run a scheduling sweep, write its rows and schedules, print the table.

use crate::error::Result;
use crate::hios::sweep::{hios_records, HiosArgs};
use crate::results::table::print_table;
use crate::results::{write_atomic, write_results, Record};
use crate::run::session::{metadata, set_threads};
use std::path::PathBuf;

pub fn hios(a: HiosArgs) -> Result<i32> {
    let threads = set_threads(&a.common);
    let (records, files) = hios_records(&a)?;
    let out = a.out.clone().or_else(|| a.files.is_empty().then(|| PathBuf::from("results/hios")));
    if let Some(dir) = &out {
        for (name, text) in &files {
            write_atomic(&dir.join("schedules").join(name), text.as_bytes())?;
        }
        write_results(dir, &metadata(&a.common, threads), &records)?;
        eprintln!("wrote {}", dir.join("results.csv").display());
    }
    let refs: Vec<&Record> = records.iter().collect();
    if a.json {
        println!("{}", serde_json::to_string_pretty(&refs).unwrap_or_default());
    } else {
        print_table(&refs);
    }
    Ok(i32::from(records.iter().any(|r| r.status.is_failure())))
}
