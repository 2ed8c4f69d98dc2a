//! Line splitting: data into lines at LF, CR and CRLF, and each line paired
//! with the separator written before it.

#[cfg(feature = "bytes")]
use super::write::Stage;
use super::write::{count_lf, find_break, find_lf};
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

    /// Calls `line` with the start and end of each line that has a break
    /// after it, in order, and returns where the last line starts: the
    /// iterator's work in one loop, with the search for LF alone unless the
    /// data holds a CR.
    #[cfg(feature = "bytes")]
    #[inline]
    pub(crate) fn broken_lines(&self, line: impl FnMut(usize, usize)) -> usize {
        if self.cr {
            self.each_broken(line, find_break)
        } else {
            self.each_broken(line, find_lf)
        }
    }

    #[cfg(feature = "bytes")]
    #[inline(always)]
    fn each_broken(
        &self,
        mut line: impl FnMut(usize, usize),
        find: impl Fn(&[u8]) -> Option<usize>,
    ) -> usize {
        let data = self.data;
        let mut start = self.start;
        let mut brk = if self.done { None } else { self.brk };
        while let Some(at) = brk {
            line(start, at);
            start = break_at(data, at).1;
            brk = find(&data[start..]).map(|i| i + start);
        }
        start
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
        } else {
            // One line per break, and the last.
            let rest = self.brk.map_or(&[][..], |at| &self.data[at..]);
            let (lf, cr, crlf) = count_breaks(rest, self.cr);
            lf + cr - crlf + 1
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
        debug_assert_eq!(self.start, 0, "a fresh split");
        let Some(at) = self.brk else {
            return self.data.len().saturating_add(END.len());
        };
        // Each break ends its line and starts the next with 7 bytes: an LF
        // (the break itself when it is one) and `data: `. A break of 2
        // bytes (CRLF) gives one back.
        let (lf, cr, crlf) = count_breaks(&self.data[at..], self.cr);
        let text = self.data.len() - lf - cr;
        let breaks = lf + cr - crlf;
        text.saturating_add(breaks.saturating_mul(NL_DATA.len()))
            .saturating_add(END.len())
    }
}

/// The kind of the break at `data[at]`, a CR or an LF, and where the next
/// line starts (`<= data.len()`).
#[inline(always)]
fn break_at(data: &[u8], at: usize) -> (Break, usize) {
    if data[at] == b'\n' {
        (Break::Lf, at + 1)
    } else if data.get(at + 1) == Some(&b'\n') {
        (Break::Cr, at + 2)
    } else {
        (Break::Cr, at + 1)
    }
}

/// How many LFs, CRs and CRLFs `data` holds; CRs are only looked for with
/// `cr`.
fn count_breaks(data: &[u8], cr: bool) -> (usize, usize, usize) {
    if !cr {
        return (count_lf(data), 0, 0);
    }
    // Each byte with the one after it, in blocks short enough for 8-bit
    // counts: a loop the compiler vectorises.
    let (mut lf, mut crs, mut crlfs) = (0, 0, 0);
    let next = data.get(1..).unwrap_or_default();
    for (block, next) in data.chunks(255).zip(next.chunks(255)) {
        let (mut l, mut c, mut cl) = (0u8, 0u8, 0u8);
        for (&byte, &after) in block.iter().zip(next) {
            l += u8::from(byte == b'\n');
            c += u8::from(byte == b'\r');
            cl += u8::from(byte == b'\r') & u8::from(after == b'\n');
        }
        lf += usize::from(l);
        crs += usize::from(c);
        crlfs += usize::from(cl);
    }
    // The last byte has none after it.
    match data.last() {
        Some(b'\n') => lf += 1,
        Some(b'\r') => crs += 1,
        _ => {}
    }
    (lf, crs, crlfs)
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
        let (kind, next) = break_at(self.data, at);
        self.start = next;
        let rest = &self.data[next..];
        let found = if self.cr {
            find_break(rest)
        } else {
            find_lf(rest)
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

/// The data lines of a frame, as pairs of its chunks (see
/// [`Frame`](super::frame::Frame)).
#[cfg(feature = "bytes")]
pub(crate) trait Lines<'p>: Iterator<Item = (&'static [u8], &'p [u8])> + Sized {
    /// Stages pairs while they fit, as [`Stage::fill_pairs`] does (this is
    /// its contract), possibly faster.
    #[inline(always)]
    fn fill(&mut self, stage: &mut Stage<'_>) -> Option<&'p [u8]> {
        stage.fill_pairs(self)
    }

    /// Whether all of the lines and the end of the frame were yielded or
    /// staged.
    fn is_done(&self) -> bool;
}

#[cfg(feature = "bytes")]
impl<'a> Lines<'a> for RefLines<'a> {
    #[inline]
    fn is_done(&self) -> bool {
        self.lines.done && self.sep.is_empty()
    }

    #[inline(always)]
    fn fill(&mut self, stage: &mut Stage<'_>) -> Option<&'a [u8]> {
        if !self.lines.done && self.lines.brk.is_some() {
            // The lines with a break after them, with the search for LF
            // alone unless the data holds a CR.
            let full = if self.lines.cr {
                self.fill_broken(stage, find_break)
            } else {
                self.fill_broken(stage, find_lf)
            };
            if let Some(large) = full {
                return large;
            }
        }
        let data = self.lines.data;
        if !self.lines.done {
            // The last line, with no break after it.
            if !stage.has_room() {
                return None;
            }
            let line = &data[self.lines.start..];
            self.lines.done = true;
            stage.put_sep(core::mem::replace(&mut self.sep, END));
            if !stage.takes(line.len()) {
                return Some(line);
            }
            stage.put(line);
        }
        // The end of the frame, if it is still due.
        if !self.sep.is_empty() && stage.has_room() {
            stage.put_sep(core::mem::take(&mut self.sep));
        }
        None
    }
}

#[cfg(feature = "bytes")]
impl<'a> RefLines<'a> {
    /// Stages the lines that have a break after them, finding each next
    /// break with `find`; the state stays in locals until the stage is
    /// full. Returns `Some` with what [`Lines::fill`] returns when the stage
    /// is full or a line is left to be handed over as it is, `None` when
    /// only the last line is left.
    ///
    /// A line that ends in an LF keeps it, and the next one follows
    /// `data: `; after a CR or a CRLF, the next line follows `\ndata: `.
    #[inline(always)]
    fn fill_broken(
        &mut self,
        stage: &mut Stage<'_>,
        find: impl Fn(&[u8]) -> Option<usize>,
    ) -> Option<Option<&'a [u8]>> {
        let data = self.lines.data;
        let mut start = self.lines.start;
        let mut brk = self.lines.brk;
        let mut sep = self.sep;
        let mut large = None;
        while let Some(at) = brk {
            if !stage.has_room() {
                break;
            }
            let (end, next, next_sep) = match break_at(data, at) {
                (Break::Lf, next) => (next, next, DATA),
                (_, next) => (at, next, NL_DATA),
            };
            brk = find(&data[next..]).map(|i| i + next);
            stage.put_sep(sep);
            sep = next_sep;
            let taken = stage.put_line(data, start, end);
            if !taken {
                large = Some(&data[start..end]);
            }
            start = next;
            if !taken {
                break;
            }
        }
        self.lines.start = start;
        self.lines.brk = brk;
        self.sep = sep;
        (large.is_some() || brk.is_some()).then_some(large)
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
