//! The external history a replay reads from when the in-process window no
//! longer covers a `Last-Event-ID` (Redis Streams, with feature `redis`).

use core::future::Future;
use core::pin::Pin;
use std::boxed::Box;
use std::string::String;
use std::vec::Vec;

use bytes::Bytes;

use super::id::Position;

/// Entries read from the history, oldest first.
#[derive(Debug, Default)]
pub(crate) struct HistoryBatch {
    /// Positions and frames, with positions increasing, all above the
    /// `after` asked for.
    pub(crate) entries: Vec<(Position, Bytes)>,
    /// Entries right after `after` are gone from the history (trimmed): a
    /// replay from there would have a gap.
    pub(crate) gap: bool,
}

/// A read of the history.
pub(crate) type HistoryFuture = Pin<Box<dyn Future<Output = Result<HistoryBatch, String>> + Send>>;

/// A log of a topic's events that outlives the in-process window.
pub(crate) trait History: Send + Sync + 'static {
    /// Up to `limit` entries of `topic` after `after`, oldest first.
    fn after(&self, topic: &str, after: Position, limit: usize) -> HistoryFuture;
}
