//! Borrowed fields: what one line of an event stream means.

/// One line of an event stream, as the spec's "process the field" step sees
/// it, borrowing from the caller's bytes.
///
/// The [`Decoder`](crate::Decoder) has already applied the spec's per-line
/// rules: one space after the colon is removed, a line without a colon is a
/// field with an empty value, an `id` containing NUL and a `retry` that is not
/// all ASCII digits are reported as [`Field::Ignored`], and field names are
/// compared byte for byte.
///
/// # Example
///
/// ```
/// use ssekit_codec::{Decoder, Field, Step};
///
/// let mut decoder = Decoder::new();
/// let step = decoder.decode(b"data: hello\n\n");
/// assert_eq!(step.consumed, 12);
/// assert_eq!(step.status, Ok(Step::Field(Field::Data(b"hello"))));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Field<'a> {
    /// A `data` field: its value is one line of the event's data.
    Data(&'a [u8]),
    /// An `event` field: sets the event type buffer (empty means `message`).
    Event(&'a [u8]),
    /// An `id` field without NUL: sets the last event ID buffer (empty resets it).
    Id(&'a [u8]),
    /// A `retry` field whose value is all ASCII digits and fits in a `u64`:
    /// the reconnection time in milliseconds.
    Retry(u64),
    /// A comment line: everything after the leading colon, with no space
    /// removed. Servers send these as heartbeats.
    Comment(&'a [u8]),
    /// A field the spec ignores: an unknown name, an `id` containing NUL, or a
    /// `retry` whose value is not one or more ASCII digits fitting in a `u64`.
    Ignored {
        /// The field name, before the first colon.
        name: &'a [u8],
        /// The field value, after the colon and one optional space.
        value: &'a [u8],
    },
    /// A blank line: the spec's "dispatch the event" step.
    Dispatch,
}

/// Parses a `retry` value as the spec does: one or more ASCII digits, read in
/// base ten. Returns `None` for anything else, including a value above
/// `u64::MAX`, an empty value, a sign or a space.
///
/// ```
/// use ssekit_codec::parse_retry;
///
/// assert_eq!(parse_retry(b"3000"), Some(3000));
/// assert_eq!(parse_retry(b"007"), Some(7));
/// assert_eq!(parse_retry(b"+5"), None);
/// assert_eq!(parse_retry(b""), None);
/// assert_eq!(parse_retry(b"18446744073709551616"), None);
/// ```
pub fn parse_retry(value: &[u8]) -> Option<u64> {
    if value.is_empty() {
        return None;
    }
    let mut n: u64 = 0;
    for &b in value {
        let digit = b.wrapping_sub(b'0');
        if digit > 9 {
            return None;
        }
        n = n.checked_mul(10)?.checked_add(u64::from(digit))?;
    }
    Some(n)
}

/// Interprets one complete line (without its line ending) that is not blank.
#[inline]
pub(crate) fn parse_line(line: &[u8]) -> Field<'_> {
    debug_assert!(!line.is_empty());
    // The known names are recognised by their first byte and prefix, which
    // places the first colon without searching for it.
    match line.first() {
        Some(b'd') => {
            if let Some(value) = line.strip_prefix(b"data:") {
                return Field::Data(strip_one_space(value));
            }
        }
        Some(b'i') => {
            if let Some(value) = line.strip_prefix(b"id:") {
                return id_field(&line[..2], strip_one_space(value));
            }
        }
        Some(b'e') => {
            if let Some(value) = line.strip_prefix(b"event:") {
                return Field::Event(strip_one_space(value));
            }
        }
        Some(b'r') => {
            if let Some(value) = line.strip_prefix(b"retry:") {
                return retry_field(&line[..5], strip_one_space(value));
            }
        }
        _ => {}
    }
    let (name, value) = match memchr::memchr(b':', line) {
        Some(0) => return Field::Comment(&line[1..]),
        Some(colon) => (&line[..colon], strip_one_space(&line[colon + 1..])),
        None => (line, &line[line.len()..]),
    };
    match name {
        b"data" => Field::Data(value),
        b"event" => Field::Event(value),
        b"id" => id_field(name, value),
        b"retry" => retry_field(name, value),
        _ => Field::Ignored { name, value },
    }
}

/// An `id` field: ignored when its value holds NUL.
#[inline]
fn id_field<'a>(name: &'a [u8], value: &'a [u8]) -> Field<'a> {
    if has_nul(value) {
        Field::Ignored { name, value }
    } else {
        Field::Id(value)
    }
}

/// A `retry` field: ignored unless its value is all ASCII digits.
#[inline]
fn retry_field<'a>(name: &'a [u8], value: &'a [u8]) -> Field<'a> {
    match parse_retry(value) {
        Some(ms) => Field::Retry(ms),
        None => Field::Ignored { name, value },
    }
}

/// Whether `value` holds a NUL byte. IDs are short: a plain loop beats the
/// set-up of a vector search.
#[inline]
fn has_nul(value: &[u8]) -> bool {
    if value.len() < 64 {
        value.contains(&0)
    } else {
        memchr::memchr(0, value).is_some()
    }
}

/// Removes the one space the spec allows after the colon.
#[inline]
fn strip_one_space(value: &[u8]) -> &[u8] {
    match value {
        [b' ', rest @ ..] => rest,
        _ => value,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_leading_space_is_removed() {
        assert_eq!(parse_line(b"data:  two"), Field::Data(b" two"));
        assert_eq!(parse_line(b"data:none"), Field::Data(b"none"));
        assert_eq!(parse_line(b"data: "), Field::Data(b""));
    }

    #[test]
    fn line_without_colon_is_field_with_empty_value() {
        assert_eq!(parse_line(b"data"), Field::Data(b""));
        assert_eq!(parse_line(b"id"), Field::Id(b""));
        assert_eq!(
            parse_line(b"retry"),
            Field::Ignored {
                name: b"retry",
                value: b""
            }
        );
    }

    #[test]
    fn first_colon_splits_name_and_value() {
        assert_eq!(parse_line(b"data: a: b"), Field::Data(b"a: b"));
        assert_eq!(parse_line(b": a: b"), Field::Comment(b" a: b"));
    }

    #[test]
    fn field_names_are_case_sensitive() {
        assert_eq!(
            parse_line(b"Data: x"),
            Field::Ignored {
                name: b"Data",
                value: b"x"
            }
        );
    }

    #[test]
    fn id_with_nul_is_ignored() {
        assert_eq!(
            parse_line(b"id: a\0b"),
            Field::Ignored {
                name: b"id",
                value: b"a\0b"
            }
        );
    }

    #[test]
    fn retry_digits_only() {
        assert_eq!(parse_line(b"retry: 10"), Field::Retry(10));
        assert!(matches!(parse_line(b"retry: 1 0"), Field::Ignored { .. }));
        assert!(matches!(parse_line(b"retry: -1"), Field::Ignored { .. }));
        assert!(matches!(parse_line(b"retry:  1"), Field::Ignored { .. }));
        assert_eq!(parse_retry(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_retry(b"99999999999999999999"), None);
    }
}
