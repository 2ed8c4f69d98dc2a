//! One reader per topic per node: `XREAD BLOCK` from the last entry it
//! delivered, into the topic's window, reconnecting with backoff.

use core::sync::atomic::Ordering;
use core::time::Duration;
use std::string::String;
use std::sync::Arc;

use redis::aio::MultiplexedConnection;
use redis::AsyncConnectionConfig;
use tokio_util::sync::CancellationToken;

use super::entry::xread_entries;
use super::{RedisConfig, RedisCounters, StreamInfo};
use crate::hub::topic::{lock, Topic};

/// What a reader needs, owned by its task.
pub(crate) struct Reader {
    pub(crate) client: redis::Client,
    pub(crate) config: RedisConfig,
    pub(crate) topic: Arc<Topic>,
    pub(crate) key: String,
    pub(crate) counters: Arc<RedisCounters>,
    pub(crate) stop: CancellationToken,
}

impl Reader {
    /// Reads until `stop` is cancelled. Every failure (a refused connection,
    /// a killed one, a timeout, a reply it cannot read) drops the connection
    /// and tries again after a backoff that doubles from
    /// `reconnect_min` to `reconnect_max`, from the last entry delivered:
    /// nothing is lost while Redis keeps the entries.
    pub(crate) async fn run(self) {
        let mut connection: Option<MultiplexedConnection> = None;
        let mut backoff = self.config.reconnect_min;
        // Advanced past every entry read, the malformed ones included, so
        // that none is read twice.
        let mut after = lock(&self.topic.state).ring.last_key();
        loop {
            let Some(result) = self
                .stop
                .run_until_cancelled(self.step(&mut connection, &mut after))
                .await
            else {
                return;
            };
            match result {
                Ok(()) => backoff = self.config.reconnect_min,
                Err(_) => {
                    connection = None;
                    self.counters.reader_errors.fetch_add(1, Ordering::Relaxed);
                    if self
                        .stop
                        .run_until_cancelled(tokio::time::sleep(backoff))
                        .await
                        .is_none()
                    {
                        return;
                    }
                    backoff = backoff.saturating_mul(2).min(self.config.reconnect_max);
                }
            }
        }
    }

    /// On a new connection (after an outage, say): if the stream was
    /// trimmed past the last entry delivered, the entries in between are
    /// gone, and every subscriber of the topic is ended with the retry hint
    /// (so that its reconnection is answered with a gap) instead of going
    /// on with a silent hole.
    async fn check_history(
        &self,
        conn: &mut MultiplexedConnection,
        after: crate::hub::Position,
    ) -> Result<(), String> {
        let reply: redis::Value = redis::cmd("XINFO")
            .arg("STREAM")
            .arg(&self.key)
            .query_async(conn)
            .await
            .or_else(|err| match err.kind() {
                // No stream yet: nothing to have lost.
                redis::ErrorKind::Server(_) => Ok(redis::Value::Nil),
                _ => Err(err.to_string()),
            })?;
        if reply != redis::Value::Nil && StreamInfo::parse(&reply)?.trimmed_after(after) {
            self.topic.end_all();
        }
        Ok(())
    }

    /// One `XREAD`: connects first if needed, then delivers what it read.
    async fn step(
        &self,
        connection: &mut Option<MultiplexedConnection>,
        after: &mut crate::hub::Position,
    ) -> Result<(), String> {
        let conn = match connection {
            Some(conn) => conn,
            None => {
                let config = AsyncConnectionConfig::new()
                    .set_connection_timeout(Some(self.config.connect_timeout))
                    .set_response_timeout(Some(
                        self.config.block.saturating_add(Duration::from_secs(5)),
                    ));
                let conn = self
                    .client
                    .get_multiplexed_async_connection_with_config(&config)
                    .await
                    .map_err(|e| e.to_string())?;
                self.counters
                    .reader_connects
                    .fetch_add(1, Ordering::Relaxed);
                let conn = connection.insert(conn);
                self.check_history(conn, *after).await?;
                conn
            }
        };
        let reply: redis::Value = redis::cmd("XREAD")
            .arg("COUNT")
            .arg(self.config.read_count)
            .arg("BLOCK")
            .arg(self.config.block.as_millis() as u64)
            .arg("STREAMS")
            .arg(&self.key)
            .arg(after.to_string())
            .query_async(conn)
            .await
            .map_err(|e| e.to_string())?;
        for (position, frame) in xread_entries(&reply)? {
            if position <= *after {
                continue;
            }
            *after = position;
            match frame {
                Ok(frame) => {
                    self.topic.push(|_| position, |_, _| frame, None);
                }
                Err(_) => {
                    self.counters.malformed.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        Ok(())
    }
}
