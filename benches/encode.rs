//! Encoding throughput: ssekit's encoders against axum's `Sse` builder,
//! sse-codec's and sse-stream's encoders, and a `memcpy` of the same output.
//!
//! Groups (one per input, `Throughput::Bytes` of the encoded output):
//! - `encode_llm_tokens`: the decode workload's OpenAI-style chunks, one
//!   small single-line `data` payload per event;
//! - `encode_multiline_large`: payloads of 50–200 lines of 60–120 bytes;
//! - `encode_huge_events`: single-line payloads of 1 MiB;
//! - `encode_named_ids`: an event type, an ID and one line of 80–130 bytes
//!   of JSON data per event;
//! - `encode_named_ids_as_data`: data alone, in frames exactly as long as
//!   `encode_named_ids`' (what the type and the ID cost is the difference
//!   between the two groups);
//! - `encode_crlf_data`: data of 2–8 lines of 20–120 bytes joined by CRLF
//!   or, one break in four, a lone CR.
//!
//! Each encoder's output is compared with ssekit's before it is measured
//! (and ssekit's is decoded back and compared with the inputs, line breaks
//! normalised to LF), and its length is asserted on every iteration. Where
//! the bytes differ, both outputs are decoded: the same events (the fields
//! in another order, say) count as correct, anything else as wrong.
//!
//! Every contender produces one frame per event and hands it on, as a
//! server writes each event to its connection: encoders that write into a
//! buffer get one reused buffer, cleared before each event (so it stays in
//! cache, as a server's write buffer does); encoders that return a frame of
//! their own (`Bytes`) allocate it, as they must.
//!
//! Contenders:
//! - `ssekit_event`: `Event::builder().data(Bytes).build()` (with
//!   `.event_type(Bytes).id(Bytes)` where the input has them) then
//!   `Event::encode` into the reused `BytesMut` (value checks and the data
//!   line split included);
//! - `ssekit_prebuilt`: `Event::encode` of events built beforehand;
//! - `ssekit_event_ref`: the borrowed path, `EventRef::new().data(&[u8])`
//!   (and `.event_type(&[u8]).id(&[u8])`) then `EventRef::encode` into the
//!   reused `BytesMut`; no allocation;
//! - `axum`: `axum::response::sse::Event::default().data(&str)` (after
//!   `.event(&str).id(&str)`) for each
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
use support::workload::{self, EncodeInput, WorkloadKind};
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

/// Contenders whose API takes the parts as owned `String`s.
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

/// The parts of an event as `String`s, for the peers that take them.
#[derive(Debug, Clone)]
struct Owned {
    event_type: Option<String>,
    id: Option<String>,
    data: String,
}

/// Everything a pass needs, prepared outside the timing.
struct Ctx {
    /// The events' parts as `Bytes`.
    inputs: Vec<EncodeInput>,
    /// The same as `String`s; `'static` so that axum's `Send + 'static`
    /// event stream can borrow them.
    strings: &'static [Owned],
    /// ssekit events built from the payloads.
    events: Vec<ssekit::Event>,
    /// Their frames, for `memcpy`.
    frames: Vec<Bytes>,
    buf: BytesMut,
    vec: Vec<u8>,
}

/// Where a group's events come from.
#[derive(Debug, Clone, Copy)]
enum Source {
    /// The data of every event of a decode workload, decoded by ssekit.
    Stream(WorkloadKind),
    NamedIds,
    NamedIdsAsData,
    CrlfData,
}

impl Source {
    fn name(self) -> &'static str {
        match self {
            Source::Stream(kind) => kind.name(),
            Source::NamedIds => "named_ids",
            Source::NamedIdsAsData => "named_ids_as_data",
            Source::CrlfData => "crlf_data",
        }
    }

    fn inputs(self, size: usize) -> Vec<EncodeInput> {
        match self {
            Source::Stream(kind) => {
                let workload = kind.generate(size);
                let mut decoder = ssekit::EventDecoder::new();
                let mut buf = BytesMut::from(&workload.bytes[..]);
                let mut inputs = Vec::new();
                while let Some(event) = decoder.decode(&mut buf).expect("workload decodes") {
                    inputs.push(EncodeInput {
                        event_type: None,
                        id: None,
                        data: event.data(),
                    });
                }
                assert_eq!(inputs.len(), workload.expected.events);
                inputs
            }
            Source::NamedIds => workload::named_ids_inputs(size),
            Source::NamedIdsAsData => workload::as_data_only(&workload::named_ids_inputs(size)),
            Source::CrlfData => workload::crlf_data_inputs(size),
        }
    }
}

fn utf8(b: &Bytes) -> String {
    String::from_utf8(b.to_vec()).expect("workloads are UTF-8")
}

/// ssekit's event of these parts.
fn build(input: &EncodeInput) -> ssekit::Event {
    let mut builder = ssekit::Event::builder().data(input.data.clone());
    if let Some(t) = &input.event_type {
        builder = builder.event_type(t.clone());
    }
    if let Some(id) = &input.id {
        builder = builder.id(id.clone());
    }
    builder.build().expect("the inputs are valid")
}

fn context(source: Source, size: usize) -> Ctx {
    let inputs = source.inputs(size);
    let strings: Vec<Owned> = inputs
        .iter()
        .map(|i| Owned {
            event_type: i.event_type.as_ref().map(utf8),
            id: i.id.as_ref().map(utf8),
            data: utf8(&i.data),
        })
        .collect();
    let events: Vec<ssekit::Event> = inputs.iter().map(build).collect();
    let frames = events.iter().map(ssekit::Event::to_bytes).collect();
    Ctx {
        inputs,
        strings: Vec::leak(strings),
        events,
        frames,
        buf: BytesMut::new(),
        vec: Vec::new(),
    }
}

/// One pass: every event encoded by `name`, each frame handed to `sink`.
/// `owned` holds the parts to move into the APIs that take `String`s.
fn run<S: Sink>(name: &str, cx: &mut Ctx, owned: &mut [Owned], sink: &mut S) {
    let buf = &mut cx.buf;
    match name {
        "ssekit_event" => {
            for input in &cx.inputs {
                let mut builder = ssekit::Event::builder().data(input.data.clone());
                if let Some(t) = &input.event_type {
                    builder = builder.event_type(t.clone());
                }
                if let Some(id) = &input.id {
                    builder = builder.id(id.clone());
                }
                let event = builder.build().expect("the inputs are valid");
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
            for input in &cx.inputs {
                buf.clear();
                let mut frame = ssekit::EventRef::new().data(&input.data[..]);
                if let Some(t) = &input.event_type {
                    frame = frame.event_type(&t[..]);
                }
                if let Some(id) = &input.id {
                    frame = frame.id(&id[..]);
                }
                frame.encode(buf).expect("the inputs are valid");
                sink.frame(buf);
            }
        }
        "axum" => axum(cx.strings, sink),
        "sse_codec" => {
            use futures_codec::Encoder as _;
            let mut codec = sse_codec::SSECodec::default();
            for parts in owned {
                let event = sse_codec::Event::Message {
                    id: parts.id.take(),
                    event: parts
                        .event_type
                        .take()
                        .unwrap_or_else(|| "message".to_string()),
                    data: core::mem::take(&mut parts.data),
                };
                buf.clear();
                codec.encode(event, buf).expect("formatting into BytesMut");
                sink.frame(buf);
            }
        }
        "sse_stream" => {
            for parts in owned {
                let mut event = sse_stream::Sse::default().data(core::mem::take(&mut parts.data));
                if let Some(t) = parts.event_type.take() {
                    event = event.event(t);
                }
                if let Some(id) = parts.id.take() {
                    event = event.id(id);
                }
                let frame = event.encode().expect("the inputs are valid");
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
fn axum<S: Sink>(strings: &'static [Owned], sink: &mut S) {
    use axum::response::sse::{Event, Sse};
    use axum::response::IntoResponse;
    use futures::StreamExt;
    use http_body_util::BodyExt;
    let events = futures::stream::iter(strings).map(|parts| {
        let mut event = Event::default();
        if let Some(t) = &parts.event_type {
            event = event.event(t);
        }
        if let Some(id) = &parts.id {
            event = event.id(id);
        }
        Ok::<_, Infallible>(event.data(&parts.data))
    });
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
    let same_events = got != want && events_of(got) == events_of(want);
    if got == want || same_events {
        let detail = if same_events {
            "the same events as ssekit's, its fields in another order".to_string()
        } else {
            String::new()
        };
        notes.insert(
            key,
            Note {
                status: "ok",
                detail,
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

/// The events a stream holds, as ssekit's decoder reads them: type, last
/// event ID and data of each; `None` if the stream does not decode.
fn events_of(stream: &[u8]) -> Option<Vec<(Bytes, Bytes, Bytes)>> {
    let mut decoder = ssekit::EventDecoder::new();
    let mut buf = BytesMut::from(stream);
    let mut out = Vec::new();
    while let Some(event) = decoder.decode(&mut buf).ok()? {
        out.push((
            Bytes::copy_from_slice(event.event_type()),
            Bytes::copy_from_slice(event.id()),
            event.data(),
        ));
    }
    buf.is_empty().then_some(out)
}

/// Data as a decoder gives it back: every CR, CRLF and LF an LF.
fn normalised(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len());
    let mut bytes = data.iter().copied().peekable();
    while let Some(b) = bytes.next() {
        if b == b'\r' {
            bytes.next_if_eq(&b'\n');
            out.push(b'\n');
        } else {
            out.push(b);
        }
    }
    out
}

fn encode_group(c: &mut Criterion, cfg: &Config, source: Source, size: usize) {
    let group_name = format!("encode_{}", source.name());
    if !cfg.wants_group(&group_name, &NAMES, &["encode".to_string()]) {
        return;
    }
    let mut cx = context(source, size);

    // The reference output, and a round trip through ssekit's decoder.
    let mut reference = Collect(Vec::new());
    run("ssekit_prebuilt", &mut cx, &mut [], &mut reference);
    let reference = reference.0;
    let mut decoder = ssekit::EventDecoder::new();
    let mut back = BytesMut::from(&reference[..]);
    for input in &cx.inputs {
        let event = decoder
            .decode(&mut back)
            .unwrap()
            .expect("an event per payload");
        assert_eq!(
            event.data(),
            normalised(&input.data),
            "ssekit's encoding decodes to its payload"
        );
        let event_type = input.event_type.as_deref().unwrap_or(b"message");
        assert_eq!(event.event_type(), event_type, "and to its type");
        if let Some(id) = &input.id {
            assert_eq!(event.id(), id, "and to its ID");
        }
    }
    assert!(back.is_empty(), "and to nothing more");

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
    encode_group(c, &cfg, Source::Stream(WorkloadKind::LlmTokens), size);
    encode_group(c, &cfg, Source::Stream(WorkloadKind::MultilineLarge), size);
    encode_group(c, &cfg, Source::Stream(WorkloadKind::HugeEvents), size);
    encode_group(c, &cfg, Source::NamedIds, size);
    encode_group(c, &cfg, Source::NamedIdsAsData, size);
    encode_group(c, &cfg, Source::CrlfData, size);
}

criterion_group! {
    name = benches;
    config = Config::from_env().criterion();
    targets = encode
}
criterion_main!(benches);
