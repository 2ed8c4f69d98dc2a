//! A small, deterministic encoding loop to profile with
//! `valgrind --tool=callgrind` (see `profile_decode.rs` for the decoder).
//!
//! ```text
//! cargo build --release --example profile_encode
//! WORKLOAD=llm valgrind --tool=callgrind --toggle-collect='profile_encode::encode_all' \
//!     target/release/examples/profile_encode ref
//! ```
//!
//! Argument: the encoder (`builder`: `Event::builder().data(Bytes).build()`
//! then `Event::encode`; `prebuilt`: `Event::encode` of events built
//! beforehand; `ref`: `EventRef::new().data(&[u8]).encode`), each frame into
//! one reused `BytesMut`. Environment: `WORKLOAD` (`llm`: ~190-byte one-line
//! JSON payloads; `multi`: 100 lines of ~80 bytes), `EVENTS` (default
//! 10,000). It prints the bytes written.

use bytes::{Bytes, BytesMut};
use ssekit::{Event, EventRef};

#[inline(never)]
fn encode_all(how: &str, payloads: &[Bytes], events: &[Event], buf: &mut BytesMut) -> usize {
    let mut written = 0;
    for (data, event) in payloads.iter().zip(events) {
        buf.clear();
        match how {
            "builder" => Event::builder()
                .data(data.clone())
                .build()
                .expect("data alone is valid")
                .encode(buf),
            "prebuilt" => event.encode(buf),
            _ => EventRef::new()
                .data(&data[..])
                .encode(buf)
                .expect("data alone is valid"),
        }
        written += buf.len();
    }
    written
}

fn main() {
    let n: usize = std::env::var("EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let multi = std::env::var("WORKLOAD").is_ok_and(|w| w == "multi");
    let payloads: Vec<Bytes> = (0..n)
        .map(|i| {
            let text = if multi {
                (0..100)
                    .map(|j| {
                        format!("line {j} of event {i}, padded with text to about eighty bytes")
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            } else {
                format!(
                    "{{\"id\":\"chatcmpl-{i}\",\"object\":\"chat.completion.chunk\",\
                     \"created\":1700000000,\"model\":\"gpt-4o\",\"choices\":[{{\"index\":0,\
                     \"delta\":{{\"content\":\"word {i} and more\"}},\"finish_reason\":null}}]}}"
                )
            };
            Bytes::from(text)
        })
        .collect();
    let events: Vec<Event> = payloads.iter().cloned().map(Event::new).collect();
    let how = std::env::args().nth(1).unwrap_or_else(|| "ref".into());
    let mut buf = BytesMut::with_capacity(16 * 1024);
    let written = encode_all(&how, &payloads, &events, &mut buf);
    println!("{how}: {n} events, {written} bytes");
}
