//! Event ids that order a topic: `<epoch>-<sequence>`, and the positions of
//! Redis stream entries, `<milliseconds>-<sequence>`, which have the same
//! shape.

use core::fmt;
use core::hash::{BuildHasher, Hasher};
use std::collections::hash_map::RandomState;

/// A place in a topic's order: two numbers written `major-minor`.
///
/// For a topic of the in-process hub, `major` is the topic's epoch and
/// `minor` the event's sequence number; for a topic on Redis Streams the
/// pair is the stream entry ID (milliseconds, sequence). Positions compare
/// as pairs, so they sort the way the topic's events do.
///
/// ```
/// use ssekit_adapters::hub::Position;
///
/// let position = Position::parse("1700000000000-3").unwrap();
/// assert_eq!(position, Position::new(1_700_000_000_000, 3));
/// assert_eq!(position.to_string(), "1700000000000-3");
/// assert!(Position::new(5, 9) < Position::new(6, 0));
/// assert_eq!(Position::parse("42"), None); // not an id this hub gave
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Position {
    /// The epoch of an in-process topic, or the milliseconds of a stream entry.
    pub major: u64,
    /// The sequence number within `major`.
    pub minor: u64,
}

impl Position {
    /// The position `major-minor`.
    pub const fn new(major: u64, minor: u64) -> Position {
        Position { major, minor }
    }

    /// Reads `major-minor`, two decimal numbers of at most 20 digits each;
    /// `None` for anything else (an ID some other server gave, a number
    /// alone, a sign, spaces).
    pub fn parse(text: &str) -> Option<Position> {
        let (major, minor) = text.split_once('-')?;
        Some(Position {
            major: parse_decimal(major)?,
            minor: parse_decimal(minor)?,
        })
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.major, self.minor)
    }
}

/// Digits only, no sign, no leading `+`, not empty, fits in a u64.
fn parse_decimal(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// A new epoch: a random number below 2^40 (at most 13 digits, so that an
/// ID stays short), never 0, different on every call with overwhelming
/// probability.
pub(crate) fn new_epoch() -> u64 {
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64),
    );
    (hasher.finish() & ((1 << 40) - 1)).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_only_two_decimal_numbers() {
        assert_eq!(Position::parse("0-0"), Some(Position::new(0, 0)));
        assert_eq!(
            Position::parse("18446744073709551615-18446744073709551615"),
            Some(Position::new(u64::MAX, u64::MAX))
        );
        for bad in [
            "",
            "-",
            "1-",
            "-1",
            "1",
            "1-2-3",
            "+1-2",
            "1- 2",
            "a-1",
            "18446744073709551616-0",
            "1-2\n",
        ] {
            assert_eq!(Position::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn epochs_differ_and_are_short() {
        let a = new_epoch();
        let b = new_epoch();
        assert_ne!(a, b);
        assert!(a > 0 && a < 1 << 40);
        let text = Position::new(a, 12).to_string();
        assert_eq!(Position::parse(&text), Some(Position::new(a, 12)));
    }
}
