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

/// The separators between the parts of a frame. Each line ends in LF, and
/// the LF that ends one line is written together with the name that starts
/// the next (`"\nid: "`), so that a frame is a few large copies rather than
/// many small ones. A frame's first line uses the name alone: the tail of
/// its separator, without the LF.
const NL_COMMENT: &[u8] = b"\n:";
const NL_EVENT: &[u8] = b"\nevent: ";
const NL_ID: &[u8] = b"\nid: ";
const NL_RETRY: &[u8] = b"\nretry: ";
const NL_DATA: &[u8] = b"\ndata: ";
/// What follows a data line that kept its own LF (see [`LineSplit`]).
const DATA: &[u8] = b"data: ";
/// The LF that ends the last line, then the blank line that ends the frame.
const END: &[u8] = b"\n\n";

/// Checks that `value` cannot end its line early: no CR or LF, and, when
/// `nul` is set, no NUL. The offset is that of the first such byte.
#[inline]
pub(crate) fn check_value(field: FieldName, value: &[u8], nul: bool) -> Result<(), EncodeError> {
    if value.is_empty() {
        return Ok(());
    }
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

/// How a line of data ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Break {
    /// A single LF, at the line's end.
    Lf,
    /// A lone CR or a CRLF, starting at the line's end.
    Cr,
    /// The end of the data: this is the last line.
    Last,
}

/// Splits data into lines at LF, CR and CRLF (a CRLF is one break), finding
/// each break with one search that starts where the previous line ended.
///
/// Yields at least one line (empty data is one empty line), and an empty
/// last line when the data ends with a break.
#[derive(Debug, Clone)]
pub(crate) struct LineSplit<'a> {
    data: &'a [u8],
    /// Start of the next line.
    start: usize,
    /// Where the next line's break is, if it has one.
    brk: Option<usize>,
    /// Whether the data holds a CR at or after `brk`, so that breaks must
    /// be searched for with both needles.
    cr: bool,
    /// Whether the last line was yielded.
    done: bool,
}

impl<'a> LineSplit<'a> {
    /// The lines of `data`. This looks for the first break only; see
    /// [`LineSplit::encoded_len`] for the length of the `data` lines.
    #[inline]
    pub(crate) fn new(data: &'a [u8]) -> LineSplit<'a> {
        let brk = memchr::memchr2(b'\r', b'\n', data);
        LineSplit {
            data,
            start: 0,
            brk,
            // Only looked for when there is a break, and only after it.
            cr: brk.is_some_and(|at| memchr::memchr(b'\r', &data[at..]).is_some()),
            done: false,
        }
    }

    /// No lines at all, for a frame without data.
    pub(crate) const fn none() -> LineSplit<'a> {
        LineSplit {
            data: &[],
            start: 0,
            brk: None,
            cr: false,
            done: true,
        }
    }

    /// Whether the data is one line: no CR or LF at all.
    #[cfg(feature = "bytes")]
    #[inline]
    pub(crate) fn is_one_line(&self) -> bool {
        self.brk.is_none()
    }

    /// How many lines are left.
    #[cfg(feature = "bytes")]
    pub(crate) fn count_lines(&self) -> usize {
        if self.done {
            0
        } else if !self.cr {
            // Only LFs: one line per LF, and the last.
            let rest = self.brk.map_or(&[][..], |at| &self.data[at..]);
            memchr::memchr_iter(b'\n', rest).count() + 1
        } else {
            self.clone().count()
        }
    }

    /// The length of the `data` lines for these lines, from after the first
    /// `data: ` to the blank line that ends the frame (what [`RefLines`]
    /// yields after its first separator); 0 with no lines. Saturates at
    /// `usize::MAX`.
    #[inline]
    pub(crate) fn encoded_len(&self) -> usize {
        if self.done {
            return 0;
        }
        let Some(at) = self.brk else {
            return self.data.len().saturating_add(END.len());
        };
        if self.cr {
            // Rare: count the breaks and what they take up one by one.
            let pairs = RefLines {
                lines: self.clone(),
                sep: &[],
            };
            return pairs.fold(0, |sum, (sep, line)| {
                sum.saturating_add(sep.len()).saturating_add(line.len())
            });
        }
        // Only LFs: each line but the last is its text, its LF and the next
        // line's `data: `.
        let lfs = memchr::memchr_iter(b'\n', &self.data[at..]).count();
        self.data
            .len()
            .saturating_add(lfs.saturating_mul(DATA.len()))
            .saturating_add(END.len())
    }
}

impl Iterator for LineSplit<'_> {
    /// The start and end of a line's text, and how it ends.
    type Item = (usize, usize, Break);

    #[inline]
    fn next(&mut self) -> Option<(usize, usize, Break)> {
        if self.done {
            return None;
        }
        let start = self.start;
        let Some(at) = self.brk else {
            self.done = true;
            return Some((start, self.data.len(), Break::Last));
        };
        let (kind, next) = if self.data.get(at) == Some(&b'\n') {
            (Break::Lf, at + 1)
        } else if self.data.get(at + 1) == Some(&b'\n') {
            (Break::Cr, at + 2)
        } else {
            (Break::Cr, at + 1)
        };
        self.start = next;
        let rest = self.data.get(next..).unwrap_or_default();
        let found = if self.cr {
            memchr::memchr2(b'\r', b'\n', rest)
        } else {
            memchr::memchr(b'\n', rest)
        };
        self.brk = found.map(|i| i + next);
        Some((start, at, kind))
    }
}

/// The lines of borrowed data as pairs of a frame's chunks: each line's
/// bytes after the separator that comes before them, then [`END`]. A line
/// ending in a single LF keeps it, so the next line's separator is just
/// `data: `; after other breaks it is `\ndata: `.
#[derive(Debug, Clone)]
pub(crate) struct RefLines<'a> {
    lines: LineSplit<'a>,
    /// The separator before the next line, [`END`] after the last line,
    /// and empty once that was yielded.
    sep: &'static [u8],
}

impl<'a> RefLines<'a> {
    /// The lines of `data`, `first` before the first one.
    #[inline]
    pub(crate) fn new(data: &'a [u8], first: &'static [u8]) -> RefLines<'a> {
        RefLines {
            lines: LineSplit::new(data),
            sep: first,
        }
    }

    /// No data: just the end of the frame, if `end`.
    pub(crate) const fn none(end: bool) -> RefLines<'a> {
        RefLines {
            lines: LineSplit::none(),
            sep: if end { END } else { &[] },
        }
    }

    /// The length of what these pairs write. Saturates at `usize::MAX`.
    #[inline]
    pub(crate) fn encoded_len(&self) -> usize {
        if self.lines.done {
            self.sep.len()
        } else {
            self.sep.len().saturating_add(self.lines.encoded_len())
        }
    }
}

impl<'a> Iterator for RefLines<'a> {
    type Item = (&'static [u8], &'a [u8]);

    #[inline]
    fn next(&mut self) -> Option<(&'static [u8], &'a [u8])> {
        let Some((start, end, kind)) = self.lines.next() else {
            let sep = core::mem::take(&mut self.sep);
            return (!sep.is_empty()).then_some((sep, &[][..]));
        };
        let data = self.lines.data;
        let (line, next) = match kind {
            Break::Lf => (data.get(start..=end), DATA),
            Break::Cr => (data.get(start..end), NL_DATA),
            Break::Last => (data.get(start..), END),
        };
        Some((
            core::mem::replace(&mut self.sep, next),
            line.unwrap_or_default(),
        ))
    }
}

/// The data lines of a frame, as pairs of its chunks (see [`Frame`]).
#[cfg(feature = "bytes")]
pub(crate) trait Lines<'p>: Iterator<Item = (&'static [u8], &'p [u8])> {
    /// Everything still to come as at most three chunks, when it is that
    /// short: for data of one line, its separator, the line and [`END`].
    fn tail(&self) -> Option<[&'p [u8]; 3]>;
}

#[cfg(feature = "bytes")]
impl<'a> Lines<'a> for RefLines<'a> {
    #[inline]
    fn tail(&self) -> Option<[&'a [u8]; 3]> {
        if self.lines.done {
            Some([self.sep, &[], &[]])
        } else if self.lines.brk.is_none() {
            let line = self.lines.data.get(self.lines.start..).unwrap_or_default();
            Some([self.sep, line, END])
        } else {
            None
        }
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

/// The chunks of a frame as pairs: a separator, then a value (possibly
/// empty). The head comes first (the comment, `event`, `id` and `retry`
/// lines, each name after the LF that ends the line before it), then the
/// data lines from `L`, whose first separator is the first `data: ` and
/// whose last pair is [`END`] with no value.
///
/// A frame with data of one line and no head is three chunks: `data: `, the
/// data, and [`END`].
pub(crate) struct Frame<'p, L> {
    /// The head's pairs; `head[next_head..head_len]` are still due.
    head: [(&'static [u8], &'p [u8]); 4],
    head_len: usize,
    next_head: usize,
    lines: L,
}

/// The head of a frame, before its data lines are known.
pub(crate) struct Head<'p> {
    pairs: [(&'static [u8], &'p [u8]); 4],
    len: usize,
    bytes: usize,
}

impl<'p> Head<'p> {
    #[inline]
    pub(crate) fn new() -> Self {
        Head {
            pairs: [(&[], &[]); 4],
            len: 0,
            bytes: 0,
        }
    }

    /// Adds a head line, if there is a value. `name` is the name's
    /// separator, with its leading LF. At most four head lines fit; the
    /// frame types have no more.
    #[inline]
    pub(crate) fn line(&mut self, name: &'static [u8], value: Option<&'p [u8]>) {
        if let Some(value) = value {
            let name = if self.len == 0 { &name[1..] } else { name };
            debug_assert!(self.len < self.pairs.len(), "too many head lines");
            if let Some(slot) = self.pairs.get_mut(self.len) {
                *slot = (name, value);
                self.len += 1;
                self.bytes = self
                    .bytes
                    .saturating_add(name.len())
                    .saturating_add(value.len());
            }
        }
    }

    /// Whether there are no head lines.
    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The separator before the first data line.
    #[inline]
    pub(crate) fn data_prefix(&self) -> &'static [u8] {
        if self.is_empty() {
            DATA
        } else {
            NL_DATA
        }
    }

    /// The frame of this head and these data lines, and its length:
    /// `lines_len` must be the length of what `lines` yields.
    #[inline]
    pub(crate) fn frame<L>(self, lines: L, lines_len: usize) -> (Frame<'p, L>, usize) {
        let len = self.bytes.saturating_add(lines_len);
        let frame = Frame {
            head: self.pairs,
            head_len: self.len,
            next_head: 0,
            lines,
        };
        (frame, len)
    }
}

#[cfg(feature = "bytes")]
impl<'p, L: Lines<'p>> Frame<'p, L> {
    /// The whole frame as a few chunks, when its data is one line.
    #[cfg(feature = "bytes")]
    #[inline]
    fn parts(&self, len: usize) -> Option<PartsBuf<'p>> {
        let tail = self.lines.tail()?;
        let mut buf = PartsBuf::new(len);
        let head = self
            .head
            .get(self.next_head..self.head_len)
            .unwrap_or_default();
        for &(sep, value) in head {
            buf.push(sep);
            buf.push(value);
        }
        for part in tail {
            buf.push(part);
        }
        Some(buf)
    }
}

impl<'p, L: Iterator<Item = (&'static [u8], &'p [u8])>> Iterator for Frame<'p, L> {
    type Item = (&'static [u8], &'p [u8]);

    #[inline]
    fn next(&mut self) -> Option<(&'static [u8], &'p [u8])> {
        if self.next_head < self.head_len {
            let pair = self.head.get(self.next_head).copied();
            self.next_head += 1;
            return pair;
        }
        self.lines.next()
    }
}

/// Checks that `dst` can hold the frame, then writes it: all or nothing.
/// `required` must be the sum of the chunks' lengths (saturated).
fn write_to_slice<'p>(
    required: usize,
    pairs: impl Iterator<Item = (&'static [u8], &'p [u8])>,
    dst: &mut [u8],
) -> Result<usize, EncodeError> {
    if dst.len() < required {
        return Err(EncodeError::BufferTooSmall { required });
    }
    let mut pos = 0usize;
    for (sep, value) in pairs {
        for chunk in [sep, value] {
            let end = pos.saturating_add(chunk.len());
            if let Some(out) = dst.get_mut(pos..end) {
                out.copy_from_slice(chunk);
            }
            pos = end;
        }
    }
    debug_assert_eq!(pos, required);
    Ok(pos.min(required))
}

/// Appends the frame to `dst`, reserving it whole first.
#[cfg(feature = "alloc")]
fn write_to_vec<'p>(
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
fn write_to_buf<'p, B: bytes::BufMut, L: Lines<'p>>(
    required: usize,
    frame: Frame<'p, L>,
    dst: &mut B,
) -> Result<(), EncodeError> {
    // No buffer can hold more than `isize::MAX` bytes; `BytesMut` would
    // panic trying to reserve them.
    if required > isize::MAX as usize || dst.remaining_mut() < required {
        return Err(EncodeError::BufferTooSmall { required });
    }
    match frame.parts(required) {
        Some(parts) => dst.put(parts),
        None => {
            let mut stage = [0; STAGE];
            dst.put(ChunkBuf::new(frame, required, &mut stage));
        }
    }
    Ok(())
}

/// Puts the frame of `line`, data of one line with nothing else set, into
/// `dst`: [`write_to_buf`] for the most common frame, as three chunks.
#[cfg(feature = "bytes")]
#[inline]
fn write_line_to_buf<B: bytes::BufMut>(line: &[u8], dst: &mut B) -> Result<(), EncodeError> {
    let required = line.len().saturating_add(DATA.len() + END.len());
    if required > isize::MAX as usize || dst.remaining_mut() < required {
        return Err(EncodeError::BufferTooSmall { required });
    }
    if required <= SMALL {
        // Small enough to assemble here and hand over in one piece.
        let mut stage = [0; SMALL];
        let (head, rest) = stage.split_at_mut(DATA.len());
        head.copy_from_slice(DATA);
        if let Some((out, rest)) = rest.split_at_mut_checked(line.len()) {
            out.copy_from_slice(line);
            if let Some(out) = rest.get_mut(..END.len()) {
                out.copy_from_slice(END);
            }
        }
        dst.put_slice(stage.get(..required).unwrap_or_default());
    } else {
        let mut parts = PartsBuf::new(required);
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
fn line_to_bytes(line: &[u8]) -> bytes::Bytes {
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
/// (see [`Frame::parts`]); none of them is empty.
#[cfg(feature = "bytes")]
struct PartsBuf<'p> {
    parts: [&'p [u8]; PARTS],
    /// `parts[next..end]` are still due, `parts[next]` being the current
    /// chunk.
    next: usize,
    end: usize,
    remaining: usize,
}

#[cfg(feature = "bytes")]
impl<'p> PartsBuf<'p> {
    /// No parts yet; `len` must be the sum of the lengths to be pushed.
    #[inline]
    fn new(len: usize) -> Self {
        PartsBuf {
            parts: [&[]; PARTS],
            next: 0,
            end: 0,
            remaining: len,
        }
    }

    #[inline]
    fn push(&mut self, part: &'p [u8]) {
        if !part.is_empty() {
            debug_assert!(self.end < PARTS, "too many parts");
            if let Some(slot) = self.parts.get_mut(self.end) {
                *slot = part;
                self.end += 1;
            }
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
            self.parts.get(self.next).copied().unwrap_or_default()
        } else {
            &[]
        }
    }

    #[inline]
    fn advance(&mut self, cnt: usize) {
        let mut cnt = cnt.min(self.remaining);
        self.remaining -= cnt;
        while let Some(part) = self
            .parts
            .get_mut(self.next..self.end)
            .and_then(|p| p.first_mut())
        {
            if cnt < part.len() {
                *part = &part[cnt..];
                return;
            }
            cnt -= part.len();
            self.next += 1;
        }
        // Should the parts ever run out early, end here: `BufMut::put`
        // loops while bytes remain, and would spin on an empty chunk.
        self.remaining = 0;
    }
}

/// Encodes the frame into new `Bytes` of exactly its length: one allocation.
#[cfg(feature = "bytes")]
fn write_to_bytes<'p>(
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
    match (out.get_mut(pos..end), sep.len()) {
        (Some(out), 6) => out[..6].copy_from_slice(&sep[..6]),
        (Some(out), 7) => out[..7].copy_from_slice(&sep[..7]),
        (Some(out), 2) => out[..2].copy_from_slice(&sep[..2]),
        (Some(out), _) => out.copy_from_slice(sep),
        (None, _) => return pos,
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
            self.stage.get(self.start..self.end).unwrap_or_default()
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
                // Should the pairs ever run out early, end here:
                // `BufMut::put` loops while bytes remain, and would spin on
                // an empty chunk.
                debug_assert_eq!(self.remaining, 0);
                self.remaining = 0;
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The lines of `data` as slices, with how each ends.
    fn split(data: &[u8]) -> [Option<(&[u8], Break)>; 4] {
        let mut out = [None; 4];
        for (slot, (start, end, kind)) in out.iter_mut().zip(LineSplit::new(data)) {
            *slot = Some((&data[start..end], kind));
        }
        out
    }

    /// A frame of `data` (if any) after the head lines `head`, written to
    /// a slice.
    fn frame(data: Option<&[u8]>, head: &[(&'static [u8], &'static [u8])]) -> ([u8; 64], usize) {
        let mut h = Head::new();
        for (name, value) in head {
            h.line(name, Some(value));
        }
        let lines = match data {
            Some(data) => RefLines::new(data, h.data_prefix()),
            None => RefLines::none(!h.is_empty()),
        };
        let len = lines.encoded_len();
        let (frame, required) = h.frame(lines, len);
        let mut buf = [0u8; 64];
        let n = write_to_slice(required, frame, &mut buf).unwrap();
        assert_eq!(n, required);
        (buf, n)
    }

    #[test]
    fn crlf_is_one_break_cr_and_lf_are_one_each() {
        use Break::*;
        assert_eq!(
            split(b"a\r\nb"),
            [Some((&b"a"[..], Cr)), Some((b"b", Last)), None, None]
        );
        assert_eq!(
            split(b"a\rb\nc"),
            [
                Some((&b"a"[..], Cr)),
                Some((b"b", Lf)),
                Some((b"c", Last)),
                None
            ]
        );
        assert_eq!(
            split(b"\n\r"),
            [
                Some((&b""[..], Lf)),
                Some((b"", Cr)),
                Some((b"", Last)),
                None
            ]
        );
        assert_eq!(
            split(b"\r\r\n"),
            [
                Some((&b""[..], Cr)),
                Some((b"", Cr)),
                Some((b"", Last)),
                None
            ]
        );
        assert_eq!(
            split(b"\n\r\n"),
            [
                Some((&b""[..], Lf)),
                Some((b"", Cr)),
                Some((b"", Last)),
                None
            ]
        );
        assert_eq!(
            split(b"a\nb\r"),
            [
                Some((&b"a"[..], Lf)),
                Some((b"b", Cr)),
                Some((b"", Last)),
                None
            ]
        );
    }

    #[test]
    fn empty_data_is_one_empty_line() {
        assert_eq!(
            split(b""),
            [Some((&b""[..], Break::Last)), None, None, None]
        );
        assert_eq!(
            split(b"x"),
            [Some((&b"x"[..], Break::Last)), None, None, None]
        );
        assert_eq!(LineSplit::none().next(), None);
        assert_eq!(LineSplit::none().count_lines(), 0);
        assert_eq!(LineSplit::none().encoded_len(), 0);
    }

    #[test]
    fn counts_and_lengths_match_the_lines() {
        for data in [
            &b""[..],
            b"x",
            b"\n",
            b"\r",
            b"\r\n",
            b"a\nb",
            b"a\r\nb\n",
            b"\n\n\r\r\n",
            b"ab\rcd\n",
        ] {
            let lines = LineSplit::new(data);
            assert_eq!(lines.count_lines(), lines.clone().count(), "{data:?}");
            let pairs = RefLines::new(data, DATA);
            let len = pairs.clone().fold(0, |n, (s, l)| n + s.len() + l.len());
            assert_eq!(pairs.encoded_len(), len, "{data:?}");
        }
    }

    #[test]
    fn frames_merge_line_ends_into_separators() {
        let (buf, n) = frame(Some(b"a\n\r\nb\n"), &[(NL_ID, b"1")]);
        assert_eq!(&buf[..n], b"id: 1\ndata: a\ndata: \ndata: b\ndata: \n\n");
        let (buf, n) = frame(None, &[(NL_COMMENT, b"x"), (NL_RETRY, b"5")]);
        assert_eq!(&buf[..n], b":x\nretry: 5\n\n");
        let (_, n) = frame(None, &[]);
        assert_eq!(n, 0);
        let (buf, n) = frame(Some(b""), &[(NL_EVENT, b"e"), (NL_ID, b"")]);
        assert_eq!(&buf[..n], b"event: e\nid: \ndata: \n\n");
        let (buf, n) = frame(Some(b"x\ry"), &[]);
        assert_eq!(&buf[..n], b"data: x\ndata: y\n\n");
    }

    #[test]
    fn lines_pair_each_line_with_the_separator_before_it() {
        let pairs = RefLines::new(b"a\nb\rc", NL_DATA);
        let mut out = [(&b""[..], &b""[..]); 5];
        let mut n = 0;
        for (slot, pair) in out.iter_mut().zip(pairs) {
            *slot = pair;
            n += 1;
        }
        assert_eq!(n, 4);
        assert_eq!(
            out[..4],
            [
                (NL_DATA, &b"a\n"[..]),
                (DATA, &b"b"[..]),
                (NL_DATA, &b"c"[..]),
                (END, &b""[..])
            ]
        );
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
        assert_eq!(check_value(FieldName::Id, b"", true), Ok(()));
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
        for step in [1, 2, usize::MAX] {
            let (out, n) = drain(frame.parts(len).unwrap(), step);
            assert_eq!(&out[..n], b"event: e\nid: \ndata: line\n\n");
            for line in [&b""[..], b"abc"] {
                let required = DATA.len() + line.len() + END.len();
                let mut buf = PartsBuf::new(required);
                for part in [DATA, line, END] {
                    buf.push(part);
                }
                let (out, n) = drain(buf, step);
                assert_eq!(n, DATA.len() + line.len() + END.len());
                assert_eq!(&out[..DATA.len()], DATA);
                assert_eq!(&out[DATA.len()..n - END.len()], line);
                assert_eq!(&out[n - END.len()..n], END);
            }
        }
    }
}
