//! The decoding error.

use core::fmt;

/// Which [`Limits`](crate::Limits) bound was exceeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Limit {
    /// [`Limits::max_line_len`](crate::Limits::max_line_len).
    LineLength,
    /// [`Limits::max_event_len`](crate::Limits::max_event_len).
    EventSize,
    /// [`Limits::max_data_lines`](crate::Limits::max_data_lines).
    DataLines,
}

impl Limit {
    /// The limit's name as it appears in [`Limits`](crate::Limits) and in messages.
    ///
    /// ```
    /// assert_eq!(ssekit_codec::Limit::LineLength.name(), "max_line_len");
    /// ```
    pub const fn name(self) -> &'static str {
        match self {
            Limit::LineLength => "max_line_len",
            Limit::EventSize => "max_event_len",
            Limit::DataLines => "max_data_lines",
        }
    }

    const fn unit(self) -> &'static str {
        match self {
            Limit::LineLength | Limit::EventSize => "bytes",
            Limit::DataLines => "data lines",
        }
    }
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An error from decoding an event stream.
///
/// Decoding errors come only from hostile or over-limit input; running out of
/// input is never an error. After returning one, the decoder has already
/// arranged to skip to the next event boundary and can be used as before.
///
/// # Example
///
/// ```
/// use ssekit_codec::{DecodeError, Decoder, Limit, Limits};
///
/// let mut decoder = Decoder::with_limits(Limits::default().max_line_len(4));
/// let step = decoder.decode(b"data: too long\n");
/// let err = step.status.unwrap_err();
/// assert!(matches!(err, DecodeError::LimitExceeded { max: 4, .. }));
/// assert_eq!(err.limit(), Limit::LineLength);
/// assert_eq!(err.offset(), 0);
/// assert_eq!(
///     err.to_string(),
///     "line longer than max_line_len (4 bytes) at byte offset 0"
/// );
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DecodeError {
    /// A [`Limits`](crate::Limits) bound was exceeded.
    LimitExceeded {
        /// Which bound.
        limit: Limit,
        /// The bound's value.
        max: usize,
        /// Byte offset in the stream (counting from its first byte, BOM
        /// included) of the start of the line that broke the bound.
        offset: u64,
    },
}

impl DecodeError {
    /// Which limit was exceeded.
    pub const fn limit(&self) -> Limit {
        match *self {
            DecodeError::LimitExceeded { limit, .. } => limit,
        }
    }

    /// Byte offset in the stream of the start of the offending line.
    pub const fn offset(&self) -> u64 {
        match *self {
            DecodeError::LimitExceeded { offset, .. } => offset,
        }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            DecodeError::LimitExceeded { limit, max, offset } => {
                let what = match limit {
                    Limit::LineLength => "line longer than",
                    Limit::EventSize => "event larger than",
                    Limit::DataLines => "event with more data lines than",
                };
                write!(
                    f,
                    "{what} {limit} ({max} {}) at byte offset {offset}",
                    limit.unit()
                )
            }
        }
    }
}

impl core::error::Error for DecodeError {}
