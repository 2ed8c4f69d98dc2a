//! The encoding error.

use core::fmt;

/// The part of a frame an [`EncodeError::InvalidValue`] points at.
///
/// ```
/// use ssekit_codec::FieldName;
///
/// assert_eq!(FieldName::Id.as_str(), "id");
/// assert_eq!(FieldName::Event.to_string(), "event");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FieldName {
    /// The `event` field: the event type.
    Event,
    /// The `data` field.
    Data,
    /// The `id` field: the event ID.
    Id,
    /// The `retry` field: the reconnection time.
    Retry,
    /// A comment line. Not a field in the spec's sense; named here so that
    /// errors can point at it.
    Comment,
}

impl FieldName {
    /// The name as written on the wire (`comment` for comment lines).
    ///
    /// ```
    /// use ssekit_codec::FieldName;
    ///
    /// assert_eq!(FieldName::Event.as_str(), "event");
    /// assert_eq!(FieldName::Comment.as_str(), "comment");
    /// ```
    pub const fn as_str(self) -> &'static str {
        match self {
            FieldName::Event => "event",
            FieldName::Data => "data",
            FieldName::Id => "id",
            FieldName::Retry => "retry",
            FieldName::Comment => "comment",
        }
    }

    /// What the field may not contain, for messages.
    const fn rule(self) -> &'static str {
        match self {
            FieldName::Id => "an id cannot contain CR, LF or NUL",
            FieldName::Event => "an event type cannot contain CR or LF",
            FieldName::Comment => "a comment is one line and cannot contain CR or LF",
            FieldName::Data | FieldName::Retry => "the byte is not allowed here",
        }
    }
}

impl fmt::Display for FieldName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error from encoding a frame. Nothing was written when it is returned.
///
/// # Example
///
/// ```
/// use ssekit_codec::{EncodeError, EventRef, FieldName};
///
/// let mut buf = [0u8; 64];
/// let err = EventRef::new().id("7\nevent: evil").data("x").encode_to_slice(&mut buf);
/// assert_eq!(
///     err,
///     Err(EncodeError::InvalidValue { field: FieldName::Id, offset: 1, byte: b'\n' })
/// );
/// assert_eq!(
///     err.unwrap_err().to_string(),
///     "invalid `id` value: LF (0x0A) at byte offset 1 (an id cannot contain CR, LF or NUL)"
/// );
/// assert_eq!(buf, [0u8; 64]);
///
/// let err = EventRef::new().data("hello").encode_to_slice(&mut buf[..4]);
/// assert_eq!(err, Err(EncodeError::BufferTooSmall { required: 13 }));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EncodeError {
    /// A value holds a byte that would change the structure of the stream:
    /// CR or LF in an event type, an ID or a comment, or NUL in an ID.
    InvalidValue {
        /// Which value.
        field: FieldName,
        /// Byte offset of the first offending byte within the value.
        offset: usize,
        /// The offending byte.
        byte: u8,
    },
    /// The destination cannot hold the frame.
    BufferTooSmall {
        /// The frame's length in bytes: the size needed. `usize::MAX` means
        /// the frame is too large for any buffer.
        required: usize,
    },
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            EncodeError::InvalidValue {
                field,
                offset,
                byte,
            } => {
                let name = match byte {
                    b'\r' => "CR",
                    b'\n' => "LF",
                    0 => "NUL",
                    _ => "byte",
                };
                write!(
                    f,
                    "invalid `{field}` value: {name} (0x{byte:02X}) at byte offset {offset} ({})",
                    field.rule()
                )
            }
            EncodeError::BufferTooSmall { required } => {
                write!(f, "buffer too small: the frame needs {required} bytes")
            }
        }
    }
}

impl core::error::Error for EncodeError {}
