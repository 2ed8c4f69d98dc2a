//! Where an owned event keeps its type and ID: short values inline, longer
//! ones as a shared [`Bytes`].
//!
//! Most event types and IDs are a few bytes (`message`, `delta`, a counter,
//! a UUID). Holding them inline means that making, cloning and dropping an
//! [`Event`](crate::Event) touches no reference count for them, and that the
//! value does not pin the buffer it was read from.

use bytes::Bytes;
use core::ops::Deref;

/// The longest value kept inline: small enough that the compiler can tell
/// the two kinds apart by a niche in the [`Bytes`], so the enum is no
/// bigger than a [`Bytes`] (a test checks this). With 38 bytes inline the enum took a word
/// more, and the larger events cost about 10 % more instructions to move
/// (callgrind, `examples/profile_decode`).
pub(crate) const INLINE_CAP: usize = 23;

/// An event type or ID.
#[derive(Clone)]
pub(crate) enum Value {
    /// The first `len` bytes of `bytes`; the rest are zero.
    Inline { len: u8, bytes: [u8; INLINE_CAP] },
    /// A value longer than [`INLINE_CAP`].
    Shared(Bytes),
}

impl Value {
    /// The empty value.
    pub(crate) const EMPTY: Value = Value::Inline {
        len: 0,
        bytes: [0; INLINE_CAP],
    };

    /// The default event type, `message`.
    pub(crate) const MESSAGE: Value = {
        let message = crate::event::DEFAULT_EVENT_TYPE.as_bytes();
        let mut bytes = [0; INLINE_CAP];
        let mut i = 0;
        while i < message.len() {
            bytes[i] = message[i];
            i += 1;
        }
        Value::Inline {
            len: message.len() as u8,
            bytes,
        }
    };

    /// `bytes` inline if it is short enough, or else a slice of `whole`,
    /// which must hold `bytes` at `whole[from..from + bytes.len()]`.
    #[inline]
    pub(crate) fn copy_or_slice(whole: &Bytes, from: usize, bytes: &[u8]) -> Value {
        debug_assert_eq!(whole.get(from..from + bytes.len()), Some(bytes));
        match Value::inline(bytes) {
            Some(value) => value,
            None => Value::Shared(whole.slice(from..from + bytes.len())),
        }
    }

    /// `bytes` inline if it is short enough, or else a copy in a new
    /// [`Bytes`].
    pub(crate) fn copied(bytes: &[u8]) -> Value {
        Value::inline(bytes).unwrap_or_else(|| Value::Shared(Bytes::copy_from_slice(bytes)))
    }

    /// `bytes` inline if it is short enough (copied out of it), or else
    /// `bytes` itself.
    pub(crate) fn from_bytes(bytes: Bytes) -> Value {
        Value::inline(&bytes).unwrap_or(Value::Shared(bytes))
    }

    #[inline]
    fn inline(bytes: &[u8]) -> Option<Value> {
        let len = bytes.len();
        if len > INLINE_CAP {
            return None;
        }
        let mut inline = [0; INLINE_CAP];
        inline[..len].copy_from_slice(bytes);
        // `len` is at most INLINE_CAP, which fits in a u8.
        Some(Value::Inline {
            len: len as u8,
            bytes: inline,
        })
    }

    /// Whether the value has no bytes, without making a slice of it.
    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        match self {
            Value::Inline { len, .. } => *len == 0,
            Value::Shared(bytes) => bytes.is_empty(),
        }
    }

    /// Whether the value is a slice of some buffer, which it keeps alive.
    pub(crate) fn is_shared(&self) -> bool {
        matches!(self, Value::Shared(_))
    }
}

impl Default for Value {
    fn default() -> Value {
        Value::EMPTY
    }
}

impl Deref for Value {
    type Target = [u8];

    #[inline]
    fn deref(&self) -> &[u8] {
        match self {
            // `len` is at most INLINE_CAP by construction; `get` keeps a
            // wrong one from panicking.
            Value::Inline { len, bytes } => bytes.get(..usize::from(*len)).unwrap_or(bytes),
            Value::Shared(bytes) => bytes,
        }
    }
}

impl core::fmt::Debug for Value {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // A byte string with escapes, as a `Bytes` shows itself.
        f.write_str("b\"")?;
        for &byte in self.iter() {
            if byte == b'"' {
                f.write_str("\\\"")?;
            } else {
                core::fmt::Display::fmt(&core::ascii::escape_default(byte), f)?;
            }
        }
        f.write_str("\"")
    }
}

impl PartialEq for Value {
    fn eq(&self, other: &Value) -> bool {
        **self == **other
    }
}

impl Eq for Value {}

impl core::hash::Hash for Value {
    fn hash<H: core::hash::Hasher>(&self, state: &mut H) {
        (**self).hash(state);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_values_are_inline_and_long_ones_shared() {
        let whole = Bytes::from(alloc::vec![b'x'; 100]);
        for len in [0, 1, INLINE_CAP - 1, INLINE_CAP] {
            let v = Value::copy_or_slice(&whole, 3, &whole[3..3 + len]);
            assert!(!v.is_shared(), "{len} bytes");
            assert_eq!(&*v, &whole[3..3 + len]);
        }
        let long = Value::copy_or_slice(&whole, 3, &whole[3..4 + INLINE_CAP]);
        assert!(long.is_shared());
        assert_eq!(long.len(), INLINE_CAP + 1);
        assert_eq!(long.as_ptr(), whole[3..].as_ptr(), "a slice, not a copy");
    }

    #[test]
    fn every_constructor_keeps_the_bytes() {
        for len in [0, 5, INLINE_CAP, INLINE_CAP + 1, 200] {
            let bytes: alloc::vec::Vec<u8> = (0..len).map(|i| i as u8).collect();
            let a = Value::copied(&bytes);
            let b = Value::from_bytes(Bytes::from(bytes.clone()));
            assert_eq!(&*a, &bytes[..]);
            assert_eq!(a, b);
            assert_eq!(a.is_shared(), len > INLINE_CAP);
        }
        assert!(Value::EMPTY.is_empty());
        assert_eq!(&*Value::MESSAGE, b"message");
    }

    #[test]
    fn debug_shows_a_byte_string() {
        let v = Value::copied(b"a\"b\n\xff");
        assert_eq!(alloc::format!("{v:?}"), r#"b"a\"b\n\xff""#);
    }

    #[test]
    fn a_value_is_no_bigger_than_a_bytes() {
        assert_eq!(core::mem::size_of::<Value>(), core::mem::size_of::<Bytes>());
    }
}
