//! The sinks: a frame's chunks written to a slice, a `Vec`, a `BufMut` or new
//! `Bytes`. This is the one home of the encoder's performance tricks (the
//! staging buffers and their size constants).

use super::EncodeError;
#[cfg(feature = "bytes")]
use super::{frame::Frame, lines::Lines, DATA, END};

/// Checks that `dst` can hold the frame, then writes it: all or nothing.
/// `required` must be the sum of the chunks' lengths (saturated).
///
/// Should `required` ever be wrong, this still writes the frame's chunks
/// exactly and returns their length, or panics on the index if they do not
/// fit; it never reports a frame it did not write.
pub(super) fn write_to_slice<'p>(
    required: usize,
    pairs: impl Iterator<Item = (&'static [u8], &'p [u8])>,
    dst: &mut [u8],
) -> Result<usize, EncodeError> {
    if dst.len() < required {
        return Err(EncodeError::BufferTooSmall { required });
    }
    let mut pos = 0;
    for (sep, value) in pairs {
        for chunk in [sep, value] {
            let end = pos + chunk.len();
            dst[pos..end].copy_from_slice(chunk);
            pos = end;
        }
    }
    debug_assert_eq!(pos, required, "the frame's length");
    Ok(pos)
}

/// Appends the frame to `dst`, reserving it whole first.
#[cfg(feature = "alloc")]
pub(super) fn write_to_vec<'p>(
    required: usize,
    pairs: impl Iterator<Item = (&'static [u8], &'p [u8])>,
    dst: &mut alloc::vec::Vec<u8>,
) -> Result<(), EncodeError> {
    if dst.try_reserve(required).is_err() {
        return Err(EncodeError::BufferTooSmall { required });
    }
    for (sep, value) in pairs {
        dst.extend_from_slice(sep);
        dst.extend_from_slice(value);
    }
    Ok(())
}

/// Puts the frame into `dst` as one [`bytes::Buf`], so that growable buffers
/// reserve it whole, once; fixed ones are checked first.
#[cfg(feature = "bytes")]
#[inline]
pub(super) fn write_to_buf<'p, B: bytes::BufMut, L: Lines<'p>>(
    required: usize,
    frame: Frame<'p, L>,
    dst: &mut B,
) -> Result<(), EncodeError> {
    // No buffer can hold more than `isize::MAX` bytes; `BytesMut` would
    // panic trying to reserve them.
    if required > isize::MAX as usize || dst.remaining_mut() < required {
        return Err(EncodeError::BufferTooSmall { required });
    }
    match frame.parts() {
        Some(parts) => {
            debug_assert_eq!(
                bytes::Buf::remaining(&parts),
                required,
                "the frame's length"
            );
            dst.put(parts);
        }
        None => {
            let mut stage = [0; STAGE];
            let mut buf = ChunkBuf::new(frame, required, &mut stage);
            dst.put(&mut buf);
            buf.put_rest(dst);
        }
    }
    Ok(())
}

/// Puts the frame of `line`, data of one line with nothing else set, into
/// `dst`: [`write_to_buf`] for the most common frame, as three chunks.
#[cfg(feature = "bytes")]
#[inline]
pub(super) fn write_line_to_buf<B: bytes::BufMut>(
    line: &[u8],
    dst: &mut B,
) -> Result<(), EncodeError> {
    let required = line.len().saturating_add(DATA.len() + END.len());
    if required > isize::MAX as usize || dst.remaining_mut() < required {
        return Err(EncodeError::BufferTooSmall { required });
    }
    if required <= SMALL {
        // Small enough to assemble here and hand over in one piece.
        let mut stage = [0; SMALL];
        let end = DATA.len() + line.len();
        stage[..DATA.len()].copy_from_slice(DATA);
        stage[DATA.len()..end].copy_from_slice(line);
        stage[end..required].copy_from_slice(END);
        dst.put_slice(&stage[..required]);
    } else {
        let mut parts = PartsBuf::new();
        for part in [DATA, line, END] {
            parts.push(part);
        }
        dst.put(parts);
    }
    Ok(())
}

/// The frame of an event whose data is this one line alone, in new
/// [`bytes::Bytes`] of exactly its length: one allocation, three copies.
#[cfg(feature = "bytes")]
pub(super) fn line_to_bytes(line: &[u8]) -> bytes::Bytes {
    let mut out = alloc::vec::Vec::with_capacity(DATA.len() + line.len() + END.len());
    out.extend_from_slice(DATA);
    out.extend_from_slice(line);
    out.extend_from_slice(END);
    bytes::Bytes::from(out)
}

/// Frames up to this long are assembled on the stack and handed over whole.
#[cfg(feature = "bytes")]
const SMALL: usize = 512;

/// Room for the chunks of a frame whose data is one line: four head lines
/// of two chunks each, then `data: `, the line and [`END`].
#[cfg(feature = "bytes")]
const PARTS: usize = 11;

/// A [`bytes::Buf`] over the few chunks of a frame whose data is one line
/// (see [`Frame::parts`]); none of them is empty. Its length is the sum of
/// the parts pushed, so it cannot disagree with them.
#[cfg(feature = "bytes")]
pub(super) struct PartsBuf<'p> {
    parts: [&'p [u8]; PARTS],
    /// `parts[next..end]` are still due, `parts[next]` being the current
    /// chunk.
    next: usize,
    end: usize,
    remaining: usize,
}

#[cfg(feature = "bytes")]
impl<'p> PartsBuf<'p> {
    /// No parts yet.
    #[inline]
    pub(super) fn new() -> Self {
        PartsBuf {
            parts: [&[]; PARTS],
            next: 0,
            end: 0,
            remaining: 0,
        }
    }

    /// Adds a part. [`Frame::parts`] pushes at most [`PARTS`]: four head
    /// lines of two parts, then three. One more would panic on the index
    /// rather than be left out.
    #[inline]
    pub(super) fn push(&mut self, part: &'p [u8]) {
        if !part.is_empty() {
            debug_assert!(self.end < PARTS, "too many parts");
            self.parts[self.end] = part;
            self.end += 1;
            self.remaining += part.len();
        }
    }
}

#[cfg(feature = "bytes")]
impl bytes::Buf for PartsBuf<'_> {
    #[inline]
    fn remaining(&self) -> usize {
        self.remaining
    }

    #[inline]
    fn chunk(&self) -> &[u8] {
        if self.next < self.end {
            self.parts[self.next]
        } else {
            &[]
        }
    }

    #[inline]
    fn advance(&mut self, cnt: usize) {
        // `remaining` is the sum of the parts still due, so they run out
        // exactly when it reaches 0.
        let mut cnt = cnt.min(self.remaining);
        self.remaining -= cnt;
        while self.next < self.end {
            let part = &mut self.parts[self.next];
            if cnt < part.len() {
                *part = &part[cnt..];
                return;
            }
            cnt -= part.len();
            self.next += 1;
        }
    }
}

/// Encodes the frame into new `Bytes` of exactly its length: one allocation.
#[cfg(feature = "bytes")]
pub(super) fn write_to_bytes<'p>(
    required: usize,
    pairs: impl Iterator<Item = (&'static [u8], &'p [u8])>,
) -> Result<bytes::Bytes, EncodeError> {
    if required > isize::MAX as usize {
        return Err(EncodeError::BufferTooSmall { required });
    }
    let mut out = bytes::BytesMut::with_capacity(required);
    for (sep, value) in pairs {
        out.extend_from_slice(sep);
        out.extend_from_slice(value);
    }
    Ok(out.freeze())
}

/// The size of [`ChunkBuf`]'s staging buffer.
#[cfg(feature = "bytes")]
const STAGE: usize = 1024;

/// Values at least this long are handed over as chunks of their own rather
/// than copied into [`ChunkBuf`]'s staging buffer.
#[cfg(feature = "bytes")]
const LARGE: usize = 384;

/// A [`bytes::Buf`] over the chunks of a frame. `BufMut::put` asks it for its
/// whole length first, so `BytesMut` and `Vec` reserve once, then copies it
/// a chunk at a time.
///
/// Each chunk costs `put` a round of calls, so small pieces (the separators,
/// short lines) are gathered into a staging buffer and handed over together;
/// large values are handed over as they are, copied only once.
#[cfg(feature = "bytes")]
struct ChunkBuf<'p, 's, I> {
    pairs: I,
    /// A value that did not fit in the stage (or is large), its separator
    /// staged already.
    pending: Option<&'p [u8]>,
    /// A large value being handed over as it is; empty when the current
    /// chunk is `stage[start..end]`.
    direct: &'p [u8],
    stage: &'s mut [u8; STAGE],
    start: usize,
    end: usize,
    remaining: usize,
}

#[cfg(feature = "bytes")]
impl<'p, 's, I: Iterator<Item = (&'static [u8], &'p [u8])>> ChunkBuf<'p, 's, I> {
    /// `len` must be the sum of the pairs' lengths.
    #[inline]
    fn new(pairs: I, len: usize, stage: &'s mut [u8; STAGE]) -> Self {
        let mut buf = ChunkBuf {
            pairs,
            pending: None,
            direct: &[],
            stage,
            start: 0,
            end: 0,
            remaining: len,
        };
        buf.refill();
        debug_assert_eq!(bytes::Buf::chunk(&buf).is_empty(), len == 0);
        buf
    }

    /// Makes the next chunk current, the current one being used up: stages
    /// as many pairs as fit, or hands over a large value. Leaves the
    /// current chunk empty only when there is nothing left.
    fn refill(&mut self) {
        self.direct = &[];
        self.start = 0;
        self.end = 0;
        let stage = &mut *self.stage;
        let mut pos = 0;
        if let Some(value) = self.pending.take() {
            match stage.get_mut(..value.len()) {
                Some(out) if value.len() < LARGE => {
                    out.copy_from_slice(value);
                    pos = value.len();
                }
                _ => {
                    self.direct = value;
                    return;
                }
            }
        }
        // Room for any separator.
        while pos + SEP_MAX <= STAGE {
            let Some((sep, value)) = self.pairs.next() else {
                break;
            };
            pos = put_small(stage, pos, sep);
            match stage.get_mut(pos..pos + value.len()) {
                Some(out) if value.len() < LARGE => {
                    out.copy_from_slice(value);
                    pos += value.len();
                }
                _ => {
                    self.pending = Some(value);
                    break;
                }
            }
        }
        self.end = pos;
    }

    /// Writes what `BufMut::put` left of the frame, which is nothing when
    /// the length given to [`ChunkBuf::new`] is right. Were it too short,
    /// `put` would stop early: the rest of the frame is written here rather
    /// than left out of a frame reported as written.
    fn put_rest<B: bytes::BufMut>(&mut self, dst: &mut B) {
        loop {
            let chunk = bytes::Buf::chunk(self);
            if chunk.is_empty() {
                self.refill();
                if bytes::Buf::chunk(self).is_empty() {
                    return;
                }
                continue;
            }
            debug_assert!(false, "the frame is longer than its length");
            dst.put_slice(chunk);
            self.start = self.end;
            self.direct = &[];
        }
    }
}

/// The longest separator.
#[cfg(feature = "bytes")]
const SEP_MAX: usize = 8;

/// Copies `sep`, a separator, to `out[pos..]`, which has room for it;
/// returns where it ends. Separators are short, and copied without a call.
#[cfg(feature = "bytes")]
#[inline(always)]
fn put_small(out: &mut [u8], pos: usize, sep: &[u8]) -> usize {
    debug_assert!(sep.len() <= SEP_MAX);
    let end = pos + sep.len();
    let out = &mut out[pos..end];
    match sep.len() {
        6 => out[..6].copy_from_slice(&sep[..6]),
        7 => out[..7].copy_from_slice(&sep[..7]),
        2 => out[..2].copy_from_slice(&sep[..2]),
        _ => out.copy_from_slice(sep),
    }
    end
}

#[cfg(feature = "bytes")]
impl<'p, I: Iterator<Item = (&'static [u8], &'p [u8])>> bytes::Buf for ChunkBuf<'p, '_, I> {
    #[inline]
    fn remaining(&self) -> usize {
        self.remaining
    }

    #[inline]
    fn chunk(&self) -> &[u8] {
        if self.direct.is_empty() {
            &self.stage[self.start..self.end]
        } else {
            self.direct
        }
    }

    #[inline]
    fn advance(&mut self, cnt: usize) {
        let mut cnt = cnt.min(self.remaining);
        self.remaining -= cnt;
        loop {
            let len = self.chunk().len();
            if cnt < len || (cnt == len && self.remaining == 0) {
                if self.direct.is_empty() {
                    self.start += cnt;
                } else {
                    self.direct = &self.direct[cnt..];
                }
                return;
            }
            cnt -= len;
            self.refill();
            if self.chunk().is_empty() {
                // Should the pairs ever run out early (the length given to
                // `new` too long), end here: all of the frame was handed
                // over, and `BufMut::put` loops while bytes remain, so it
                // would spin on an empty chunk.
                debug_assert_eq!(self.remaining, 0, "the frame is shorter than its length");
                self.remaining = 0;
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::frame::Head;
    use super::super::lines::RefLines;
    use super::super::{NL_EVENT, NL_ID};
    use super::*;

    /// Everything `buf` hands over, as `BufMut::put` takes it.
    #[cfg(feature = "bytes")]
    fn drain(mut buf: impl bytes::Buf, step: usize) -> ([u8; 2048], usize) {
        let mut out = [0u8; 2048];
        let mut n = 0;
        while buf.has_remaining() {
            let chunk = buf.chunk();
            assert!(!chunk.is_empty());
            let take = chunk.len().min(step);
            out[n..n + take].copy_from_slice(&chunk[..take]);
            n += take;
            buf.advance(take);
        }
        assert_eq!(buf.chunk(), b"");
        (out, n)
    }

    #[cfg(feature = "bytes")]
    #[test]
    fn chunk_buf_stages_small_pieces_and_hands_large_ones_over() {
        let mut long = [b'x'; LARGE + 100];
        long[5] = b'\n';
        let pairs = [
            (&b"ab"[..], &b""[..]),
            (b"", b"cd"),
            (b"e", &long[..]),
            (b"f", &long[..6]),
            (b"g", &[b'y'; STAGE - 4][..]),
        ];
        let total: usize = pairs.iter().map(|(s, v)| s.len() + v.len()).sum();
        let mut expected = [0u8; 2048];
        let mut n = 0;
        for (sep, value) in pairs {
            for piece in [sep, value] {
                expected[n..n + piece.len()].copy_from_slice(piece);
                n += piece.len();
            }
        }
        for step in [1, 3, 7, 100, usize::MAX] {
            let mut stage = [0; STAGE];
            let buf = ChunkBuf::new(pairs.into_iter(), total, &mut stage);
            let (out, len) = drain(buf, step);
            assert_eq!(len, total);
            assert_eq!(out[..len], expected[..total]);
        }
        let mut stage = [0; STAGE];
        let mut buf = ChunkBuf::new(pairs.into_iter(), total, &mut stage);
        use bytes::Buf;
        assert_eq!(buf.chunk(), b"abcde");
        buf.advance(5);
        assert_eq!(buf.chunk(), &long[..]);
    }

    #[cfg(feature = "bytes")]
    #[test]
    fn parts_bufs_hand_over_their_chunks() {
        let mut head = Head::new();
        head.line(NL_EVENT, Some(b"e"));
        head.line(NL_ID, Some(b""));
        let lines = RefLines::new(b"line", head.data_prefix());
        let len = lines.encoded_len();
        let (frame, len) = head.frame(lines, len);
        assert_eq!(bytes::Buf::remaining(&frame.parts().unwrap()), len);
        for step in [1, 2, usize::MAX] {
            let (out, n) = drain(frame.parts().unwrap(), step);
            assert_eq!(&out[..n], b"event: e\nid: \ndata: line\n\n");
            for line in [&b""[..], b"abc"] {
                let required = DATA.len() + line.len() + END.len();
                let mut buf = PartsBuf::new();
                for part in [DATA, line, END] {
                    buf.push(part);
                }
                assert_eq!(bytes::Buf::remaining(&buf), required);
                let (out, n) = drain(buf, step);
                assert_eq!(n, DATA.len() + line.len() + END.len());
                assert_eq!(&out[..DATA.len()], DATA);
                assert_eq!(&out[DATA.len()..n - END.len()], line);
                assert_eq!(&out[n - END.len()..n], END);
            }
        }
    }
}
