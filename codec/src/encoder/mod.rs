//! The encoder: events and comments to `text/event-stream` bytes.
//!
//! Two front ends share one writer:
//! - [`EventRef`] encodes borrowed parts (`&str`, `&[u8]`) without building
//!   an owned event. It needs neither `std` nor `alloc`, checks its values on
//!   every encode, and writes into a `&mut [u8]`, a `Vec<u8>` (feature
//!   `alloc`) or any [`bytes::BufMut`] (feature `bytes`).
//! - The owned [`Event`](crate::Event) (feature `bytes`) is checked once,
//!   when it is built with [`EventBuilder`], so encoding it cannot fail.
//!
//! # Wire format
//!
//! A frame is written in this order, each line ending in LF:
//!
//! ```text
//! :<comment>            a comment line, if any, byte for byte after the colon
//! event: <type>         if a type is set
//! id: <id>              if an ID is set
//! retry: <ms>           if a reconnection time is set
//! data: <line>          one per line of data, if data is set
//! (blank line)          ends the frame
//! ```
//!
//! Field values always follow exactly one space, so a value's own leading
//! spaces survive: the decoder removes only the first one. Comments are
//! written with no space added, because the decoder removes none from them;
//! what you pass is what a reader gets back.
//!
//! # Line breaks in data
//!
//! Data may hold any bytes. It is split into lines at LF, CR and CRLF (a CR
//! followed by an LF is one break, not two), and each line gets its own
//! `data: ` line. A decoder joins the lines with LF, so **an LF comes back
//! as it was, while a lone CR and a CRLF both come back as LF**. This is the
//! only change a round trip makes to data; [`data_round_trips`] tells in
//! advance whether it will happen. Data that ends with a line break ends
//! with an empty `data: ` line, and empty data is one empty `data: ` line,
//! so the event is still dispatched.
//!
//! # Values that are refused
//!
//! A value that would change the structure of the stream is refused with
//! [`EncodeError::InvalidValue`], naming the field and the byte offset, and
//! nothing is written:
//! - CR or LF in an event type, an ID or a comment: it would end the line
//!   early and let the rest inject fields. A comment is always one line;
//!   send several comments for several lines;
//! - NUL in an ID: a decoder ignores such an `id` field.
//!
//! Values are bytes. Browsers decode the stream as UTF-8, so bytes that are
//! not UTF-8 reach them as U+FFFD; this crate's decoder keeps the bytes.
//!
//! # Destinations
//!
//! The length of a frame is known before it is written
//! ([`EventRef::encoded_len`]). A destination that cannot take all of it
//! gets [`EncodeError::BufferTooSmall`] with the size required, and nothing
//! is written. A growable destination ([`Vec`](alloc::vec::Vec),
//! [`BytesMut`](bytes::BytesMut)) reserves the whole frame at once.

mod error;
mod event_ref;
#[cfg(feature = "bytes")]
mod owned;

pub use error::{EncodeError, FieldName};
pub use event_ref::EventRef;
#[cfg(feature = "bytes")]
pub use owned::EventBuilder;

use core::ops::Range;

/// A ready-made keep-alive frame: the comment line `: keep-alive` followed
/// by a blank line.
///
/// Servers send it on an idle stream so that proxies and clients do not time
/// the connection out. A decoder reports it as one comment (` keep-alive`,
/// with its leading space) and dispatches no event. The blank line ends the
/// frame, so it is harmless anywhere between events and also reaches clients
/// that only look at whole blank-line-terminated blocks.
///
/// With the `bytes` feature, [`Bytes::from_static`](bytes::Bytes::from_static)
/// turns it into a [`Bytes`](bytes::Bytes) without copying or allocating,
/// to share across connections.
///
/// ```
/// use ssekit_codec::{EventRef, KEEP_ALIVE_FRAME};
///
/// assert_eq!(KEEP_ALIVE_FRAME, b": keep-alive\n\n");
///
/// // The same frame, built by hand.
/// let mut buf = [0u8; 16];
/// let n = EventRef::new().comment(" keep-alive").encode_to_slice(&mut buf)?;
/// assert_eq!(&buf[..n], KEEP_ALIVE_FRAME);
/// # Ok::<(), ssekit_codec::EncodeError>(())
/// ```
pub const KEEP_ALIVE_FRAME: &[u8] = b": keep-alive\n\n";

/// Whether `data` comes back byte for byte after encoding and decoding.
///
/// Returns `false` when `data` contains a CR: the encoder treats a lone CR
/// and a CRLF as line breaks, and a decoder gives every line break back as
/// LF. See [Encoding](crate#encoding) in the crate docs.
///
/// ```
/// use ssekit_codec::data_round_trips;
///
/// assert!(data_round_trips(b"two\nlines"));
/// assert!(data_round_trips(b"  leading spaces are kept"));
/// assert!(!data_round_trips(b"windows\r\nline"));
/// assert!(!data_round_trips(b"old mac\rline"));
/// ```
pub fn data_round_trips(data: &[u8]) -> bool {
    memchr::memchr(b'\r', data).is_none()
}

const COLON: &[u8] = b":";
const EVENT: &[u8] = b"event: ";
const ID: &[u8] = b"id: ";
const RETRY: &[u8] = b"retry: ";
const DATA: &[u8] = b"data: ";
const LF: &[u8] = b"\n";

/// Checks that `value` cannot end its line early: no CR or LF, and, when
/// `nul` is set, no NUL. The offset is that of the first such byte.
pub(crate) fn check_value(field: FieldName, value: &[u8], nul: bool) -> Result<(), EncodeError> {
    let found = if nul {
        memchr::memchr3(b'\r', b'\n', 0, value)
    } else {
        memchr::memchr2(b'\r', b'\n', value)
    };
    match found {
        None => Ok(()),
        Some(offset) => Err(EncodeError::InvalidValue {
            field,
            offset,
            byte: value[offset],
        }),
    }
}

/// Splits data into lines at LF, CR and CRLF, as ranges of the data.
///
/// Yields at least one line (empty data is one empty line), and an empty
/// last line when the data ends with a break.
#[derive(Debug, Clone)]
pub(crate) struct LineRanges<'a> {
    data: &'a [u8],
    /// Start of the next line, or `None` once the last line was yielded.
    next: Option<usize>,
}

impl<'a> LineRanges<'a> {
    pub(crate) fn new(data: &'a [u8]) -> LineRanges<'a> {
        LineRanges {
            data,
            next: Some(0),
        }
    }
}

impl Iterator for LineRanges<'_> {
    type Item = Range<usize>;

    fn next(&mut self) -> Option<Range<usize>> {
        let start = self.next?;
        let rest = self.data.get(start..).unwrap_or_default();
        match memchr::memchr2(b'\r', b'\n', rest) {
            None => {
                self.next = None;
                Some(start..self.data.len())
            }
            Some(found) => {
                let end = start + found;
                let crlf = rest[found] == b'\r' && rest.get(found + 1) == Some(&b'\n');
                self.next = Some(end + if crlf { 2 } else { 1 });
                Some(start..end)
            }
        }
    }
}

/// The lines of some data (none at all for `None`), as slices.
pub(crate) struct Lines<'a> {
    data: &'a [u8],
    ranges: LineRanges<'a>,
}

impl<'a> Lines<'a> {
    pub(crate) fn new(data: Option<&'a [u8]>) -> Lines<'a> {
        let bytes = data.unwrap_or_default();
        Lines {
            data: bytes,
            ranges: LineRanges {
                data: bytes,
                next: data.map(|_| 0),
            },
        }
    }
}

impl<'a> Iterator for Lines<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let range = self.ranges.next()?;
        Some(self.data.get(range).unwrap_or_default())
    }
}

/// A `retry` value in ASCII decimal, without allocating.
pub(crate) struct Digits {
    buf: [u8; 20],
    start: usize,
}

impl Digits {
    pub(crate) fn new(mut n: u64) -> Digits {
        // u64::MAX has 20 digits.
        let mut buf = [0u8; 20];
        let mut start = buf.len();
        loop {
            start -= 1;
            buf[start] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        Digits { buf, start }
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.buf[self.start..]
    }
}

/// The pieces of a frame, in order: the head lines (comment, `event`, `id`,
/// `retry`), the `data: ` lines for each line from `L`, then the final LF.
/// Never yields an empty piece.
///
/// Hand-written rather than built from iterator adapters: `PieceBuf` pulls
/// the pieces one at a time, and a deep `Chain` is slow at that.
pub(crate) struct Pieces<'p, L> {
    /// The head lines' pieces; `head[next_head..head_len]` are still due.
    head: [&'p [u8]; HEAD_PIECES],
    head_len: usize,
    next_head: usize,
    lines: L,
    /// The data line whose pieces are being yielded.
    line: &'p [u8],
    step: DataStep,
    /// Whether the final LF is still due.
    end: bool,
}

/// Room for four head lines of three pieces each.
const HEAD_PIECES: usize = 12;

/// Which piece of a data line comes next.
#[derive(Clone, Copy)]
enum DataStep {
    Prefix,
    Line,
    Lf,
}

impl<'p, L: Iterator<Item = &'p [u8]>> Pieces<'p, L> {
    /// A frame with no head yet, the data lines `lines`, and a final LF if
    /// `end`.
    pub(crate) fn new(lines: L, end: bool) -> Self {
        Pieces {
            head: [&[]; HEAD_PIECES],
            head_len: 0,
            next_head: 0,
            lines,
            line: &[],
            step: DataStep::Prefix,
            end,
        }
    }

    /// Adds a head line `name value LF`, if there is a value. At most four
    /// head lines fit; the frame types have no more.
    pub(crate) fn head_line(&mut self, name: &'static [u8], value: Option<&'p [u8]>) {
        if let Some(value) = value {
            for piece in [name, value, LF] {
                if piece.is_empty() {
                    continue;
                }
                debug_assert!(self.head_len < HEAD_PIECES, "too many head lines");
                if let Some(slot) = self.head.get_mut(self.head_len) {
                    *slot = piece;
                    self.head_len += 1;
                }
            }
        }
    }
}

impl<'p, L: Iterator<Item = &'p [u8]>> Iterator for Pieces<'p, L> {
    type Item = &'p [u8];

    #[inline]
    fn next(&mut self) -> Option<&'p [u8]> {
        if self.next_head < self.head_len {
            let piece = self.head.get(self.next_head).copied();
            self.next_head += 1;
            return piece;
        }
        loop {
            match self.step {
                DataStep::Prefix => match self.lines.next() {
                    Some(line) => {
                        self.line = line;
                        self.step = DataStep::Line;
                        return Some(DATA);
                    }
                    None => break,
                },
                DataStep::Line => {
                    self.step = DataStep::Lf;
                    if !self.line.is_empty() {
                        return Some(self.line);
                    }
                }
                DataStep::Lf => {
                    self.step = DataStep::Prefix;
                    return Some(LF);
                }
            }
        }
        if self.end {
            self.end = false;
            return Some(LF);
        }
        None
    }
}

/// The length of a `name: value` line, if there is a value.
fn field_line_len(name: &[u8], value: Option<&[u8]>) -> usize {
    value.map_or(0, |value| {
        (name.len() + LF.len()).saturating_add(value.len())
    })
}

/// The length of the `data: ` lines for a line of `len` bytes, added to `sum`.
fn add_data_line(sum: usize, len: usize) -> usize {
    sum.saturating_add(DATA.len() + LF.len())
        .saturating_add(len)
}

/// Checks that `dst` can hold the frame, then writes it: all or nothing.
/// `required` must be the sum of the pieces' lengths (saturated).
fn write_to_slice<'p>(
    required: usize,
    pieces: impl Iterator<Item = &'p [u8]>,
    dst: &mut [u8],
) -> Result<usize, EncodeError> {
    if dst.len() < required {
        return Err(EncodeError::BufferTooSmall { required });
    }
    let mut pos = 0usize;
    for piece in pieces {
        let end = pos.saturating_add(piece.len());
        if let Some(out) = dst.get_mut(pos..end) {
            out.copy_from_slice(piece);
        }
        pos = end;
    }
    debug_assert_eq!(pos, required);
    Ok(pos.min(required))
}

/// Appends the frame to `dst`, reserving it whole first.
#[cfg(feature = "alloc")]
fn write_to_vec<'p>(
    required: usize,
    pieces: impl Iterator<Item = &'p [u8]>,
    dst: &mut alloc::vec::Vec<u8>,
) -> Result<(), EncodeError> {
    if dst.try_reserve(required).is_err() {
        return Err(EncodeError::BufferTooSmall { required });
    }
    for piece in pieces {
        dst.extend_from_slice(piece);
    }
    Ok(())
}

/// Puts the frame into `dst` as one [`bytes::Buf`], so that growable buffers
/// reserve it whole, once; fixed ones are checked first.
#[cfg(feature = "bytes")]
fn write_to_buf<'p, B: bytes::BufMut>(
    required: usize,
    pieces: impl Iterator<Item = &'p [u8]>,
    dst: &mut B,
) -> Result<(), EncodeError> {
    // No buffer can hold more than `isize::MAX` bytes; `BytesMut` would
    // panic trying to reserve them.
    if required > isize::MAX as usize || dst.remaining_mut() < required {
        return Err(EncodeError::BufferTooSmall { required });
    }
    dst.put(PieceBuf::new(pieces, required));
    Ok(())
}

/// Encodes the frame into new `Bytes` of exactly its length: one allocation.
#[cfg(feature = "bytes")]
fn write_to_bytes<'p>(
    required: usize,
    pieces: impl Iterator<Item = &'p [u8]>,
) -> Result<bytes::Bytes, EncodeError> {
    use bytes::BufMut;
    if required > isize::MAX as usize {
        return Err(EncodeError::BufferTooSmall { required });
    }
    let mut out = bytes::BytesMut::with_capacity(required);
    out.put(PieceBuf::new(pieces, required));
    Ok(out.freeze())
}

/// A [`bytes::Buf`] over the pieces of a frame. `BufMut::put` asks it for its
/// whole length first, so `BytesMut` and `Vec` reserve once.
#[cfg(feature = "bytes")]
struct PieceBuf<'p, I> {
    pieces: I,
    /// The unread part of the current piece; empty only at the end.
    current: &'p [u8],
    remaining: usize,
}

#[cfg(feature = "bytes")]
impl<'p, I: Iterator<Item = &'p [u8]>> PieceBuf<'p, I> {
    /// `len` must be the sum of the pieces' lengths.
    fn new(mut pieces: I, len: usize) -> Self {
        let current = pieces.find(|p| !p.is_empty()).unwrap_or_default();
        debug_assert_eq!(current.is_empty(), len == 0);
        PieceBuf {
            pieces,
            current,
            remaining: if current.is_empty() { 0 } else { len },
        }
    }
}

#[cfg(feature = "bytes")]
impl<'p, I: Iterator<Item = &'p [u8]>> bytes::Buf for PieceBuf<'p, I> {
    fn remaining(&self) -> usize {
        self.remaining
    }

    fn chunk(&self) -> &[u8] {
        self.current
    }

    fn advance(&mut self, cnt: usize) {
        let mut cnt = cnt.min(self.remaining);
        self.remaining -= cnt;
        while cnt > 0 {
            let n = cnt.min(self.current.len());
            self.current = &self.current[n..];
            cnt -= n;
            if self.current.is_empty() {
                match self.pieces.find(|p| !p.is_empty()) {
                    Some(next) => self.current = next,
                    None => break,
                }
            }
        }
        debug_assert_eq!(self.current.is_empty(), self.remaining == 0);
        // Should the pieces ever run out early, end here: `BufMut::put` loops
        // while bytes remain, and would spin on an empty chunk.
        if self.current.is_empty() {
            self.remaining = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(data: &[u8]) -> [Option<&[u8]>; 4] {
        let mut out = [None; 4];
        for (slot, line) in out.iter_mut().zip(Lines::new(Some(data))) {
            *slot = Some(line);
        }
        out
    }

    #[test]
    fn crlf_is_one_break_cr_and_lf_are_one_each() {
        assert_eq!(split(b"a\r\nb"), [Some(&b"a"[..]), Some(b"b"), None, None]);
        assert_eq!(
            split(b"a\rb\nc"),
            [Some(&b"a"[..]), Some(b"b"), Some(b"c"), None]
        );
        assert_eq!(split(b"\n\r"), [Some(&b""[..]), Some(b""), Some(b""), None]);
        assert_eq!(
            split(b"\r\r\n"),
            [Some(&b""[..]), Some(b""), Some(b""), None]
        );
        assert_eq!(
            split(b"\n\r\n"),
            [Some(&b""[..]), Some(b""), Some(b""), None]
        );
    }

    #[test]
    fn empty_data_is_one_empty_line() {
        assert_eq!(split(b""), [Some(&b""[..]), None, None, None]);
        assert_eq!(split(b"x"), [Some(&b"x"[..]), None, None, None]);
    }

    #[test]
    fn no_data_is_no_lines_and_empty_data_one() {
        assert_eq!(Lines::new(None).next(), None);
        let mut lines = Lines::new(Some(b""));
        assert_eq!(lines.next(), Some(&b""[..]));
        assert_eq!(lines.next(), None);
    }

    #[test]
    fn pieces_skip_empty_values_and_lines() {
        let mut pieces = Pieces::new(Lines::new(Some(b"\na")), true);
        pieces.head_line(ID, Some(b""));
        pieces.head_line(RETRY, None);
        let mut out = [&b""[..]; 9];
        let mut n = 0;
        for (slot, piece) in out.iter_mut().zip(pieces) {
            *slot = piece;
            n += 1;
        }
        assert_eq!(n, 8);
        assert_eq!(out[..8], [ID, LF, DATA, LF, DATA, &b"a"[..], LF, LF]);
    }

    #[test]
    fn digits() {
        assert_eq!(Digits::new(0).as_bytes(), b"0");
        assert_eq!(Digits::new(1000).as_bytes(), b"1000");
        assert_eq!(Digits::new(u64::MAX).as_bytes(), b"18446744073709551615");
    }

    #[test]
    fn check_value_finds_first_bad_byte() {
        assert_eq!(check_value(FieldName::Id, b"abc", true), Ok(()));
        assert_eq!(
            check_value(FieldName::Id, b"a\0\n", true),
            Err(EncodeError::InvalidValue {
                field: FieldName::Id,
                offset: 1,
                byte: 0
            })
        );
        assert_eq!(check_value(FieldName::Event, b"a\0", false), Ok(()));
    }

    #[cfg(feature = "bytes")]
    #[test]
    fn piece_buf_advances_across_pieces() {
        use bytes::Buf;
        let pieces = [&b"ab"[..], b"", b"cde", b"f"];
        let mut buf = PieceBuf::new(pieces.into_iter(), 6);
        assert_eq!(buf.chunk(), b"ab");
        buf.advance(3);
        assert_eq!(buf.chunk(), b"de");
        assert_eq!(buf.remaining(), 3);
        buf.advance(2);
        assert_eq!(buf.chunk(), b"f");
        buf.advance(9);
        assert_eq!(buf.remaining(), 0);
        assert_eq!(buf.chunk(), b"");
    }
}
