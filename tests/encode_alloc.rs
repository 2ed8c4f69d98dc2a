//! Allocations made by the encoder, counted by a global allocator in this
//! binary of its own.
//!
//! Only allocations made by the test's own thread while it measures are
//! counted, so the harness's threads do not disturb the counts.
//!
//! Measured per event:
//! - `EventRef` into a `&mut [u8]`, into a `BytesMut` or `Vec` with room: 0;
//! - `Event` into a `&mut [u8]`, into a `BytesMut` or `Vec` with room: 0;
//! - into an empty or too-small `BytesMut`/`Vec`: 1 (the frame is reserved
//!   whole, never line by line);
//! - `to_bytes` (`Event` or `EventRef`): 1, and 1 more at the first clone
//!   (`bytes` moves a `Vec`-backed buffer to shared storage then), then 0
//!   per clone;
//! - building an `Event` from `&'static` data of one line: 0; of several
//!   lines: 1 (the list of lines);
//! - building an `Event` from shared `Bytes` (a clone, a slice of decoded
//!   input) and encoding it into a buffer with room: 0 for data of one
//!   line, 1 (the list of lines) for several; from `Bytes` that own a `Vec`
//!   and were never cloned, 1 more for several lines, when `bytes` moves
//!   the `Vec` to shared storage for the first line's handle.
#![cfg(not(miri))]

use core::alloc::{GlobalAlloc, Layout};
use core::cell::Cell;
use std::alloc::System;

use bytes::{Bytes, BytesMut};
use ssekit::{Event, EventRef, KEEP_ALIVE_FRAME};

/// Counts allocations (and reallocations) made by the current thread.
struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

fn count_one() {
    // `try_with`: the thread-local may be gone while the thread exits.
    let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
}

// A global allocator can only be written with `unsafe`; this one forwards
// every call to `System` unchanged and only counts.
#[allow(unsafe_code)]
// SAFETY: every method forwards to `System` with the caller's arguments, so
// `System`'s guarantees are ours.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count_one();
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count_one();
        // SAFETY: the caller upholds `GlobalAlloc::alloc_zeroed`'s contract.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count_one();
        // SAFETY: the caller upholds `GlobalAlloc::realloc`'s contract, and
        // `ptr` came from `System` through this allocator.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller upholds `GlobalAlloc::dealloc`'s contract, and
        // `ptr` came from `System` through this allocator.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Runs `f` and returns its result and the allocations it made.
fn allocations<R>(f: impl FnOnce() -> R) -> (R, usize) {
    let before = ALLOCATIONS.with(Cell::get);
    let result = f();
    let after = ALLOCATIONS.with(Cell::get);
    (result, after - before)
}

/// Data of 3,000 bytes in lines of 99 bytes and LFs, made at compile time
/// so that using it allocates nothing.
static LINES: [u8; 3000] = {
    let mut data = [b'x'; 3000];
    let mut at = 99;
    while at < data.len() {
        data[at] = b'\n';
        at += 100;
    }
    data
};

/// The same with CRLF and CR breaks.
static CRLF_LINES: [u8; 3000] = {
    let mut data = [b'y'; 3000];
    let mut at = 98;
    while at + 1 < data.len() {
        data[at] = b'\r';
        if at % 3 != 0 {
            data[at + 1] = b'\n';
        }
        at += 100;
    }
    data
};

/// One line of 5,000 bytes.
static LONG_LINE: [u8; 5000] = [b'z'; 5000];

/// Frames of every shape: one line, many lines, every field, CR and CRLF,
/// frames longer than the writer assembles in one piece, a line it hands
/// over as it is.
fn frames() -> [EventRef<'static>; 9] {
    [
        EventRef::new().data("hello"),
        EventRef::new().data("a\nb\r\nc\rd\n\n\n"),
        EventRef::new()
            .comment(" note")
            .event_type("update")
            .id("42")
            .retry(3000)
            .data("{\"x\":1}\n{\"y\":2}"),
        EventRef::new().comment(" keep-alive"),
        EventRef::new().retry(u64::MAX),
        EventRef::new()
            .event_type("content_block_delta")
            .id("1000001")
            .data("{\"type\":\"text_delta\",\"text\":\"hi\"}"),
        EventRef::new().data(&LINES),
        EventRef::new().event_type("bulk").data(&CRLF_LINES),
        EventRef::new().id("big").data(&LONG_LINE),
    ]
}

fn events() -> Vec<Event> {
    vec![
        Event::new("hello"),
        Event::new("a\nb\r\nc\rd\n\n\n"),
        Event::builder()
            .event_type("update")
            .id("42")
            .retry(3000)
            .data("{\"x\":1}\n{\"y\":2}")
            .build()
            .unwrap(),
    ]
}

#[test]
fn event_ref_into_slice_allocates_nothing() {
    let mut buf = [0u8; 8192];
    for frame in frames() {
        let (written, n) = allocations(|| frame.encode_to_slice(&mut buf));
        assert_eq!(written, Ok(frame.encoded_len()));
        assert_eq!(n, 0, "{frame:?}");
    }
    // Too small: refused, still without allocating.
    let (err, n) = allocations(|| frames()[2].encode_to_slice(&mut buf[..4]));
    assert!(err.is_err());
    assert_eq!(n, 0);
}

#[test]
fn event_ref_into_buffers_with_room_allocates_nothing() {
    let mut bytes_mut = BytesMut::with_capacity(4 << 20);
    let mut vec: Vec<u8> = Vec::with_capacity(4 << 20);
    let ((), n) = allocations(|| {
        for _ in 0..100 {
            for frame in frames() {
                frame.encode(&mut bytes_mut).unwrap();
                frame.encode_to_vec(&mut vec).unwrap();
            }
        }
    });
    assert_eq!(n, 0, "900 frames into each buffer");
    assert_eq!(bytes_mut, vec);
}

#[test]
fn owned_event_into_buffers_with_room_allocates_nothing() {
    let events = events();
    let mut bytes_mut = BytesMut::with_capacity(64 * 1024);
    let mut vec: Vec<u8> = Vec::with_capacity(64 * 1024);
    let mut slice = [0u8; 256];
    let ((), n) = allocations(|| {
        for _ in 0..100 {
            for event in &events {
                event.encode(&mut bytes_mut);
                event.encode(&mut vec);
                let len = event.encode_to_slice(&mut slice).unwrap();
                assert_eq!(len, event.encoded_len());
            }
        }
    });
    assert_eq!(n, 0, "300 events into each buffer");
    assert_eq!(bytes_mut, vec);
}

#[test]
fn empty_buffer_is_reserved_once_per_frame() {
    let big = "line\n".repeat(1000);
    let frame = EventRef::new().event_type("bulk").data(&big);
    let event = Event::new(Bytes::from(big.clone()));
    for len in [0, 8] {
        let mut bytes_mut = BytesMut::with_capacity(len);
        let (result, n) = allocations(|| frame.encode(&mut bytes_mut));
        assert_eq!(result, Ok(()));
        assert_eq!(n, 1, "BytesMut with capacity {len}: one reservation");

        let mut vec: Vec<u8> = Vec::with_capacity(len);
        let (result, n) = allocations(|| frame.encode_to_vec(&mut vec));
        assert_eq!(result, Ok(()));
        assert_eq!(n, 1, "Vec with capacity {len}: one reservation");

        let mut bytes_mut = BytesMut::with_capacity(len);
        let ((), n) = allocations(|| event.encode(&mut bytes_mut));
        assert_eq!(
            n, 1,
            "owned event, BytesMut with capacity {len}: one reservation"
        );
    }
}

#[test]
fn to_bytes_allocates_once() {
    for event in events() {
        let (bytes, n) = allocations(|| event.to_bytes());
        assert_eq!(bytes.len(), event.encoded_len());
        assert_eq!(n, 1, "{event:?}");
        // The first clone makes `bytes` move its storage to a shared,
        // counted header: one allocation. More clones cost nothing.
        let (first, n) = allocations(|| bytes.clone());
        assert_eq!(n, 1, "first clone of {event:?}");
        let (more, n) = allocations(|| [bytes.clone(), first.clone(), bytes.clone()]);
        assert_eq!(n, 0, "later clones of {event:?}");
        assert!(more.iter().all(|b| b.as_ptr() == bytes.as_ptr()));
    }
    for frame in frames() {
        let (bytes, n) = allocations(|| frame.to_bytes());
        assert_eq!(bytes.map(|b| b.len()), Ok(frame.encoded_len()));
        assert_eq!(n, 1, "{frame:?}");
    }
    let (keep_alive, n) = allocations(|| Bytes::from_static(KEEP_ALIVE_FRAME));
    assert_eq!(keep_alive, KEEP_ALIVE_FRAME);
    assert_eq!(n, 0, "the keep-alive frame is static");
}

#[test]
fn building_allocates_only_for_several_lines() {
    let (event, n) = allocations(|| Event::new("one line"));
    assert_eq!(event.data(), "one line");
    assert_eq!(n, 0, "static data of one line");

    let (event, n) = allocations(|| {
        Event::builder()
            .event_type("t")
            .id("1")
            .data("one line")
            .build()
    });
    assert!(event.is_ok());
    assert_eq!(n, 0, "static values, one line");

    let (event, n) = allocations(|| Event::new("a\nb\nc\nd\ne\nf\ng\nh\ni"));
    assert_eq!(event.data_lines().len(), 9);
    assert_eq!(n, 1, "the list of lines, sized once");
}

/// Shared `Bytes` holding `data`: cloning them allocates nothing.
fn shared(data: &[u8]) -> Bytes {
    let bytes = Bytes::from(data.to_vec());
    // The first clone moves the `Vec` to shared storage.
    drop(bytes.clone());
    bytes
}

#[test]
fn built_events_allocate_at_most_once() {
    let one_line = shared(b"{\"choices\":[{\"delta\":{\"content\":\"hi\"}}]}");
    let event_type = shared(b"content_block_delta");
    let id = shared(b"1000001");
    let lines = shared(&LINES);
    let crlf_lines = shared(&CRLF_LINES);
    let long_line = shared(&LONG_LINE);
    let mut buf = BytesMut::with_capacity(64 * 1024);
    /// What to build, and the allocations expected per event.
    struct Case<'a> {
        what: &'static str,
        event_type: Option<&'a Bytes>,
        id: Option<&'a Bytes>,
        data: &'a Bytes,
        expected: usize,
    }
    let case = |what, event_type, id, data, expected| Case {
        what,
        event_type,
        id,
        data,
        expected,
    };
    let cases = [
        case("one line", None, None, &one_line, 0),
        case(
            "one line, type and id",
            Some(&event_type),
            Some(&id),
            &one_line,
            0,
        ),
        case("one long line", None, Some(&id), &long_line, 0),
        case("LF lines", None, None, &lines, 1),
        case("CR and CRLF lines", Some(&event_type), None, &crlf_lines, 1),
        case(
            "LF lines, type and id",
            Some(&event_type),
            Some(&id),
            &lines,
            1,
        ),
    ];
    for Case {
        what,
        event_type,
        id,
        data,
        expected,
    } in cases
    {
        let (len, n) = allocations(|| {
            let mut total = 0;
            for _ in 0..100 {
                let mut builder = Event::builder().data(data.clone());
                if let Some(t) = event_type {
                    builder = builder.event_type(t.clone());
                }
                if let Some(id) = id {
                    builder = builder.id(id.clone());
                }
                let event = builder.build().expect("valid");
                buf.clear();
                event.encode(&mut buf);
                total += buf.len();
            }
            total
        });
        assert!(len > 0);
        assert_eq!(n, 100 * expected, "{what}: {expected} per event");
        assert!(expected <= 1, "at most one allocation per built event");
    }

    // Never cloned: one more, made by `bytes`, for several lines only.
    let (event, n) = allocations(|| Event::new(Bytes::from(LINES.to_vec())));
    assert_eq!(event.data_lines().len(), 31);
    // The `Vec` itself, its move to shared storage, the list of lines.
    assert_eq!(n, 3);
    let (event, n) = allocations(|| Event::new(Bytes::from(LONG_LINE.to_vec())));
    assert_eq!(event.data_lines().len(), 1);
    assert_eq!(n, 1, "just the `Vec`");
}

#[test]
fn every_frame_into_an_empty_buffer_is_reserved_once() {
    for frame in frames() {
        for capacity in [0, 8] {
            let mut bytes_mut = BytesMut::with_capacity(capacity);
            let (result, n) = allocations(|| frame.encode(&mut bytes_mut));
            assert_eq!(result, Ok(()));
            assert_eq!(bytes_mut.len(), frame.encoded_len());
            assert_eq!(n, 1, "{frame:?} into a BytesMut with capacity {capacity}");

            let mut vec: Vec<u8> = Vec::with_capacity(capacity);
            let (result, n) = allocations(|| frame.encode(&mut vec));
            assert_eq!(result, Ok(()));
            assert_eq!(n, 1, "{frame:?} into a Vec with capacity {capacity}");
        }
    }
    for event in events() {
        let mut bytes_mut = BytesMut::new();
        let ((), n) = allocations(|| event.encode(&mut bytes_mut));
        assert_eq!(n, 1, "{event:?}");
    }
}
