//! Decoding input that arrives as [`Bytes`] chunks, with the decoder owning
//! every byte it carries from one chunk to the next.

use bytes::{Bytes, BytesMut};

use crate::error::DecodeError;
use crate::event::Event;
use crate::event_decoder::{EventDecoder, Item};
use crate::field_decoder::EndOfStream;
use crate::limits::Limits;

/// An [`EventDecoder`] for input that arrives as [`Bytes`] chunks, such as
/// an HTTP response body: it keeps the start of a line split across chunks
/// itself, so the caller hands over each chunk and holds no decoder state.
///
/// Events whose lines lie whole in one chunk share its storage; a line
/// split across chunks is copied once (see
/// [`EventDecoder::decode_chunk`], which this wraps).
///
/// # Example
///
/// ```
/// use bytes::Bytes;
/// use ssekit_codec::{ChunkDecoder, EndOfStream, Item};
///
/// let mut decoder = ChunkDecoder::new();
/// let mut items = Vec::new();
/// for chunk in ["data: he", "llo\n\n: keep", "-alive\n\nid: 7\ndata: cut"] {
///     let mut chunk = Bytes::from(chunk);
///     while let Some(item) = decoder.decode_item(&mut chunk)? {
///         items.push(item);
///     }
/// }
/// assert!(matches!(&items[0], Item::Event(e) if e.data() == "hello"));
/// assert_eq!(items[1], Item::Comment(Bytes::from_static(b" keep-alive")));
/// assert_eq!(decoder.finish(), EndOfStream::Truncated);
/// # Ok::<(), ssekit_codec::DecodeError>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct ChunkDecoder {
    decoder: EventDecoder,
    /// The start of a line that an earlier chunk left incomplete.
    carry: BytesMut,
}

impl ChunkDecoder {
    /// A chunk decoder with the default [`Limits`].
    pub fn new() -> ChunkDecoder {
        ChunkDecoder::from_decoder(EventDecoder::new())
    }

    /// A chunk decoder with the given [`Limits`].
    pub fn with_limits(limits: Limits) -> ChunkDecoder {
        ChunkDecoder::from_decoder(EventDecoder::with_limits(limits))
    }

    /// A chunk decoder around `decoder`, for example one given a saved last
    /// event ID with [`EventDecoder::set_last_event_id`]. Whatever input
    /// `decoder` still held is dropped: this starts a new stream.
    pub fn from_decoder(mut decoder: EventDecoder) -> ChunkDecoder {
        decoder.reset();
        ChunkDecoder {
            decoder,
            carry: BytesMut::new(),
        }
    }

    /// Decodes the next event from `chunk`, skipping comments.
    ///
    /// Call until it returns `Ok(None)`; `chunk` is then empty (what was
    /// left of it is kept inside), and the next chunk can be passed in.
    ///
    /// # Errors
    ///
    /// A [`DecodeError`] when a [`Limits`] bound is exceeded; the event in
    /// progress is dropped and decoding goes on at the next one, as
    /// [`EventDecoder`] describes.
    pub fn decode(&mut self, chunk: &mut Bytes) -> Result<Option<Event>, DecodeError> {
        self.decoder.decode_chunk(&mut self.carry, chunk)
    }

    /// Decodes the next event, comment or `retry` field from `chunk`; call
    /// as [`decode`](ChunkDecoder::decode). A client that keeps an idle
    /// timer resets it on comments, which servers send as heartbeats.
    ///
    /// # Errors
    ///
    /// As for [`decode`](ChunkDecoder::decode).
    pub fn decode_item(&mut self, chunk: &mut Bytes) -> Result<Option<Item>, DecodeError> {
        self.decoder.decode_item_chunk(&mut self.carry, chunk)
    }

    /// Ends the stream: applies the spec's end-of-file rule (an event with
    /// no blank line after it is dropped), says whether the stream ended
    /// cleanly, and readies the decoder for a new stream, keeping the last
    /// event ID and the reconnection time.
    ///
    /// Call [`decode`](ChunkDecoder::decode) until `Ok(None)` first;
    /// events taken but not returned count as truncation.
    pub fn finish(&mut self) -> EndOfStream {
        self.decoder.finish(&mut self.carry)
    }

    /// Starts a new stream, such as a reconnection, without a verdict on
    /// the old one: drops everything held, keeps the limits, the last event
    /// ID and the reconnection time. See [`EventDecoder::reset`].
    ///
    /// ```
    /// use bytes::Bytes;
    /// use ssekit_codec::ChunkDecoder;
    ///
    /// let mut decoder = ChunkDecoder::new();
    /// let mut chunk = Bytes::from_static(b"id: 1\ndata: a\n\nid: 2\ndata: par");
    /// assert_eq!(decoder.decode(&mut chunk)?.unwrap().data(), "a");
    /// assert!(decoder.decode(&mut chunk)?.is_none());
    /// decoder.reset(); // the connection broke; a new one replays event 2
    /// let mut chunk = Bytes::from_static(b"id: 2\ndata: b\n\n");
    /// let event = decoder.decode(&mut chunk)?.unwrap();
    /// assert_eq!((event.id().as_ref(), event.data()), (&b"2"[..], Bytes::from("b")));
    /// # Ok::<(), ssekit_codec::DecodeError>(())
    /// ```
    pub fn reset(&mut self) {
        self.decoder.reset();
        self.carry.clear();
    }

    /// The event decoder underneath: its limits, last event ID and
    /// reconnection time.
    pub fn decoder(&self) -> &EventDecoder {
        &self.decoder
    }

    /// The event decoder underneath, to set the last event ID.
    pub fn decoder_mut(&mut self) -> &mut EventDecoder {
        &mut self.decoder
    }

    /// The last event ID: what a reconnecting client sends as
    /// `Last-Event-ID`.
    pub fn last_event_id(&self) -> &[u8] {
        self.decoder.last_event_id()
    }

    /// The reconnection time in milliseconds from the latest valid `retry`
    /// field, if any.
    pub fn reconnection_time(&self) -> Option<u64> {
        self.decoder.reconnection_time()
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        self.decoder.limits()
    }

    /// The event decoder, ready for a new stream: the bytes carried are
    /// dropped, as with [`reset`](ChunkDecoder::reset).
    pub fn into_decoder(mut self) -> EventDecoder {
        self.reset();
        self.decoder
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    extern crate std;
    use std::vec::Vec;

    fn data_of(decoder: &mut ChunkDecoder, chunks: &[&'static [u8]]) -> Vec<Bytes> {
        let mut out = Vec::new();
        for chunk in chunks {
            let mut chunk = Bytes::from_static(chunk);
            while let Some(event) = decoder.decode(&mut chunk).unwrap() {
                out.push(event.data());
            }
            assert!(chunk.is_empty());
        }
        out
    }

    #[test]
    fn a_line_split_across_many_chunks_is_carried_inside() {
        let mut decoder = ChunkDecoder::new();
        let got = data_of(
            &mut decoder,
            &[b"da", b"ta: o", b"ne\r", b"\n\r", b"\ndata: two\n", b"\n"],
        );
        assert_eq!(got, ["one", "two"]);
        assert_eq!(decoder.finish(), EndOfStream::Clean);
    }

    #[test]
    fn reset_drops_the_half_read_event_and_keeps_the_resume_state() {
        let mut decoder = ChunkDecoder::new();
        let got = data_of(&mut decoder, &[b"retry: 250\nid: 4\ndata: a\n\ndata: par"]);
        assert_eq!(got, ["a"]);
        decoder.reset();
        assert_eq!(decoder.last_event_id(), b"4");
        assert_eq!(decoder.reconnection_time(), Some(250));
        // Without the reset this would read "par" joined to "b".
        let got = data_of(&mut decoder, &[b"data: b\n\n"]);
        assert_eq!(got, ["b"]);
    }

    #[test]
    fn from_decoder_starts_a_new_stream_even_from_a_busy_decoder() {
        let mut busy = EventDecoder::new();
        let mut buf = BytesMut::from(&b"id: 9\ndata: x\n\ndata: half"[..]);
        assert!(busy.decode(&mut buf).unwrap().is_some());
        assert!(busy.decode(&mut buf).unwrap().is_none());
        let mut decoder = ChunkDecoder::from_decoder(busy.clone());
        let got = data_of(&mut decoder, &[b"data: new\n\n"]);
        assert_eq!(got, ["new"]);
        assert_eq!(decoder.last_event_id(), b"9");
    }

    #[test]
    fn finish_reports_a_cut_event_and_clean_ends() {
        let mut decoder = ChunkDecoder::new();
        assert_eq!(data_of(&mut decoder, &[b"data: a\n\ndata: b"]), ["a"]);
        assert_eq!(decoder.finish(), EndOfStream::Truncated);
        assert_eq!(data_of(&mut decoder, &[b"data: c\n\n"]), ["c"]);
        assert_eq!(decoder.finish(), EndOfStream::Clean);
    }
}
