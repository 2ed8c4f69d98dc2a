//! A small, deterministic decoding loop to profile with
//! `valgrind --tool=callgrind`, whose instruction counts do not depend on
//! the machine's load (unlike the criterion benches in `benches/`).
//!
//! ```text
//! cargo build --release --example profile_decode
//! WORKLOAD=llm valgrind --tool=callgrind --toggle-collect='profile_decode::decode_*' \
//!     target/release/examples/profile_decode tiny chunk
//! ```
//!
//! Arguments: the delivery (`whole`, `mtu` for 1460-byte chunks, `tiny` for
//! seeded random 1–64-byte chunks) and the entry point (`owned`:
//! `EventDecoder::decode` over a `BytesMut` the chunks are appended to;
//! `chunk`: `EventDecoder::decode_chunk` on `Bytes` chunks; `borrowed`:
//! `BorrowedDecoder::decode` on each chunk as `&[u8]`; `fields`: the
//! field layer `Decoder` in place, an incomplete line carried in a `Vec`).
//! Environment:
//! `WORKLOAD` (`llm`, `named`, `multi`, `crlf`, `heartbeat`, `huge`), `MIB`
//! (input size, default 2) and `REPS` (passes, default 1). It prints the
//! events decoded and the wall-clock rate, which is only a rough guide.

use std::time::Instant;

use bytes::{Bytes, BytesMut};
use ssekit::{BorrowedDecoder, Decoder, EventDecoder, Field, Step};

/// About `mib` MiB of one workload's events.
fn workload(name: &str, mib: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let mut i = 0u64;
    while out.len() < mib << 20 {
        i += 1;
        let event = match name {
            "heartbeat" if i % 10 != 0 => ": keep-alive\n\n".to_string(),
            "crlf" => format!("id: {i}\r\nevent: up\r\ndata: {{\"x\":{i}}}\r\n\r\n"),
            "multi" => {
                let mut e = String::new();
                for j in 0..100 {
                    e += &format!(
                        "data: line {j} of event {i}, padded with text to about eighty bytes\n"
                    );
                }
                e + "\n"
            }
            "named" => format!(
                "event: content_block_delta\ndata: {{\"type\":\"content_block_delta\",\"index\":0,\
                 \"delta\":{{\"type\":\"text_delta\",\"text\":\"word {i}\"}}}}\n\n"
            ),
            "huge" => format!("data: {}\n\n", "x".repeat(1 << 20)),
            _ => format!(
                "data: {{\"id\":\"chatcmpl-{i}\",\"object\":\"chat.completion.chunk\",\
                 \"created\":1700000000,\"model\":\"gpt-4o\",\"choices\":[{{\"index\":0,\
                 \"delta\":{{\"content\":\"word {i} and more\"}},\"finish_reason\":null}}]}}\n\n"
            ),
        };
        out.extend_from_slice(event.as_bytes());
    }
    out
}

/// `input` cut as `delivery` says, as `Bytes` slices of one buffer.
fn chunks(input: &[u8], delivery: &str) -> Vec<Bytes> {
    let all = Bytes::copy_from_slice(input);
    let mut out = Vec::new();
    let (mut at, mut x) = (0usize, 0x9E37_79B9_7F4A_7C15u64);
    while at < all.len() {
        let len = match delivery {
            "whole" => all.len(),
            "mtu" => 1460,
            _ => {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x % 64 + 1) as usize
            }
        };
        let end = (at + len).min(all.len());
        out.push(all.slice(at..end));
        at = end;
    }
    out
}

#[inline(never)]
fn decode_owned(chunks: &[Bytes], buf: &mut BytesMut) -> usize {
    let mut events = 0;
    let mut decoder = EventDecoder::new();
    buf.clear();
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        while let Some(event) = decoder.decode(buf).expect("within the default limits") {
            events += usize::from(!event.data_lines().is_empty());
        }
    }
    events
}

#[inline(never)]
fn decode_chunk(chunks: &[Bytes]) -> usize {
    let mut events = 0;
    let mut decoder = EventDecoder::new();
    let mut carry = BytesMut::new();
    for chunk in chunks {
        let mut chunk = chunk.clone();
        while let Some(event) = decoder
            .decode_chunk(&mut carry, &mut chunk)
            .expect("within the default limits")
        {
            events += usize::from(!event.data_lines().is_empty());
        }
    }
    events
}

#[inline(never)]
fn decode_borrowed(chunks: &[Bytes]) -> usize {
    let mut events = 0;
    let mut decoder = BorrowedDecoder::new();
    for chunk in chunks {
        let mut chunk: &[u8] = chunk;
        while let Some(event) = decoder
            .decode(&mut chunk)
            .expect("within the default limits")
        {
            events += usize::from(!event.data().is_empty());
        }
    }
    events
}

/// The field layer in place in each chunk, an incomplete line carried in a
/// `Vec` (the way `benches/support/drivers.rs` drives it); counts blank
/// lines after data lines.
#[inline(never)]
fn decode_fields(chunks: &[Bytes]) -> usize {
    fn fields(
        decoder: &mut Decoder,
        mut input: &[u8],
        data: &mut bool,
        events: &mut usize,
    ) -> usize {
        let start = input.len();
        loop {
            let step = decoder.decode(input);
            input = &input[step.consumed..];
            match step.status.expect("within the default limits") {
                Step::Field(Field::Data(_)) => *data = true,
                Step::Field(Field::Dispatch) => {
                    *events += usize::from(core::mem::take(data));
                }
                Step::Field(_) => {}
                Step::NeedMore => return start - input.len(),
            }
        }
    }
    let (mut events, mut data) = (0, false);
    let mut decoder = Decoder::new();
    let mut carry: Vec<u8> = Vec::new();
    for chunk in chunks {
        if carry.is_empty() {
            let used = fields(&mut decoder, chunk, &mut data, &mut events);
            carry.extend_from_slice(&chunk[used..]);
        } else {
            carry.extend_from_slice(chunk);
            let used = fields(&mut decoder, &carry, &mut data, &mut events);
            carry.drain(..used);
        }
    }
    events
}

fn main() {
    let env = |name: &str, default: usize| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let name = std::env::var("WORKLOAD").unwrap_or_else(|_| "llm".into());
    let input = workload(&name, env("MIB", 2));
    let mut args = std::env::args().skip(1);
    let delivery = args.next().unwrap_or_else(|| "whole".into());
    let entry = args.next().unwrap_or_else(|| "owned".into());
    let chunks = chunks(&input, &delivery);
    let reps = env("REPS", 1).max(1);
    let mut buf = BytesMut::new();
    let start = Instant::now();
    let mut events = 0;
    for _ in 0..reps {
        events = match entry.as_str() {
            "chunk" => decode_chunk(&chunks),
            "fields" => decode_fields(&chunks),
            "borrowed" => decode_borrowed(&chunks),
            _ => decode_owned(&chunks, &mut buf),
        };
    }
    let secs = start.elapsed().as_secs_f64() / reps as f64;
    println!(
        "{name} {delivery} {entry}: {events} events in {} bytes, {:.0} MB/s",
        input.len(),
        input.len() as f64 / secs / 1e6
    );
}
