//! A packing as `.npy` files (NumPy's format, version 1.0) for an external trainer: the
//! virtual weights as a (V, S) float32 array and each task's page table as an int64 vector.

use super::packing::{virtual_weights, Packing};
use super::task::Task;
use crate::error::{Error, Result};
use crate::results::write_atomic;
use std::path::Path;

/// The bytes of a little-endian `.npy` array of `shape` with element type `descr`.
pub fn npy(descr: &str, shape: &[usize], data: &[u8]) -> Vec<u8> {
    let dims = match shape {
        [n] => format!("({n},)"),
        _ => format!("({})", shape.iter().map(usize::to_string).collect::<Vec<_>>().join(", ")),
    };
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {dims}, }}");
    // Magic (6) + version (2) + length (2) + header, padded with spaces to a multiple of 64
    // and ended by a newline.
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = Vec::with_capacity(10 + header.len() + data.len());
    out.extend_from_slice(b"\x93NUMPY\x01\x00");
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    out
}

/// Writes `virtual_weights.npy` and `page_tables/TASK.npy` under `dir`.
pub fn export(dir: &Path, tasks: &[Task], pk: &Packing) -> Result<()> {
    let virt = virtual_weights(tasks, pk);
    let bytes: Vec<u8> = virt.iter().flat_map(|x| x.to_le_bytes()).collect();
    write_atomic(&dir.join("virtual_weights.npy"), &npy("<f4", &[pk.virtual_pages, pk.page_size], &bytes))?;
    let tables = dir.join("page_tables");
    std::fs::create_dir_all(&tables).map_err(|e| Error::io(&tables, e))?;
    for (t, table) in tasks.iter().zip(&pk.tables) {
        let bytes: Vec<u8> = table.iter().flat_map(|&v| (v as i64).to_le_bytes()).collect();
        let name = t.name.replace(['/', '~'], "_");
        write_atomic(&tables.join(format!("{name}.npy")), &npy("<i8", &[table.len()], &bytes))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The header follows the format's layout: magic, version 1.0, a little-endian length, a
    /// dictionary literal padded so the data starts on a 64-byte boundary.
    #[test]
    fn the_header_is_aligned_and_parsable() {
        let b = npy("<f4", &[3, 2], &[0u8; 24]);
        assert_eq!(&b[..8], b"\x93NUMPY\x01\x00");
        let len = u16::from_le_bytes([b[8], b[9]]) as usize;
        assert_eq!((10 + len) % 64, 0);
        let h = std::str::from_utf8(&b[10..10 + len]).unwrap();
        assert!(h.starts_with("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 2), }"));
        assert!(h.ends_with('\n'));
        assert_eq!(b.len(), 10 + len + 24);
        let v = npy("<i8", &[5], &[0u8; 40]);
        let hv = u16::from_le_bytes([v[8], v[9]]) as usize;
        assert!(std::str::from_utf8(&v[10..10 + hv]).unwrap().contains("'shape': (5,),"), "a 1-d shape is (5,)");
    }
}
