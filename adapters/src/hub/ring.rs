//! A topic's window of recent frames: the replay buffer and the live queue
//! in one, shared by every subscriber, each of which is only a sequence
//! number in it.

use std::collections::VecDeque;

use bytes::Bytes;
use tokio::time::Instant;

use super::id::Position;

/// One published event, encoded.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    /// The frame every subscriber writes.
    pub(crate) frame: Bytes,
    /// When it was published.
    pub(crate) at: Instant,
    /// The topic's byte count before this frame: a subscriber's backlog in
    /// bytes is `Ring::end_bytes` minus the `start` of its next entry.
    pub(crate) start: u64,
    /// Its place in the topic's order.
    pub(crate) key: Position,
    /// The ID the publisher gave, when it gave one (not a hub ID).
    pub(crate) own_id: Option<Bytes>,
}

/// What the window retains at most.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Retention {
    pub(crate) events: usize,
    pub(crate) bytes: usize,
    pub(crate) age: core::time::Duration,
}

/// The window: entries with sequence numbers `first..head()`, in order.
///
/// Invariants (checked by `debug_assert!` in `push`): keys increase
/// strictly; `start`s increase by each frame's length; `retained_bytes`
/// is the sum of the retained frames' lengths; `base` is below every
/// retained key.
#[derive(Debug)]
pub(crate) struct Ring {
    entries: VecDeque<Entry>,
    /// The sequence number of `entries[0]`, or of the next entry when empty.
    first: u64,
    /// The topic's byte count through its newest frame.
    end_bytes: u64,
    retained_bytes: usize,
    /// Every event of the topic whose key is above `base` is retained here
    /// or not yet published: the key of the newest entry evicted, or the
    /// position the topic started from.
    base: Position,
}

impl Ring {
    pub(crate) fn new(base: Position) -> Ring {
        Ring {
            entries: VecDeque::new(),
            first: 0,
            end_bytes: 0,
            retained_bytes: 0,
            base,
        }
    }

    /// Moves `base` up to `key` while nothing is retained: the window of a
    /// topic made before its reader knew where the stream stands.
    pub(crate) fn raise_base(&mut self, key: Position) {
        if self.entries.is_empty() && key > self.base {
            self.base = key;
        }
    }

    /// The sequence number the next entry will get.
    pub(crate) fn head(&self) -> u64 {
        self.first + self.entries.len() as u64
    }

    pub(crate) fn first(&self) -> u64 {
        self.first
    }

    pub(crate) fn end_bytes(&self) -> u64 {
        self.end_bytes
    }

    pub(crate) fn base(&self) -> Position {
        self.base
    }

    pub(crate) fn retained_bytes(&self) -> usize {
        self.retained_bytes
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// The newest key, or `base` when nothing is retained.
    pub(crate) fn last_key(&self) -> Position {
        self.entries.back().map_or(self.base, |e| e.key)
    }

    /// The entry with sequence number `seq`, if retained.
    pub(crate) fn get(&self, seq: u64) -> Option<&Entry> {
        let index = seq.checked_sub(self.first)?;
        self.entries.get(usize::try_from(index).ok()?)
    }

    /// The retained entries with sequence numbers `from..to`.
    pub(crate) fn range(&self, from: u64, to: u64) -> impl Iterator<Item = &Entry> {
        let len = self.entries.len();
        let index =
            |seq: u64| usize::try_from(seq.saturating_sub(self.first)).map_or(len, |i| i.min(len));
        self.entries.range(index(from)..index(to).max(index(from)))
    }

    /// Appends a frame with a key above every retained one, then evicts
    /// what `retention` no longer covers. Returns its sequence number.
    pub(crate) fn push(
        &mut self,
        frame: Bytes,
        key: Position,
        own_id: Option<Bytes>,
        now: Instant,
        retention: Retention,
    ) -> u64 {
        debug_assert!(key > self.last_key(), "keys must increase");
        let seq = self.head();
        let len = frame.len();
        self.entries.push_back(Entry {
            frame,
            at: now,
            start: self.end_bytes,
            key,
            own_id,
        });
        self.end_bytes += len as u64;
        self.retained_bytes += len;
        self.evict(now, retention);
        seq
    }

    /// Drops the oldest entries past any of the bounds. The newest entry
    /// stays whatever its size, so that live subscribers still get it.
    pub(crate) fn evict(&mut self, now: Instant, retention: Retention) {
        while let Some(front) = self.entries.front() {
            let over = self.entries.len() > retention.events.max(1)
                || (self.retained_bytes > retention.bytes && self.entries.len() > 1)
                || now.saturating_duration_since(front.at) > retention.age;
            if !over {
                break;
            }
            if let Some(old) = self.entries.pop_front() {
                self.retained_bytes -= old.frame.len();
                self.base = old.key;
                self.first += 1;
            }
        }
        debug_assert_eq!(
            self.retained_bytes,
            self.entries.iter().map(|e| e.frame.len()).sum::<usize>()
        );
    }

    /// The sequence number of the first entry with a key above `key`
    /// (`head()` when there is none). Meaningful for `key >= base`.
    pub(crate) fn seq_after_key(&self, key: Position) -> u64 {
        self.first + self.entries.partition_point(|e| e.key <= key) as u64
    }

    /// The sequence number of the newest entry whose publisher-given ID is
    /// `id`.
    pub(crate) fn find_own_id(&self, id: &[u8]) -> Option<u64> {
        let index = self
            .entries
            .iter()
            .rposition(|e| e.own_id.as_deref() == Some(id))?;
        Some(self.first + index as u64)
    }
}

#[cfg(test)]
mod tests {
    use core::time::Duration;

    use super::*;

    const WIDE: Retention = Retention {
        events: 100,
        bytes: 1 << 20,
        age: Duration::from_secs(60),
    };

    fn key(n: u64) -> Position {
        Position::new(7, n)
    }

    #[test]
    fn sequence_numbers_and_bytes_count_up() {
        let now = Instant::now();
        let mut ring = Ring::new(Position::default());
        assert_eq!(
            ring.push(Bytes::from_static(b"abc"), key(1), None, now, WIDE),
            0
        );
        assert_eq!(
            ring.push(Bytes::from_static(b"de"), key(2), None, now, WIDE),
            1
        );
        assert_eq!(ring.head(), 2);
        assert_eq!(ring.end_bytes(), 5);
        assert_eq!(ring.get(1).map(|e| e.start), Some(3));
        assert!(ring.get(2).is_none());
    }

    #[test]
    fn eviction_by_count_bytes_and_age_moves_base() {
        let t0 = Instant::now();
        let mut ring = Ring::new(Position::default());
        let small = Retention { events: 2, ..WIDE };
        for n in 1..=3 {
            ring.push(Bytes::from_static(b"x"), key(n), None, t0, small);
        }
        assert_eq!((ring.first(), ring.len(), ring.base()), (1, 2, key(1)));

        let bytes = Retention { bytes: 4, ..WIDE };
        ring.push(Bytes::from_static(b"yyyy"), key(4), None, t0, bytes);
        // 1 + 1 + 4 > 4: the two old ones go, the big new one stays.
        assert_eq!((ring.first(), ring.len(), ring.base()), (3, 1, key(3)));

        let aged = Retention {
            age: Duration::from_secs(1),
            ..WIDE
        };
        ring.push(
            Bytes::from_static(b"z"),
            key(5),
            None,
            t0 + Duration::from_secs(2),
            aged,
        );
        assert_eq!((ring.first(), ring.len(), ring.base()), (4, 1, key(4)));
        assert_eq!(ring.retained_bytes(), 1);
    }

    #[test]
    fn lookups_by_key_and_by_own_id() {
        let now = Instant::now();
        let mut ring = Ring::new(key(0));
        for n in [2, 4, 6] {
            let id = Bytes::from(format!("e{n}"));
            ring.push(Bytes::from_static(b"f"), key(n), Some(id), now, WIDE);
        }
        assert_eq!(ring.seq_after_key(key(0)), 0);
        assert_eq!(ring.seq_after_key(key(2)), 1);
        assert_eq!(ring.seq_after_key(key(3)), 1);
        assert_eq!(ring.seq_after_key(key(6)), 3);
        assert_eq!(ring.seq_after_key(key(9)), 3);
        assert_eq!(ring.find_own_id(b"e4"), Some(1));
        assert_eq!(ring.find_own_id(b"e5"), None);
    }
}
