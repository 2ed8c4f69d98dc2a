//! The keep-alive schedule and the heartbeat frame it hands out.
//!
//! A proxy or load balancer closes a connection that stays silent for too
//! long (often 30 to 60 seconds), and an SSE stream can be silent for hours.
//! A comment line costs the client nothing (the spec ignores it) and keeps
//! the connection alive. [`KeepAlive`] says when one is due; [`Heartbeat`]
//! is the comment frame to send.
//!
//! Time is passed in as a [`Duration`] since an origin the caller chooses
//! (the stream's start, say); nothing here reads a clock.

use core::time::Duration;

use crate::encoder::{check_value, EncodeError, FieldName};

/// When the next heartbeat is due on one stream.
///
/// The schedule keeps one deadline: `interval` after the last frame of any
/// kind was written. Tell it about every frame with
/// [`on_frame_sent`](KeepAlive::on_frame_sent), arm a timer for
/// [`poll_timeout`](KeepAlive::poll_timeout), and when the timer fires ask
/// [`handle_timeout`](KeepAlive::handle_timeout) whether to send a heartbeat
/// now. A timer that fires late or early is harmless: the answer depends
/// only on the time passed in.
///
/// # Example
///
/// ```
/// use core::time::Duration;
/// use ssekit_codec::KeepAlive;
///
/// let secs = Duration::from_secs;
/// let mut schedule = KeepAlive::new(secs(15));
/// schedule.on_frame_sent(secs(0)); // the stream starts
/// assert_eq!(schedule.poll_timeout(), Some(secs(15)));
///
/// schedule.on_frame_sent(secs(10)); // an event at 10 s pushes it back
/// assert!(!schedule.handle_timeout(secs(15)), "a timer armed for 15 s is now early");
/// assert_eq!(schedule.poll_timeout(), Some(secs(25)));
///
/// assert!(schedule.handle_timeout(secs(25)), "silent since 10 s: send a heartbeat");
/// assert_eq!(schedule.poll_timeout(), Some(secs(40)));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeepAlive {
    /// `None`: heartbeats are off.
    interval: Option<Duration>,
    /// When the next heartbeat is due; `None` before the first frame, when
    /// off, or when the deadline would not fit in a `Duration`.
    due: Option<Duration>,
}

impl KeepAlive {
    /// 15 seconds: well inside the idle timeouts of common proxies and load
    /// balancers (nginx 60 s, many API gateways 29 or 30 s).
    pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(15);

    /// A schedule with one heartbeat after each `interval` of silence.
    /// A zero `interval` turns heartbeats off, like
    /// [`disabled`](KeepAlive::disabled).
    ///
    /// ```
    /// use core::time::Duration;
    /// use ssekit_codec::KeepAlive;
    ///
    /// assert_eq!(KeepAlive::new(Duration::from_secs(5)).interval(), Some(Duration::from_secs(5)));
    /// assert_eq!(KeepAlive::new(Duration::ZERO), KeepAlive::disabled());
    /// ```
    pub const fn new(interval: Duration) -> KeepAlive {
        KeepAlive {
            interval: if interval.is_zero() {
                None
            } else {
                Some(interval)
            },
            due: None,
        }
    }

    /// A schedule that never asks for a heartbeat.
    ///
    /// ```
    /// use core::time::Duration;
    /// use ssekit_codec::KeepAlive;
    ///
    /// let mut schedule = KeepAlive::disabled();
    /// schedule.on_frame_sent(Duration::ZERO);
    /// assert_eq!(schedule.poll_timeout(), None);
    /// assert!(!schedule.handle_timeout(Duration::MAX));
    /// ```
    pub const fn disabled() -> KeepAlive {
        KeepAlive {
            interval: None,
            due: None,
        }
    }

    /// The interval of silence after which a heartbeat is due, or `None`
    /// when heartbeats are off.
    pub const fn interval(&self) -> Option<Duration> {
        self.interval
    }

    /// Records that a frame (an event, a comment, a heartbeat) was written
    /// at `now`: the next heartbeat is due one interval later. Call it once
    /// when the stream starts, too; until then nothing is due.
    pub fn on_frame_sent(&mut self, now: Duration) {
        self.due = self.interval.and_then(|interval| now.checked_add(interval));
    }

    /// When the next heartbeat is due, to arm a timer for; `None` when
    /// nothing is due (heartbeats off, or the stream not yet started).
    pub const fn poll_timeout(&self) -> Option<Duration> {
        self.due
    }

    /// Whether a heartbeat is due at `now`. When it is, the schedule
    /// assumes the caller writes it at `now` and moves the deadline one
    /// interval on; when it is not (an event was written since the timer
    /// was armed), nothing changes and [`poll_timeout`](Self::poll_timeout)
    /// gives the later deadline to re-arm for.
    #[must_use = "when this returns true, a heartbeat is due and must be written"]
    pub fn handle_timeout(&mut self, now: Duration) -> bool {
        match self.due {
            Some(due) if due <= now => {
                self.on_frame_sent(now);
                true
            }
            _ => false,
        }
    }
}

impl Default for KeepAlive {
    /// A schedule with [`DEFAULT_INTERVAL`](KeepAlive::DEFAULT_INTERVAL).
    fn default() -> KeepAlive {
        KeepAlive::new(KeepAlive::DEFAULT_INTERVAL)
    }
}

/// The heartbeat frame: one comment line and a blank line, which a client
/// ignores.
///
/// The comment is written right after the `:`, as with
/// [`EventRef::comment`](crate::EventRef::comment), so the default
/// `" keep-alive"` gives [`KEEP_ALIVE_FRAME`](crate::KEEP_ALIVE_FRAME).
/// Some proxies hold small writes back until they have a few kilobytes;
/// [`pad_to`](Heartbeat::pad_to) makes the frame at least that long by
/// appending spaces to the comment.
///
/// # Example
///
/// ```
/// use ssekit_codec::{Heartbeat, KEEP_ALIVE_FRAME};
///
/// let mut buf = [0u8; 64];
/// let n = Heartbeat::default().encode_to_slice(&mut buf)?;
/// assert_eq!(&buf[..n], KEEP_ALIVE_FRAME);
///
/// let n = Heartbeat::new(" ping").pad_to(16).encode_to_slice(&mut buf)?;
/// assert_eq!(&buf[..n], b": ping        \n\n");
/// assert_eq!(n, 16);
/// # Ok::<(), ssekit_codec::EncodeError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[must_use = "a Heartbeat does nothing until it is encoded"]
pub struct Heartbeat<'a> {
    comment: &'a [u8],
    pad_to: usize,
}

impl<'a> Heartbeat<'a> {
    /// A heartbeat whose comment line is `:` followed by `comment`. The
    /// comment is checked when the frame is encoded: a CR or LF in it would
    /// end the comment and start a field, so it is refused then.
    pub fn new<T: AsRef<[u8]> + ?Sized>(comment: &'a T) -> Heartbeat<'a> {
        Heartbeat {
            comment: comment.as_ref(),
            pad_to: 0,
        }
    }

    /// The most padding [`pad_to`](Heartbeat::pad_to) takes: 64 KiB.
    pub const MAX_PAD: usize = 64 * 1024;

    /// Makes the frame at least `len` bytes long, padding the comment with
    /// spaces; `len` is capped at [`MAX_PAD`](Heartbeat::MAX_PAD), which is
    /// far more than a proxy buffers. A frame already that long is left as
    /// it is.
    ///
    /// ```
    /// use ssekit_codec::Heartbeat;
    ///
    /// assert_eq!(Heartbeat::new("").pad_to(usize::MAX).encoded_len(), Heartbeat::MAX_PAD);
    /// ```
    pub const fn pad_to(mut self, len: usize) -> Heartbeat<'a> {
        self.pad_to = if len < Heartbeat::MAX_PAD {
            len
        } else {
            Heartbeat::MAX_PAD
        };
        self
    }

    /// The comment, without padding.
    pub const fn comment(&self) -> &'a [u8] {
        self.comment
    }

    /// The frame's length in bytes.
    ///
    /// ```
    /// use ssekit_codec::Heartbeat;
    ///
    /// assert_eq!(Heartbeat::new("").encoded_len(), 3);
    /// assert_eq!(Heartbeat::new("").pad_to(2048).encoded_len(), 2048);
    /// ```
    pub fn encoded_len(&self) -> usize {
        // ':' + comment + "\n\n"
        let plain = self.comment.len().saturating_add(3);
        plain.max(self.pad_to)
    }

    /// Checks the comment: the error the encode methods would return.
    ///
    /// # Errors
    ///
    /// [`EncodeError::InvalidValue`] for a CR or LF in the comment.
    pub fn validate(&self) -> Result<(), EncodeError> {
        check_value(FieldName::Comment, self.comment, false)
    }

    /// Writes the frame at the start of `dst` and returns its length; all
    /// or nothing.
    ///
    /// # Errors
    ///
    /// [`EncodeError::InvalidValue`] for a CR or LF in the comment, and
    /// [`EncodeError::BufferTooSmall`] with the frame's length if `dst` is
    /// shorter. Nothing is written then.
    pub fn encode_to_slice(&self, dst: &mut [u8]) -> Result<usize, EncodeError> {
        self.validate()?;
        let len = self.encoded_len();
        let Some(out) = dst.get_mut(..len) else {
            return Err(EncodeError::BufferTooSmall { required: len });
        };
        let (colon, rest) = out.split_at_mut(1);
        colon[0] = b':';
        let (comment, rest) = rest.split_at_mut(self.comment.len());
        comment.copy_from_slice(self.comment);
        let (padding, end) = rest.split_at_mut(rest.len() - 2);
        padding.fill(b' ');
        end.copy_from_slice(b"\n\n");
        Ok(len)
    }

    /// Encodes the frame into new [`Bytes`](bytes::Bytes), to write to a
    /// stream (or many) each time a heartbeat is due: clones share it.
    ///
    /// ```
    /// use ssekit_codec::Heartbeat;
    ///
    /// assert_eq!(Heartbeat::new(" hb").to_bytes()?, ": hb\n\n");
    /// assert!(Heartbeat::new(" a\nb").to_bytes().is_err());
    /// # Ok::<(), ssekit_codec::EncodeError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`EncodeError::InvalidValue`] for a CR or LF in the comment.
    #[cfg(feature = "bytes")]
    pub fn to_bytes(&self) -> Result<bytes::Bytes, EncodeError> {
        self.validate()?;
        let mut buf = alloc::vec![0u8; self.encoded_len()];
        self.encode_to_slice(&mut buf)?;
        Ok(bytes::Bytes::from(buf))
    }
}

impl Default for Heartbeat<'static> {
    /// The comment `" keep-alive"`, unpadded: the frame
    /// [`KEEP_ALIVE_FRAME`](crate::KEEP_ALIVE_FRAME).
    fn default() -> Heartbeat<'static> {
        Heartbeat::new(" keep-alive")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn nothing_is_due_before_the_stream_starts() {
        let mut schedule = KeepAlive::new(ms(100));
        assert_eq!(schedule.poll_timeout(), None);
        assert!(!schedule.handle_timeout(ms(1_000_000)));
    }

    #[test]
    fn heartbeat_is_due_one_interval_after_the_last_frame() {
        let mut schedule = KeepAlive::new(ms(100));
        schedule.on_frame_sent(ms(0));
        assert!(!schedule.handle_timeout(ms(99)));
        assert!(schedule.handle_timeout(ms(100)));
        assert_eq!(schedule.poll_timeout(), Some(ms(200)));
    }

    #[test]
    fn every_frame_sent_pushes_the_heartbeat_back() {
        let mut schedule = KeepAlive::new(ms(100));
        schedule.on_frame_sent(ms(0));
        for t in [30, 60, 90, 120, 150] {
            schedule.on_frame_sent(ms(t));
            assert!(!schedule.handle_timeout(ms(t + 99)), "at {}", t + 99);
        }
        assert_eq!(schedule.poll_timeout(), Some(ms(250)));
        assert!(schedule.handle_timeout(ms(250)));
    }

    #[test]
    fn a_late_timer_sends_one_heartbeat_and_reschedules_from_now() {
        let mut schedule = KeepAlive::new(ms(100));
        schedule.on_frame_sent(ms(0));
        // The timer fired 350 ms late: one heartbeat, not four.
        assert!(schedule.handle_timeout(ms(450)));
        assert!(!schedule.handle_timeout(ms(450)));
        assert_eq!(schedule.poll_timeout(), Some(ms(550)));
    }

    #[test]
    fn an_early_timer_changes_nothing() {
        let mut schedule = KeepAlive::new(ms(100));
        schedule.on_frame_sent(ms(10));
        assert!(!schedule.handle_timeout(ms(50)));
        assert_eq!(schedule.poll_timeout(), Some(ms(110)));
    }

    #[test]
    fn a_deadline_past_the_end_of_time_is_never_due() {
        let mut schedule = KeepAlive::new(ms(100));
        schedule.on_frame_sent(Duration::MAX);
        assert_eq!(schedule.poll_timeout(), None);
        assert!(!schedule.handle_timeout(Duration::MAX));
    }

    #[test]
    fn zero_interval_is_disabled() {
        let mut schedule = KeepAlive::new(Duration::ZERO);
        schedule.on_frame_sent(ms(0));
        assert_eq!(schedule.interval(), None);
        assert_eq!(schedule.poll_timeout(), None);
        assert!(!schedule.handle_timeout(ms(10)));
    }

    #[test]
    fn default_interval_is_fifteen_seconds() {
        assert_eq!(
            KeepAlive::default().interval(),
            Some(Duration::from_secs(15))
        );
    }

    #[test]
    fn default_heartbeat_is_the_keep_alive_frame() {
        let mut buf = [0u8; 32];
        let n = Heartbeat::default().encode_to_slice(&mut buf).unwrap();
        assert_eq!(&buf[..n], crate::KEEP_ALIVE_FRAME);
    }

    #[test]
    fn padding_makes_the_frame_exactly_that_long_with_spaces() {
        let mut buf = [0u8; 64];
        let n = Heartbeat::new("x")
            .pad_to(10)
            .encode_to_slice(&mut buf)
            .unwrap();
        assert_eq!(&buf[..n], b":x      \n\n");
        // A frame already longer than the padding is not cut.
        let n = Heartbeat::new("long comment")
            .pad_to(4)
            .encode_to_slice(&mut buf)
            .unwrap();
        assert_eq!(&buf[..n], b":long comment\n\n");
    }

    #[test]
    fn a_line_break_in_the_comment_is_refused() {
        let mut buf = [0u8; 64];
        for (comment, offset, byte) in [(&b"a\nb"[..], 1, b'\n'), (b"\rdata: x", 0, b'\r')] {
            assert_eq!(
                Heartbeat::new(comment).encode_to_slice(&mut buf),
                Err(EncodeError::InvalidValue {
                    field: FieldName::Comment,
                    offset,
                    byte
                })
            );
        }
        assert_eq!(buf, [0u8; 64], "nothing written");
    }

    #[test]
    fn a_short_buffer_gets_the_length_needed() {
        let mut buf = [0u8; 8];
        assert_eq!(
            Heartbeat::new(" ping").pad_to(20).encode_to_slice(&mut buf),
            Err(EncodeError::BufferTooSmall { required: 20 })
        );
    }
}
