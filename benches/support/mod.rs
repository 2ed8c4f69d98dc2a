//! Shared code of the decode and scaling benchmarks: workloads, decoder
//! drivers, and the checks and time guard that run before measuring.
//!
//! Environment:
//! - `SSEKIT_BENCH_MIB` (default 16): size of each decode workload, in MiB.
//! - `SSEKIT_BENCH_WARMUP_MS` (default 300) and `SSEKIT_BENCH_MEASURE_MS`
//!   (default 1000): criterion's warm-up and measurement time per benchmark;
//!   the measurement time is raised automatically for slow decoders so that
//!   10 samples always fit.
//! - `SSEKIT_BENCH_SAMPLES` (default 10): criterion's sample size.
//! - `SSEKIT_BENCH_PEER_MAX_MS` (default 2000): the time guard. A peer whose
//!   extrapolated time for one pass over the full input exceeds this is not
//!   measured for that input; the reason is printed and recorded.
//!
//! Filters given on the command line (`cargo bench --bench decode -- tiny`)
//! are matched as substrings of `group/decoder/delivery`, here and by
//! criterion, so that checks are also skipped for filtered-out benchmarks.

// Each bench binary uses a different part of this module.
#![allow(dead_code)]

pub(crate) mod drivers;
pub(crate) mod workload;

use core::hint::black_box;
use core::time::Duration;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use bytes::Bytes;
use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, BenchmarkId, Criterion, SamplingMode, Throughput};

/// What a decoder reported: events dispatched (with data), the total length
/// of their data, and errors. Baselines put their own answer in it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Tally {
    pub(crate) events: usize,
    pub(crate) data_len: usize,
    pub(crate) errors: usize,
}

/// Run-wide settings, from the environment and the command line.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub(crate) mib: usize,
    pub(crate) warm_up: Duration,
    pub(crate) measure: Duration,
    pub(crate) samples: usize,
    pub(crate) peer_max: Duration,
    filters: Vec<String>,
}

fn env_num(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(v) => v
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name} must be a whole number, not {v:?}")),
        Err(_) => default,
    }
}

/// Criterion 0.5's options that take a value in the next argument.
const VALUE_FLAGS: &[&str] = &[
    "-b",
    "-c",
    "-s",
    "--baseline",
    "--baseline-lenient",
    "--color",
    "--confidence-level",
    "--format",
    "--load-baseline",
    "--measurement-time",
    "--noise-threshold",
    "--nresamples",
    "--output-format",
    "--plotting-backend",
    "--profile-time",
    "--sample-size",
    "--save-baseline",
    "--significance-level",
    "--warm-up-time",
];

/// The positional arguments: criterion's filter.
fn filters(args: impl Iterator<Item = String>) -> Vec<String> {
    let mut out = Vec::new();
    let mut skip_value = false;
    for arg in args {
        if core::mem::take(&mut skip_value) {
            continue;
        }
        if arg.starts_with('-') {
            skip_value = VALUE_FLAGS.contains(&arg.as_str());
        } else {
            out.push(arg);
        }
    }
    out
}

impl Config {
    pub(crate) fn from_env() -> Config {
        let filters = filters(std::env::args().skip(1));
        Config {
            mib: env_num("SSEKIT_BENCH_MIB", 16).max(1) as usize,
            warm_up: Duration::from_millis(env_num("SSEKIT_BENCH_WARMUP_MS", 300)),
            measure: Duration::from_millis(env_num("SSEKIT_BENCH_MEASURE_MS", 1000)),
            samples: env_num("SSEKIT_BENCH_SAMPLES", 10).max(10) as usize,
            peer_max: Duration::from_millis(env_num("SSEKIT_BENCH_PEER_MAX_MS", 2000)),
            filters,
        }
    }

    pub(crate) fn criterion(&self) -> Criterion {
        Criterion::default()
            .sample_size(self.samples)
            .warm_up_time(self.warm_up)
            .measurement_time(self.measure)
            .without_plots()
    }

    /// Whether `id` (`group/decoder/delivery`) passes the command-line filters.
    pub(crate) fn wants(&self, id: &str) -> bool {
        self.filters.is_empty() || self.filters.iter().any(|f| id.contains(f.as_str()))
    }

    /// Whether anything in `group` passes the filters.
    pub(crate) fn wants_group(&self, group: &str, names: &[&str], deliveries: &[String]) -> bool {
        names.iter().any(|n| {
            deliveries
                .iter()
                .any(|d| self.wants(&format!("{group}/{n}/{d}")))
        })
    }
}

/// What a contender is, for checking and reporting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// One of ssekit's decoding paths.
    Ssekit,
    /// Another crate; time-guarded.
    Peer,
    /// A lower bound that does not decode; checked against its own answer.
    Baseline,
}

type RunFn = Box<dyn FnMut(&[Bytes]) -> Tally>;

/// A decoder (or baseline) entered in a benchmark group.
pub(crate) struct Contender {
    pub(crate) name: &'static str,
    pub(crate) kind: Kind,
    pub(crate) run: RunFn,
}

impl Contender {
    pub(crate) fn new(
        name: &'static str,
        kind: Kind,
        run: impl FnMut(&[Bytes]) -> Tally + 'static,
    ) -> Contender {
        Contender {
            name,
            kind,
            run: Box::new(run),
        }
    }
}

/// A read buffer kept from pass to pass over one input.
struct KeptBuffer {
    buf: bytes::BytesMut,
    /// The input it was last used for: its first chunk's address and the
    /// number of chunks.
    input: (usize, usize),
    /// Whether to keep it at all.
    keep: bool,
}

impl KeptBuffer {
    fn new(keep: bool) -> KeptBuffer {
        KeptBuffer {
            buf: bytes::BytesMut::new(),
            input: (0, 0),
            keep,
        }
    }

    /// The buffer, emptied; a fresh one if `chunks` is not the last input
    /// or buffers are not kept.
    fn for_input(&mut self, chunks: &[Bytes]) -> &mut bytes::BytesMut {
        let input = (
            chunks.first().map_or(0, |c| c.as_ptr() as usize),
            chunks.len(),
        );
        if !self.keep || input != self.input {
            self.input = input;
            self.buf = bytes::BytesMut::new();
        }
        self.buf.clear();
        &mut self.buf
    }
}

/// The decode contenders, ssekit first, with the given limits for ssekit.
/// With `keep_buffers`, the two decoders fed through a `BytesMut` keep it
/// from pass to pass over the same input (see [`KeptBuffer`]); without, each
/// pass starts with a new, empty one.
pub(crate) fn decoders(limits: ssekit::Limits, keep_buffers: bool) -> Vec<Contender> {
    use drivers::*;
    let mut buf = Vec::new();
    // The read buffers of the two `BytesMut`-fed decoders live as long as a
    // connection would: from pass to pass over the same input, so that a
    // pass starts with a buffer that has room, as in a running `FramedRead`,
    // rather than paying for a fresh one. A new input gets a new buffer.
    let mut ssekit_buf = KeptBuffer::new(keep_buffers);
    let mut sse_codec_buf = KeptBuffer::new(keep_buffers);
    vec![
        Contender::new("ssekit_owned", Kind::Ssekit, move |c| {
            ssekit_owned(c, limits, ssekit_buf.for_input(c))
        }),
        Contender::new("ssekit_bytes", Kind::Ssekit, move |c| {
            ssekit_bytes(c, limits)
        }),
        Contender::new("ssekit_borrowed", Kind::Ssekit, move |c| {
            ssekit_borrowed(c, limits)
        }),
        Contender::new("ssekit_stream", Kind::Ssekit, move |c| {
            ssekit_stream(c, limits)
        }),
        Contender::new("ssekit_fields", Kind::Ssekit, move |c| {
            ssekit_fields(c, limits)
        }),
        Contender::new("sse_core", Kind::Peer, sse_core),
        Contender::new("sse_stream", Kind::Peer, sse_stream),
        Contender::new("sseer", Kind::Peer, sseer),
        Contender::new("eventsource_stream", Kind::Peer, eventsource_stream),
        Contender::new("sse_codec", Kind::Peer, move |c| {
            sse_codec(c, sse_codec_buf.for_input(c))
        }),
        Contender::new("async_sse", Kind::Peer, async_sse),
        Contender::new("memchr_count", Kind::Baseline, memchr_count),
        Contender::new("memcpy", Kind::Baseline, move |c| memcpy(c, &mut buf)),
    ]
}

/// The suffix given to a contender whose answer was wrong: it is still
/// measured, but reports leave it out of every ratio.
pub(crate) const MISPARSE: &str = "_MISPARSE";

/// One line of `ssekit-notes.json`, telling how a benchmark was checked.
#[derive(Debug, Clone)]
pub(crate) struct Note {
    pub(crate) status: &'static str,
    pub(crate) detail: String,
}

/// Criterion's output directory, as criterion itself finds it.
fn criterion_dir() -> PathBuf {
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| PathBuf::from("target"), PathBuf::from);
    target.join("criterion")
}

/// Group names as criterion turns them into directory names.
fn dir_name(group: &str) -> String {
    group
        .chars()
        .map(|c| match c {
            '?' | '"' | '/' | '\\' | '*' | '<' | '>' | ':' | '|' | '^' => '_',
            c => c,
        })
        .collect()
}

/// Merges `notes` into `<criterion>/<group>/ssekit-notes.json`, keyed by
/// `decoder/delivery`, so that filtered runs keep the other entries.
pub(crate) fn write_notes(group: &str, notes: &BTreeMap<String, Note>) {
    if notes.is_empty() {
        return;
    }
    let dir = criterion_dir().join(dir_name(group));
    let path = dir.join("ssekit-notes.json");
    let mut all: serde_json::Map<String, serde_json::Value> = std::fs::read(&path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    for (key, note) in notes {
        all.insert(
            key.clone(),
            serde_json::json!({ "status": note.status, "detail": note.detail }),
        );
    }
    let text = serde_json::to_string_pretty(&serde_json::Value::Object(all)).unwrap();
    if std::fs::create_dir_all(&dir)
        .and_then(|()| std::fs::write(&path, text))
        .is_err()
    {
        eprintln!("note: could not write {}", path.display());
    }
}

/// The mean time per iteration, in ns, that criterion estimated for
/// `group/function/parameter` in this run (its estimates written after
/// `since`); `None` when it was not measured (a `--test` run, or filtered
/// out).
pub(crate) fn mean_ns_since(
    group: &str,
    function: &str,
    parameter: &str,
    since: std::time::SystemTime,
) -> Option<f64> {
    let path = [group, function, parameter, "new", "estimates.json"]
        .iter()
        .fold(criterion_dir(), |p, part| p.join(dir_name(part)));
    let fresh = std::fs::metadata(&path)
        .and_then(|m| m.modified())
        .is_ok_and(|t| t >= since);
    if !fresh {
        return None;
    }
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).ok()?).ok()?;
    json["mean"]["point_estimate"].as_f64()
}

/// The fastest of up to three runs; a slow run (over 100 ms) is not repeated.
fn time_once(run: &mut RunFn, chunks: &[Bytes]) -> (Duration, Tally) {
    let mut best = Duration::MAX;
    let mut tally = Tally::default();
    for _ in 0..3 {
        let t0 = Instant::now();
        tally = run(black_box(chunks));
        let t = t0.elapsed();
        best = best.min(t);
        if t > Duration::from_millis(100) {
            break;
        }
    }
    (best, tally)
}

/// The time guard. Runs the peer on samples of 64 KiB, 128 KiB, ... up to
/// 1 MiB (each delivered like the full input), and after each one
/// extrapolates to the full size: with the growth exponent measured between
/// the last two samples (clamped to 1..=2.5, so a quadratic peer is seen as
/// one) once the samples take long enough to time (2 ms), linearly before.
/// Stops at the first estimate over `max`, so a quadratic peer costs a few
/// small runs. Returns the reason to skip, if any.
fn guard(
    run: &mut RunFn,
    sample: &mut dyn FnMut(usize) -> Vec<Bytes>,
    full_len: usize,
    max: Duration,
) -> Option<String> {
    const TIMEABLE: f64 = 0.002;
    let max_s = max.as_secs_f64();
    let mut prev: Option<(f64, f64)> = None;
    for kib in [64, 128, 256, 512, 1024] {
        let chunks = sample(kib << 10);
        let len: usize = chunks.iter().map(Bytes::len).sum();
        if len >= full_len && prev.is_some() {
            break;
        }
        let (t, _) = time_once(run, &chunks);
        let (s2, t2) = (len as f64, t.as_secs_f64());
        let k = match prev {
            Some((s1, t1)) if t2 >= TIMEABLE && s2 > s1 => {
                ((t2 / t1.max(1e-9)).ln() / (s2 / s1).ln()).clamp(1.0, 2.5)
            }
            _ => 1.0,
        };
        let estimate = t2 * (full_len as f64 / s2).max(1.0).powf(k);
        if estimate > max_s {
            return Some(format!(
                "a pass over a {} KiB sample took {:.3} s; over the full {:.1} MiB that extrapolates to {:.1} s \
                 (time ~ size^{k:.2}), over the {:.1} s limit",
                len >> 10,
                t2,
                full_len as f64 / f64::from(1 << 20),
                estimate,
                max_s
            ));
        }
        prev = Some((s2, t2));
    }
    None
}

/// The inputs of one benchmark group: the full stream, its expected answer,
/// and a way to make smaller samples of it for the time guard.
pub(crate) struct Input<'a> {
    /// Criterion group name, e.g. `decode_llm_tokens`.
    pub(crate) group: String,
    /// The label of this input within the group, e.g. `whole`.
    pub(crate) label: String,
    pub(crate) chunks: Vec<Bytes>,
    pub(crate) len: usize,
    pub(crate) expected: Tally,
    /// Makes a sample of about the given size, delivered the same way.
    pub(crate) sample: &'a mut dyn FnMut(usize) -> Vec<Bytes>,
}

/// Checks and measures every contender on one input, adding the benchmarks
/// to `group` as `decoder/label`. Writes the notes for the group.
pub(crate) fn run_input(
    cfg: &Config,
    group: &mut BenchmarkGroup<'_, WallTime>,
    input: Input<'_>,
    contenders: &mut [Contender],
) {
    let mut notes = BTreeMap::new();
    group.throughput(Throughput::Bytes(input.len as u64));
    group.sampling_mode(SamplingMode::Flat);
    let baselines = baseline_answers(&input.chunks);
    for c in contenders.iter_mut() {
        let key = format!("{}/{}", c.name, input.label);
        if !cfg.wants(&format!("{}/{key}", input.group)) {
            continue;
        }
        if c.kind == Kind::Peer {
            if let Some(reason) = guard(&mut c.run, input.sample, input.len, cfg.peer_max) {
                eprintln!("skipped {}/{key}: {reason}", input.group);
                notes.insert(
                    key,
                    Note {
                        status: "skipped",
                        detail: reason,
                    },
                );
                continue;
            }
        }
        // The check, outside timing, doubling as a warm-up and a time probe.
        let t0 = Instant::now();
        let got = (c.run)(&input.chunks);
        let once = t0.elapsed();
        let want = match c.kind {
            Kind::Baseline => baselines.get(c.name).copied().unwrap_or(got),
            _ => input.expected,
        };
        let mut id = c.name.to_string();
        if got == want {
            notes.insert(
                key,
                Note {
                    status: "ok",
                    detail: String::new(),
                },
            );
        } else {
            let detail = format!(
                "expected {} events, {} data bytes, 0 errors; got {} events, {} data bytes, {} errors",
                want.events, want.data_len, got.events, got.data_len, got.errors
            );
            eprintln!(
                "MISPARSE {}/{key}: {detail}; measured as {id}{MISPARSE} and left out of ratios",
                input.group
            );
            notes.insert(
                key,
                Note {
                    status: "misparse",
                    detail,
                },
            );
            id.push_str(MISPARSE);
        }
        // Give slow contenders room for all samples, so criterion never
        // has to warn that it could not finish them in time.
        let needed = once.mul_f64(cfg.samples as f64 * 1.3);
        group.measurement_time(cfg.measure.max(needed));
        let run = &mut c.run;
        let chunks = &input.chunks;
        group.bench_function(BenchmarkId::new(id, &input.label), |b| {
            b.iter(|| {
                let t = run(black_box(chunks));
                assert_eq!(t, got);
                t
            })
        });
    }
    write_notes(&input.group, &notes);
}

/// The answers the baselines must give.
fn baseline_answers(chunks: &[Bytes]) -> BTreeMap<&'static str, Tally> {
    let mut lfs = 0;
    let mut len = 0;
    for c in chunks {
        lfs += c.iter().filter(|&&b| b == b'\n').count();
        len += c.len();
    }
    BTreeMap::from([
        (
            "memchr_count",
            Tally {
                events: lfs,
                ..Tally::default()
            },
        ),
        (
            "memcpy",
            Tally {
                data_len: len,
                ..Tally::default()
            },
        ),
    ])
}
