//! Finding where lines end: the spec's line endings are CRLF, LF and CR,
//! so a line ends at its first CR or LF.

/// The index of the first CR or LF in `buf` at or after `from`.
#[inline]
pub(crate) fn find_line_end(buf: &[u8], from: usize) -> Option<usize> {
    line_end(buf, from, false)
}

/// [`find_line_end`], with the search for a comment's end at `from` made
/// for a short line when `short_comments`: for callers that pass over
/// comments, mostly heartbeats.
#[inline(always)]
pub(crate) fn line_end(buf: &[u8], from: usize, short_comments: bool) -> Option<usize> {
    // A blank line (the end of every event) is found without a search.
    match buf.get(from)? {
        b'\n' | b'\r' => Some(from),
        b':' if short_comments => short_line_end(buf, from + 1),
        _ => memchr::memchr2(b'\n', b'\r', &buf[from + 1..]).map(|i| from + 1 + i),
    }
}

/// [`find_line_end`] for a line that is likely short, such as a comment
/// sent as a heartbeat: the first 16 bytes are searched as one block (a few
/// instructions, where a `memchr2` call costs about fifty to set up), the
/// rest, if need be, by [`find_line_end`].
#[inline]
fn short_line_end(buf: &[u8], from: usize) -> Option<usize> {
    match buf.get(from..).and_then(<[u8]>::first_chunk::<16>) {
        Some(block) => match line_end_in(block) {
            Some(at) => Some(from + at),
            None => find_line_end(buf, from + 16),
        },
        None => find_line_end(buf, from),
    }
}

/// The index of the first CR or LF in `block`.
#[cfg(target_arch = "x86_64")]
#[inline]
#[allow(unsafe_code)]
fn line_end_in(block: &[u8; 16]) -> Option<usize> {
    use core::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8,
    };
    // SAFETY: SSE2 is part of every x86_64 target, so its intrinsics are
    // always available; the load reads the 16 bytes of `block`, which it
    // borrows, and has no alignment requirement.
    let mask = unsafe {
        let bytes = _mm_loadu_si128(block.as_ptr().cast::<__m128i>());
        let lf = _mm_cmpeq_epi8(bytes, _mm_set1_epi8(b'\n' as i8));
        let cr = _mm_cmpeq_epi8(bytes, _mm_set1_epi8(b'\r' as i8));
        _mm_movemask_epi8(_mm_or_si128(lf, cr))
    };
    match mask {
        0 => None,
        m => Some(m.trailing_zeros() as usize),
    }
}

/// The index of the first CR or LF in `block`.
#[cfg(not(target_arch = "x86_64"))]
#[inline]
fn line_end_in(block: &[u8; 16]) -> Option<usize> {
    line_end_in_bytes(block)
}

/// The index of the first CR or LF in `block`, a byte at a time: the other
/// targets' search, and what the x86_64 one is tested against.
#[cfg(any(test, not(target_arch = "x86_64")))]
#[inline]
fn line_end_in_bytes(block: &[u8; 16]) -> Option<usize> {
    block.iter().position(|&b| b == b'\n' || b == b'\r')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_short_comment_search_finds_the_first_line_end() {
        // Every position of CR or LF (or none) in a 16-byte block, with a
        // later ending that must not be taken, through both searches.
        for at in 0..=16 {
            for end in [b'\n', b'\r'] {
                let mut block = [b'x'; 16];
                if at < 16 {
                    block[at] = end;
                }
                if at + 1 < 15 {
                    block[at + 1..]
                        .iter_mut()
                        .step_by(3)
                        .for_each(|b| *b = b'\r');
                }
                let want = block.iter().position(|&b| b == b'\n' || b == b'\r');
                assert_eq!(line_end_in(&block), want, "{block:?}");
                assert_eq!(line_end_in_bytes(&block), want, "{block:?}");
            }
        }
        // Comment lines of every length up to 40, alone and followed by
        // more, compared with a plain search.
        for len in 0..40 {
            for tail in [&b"\n"[..], b"\r\n", b"\r", b"", b"\ndata: x\n"] {
                let mut line = [b':'].to_vec();
                line.extend(core::iter::repeat(b'c').take(len));
                line.extend_from_slice(tail);
                for from in 0..line.len() {
                    assert_eq!(
                        line_end(&line, from, true),
                        find_line_end(&line, from),
                        "{line:?} from {from}"
                    );
                }
            }
        }
    }
}
