//! Server throughput: draining an SSE response body, ssekit's
//! `adapters::http::SseBody` against axum's `Sse`, for the events of the
//! `llm_tokens` workload (small single-line JSON `data` payloads).
//!
//! Group `server_llm_tokens`, `Throughput::Bytes` of the encoded output (the
//! same for every contender). Each benchmark builds one response body over
//! every event of the workload and drains it with
//! `http_body_util::BodyExt::frame`, as a server's connection task does, on
//! a tokio current-thread runtime with the time driver on
//! (`rt.block_on` inside `b.iter`). Frames and bytes are counted and asserted
//! on every iteration.
//!
//! Contenders (`BenchmarkId` function):
//! - `ssekit_prebuilt`: `SseBody` over `futures::stream::iter` of owned
//!   `Event`s built beforehand (moved in from a clone made outside the
//!   timing); the body encodes each one (`Event::to_bytes`);
//! - `ssekit_event`: `SseBody` over the payloads (`Bytes`), each turned into
//!   an `Event::new` as it is streamed: what a server that builds its events
//!   on the fly pays, and the like-for-like comparison with `axum`;
//! - `ssekit_frames`: `SseBody` over frames encoded beforehand, one `Bytes`
//!   clone each (a broadcast server shares one frame between its streams);
//! - `axum`: `axum::response::sse::Sse` over a stream of
//!   `Ok::<_, Infallible>(Event::default().data(&str))` built per event from
//!   the payload, drained through `Sse::into_response().into_body()` (the
//!   only public way to its bytes; that body is axum's boxed `Body`).
//!
//! Columns (`BenchmarkId` parameter):
//! - `no_keepalive`: ssekit with `.keep_alive(Duration::ZERO)`, axum without
//!   `.keep_alive(..)`;
//! - `keepalive`: ssekit's default (15 s), axum with
//!   `.keep_alive(KeepAlive::default())` (15 s);
//! - `keepalive_pending`: the same, but the event stream is pending once
//!   before every event (it wakes itself at once), as a live stream that
//!   waits for its events is: each event then also pays for polling the
//!   keep-alive timer and for a round through the runtime.
//!
//! In every column the stream is pending once before its first event (and
//! wakes itself at once). Both bodies arm their keep-alive timer only when
//! their stream is pending, so without that the `keepalive` column would
//! measure a timer that is never armed; with it, every event is written with
//! the timer running, as in a real stream (ssekit reads the clock once per
//! event; axum resets its timer once per event).
//!
//! Before timing, every contender is run once: its output must equal the
//! concatenation of the frames encoded beforehand (itself asserted equal to
//! the workload), and must decode with `ssekit::EventDecoder` to the
//! workload's payloads, one frame per event. A peer whose output differs is
//! reported (`<name>_MISPARSE`) and left out of the ratios, as in the encode
//! bench. ssekit output that differs is a bug, and panics.
//!
//! At the end, the ratios ssekit ÷ axum of events per second (throughput
//! divided by bytes per event: with the same events and bytes, the ratio of
//! throughputs) are printed per column, from criterion's estimates of this
//! run, and recorded in `<criterion>/server_llm_tokens/ssekit-notes.json`.
//!
//! ```text
//! cargo bench --features bench-peers --bench server
//! SSEKIT_BENCH_MIB=1 cargo bench --features bench-peers --bench server -- --test
//! ```

// `criterion_group!` defines an undocumented `pub fn`.
#![allow(missing_docs)]

#[path = "support/mod.rs"]
mod support;

use core::convert::Infallible;
use core::hint::black_box;
use core::pin::{pin, Pin};
use core::task::{Context, Poll};
use core::time::Duration;
use std::collections::BTreeMap;
use std::time::{Instant, SystemTime};

use bytes::{Bytes, BytesMut};
use criterion::{
    criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, SamplingMode, Throughput,
};
use futures::Stream;
use http_body::Body;
use http_body_util::BodyExt;
use ssekit::adapters::http::SseBody;
use support::workload::WorkloadKind;
use support::{mean_ns_since, write_notes, Config, Note, MISPARSE};

const NAMES: [&str; 4] = ["ssekit_prebuilt", "ssekit_event", "ssekit_frames", "axum"];

/// The contender every ssekit row is divided by.
const PEER: &str = "axum";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Mode {
    NoKeepAlive,
    KeepAlive,
    KeepAlivePending,
}

const MODES: [Mode; 3] = [Mode::NoKeepAlive, Mode::KeepAlive, Mode::KeepAlivePending];

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::NoKeepAlive => "no_keepalive",
            Mode::KeepAlive => "keepalive",
            Mode::KeepAlivePending => "keepalive_pending",
        }
    }

    fn keep_alive(self) -> bool {
        self != Mode::NoKeepAlive
    }

    fn pending_each(self) -> bool {
        self == Mode::KeepAlivePending
    }
}

/// A stream that is pending (and wakes itself at once) before its first
/// item, or before every item.
struct Gate<S> {
    inner: S,
    every: bool,
    open: bool,
}

impl<S> Gate<S> {
    fn new(inner: S, mode: Mode) -> Gate<S> {
        Gate {
            inner,
            every: mode.pending_each(),
            open: false,
        }
    }
}

impl<S: Stream + Unpin> Stream for Gate<S> {
    type Item = S::Item;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        if !self.open {
            self.open = true;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        let item = Pin::new(&mut self.inner).poll_next(cx);
        if self.every && item.is_ready() {
            self.open = false;
        }
        item
    }
}

/// Where frames go: counted while timing, collected while checking.
trait Sink {
    fn frame(&mut self, frame: &Bytes);
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Count {
    frames: usize,
    bytes: usize,
}

impl Sink for Count {
    fn frame(&mut self, frame: &Bytes) {
        self.frames += 1;
        self.bytes += black_box(frame).len();
    }
}

#[derive(Default)]
struct Collect {
    frames: usize,
    out: Vec<u8>,
}

impl Sink for Collect {
    fn frame(&mut self, frame: &Bytes) {
        self.frames += 1;
        self.out.extend_from_slice(frame);
    }
}

/// Everything a pass needs, prepared outside the timing.
struct Ctx {
    /// The data of every event, as `Bytes` (slices of one buffer).
    payloads: Vec<Bytes>,
    /// The same as `String`s; `'static` because axum's event stream must be.
    strings: &'static [String],
    /// ssekit events built from the payloads.
    events: Vec<ssekit::Event>,
    /// Their frames, each cloned once already (so that their storage is
    /// shared and a clone allocates nothing).
    frames: Vec<Bytes>,
    /// Every frame, in order: the output every contender must give.
    reference: Vec<u8>,
}

fn context(kind: WorkloadKind, size: usize) -> Ctx {
    let workload = kind.generate(size);
    let mut decoder = ssekit::EventDecoder::new();
    let mut buf = BytesMut::from(&workload.bytes[..]);
    let mut payloads = Vec::new();
    while let Some(event) = decoder.decode(&mut buf).expect("workload decodes") {
        payloads.push(event.data());
    }
    assert_eq!(payloads.len(), workload.expected.events);
    let strings: Vec<String> = payloads
        .iter()
        .map(|b| String::from_utf8(b.to_vec()).expect("workloads are UTF-8"))
        .collect();
    let events: Vec<ssekit::Event> = payloads
        .iter()
        .map(|d| ssekit::Event::new(d.clone()))
        .collect();
    let frames: Vec<Bytes> = events.iter().map(ssekit::Event::to_bytes).collect();
    // The first clone of a `Bytes` made from a `Vec` makes its storage
    // shared (one allocation); do it here, not in the timed loop.
    drop(frames.clone());
    let reference: Vec<u8> = frames.concat();
    assert_eq!(
        reference, workload.bytes,
        "{}: the workload is data-only events, which re-encode to themselves",
        workload.name
    );
    Ctx {
        payloads,
        strings: Vec::leak(strings),
        events,
        frames,
        reference,
    }
}

/// Polls `body` to its end, handing each data frame to `sink`.
async fn drain<B>(body: B, sink: &mut impl Sink)
where
    B: Body<Data = Bytes>,
    B::Error: core::fmt::Debug,
{
    let mut body = pin!(body);
    while let Some(frame) = body.frame().await {
        match frame.expect("these bodies never fail").into_data() {
            Ok(data) => sink.frame(&data),
            Err(_) => panic!("an SSE body sends no trailers"),
        }
    }
}

/// ssekit's body over `stream`, with heartbeats as `mode` says.
fn ssekit_body<S>(stream: S, mode: Mode) -> SseBody<Gate<S>> {
    let body = SseBody::new(Gate::new(stream, mode));
    if mode.keep_alive() {
        body // the default: 15 s
    } else {
        body.keep_alive(Duration::ZERO)
    }
}

/// One pass of `name`: a body over every event, drained into `sink`.
/// `events` are the owned events `ssekit_prebuilt` streams (empty for the
/// others). Must run inside the runtime (axum's keep-alive timer is created
/// with the body).
async fn run<S: Sink>(name: &str, mode: Mode, cx: &Ctx, events: Vec<ssekit::Event>, sink: &mut S) {
    use futures::stream;
    match name {
        "ssekit_prebuilt" => drain(ssekit_body(stream::iter(events), mode), sink).await,
        "ssekit_event" => {
            let events = stream::iter(cx.payloads.iter().cloned().map(ssekit::Event::new));
            drain(ssekit_body(events, mode), sink).await;
        }
        "ssekit_frames" => {
            let frames = stream::iter(cx.frames.iter().cloned());
            drain(ssekit_body(frames, mode), sink).await;
        }
        "axum" => {
            use axum::response::sse::{Event, KeepAlive, Sse};
            use axum::response::IntoResponse;
            let events = stream::iter(
                cx.strings
                    .iter()
                    .map(|s| Ok::<_, Infallible>(Event::default().data(s.as_str()))),
            );
            let sse = Sse::new(Gate::new(events, mode));
            let body = if mode.keep_alive() {
                sse.keep_alive(KeepAlive::default()).into_response()
            } else {
                sse.into_response()
            }
            .into_body();
            drain(body, sink).await;
        }
        _ => unreachable!("unknown contender {name}"),
    }
}

/// Whether `out` is what every contender must write: byte for byte the
/// reference, decoding to the payloads, one frame per event. `Err` says how
/// it differs.
fn verify(cx: &Ctx, out: &Collect) -> Result<(), String> {
    let mut decoder = ssekit::EventDecoder::new();
    let mut buf = BytesMut::from(&out.out[..]);
    let mut decoded = 0;
    while let Some(event) = decoder
        .decode(&mut buf)
        .map_err(|e| format!("does not decode: {e}"))?
    {
        match cx.payloads.get(decoded) {
            Some(want) if event.data() == want => {}
            Some(want) => {
                return Err(format!(
                    "event {decoded} decodes to {:?}, not {:?}",
                    event.data(),
                    want
                ))
            }
            None => return Err(format!("more than {} events", cx.payloads.len())),
        }
        decoded += 1;
    }
    if decoded != cx.payloads.len() || !buf.is_empty() {
        return Err(format!(
            "{decoded} events of {}, {} bytes left over",
            cx.payloads.len(),
            buf.len()
        ));
    }
    if out.frames != cx.payloads.len() {
        return Err(format!(
            "{} frames for {} events",
            out.frames,
            cx.payloads.len()
        ));
    }
    if out.out != cx.reference {
        let at = out
            .out
            .iter()
            .zip(&cx.reference)
            .position(|(a, b)| a != b)
            .unwrap_or(out.out.len().min(cx.reference.len()));
        return Err(format!(
            "decodes right, but differs from ssekit's frames at byte {at} ({} bytes vs {})",
            out.out.len(),
            cx.reference.len()
        ));
    }
    Ok(())
}

/// How one contender was checked: the id it was measured under, and whether
/// its output was right.
struct Checked {
    id: String,
    ok: bool,
    once: Duration,
}

fn server_group(c: &mut Criterion, cfg: &Config, kind: WorkloadKind, size: usize) {
    let group_name = format!("server_{}", kind.name());
    let modes: Vec<String> = MODES.iter().map(|m| m.name().to_string()).collect();
    if !cfg.wants_group(&group_name, &NAMES, &modes) {
        return;
    }
    let cx = context(kind, size);
    let events = cx.payloads.len();
    let len = cx.reference.len();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a current-thread runtime");

    // Check every contender once, which also tells how long a pass takes.
    let mut notes = BTreeMap::new();
    let mut checked = BTreeMap::new();
    for name in NAMES {
        for mode in MODES {
            let key = format!("{name}/{}", mode.name());
            if !cfg.wants(&format!("{group_name}/{key}")) {
                continue;
            }
            let mut out = Collect {
                frames: 0,
                out: Vec::with_capacity(len),
            };
            let prebuilt = if name == "ssekit_prebuilt" {
                cx.events.clone()
            } else {
                Vec::new()
            };
            let t0 = Instant::now();
            rt.block_on(run(name, mode, &cx, prebuilt, &mut out));
            let once = t0.elapsed();
            let (id, ok) = match verify(&cx, &out) {
                Ok(()) => {
                    notes.insert(
                        key.clone(),
                        Note {
                            status: "ok",
                            detail: format!(
                                "{events} events, {len} bytes ({:.1} bytes/event)",
                                len as f64 / events as f64
                            ),
                        },
                    );
                    (name.to_string(), true)
                }
                Err(detail) => {
                    assert!(
                        !name.starts_with("ssekit"),
                        "{group_name}/{key}: wrong output: {detail}"
                    );
                    eprintln!("WRONG OUTPUT {group_name}/{key}: {detail}; left out of ratios");
                    notes.insert(
                        key.clone(),
                        Note {
                            status: "misparse",
                            detail,
                        },
                    );
                    (format!("{name}{MISPARSE}"), false)
                }
            };
            checked.insert(key, Checked { id, ok, once });
        }
    }
    write_notes(&group_name, &notes);

    let start = SystemTime::now();
    let mut group = c.benchmark_group(&group_name);
    group.throughput(Throughput::Bytes(len as u64));
    group.sampling_mode(SamplingMode::Flat);
    let want = Count {
        frames: events,
        bytes: len,
    };
    for name in NAMES {
        for mode in MODES {
            let Some(check) = checked.get(&format!("{name}/{}", mode.name())) else {
                continue;
            };
            // Room for every sample, so criterion never warns it ran short.
            group.measurement_time(
                cfg.measure
                    .max(check.once.mul_f64(cfg.samples as f64 * 1.3)),
            );
            let (cx, rt) = (&cx, &rt);
            let pass = move |events: Vec<ssekit::Event>| {
                let mut n = Count::default();
                rt.block_on(run(black_box(name), mode, cx, events, &mut n));
                assert_eq!(n, want);
            };
            group.bench_function(BenchmarkId::new(check.id.as_str(), mode.name()), |b| {
                if name == "ssekit_prebuilt" {
                    b.iter_batched(|| cx.events.clone(), pass, BatchSize::PerIteration);
                } else {
                    b.iter(|| pass(Vec::new()));
                }
            });
        }
    }
    group.finish();
    report(&group_name, &cx, &checked, start);
}

/// Prints events per second and the ratios ssekit ÷ axum per column, from
/// the estimates criterion wrote in this run, and adds them to the notes.
fn report(group: &str, cx: &Ctx, checked: &BTreeMap<String, Checked>, since: SystemTime) {
    let events = cx.payloads.len() as f64;
    let len = cx.reference.len() as f64;
    let mut rates: BTreeMap<(&str, Mode), f64> = BTreeMap::new();
    for name in NAMES {
        for mode in MODES {
            let Some(check) = checked.get(&format!("{name}/{}", mode.name())) else {
                continue;
            };
            if let Some(ns) = mean_ns_since(group, &check.id, mode.name(), since) {
                // Events per second: the throughput divided by bytes per event.
                let bytes_per_s = len / (ns * 1e-9);
                rates.insert((name, mode), bytes_per_s / (len / events));
            }
        }
    }
    if rates.is_empty() {
        return; // nothing was measured: a `--test` run, or filtered out
    }
    let peer_ok = |mode: Mode| {
        checked
            .get(&format!("{PEER}/{}", mode.name()))
            .is_some_and(|c| c.ok)
    };
    println!();
    println!(
        "{group}: {:.0} events of {:.1} bytes per pass ({:.2} MiB); events/s (millions), and ssekit ÷ {PEER}:",
        events,
        len / events,
        len / f64::from(1 << 20)
    );
    print!("{:<18}", "");
    for mode in MODES {
        print!(" {:>26}", mode.name());
    }
    println!();
    let mut notes = BTreeMap::new();
    for name in NAMES {
        print!("{name:<18}");
        for mode in MODES {
            let Some(&rate) = rates.get(&(name, mode)) else {
                print!(" {:>26}", "–");
                continue;
            };
            let peer = rates.get(&(PEER, mode)).filter(|_| peer_ok(mode));
            let ratio = match peer {
                Some(&p) if name != PEER => format!(" ({:.2}× {PEER})", rate / p),
                _ => String::new(),
            };
            print!(" {:>26}", format!("{:.2} M/s{ratio}", rate / 1e6));
            if !checked[&format!("{name}/{}", mode.name())].ok {
                continue; // its note says what is wrong
            }
            notes.insert(
                format!("{name}/{}", mode.name()),
                Note {
                    status: "ok",
                    detail: format!(
                        "{events:.0} events, {len:.0} bytes ({:.1} bytes/event); {:.0} events/s{ratio}",
                        len / events,
                        rate
                    ),
                },
            );
        }
        println!();
    }
    println!("(one run on this machine; read the ratios as ±20 %)");
    write_notes(group, &notes);
}

fn server(c: &mut Criterion) {
    let cfg = Config::from_env();
    server_group(c, &cfg, WorkloadKind::LlmTokens, cfg.mib << 20);
}

criterion_group! {
    name = benches;
    config = Config::from_env().criterion();
    targets = server
}
criterion_main!(benches);
