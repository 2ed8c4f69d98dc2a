//! Replays the committed fuzz corpus on stable, through the same checks the
//! fuzz targets run (`ssekit_testkit`), so that every `cargo test` exercises
//! it without nightly or cargo-fuzz.
//!
//! - `fuzz/corpus/<target>/`: the seed corpus (written by `fuzz/seed.py`)
//!   and any inputs merged from fuzzing runs. Each target must have a
//!   non-empty directory, and every directory must name a target.
//! - `fuzz/regressions/<target>/`: inputs that once failed a check. All of
//!   them are replayed by `regressions`, and each also has a named test
//!   below, so a failure names the bug.
//!
//! Run with `--nocapture` to see how many files each target replayed.

use core::panic::AssertUnwindSafe;
use std::fs;
use std::panic::catch_unwind;
use std::path::{Path, PathBuf};

use ssekit_testkit::TARGETS;

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

/// The files in `dir`, sorted; none if it does not exist.
fn files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.expect("readable directory entry").path())
        .filter(|p| p.is_file())
        .filter(|p| !p.file_name().unwrap().to_string_lossy().starts_with('.'))
        .collect();
    files.sort();
    files
}

/// Runs `target`'s check on every file in `dir`; returns how many ran.
/// Failing files are listed together at the end (each panic message is
/// printed as it happens).
fn replay_dir(target: &str, dir: &Path, must_exist: bool) -> usize {
    let Some(check) = ssekit_testkit::target(target) else {
        println!("{target}: skipped, its crate feature is off");
        return 0;
    };
    let files = files(dir);
    assert!(
        !must_exist || !files.is_empty(),
        "{}: no corpus files; run `python3 fuzz/seed.py`",
        dir.display()
    );
    let failed: Vec<String> = files
        .iter()
        .filter(|path| {
            let data = fs::read(path).expect("readable corpus file");
            catch_unwind(AssertUnwindSafe(|| check(&data))).is_err()
        })
        .map(|path| path.display().to_string())
        .collect();
    println!("{target}: {} files from {}", files.len(), dir.display());
    assert!(
        failed.is_empty(),
        "{target}: {} of {} files failed:\n  {}",
        failed.len(),
        files.len(),
        failed.join("\n  ")
    );
    files.len()
}

fn replay_corpus(target: &str) {
    replay_dir(target, &fuzz_dir().join("corpus").join(target), true);
}

/// Runs one regression file through its target's check: the body of each
/// named regression test below.
#[allow(dead_code)] // until a regression has a named test
fn replay_regression(target: &str, name: &str) {
    let path = fuzz_dir().join("regressions").join(target).join(name);
    let data = fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let check = ssekit_testkit::target(target).expect("a known target");
    check(&data);
}

#[test]
fn corpus_decode() {
    replay_corpus("decode");
}

#[test]
fn corpus_decode_chunked() {
    replay_corpus("decode_chunked");
}

#[test]
fn corpus_decode_borrowed() {
    replay_corpus("decode_borrowed");
}

#[test]
fn corpus_roundtrip() {
    replay_corpus("roundtrip");
}

#[test]
fn corpus_encode_no_injection() {
    replay_corpus("encode_no_injection");
}

#[test]
fn corpus_tokio_codec() {
    replay_corpus("tokio_codec");
}

/// Every corpus and regression directory names a target, and every target
/// has a test above.
#[test]
fn directories_name_targets() {
    for kind in ["corpus", "regressions"] {
        let Ok(entries) = fs::read_dir(fuzz_dir().join(kind)) else {
            continue;
        };
        for entry in entries {
            let entry = entry.unwrap();
            if !entry.path().is_dir() {
                continue;
            }
            let name = entry.file_name().to_string_lossy().into_owned();
            assert!(
                TARGETS.contains(&name.as_str()),
                "fuzz/{kind}/{name} is not a fuzz target ({TARGETS:?})"
            );
        }
    }
    assert_eq!(
        TARGETS.len(),
        6,
        "add a corpus_<target> test for a new target"
    );
}

/// Every file under `fuzz/regressions/`, whether or not it has a named test.
#[test]
fn regressions() {
    let mut total = 0;
    for target in TARGETS {
        total += replay_dir(target, &fuzz_dir().join("regressions").join(target), false);
    }
    println!("regressions: {total} files");
}
