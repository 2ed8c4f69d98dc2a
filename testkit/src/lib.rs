//! Property checks behind the fuzz targets in `fuzz/` and the corpus replay
//! test `tests/fuzz_replay.rs`.
//!
//! **Internal, not published.** This crate is a workspace member used only
//! as a dev-dependency of `ssekit` and as the fuzz crate's dependency, so
//! users of ssekit never compile it. It is a library rather than part of the
//! fuzz crate so that a plain `cargo test` on stable replays the committed
//! corpus through exactly the checks the fuzzer runs; each fuzz target is
//! one line calling a function here.
//!
//! Every check takes raw bytes and derives all of its parameters from them
//! deterministically: a few header bytes, then the payload. Corpus files are
//! therefore plain bytes (`fuzz/seed.py` writes the seeds). A check returns
//! normally on any input and panics only when a property is violated, with a
//! message naming the property.
//!
//! | check | input | property |
//! |---|---|---|
//! | `decode` | limits, feed mode, chunk size, bytes | no panic; buffered bytes and every event within [`Limits`]; errors well formed |
//! | `decode_chunked` | limits, chunk lengths, bytes | every split and every entry point gives the one-piece transcript; field layer plus a spec assembler agrees; naive reference agrees |
//! | `decode_borrowed` | limits, chunk lengths, bytes | `BorrowedDecoder` over those chunks, over 1-byte chunks and over chunks eight times as long gives `EventDecoder`'s one-piece transcript, items and events alike |
//! | `roundtrip` | one event's parts | encode then decode gives exactly that event, or a refusal under a CR, LF or NUL rule |
//! | `encode_no_injection` | several frames' parts | each encoded frame decodes to exactly its own items, never more |
//! | `tokio_codec` | limits, read sizes, bytes | the tokio-util codecs driven by hand equal direct decoding; their encoder round-trips |
//!
//! Limits header (three bytes, used by several checks): `max_line_len`,
//! `max_event_len`, `max_data_lines`, each unbounded when the byte is
//! `0xF0` or more and otherwise small (`b % 80`, `b`, `b % 8`), so that the
//! limits are actually hit.
//!
//! The naive models the decoding checks compare the library with (a spec
//! assembler over the field layer and a reference decoder over the whole
//! input) are public in [`model`], for the property tests in
//! `tests/decode_prop.rs` too.

use core::fmt;

use bytes::Bytes;
use ssekit_codec::Limits;

pub mod model;

mod codecs;
mod decoding;
mod encoding;

pub use codecs::tokio_codec;
pub use decoding::{decode, decode_borrowed, decode_chunked};
pub use encoding::{encode_no_injection, roundtrip};

use model::Transcript;

/// The names of the checks, which are also the fuzz targets' names and the
/// directories under `fuzz/corpus/`.
pub const TARGETS: &[&str] = &[
    "decode",
    "decode_chunked",
    "decode_borrowed",
    "roundtrip",
    "encode_no_injection",
    "tokio_codec",
];

/// The check named `name` (one of [`TARGETS`]), or `None` for an unknown
/// name.
pub fn target(name: &str) -> Option<fn(&[u8])> {
    match name {
        "decode" => Some(decode),
        "decode_chunked" => Some(decode_chunked),
        "decode_borrowed" => Some(decode_borrowed),
        "roundtrip" => Some(roundtrip),
        "encode_no_injection" => Some(encode_no_injection),
        "tokio_codec" => Some(tokio_codec),
        _ => None,
    }
}

// ---------------------------------------------------------------------------
// Deriving parameters from bytes

/// Reads parameters from the front of the input; past its end every read
/// gives zeros, so any input is valid.
pub(crate) struct Input<'a> {
    rest: &'a [u8],
}

impl<'a> Input<'a> {
    pub(crate) fn new(data: &'a [u8]) -> Input<'a> {
        Input { rest: data }
    }

    pub(crate) fn byte(&mut self) -> u8 {
        match self.rest.split_first() {
            Some((&b, rest)) => {
                self.rest = rest;
                b
            }
            None => 0,
        }
    }

    /// Up to `n` bytes.
    pub(crate) fn take(&mut self, n: usize) -> &'a [u8] {
        let (head, rest) = self.rest.split_at(n.min(self.rest.len()));
        self.rest = rest;
        head
    }

    /// A value prefixed by its length in one byte.
    pub(crate) fn value(&mut self) -> &'a [u8] {
        let n = self.byte();
        self.take(usize::from(n))
    }

    /// Eight bytes, little-endian, zero-padded.
    pub(crate) fn u64(&mut self) -> u64 {
        let mut raw = [0u8; 8];
        let head = self.take(8);
        raw[..head.len()].copy_from_slice(head);
        u64::from_le_bytes(raw)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    pub(crate) fn rest(self) -> &'a [u8] {
        self.rest
    }
}

/// A header byte at or above this means "no limit".
const UNBOUNDED: u8 = 0xF0;

/// Reads the three-byte limits header.
pub(crate) fn read_limits(input: &mut Input<'_>) -> Limits {
    let pick = |b: u8, modulus: usize| {
        if b >= UNBOUNDED {
            usize::MAX
        } else {
            usize::from(b) % modulus
        }
    };
    Limits::default()
        .max_line_len(pick(input.byte(), 80))
        .max_event_len(pick(input.byte(), 256))
        .max_data_lines(pick(input.byte(), 8))
}

/// Cuts `body` into chunks of the given lengths (empty chunks included); the
/// last chunk is whatever is left.
pub(crate) fn cut<'a>(body: &'a [u8], lengths: &[usize]) -> Vec<&'a [u8]> {
    let mut chunks = Vec::with_capacity(lengths.len() + 1);
    let mut rest = body;
    for &n in lengths {
        let (head, tail) = rest.split_at(n.min(rest.len()));
        chunks.push(head);
        rest = tail;
    }
    chunks.push(rest);
    chunks
}

// ---------------------------------------------------------------------------
// Reporting

/// Bytes shown as an escaped byte string, shortened.
pub(crate) struct Shown<'a>(&'a [u8]);

impl fmt::Debug for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const MAX: usize = 512;
        let head = &self.0[..self.0.len().min(MAX)];
        write!(f, "{:?}", Bytes::copy_from_slice(head))?;
        if self.0.len() > MAX {
            write!(f, "... ({} bytes)", self.0.len())?;
        }
        Ok(())
    }
}

/// Panics, showing the first difference, unless the transcripts are equal.
pub(crate) fn assert_same(what: &str, input: &[u8], expected: &Transcript, actual: &Transcript) {
    if expected == actual {
        return;
    }
    let mut msg = format!("{what}: transcripts differ for input {:?}\n", Shown(input));
    let first = expected
        .items
        .iter()
        .zip(&actual.items)
        .position(|(e, a)| e != a)
        .unwrap_or(expected.items.len().min(actual.items.len()));
    msg += &format!(
        "  first difference at item {first}:\n    expected {:?}\n    actual   {:?}\n",
        expected.items.get(first),
        actual.items.get(first)
    );
    msg += &format!(
        "  items: expected {}, actual {}\n  end: {:?} vs {:?}\n  last_event_id: {:?} vs {:?}\n  reconnection_time: {:?} vs {:?}",
        expected.items.len(),
        actual.items.len(),
        expected.end,
        actual.end,
        expected.last_event_id,
        actual.last_event_id,
        expected.reconnection_time,
        actual.reconnection_time
    );
    panic!("{msg}");
}
