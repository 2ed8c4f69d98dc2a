//! Line splitting: data into lines at LF, CR and CRLF, and each line paired
//! with the separator written before it.

use super::{DATA, END, NL_DATA};

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
        // `at` is a CR or an LF in `data`, so `next <= data.len()`.
        let (kind, next) = if self.data[at] == b'\n' {
            (Break::Lf, at + 1)
        } else if self.data.get(at + 1) == Some(&b'\n') {
            (Break::Cr, at + 2)
        } else {
            (Break::Cr, at + 1)
        };
        self.start = next;
        let rest = &self.data[next..];
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
        // `LineSplit` yields `start <= end <= data.len()`, and `end` is a
        // line break unless the line is the last.
        let data = self.lines.data;
        let (line, next) = match kind {
            Break::Lf => (&data[start..=end], DATA),
            Break::Cr => (&data[start..end], NL_DATA),
            Break::Last => (&data[start..], END),
        };
        Some((core::mem::replace(&mut self.sep, next), line))
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
            Some([self.sep, &self.lines.data[self.lines.start..], END])
        } else {
            None
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
}
