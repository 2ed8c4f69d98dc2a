//! Seeded, reproducible event-stream workloads and the ways they are delivered.
//!
//! Every generator counts what it writes, so each workload carries its own
//! answer ([`Tally`]): the number of events a spec-exact decoder dispatches
//! and the total length of their data. Decoders are checked against that
//! answer, not against each other.

use bytes::Bytes;

use super::Tally;

/// xorshift64*: small, fast and good enough to vary lengths and words.
#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Rng {
        // Mix the seed so that small seeds do not start with small states.
        let mut s = seed ^ 0x9E37_79B9_7F4A_7C15;
        s = (s ^ (s >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        s = (s ^ (s >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        Rng((s ^ (s >> 31)) | 1)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `lo..=hi`.
    pub(crate) fn range(&mut self, lo: usize, hi: usize) -> usize {
        debug_assert!(lo <= hi);
        lo + (self.next_u64() % (hi - lo + 1) as u64) as usize
    }

    /// `true` with probability `num / den`.
    pub(crate) fn chance(&mut self, num: u64, den: u64) -> bool {
        self.next_u64() % den < num
    }

    pub(crate) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.range(0, items.len() - 1)]
    }
}

/// The decode workloads, in report order.
pub(crate) const WORKLOADS: [WorkloadKind; 6] = [
    WorkloadKind::LlmTokens,
    WorkloadKind::AnthropicNamed,
    WorkloadKind::MultilineLarge,
    WorkloadKind::CrlfMixed,
    WorkloadKind::HeartbeatHeavy,
    WorkloadKind::HugeEvents,
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WorkloadKind {
    /// OpenAI-style chat completion chunks, one small JSON `data` line each,
    /// ending with `data: [DONE]`.
    LlmTokens,
    /// Anthropic-style named events: `event: content_block_delta` + `data`.
    AnthropicNamed,
    /// Events of 50–200 `data` lines of 60–120 bytes each.
    MultilineLarge,
    /// CRLF line endings, an `id` on every event, `retry` now and then, some
    /// two-line data.
    CrlfMixed,
    /// 90% `: keep-alive` comment blocks, 10% small events.
    HeartbeatHeavy,
    /// Single-line events of 1 MiB of data each.
    HugeEvents,
}

impl WorkloadKind {
    pub(crate) fn name(self) -> &'static str {
        match self {
            WorkloadKind::LlmTokens => "llm_tokens",
            WorkloadKind::AnthropicNamed => "anthropic_named",
            WorkloadKind::MultilineLarge => "multiline_large",
            WorkloadKind::CrlfMixed => "crlf_mixed",
            WorkloadKind::HeartbeatHeavy => "heartbeat_heavy",
            WorkloadKind::HugeEvents => "huge_events",
        }
    }

    fn seed(self) -> u64 {
        0x55E_0000 + self as u64
    }

    /// Generates about `size` bytes of this workload (never less, except
    /// that events are whole, so a stream may overshoot by one event).
    pub(crate) fn generate(self, size: usize) -> Workload {
        self.generate_with(size, HUGE_EVENT_DATA)
    }

    /// A smaller stand-in for [`generate`](WorkloadKind::generate), for the
    /// time guard: the same, except that huge events shrink with the sample
    /// (a quarter of it each), so that a sample is never one whole 1 MiB
    /// event and a decoder that is quadratic in event size shows it.
    pub(crate) fn sample(self, size: usize) -> Workload {
        self.generate_with(size, HUGE_EVENT_DATA.min(size / 4))
    }

    fn generate_with(self, size: usize, huge: usize) -> Workload {
        let mut w = Writer::with_capacity(size + huge + 4096);
        let mut rng = Rng::new(self.seed());
        match self {
            WorkloadKind::LlmTokens => llm_tokens(&mut w, &mut rng, size),
            WorkloadKind::AnthropicNamed => anthropic_named(&mut w, &mut rng, size),
            WorkloadKind::MultilineLarge => multiline_large(&mut w, &mut rng, size),
            WorkloadKind::CrlfMixed => crlf_mixed(&mut w, &mut rng, size),
            WorkloadKind::HeartbeatHeavy => heartbeat_heavy(&mut w, &mut rng, size),
            WorkloadKind::HugeEvents => huge_events(&mut w, &mut rng, size, huge),
        }
        Workload {
            name: self.name(),
            bytes: Bytes::from(w.out),
            expected: w.tally,
        }
    }
}

/// One generated stream and the answer a spec-exact decoder must give.
#[derive(Debug, Clone)]
pub(crate) struct Workload {
    pub(crate) name: &'static str,
    pub(crate) bytes: Bytes,
    pub(crate) expected: Tally,
}

/// How the stream reaches the decoder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Delivery {
    /// The whole stream in one buffer.
    Whole,
    /// 1460-byte chunks: one TCP segment's payload on a 1500-byte MTU.
    Mtu,
    /// Seeded random chunks of 1 to 64 bytes.
    Tiny,
    /// Fixed-size chunks of the given length.
    Fixed(usize),
}

pub(crate) const DELIVERIES: [Delivery; 3] = [Delivery::Whole, Delivery::Mtu, Delivery::Tiny];

impl Delivery {
    pub(crate) fn name(self) -> String {
        match self {
            Delivery::Whole => "whole".into(),
            Delivery::Mtu => "mtu".into(),
            Delivery::Tiny => "tiny".into(),
            Delivery::Fixed(n) => format!("{n}B"),
        }
    }

    /// Splits `bytes` into chunks that share its storage, as a network
    /// stack's reads would hand them over.
    pub(crate) fn split(self, bytes: &Bytes) -> Vec<Bytes> {
        let mut rng = Rng::new(0xC4A2_u64);
        let mut chunks = Vec::new();
        let mut at = 0;
        while at < bytes.len() {
            let len = match self {
                Delivery::Whole => bytes.len(),
                Delivery::Mtu => 1460,
                Delivery::Tiny => rng.range(1, 64),
                Delivery::Fixed(n) => n,
            };
            let end = (at + len).min(bytes.len());
            chunks.push(bytes.slice(at..end));
            at = end;
        }
        chunks
    }
}

/// Output buffer that keeps the expected answer up to date.
struct Writer {
    out: Vec<u8>,
    tally: Tally,
}

impl Writer {
    fn with_capacity(n: usize) -> Writer {
        Writer {
            out: Vec::with_capacity(n),
            tally: Tally::default(),
        }
    }

    fn len(&self) -> usize {
        self.out.len()
    }

    fn put(&mut self, s: &[u8]) {
        self.out.extend_from_slice(s);
    }

    /// Records one dispatched event whose data lines have these lengths.
    fn count_event(&mut self, line_lens: &[usize]) {
        debug_assert!(!line_lens.is_empty());
        self.tally.events += 1;
        self.tally.data_len += line_lens.iter().sum::<usize>() + line_lens.len() - 1;
    }
}

/// Words of model output. A few are not ASCII, as real output often is,
/// so that tiny chunks split multi-byte characters.
const WORDS: &[&str] = &[
    " the",
    " a",
    " of",
    " and",
    " to",
    " in",
    " is",
    " that",
    " it",
    " for",
    " on",
    " with",
    " as",
    " stream",
    " event",
    " server",
    " client",
    " data",
    " token",
    " model",
    " answer",
    " Rust",
    " bytes",
    " buffer",
    ",",
    ".",
    " —",
    " café",
    " naïve",
    " 🙂",
    " 東京",
    "\\n",
    "\\n\\n",
    " `code`",
    " **bold**",
    " 42",
    " 3.14",
    " however",
    " therefore",
    " example",
];

fn push_words(w: &mut Vec<u8>, rng: &mut Rng, lo: usize, hi: usize) {
    for _ in 0..rng.range(lo, hi) {
        w.extend_from_slice(rng.pick(WORDS).as_bytes());
    }
}

/// Printable ASCII for bulk text lines (no CR/LF, any other byte is fine).
const TEXT: &[u8] =
    b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ,.;:{}[]\"'-_=+/";

fn push_text(w: &mut Vec<u8>, rng: &mut Rng, len: usize) {
    let mut left = len;
    while left > 0 {
        // Eight characters per random number.
        let mut r = rng.next_u64();
        for _ in 0..left.min(8) {
            w.push(TEXT[(r as usize & 0xFF) % TEXT.len()]);
            r >>= 8;
        }
        left -= left.min(8);
    }
}

fn llm_tokens(w: &mut Writer, rng: &mut Rng, size: usize) {
    const HEAD: &[u8] = b"data: {\"id\":\"chatcmpl-9zX4kQvBf2LmT8rYpW3sN6dHaE1\",\"object\":\"chat.completion.chunk\",\"created\":1731000000,\"model\":\"gpt-4o-mini-2024-07-18\",\"system_fingerprint\":\"fp_0ba0d124f1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"";
    const TAIL: &[u8] = b"\"},\"logprobs\":null,\"finish_reason\":null}]}\n\n";
    let mut line = Vec::with_capacity(512);
    while w.len() < size {
        line.clear();
        line.extend_from_slice(HEAD);
        push_words(&mut line, rng, 1, 4);
        line.extend_from_slice(TAIL);
        w.put(&line);
        // "data: " and the blank line are not data.
        w.count_event(&[line.len() - 6 - 2]);
    }
    w.put(b"data: [DONE]\n\n");
    w.count_event(&[6]);
}

fn anthropic_named(w: &mut Writer, rng: &mut Rng, size: usize) {
    fn event(w: &mut Writer, name: &[u8], data: &[u8]) {
        w.put(b"event: ");
        w.put(name);
        w.put(b"\ndata: ");
        w.put(data);
        w.put(b"\n\n");
        w.count_event(&[data.len()]);
    }
    event(
        w,
        b"message_start",
        br#"{"type":"message_start","message":{"id":"msg_01XFDUDYJgAACzvnptvVoYEL","type":"message","role":"assistant","content":[],"model":"claude-sonnet-4-5","stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":25,"output_tokens":1}}}"#,
    );
    event(
        w,
        b"content_block_start",
        br#"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#,
    );
    let mut data = Vec::with_capacity(512);
    let mut n = 0u64;
    while w.len() < size {
        n += 1;
        if n % 64 == 0 {
            event(w, b"ping", br#"{"type": "ping"}"#);
            continue;
        }
        data.clear();
        data.extend_from_slice(
            br#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":""#,
        );
        push_words(&mut data, rng, 1, 5);
        data.extend_from_slice(br#""}}"#);
        event(w, b"content_block_delta", &data);
    }
    event(
        w,
        b"content_block_stop",
        br#"{"type":"content_block_stop","index":0}"#,
    );
    event(
        w,
        b"message_delta",
        br#"{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":15}}"#,
    );
    event(w, b"message_stop", br#"{"type":"message_stop"}"#);
}

fn multiline_large(w: &mut Writer, rng: &mut Rng, size: usize) {
    let mut line = Vec::with_capacity(128);
    let mut lens = Vec::with_capacity(200);
    while w.len() < size {
        lens.clear();
        for _ in 0..rng.range(50, 200) {
            line.clear();
            let len = rng.range(60, 120);
            push_text(&mut line, rng, len);
            w.put(b"data: ");
            w.put(&line);
            w.put(b"\n");
            lens.push(len);
        }
        w.put(b"\n");
        w.count_event(&lens);
    }
}

fn crlf_mixed(w: &mut Writer, rng: &mut Rng, size: usize) {
    let mut line = Vec::with_capacity(128);
    let mut id = 1_000_000u64;
    while w.len() < size {
        id += 1;
        w.put(format!("id: {id}\r\n").as_bytes());
        if rng.chance(1, 16) {
            w.put(b"retry: 2500\r\n");
        }
        if rng.chance(1, 4) {
            w.put(b"event: update\r\n");
        }
        let lines = if rng.chance(3, 10) { 2 } else { 1 };
        let mut lens = [0; 2];
        for len in &mut lens[..lines] {
            line.clear();
            *len = rng.range(20, 80);
            push_text(&mut line, rng, *len);
            w.put(b"data: ");
            w.put(&line);
            w.put(b"\r\n");
        }
        w.put(b"\r\n");
        w.count_event(&lens[..lines]);
    }
}

fn heartbeat_heavy(w: &mut Writer, rng: &mut Rng, size: usize) {
    let mut seq = 0u64;
    while w.len() < size {
        if rng.chance(9, 10) {
            w.put(b": keep-alive\n\n");
        } else {
            seq += 1;
            let data = format!(
                "{{\"seq\":{seq},\"status\":\"ok\",\"load\":0.{:02}}}",
                rng.range(0, 99)
            );
            w.put(b"data: ");
            w.put(data.as_bytes());
            w.put(b"\n\n");
            w.count_event(&[data.len()]);
        }
    }
}

/// Data length of a huge event: with its "data: " and blank line, exactly 1 MiB.
const HUGE_EVENT_DATA: usize = (1 << 20) - 8;

fn huge_events(w: &mut Writer, rng: &mut Rng, size: usize, len: usize) {
    let mut data = Vec::with_capacity(len);
    while w.len() < size {
        data.clear();
        push_text(&mut data, rng, len);
        w.put(b"data: ");
        w.put(&data);
        w.put(b"\n\n");
        w.count_event(&[len]);
    }
}

/// One event whose data is a single line of `len` bytes.
pub(crate) fn one_event(len: usize) -> Workload {
    let mut w = Writer::with_capacity(len + 16);
    let mut rng = Rng::new(0x0E_1E47);
    w.put(b"data: ");
    push_text(&mut w.out, &mut rng, len);
    w.put(b"\n\n");
    w.count_event(&[len]);
    Workload {
        name: "one_event",
        bytes: Bytes::from(w.out),
        expected: w.tally,
    }
}

/// The parts of one event for the encode benchmarks, for inputs that are
/// given as parts rather than decoded from a stream: an ID on every event,
/// or data holding CR, which a stream cannot carry as such.
#[derive(Debug, Clone)]
pub(crate) struct EncodeInput {
    pub(crate) event_type: Option<Bytes>,
    pub(crate) id: Option<Bytes>,
    pub(crate) data: Bytes,
}

impl EncodeInput {
    /// The length of the event's frame: `event`, `id` and `data` lines
    /// (CR and CRLF in data are line breaks, each `data` line is
    /// `data: <line>\n`) and the blank line.
    pub(crate) fn frame_len(&self) -> usize {
        let head =
            |prefix: usize, v: &Option<Bytes>| v.as_ref().map_or(0, |v| prefix + v.len() + 1);
        let mut data = 0;
        let mut i = 0;
        let d = &self.data[..];
        let mut line = 0;
        while i < d.len() {
            match d[i] {
                b'\r' | b'\n' => {
                    data += 6 + line + 1;
                    line = 0;
                    if d[i] == b'\r' && d.get(i + 1) == Some(&b'\n') {
                        i += 1;
                    }
                }
                _ => line += 1,
            }
            i += 1;
        }
        data += 6 + line + 1;
        head(7, &self.event_type) + head(4, &self.id) + data + 1
    }
}

/// `named_ids`: Anthropic-style named events, each with an ID (`evt-`
/// and a number) and one line of JSON data of 80–130 bytes; about `size`
/// bytes of frames.
pub(crate) fn named_ids_inputs(size: usize) -> Vec<EncodeInput> {
    let mut rng = Rng::new(0x55E_1000);
    let mut out = Vec::new();
    let mut total = 0;
    let mut n = 0u64;
    while total < size {
        n += 1;
        let mut data = Vec::with_capacity(160);
        let event_type: &'static str = if n % 64 == 0 {
            data.extend_from_slice(br#"{"type": "ping"}"#);
            "ping"
        } else {
            data.extend_from_slice(
                br#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":""#,
            );
            push_words(&mut data, &mut rng, 1, 5);
            data.extend_from_slice(br#""}}"#);
            "content_block_delta"
        };
        let input = EncodeInput {
            event_type: Some(Bytes::from_static(event_type.as_bytes())),
            id: Some(Bytes::from(format!("evt-{}", 1_000_000 + n))),
            data: Bytes::from(data),
        };
        total += input.frame_len();
        out.push(input);
    }
    out
}

/// The same frame lengths as `inputs` (which must hold no CR or LF), with
/// data alone: each event's data is its type, ID and data, padded to make
/// up for the `event` and `id` lines. Encoding these costs what copying
/// the same bytes as data costs.
pub(crate) fn as_data_only(inputs: &[EncodeInput]) -> Vec<EncodeInput> {
    inputs
        .iter()
        .map(|input| {
            let len = input.frame_len() - b"data: \n\n".len();
            let mut data = Vec::with_capacity(len);
            for part in [&input.event_type, &input.id].into_iter().flatten() {
                data.extend_from_slice(part);
            }
            data.extend_from_slice(&input.data);
            data.resize(len, b'_');
            let out = EncodeInput {
                event_type: None,
                id: None,
                data: Bytes::from(data),
            };
            debug_assert_eq!(out.frame_len(), input.frame_len());
            out
        })
        .collect()
}

/// `crlf_data`: data as a Windows client or a text file may hand it to a
/// server: 2–8 lines of 20–120 bytes joined by CRLF, each break a lone CR
/// with probability 1/4; about `size` bytes of frames.
pub(crate) fn crlf_data_inputs(size: usize) -> Vec<EncodeInput> {
    let mut rng = Rng::new(0x55E_1001);
    let mut out = Vec::new();
    let mut total = 0;
    while total < size {
        let mut data = Vec::with_capacity(1024);
        for i in 0..rng.range(2, 8) {
            if i > 0 {
                let brk: &[u8] = if rng.chance(1, 4) { b"\r" } else { b"\r\n" };
                data.extend_from_slice(brk);
            }
            let len = rng.range(20, 120);
            push_text(&mut data, &mut rng, len);
        }
        let input = EncodeInput {
            event_type: None,
            id: None,
            data: Bytes::from(data),
        };
        total += input.frame_len();
        out.push(input);
    }
    out
}
