//! The field layer: a borrowing, allocation-free line and field parser.

use crate::error::{DecodeError, Limit};
use crate::field::{parse_line, Field};
use crate::limits::Limits;
use crate::line_end::find_line_end;
#[cfg(feature = "alloc")]
use crate::line_end::line_end;

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// What one call to [`Decoder::decode`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Step<'b> {
    /// A complete line, interpreted as a field.
    Field(Field<'b>),
    /// The input holds no complete line yet: call again with the unconsumed
    /// bytes followed by more input.
    NeedMore,
}

/// The result of one call to [`Decoder::decode`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[must_use = "the caller must drop `consumed` bytes before the next call"]
pub struct Decoded<'b> {
    /// How many bytes at the front of the input were used up. The caller MUST
    /// drop exactly these bytes before the next call, whatever `status` is: it
    /// can be non-zero with [`Step::NeedMore`] (a byte order mark, a skipped
    /// LF, or input thrown away after a limit error) and with an error.
    pub consumed: usize,
    /// The field found, a request for more input, or a limit error.
    pub status: Result<Step<'b>, DecodeError>,
}

/// How a stream ended, as told by [`Decoder::finish`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EndOfStream {
    /// The stream ended at an event boundary: nothing was cut off.
    Clean,
    /// The stream ended inside a line or inside an event (field lines with no
    /// blank line after them). The spec discards that event; a client of an
    /// API that streams answers may want to report the answer as truncated.
    Truncated,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Discard {
    /// Decoding normally.
    No,
    /// Skipping the rest of an over-long line; then, if `then_event`, the rest
    /// of its event.
    Line { then_event: bool },
    /// Skipping lines up to and including the next blank line. `mid_line`
    /// tells that part of the current line was already thrown away, so it
    /// cannot be blank.
    Event { mid_line: bool },
}

/// The field layer of the event stream parser: finds lines in borrowed bytes
/// and interprets each as a [`Field`]. It never allocates and never copies.
///
/// The caller owns the buffer. Each call to [`decode`](Decoder::decode) looks
/// for one complete line at the front of the input and reports how many bytes
/// it consumed. The caller drops those bytes and calls again with what is
/// left, followed by any new input. Bytes already searched for a line end are
/// not searched again, so the total work is linear in the input however it is
/// split.
///
/// This layer applies the spec's line rules: a byte order mark at the very
/// start of the stream is skipped, lines end at CRLF, LF or CR (also when the
/// CR and the LF arrive in different calls), and every line is interpreted as
/// a field. Assembling events from fields is left to the caller, or to
/// [`EventDecoder`](crate::EventDecoder).
///
/// # Example
///
/// ```
/// use ssekit_codec::{Decoder, Field, Step};
///
/// let mut decoder = Decoder::new();
/// let mut input: &[u8] = b"event: add\ndata: 1\r\n\r\n";
/// let mut fields = Vec::new();
/// loop {
///     let step = decoder.decode(input);
///     input = &input[step.consumed..];
///     match step.status {
///         Ok(Step::Field(field)) => fields.push(field),
///         Ok(Step::NeedMore) => break,
///         Err(err) => panic!("{err}"),
///     }
/// }
/// assert_eq!(
///     fields,
///     [Field::Event(b"add"), Field::Data(b"1"), Field::Dispatch]
/// );
/// ```
///
/// # Limits
///
/// All [`Limits`] are enforced here. An over-long line is reported as soon as
/// the unconsumed input holds more than `max_line_len` bytes of it, and those
/// bytes are consumed, so the caller never buffers more than the limit plus
/// one chunk. After any limit error the decoder consumes input up to and
/// including the next blank line (if the error came from a comment outside an
/// event, only up to the end of that line) and then decodes normally.
#[derive(Debug, Clone)]
pub struct Decoder {
    limits: Limits,
    /// Stream offset of the first unconsumed byte.
    position: u64,
    /// How many bytes at the front of the unconsumed input are known to hold
    /// no line ending.
    scanned: usize,
    /// Sum of the field line lengths since the last blank line.
    event_len: usize,
    /// `data` lines since the last blank line.
    data_lines: usize,
    discard: Discard,
    /// The stream start has been checked for a byte order mark.
    bom_checked: bool,
    /// The last line ended with CR: an LF at the front of the input belongs to it.
    skip_lf: bool,
    /// A field line was seen since the last blank line.
    in_event: bool,
}

impl Default for Decoder {
    fn default() -> Self {
        Decoder::new()
    }
}

impl Decoder {
    /// A decoder with the default [`Limits`].
    pub const fn new() -> Decoder {
        Decoder::with_limits(Limits::DEFAULT)
    }

    /// A decoder with the given [`Limits`].
    ///
    /// ```
    /// use ssekit_codec::{Decoder, Limits};
    ///
    /// let decoder = Decoder::with_limits(Limits::default().max_line_len(1024));
    /// assert_eq!(decoder.limits().get_max_line_len(), 1024);
    /// ```
    pub const fn with_limits(limits: Limits) -> Decoder {
        Decoder {
            limits,
            position: 0,
            scanned: 0,
            event_len: 0,
            data_lines: 0,
            discard: Discard::No,
            bom_checked: false,
            skip_lf: false,
            in_event: false,
        }
    }

    /// The limits in force.
    pub const fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Stream offset of the first byte not yet consumed: the sum of every
    /// `consumed` so far, since creation or the last [`finish`](Decoder::finish).
    pub const fn position(&self) -> u64 {
        self.position
    }

    /// Whether the decoder is skipping input after a limit error.
    pub const fn is_discarding(&self) -> bool {
        !matches!(self.discard, Discard::No)
    }

    /// Whether field lines have been seen since the last blank line, that is,
    /// whether the stream is inside an event.
    pub const fn in_event(&self) -> bool {
        self.in_event
    }

    /// Looks for one complete line at the front of `buf` and interprets it.
    ///
    /// `buf` must start with the bytes left unconsumed by the previous call
    /// (if any), in the same order; new input may follow them. The caller MUST
    /// drop [`Decoded::consumed`] bytes from the front before calling again.
    ///
    /// Returns [`Step::Field`] for the first complete line,
    /// [`Step::NeedMore`] when no complete line is left, or an error when a
    /// [`Limits`] bound is exceeded. Never panics.
    #[inline]
    pub fn decode<'b>(&mut self, buf: &'b [u8]) -> Decoded<'b> {
        // The common case: mid-stream, no LF to skip and nothing being
        // discarded. The search resumes where the last call left it.
        if self.is_plain() {
            let from = if self.scanned <= buf.len() {
                self.scanned
            } else {
                0
            };
            match find_line_end(buf, from) {
                Some(end) => return self.line_at_front(buf, end),
                // Still incomplete and within its limit: ask for more.
                None if buf.len() <= self.limits.get_max_line_len() => {
                    return self.finish_call(0, buf.len(), Ok(Step::NeedMore));
                }
                None => {}
            }
        }
        self.decode_general(buf)
    }

    /// [`decode`](Decoder::decode) for input that is known to end with a
    /// line ending, such as the complete lines the event layer takes at
    /// once: its fast path is only for a complete line at the front, with
    /// nothing carried over, which keeps it small enough to inline into
    /// the event layer's loop.
    #[cfg(feature = "bytes")]
    #[inline(always)]
    ///
    /// Like [`decode_each`](Decoder::decode_each), it passes over blank
    /// lines outside an event and, unless `comments`, comment lines within
    /// the line limit, consuming them without returning.
    pub(crate) fn decode_lines<'b>(&mut self, buf: &'b [u8], comments: bool) -> Decoded<'b> {
        if self.is_plain() && self.scanned == 0 {
            if let Some(end) = find_line_end(buf, 0) {
                if !self.skippable(buf[0], end, comments) {
                    return self.line_at_front(buf, end);
                }
                return self.skip_lines(buf, end, comments);
            }
        }
        self.decode_general(buf)
    }

    /// [`decode_lines`](Decoder::decode_lines) after a line that can be
    /// passed over, ending at `buf[end]`: passes over it and those like it
    /// after it, and decodes the first other line.
    #[cfg(feature = "bytes")]
    #[inline(never)]
    fn skip_lines<'b>(&mut self, buf: &'b [u8], end: usize, comments: bool) -> Decoded<'b> {
        let mut pos = self.after_line_end(buf, end);
        while !self.skip_lf {
            let Some(end) = line_end(buf, pos, !comments) else {
                break;
            };
            if !self.skippable(buf[pos], end - pos, comments) {
                self.position += pos as u64;
                let line = self.line_at_front(&buf[pos..], end - pos);
                return Decoded {
                    consumed: pos + line.consumed,
                    status: line.status,
                };
            }
            pos = self.after_line_end(buf, end);
        }
        self.finish_call(pos, 0, Ok(Step::NeedMore))
    }

    /// Whether a complete line of `len` bytes that starts with `first` (its
    /// line ending if blank) changes nothing for an event layer: a blank
    /// line outside an event, or a comment within the line limit when the
    /// caller does not want `comments`. Only in the plain state.
    #[cfg(feature = "alloc")]
    #[inline(always)]
    fn skippable(&self, first: u8, len: usize, comments: bool) -> bool {
        match first {
            b'\n' | b'\r' => !self.in_event,
            b':' => !comments && len <= self.limits.get_max_line_len(),
            _ => false,
        }
    }

    /// Decodes every complete line at the front of `buf` and hands each
    /// field to `visit`, in one loop, until `visit` returns `Some` (the
    /// caller has what it wanted) or no complete line is left: the same
    /// fields, state changes and errors as calling [`decode`](Decoder::decode)
    /// repeatedly, without a return per line.
    ///
    /// Returns how many bytes were consumed (the caller MUST drop them, as
    /// after `decode`) and what the loop stopped at: `Ok(Some(_))` from
    /// `visit`, `Ok(None)` when only an incomplete line is left (its bytes
    /// recorded as searched), or a limit error.
    ///
    /// Lines that change nothing for an event layer are not handed over:
    /// blank lines outside an event (no field line since the last blank
    /// line, so nothing to dispatch and no ID to take), and, unless
    /// `comments`, comment lines within the line limit.
    #[cfg(feature = "alloc")]
    #[inline(always)]
    pub(crate) fn decode_each<'b, B>(
        &mut self,
        buf: &'b [u8],
        comments: bool,
        mut visit: impl FnMut(Field<'b>) -> Option<B>,
    ) -> (usize, Result<Option<B>, DecodeError>) {
        let mut pos = 0;
        loop {
            let rest = &buf[pos..];
            if self.is_plain() {
                let from = if self.scanned <= rest.len() {
                    self.scanned
                } else {
                    0
                };
                match line_end(rest, from, !comments) {
                    Some(end) => {
                        let next = self.after_line_end(rest, end);
                        if self.skippable(rest[0], end, comments) {
                            self.position += next as u64;
                            self.scanned = 0;
                            pos += next;
                            continue;
                        }
                        let status = self.complete_line(&rest[..end], 0);
                        self.position += next as u64;
                        self.scanned = 0;
                        pos += next;
                        match status {
                            Ok(Step::Field(field)) => {
                                if let Some(found) = visit(field) {
                                    return (pos, Ok(Some(found)));
                                }
                            }
                            Ok(Step::NeedMore) => {}
                            Err(err) => return (pos, Err(err)),
                        }
                        continue;
                    }
                    None if rest.len() <= self.limits.get_max_line_len() => {
                        self.scanned = rest.len();
                        return (pos, Ok(None));
                    }
                    None => {}
                }
            }
            let step = self.decode_general(rest);
            pos += step.consumed;
            match step.status {
                Ok(Step::Field(field)) => {
                    if let Some(found) = visit(field) {
                        return (pos, Ok(Some(found)));
                    }
                }
                Ok(Step::NeedMore) => return (pos, Ok(None)),
                Err(err) => return (pos, Err(err)),
            }
        }
    }

    /// Whether the fast paths apply: the stream start was checked for a
    /// byte order mark, no LF is to be skipped, nothing is being discarded.
    #[inline(always)]
    fn is_plain(&self) -> bool {
        self.bom_checked && !self.skip_lf && self.discard == Discard::No
    }

    /// Consumes and interprets the line at the front of `buf`, which ends at
    /// `buf[end]`, in the plain state.
    #[inline(always)]
    fn line_at_front<'b>(&mut self, buf: &'b [u8], end: usize) -> Decoded<'b> {
        let next = self.after_line_end(buf, end);
        let status = self.complete_line(&buf[..end], 0);
        self.finish_call(next, 0, status)
    }

    /// [`decode`](Decoder::decode) in every state.
    #[inline(never)]
    fn decode_general<'b>(&mut self, buf: &'b [u8]) -> Decoded<'b> {
        let mut pos = 0;
        if !self.bom_checked {
            if buf.len() < BOM.len() && BOM.starts_with(buf) {
                return self.finish_call(0, 0, Ok(Step::NeedMore));
            }
            self.bom_checked = true;
            if buf.starts_with(BOM) {
                pos = BOM.len();
            }
        }
        // A caller that breaks the contract (passes fewer bytes than were
        // left unconsumed) gets a full search instead of a panic.
        let mut resume = if self.scanned <= buf.len() {
            self.scanned
        } else {
            0
        };
        loop {
            if self.skip_lf {
                match buf.get(pos) {
                    None => return self.finish_call(pos, 0, Ok(Step::NeedMore)),
                    Some(&b) => {
                        self.skip_lf = false;
                        if b == b'\n' {
                            pos += 1;
                        }
                    }
                }
            }
            let from = pos.max(resume);
            resume = 0;
            let Some(end) = find_line_end(buf, from) else {
                return self.incomplete_line(buf, pos);
            };
            let line = &buf[pos..end];
            let line_start = pos;
            pos = self.after_line_end(buf, end);
            match self.discard {
                Discard::No => {}
                Discard::Line { then_event } => {
                    self.discard = if then_event {
                        Discard::Event { mid_line: false }
                    } else {
                        Discard::No
                    };
                    continue;
                }
                Discard::Event { mid_line } => {
                    self.discard = if line.is_empty() && !mid_line {
                        Discard::No
                    } else {
                        Discard::Event { mid_line: false }
                    };
                    continue;
                }
            }
            let status = self.complete_line(line, line_start);
            return self.finish_call(pos, 0, status);
        }
    }

    /// The index just past the line ending at `buf[end]`. A CR followed by
    /// LF is one line ending; a CR at the very end of the input may have its
    /// LF in the next call, which is then skipped.
    #[inline]
    fn after_line_end(&mut self, buf: &[u8], end: usize) -> usize {
        if buf[end] == b'\r' {
            match buf.get(end + 1) {
                Some(b'\n') => return end + 2,
                Some(_) => {}
                None => self.skip_lf = true,
            }
        }
        end + 1
    }

    /// Tells the decoder that the first `len` bytes of the unconsumed input
    /// hold no CR or LF (the caller searched them), so that the next call
    /// does not search them again.
    #[cfg(feature = "alloc")]
    pub(crate) fn assume_no_line_end(&mut self, len: usize) {
        self.scanned = self.scanned.max(len);
    }

    /// For an unconsumed input of `len` bytes that holds no CR or LF: when
    /// [`decode`](Decoder::decode) would only ask for more input (the plain
    /// state, the line within its limit), records that the input was
    /// searched and returns `true`, so the caller can skip that call, which
    /// costs more on small inputs. Otherwise returns `false` and changes
    /// nothing.
    #[cfg(feature = "bytes")]
    #[inline]
    pub(crate) fn incomplete_line_fits(&mut self, len: usize) -> bool {
        if self.is_plain() && len <= self.limits.get_max_line_len() {
            self.scanned = len;
            true
        } else {
            false
        }
    }

    /// Interprets a complete line that is not being discarded.
    #[inline]
    fn complete_line<'b>(
        &mut self,
        line: &'b [u8],
        line_start: usize,
    ) -> Result<Step<'b>, DecodeError> {
        let Some(&first) = line.first() else {
            self.end_event();
            return Ok(Step::Field(Field::Dispatch));
        };
        if line.len() > self.limits.get_max_line_len() {
            let err = self.limit_error(Limit::LineLength, line_start);
            self.discard_event(first == b':', false);
            return Err(err);
        }
        if first == b':' {
            return Ok(Step::Field(Field::Comment(&line[1..])));
        }
        self.in_event = true;
        self.event_len = self.event_len.saturating_add(line.len());
        if self.event_len > self.limits.get_max_event_len() {
            let err = self.limit_error(Limit::EventSize, line_start);
            self.discard_event(false, false);
            return Err(err);
        }
        let field = parse_line(line);
        if let Field::Data(_) = field {
            self.data_lines += 1;
            if self.data_lines > self.limits.get_max_data_lines() {
                let err = self.limit_error(Limit::DataLines, line_start);
                self.discard_event(false, false);
                return Err(err);
            }
        }
        Ok(Step::Field(field))
    }

    /// `buf[pos..]` holds no line ending.
    fn incomplete_line<'b>(&mut self, buf: &'b [u8], pos: usize) -> Decoded<'b> {
        let len = buf.len();
        match self.discard {
            Discard::No => {
                if len - pos > self.limits.get_max_line_len() {
                    let err = self.limit_error(Limit::LineLength, pos);
                    self.discard_event(buf[pos] == b':', true);
                    return self.finish_call(len, 0, Err(err));
                }
                self.finish_call(pos, len - pos, Ok(Step::NeedMore))
            }
            Discard::Line { .. } => self.finish_call(len, 0, Ok(Step::NeedMore)),
            Discard::Event { mid_line } => {
                self.discard = Discard::Event {
                    mid_line: mid_line || len > pos,
                };
                self.finish_call(len, 0, Ok(Step::NeedMore))
            }
        }
    }

    /// Enters discard mode after a limit error on a line that is a comment
    /// (`comment`) and is still incomplete (`mid_line`).
    fn discard_event(&mut self, comment: bool, mid_line: bool) {
        let then_event = self.in_event || !comment;
        self.discard = match (mid_line, then_event) {
            (true, then_event) => Discard::Line { then_event },
            (false, true) => Discard::Event { mid_line: false },
            (false, false) => Discard::No,
        };
        self.end_event();
    }

    fn end_event(&mut self) {
        self.in_event = false;
        self.event_len = 0;
        self.data_lines = 0;
    }

    fn limit_error(&self, limit: Limit, line_start: usize) -> DecodeError {
        let max = match limit {
            Limit::LineLength => self.limits.get_max_line_len(),
            Limit::EventSize => self.limits.get_max_event_len(),
            Limit::DataLines => self.limits.get_max_data_lines(),
        };
        DecodeError::LimitExceeded {
            limit,
            max,
            offset: self.position + line_start as u64,
        }
    }

    fn finish_call<'b>(
        &mut self,
        consumed: usize,
        scanned: usize,
        status: Result<Step<'b>, DecodeError>,
    ) -> Decoded<'b> {
        self.position += consumed as u64;
        self.scanned = scanned;
        Decoded { consumed, status }
    }

    /// Ends the stream: applies the spec's end-of-file rule and makes the
    /// decoder ready for a new stream (a reconnection, say).
    ///
    /// `rest` is the input left unconsumed. Per the spec, an incomplete last
    /// line and an event with no blank line after it are discarded; the
    /// return value tells whether that happened.
    ///
    /// ```
    /// use ssekit_codec::{Decoder, EndOfStream, Field, Step};
    ///
    /// let mut decoder = Decoder::new();
    /// let step = decoder.decode(b"data: cut off\n");
    /// assert_eq!(step.status, Ok(Step::Field(Field::Data(b"cut off"))));
    /// assert_eq!(decoder.finish(&[]), EndOfStream::Truncated);
    ///
    /// let step = decoder.decode(b": ping\n");
    /// assert_eq!(step.status, Ok(Step::Field(Field::Comment(b" ping"))));
    /// assert_eq!(decoder.finish(&[]), EndOfStream::Clean);
    /// ```
    pub fn finish(&mut self, rest: &[u8]) -> EndOfStream {
        // Skipping input after a limit error means the stream ended inside
        // the dropped event (or inside the over-long line).
        let truncated = self.in_event || self.is_discarding() || !rest.is_empty();
        *self = Decoder::with_limits(self.limits);
        if truncated {
            EndOfStream::Truncated
        } else {
            EndOfStream::Clean
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    extern crate std;
    use std::vec::Vec;

    /// A field with its values copied out, so tests can keep it.
    #[derive(Debug, PartialEq, Eq)]
    enum Owned {
        Field(Field<'static>),
        Bytes(&'static str, Vec<u8>),
    }

    fn own(f: Field<'_>) -> Owned {
        match f {
            Field::Data(v) => Owned::Bytes("data", v.to_vec()),
            Field::Event(v) => Owned::Bytes("event", v.to_vec()),
            Field::Id(v) => Owned::Bytes("id", v.to_vec()),
            Field::Comment(v) => Owned::Bytes("comment", v.to_vec()),
            Field::Ignored { name, value } => {
                let mut both = name.to_vec();
                both.push(b'=');
                both.extend_from_slice(value);
                Owned::Bytes("ignored", both)
            }
            Field::Retry(n) => Owned::Field(Field::Retry(n)),
            Field::Dispatch => Owned::Field(Field::Dispatch),
        }
    }

    /// Feeds `chunks` one after another the way a caller with a growable
    /// buffer would, and collects every field and error.
    fn run(decoder: &mut Decoder, chunks: &[&[u8]]) -> Vec<Result<Owned, Limit>> {
        let mut buf: Vec<u8> = Vec::new();
        let mut out = Vec::new();
        for chunk in chunks {
            buf.extend_from_slice(chunk);
            loop {
                let step = decoder.decode(&buf);
                let consumed = step.consumed;
                let status = match step.status {
                    Ok(Step::Field(f)) => Some(Ok(own(f))),
                    Ok(Step::NeedMore) => None,
                    Err(e) => Some(Err(e.limit())),
                };
                buf.drain(..consumed);
                match status {
                    Some(item) => out.push(item),
                    None => break,
                }
            }
        }
        out
    }

    /// The expected transcript entry for a field.
    fn ok(f: Field<'_>) -> Result<Owned, Limit> {
        Ok(own(f))
    }

    #[test]
    fn cr_then_lf_in_next_chunk_is_one_line_ending() {
        let mut d = Decoder::new();
        let out = run(&mut d, &[b"data: a\r", b"\ndata: b\r", b"\r"]);
        assert_eq!(
            out,
            [
                ok(Field::Data(b"a")),
                ok(Field::Data(b"b")),
                ok(Field::Dispatch)
            ]
        );
    }

    #[test]
    fn lone_cr_ends_a_line_without_waiting() {
        let mut d = Decoder::new();
        let step = d.decode(b"data: x\r");
        assert_eq!(step.status, Ok(Step::Field(Field::Data(b"x"))));
        assert_eq!(step.consumed, 8);
    }

    #[test]
    fn bom_split_across_chunks_is_stripped() {
        let mut d = Decoder::new();
        let out = run(&mut d, &[b"\xEF", b"\xBB", b"\xBFdata: x\n\n"]);
        assert_eq!(out, [ok(Field::Data(b"x")), ok(Field::Dispatch)]);
    }

    #[test]
    fn second_bom_is_text() {
        let mut d = Decoder::new();
        let out = run(&mut d, &[b"\xEF\xBB\xBF\xEF\xBB\xBFdata\n"]);
        assert_eq!(
            out,
            [ok(Field::Ignored {
                name: b"\xEF\xBB\xBFdata",
                value: b""
            })]
        );
    }

    #[test]
    fn incomplete_line_is_not_rescanned() {
        let mut d = Decoder::new();
        let step = d.decode(b"data: abc");
        assert_eq!((step.consumed, step.status), (0, Ok(Step::NeedMore)));
        assert_eq!(d.scanned, 9);
        let step = d.decode(b"data: abcdef\n");
        assert_eq!(step.status, Ok(Step::Field(Field::Data(b"abcdef"))));
    }

    #[test]
    fn overlong_incomplete_line_is_reported_and_dropped() {
        let mut d = Decoder::with_limits(Limits::default().max_line_len(8));
        let step = d.decode(b"data: 0123456789");
        assert_eq!(step.consumed, 16);
        assert_eq!(step.status.unwrap_err().limit(), Limit::LineLength);
        let out = run(&mut d, &[b"more\ndata: skipped\n\ndata: ok\n\n"]);
        assert_eq!(out, [ok(Field::Data(b"ok")), ok(Field::Dispatch)]);
    }

    #[test]
    fn discard_does_not_mistake_a_split_line_for_a_blank_one() {
        let mut d = Decoder::with_limits(Limits::default().max_data_lines(1));
        let out = run(
            &mut d,
            &[b"data: 1\ndata: 2\ndata: thr", b"\n", b"\ndata: ok\n\n"],
        );
        assert_eq!(
            out,
            [
                ok(Field::Data(b"1")),
                Err(Limit::DataLines),
                ok(Field::Data(b"ok")),
                ok(Field::Dispatch)
            ]
        );
    }

    #[test]
    fn overlong_comment_between_events_skips_only_itself() {
        let mut d = Decoder::with_limits(Limits::default().max_line_len(4));
        let out = run(&mut d, &[b": long comment\ndata\n\n"]);
        assert_eq!(
            out,
            [
                Err(Limit::LineLength),
                ok(Field::Data(b"")),
                ok(Field::Dispatch)
            ]
        );
    }

    #[test]
    fn event_size_limit_counts_field_lines() {
        let mut d = Decoder::with_limits(Limits::default().max_event_len(10));
        let out = run(
            &mut d,
            &[b"data: 1234\n: comments do not count\ndata: 5\n\n"],
        );
        assert_eq!(out[0], ok(Field::Data(b"1234")));
        assert_eq!(out[1], ok(Field::Comment(b" comments do not count")));
        assert_eq!(out[2], Err(Limit::EventSize));
        assert_eq!(out.len(), 3);
    }

    #[test]
    fn error_offset_counts_from_stream_start() {
        let mut d = Decoder::with_limits(Limits::default().max_line_len(5));
        let out = d.decode(b"\xEF\xBB\xBFa\n");
        assert!(out.status.is_ok());
        let err = d.decode(b"data: 123456\n").status.unwrap_err();
        assert_eq!(err.offset(), 5);
    }

    #[test]
    fn finish_reports_truncation_and_resets() {
        let mut d = Decoder::new();
        let _ = d.decode(b"data: x\n");
        assert_eq!(d.finish(b""), EndOfStream::Truncated);
        assert!(!d.in_event());
        assert_eq!(d.position(), 0);
        assert_eq!(d.finish(b"partial"), EndOfStream::Truncated);
        assert_eq!(d.finish(b""), EndOfStream::Clean);
    }
}
