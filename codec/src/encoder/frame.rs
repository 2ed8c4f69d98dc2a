//! The parts of a frame in writing order: the head lines (comment, `event`,
//! `id`, `retry`), then the data lines.

#[cfg(feature = "bytes")]
use super::lines::Lines;
#[cfg(feature = "bytes")]
use super::write::Stage;
use super::{DATA, NL_COMMENT, NL_DATA, NL_EVENT, NL_ID, NL_RETRY};

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

/// The head lines' separators, in writing order: comment, `event`, `id`,
/// `retry`. Each name follows the LF that ends the line before it; the
/// frame's first line leaves that LF out.
const HEAD_NAMES: [&[u8]; 4] = [NL_COMMENT, NL_EVENT, NL_ID, NL_RETRY];

/// The chunks of a frame as pairs: a separator, then a value (possibly
/// empty). The head comes first (the comment, `event`, `id` and `retry`
/// lines, each name after the LF that ends the line before it), then the
/// data lines from `L`, whose first separator is the first `data: ` and
/// whose last pair is [`END`](super::END) with no value.
///
/// A frame with data of one line and no head is three chunks: `data: `, the
/// data, and `END`.
pub(crate) struct Frame<'p, L> {
    /// The head lines' values, as in [`Head::new`]; `head[next..]` are still
    /// due.
    head: [Option<&'p [u8]>; 4],
    /// The head lines' length.
    #[cfg(feature = "bytes")]
    head_len: usize,
    next: usize,
    /// Whether no head line was yielded yet: the next one is the frame's
    /// first line.
    first: bool,
    lines: L,
}

/// The head of a frame, before its data lines are known.
pub(crate) struct Head<'p> {
    values: [Option<&'p [u8]>; 4],
    /// The length of the head lines: their names and values.
    bytes: usize,
}

impl<'p> Head<'p> {
    /// The head lines with these values, in writing order: the comment,
    /// the event type, the ID and the `retry` value; `None` leaves a line
    /// out.
    #[inline]
    pub(crate) fn new(values: [Option<&'p [u8]>; 4]) -> Self {
        let mut bytes = 0usize;
        for (name, value) in HEAD_NAMES.iter().zip(values) {
            if let Some(value) = value {
                bytes = bytes.saturating_add(name.len() + value.len());
            }
        }
        // The first line's name has no LF before it.
        Head {
            values,
            bytes: bytes.saturating_sub(1),
        }
    }

    /// Whether there are no head lines.
    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.values.iter().all(Option::is_none)
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
            head: self.values,
            #[cfg(feature = "bytes")]
            head_len: self.bytes,
            next: 0,
            first: true,
            lines,
        };
        (frame, len)
    }
}

impl<'p, L> Frame<'p, L> {
    /// The next head line as a pair, if one is still due.
    #[inline(always)]
    fn next_head(&mut self) -> Option<(&'static [u8], &'p [u8])> {
        while self.next < HEAD_NAMES.len() {
            let i = self.next;
            self.next += 1;
            if let Some(value) = self.head[i] {
                let name = HEAD_NAMES[i];
                let name = if self.first { &name[1..] } else { name };
                self.first = false;
                return Some((name, value));
            }
        }
        None
    }
}

#[cfg(feature = "bytes")]
impl<'p, L: Lines<'p>> Frame<'p, L> {
    /// Stages what is still due while it fits: the rest of the head, then
    /// the data lines (see [`Stage::fill_pairs`], whose contract this is).
    #[inline(always)]
    pub(super) fn fill(&mut self, stage: &mut Stage<'_>) -> Option<&'p [u8]> {
        if self.next == 0 && stage.takes_head(self.head_len) {
            // The whole head at once, each name written as the constant it
            // is, with its LF: for the frame's first line, the stage leaves
            // that LF out.
            // Written out, not looped over `HEAD_NAMES`, so that each name's
            // length is known and its copy a store or two.
            let [comment, event_type, id, retry] = self.head;
            let any = comment.is_some() || event_type.is_some() || id.is_some() || retry.is_some();
            if let Some(value) = comment {
                stage.put_sep(NL_COMMENT);
                stage.put(value);
            }
            if let Some(value) = event_type {
                stage.put_sep(NL_EVENT);
                stage.put(value);
            }
            if let Some(value) = id {
                stage.put_sep(NL_ID);
                stage.put(value);
            }
            if let Some(value) = retry {
                stage.put_sep(NL_RETRY);
                stage.put(value);
            }
            if any {
                stage.skip_lf();
                self.first = false;
            }
            self.next = HEAD_NAMES.len();
        }
        while self.next < HEAD_NAMES.len() {
            if !stage.has_room() {
                return None;
            }
            let Some((sep, value)) = self.next_head() else {
                break;
            };
            stage.put_sep(sep);
            if !stage.takes(value.len()) {
                return Some(value);
            }
            stage.put(value);
        }
        self.lines.fill(stage)
    }
}

#[cfg(feature = "bytes")]
impl<'p, L: Lines<'p>> Frame<'p, L> {
    /// Whether all of the frame was yielded or staged.
    #[inline]
    pub(super) fn is_done(&self) -> bool {
        self.next >= HEAD_NAMES.len() && self.lines.is_done()
    }
}

impl<'p, L: Iterator<Item = (&'static [u8], &'p [u8])>> Iterator for Frame<'p, L> {
    type Item = (&'static [u8], &'p [u8]);

    #[inline]
    fn next(&mut self) -> Option<(&'static [u8], &'p [u8])> {
        self.next_head().or_else(|| self.lines.next())
    }
}

#[cfg(test)]
mod tests {
    use super::super::lines::RefLines;
    use super::super::write::write_to_slice;
    use super::*;

    /// A frame of `data` (if any) after the head lines `head` (comment,
    /// type, ID, retry), written to a slice.
    fn frame(data: Option<&[u8]>, head: [Option<&'static [u8]>; 4]) -> ([u8; 64], usize) {
        let h = Head::new(head);
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
        let (buf, n) = frame(Some(b"a\n\r\nb\n"), [None, None, Some(b"1"), None]);
        assert_eq!(&buf[..n], b"id: 1\ndata: a\ndata: \ndata: b\ndata: \n\n");
        let (buf, n) = frame(None, [Some(b"x"), None, None, Some(b"5")]);
        assert_eq!(&buf[..n], b":x\nretry: 5\n\n");
        let (_, n) = frame(None, [None; 4]);
        assert_eq!(n, 0);
        let (buf, n) = frame(Some(b""), [None, Some(b"e"), Some(b""), None]);
        assert_eq!(&buf[..n], b"event: e\nid: \ndata: \n\n");
        let (buf, n) = frame(Some(b"x\ry"), [None; 4]);
        assert_eq!(&buf[..n], b"data: x\ndata: y\n\n");
        let (buf, n) = frame(None, [Some(b""), Some(b"t"), Some(b"7"), Some(b"9")]);
        assert_eq!(&buf[..n], b":\nevent: t\nid: 7\nretry: 9\n\n");
    }

    #[test]
    fn digits() {
        assert_eq!(Digits::new(0).as_bytes(), b"0");
        assert_eq!(Digits::new(1000).as_bytes(), b"1000");
        assert_eq!(Digits::new(u64::MAX).as_bytes(), b"18446744073709551615");
    }
}
