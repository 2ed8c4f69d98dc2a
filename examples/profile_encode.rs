//! A small, deterministic encoding loop to profile with
//! `valgrind --tool=callgrind` (see `profile_decode.rs` for the decoder).
//!
//! ```text
//! cargo build --release --example profile_encode
//! WORKLOAD=llm valgrind --tool=callgrind --toggle-collect='profile_encode::encode_all' \
//!     target/release/examples/profile_encode ref
//! ```
//!
//! Argument: the encoder (`builder`: `Event::builder()` with the parts as
//! `Bytes`, `.build()`, then `Event::encode`; `prebuilt`: `Event::encode`
//! of events built beforehand; `ref`: `EventRef::new()` with the parts as
//! `&[u8]`, then `EventRef::encode`), each frame into one reused `BytesMut`.
//!
//! Environment: `EVENTS` (default 10,000) and `WORKLOAD`:
//! - `llm`: ~190-byte one-line JSON payloads, data only;
//! - `multi`: 100 lines of ~80 bytes, data only;
//! - `named`: an event type, an ID and ~100 bytes of one-line JSON data;
//! - `plain`: data only, one line, each frame exactly as long as the
//!   matching `named` frame (the cost of the type and ID is the difference);
//! - `crlf`: 6 lines of ~60 bytes joined by CRLF, one of them by a lone CR,
//!   data only.
//!
//! `REPEAT` (default 1) runs the loop that many times more and prints the
//! time per event of those runs: a rough, noisy check, where callgrind's
//! counts are exact (but count each step of a `rep movsb` or `rep stosb`,
//! which `memcpy` and `memset` use for a few kilobytes and more, as an
//! instruction).
//!
//! It prints the bytes written.

use bytes::{Bytes, BytesMut};
use ssekit::{Event, EventRef};

/// The parts of one event.
struct Input {
    event_type: Option<Bytes>,
    id: Option<Bytes>,
    data: Bytes,
}

#[inline(never)]
fn encode_all(how: &str, inputs: &[Input], events: &[Event], buf: &mut BytesMut) -> usize {
    let mut written = 0;
    for (input, event) in inputs.iter().zip(events) {
        buf.clear();
        match how {
            "builder" => {
                let mut builder = Event::builder().data(input.data.clone());
                if let Some(t) = &input.event_type {
                    builder = builder.event_type(t.clone());
                }
                if let Some(id) = &input.id {
                    builder = builder.id(id.clone());
                }
                builder.build().expect("valid parts").encode(buf)
            }
            "prebuilt" => event.encode(buf),
            _ => {
                let mut frame = EventRef::new().data(&input.data[..]);
                if let Some(t) = &input.event_type {
                    frame = frame.event_type(&t[..]);
                }
                if let Some(id) = &input.id {
                    frame = frame.id(&id[..]);
                }
                frame.encode(buf).expect("valid parts")
            }
        }
        written += buf.len();
    }
    written
}

/// The `named` workload's parts of event `i`.
fn named(i: usize) -> (&'static str, String, String) {
    let id = format!("{}", 1_000_000 + i);
    let data = format!(
        "{{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{{\"type\":\"text_delta\",\
         \"text\":\"word {i} and more\"}}}}"
    );
    ("content_block_delta", id, data)
}

fn input(workload: &str, i: usize) -> Input {
    let data_only = |text: String| Input {
        event_type: None,
        id: None,
        data: Bytes::from(text),
    };
    match workload {
        "multi" => data_only(
            (0..100)
                .map(|j| format!("line {j} of event {i}, padded with text to about eighty bytes"))
                .collect::<Vec<_>>()
                .join("\n"),
        ),
        "named" => {
            let (t, id, data) = named(i);
            Input {
                event_type: Some(Bytes::from_static(t.as_bytes())),
                id: Some(Bytes::from(id)),
                data: Bytes::from(data),
            }
        }
        "plain" => {
            // `event: <t>\nid: <id>\n` is 13 bytes more than the values.
            let (t, id, data) = named(i);
            data_only(format!("{t}{id}{data}{}", "_".repeat(13)))
        }
        "crlf" => {
            let mut text = String::new();
            for j in 0..6 {
                if j > 0 {
                    text.push_str(if j == 3 { "\r" } else { "\r\n" });
                }
                text.push_str(&format!("line {j} of event {i}, text to about sixty bytes"));
            }
            data_only(text)
        }
        _ => data_only(format!(
            "{{\"id\":\"chatcmpl-{i}\",\"object\":\"chat.completion.chunk\",\
             \"created\":1700000000,\"model\":\"gpt-4o\",\"choices\":[{{\"index\":0,\
             \"delta\":{{\"content\":\"word {i} and more\"}},\"finish_reason\":null}}]}}"
        )),
    }
}

fn main() {
    let n: usize = std::env::var("EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let workload = std::env::var("WORKLOAD").unwrap_or_else(|_| "llm".into());
    let inputs: Vec<Input> = (0..n).map(|i| input(&workload, i)).collect();
    let events: Vec<Event> = inputs
        .iter()
        .map(|input| {
            let mut builder = Event::builder().data(input.data.clone());
            if let Some(t) = &input.event_type {
                builder = builder.event_type(t.clone());
            }
            if let Some(id) = &input.id {
                builder = builder.id(id.clone());
            }
            builder.build().expect("valid parts")
        })
        .collect();
    let how = std::env::args().nth(1).unwrap_or_else(|| "ref".into());
    let mut buf = BytesMut::with_capacity(16 * 1024);
    let written = encode_all(&how, &inputs, &events, &mut buf);
    println!("{how} {workload}: {n} events, {written} bytes");
    let repeat: u32 = std::env::var("REPEAT")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    if repeat > 0 {
        let start = std::time::Instant::now();
        for _ in 0..repeat {
            core::hint::black_box(encode_all(&how, &inputs, &events, &mut buf));
        }
        let per_event = start.elapsed().as_secs_f64() / f64::from(repeat) / n as f64;
        println!(
            "{:.1} ns per event, {:.0} MB/s",
            per_event * 1e9,
            written as f64 / n as f64 / per_event / 1e6
        );
    }
}
