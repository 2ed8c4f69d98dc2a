//! Helpers shared by the adapter tests: a seeded random source, a sample
//! event stream with the events it must decode to, and chunking.

#![allow(dead_code, unreachable_pub)]

use ssekit::Event;

/// SplitMix64: small, seeded, and good enough to pick split points.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x5EED_5EED_5EED_5EED)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n`; `n` must be positive.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// True with probability `1 / n`.
    pub fn one_in(&mut self, n: usize) -> bool {
        self.below(n) == 0
    }
}

/// What an event must decode to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expected {
    pub event_type: String,
    pub id: String,
    pub data: String,
}

impl Expected {
    pub fn of(event: &Event) -> Expected {
        Expected {
            event_type: event.event_type_lossy().into_owned(),
            id: event.id_lossy().into_owned(),
            data: event.data_lossy().into_owned(),
        }
    }
}

pub fn expected_of(events: &[Event]) -> Vec<Expected> {
    events.iter().map(Expected::of).collect()
}

/// A sample stream and what decoding it must give.
pub struct Sample {
    pub bytes: Vec<u8>,
    pub events: Vec<Expected>,
    pub last_event_id: String,
    pub retry: Option<u64>,
}

const DATA: &[&str] = &[
    "hello",
    "",
    "{\"text\":\"h\u{e9}llo \u{2713}\"}",
    " leading space kept",
    "colons: a:b:c",
    "[DONE]",
];

/// Builds a stream of `count` blocks with every line ending (LF, CR,
/// CRLF), a BOM, comments, `retry`, `id`, ID-only blocks, multi-line data
/// and fields without a space. It always holds at least one CRLF.
pub fn sample(rng: &mut Rng, count: usize) -> Sample {
    let mut lines: Vec<String> = Vec::new();
    let mut events = Vec::new();
    let mut last_id = String::new();
    let mut retry = None;
    for n in 0..count {
        let mut event_type = None;
        let mut id = None;
        let mut data: Vec<String> = Vec::new();
        if rng.one_in(3) {
            lines.push(format!(": comment {n}"));
        }
        if rng.one_in(2) {
            let t = format!("type{}", rng.below(4));
            lines.push(format!("event: {t}"));
            event_type = Some(t);
        }
        if rng.one_in(2) {
            let i = format!("id-{n}");
            lines.push(format!("id:{i}"));
            id = Some(i);
        }
        if rng.one_in(6) {
            let ms = rng.below(10_000) as u64;
            lines.push(format!("retry: {ms}"));
            retry = Some(ms);
        }
        // One block in five carries no data and dispatches nothing.
        let data_lines = if rng.one_in(5) { 0 } else { 1 + rng.below(3) };
        for _ in 0..data_lines {
            let d = DATA[rng.below(DATA.len())].to_string();
            if d.is_empty() && rng.one_in(2) {
                lines.push("data".to_string());
            } else {
                lines.push(format!("data: {d}"));
            }
            data.push(d);
        }
        lines.push(String::new());
        if let Some(i) = id {
            last_id = i;
        }
        if !data.is_empty() {
            events.push(Expected {
                event_type: event_type.unwrap_or_else(|| "message".to_string()),
                id: last_id.clone(),
                data: data.join("\n"),
            });
        }
    }
    let mut bytes = Vec::new();
    if rng.one_in(2) {
        bytes.extend_from_slice("\u{feff}".as_bytes());
    }
    let mut prev_cr = false;
    let mut crlf = false;
    for line in &lines {
        bytes.extend_from_slice(line.as_bytes());
        let ending: &[u8] = match rng.below(3) {
            // An LF right after a CR would join it as one CRLF.
            0 if !(prev_cr && line.is_empty()) => b"\n",
            1 => b"\r",
            _ => b"\r\n",
        };
        crlf |= ending == b"\r\n";
        prev_cr = ending == b"\r";
        bytes.extend_from_slice(ending);
    }
    if !crlf {
        bytes.extend_from_slice(b": crlf\r\n");
    }
    assert!(events.len() > 1, "the sample dispatches events");
    Sample {
        bytes,
        events,
        last_event_id: last_id,
        retry,
    }
}

/// Splits `0..len` into pieces of 1 to `max` bytes.
pub fn random_pieces(rng: &mut Rng, len: usize, max: usize) -> Vec<(usize, usize)> {
    let mut pieces = Vec::new();
    let mut at = 0;
    while at < len {
        let end = (at + 1 + rng.below(max)).min(len);
        pieces.push((at, end));
        at = end;
    }
    pieces
}

/// Like [`random_pieces`], but makes sure that the first CRLF's CR ends a
/// piece, so that the CR and its LF arrive in separate writes.
pub fn pieces_splitting_crlf(rng: &mut Rng, bytes: &[u8], max: usize) -> Vec<(usize, usize)> {
    let cr = bytes
        .windows(2)
        .position(|w| w == b"\r\n")
        .expect("the sample holds a CRLF");
    let mut pieces = random_pieces(rng, cr + 1, max);
    pieces.extend(
        random_pieces(rng, bytes.len() - cr - 1, max)
            .into_iter()
            .map(|(a, b)| (a + cr + 1, b + cr + 1)),
    );
    pieces
}
