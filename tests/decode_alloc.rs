//! Allocation counts for decoding, measured with a counting global allocator
//! (this file is its own test binary, so nothing else shares the allocator).
//!
//! Counting is per thread and only inside `measure`, so tests may run in
//! parallel. Run with `--nocapture` to see the numbers; set
//! `SSEKIT_ALLOC_TRACE=1` to print a backtrace summary of where the owned
//! path allocates.
#![cfg(not(miri))]
// A global allocator needs `unsafe impl`; every unsafe block below only
// forwards to the system allocator with the caller's own arguments.
#![allow(unsafe_code)]

use core::alloc::{GlobalAlloc, Layout};
use core::cell::{Cell, RefCell};
use core::hint::black_box;
use std::alloc::System;
use std::backtrace::Backtrace;
use std::collections::BTreeMap;

use bytes::{Bytes, BytesMut};
use ssekit::{Decoder, EventDecoder, Step};

struct Counting;

thread_local! {
    static ACTIVE: Cell<bool> = const { Cell::new(false) };
    static TRACING: Cell<bool> = const { Cell::new(false) };
    static ALLOCS: Cell<u64> = const { Cell::new(0) };
    static REALLOCS: Cell<u64> = const { Cell::new(0) };
    static TRACES: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

impl Counting {
    fn record(is_realloc: bool) {
        // `try_with`: the thread may be tearing down its locals.
        let active = ACTIVE.try_with(Cell::get).unwrap_or(false);
        if !active {
            return;
        }
        let counter = if is_realloc { &REALLOCS } else { &ALLOCS };
        let _ = counter.try_with(|c| c.set(c.get() + 1));
        if TRACING.try_with(Cell::get).unwrap_or(false) {
            // Capturing allocates: stop counting while we do it.
            let _ = ACTIVE.try_with(|a| a.set(false));
            let trace = summarize(&Backtrace::force_capture().to_string());
            let _ = TRACES.try_with(|t| t.borrow_mut().push(trace));
            let _ = ACTIVE.try_with(|a| a.set(true));
        }
    }
}

// SAFETY: every method forwards to `System` with unchanged arguments, so the
// `GlobalAlloc` contract is the system allocator's; counting touches only
// const-initialised thread locals, which never allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        Counting::record(false);
        // SAFETY: forwarded with the caller's layout, as required.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        Counting::record(false);
        // SAFETY: forwarded with the caller's layout, as required.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `System` with `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        Counting::record(true);
        // SAFETY: `ptr` was allocated by `System` with `layout`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocator calls made by one measured closure on this thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Counts {
    allocs: u64,
    reallocs: u64,
}

impl Counts {
    fn total(self) -> u64 {
        self.allocs + self.reallocs
    }
}

fn measure<R>(f: impl FnOnce() -> R) -> (R, Counts) {
    ALLOCS.with(|c| c.set(0));
    REALLOCS.with(|c| c.set(0));
    ACTIVE.with(|a| a.set(true));
    let result = f();
    ACTIVE.with(|a| a.set(false));
    let counts = Counts {
        allocs: ALLOCS.with(Cell::get),
        reallocs: REALLOCS.with(Cell::get),
    };
    (result, counts)
}

/// The frames of a backtrace that belong to the code under test or to the
/// containers it uses, innermost first, joined on one line.
fn summarize(trace: &str) -> String {
    let frames: Vec<&str> = trace
        .lines()
        .map(str::trim)
        .filter_map(|l| l.split_once(": ").map(|(_, f)| f))
        .filter(|f| {
            (f.contains("ssekit") || f.contains("bytes::") || f.contains("smallvec"))
                && !f.contains("decode_alloc::")
        })
        .take(4)
        .collect();
    frames.join(" <- ")
}

/// Where the allocations of `f` come from, when `SSEKIT_ALLOC_TRACE` is set.
fn trace_report<R>(what: &str, f: impl FnOnce() -> R) {
    if std::env::var_os("SSEKIT_ALLOC_TRACE").is_none() {
        return;
    }
    TRACES.with(|t| t.borrow_mut().clear());
    TRACING.with(|t| t.set(true));
    let _ = measure(f);
    TRACING.with(|t| t.set(false));
    let traces = TRACES.with(|t| core::mem::take(&mut *t.borrow_mut()));
    let mut sites: BTreeMap<String, usize> = BTreeMap::new();
    for t in traces {
        *sites.entry(t).or_default() += 1;
    }
    println!("allocation sites, {what}:");
    for (site, n) in sites {
        println!("  {n:>7} x {site}");
    }
}

const WARMUP: usize = 200;
const EVENTS: usize = 10_000;
const MTU_CHUNK: usize = 1460;

fn single_line(i: usize) -> String {
    format!("data: {{\"seq\":{i},\"text\":\"hello world\"}}\n\n")
}

fn named_with_id(i: usize) -> String {
    format!("event: update\nid: {i}\ndata: {{\"seq\":{i}}}\n\n")
}

fn five_lines(i: usize) -> String {
    format!("data: {i}\ndata: line two\ndata: line three\ndata: line four\ndata: line five\n\n")
}

fn corpus(n: usize, event: fn(usize) -> String) -> Vec<u8> {
    (0..n).flat_map(|i| event(i).into_bytes()).collect()
}

/// Decodes `input` fed whole to a `BytesMut`; the first `WARMUP` events are
/// not measured, the rest are, and every event is dropped at once.
fn owned_whole(input: &[u8]) -> (usize, Counts) {
    let mut decoder = EventDecoder::new();
    let mut buf = BytesMut::from(input);
    for _ in 0..WARMUP {
        black_box(decoder.decode(&mut buf).unwrap().expect("warm-up event"));
    }
    measure(|| {
        let mut n = 0;
        while let Some(event) = decoder.decode(&mut buf).unwrap() {
            black_box(&event);
            n += 1;
        }
        n
    })
}

/// Decodes `input` appended in 1460-byte chunks to one reused `BytesMut`,
/// dropping events at once; the chunks holding the first `WARMUP` events are
/// not measured.
fn owned_chunked(input: &[u8]) -> (usize, Counts) {
    let mut decoder = EventDecoder::new();
    let mut buf = BytesMut::with_capacity(8 * 1024);
    let mut chunks = input.chunks(MTU_CHUNK);
    let mut warm = 0;
    for chunk in chunks.by_ref() {
        buf.extend_from_slice(chunk);
        while let Some(event) = decoder.decode(&mut buf).unwrap() {
            black_box(event);
            warm += 1;
        }
        if warm >= WARMUP {
            break;
        }
    }
    let (n, counts) = measure(|| {
        let mut n = 0;
        for chunk in chunks {
            buf.extend_from_slice(chunk);
            while let Some(event) = decoder.decode(&mut buf).unwrap() {
                black_box(event);
                n += 1;
            }
        }
        n
    });
    assert!(buf.is_empty());
    (n, counts)
}

/// Decodes a `Bytes` holding all of `input` with `decode_bytes`.
fn owned_bytes(input: Bytes) -> (usize, Counts) {
    let mut decoder = EventDecoder::new();
    let mut src = input;
    for _ in 0..WARMUP {
        black_box(
            decoder
                .decode_bytes(&mut src)
                .unwrap()
                .expect("warm-up event"),
        );
    }
    measure(|| {
        let mut n = 0;
        while let Some(event) = decoder.decode_bytes(&mut src).unwrap() {
            black_box(&event);
            n += 1;
        }
        n
    })
}

/// Decodes `input` as a stream of `Bytes` chunks with `decode_chunk` (what
/// the `Stream` adapter does), in 1460-byte chunks (`tiny == false`) or in
/// seeded random chunks of 1 to 64 bytes. Events are dropped at once; the
/// chunks holding the first `WARMUP` events are not measured.
fn chunk_path(input: &[u8], tiny: bool) -> (usize, Counts) {
    let all = Bytes::copy_from_slice(input);
    let mut chunks = Vec::new();
    let (mut at, mut x) = (0usize, 0x2545_F491_4F6C_DD1Du64);
    while at < all.len() {
        let len = if tiny {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % 64 + 1) as usize
        } else {
            MTU_CHUNK
        };
        let end = (at + len).min(all.len());
        chunks.push(all.slice(at..end));
        at = end;
    }
    let mut decoder = EventDecoder::new();
    let mut carry = BytesMut::new();
    let mut chunks = chunks.into_iter();
    let mut warm = 0;
    for mut chunk in chunks.by_ref() {
        while let Some(event) = decoder.decode_chunk(&mut carry, &mut chunk).unwrap() {
            black_box(event);
            warm += 1;
        }
        if warm >= WARMUP {
            break;
        }
    }
    measure(|| {
        let mut n = 0;
        for mut chunk in chunks {
            while let Some(event) = decoder.decode_chunk(&mut carry, &mut chunk).unwrap() {
                black_box(event);
                n += 1;
            }
        }
        n
    })
}

fn report(what: &str, n: usize, counts: Counts) -> f64 {
    let per_event = counts.total() as f64 / n as f64;
    println!(
        "{what}: {n} events, {} allocs + {} reallocs = {per_event:.4} per event",
        counts.allocs, counts.reallocs
    );
    per_event
}

#[test]
fn field_layer_never_allocates() {
    let mut input = Vec::new();
    for i in 0..2_000 {
        input.extend_from_slice(named_with_id(i).as_bytes());
        input.extend_from_slice(b": keep-alive\r\nretry: 1000\r\n");
        input.extend_from_slice(five_lines(i).as_bytes());
    }
    let ((fields, dispatches), counts) = measure(|| {
        let mut decoder = Decoder::new();
        let mut rest: &[u8] = &input;
        let (mut fields, mut dispatches) = (0usize, 0usize);
        loop {
            let step = decoder.decode(rest);
            rest = &rest[step.consumed..];
            match step.status {
                Ok(Step::Field(field)) => {
                    fields += 1;
                    if field == ssekit::Field::Dispatch {
                        dispatches += 1;
                    }
                    black_box(field);
                }
                Ok(Step::NeedMore) => break,
                Err(err) => panic!("{err}"),
            }
        }
        black_box(decoder.finish(rest));
        (fields, dispatches)
    });
    println!(
        "field layer: {} bytes, {fields} fields, {dispatches} events: {counts:?}",
        input.len()
    );
    assert_eq!(dispatches, 4_000);
    assert_eq!(counts.total(), 0, "the field layer must not allocate");
}

/// Measures one corpus fed whole, in 1460-byte chunks, through
/// `decode_bytes`, and through `decode_chunk` in 1460-byte and in 1–64-byte
/// `Bytes` chunks, prints the numbers, and checks each against its bound
/// (allocator calls per event, reallocations included).
fn check_owned(name: &str, event: fn(usize) -> String, bounds: [f64; 5]) {
    let input = corpus(WARMUP + EVENTS, event);
    let (n, whole) = owned_whole(&input);
    assert_eq!(n, EVENTS);
    let whole = report(&format!("{name}, fed whole"), n, whole);
    let (n, chunked) = owned_chunked(&input);
    assert!(n > EVENTS - 50, "{n} events measured");
    let chunked = report(
        &format!("{name}, 1460-byte chunks, reused BytesMut"),
        n,
        chunked,
    );
    let (n, bytes) = owned_bytes(Bytes::from(input.clone()));
    assert_eq!(n, EVENTS);
    let bytes = report(&format!("{name}, decode_bytes"), n, bytes);
    let (n, mtu) = chunk_path(&input, false);
    assert!(n > EVENTS - 50, "{n} events measured");
    let mtu = report(&format!("{name}, decode_chunk, 1460-byte chunks"), n, mtu);
    let (n, tiny) = chunk_path(&input, true);
    assert!(n > EVENTS - 50, "{n} events measured");
    let tiny = report(&format!("{name}, decode_chunk, 1-64-byte chunks"), n, tiny);
    trace_report(&format!("{name}, fed whole"), || owned_whole(&input));
    trace_report(&format!("{name}, 1460-byte chunks"), || {
        owned_chunked(&input)
    });
    for (how, measured, bound) in [
        ("fed whole", whole, bounds[0]),
        ("1460-byte chunks", chunked, bounds[1]),
        ("decode_bytes", bytes, bounds[2]),
        ("decode_chunk, 1460-byte chunks", mtu, bounds[3]),
        ("decode_chunk, 1-64-byte chunks", tiny, bounds[4]),
    ] {
        assert!(
            measured <= bound,
            "{name}, {how}: {measured:.4} allocations per event, bound {bound}"
        );
    }
}

/// Single-line events cost nothing once warm. In chunks, the only
/// allocations are the buffer's own: when `BytesMut` must grow while a slice
/// of it is alive, and the first split of a fresh buffer (2 in 10 000).
#[test]
fn owned_single_line_events() {
    check_owned(
        "single-line data",
        single_line,
        [0.0, 0.001, 0.0, 0.001, 0.001],
    );
}

/// Named events with IDs cost nothing per event. The last event ID is
/// copied out of the caller's buffer when a call runs out of input (so that
/// it does not keep the buffer from being reused), into one buffer of kept
/// IDs that serves many of them: fed whole, that happens once, at the end
/// (2 allocations in all); in chunks, about once per 1 KiB of IDs and
/// types. `decode_chunk` in 1–64-byte chunks grows its carry by at least
/// 4 KiB at a time (measured 0.0170 per event).
#[test]
fn owned_named_events_with_ids() {
    check_owned(
        "named events with ids",
        named_with_id,
        [0.001, 0.005, 0.0, 0.002, 0.03],
    );
}

/// Five data lines: the line slices outgrow the inline slot, so each event
/// moves them into one exactly sized heap array: one allocation per event.
/// (In chunks, the buffer's own occasional growth adds a little.)
#[test]
fn owned_five_line_events() {
    check_owned("5-line data", five_lines, [1.0, 1.03, 1.0, 1.001, 1.05]);
}

/// An event of 50 to 200 data lines of 60 to 120 bytes, as in the
/// `multiline_large` bench workload.
fn many_lines(i: usize) -> String {
    let lines = 50 + (i * 37) % 151;
    let mut event = String::new();
    for l in 0..lines {
        let len = 60 + (i * 13 + l * 7) % 61;
        let text: String = (0..len)
            .map(|k| char::from(b'a' + ((i + l + k) % 26) as u8))
            .collect();
        event.push_str("data: ");
        event.push_str(&text);
        event.push('\n');
    }
    event.push('\n');
    event
}

/// Decodes `input` appended to one `BytesMut` (which starts empty, as a
/// fresh connection's does) in 1460-byte chunks, or in seeded random chunks
/// of 1 to 64 bytes, calling `decode` until `None` after each; events are
/// dropped at once. The first `warmup` events are not measured.
fn owned_appended(input: &[u8], tiny: bool, warmup: usize) -> (usize, Counts) {
    let mut chunks = Vec::new();
    let (mut at, mut x) = (0usize, 0x9E37_79B9_7F4A_7C15u64);
    while at < input.len() {
        let len = if tiny {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % 64 + 1) as usize
        } else {
            MTU_CHUNK
        };
        let end = (at + len).min(input.len());
        chunks.push(&input[at..end]);
        at = end;
    }
    let mut decoder = EventDecoder::new();
    let mut buf = BytesMut::new();
    let mut chunks = chunks.into_iter();
    let mut warm = 0;
    for chunk in chunks.by_ref() {
        buf.extend_from_slice(chunk);
        while let Some(event) = decoder.decode(&mut buf).unwrap() {
            black_box(event);
            warm += 1;
        }
        if warm >= warmup {
            break;
        }
    }
    let (n, counts) = measure(|| {
        let mut n = 0;
        for chunk in chunks {
            buf.extend_from_slice(chunk);
            while let Some(event) = decoder.decode(&mut buf).unwrap() {
                black_box(event);
                n += 1;
            }
        }
        n
    });
    assert!(buf.is_empty());
    (n, counts)
}

/// Allocations per event on the owned paths that carry lines over chunks
/// (a `BytesMut` appended to, and `decode_chunk`), in 1460-byte and
/// 1–64-byte chunks, after `warm` events; each reported under `name`.
fn owned_paths(name: &str, input: &[u8], warm: usize, count: usize) -> [(&'static str, f64); 4] {
    let runs: [(&'static str, (usize, Counts)); 4] = [
        (
            "appended in 1460-byte chunks",
            owned_appended(input, false, warm),
        ),
        (
            "appended in 1-64-byte chunks",
            owned_appended(input, true, warm),
        ),
        ("decode_chunk, 1460-byte chunks", chunk_path(input, false)),
        ("decode_chunk, 1-64-byte chunks", chunk_path(input, true)),
    ];
    runs.map(|(how, (n, counts))| {
        assert!(n > count - 5, "{name}, {how}: {n} events measured");
        (how, report(&format!("{name}, {how}"), n, counts))
    })
}

/// Fails unless every path made at most one allocation per event (with 2 %
/// for a buffer's occasional growth).
fn at_most_one_per_event(measured: &[(&str, f64)]) {
    for &(how, per_event) in measured {
        assert!(
            per_event <= 1.02,
            "{how}: {per_event:.4} allocations per event, bound 1.02"
        );
    }
}

/// Events of 50 to 200 data lines, appended to one `BytesMut` in small
/// pieces: the lines of the event in progress must not pin the buffer's
/// storage, or every append that grows it allocates anew (hundreds of
/// allocations per event in 1–64-byte pieces). At most one allocation per
/// event, plus the buffer's own occasional growth; the other paths too.
#[test]
fn owned_many_line_events_appended_in_small_pieces() {
    const WARM: usize = 20;
    const COUNT: usize = 300;
    // `chunk_path` passes over its own `WARMUP` events first.
    let input = corpus(WARMUP + COUNT, many_lines);
    let measured = owned_paths("50-200 lines", &input, WARM, COUNT);
    trace_report("50-200 lines, appended in 1-64-byte chunks", || {
        owned_appended(&input, true, WARM)
    });
    at_most_one_per_event(&measured);
}

/// An event of one data line of 8 to 64 KiB: a line that spans many
/// chunks, as in the `huge_events` bench workload.
fn long_line(i: usize) -> String {
    let len = 8192 + (i * 7919) % (56 * 1024);
    let text: String = (0..len)
        .map(|k| char::from(b'a' + ((i + k) % 26) as u8))
        .collect();
    format!("data: {text}\n\n")
}

/// Events of one long data line, in 1460-byte and 1–64-byte chunks: the
/// line is carried over many chunks, and at most one allocation per event
/// goes to it on every owned path.
#[test]
fn owned_long_line_events() {
    // `chunk_path` passes over its own `WARMUP` events first.
    const WARM: usize = WARMUP;
    const COUNT: usize = 200;
    let input = corpus(WARM + COUNT, long_line);
    let measured = owned_paths("long lines", &input, WARM, COUNT);
    at_most_one_per_event(&measured);
}

/// Named events with IDs, and five-line events, appended to one fresh
/// `BytesMut` in 1–64-byte pieces: what a `FramedRead` over a slow socket
/// does. The last event ID and the event in progress must not make the
/// buffer allocate anew on every append.
#[test]
fn owned_events_appended_in_tiny_pieces() {
    for (name, event, bound) in [
        (
            "named events with ids",
            named_with_id as fn(usize) -> String,
            0.05,
        ),
        ("5-line data", five_lines, 1.02),
    ] {
        let input = corpus(WARMUP + EVENTS, event);
        let (n, tiny) = owned_appended(&input, true, WARMUP);
        assert!(n > EVENTS - 50, "{n} events measured");
        let tiny = report(&format!("{name}, appended in 1-64-byte chunks"), n, tiny);
        trace_report(&format!("{name}, appended in 1-64-byte chunks"), || {
            owned_appended(&input, true, WARMUP)
        });
        assert!(
            tiny <= bound,
            "{name}: {tiny:.4} allocations per event, bound {bound}"
        );
    }
}

/// `input` whole (`size` 0), in chunks of `size` bytes, or (`size` 1) in
/// seeded random chunks of 1 to 64 bytes.
fn pieces(input: &[u8], size: usize) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let (mut at, mut x) = (0usize, 0x2545_F491_4F6C_DD1Du64);
    while at < input.len() {
        let len = match size {
            0 => input.len(),
            1 => {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x % 64 + 1) as usize
            }
            n => n,
        };
        let end = (at + len).min(input.len());
        out.push(&input[at..end]);
        at = end;
    }
    out
}

/// The borrowing event layer allocates nothing per event once its buffers
/// have grown to the stream's largest event: every corpus (one-line data,
/// named events with IDs, five lines, 50 to 200 lines, heartbeats between
/// events), whole, in 1460-byte chunks and in 1–64-byte chunks, with
/// comments asked for and not. A first pass over the corpus grows the
/// buffers; a second pass with the same decoder is measured.
#[test]
fn borrowed_path_allocates_nothing_per_event() {
    fn heartbeats(i: usize) -> String {
        format!(": keep-alive\n\n: keep-alive\n\ndata: {{\"seq\":{i}}}\n\n")
    }
    type Corpus = (&'static str, fn(usize) -> String);
    let corpora: [Corpus; 6] = [
        ("one-line data", single_line),
        ("one 8-64 KiB line", long_line),
        ("named with IDs", named_with_id),
        ("5-line data", five_lines),
        ("50-200-line data", many_lines),
        ("heartbeats", heartbeats),
    ];
    for (name, event) in corpora {
        let input = corpus(2_000, event);
        for (delivery, size) in [("whole", 0), ("1460-byte", MTU_CHUNK), ("1-64-byte", 1)] {
            for items in [false, true] {
                let chunks = pieces(&input, size);
                let mut decoder = ssekit::BorrowedDecoder::new();
                let mut pass = || {
                    let mut n = 0;
                    for chunk in &chunks {
                        let mut chunk = *chunk;
                        if items {
                            while let Some(item) = decoder.decode_item(&mut chunk).unwrap() {
                                n += usize::from(matches!(item, ssekit::BorrowedItem::Event(_)));
                                black_box(item);
                            }
                        } else {
                            while let Some(event) = decoder.decode(&mut chunk).unwrap() {
                                black_box(event.data());
                                n += 1;
                            }
                        }
                    }
                    n
                };
                assert_eq!(pass(), 2_000);
                let (n, counts) = measure(pass);
                let what = format!("borrowed {name}, {delivery}, items {items}");
                report(&what, n, counts);
                assert_eq!(n, 2_000, "{what}: events lost");
                assert_eq!(counts.total(), 0, "{what}: the borrowed path allocated");
            }
        }
    }
}
