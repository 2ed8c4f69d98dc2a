//! Encoding throughput: ssekit's encoders against axum's `Sse` builder,
//! sse-codec's and sse-stream's encoders, and a `memcpy` of the same output.
//!
//! Groups (one per input, `Throughput::Bytes` of the encoded output):
//! - `encode_llm_tokens`: the decode workload's OpenAI-style chunks, one
//!   small single-line `data` payload per event;
//! - `encode_multiline_large`: payloads of 50–200 lines of 60–120 bytes;
//! - `encode_huge_events`: single-line payloads of 1 MiB.
//!
//! Payloads carry only data, so every encoder must write the very same
//! bytes; each one's output is compared byte for byte with ssekit's (and
//! ssekit's is decoded back and compared with the payloads) before it is
//! measured, and its length is asserted on every iteration.
//!
//! Every contender produces one frame per event and hands it on, as a
//! server writes each event to its connection: encoders that write into a
//! buffer get one reused buffer, cleared before each event (so it stays in
//! cache, as a server's write buffer does); encoders that return a frame of
//! their own (`Bytes`) allocate it, as they must.
//!
//! Contenders:
//! - `ssekit_event`: `Event::builder().data(Bytes).build()` then
//!   `Event::encode` into the reused `BytesMut` (value checks and the data
//!   line split included);
//! - `ssekit_prebuilt`: `Event::encode` of events built beforehand;
//! - `ssekit_event_ref`: the borrowed path, `EventRef::new().data(&[u8])`
//!   then `EventRef::encode` into the reused `BytesMut`; no allocation;
//! - `axum`: `axum::response::sse::Event::default().data(&str)` for each
//!   payload, turned into bytes by axum itself: the events stream through
//!   `Sse::new(..).into_response()` and the response body's frames are
//!   read with `http_body_util::BodyExt::frame` (axum keeps the encoding
//!   private; this is the only public way to its bytes). One response per
//!   pass, so its setup is shared by all events;
//! - `sse_codec`: `futures_codec::Encoder::encode` of
//!   `sse_codec::Event::Message` into the reused `BytesMut`;
//! - `sse_stream`: `sse_stream::Sse::default().data(String).encode()`;
//! - `memcpy`: copying each event's finished frame into a reused `Vec`.
//!
//! Peers whose API takes owned `String`s get them moved in from a batch
//! prepared outside the timing (`iter_batched_ref`), so they are not charged
//! for copying their input.
//!
//! ```text
//! cargo bench --features bench-peers --bench encode
//! ```

// `criterion_group!` defines an undocumented `pub fn`.
#![allow(missing_docs)]

#[path = "support/mod.rs"]
mod support;

use core::convert::Infallible;
use core::hint::black_box;
use std::collections::BTreeMap;
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use criterion::{
    criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, SamplingMode, Throughput,
};
use support::workload::WorkloadKind;
use support::{write_notes, Config, Note, MISPARSE};

const NAMES: [&str; 7] = [
    "ssekit_event",
    "ssekit_prebuilt",
    "ssekit_event_ref",
    "axum",
    "sse_codec",
    "sse_stream",
    "memcpy",
];

/// Contenders whose API takes the payload as an owned `String`.
const TAKES_STRINGS: [&str; 2] = ["sse_codec", "sse_stream"];

/// Where frames go: counted while timing, collected while checking.
trait Sink {
    fn frame(&mut self, frame: &[u8]);
}

struct Count(usize);

impl Sink for Count {
    fn frame(&mut self, frame: &[u8]) {
        self.0 += black_box(frame).len();
    }
}

struct Collect(Vec<u8>);

impl Sink for Collect {
    fn frame(&mut self, frame: &[u8]) {
        self.0.extend_from_slice(frame);
    }
}

/// Everything a pass needs, prepared outside the timing.
struct Ctx {
    /// The payloads as `Bytes`.
    bytes: Vec<Bytes>,
    /// The payloads as `String`s; `'static` so that axum's `Send + 'static`
    /// event stream can borrow them.
    strings: &'static [String],
    /// ssekit events built from the payloads.
    events: Vec<ssekit::Event>,
    /// Their frames, for `memcpy`.
    frames: Vec<Bytes>,
    buf: BytesMut,
    vec: Vec<u8>,
}

/// The data of every event of a decode workload, decoded by ssekit.
fn context(kind: WorkloadKind, size: usize) -> Ctx {
    let workload = kind.generate(size);
    let mut decoder = ssekit::EventDecoder::new();
    let mut buf = BytesMut::from(&workload.bytes[..]);
    let mut bytes = Vec::new();
    while let Some(event) = decoder.decode(&mut buf).expect("workload decodes") {
        bytes.push(event.data());
    }
    assert_eq!(bytes.len(), workload.expected.events);
    let strings: Vec<String> = bytes
        .iter()
        .map(|b| String::from_utf8(b.to_vec()).expect("workloads are UTF-8"))
        .collect();
    let events: Vec<ssekit::Event> = bytes
        .iter()
        .map(|d| ssekit::Event::new(d.clone()))
        .collect();
    let frames = events.iter().map(ssekit::Event::to_bytes).collect();
    Ctx {
        bytes,
        strings: Vec::leak(strings),
        events,
        frames,
        buf: BytesMut::new(),
        vec: Vec::new(),
    }
}

/// One pass: every payload encoded by `name`, each frame handed to `sink`.
/// `owned` holds the payloads to move into the APIs that take `String`s.
fn run<S: Sink>(name: &str, cx: &mut Ctx, owned: &mut [String], sink: &mut S) {
    let buf = &mut cx.buf;
    match name {
        "ssekit_event" => {
            for data in &cx.bytes {
                let event = ssekit::Event::builder()
                    .data(data.clone())
                    .build()
                    .expect("data alone is always valid");
                buf.clear();
                event.encode(buf);
                sink.frame(buf);
            }
        }
        "ssekit_prebuilt" => {
            for event in &cx.events {
                buf.clear();
                event.encode(buf);
                sink.frame(buf);
            }
        }
        "ssekit_event_ref" => {
            for data in &cx.bytes {
                buf.clear();
                ssekit::EventRef::new()
                    .data(&data[..])
                    .encode(buf)
                    .expect("data alone is always valid");
                sink.frame(buf);
            }
        }
        "axum" => axum(cx.strings, sink),
        "sse_codec" => {
            use futures_codec::Encoder as _;
            let mut codec = sse_codec::SSECodec::default();
            for data in owned {
                let event = sse_codec::Event::Message {
                    id: None,
                    event: "message".to_string(),
                    data: core::mem::take(data),
                };
                buf.clear();
                codec.encode(event, buf).expect("formatting into BytesMut");
                sink.frame(buf);
            }
        }
        "sse_stream" => {
            for data in owned {
                let frame = sse_stream::Sse::default()
                    .data(core::mem::take(data))
                    .encode()
                    .expect("data alone is always valid");
                sink.frame(&frame);
            }
        }
        "memcpy" => {
            for frame in &cx.frames {
                cx.vec.clear();
                cx.vec.extend_from_slice(frame);
                sink.frame(&cx.vec);
            }
        }
        _ => unreachable!("unknown contender {name}"),
    }
}

/// axum's encoding: the frames of an `Sse` response body, one per event.
fn axum<S: Sink>(strings: &'static [String], sink: &mut S) {
    use axum::response::sse::{Event, Sse};
    use axum::response::IntoResponse;
    use futures::StreamExt;
    use http_body_util::BodyExt;
    let events = futures::stream::iter(strings)
        .map(|s| Ok::<_, Infallible>(Event::default().data(s.as_str())));
    let mut body = Sse::new(events).into_response().into_body();
    futures::executor::block_on(async {
        while let Some(frame) = body.frame().await {
            if let Ok(data) = frame.expect("no errors").into_data() {
                sink.frame(&data);
            }
        }
    });
}

/// Records whether `got` is `want`; returns the benchmark id to use.
fn check(
    notes: &mut BTreeMap<String, Note>,
    group: &str,
    name: &str,
    got: &[u8],
    want: &[u8],
) -> String {
    let key = format!("{name}/encode");
    if got == want {
        notes.insert(
            key,
            Note {
                status: "ok",
                detail: String::new(),
            },
        );
        return name.to_string();
    }
    let at = got
        .iter()
        .zip(want)
        .position(|(a, b)| a != b)
        .unwrap_or(got.len().min(want.len()));
    let detail = format!(
        "output differs from ssekit's at byte {at} ({} bytes vs {}): {:?} vs {:?}",
        got.len(),
        want.len(),
        String::from_utf8_lossy(&got[at..(at + 40).min(got.len())]),
        String::from_utf8_lossy(&want[at..(at + 40).min(want.len())]),
    );
    eprintln!("WRONG OUTPUT {group}/{key}: {detail}; left out of ratios");
    notes.insert(
        key,
        Note {
            status: "misparse",
            detail,
        },
    );
    format!("{name}{MISPARSE}")
}

fn encode_group(c: &mut Criterion, cfg: &Config, kind: WorkloadKind, size: usize) {
    let group_name = format!("encode_{}", kind.name());
    if !cfg.wants_group(&group_name, &NAMES, &["encode".to_string()]) {
        return;
    }
    let mut cx = context(kind, size);

    // The reference output, and a round trip through ssekit's decoder.
    let mut reference = Collect(Vec::new());
    run("ssekit_prebuilt", &mut cx, &mut [], &mut reference);
    let reference = reference.0;
    let mut decoder = ssekit::EventDecoder::new();
    let mut back = BytesMut::from(&reference[..]);
    for data in &cx.bytes {
        let event = decoder
            .decode(&mut back)
            .unwrap()
            .expect("an event per payload");
        assert_eq!(
            &event.data(),
            data,
            "ssekit's encoding decodes to its payload"
        );
    }

    // Check every contender once, which also tells how long a pass takes.
    let mut notes = BTreeMap::new();
    let mut checked = BTreeMap::new();
    for name in NAMES {
        let mut owned = cx.strings.to_vec();
        let mut out = Collect(Vec::with_capacity(reference.len()));
        let t0 = Instant::now();
        run(name, &mut cx, &mut owned, &mut out);
        let once = t0.elapsed();
        let id = check(&mut notes, &group_name, name, &out.0, &reference);
        checked.insert(name, (id, out.0.len(), once));
    }
    write_notes(&group_name, &notes);

    let mut group = c.benchmark_group(&group_name);
    group.throughput(Throughput::Bytes(reference.len() as u64));
    group.sampling_mode(SamplingMode::Flat);
    for name in NAMES {
        if !cfg.wants(&format!("{group_name}/{name}/encode")) {
            continue;
        }
        let (id, len, once) = &checked[name];
        let len = *len;
        // Room for every sample, so criterion never warns it ran short.
        group.measurement_time(cfg.measure.max(once.mul_f64(cfg.samples as f64 * 1.3)));
        let cx = &mut cx;
        group.bench_function(BenchmarkId::new(id.as_str(), "encode"), |b| {
            if TAKES_STRINGS.contains(&name) {
                b.iter_batched_ref(
                    || cx.strings.to_vec(),
                    |owned| {
                        let mut n = Count(0);
                        run(name, cx, owned, &mut n);
                        assert_eq!(n.0, len);
                    },
                    BatchSize::PerIteration,
                )
            } else {
                b.iter(|| {
                    let mut n = Count(0);
                    run(black_box(name), cx, &mut [], &mut n);
                    assert_eq!(n.0, len);
                })
            }
        });
    }
    group.finish();
}

fn encode(c: &mut Criterion) {
    let cfg = Config::from_env();
    let size = cfg.mib << 20;
    encode_group(c, &cfg, WorkloadKind::LlmTokens, size);
    encode_group(c, &cfg, WorkloadKind::MultilineLarge, size);
    encode_group(c, &cfg, WorkloadKind::HugeEvents, size);
}

criterion_group! {
    name = benches;
    config = Config::from_env().criterion();
    targets = encode
}
criterion_main!(benches);
