//! Runs the shared decoding vectors (`tests/vectors.json`, a copy of
//! `shared/conformance/vectors.json`) through `EventDecoder`, whole and cut
//! into chunks at many points: the result must not depend on the cuts.
//!
//! Inputs under 200 bytes are cut at every split point into two pieces and
//! at every pair of split points into three; longer inputs are cut into
//! fixed-size and seeded pseudo-random chunkings, 1-byte chunks included.
//! Every case and chunking is run; failures are collected and reported
//! together, by vector name.

mod common;

use std::collections::HashSet;

use base64::Engine as _;
use common::{
    chunks_at, decode_chunks, fixed_splits, lossy, short, EvExt, Transcript, TranscriptExt,
    XorShift,
};
use serde_json::Value;
use ssekit::Limits;

const VECTORS: &str = include_str!("vectors.json");

/// Inputs shorter than this are split exhaustively.
const EXHAUSTIVE_BELOW: usize = 200;

/// At most this many failure messages are kept per case.
const MESSAGES_PER_CASE: usize = 3;

struct Case {
    name: String,
    input: Vec<u8>,
    input_text: Option<String>,
    events: Vec<(String, String, String)>,
    retries: Vec<u64>,
    comments: Vec<String>,
}

fn string(v: &Value, what: &str) -> String {
    v.as_str()
        .unwrap_or_else(|| panic!("{what} is not a string: {v}"))
        .to_owned()
}

fn load() -> Vec<Case> {
    let root: Value = serde_json::from_str(VECTORS).expect("vectors.json is valid JSON");
    let cases = root["cases"].as_array().expect("a `cases` array");
    cases
        .iter()
        .map(|c| {
            let name = string(&c["name"], "name");
            let input = base64::engine::general_purpose::STANDARD
                .decode(c["input_b64"].as_str().expect("input_b64"))
                .unwrap_or_else(|e| panic!("{name}: bad base64: {e}"));
            let events = c["events"]
                .as_array()
                .unwrap_or_else(|| panic!("{name}: events"))
                .iter()
                .map(|e| {
                    (
                        string(&e["type"], "type"),
                        string(&e["data"], "data"),
                        string(&e["id"], "id"),
                    )
                })
                .collect();
            let retries = c["retries"]
                .as_array()
                .unwrap_or_else(|| panic!("{name}: retries"))
                .iter()
                .map(|r| r.as_u64().unwrap_or_else(|| panic!("{name}: retry {r}")))
                .collect();
            let comments = c["comments"]
                .as_array()
                .unwrap_or_else(|| panic!("{name}: comments"))
                .iter()
                .map(|s| string(s, "comment"))
                .collect();
            Case {
                input_text: c["input_text"].as_str().map(str::to_owned),
                name,
                input,
                events,
                retries,
                comments,
            }
        })
        .collect()
}

/// Compares a transcript with the case's expectations; describes every
/// difference.
fn compare(case: &Case, got: &Transcript) -> Result<(), String> {
    let mut problems = Vec::new();
    let events: Vec<(String, String, String)> = got.events().iter().map(|e| e.text()).collect();
    let expected = &case.events[..];
    if events != expected {
        if events.len() != expected.len() {
            problems.push(format!(
                "{} events expected, {} dispatched",
                expected.len(),
                events.len()
            ));
        }
        if let Some(i) = (0..events.len().min(expected.len())).find(|&i| events[i] != expected[i]) {
            problems.push(format!(
                "event {i}: expected {}, got {}",
                short(&format!("{:?}", expected[i])),
                short(&format!("{:?}", events[i]))
            ));
        }
    }
    if got.retries() != case.retries {
        problems.push(format!(
            "retries: expected {:?}, got {:?}",
            case.retries,
            got.retries()
        ));
    }
    let comments = got.comments();
    if comments != case.comments {
        problems.push(format!(
            "comments: expected {}, got {}",
            short(&format!("{:?}", case.comments)),
            short(&format!("{comments:?}"))
        ));
    }
    let errors: Vec<_> = got.errors().collect();
    if !errors.is_empty() {
        problems.push(format!("unexpected errors: {errors:?}"));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}

/// The chunkings a case is checked under, as (description, split points).
fn chunkings(index: usize, len: usize, mut visit: impl FnMut(&str, &[usize])) {
    visit("whole", &[]);
    visit("1-byte chunks", &fixed_splits(len, 1));
    if len < EXHAUSTIVE_BELOW {
        for a in 0..=len {
            visit(&format!("two pieces at {a}"), &[a]);
        }
        for a in 1..len {
            for b in a + 1..len {
                visit(&format!("three pieces at {a},{b}"), &[a, b]);
            }
        }
        return;
    }
    for size in [2, 3, 7, 64, 1460, 4096] {
        visit(&format!("{size}-byte chunks"), &fixed_splits(len, size));
    }
    // Big inputs get fewer, but still varied, random chunkings.
    let rounds = if len > 100_000 { 6 } else { 48 };
    let mut rng = XorShift::new(0x5EED_0000 + index as u64);
    for round in 0..rounds {
        let max_chunk = [4, 16, 64, 300, 1500, 8192][round % 6];
        let splits = rng.splits(len, max_chunk);
        visit(
            &format!(
                "random #{round} (chunks of 1..={max_chunk}, {} pieces, first cuts {:?})",
                splits.len() + 1,
                &splits[..splits.len().min(8)]
            ),
            &splits,
        );
    }
}

#[test]
fn vectors_are_well_formed() {
    let cases = load();
    assert_eq!(cases.len(), 131, "the shared suite has 131 cases");
    let mut names = HashSet::new();
    for case in &cases {
        assert!(names.insert(&case.name), "duplicate name {}", case.name);
        if let Some(text) = &case.input_text {
            assert_eq!(
                text.as_bytes(),
                &case.input[..],
                "{}: input_text and input_b64 differ",
                case.name
            );
        }
    }
}

#[test]
fn conformance_vectors_every_chunking() {
    let cases = load();
    let mut checked = 0usize;
    let mut failing: Vec<(String, usize, Vec<String>)> = Vec::new();
    for (index, case) in cases.iter().enumerate() {
        let mut failures = 0usize;
        let mut messages = Vec::new();
        chunkings(index, case.input.len(), |what, splits| {
            checked += 1;
            let (got, _) = decode_chunks(Limits::default(), chunks_at(&case.input, splits));
            if let Err(problem) = compare(case, &got) {
                failures += 1;
                if messages.len() < MESSAGES_PER_CASE {
                    messages.push(format!("[{what}] {problem}"));
                }
            }
        });
        if failures > 0 {
            failing.push((case.name.clone(), failures, messages));
        }
    }
    let passed = cases.len() - failing.len();
    println!(
        "conformance: {passed}/{} cases passed, {checked} chunkings checked",
        cases.len()
    );
    if !failing.is_empty() {
        let mut report = String::new();
        for (name, failures, messages) in &failing {
            report.push_str(&format!("\n{name}: {failures} chunkings failed\n"));
            for m in messages {
                report.push_str(&format!("    {m}\n"));
            }
        }
        let names: Vec<&str> = failing.iter().map(|(n, _, _)| n.as_str()).collect();
        panic!(
            "{} of {} vectors failed: {names:?}\n{report}",
            failing.len(),
            cases.len()
        );
    }
}

/// Each vector decoded whole, with its name in the message, so a single
/// failing vector is easy to spot even without the chunked run.
#[test]
fn conformance_vectors_whole() {
    let cases = load();
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|case| {
            let (got, _) = decode_chunks(Limits::default(), [&case.input[..]]);
            compare(case, &got).err().map(|p| {
                format!(
                    "{} (input {}): {p}",
                    case.name,
                    short(&format!("{:?}", lossy(&case.input)))
                )
            })
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} vectors failed decoded whole:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
