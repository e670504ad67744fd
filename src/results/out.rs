//! The `--out` folder of a run: checked and claimed before any work (a file in its place, or
//! another run writing into it, is refused at once rather than after the run), released when
//! the run ends. The claim is a lock file holding the process id; one left by a run that no
//! longer exists (killed, interrupted) is taken over.

use crate::error::{Error, Result};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The lock file's name inside the folder.
pub const LOCK: &str = ".placebench.lock";

/// A claimed output folder; dropping it releases the claim.
#[derive(Debug)]
pub struct OutDir {
    lock: PathBuf,
}

impl OutDir {
    /// Checks `dir` (a folder, or nothing yet), creates it and claims it for this process.
    pub fn claim(dir: &Path) -> Result<OutDir> {
        if dir.exists() && !dir.is_dir() {
            return Err(Error::Usage(format!("--out {}: a file, not a folder", dir.display())));
        }
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let lock = dir.join(LOCK);
        for _ in 0..2 {
            match std::fs::OpenOptions::new().write(true).create_new(true).open(&lock) {
                Ok(mut f) => {
                    write!(f, "{}", std::process::id()).map_err(|e| Error::io(&lock, e))?;
                    return Ok(OutDir { lock });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let pid = std::fs::read_to_string(&lock).ok().and_then(|s| s.trim().parse::<u32>().ok());
                    if let Some(pid) = pid.filter(|&p| alive(p)) {
                        return Err(Error::Usage(format!(
                            "--out {}: another bench run (process {pid}) is writing into it",
                            dir.display()
                        )));
                    }
                    // Left by a run that is gone: take it over.
                    std::fs::remove_file(&lock).map_err(|e| Error::io(&lock, e))?;
                }
                Err(e) => return Err(Error::io(&lock, e)),
            }
        }
        Err(Error::Usage(format!("--out {}: could not claim it", dir.display())))
    }
}

impl Drop for OutDir {
    fn drop(&mut self) {
        std::fs::remove_file(&self.lock).ok();
    }
}

/// Whether process `pid` exists.
fn alive(pid: u32) -> bool {
    #[cfg(unix)]
    {
        // SAFETY: signal 0 only checks that the process exists and may be signalled.
        let r = unsafe { libc::kill(pid as libc::pid_t, 0) };
        r == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
    }
    #[cfg(not(unix))]
    {
        let _ = pid;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `a/b` + `c` and `a` + `b/c` flatten alike: the second gets a hash, both stay.
    #[test]
    fn names_that_flatten_alike_stay_apart() {
        let mut u = UniqueNames::default();
        let first = u.take("a__b__c.json".into(), "a/b/c");
        let second = u.take("a__b__c.json".into(), "a__b/c");
        assert_eq!(first, "a__b__c.json");
        assert!(second.starts_with("a__b__c__") && second.ends_with(".json") && second != first);
    }

    /// A second run's folder holds its files only.
    #[test]
    fn a_staged_folder_replaces_the_earlier_one_whole() {
        let d = tempfile::tempdir().unwrap();
        let one = [("old.json".to_string(), b"1".to_vec())];
        stage(d.path(), "placements", &one).unwrap().commit().unwrap();
        let two = [("new.json".to_string(), b"2".to_vec())];
        stage(d.path(), "placements", &two).unwrap().commit().unwrap();
        let names: Vec<String> = std::fs::read_dir(d.path().join("placements"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
            .collect();
        assert_eq!(names, vec!["new.json".to_string()]);
        assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 1, "no staging folder left");
    }

    #[test]
    fn a_folder_is_claimed_once_and_a_stale_claim_taken_over() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("run");
        let first = OutDir::claim(&out).unwrap();
        assert!(OutDir::claim(&out).unwrap_err().to_string().contains("another bench run"));
        drop(first);
        // A lock of a process that does not exist (pid beyond any the kernel hands out).
        std::fs::write(out.join(LOCK), "4194305").unwrap();
        let again = OutDir::claim(&out).unwrap();
        drop(again);
        assert!(!out.join(LOCK).exists());
        let file = d.path().join("file");
        std::fs::write(&file, "x").unwrap();
        assert!(OutDir::claim(&file).unwrap_err().to_string().contains("a file, not a folder"));
    }
}

/// Files of one sub-folder of a run (placements, schedules) written aside, to replace the
/// folder as a whole once the results that name them are written: no file of an earlier run
/// stays beside the new results.
pub struct Staged {
    staging: PathBuf,
    live: PathBuf,
}

/// Writes `files` (name, bytes) into a staging folder beside `dir/name`.
pub fn stage(dir: &Path, name: &str, files: &[(String, Vec<u8>)]) -> Result<Staged> {
    let staging = dir.join(format!(".{name}.new"));
    if staging.exists() {
        std::fs::remove_dir_all(&staging).map_err(|e| Error::io(&staging, e))?;
    }
    std::fs::create_dir_all(&staging).map_err(|e| Error::io(&staging, e))?;
    for (file, bytes) in files {
        super::write_atomic(&staging.join(file), bytes)?;
    }
    Ok(Staged { staging, live: dir.join(name) })
}

impl Staged {
    /// Puts the staged folder in place of the live one.
    pub fn commit(self) -> Result<()> {
        let old = self.live.with_file_name(format!(
            ".{}.old",
            self.live.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default()
        ));
        if old.exists() {
            std::fs::remove_dir_all(&old).map_err(|e| Error::io(&old, e))?;
        }
        if self.live.exists() {
            std::fs::rename(&self.live, &old).map_err(|e| Error::io(&self.live, e))?;
        }
        std::fs::rename(&self.staging, &self.live).map_err(|e| Error::io(&self.staging, e))?;
        if old.exists() {
            std::fs::remove_dir_all(&old).map_err(|e| Error::io(&old, e))?;
        }
        Ok(())
    }
}

/// Names unique within one run: a name taken already (`a/b__c` and `a__b/c` both flatten to
/// `a__b__c`) gets a short hash of what it stands for.
#[derive(Default)]
pub struct UniqueNames(std::collections::HashSet<String>);

impl UniqueNames {
    /// `name` (`stem.json`), or `stem__HASH.json` if taken, for the thing called `full`.
    pub fn take(&mut self, name: String, full: &str) -> String {
        let name = if self.0.contains(&name) {
            use sha2::Digest;
            let h = format!("{:x}", sha2::Sha256::digest(full.as_bytes()));
            let stem = name.strip_suffix(".json").unwrap_or(&name);
            format!("{stem}__{}.json", &h[..8])
        } else {
            name
        };
        self.0.insert(name.clone());
        name
    }
}
