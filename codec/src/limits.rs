//! Memory limits for decoding.

/// Bounds on what one decoder will buffer or accept.
///
/// Every field is checked by the field layer ([`Decoder`](crate::Decoder)), so
/// the borrowing and the owned decoders enforce the same bounds. When a limit
/// is exceeded the decoder returns a [`DecodeError`](crate::DecodeError) that
/// names it, discards input up to the next event boundary (the next blank
/// line), and then decodes normally again.
///
/// The defaults are safe for untrusted peers; [`Limits::unbounded`] turns every
/// check off and must be asked for explicitly.
///
/// # Example
///
/// ```
/// use ssekit_codec::Limits;
///
/// let limits = Limits::default().max_line_len(64 * 1024).max_data_lines(1024);
/// assert_eq!(limits.get_max_line_len(), 64 * 1024);
/// assert_eq!(limits.get_max_event_len(), Limits::DEFAULT.get_max_event_len());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Limits {
    max_line_len: usize,
    max_event_len: usize,
    max_data_lines: usize,
}

impl Limits {
    /// The default limits: 2 MiB lines, 8 MiB events, 65 536 `data` lines per event.
    pub const DEFAULT: Limits = Limits {
        max_line_len: 2 * 1024 * 1024,
        max_event_len: 8 * 1024 * 1024,
        max_data_lines: 65_536,
    };

    /// No limits at all. A peer that never sends a line break can then make
    /// the caller buffer without bound, so use this only for trusted input.
    ///
    /// ```
    /// let limits = ssekit_codec::Limits::unbounded();
    /// assert_eq!(limits.get_max_line_len(), usize::MAX);
    /// ```
    pub const fn unbounded() -> Limits {
        Limits {
            max_line_len: usize::MAX,
            max_event_len: usize::MAX,
            max_data_lines: usize::MAX,
        }
    }

    /// Sets the longest line, in bytes, without its line ending. A longer
    /// line, complete or not, is an error; the caller then never needs to
    /// buffer more than this plus one chunk.
    ///
    /// ```
    /// let limits = ssekit_codec::Limits::default().max_line_len(80);
    /// assert_eq!(limits.get_max_line_len(), 80);
    /// ```
    #[must_use]
    pub const fn max_line_len(mut self, bytes: usize) -> Limits {
        self.max_line_len = bytes;
        self
    }

    /// Sets the largest event: the sum of the lengths of its field lines
    /// (without line endings) since the previous blank line. Comment lines do
    /// not count. This bounds the data an owned event holds.
    ///
    /// ```
    /// let limits = ssekit_codec::Limits::default().max_event_len(1 << 20);
    /// assert_eq!(limits.get_max_event_len(), 1 << 20);
    /// ```
    #[must_use]
    pub const fn max_event_len(mut self, bytes: usize) -> Limits {
        self.max_event_len = bytes;
        self
    }

    /// Sets the most `data` lines one event may have.
    ///
    /// ```
    /// let limits = ssekit_codec::Limits::default().max_data_lines(16);
    /// assert_eq!(limits.get_max_data_lines(), 16);
    /// ```
    #[must_use]
    pub const fn max_data_lines(mut self, lines: usize) -> Limits {
        self.max_data_lines = lines;
        self
    }

    /// The longest line allowed, in bytes, without its line ending.
    pub const fn get_max_line_len(&self) -> usize {
        self.max_line_len
    }

    /// The largest event allowed, in bytes of field lines.
    pub const fn get_max_event_len(&self) -> usize {
        self.max_event_len
    }

    /// The most `data` lines allowed in one event.
    pub const fn get_max_data_lines(&self) -> usize {
        self.max_data_lines
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits::DEFAULT
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_bounded() {
        let l = Limits::default();
        assert_eq!(l, Limits::DEFAULT);
        assert!(l.get_max_line_len() < usize::MAX);
        assert!(l.get_max_event_len() < usize::MAX);
        assert!(l.get_max_data_lines() < usize::MAX);
        assert!(l.get_max_line_len() <= l.get_max_event_len());
    }

    #[test]
    fn unbounded_is_explicit() {
        let l = Limits::unbounded();
        assert_eq!(l.get_max_line_len(), usize::MAX);
        assert_eq!(l.get_max_event_len(), usize::MAX);
        assert_eq!(l.get_max_data_lines(), usize::MAX);
    }
}
