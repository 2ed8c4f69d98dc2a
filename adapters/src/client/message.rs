//! What the client's stream yields: events, comments when asked for, and
//! notices of the connection's life.

use core::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use ssekit_codec::Event;

use super::error::Disconnect;

/// One item of an [`EventSource`](super::EventSource) stream.
///
/// Events and comments come from the server; the other variants are
/// notices of the connection's life, so a program can show "connected" or
/// "reconnecting in 3 s" without a second channel.
#[derive(Debug)]
#[non_exhaustive]
pub enum Message {
    /// A response opened the stream: status 200 with
    /// `Content-Type: text/event-stream`. Its headers are here for the
    /// application to read (a session ID, a rate limit).
    Open {
        /// The response status, always 200 today.
        status: StatusCode,
        /// The response headers.
        headers: HeaderMap,
    },
    /// An event, as the codec dispatched it.
    Event(Event),
    /// A comment line (the bytes after the colon), only when
    /// [`comments`](super::Builder::comments) asked for them. Servers send
    /// comments as heartbeats.
    Comment(Bytes),
    /// The connection ended or could not be made, and the next attempt
    /// starts after `delay`, as the [`Reconnect`](ssekit_codec::Reconnect)
    /// policy decided.
    Reconnecting {
        /// How long the client waits before the next request.
        delay: Duration,
        /// The attempt this will be in the current outage, from 1.
        attempt: u32,
        /// Why the connection ended.
        reason: Disconnect,
    },
    /// The server answered 204 No Content: it asks the client to stop. The
    /// stream ends after this notice; it is not an error.
    Stopped,
}

impl Message {
    /// The event, if this is one.
    ///
    /// ```
    /// use ssekit_adapters::client::Message;
    /// use ssekit_adapters::codec::Event;
    ///
    /// assert_eq!(Message::Event(Event::new("hi")).into_event().unwrap().data(), "hi");
    /// assert!(Message::Stopped.into_event().is_none());
    /// ```
    pub fn into_event(self) -> Option<Event> {
        match self {
            Message::Event(event) => Some(event),
            _ => None,
        }
    }
}
