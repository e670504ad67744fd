//! Replays the fuzz corpus and every input the fuzzer ever failed on (tests/fixtures/fuzz/,
//! one folder per reader, crashes/ beside them): each must be read or refused with one line
//! naming the file, without a panic. Then a short fuzz run of an ordinary build, seeded, must
//! find no failure either (the long, coverage-guided run is `scripts/fuzz.sh`; its report is
//! results/fuzz/fuzz.json).

use placebench::fuzz::targets::{check, Verdict, ALL};
use placebench::fuzz::{corpus, fuzz, FuzzArgs};
use std::path::Path;

fn fixtures() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/fuzz"))
}

#[test]
fn every_corpus_and_crash_input_is_read_or_refused_in_one_line() {
    let mut replayed = 0;
    for dir in [fixtures().to_path_buf(), fixtures().join("crashes")] {
        for t in ALL {
            for (path, bytes) in corpus::load(&dir, t).expect("corpus reads") {
                let v = std::panic::catch_unwind(|| check(t, &bytes))
                    .unwrap_or_else(|_| panic!("{} panics on {}", t.name(), path.display()));
                assert!(!matches!(v, Verdict::Violation(_)), "{}: {}: {v:?}", t.name(), path.display());
                replayed += 1;
            }
        }
    }
    assert!(replayed >= 3, "the committed corpus is missing ({replayed} inputs under {})", fixtures().display());
}

#[test]
fn a_short_seeded_fuzz_run_finds_no_failure() {
    let dir = tempfile::tempdir().expect("temp dir");
    let args = FuzzArgs {
        target: vec![],
        inputs: 3000,
        seed: 7,
        corpus: fixtures().to_path_buf(),
        workload_seeds: vec![Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/malformed")).into()],
        out: dir.path().to_path_buf(),
        max_len: 4096,
        no_save: true,
        quiet: true,
    };
    let code = fuzz(args).expect("the fuzz run completes");
    let report = std::fs::read_to_string(dir.path().join("fuzz.json")).expect("report written");
    assert_eq!(code, 0, "failures found: {report}");
    assert!(dir.path().join("fuzz.png").is_file());
}
