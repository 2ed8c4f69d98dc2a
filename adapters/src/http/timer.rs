//! The runtime half of the keep-alive: a tokio timer armed from the codec's
//! [`KeepAlive`](ssekit_codec::KeepAlive) schedule. Without the `tokio`
//! feature there is no timer and no heartbeat.

#[cfg(feature = "tokio")]
pub(crate) use with_tokio::Timer;
#[cfg(not(feature = "tokio"))]
pub(crate) use without_timer::Timer;

#[cfg(feature = "tokio")]
mod with_tokio {
    use core::future::Future;
    use core::pin::Pin;
    use core::task::{ready, Context, Poll};
    use core::time::Duration;
    use std::boxed::Box;

    use bytes::Bytes;
    use ssekit_codec::{KeepAlive, KEEP_ALIVE_FRAME};
    use tokio::time::{Instant, Sleep};

    /// Heartbeats for one body.
    ///
    /// The timer is created on the first wait (so a body can be built, and
    /// streamed, outside a runtime), and boxed, so that the body stays
    /// `Unpin` whatever the features. It is re-armed only when it fires,
    /// and the clock is read once per burst of frames: a frame written
    /// sets `sent`, and the time is recorded in the schedule when the
    /// stream next waits, which the body reaches right after the burst.
    /// The deadline may thus move by the time one burst takes, never more.
    pub(crate) struct Timer {
        schedule: KeepAlive,
        frame: Bytes,
        sent: bool,
        running: Option<(Instant, Pin<Box<Sleep>>)>,
    }

    impl Timer {
        pub(crate) fn new() -> Timer {
            Timer {
                schedule: KeepAlive::default(),
                frame: Bytes::from_static(KEEP_ALIVE_FRAME),
                sent: false,
                running: None,
            }
        }

        pub(crate) fn set_interval(&mut self, interval: Duration) {
            self.schedule = KeepAlive::new(interval);
            self.running = None;
        }

        pub(crate) fn set_frame(&mut self, frame: Bytes) {
            self.frame = frame;
        }

        pub(crate) fn on_frame_sent(&mut self) {
            self.sent = true;
        }

        /// Call when the stream waits: ready with the heartbeat frame when
        /// one is due; otherwise the timer is armed for the next deadline
        /// and this is pending.
        pub(crate) fn poll_heartbeat(&mut self, cx: &mut Context<'_>) -> Poll<Bytes> {
            if self.schedule.interval().is_none() {
                return Poll::Pending;
            }
            loop {
                let Some((origin, sleep)) = &mut self.running else {
                    // A timer needs a runtime; a body polled elsewhere
                    // sends no heartbeats.
                    if tokio::runtime::Handle::try_current().is_err() {
                        return Poll::Pending;
                    }
                    let origin = Instant::now();
                    self.sent = false;
                    self.schedule.on_frame_sent(Duration::ZERO);
                    let Some(deadline) = deadline(origin, &self.schedule) else {
                        return Poll::Pending;
                    };
                    self.running = Some((origin, Box::pin(tokio::time::sleep_until(deadline))));
                    continue;
                };
                let origin = *origin;
                if core::mem::take(&mut self.sent) {
                    self.schedule.on_frame_sent(origin.elapsed());
                }
                ready!(sleep.as_mut().poll(cx));
                let fired = self.schedule.handle_timeout(origin.elapsed());
                let Some(deadline) = deadline(origin, &self.schedule) else {
                    // The next deadline is past the end of time.
                    return Poll::Pending;
                };
                sleep.as_mut().reset(deadline);
                if fired {
                    return Poll::Ready(self.frame.clone());
                }
                // A frame was written since the timer was armed: the timer
                // now waits for the later deadline.
            }
        }
    }

    /// The schedule's next deadline as an instant, if it has one that an
    /// `Instant` can hold.
    fn deadline(origin: Instant, schedule: &KeepAlive) -> Option<Instant> {
        origin.checked_add(schedule.poll_timeout()?)
    }

    impl core::fmt::Debug for Timer {
        fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
            f.debug_struct("Timer")
                .field("schedule", &self.schedule)
                .field("frame", &self.frame)
                .field("running", &self.running.is_some())
                .finish_non_exhaustive()
        }
    }
}

#[cfg(not(feature = "tokio"))]
mod without_timer {
    use core::task::{Context, Poll};

    use bytes::Bytes;

    /// No timer: heartbeats need the `tokio` feature.
    #[derive(Debug)]
    pub(crate) struct Timer;

    impl Timer {
        pub(crate) fn new() -> Timer {
            Timer
        }

        pub(crate) fn on_frame_sent(&mut self) {}

        pub(crate) fn poll_heartbeat(&mut self, _: &mut Context<'_>) -> Poll<Bytes> {
            Poll::Pending
        }
    }
}
