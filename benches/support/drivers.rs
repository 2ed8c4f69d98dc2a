//! One function per decoder: feed it the chunks in order, count what comes
//! out. Each driver uses its crate the way its documentation shows, with the
//! cheapest input path the crate offers for a sequence of `Bytes` chunks.
//! Async-only crates run under `futures::executor::block_on` over
//! `futures::stream::iter`, which never parks since every chunk is ready.

use core::convert::Infallible;
use core::num::NonZeroUsize;

use bytes::{Bytes, BytesMut};
use futures::executor::block_on;
use futures::StreamExt;
use ssekit::{BorrowedDecoder, Decoder, Event, EventDecoder, Field, Limits, Step};

use super::Tally;

impl Tally {
    fn event(&mut self, data_len: usize) {
        self.events += 1;
        self.data_len += data_len;
    }
}

fn add(t: &mut Tally, event: &Event) {
    t.event(event.data_len());
}

/// ssekit's event layer over a `BytesMut` that every chunk is appended to:
/// the `tokio_util::codec::FramedRead` way. `buf` is kept from pass to pass,
/// like a connection's read buffer.
pub(crate) fn ssekit_owned(chunks: &[Bytes], limits: Limits, buf: &mut BytesMut) -> Tally {
    let mut t = Tally::default();
    let mut decoder = EventDecoder::with_limits(limits);
    buf.clear();
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        loop {
            match decoder.decode(buf) {
                Ok(Some(event)) => add(&mut t, &event),
                Ok(None) => break,
                Err(_) => t.errors += 1,
            }
        }
    }
    let _ = decoder.finish(buf);
    t
}

/// ssekit's event layer taking events straight out of each `Bytes` chunk
/// with `EventDecoder::decode_chunk`, as the `Stream` adapter does: only a
/// line split across chunks is copied, into a carry buffer.
pub(crate) fn ssekit_bytes(chunks: &[Bytes], limits: Limits) -> Tally {
    let mut t = Tally::default();
    let mut decoder = EventDecoder::with_limits(limits);
    let mut carry = BytesMut::new();
    for chunk in chunks {
        let mut chunk = chunk.clone();
        loop {
            match decoder.decode_chunk(&mut carry, &mut chunk) {
                Ok(Some(event)) => add(&mut t, &event),
                Ok(None) => break,
                Err(_) => t.errors += 1,
            }
        }
    }
    let _ = decoder.finish(&mut carry);
    t
}

/// ssekit's borrowing event layer (`BorrowedDecoder`) on each chunk as a
/// `&[u8]`: events are views of the chunk or of the decoder's reused
/// buffers, used at once (their data length counted) and dropped.
pub(crate) fn ssekit_borrowed(chunks: &[Bytes], limits: Limits) -> Tally {
    let mut t = Tally::default();
    let mut decoder = BorrowedDecoder::with_limits(limits);
    for chunk in chunks {
        let mut chunk: &[u8] = chunk;
        loop {
            match decoder.decode(&mut chunk) {
                Ok(Some(event)) => t.event(event.data().len()),
                Ok(None) => break,
                Err(_) => t.errors += 1,
            }
        }
    }
    let _ = decoder.finish();
    t
}

/// The chunks as the byte stream an HTTP client hands over.
fn body<'a, E: 'a>(chunks: &'a [Bytes]) -> impl futures::Stream<Item = Result<Bytes, E>> + 'a {
    futures::stream::iter(chunks.iter().cloned().map(Ok))
}

/// Drains `events` under `block_on`, counting each item that `data_len`
/// says is an event (with its data length) and each error.
fn tally_stream<T, E>(
    events: impl futures::Stream<Item = Result<T, E>>,
    data_len: impl Fn(T) -> Option<usize>,
) -> Tally {
    block_on(async {
        let mut events = core::pin::pin!(events);
        let mut t = Tally::default();
        while let Some(item) = events.next().await {
            match item {
                Ok(item) => {
                    if let Some(len) = data_len(item) {
                        t.event(len);
                    }
                }
                Err(_) => t.errors += 1,
            }
        }
        t
    })
}

/// ssekit's `futures::Stream` adapter (`ssekit::adapters::stream`), the
/// path an application with an HTTP body stream takes.
pub(crate) fn ssekit_stream(chunks: &[Bytes], limits: Limits) -> Tally {
    use ssekit::adapters::stream::SseStreamExt;
    let events = body::<Infallible>(chunks).sse_events_with_limits(limits);
    tally_stream(events, |event| Some(event.data_len()))
}

/// What the field layer has seen of the event in progress.
#[derive(Default)]
struct Pending {
    lines: usize,
    len: usize,
}

/// Decodes every complete line in `input` and returns how many bytes were
/// consumed.
fn fields(decoder: &mut Decoder, mut input: &[u8], p: &mut Pending, t: &mut Tally) -> usize {
    let start = input.len();
    loop {
        let step = decoder.decode(input);
        input = &input[step.consumed..];
        match step.status {
            Ok(Step::Field(Field::Data(v))) => {
                p.lines += 1;
                p.len += v.len();
            }
            // The spec's dispatch: an event exists iff it had a data line;
            // its data is the lines joined with LF.
            Ok(Step::Field(Field::Dispatch)) => {
                if p.lines > 0 {
                    t.event(p.len + p.lines - 1);
                }
                *p = Pending::default();
            }
            Ok(Step::Field(_)) => {}
            Ok(Step::NeedMore) => return start - input.len(),
            Err(_) => {
                t.errors += 1;
                *p = Pending::default();
            }
        }
    }
}

/// Chunks up to this size are copied into the carry buffer whole: cheaper
/// than searching them for the carried line's end and then decoding them.
const SMALL_CHUNK: usize = 256;

/// ssekit's borrowed field layer (`Decoder`), decoding in place in each
/// chunk and carrying only an incomplete line over, in a `Vec<u8>` (with a
/// chunk of at most 256 bytes that completes it).
///
/// It counts what a spec-exact consumer would: a blank line ends an event,
/// which is dispatched iff it had at least one `data` line, and its data
/// length is the sum of the data line lengths plus one LF between lines.
/// Other fields are decoded and dropped.
pub(crate) fn ssekit_fields(chunks: &[Bytes], limits: Limits) -> Tally {
    let mut t = Tally::default();
    let mut p = Pending::default();
    let mut decoder = Decoder::with_limits(limits);
    let mut carry: Vec<u8> = Vec::new();
    for chunk in chunks {
        let mut chunk: &[u8] = chunk;
        while !chunk.is_empty() {
            if carry.is_empty() {
                let used = fields(&mut decoder, chunk, &mut p, &mut t);
                carry.extend_from_slice(&chunk[used..]);
                chunk = &[];
            } else {
                // Complete the carried line, then go back to the chunk. A
                // small chunk is carried whole rather than searched twice.
                let take = if chunk.len() <= SMALL_CHUNK {
                    chunk.len()
                } else {
                    memchr::memchr2(b'\n', b'\r', chunk).map_or(chunk.len(), |at| at + 1)
                };
                carry.extend_from_slice(&chunk[..take]);
                chunk = &chunk[take..];
                let used = fields(&mut decoder, &carry, &mut p, &mut t);
                carry.drain(..used);
            }
        }
    }
    let _ = decoder.finish(&carry);
    t
}

/// `sse-core`: its sans-IO `SseDecoder::next(&mut impl Buf)` on each chunk.
pub(crate) fn sse_core(chunks: &[Bytes]) -> Tally {
    use sse_core::{SseDecoder, SseEvent};
    let mut t = Tally::default();
    // Its default limit (512 KiB of data per event) would refuse huge events.
    let mut decoder = SseDecoder::with_limit(NonZeroUsize::new(1 << 30).unwrap());
    for chunk in chunks {
        let mut chunk = chunk.clone();
        while let Some(item) = decoder.next(&mut chunk) {
            match item {
                Ok(SseEvent::Message(m)) => t.event(m.data.len()),
                Ok(SseEvent::Retry(_)) => {}
                Err(_) => t.errors += 1,
            }
        }
    }
    t
}

/// `sse-stream`: `SseByteStream`, its adapter for streams of byte buffers.
/// It yields every block, also those without data; only blocks with a
/// `data` field are events.
pub(crate) fn sse_stream(chunks: &[Bytes]) -> Tally {
    let events = sse_stream::SseByteStream::new(body::<Infallible>(chunks));
    tally_stream(events, |sse| sse.data.map(|data| data.len()))
}

/// `sseer`: its `EventStream` over a stream of `Bytes`.
pub(crate) fn sseer(chunks: &[Bytes]) -> Tally {
    let events = sseer::EventStream::new(body::<Infallible>(chunks));
    tally_stream(events, |event| Some(event.data.len()))
}

/// `eventsource-stream`: `Eventsource::eventsource()` on a stream of `Bytes`.
pub(crate) fn eventsource_stream(chunks: &[Bytes]) -> Tally {
    use eventsource_stream::Eventsource;
    let events = Eventsource::eventsource(body::<Infallible>(chunks));
    tally_stream(events, |event| Some(event.data.len()))
}

/// `sse-codec`: its `futures_codec::Decoder` driven synchronously over a
/// `BytesMut` that chunks are appended to, which is what its `FramedRead`
/// does, minus the `AsyncRead` plumbing. `buf` is kept from pass to pass,
/// as for `ssekit_owned`.
pub(crate) fn sse_codec(chunks: &[Bytes], buf: &mut BytesMut) -> Tally {
    use futures_codec::Decoder as _;
    let mut t = Tally::default();
    let mut codec = sse_codec::SSECodec::default();
    buf.clear();
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        loop {
            match codec.decode(buf) {
                Ok(Some(sse_codec::Event::Message { data, .. })) => t.event(data.len()),
                Ok(Some(sse_codec::Event::Retry { .. })) => {}
                Ok(None) => break,
                Err(_) => {
                    t.errors += 1;
                    break;
                }
            }
        }
    }
    let _ = codec.decode_eof(buf);
    t
}

/// `async-sse`: `async_sse::decode` needs an `AsyncBufRead`; the chunk
/// stream becomes one with `TryStreamExt::into_async_read`.
pub(crate) fn async_sse(chunks: &[Bytes]) -> Tally {
    use futures::TryStreamExt;
    let events = async_sse::decode(body::<std::io::Error>(chunks).into_async_read());
    tally_stream(events, |item| match item {
        async_sse::Event::Message(m) => Some(m.data().len()),
        async_sse::Event::Retry(_) => None,
    })
}

/// Baseline: count the LFs in every chunk with `memchr`. Its tally holds the
/// count in `events`.
pub(crate) fn memchr_count(chunks: &[Bytes]) -> Tally {
    let lfs = chunks
        .iter()
        .map(|c| memchr::memchr_iter(b'\n', c).count())
        .sum();
    Tally {
        events: lfs,
        ..Tally::default()
    }
}

/// Baseline: copy every chunk into a reused buffer. Its tally holds the
/// number of bytes copied in `data_len`.
pub(crate) fn memcpy(chunks: &[Bytes], buf: &mut Vec<u8>) -> Tally {
    buf.clear();
    for chunk in chunks {
        buf.extend_from_slice(chunk);
    }
    Tally {
        data_len: buf.len(),
        ..Tally::default()
    }
}
