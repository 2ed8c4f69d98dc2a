//! The sinks: a frame's chunks written to a slice, a `Vec`, a `BufMut` or new
//! `Bytes`. This is the one home of the encoder's performance tricks: the
//! staging buffers, their size constants, the copies into them, the check
//! of short values ([`short_and_clean`]) and the search for line breaks
//! ([`find_lf`], [`find_break`]).
//!
//! Into a [`bytes::BufMut`], a frame is assembled in a buffer on the stack
//! ([`Stage`]) and handed over in a few large pieces: each piece costs the
//! destination a length check and a call to `memcpy`, so many small ones
//! (a separator, a short line) would cost more than copying them twice.
//! Frames up to [`SMALL`] bytes are handed over in one piece; longer ones go
//! through [`ChunkBuf`], one [`bytes::Buf`] of known length, so that a
//! growable destination reserves the whole frame once.

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
    debug_assert_eq!(out.len(), required, "the frame's length");
    Ok(out.freeze())
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

/// Puts the frame into `dst`: in one piece when it is at most [`SMALL`]
/// bytes long, else as one [`bytes::Buf`] so that growable buffers reserve
/// it whole, once. Fixed-size buffers are checked first.
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
    if required <= SMALL {
        return put_small_frame(frame, dst);
    }
    let mut stage = [0; STAGE];
    let mut buf = ChunkBuf::new(frame, required, &mut stage);
    dst.put(&mut buf);
    buf.put_rest(dst);
    Ok(())
}

/// Puts a frame of at most [`SMALL`] bytes into `dst` in one piece: there
/// is room for all of it, with the slack that separators need, so one
/// `fill` stages the whole frame and one copy hands it over.
///
/// (Two sizes of stack buffer, 256 and 512 bytes, so that shorter frames
/// clear less of one, were tried: 30 fewer instructions per event on the
/// `named` workload, but the second copy of the code kept the compiler
/// from inlining the encoder into its callers, which cost more.)
#[cfg(feature = "bytes")]
#[inline(always)]
fn put_small_frame<'p, B: bytes::BufMut, L: Lines<'p>>(
    mut frame: Frame<'p, L>,
    dst: &mut B,
) -> Result<(), EncodeError> {
    let mut buf = [0; SMALL + SEP_MAX];
    let mut stage = Stage::new(&mut buf, usize::MAX);
    let mut large = frame.fill(&mut stage);
    if large.is_none() && frame.is_done() {
        dst.put_slice(stage.staged());
        return Ok(());
    }
    // Only if the frame's length was too short: the rest of the frame still
    // goes out, after an extra reservation.
    debug_assert!(false, "the frame is longer than its length");
    loop {
        dst.put_slice(stage.staged());
        if let Some(value) = large {
            dst.put_slice(value);
        }
        stage.clear();
        large = frame.fill(&mut stage);
        if stage.is_empty() && large.is_none() {
            return Ok(());
        }
    }
}

/// Puts the frame of `line`, data of one line with nothing else set, into
/// `dst`: [`write_to_buf`] for the most common frame.
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
        // Three chunks, the line handed over as it is: `Chain` adds up
        // their lengths, so the reservation is exact.
        use bytes::Buf;
        dst.put(DATA.chain(line).chain(END));
    }
    Ok(())
}

/// Frames up to this long are assembled on the stack and handed over in one
/// piece.
#[cfg(feature = "bytes")]
pub(super) const SMALL: usize = 512;

/// The size of [`ChunkBuf`]'s staging buffer.
#[cfg(feature = "bytes")]
pub(super) const STAGE: usize = 2048;

/// Values at least this long are handed over by [`ChunkBuf`] as chunks of
/// their own rather than copied into its staging buffer.
#[cfg(feature = "bytes")]
pub(super) const LARGE: usize = 384;

/// The longest line that [`Stage::put_line`] copies whole.
#[cfg(feature = "bytes")]
const WILD: usize = 128;

/// The longest separator (`"\nretry: "`, `"\nevent: "`). A [`Stage`] keeps
/// this much room for the next separator before it takes a value.
#[cfg(feature = "bytes")]
pub(super) const SEP_MAX: usize = 8;

/// A staging buffer being filled: separators and values are appended while
/// they fit. `buf[..pos]` is staged.
#[cfg(feature = "bytes")]
pub(crate) struct Stage<'s> {
    buf: &'s mut [u8],
    pos: usize,
    /// Values this long or longer are left to be handed over as they are.
    large: usize,
    /// Where the staged bytes start: 1 when `buf[0]` is the LF of the
    /// frame's first separator, which the frame leaves out.
    skip: usize,
}

#[cfg(feature = "bytes")]
impl<'s> Stage<'s> {
    /// An empty stage over `buf`, which takes values shorter than `large`.
    #[inline]
    fn new(buf: &'s mut [u8], large: usize) -> Self {
        Stage {
            buf,
            pos: 0,
            large,
            skip: 0,
        }
    }

    #[inline]
    fn is_empty(&self) -> bool {
        self.pos == self.skip
    }

    #[inline]
    fn staged(&self) -> &[u8] {
        &self.buf[self.skip..self.pos]
    }

    #[inline]
    fn clear(&mut self) {
        self.pos = 0;
        self.skip = 0;
    }

    /// Whether a frame's head lines of `len` bytes fit whole at the start
    /// of this stage, each written with its LF: the stage is empty, and
    /// the values are short enough to copy.
    #[inline(always)]
    pub(crate) fn takes_head(&self, len: usize) -> bool {
        self.pos == 0 && len < self.large && len < self.buf.len()
    }

    /// Leaves out the LF of the first separator: the stage starts with
    /// the frame's first line.
    #[inline(always)]
    pub(crate) fn skip_lf(&mut self) {
        debug_assert_eq!(self.buf.first(), Some(&b'\n'));
        self.skip = 1;
    }

    /// Whether a separator fits.
    #[inline(always)]
    pub(crate) fn has_room(&self) -> bool {
        self.buf.len() - self.pos >= SEP_MAX
    }

    /// Whether a value of `len` bytes fits and is short enough to copy.
    #[inline(always)]
    pub(crate) fn takes(&self, len: usize) -> bool {
        len < self.large && len <= self.buf.len() - self.pos
    }

    /// Appends `sep`, a separator, for which [`has_room`](Self::has_room)
    /// made sure there is room.
    #[inline(always)]
    pub(crate) fn put_sep(&mut self, sep: &[u8]) {
        self.pos = put_small(self.buf, self.pos, sep);
    }

    /// Appends `value`, which [`takes`](Self::takes) accepted.
    #[inline(always)]
    pub(crate) fn put(&mut self, value: &[u8]) {
        self.pos = put_value(self.buf, self.pos, value);
    }

    /// Appends `data[start..end]`, a line of data, if it fits and is short
    /// enough to copy; returns whether it did.
    ///
    /// A line of up to [`WILD`] bytes with that many bytes of `data` from
    /// its start, and that much room here, is copied as a whole 64 or
    /// [`WILD`] bytes: the bytes after the line land in the stage past its
    /// end, where the next separator and line overwrite them (and the stage
    /// is only handed over up to its end). The copy then costs a few loads
    /// and stores of fixed size and no branch on the line's length: on the
    /// `multi` workload of `examples/profile_encode.rs`, borrowed, 21,750 →
    /// 20,582 instructions per event (callgrind), 4.99 → 5.53 GB/s (best of
    /// five).
    #[inline(always)]
    pub(crate) fn put_line(&mut self, data: &[u8], start: usize, end: usize) -> bool {
        let len = end - start;
        if len <= WILD {
            let src = data[start..].first_chunk::<WILD>();
            let dst = self.buf[self.pos..].first_chunk_mut::<WILD>();
            if let (Some(src), Some(dst)) = (src, dst) {
                if len <= WILD / 2 {
                    dst[..WILD / 2].copy_from_slice(&src[..WILD / 2]);
                } else {
                    *dst = *src;
                }
                self.pos += len;
                return true;
            }
        }
        if !self.takes(len) {
            return false;
        }
        self.put(&data[start..end]);
        true
    }

    /// Stages pairs of a separator and a value while they fit. Returns a
    /// value that does not fit or is large, its separator staged, or `None`
    /// when the stage is full or the pairs have run out.
    #[inline(always)]
    pub(crate) fn fill_pairs<'p>(
        &mut self,
        pairs: &mut impl Iterator<Item = (&'static [u8], &'p [u8])>,
    ) -> Option<&'p [u8]> {
        while self.has_room() {
            let (sep, value) = pairs.next()?;
            self.put_sep(sep);
            if !self.takes(value.len()) {
                return Some(value);
            }
            self.put(value);
        }
        None
    }
}

/// Copies `sep`, a separator, to `out[pos..]`, which has room for it;
/// returns where it ends. Separators are short, and copied without a call.
///
/// Where `sep` is a constant, the copy is one of known length anyway. Where
/// it is not (the first separator of a frame's data, and the one after each
/// borrowed data line, `data: ` or `\ndata: ` depending on the break), the
/// lengths 6, 7 and 2 (`data: `, `\ndata: `, the frame's end) get copies of
/// their own, a store or two each instead of a call to `memcpy`. Measured
/// with callgrind on `examples/profile_encode.rs` (instructions per event,
/// plain `copy_from_slice` → this): `multi`, borrowed 21,662 → 20,542 (11
/// per data line); `named`, borrowed 723 → 703, prebuilt 455 → 424;
/// `crlf`, borrowed 2,093 → 2,052, prebuilt 732 → 677. On the clock (best
/// of five): borrowed `multi` 5.25 → 5.82 GB/s, `named` 4.20 → 4.51 GB/s,
/// `crlf` 3.18 → 3.41 GB/s; prebuilt within noise.
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

/// Copies `value` to `out[pos..]`, which has room for it; returns where it
/// ends. Values up to 128 bytes (most lines and head values) are copied
/// with two loads and stores of 4, 8, 16, 32 or 64 bytes, overlapping in
/// the middle, rather than with a call to `memcpy`, whose setup and
/// dispatch cost as much as the copy for such short values, and whose call
/// makes the caller keep its state in memory around it. One branch per
/// size class and none on the exact length: a loop over 32-byte blocks,
/// tried first, mispredicted on lines of random length and made prebuilt
/// `encode_multiline_large` (`benches/encode.rs`, lines of 60–120 bytes)
/// 20 % slower than `copy_from_slice`; this is as fast as that there
/// (12.0–12.5 vs 12.7–12.9 GB/s), a little faster on borrowed data (4.4–4.5
/// vs 4.3–4.4 GB/s), and 888 fewer instructions per event than the loop on
/// the `multi` workload of `examples/profile_encode.rs`, prebuilt
/// (callgrind).
#[cfg(feature = "bytes")]
#[inline(always)]
fn put_value(out: &mut [u8], pos: usize, value: &[u8]) -> usize {
    let n = value.len();
    let end = pos + n;
    let out = &mut out[pos..end];
    if n <= 16 {
        if n >= 8 {
            out[..8].copy_from_slice(&value[..8]);
            out[n - 8..].copy_from_slice(&value[n - 8..]);
        } else if n >= 4 {
            out[..4].copy_from_slice(&value[..4]);
            out[n - 4..].copy_from_slice(&value[n - 4..]);
        } else {
            for (o, v) in out.iter_mut().zip(value) {
                *o = *v;
            }
        }
    } else if n <= 32 {
        out[..16].copy_from_slice(&value[..16]);
        out[n - 16..].copy_from_slice(&value[n - 16..]);
    } else if n <= 64 {
        out[..32].copy_from_slice(&value[..32]);
        out[n - 32..].copy_from_slice(&value[n - 32..]);
    } else if n <= 128 {
        out[..64].copy_from_slice(&value[..64]);
        out[n - 64..].copy_from_slice(&value[n - 64..]);
    } else {
        out.copy_from_slice(value);
    }
    end
}

/// A [`bytes::Buf`] over a frame longer than [`SMALL`]. `BufMut::put` asks
/// it for its whole length first, so `BytesMut` and `Vec` reserve once,
/// then copies it a chunk at a time.
///
/// Each chunk costs `put` a round of calls, so small pieces (the separators,
/// lines shorter than [`LARGE`]) are gathered into a staging buffer of
/// [`STAGE`] bytes and handed over together; large values are handed over
/// as they are, copied only once.
#[cfg(feature = "bytes")]
struct ChunkBuf<'p, 's, L> {
    frame: Frame<'p, L>,
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
impl<'p, 's, L: Lines<'p>> ChunkBuf<'p, 's, L> {
    /// `len` must be the frame's length.
    #[inline]
    fn new(frame: Frame<'p, L>, len: usize, stage: &'s mut [u8; STAGE]) -> Self {
        let mut buf = ChunkBuf {
            frame,
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
    /// as much of the frame as fits, or hands over a large value. Leaves the
    /// current chunk empty only when there is nothing left.
    fn refill(&mut self) {
        self.direct = &[];
        self.start = 0;
        let mut stage = Stage::new(&mut self.stage[..], LARGE);
        if let Some(value) = self.pending.take() {
            if !stage.takes(value.len()) {
                self.direct = value;
                self.end = 0;
                return;
            }
            stage.put(value);
        }
        self.pending = self.frame.fill(&mut stage);
        self.start = stage.skip;
        self.end = stage.pos;
        if self.end == self.start {
            // Nothing staged: the frame's next value is large.
            self.direct = self.pending.take().unwrap_or_default();
        }
    }

    /// The current chunk, whatever `remaining` says.
    #[inline]
    fn current(&self) -> &[u8] {
        if self.direct.is_empty() {
            &self.stage[self.start..self.end]
        } else {
            self.direct
        }
    }

    /// Writes what `BufMut::put` left of the frame, which is nothing when
    /// the length given to [`ChunkBuf::new`] is right. Were it too short,
    /// `put` would stop early: the rest of the frame is written here rather
    /// than left out of a frame reported as written.
    fn put_rest<B: bytes::BufMut>(&mut self, dst: &mut B) {
        loop {
            let chunk = self.current();
            if chunk.is_empty() {
                self.refill();
                if self.current().is_empty() {
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

#[cfg(feature = "bytes")]
impl<'p, L: Lines<'p>> bytes::Buf for ChunkBuf<'p, '_, L> {
    #[inline]
    fn remaining(&self) -> usize {
        self.remaining
    }

    #[inline]
    fn chunk(&self) -> &[u8] {
        // Never more than `remaining`, so that `put` takes no more than it
        // counts.
        let chunk = self.current();
        &chunk[..chunk.len().min(self.remaining)]
    }

    #[inline]
    fn advance(&mut self, cnt: usize) {
        let mut cnt = cnt.min(self.remaining);
        self.remaining -= cnt;
        loop {
            let len = self.current().len();
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
            if self.current().is_empty() {
                // Should the frame ever run out early (the length given to
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

/// Whether `value` is at most 32 bytes long and holds no CR, no LF and,
/// with `nul`, no NUL: the check of most event types and IDs, a word of 8
/// bytes at a time (the last one overlapping), without the setup of a
/// `memchr2`/`memchr3` call, which is most of their cost on such short
/// values. On the `named` workload of `examples/profile_encode.rs` (a
/// 19-byte type, a 7-byte ID), memchr → this: borrowed 827 → 739
/// instructions per event, builder 1,112 → 1,018 (callgrind); on the clock
/// (best of nine) borrowed 3.69 → 3.96 GB/s, builder 1.34 → 1.42 GB/s.
/// `false` says nothing either way; the caller searches then.
#[inline]
pub(crate) fn short_and_clean(value: &[u8], nul: bool) -> bool {
    /// Whether a byte of `x` is zero.
    #[inline(always)]
    fn has_zero(x: u64) -> bool {
        x.wrapping_sub(0x0101_0101_0101_0101) & !x & 0x8080_8080_8080_8080 != 0
    }
    #[inline(always)]
    fn clean(word: u64, nul: bool) -> bool {
        let found = has_zero(word ^ 0x0D0D_0D0D_0D0D_0D0D)
            || has_zero(word ^ 0x0A0A_0A0A_0A0A_0A0A)
            || (nul && has_zero(word));
        !found
    }
    let len = value.len();
    if len < 8 {
        // Two halves that overlap: checking a byte twice changes nothing.
        // (Loads only: a word put together from byte stores would wait for
        // them, which costs more than the check.)
        let (Some(head), Some(tail)) = (value.first_chunk::<4>(), value.last_chunk::<4>()) else {
            return value
                .iter()
                .all(|&b| b != b'\r' && b != b'\n' && (b != 0 || !nul));
        };
        let word =
            u64::from(u32::from_le_bytes(*head)) | u64::from(u32::from_le_bytes(*tail)) << 32;
        return clean(word, nul);
    }
    if len > 32 {
        return false;
    }
    let clean_at = |at: usize| {
        value[at..]
            .first_chunk::<8>()
            .is_some_and(|word| clean(u64::from_le_bytes(*word), nul))
    };
    let mut at = 0;
    while at + 8 < len {
        if !clean_at(at) {
            return false;
        }
        at += 8;
    }
    clean_at(len - 8)
}

// The search for line breaks: `memchr`, in one place.
//
// memchr's AVX2 searchers (`memchr::arch::x86_64::avx2::memchr::{One,
// Two}`) were tried, made once per stage and called directly, which skips
// memchr's dispatch on every call: 13 to 21 fewer instructions per data line
// on the `multi` workload of `examples/profile_encode.rs` (callgrind), but
// no faster on the clock (best of seven: borrowed `multi` 5.0 vs 5.3 GB/s,
// borrowed `crlf` 2.6 vs 3.4 GB/s for memchr's own dispatch). So memchr
// picks its searcher itself.

/// The first LF in `haystack`.
#[inline(always)]
pub(crate) fn find_lf(haystack: &[u8]) -> Option<usize> {
    memchr::memchr(b'\n', haystack)
}

/// The first CR or LF in `haystack`.
#[inline(always)]
pub(crate) fn find_break(haystack: &[u8]) -> Option<usize> {
    memchr::memchr2(b'\r', b'\n', haystack)
}

/// How many LFs `haystack` holds.
#[inline]
pub(crate) fn count_lf(haystack: &[u8]) -> usize {
    memchr::memchr_iter(b'\n', haystack).count()
}

#[cfg(test)]
mod search_tests {
    use super::*;

    #[test]
    fn short_and_clean_agrees_with_a_byte_loop() {
        let mut value = [b'x'; 40];
        for len in 0..=40 {
            for nul in [false, true] {
                let value = &mut value[..len];
                let naive = |v: &[u8]| {
                    len <= 32
                        && !v
                            .iter()
                            .any(|&b| b == b'\r' || b == b'\n' || (nul && b == 0))
                };
                assert_eq!(short_and_clean(value, nul), naive(value), "{len}");
                for at in 0..len {
                    for bad in [b'\r', b'\n', 0, 0x0B, 0x8D, 0x8A, 0x80] {
                        let old = core::mem::replace(&mut value[at], bad);
                        assert_eq!(
                            short_and_clean(value, nul),
                            naive(value),
                            "{len} bytes, {bad:#x} at {at}, nul: {nul}"
                        );
                        value[at] = old;
                    }
                }
            }
        }
    }
}

#[cfg(all(test, feature = "bytes"))]
mod tests {
    use super::super::frame::Head;
    use super::super::lines::RefLines;
    use super::*;

    use alloc::vec::Vec;

    /// Everything `buf` hands over, as `BufMut::put` takes it.
    fn drain(mut buf: impl bytes::Buf, step: usize) -> Vec<u8> {
        let mut out = Vec::new();
        while buf.has_remaining() {
            let chunk = buf.chunk();
            assert!(!chunk.is_empty());
            let take = chunk.len().min(step);
            out.extend_from_slice(&chunk[..take]);
            buf.advance(take);
        }
        assert_eq!(buf.chunk(), b"");
        out
    }

    /// The frame of `data` after an `event` and an empty `id`, and its
    /// length.
    fn frame(data: &[u8]) -> (Frame<'_, RefLines<'_>>, usize) {
        let head = Head::new([None, Some(b"e"), Some(b""), None]);
        let lines = RefLines::new(data, head.data_prefix());
        let len = lines.encoded_len();
        head.frame(lines, len)
    }

    /// The frame of `data` written to a slice, the reference.
    fn expected(data: &[u8]) -> Vec<u8> {
        let (frame, len) = frame(data);
        let mut out = alloc::vec![0; len];
        assert_eq!(write_to_slice(len, frame, &mut out), Ok(len));
        out
    }

    /// Data of short lines, then a line of `LARGE` bytes, then enough short
    /// lines to fill the stage more than once; with `cr`, some of the
    /// breaks are CR or CRLF.
    fn data(cr: bool) -> Vec<u8> {
        let mut data = alloc::vec![b'x'; STAGE * 3];
        data[5] = b'\n';
        data[6 + LARGE] = b'\n';
        for at in (LARGE + 100..data.len()).step_by(50) {
            data[at] = b'\n';
        }
        if cr {
            for at in (LARGE + 100..data.len()).step_by(150) {
                data[at] = b'\r';
                data[at + 50] = b'\r';
                data[at + 51] = b'\n';
            }
        }
        data
    }

    #[test]
    fn chunk_buf_stages_small_pieces_and_hands_large_ones_over() {
        for cr in [false, true] {
            let data = data(cr);
            let expected = expected(&data);
            for step in [1, 3, 7, 100, usize::MAX] {
                let mut stage = [0; STAGE];
                let (frame, len) = frame(&data);
                let out = drain(ChunkBuf::new(frame, len, &mut stage), step);
                assert_eq!(out, expected, "cr: {cr}, step {step}");
            }
            let mut stage = [0; STAGE];
            let (frame, len) = frame(&data);
            let mut buf = ChunkBuf::new(frame, len, &mut stage);
            use bytes::Buf;
            assert_eq!(buf.chunk(), b"event: e\nid: \ndata: xxxxx\ndata: ");
            buf.advance(buf.chunk().len());
            assert_eq!(buf.chunk(), &data[6..7 + LARGE]);
            buf.advance(3);
            assert_eq!(buf.chunk(), &data[9..7 + LARGE]);
            buf.advance(buf.chunk().len());
            assert!(buf.chunk().starts_with(b"data: xxxx"));
            assert!(buf.chunk().len() > STAGE - 100);
        }
    }

    #[test]
    fn small_frames_are_one_piece_and_large_ones_reserved_once() {
        for len in [0, 1, 100, SMALL - 30, SMALL, 3 * STAGE] {
            for cr in [false, true] {
                let mut data = alloc::vec![b'z'; len];
                for at in (7..len).step_by(40) {
                    data[at] = if cr && at % 80 == 7 { b'\r' } else { b'\n' };
                }
                let expected = expected(&data);
                let (frame, required) = frame(&data);
                let mut out = bytes::BytesMut::new();
                write_to_buf(required, frame, &mut out).unwrap();
                assert_eq!(out[..], expected[..], "{len} bytes, cr: {cr}");
                assert_eq!(out.capacity(), expected.len());
            }
        }
    }

    /// Told too short a length, `put` stops early and `put_rest` writes
    /// the rest (asserting, in debug builds, that this never happens).
    #[test]
    #[cfg_attr(debug_assertions, should_panic = "the frame is longer than its length")]
    fn a_wrong_length_never_loses_part_of_a_frame() {
        let mut data = [b'y'; 3000];
        data[1000] = b'\n';
        let expected = expected(&data);
        let mut out = Vec::new();
        let mut stage = [0; STAGE];
        let (frame, _) = self::frame(&data);
        let mut buf = ChunkBuf::new(frame, 10, &mut stage);
        bytes::BufMut::put(&mut out, &mut buf);
        assert_eq!(out[..], expected[..10]);
        buf.put_rest(&mut out);
        assert_eq!(out, expected);
    }
}
