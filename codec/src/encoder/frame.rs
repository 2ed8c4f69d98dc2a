//! The parts of a frame in writing order: the head lines (comment, `event`,
//! `id`, `retry`), then the data lines.

#[cfg(feature = "bytes")]
use super::lines::Lines;
#[cfg(feature = "bytes")]
use super::write::PartsBuf;
use super::{DATA, NL_DATA};

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
    /// separator, with its leading LF.
    ///
    /// At most four head lines fit, and the callers add at most four
    /// (comment, `event`, `id`, `retry`), each once. A fifth would panic on
    /// the index rather than be left out of a frame reported as written.
    #[inline]
    pub(crate) fn line(&mut self, name: &'static [u8], value: Option<&'p [u8]>) {
        if let Some(value) = value {
            let name = if self.len == 0 { &name[1..] } else { name };
            debug_assert!(self.len < self.pairs.len(), "too many head lines");
            self.pairs[self.len] = (name, value);
            self.len += 1;
            self.bytes = self
                .bytes
                .saturating_add(name.len())
                .saturating_add(value.len());
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
    pub(super) fn parts(&self) -> Option<PartsBuf<'p>> {
        let tail = self.lines.tail()?;
        let mut buf = PartsBuf::new();
        for &(sep, value) in &self.head[self.next_head..self.head_len] {
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
            let pair = self.head[self.next_head];
            self.next_head += 1;
            return Some(pair);
        }
        self.lines.next()
    }
}

#[cfg(test)]
mod tests {
    use super::super::lines::RefLines;
    use super::super::write::write_to_slice;
    use super::super::{NL_COMMENT, NL_EVENT, NL_ID, NL_RETRY};
    use super::*;

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
    fn digits() {
        assert_eq!(Digits::new(0).as_bytes(), b"0");
        assert_eq!(Digits::new(1000).as_bytes(), b"1000");
        assert_eq!(Digits::new(u64::MAX).as_bytes(), b"18446744073709551615");
    }
}
