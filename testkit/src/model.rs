//! Two naive models of decoding that the library is checked against, and
//! the transcript both they and the checks write down.
//!
//! - [`assemble`] runs ssekit's field layer ([`Decoder`]) and builds events
//!   from its fields with the spec's steps written out, so it checks the
//!   event layers against the field layer, limits and errors included.
//! - [`reference()`] is written from the WHATWG spec alone, over the whole
//!   input, with no limits: it shares no code with the library nor with
//!   [`assemble`].
//!
//! They are used by the fuzz checks of this crate and by the property
//! tests in `tests/decode_prop.rs`.

use bytes::Bytes;
use ssekit_codec::{
    DecodeError, Decoder, EndOfStream, Event, Field, Limits, Step, DEFAULT_EVENT_TYPE,
};

/// A dispatched event, owned, with everything a decoder reports about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ev {
    /// The event type (`message` when the block set none, or an empty one).
    pub event_type: Bytes,
    /// The data, one entry per `data` field, without line endings.
    pub lines: Vec<Bytes>,
    /// The last event ID when the event was dispatched.
    pub id: Bytes,
    /// Whether the event's own block of lines had an `id` field.
    pub sets_id: bool,
    /// The value of a valid `retry` field in the event's own block.
    pub retry: Option<u64>,
}

impl Ev {
    /// The record of an event that a decoder dispatched.
    pub fn of(event: &Event) -> Ev {
        Ev {
            event_type: Bytes::copy_from_slice(event.event_type()),
            lines: event.data_lines().to_vec(),
            id: Bytes::copy_from_slice(event.id()),
            sets_id: event.sets_id(),
            retry: event.retry(),
        }
    }
}

/// One thing reported while decoding, in stream order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rec {
    /// A dispatched event.
    Event(Ev),
    /// A valid `retry` field, in milliseconds.
    Retry(u64),
    /// A comment line's text, after the colon.
    Comment(Bytes),
    /// A limit was exceeded; decoding went on after it.
    Error(DecodeError),
}

/// Everything one decoding run reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transcript {
    /// Events, retries, comments and errors, in stream order.
    pub items: Vec<Rec>,
    /// How the stream ended.
    pub end: EndOfStream,
    /// The last event ID held at the end.
    pub last_event_id: Bytes,
    /// The reconnection time held at the end, in milliseconds.
    pub reconnection_time: Option<u64>,
}

impl Transcript {
    /// The transcript as an events-only entry point reports it: comments
    /// and `retry` items left out.
    pub fn events_only(&self) -> Transcript {
        Transcript {
            items: self
                .items
                .iter()
                .filter(|r| matches!(r, Rec::Event(_) | Rec::Error(_)))
                .cloned()
                .collect(),
            ..self.clone()
        }
    }

    /// The errors, in stream order.
    pub fn errors(&self) -> impl Iterator<Item = &DecodeError> {
        self.items.iter().filter_map(|r| match r {
            Rec::Error(e) => Some(e),
            _ => None,
        })
    }
}

// ---------------------------------------------------------------------------
// Events from the field layer

/// The spec's event stream interpretation over the field layer, with
/// ssekit's documented error recovery (the event in progress is dropped
/// whole, including an `id` it set).
#[derive(Default)]
struct Assembler {
    items: Vec<Rec>,
    data: Vec<Bytes>,
    event_type: Bytes,
    retry: Option<u64>,
    sets_id: bool,
    id_buffer: Bytes,
    last_event_id: Bytes,
    reconnection_time: Option<u64>,
}

impl Assembler {
    fn field(&mut self, field: Field<'_>) {
        let copy = Bytes::copy_from_slice;
        match field {
            Field::Data(v) => self.data.push(copy(v)),
            Field::Event(v) => self.event_type = copy(v),
            Field::Id(v) => {
                self.id_buffer = copy(v);
                self.sets_id = true;
            }
            Field::Retry(ms) => {
                self.reconnection_time = Some(ms);
                self.retry = Some(ms);
                self.items.push(Rec::Retry(ms));
            }
            Field::Comment(v) => self.items.push(Rec::Comment(copy(v))),
            Field::Ignored { .. } => {}
            Field::Dispatch => {
                self.last_event_id = self.id_buffer.clone();
                if !self.data.is_empty() {
                    let event_type = if self.event_type.is_empty() {
                        Bytes::from_static(DEFAULT_EVENT_TYPE.as_bytes())
                    } else {
                        self.event_type.clone()
                    };
                    self.items.push(Rec::Event(Ev {
                        event_type,
                        lines: core::mem::take(&mut self.data),
                        id: self.last_event_id.clone(),
                        sets_id: self.sets_id,
                        retry: self.retry,
                    }));
                }
                self.drop_event();
            }
            other => panic!("unknown field {other:?}"),
        }
    }

    fn error(&mut self, err: DecodeError) {
        self.items.push(Rec::Error(err));
        self.drop_event();
        self.id_buffer = self.last_event_id.clone();
    }

    fn drop_event(&mut self) {
        self.data.clear();
        self.event_type = Bytes::new();
        self.retry = None;
        self.sets_id = false;
    }
}

/// Runs the field layer ([`Decoder`]) with `limits` over `chunks`, with a
/// `Vec` buffer as a caller without `bytes` would, and assembles events from
/// its fields with the spec's steps; a limit error drops the event in
/// progress, as ssekit documents.
///
/// On the way it checks the field layer's bookkeeping: it never consumes
/// more than it was given, it consumes input for every field and error,
/// and [`Decoder::position`] is the sum of what it consumed.
pub fn assemble(limits: Limits, chunks: &[&[u8]]) -> Transcript {
    let mut decoder = Decoder::with_limits(limits);
    let mut model = Assembler::default();
    let mut buf: Vec<u8> = Vec::new();
    let mut consumed_total = 0u64;
    for &chunk in chunks {
        buf.extend_from_slice(chunk);
        loop {
            let step = decoder.decode(&buf);
            let consumed = step.consumed;
            assert!(
                consumed <= buf.len(),
                "Decoder consumed {consumed} of {} bytes",
                buf.len()
            );
            let more = match step.status {
                Ok(Step::Field(field)) => {
                    model.field(field);
                    true
                }
                Ok(Step::NeedMore) => false,
                Err(err) => {
                    model.error(err);
                    true
                }
            };
            assert!(
                !more || consumed > 0,
                "Decoder reported a field or an error without consuming input"
            );
            buf.drain(..consumed);
            consumed_total += consumed as u64;
            if !more {
                break;
            }
        }
    }
    assert_eq!(
        decoder.position(),
        consumed_total,
        "Decoder::position is the sum of consumed"
    );
    let end = decoder.finish(&buf);
    Transcript {
        items: model.items,
        end,
        last_event_id: model.last_event_id,
        reconnection_time: model.reconnection_time,
    }
}

// ---------------------------------------------------------------------------
// Straight from the spec

/// The complete lines of `text`, split at LF, CR and CRLF one byte at a
/// time as the spec's grammar reads them, and the incomplete line after
/// the last line ending (empty when `text` ends with one).
///
/// ```
/// let (lines, rest) = ssekit_testkit::model::split_lines(b"a\r\nb\rc\nd");
/// assert_eq!(lines, [&b"a"[..], b"b", b"c"]);
/// assert_eq!(rest, b"d");
/// ```
pub fn split_lines(text: &[u8]) -> (Vec<&[u8]>, &[u8]) {
    let mut lines = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < text.len() {
        match text[i] {
            b'\n' => {
                lines.push(&text[start..i]);
                start = i + 1;
            }
            b'\r' => {
                lines.push(&text[start..i]);
                if text.get(i + 1) == Some(&b'\n') {
                    i += 1;
                }
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    (lines, &text[start..])
}

/// A naive decoder written from the WHATWG spec over the whole input, with
/// no limits: one leading byte order mark stripped, lines split at CRLF, LF
/// or CR, then each line interpreted with the spec's buffers (the data
/// buffer gets a LF after every value, and loses the last one at dispatch).
///
/// Beyond the spec it records what ssekit reports too: comments, `retry`
/// items, for each event whether its block set the ID and the `retry` it
/// held, and whether the stream ended inside an event or a line
/// ([`EndOfStream::Truncated`]).
pub fn reference(input: &[u8]) -> Transcript {
    let text = input.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(input);
    // Whatever follows the last line ending is an incomplete line.
    let (lines, rest) = split_lines(text);

    let mut items = Vec::new();
    let mut data: Vec<u8> = Vec::new();
    let mut event_type: Vec<u8> = Vec::new();
    let mut id_buffer: Vec<u8> = Vec::new();
    let mut last_event_id: Vec<u8> = Vec::new();
    let mut reconnection_time = None;
    let mut event_retry = None;
    let mut sets_id = false;
    let mut in_event = false;
    for line in lines {
        if line.is_empty() {
            // Dispatch.
            in_event = false;
            last_event_id.clone_from(&id_buffer);
            let retry = event_retry.take();
            let own_id = core::mem::take(&mut sets_id);
            let ty = core::mem::take(&mut event_type);
            if data.is_empty() {
                continue;
            }
            if data.last() == Some(&b'\n') {
                data.pop();
            }
            let ty = if ty.is_empty() {
                b"message".to_vec()
            } else {
                ty
            };
            items.push(Rec::Event(Ev {
                event_type: Bytes::from(ty),
                lines: data
                    .split(|&b| b == b'\n')
                    .map(Bytes::copy_from_slice)
                    .collect(),
                id: Bytes::copy_from_slice(&last_event_id),
                sets_id: own_id,
                retry,
            }));
            data.clear();
            continue;
        }
        if line[0] == b':' {
            items.push(Rec::Comment(Bytes::copy_from_slice(&line[1..])));
            continue;
        }
        in_event = true;
        let (name, value) = match line.iter().position(|&b| b == b':') {
            Some(colon) => {
                let v = &line[colon + 1..];
                (&line[..colon], v.strip_prefix(b" ").unwrap_or(v))
            }
            None => (line, &line[line.len()..]),
        };
        match name {
            b"event" => event_type = value.to_vec(),
            b"data" => {
                data.extend_from_slice(value);
                data.push(b'\n');
            }
            // An ID containing NUL is ignored.
            b"id" if !value.contains(&0) => {
                id_buffer = value.to_vec();
                sets_id = true;
            }
            b"retry" if !value.is_empty() && value.iter().all(u8::is_ascii_digit) => {
                // All digits: parsing fails only on overflow, which is ignored.
                if let Ok(ms) = core::str::from_utf8(value).unwrap().parse::<u64>() {
                    reconnection_time = Some(ms);
                    event_retry = Some(ms);
                    items.push(Rec::Retry(ms));
                }
            }
            _ => {}
        }
    }
    let end = if in_event || !rest.is_empty() {
        EndOfStream::Truncated
    } else {
        EndOfStream::Clean
    };
    Transcript {
        items,
        end,
        last_event_id: Bytes::from(last_event_id),
        reconnection_time,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both models on one hand-checked stream: a BOM, a value's one leading
    /// space stripped, CR and CRLF endings, an `id` with NUL ignored, a
    /// `retry` in an event's block, an event inheriting the ID, and an
    /// incomplete last line.
    #[test]
    fn models_on_a_hand_checked_stream() {
        let input = b"\xEF\xBB\xBFid: 1\r\nevent: e\ndata:  a\rdata\n\n: c\nid: x\0\nretry: 7\ndata: b\n\ndata: z";
        let ev = |event_type: &'static str, lines: &[&'static str], sets_id, retry| {
            Rec::Event(Ev {
                event_type: Bytes::from_static(event_type.as_bytes()),
                lines: lines
                    .iter()
                    .map(|l| Bytes::from_static(l.as_bytes()))
                    .collect(),
                id: Bytes::from_static(b"1"),
                sets_id,
                retry,
            })
        };
        let expected = Transcript {
            items: vec![
                ev("e", &[" a", ""], true, None),
                Rec::Comment(Bytes::from_static(b" c")),
                Rec::Retry(7),
                ev("message", &["b"], false, Some(7)),
            ],
            end: EndOfStream::Truncated,
            last_event_id: Bytes::from_static(b"1"),
            reconnection_time: Some(7),
        };
        assert_eq!(reference(input), expected);
        let chunks: Vec<&[u8]> = input.chunks(3).collect();
        assert_eq!(assemble(Limits::unbounded(), &chunks), expected);
    }
}
