//! The tokio-util codecs of `ssekit-adapters`, checked against direct
//! decoding.

use bytes::{Bytes, BytesMut};
use ssekit_codec::{DecodeError, Event, EventDecoder, Limits};

use crate::decoding::{run, Feed};
use crate::model::{Ev, Rec, Transcript};
use crate::{assert_same, read_limits, Input};

/// Drives a `tokio_util::codec::Decoder` by hand the way `FramedRead` does
/// (decode after every read, `decode_eof` at the end), except that it goes
/// on after an error to see the whole stream. `convert` turns an item or
/// error into an event or a decoding error.
fn drive_codec<C, F>(codec: &mut C, reads: &[&[u8]], mut convert: F) -> (Vec<Rec>, Vec<Event>)
where
    C: tokio_util::codec::Decoder,
    F: FnMut(Result<C::Item, C::Error>) -> Result<Event, DecodeError>,
{
    let mut buf = BytesMut::new();
    let mut items = Vec::new();
    let mut events = Vec::new();
    let total: usize = reads.iter().map(|r| r.len()).sum();
    let mut push = |result: Result<Option<C::Item>, C::Error>| {
        let result = match result {
            Ok(None) => return false,
            Ok(Some(item)) => convert(Ok(item)),
            Err(err) => convert(Err(err)),
        };
        match result {
            Ok(event) => {
                items.push(Rec::Event(Ev::of(&event)));
                events.push(event);
            }
            Err(err) => items.push(Rec::Error(err)),
        }
        assert!(items.len() <= total + 1, "the codec is not making progress");
        true
    };
    for read in reads {
        buf.extend_from_slice(read);
        while push(codec.decode(&mut buf)) {}
    }
    while push(codec.decode_eof(&mut buf)) {}
    assert!(buf.is_empty(), "decode_eof left bytes in the buffer");
    (items, events)
}

/// Feeds arbitrary bytes, in reads of arbitrary sizes, to `SseCodec` and
/// `RecoveringSseCodec` through their `tokio_util::codec::Decoder` impls,
/// by hand (no runtime): both must give what `EventDecoder::decode` gives
/// on the whole input, including how the stream ended, the last event ID
/// and the reconnection time. Every decoded event encoded with the codec's
/// `Encoder` impls decodes back to itself.
///
/// Input: the limits header (3 bytes), a count byte `n` (taken modulo 17),
/// `n` read sizes of one byte each (the byte plus one, used in turn; none
/// means one read), then the stream.
pub fn tokio_codec(data: &[u8]) {
    use ssekit_adapters::tokio::{RecoveringSseCodec, SseCodec};
    use tokio_util::codec::Encoder as _;

    let mut input = Input::new(data);
    let limits = read_limits(&mut input);
    let n = usize::from(input.byte() % 17);
    let sizes: Vec<usize> = (0..n).map(|_| usize::from(input.byte()) + 1).collect();
    let body = input.rest();
    let reads: Vec<&[u8]> = if sizes.is_empty() {
        vec![body]
    } else {
        let mut reads = Vec::new();
        let mut rest = body;
        for &size in sizes.iter().cycle() {
            if rest.is_empty() {
                break;
            }
            let (read, tail) = rest.split_at(size.min(rest.len()));
            reads.push(read);
            rest = tail;
        }
        reads
    };

    let expected = run(limits, &[body], Feed::Events);
    let what = |codec: &str| format!("{codec} with reads of {sizes:?}, {limits:?}");
    let millis = |d: Option<core::time::Duration>| d.map(|d| u64::try_from(d.as_millis()).unwrap());

    let mut codec = SseCodec::with_limits(limits);
    let (items, events) = drive_codec(&mut codec, &reads, |r| match r {
        Ok(event) => Ok(event),
        Err(err) => Err(*err.as_decode().expect("SseCodec: only decode errors")),
    });
    let got = Transcript {
        items,
        end: codec
            .end_of_stream()
            .expect("end_of_stream after decode_eof"),
        last_event_id: Bytes::copy_from_slice(codec.last_event_id()),
        reconnection_time: millis(codec.reconnection_time()),
    };
    assert_same(&what("SseCodec"), body, &expected, &got);

    let mut recovering = RecoveringSseCodec::with_limits(limits);
    let (items, _) = drive_codec(&mut recovering, &reads, |r| match r {
        Ok(item) => item,
        Err(err) => panic!("RecoveringSseCodec: I/O error {err}"),
    });
    let got = Transcript {
        items,
        end: recovering
            .end_of_stream()
            .expect("end_of_stream after decode_eof"),
        last_event_id: Bytes::copy_from_slice(recovering.last_event_id()),
        reconnection_time: millis(recovering.reconnection_time()),
    };
    assert_same(&what("RecoveringSseCodec"), body, &expected, &got);

    for event in events {
        let frame = event.to_bytes();
        let mut by_ref = BytesMut::new();
        let mut by_value = BytesMut::new();
        let mut as_bytes = BytesMut::new();
        codec.encode(&event, &mut by_ref).expect("Encoder<&Event>");
        codec
            .encode(event.clone(), &mut by_value)
            .expect("Encoder<Event>");
        codec
            .encode(frame.clone(), &mut as_bytes)
            .expect("Encoder<Bytes>");
        assert_eq!(by_ref, frame, "Encoder<&Event> differs from to_bytes");
        assert_eq!(by_value, frame, "Encoder<Event> differs from to_bytes");
        assert_eq!(as_bytes, frame, "Encoder<Bytes> changed the frame");
        let mut decoder = EventDecoder::with_limits(Limits::unbounded());
        let decoded = decoder.decode(&mut by_ref).ok().flatten();
        assert_eq!(
            decoded.as_ref(),
            Some(&event),
            "a decoded event, encoded by SseCodec, decodes to itself"
        );
        assert!(by_ref.is_empty(), "the frame holds exactly one event");
        assert!(!decoder.fields().in_event(), "the frame ends the event");
    }
}
