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

    use bytes::Bytes;
    use pin_project_lite::pin_project;
    use ssekit_codec::{KeepAlive, KEEP_ALIVE_FRAME};
    use tokio::time::{Instant, Sleep};

    pin_project! {
        #[project = SlotProj]
        enum Slot {
            // Not polled yet: no clock has been read and no timer exists, so
            // a body can be built outside a runtime.
            Idle,
            Running {
                origin: Instant,
                #[pin]
                sleep: Sleep,
            },
        }
    }

    pin_project! {
        /// Heartbeats for one body. The timer is re-armed only when it
        /// fires, and the clock is read once per burst of frames: a frame
        /// written sets `sent`, and the time is recorded in the schedule
        /// when the stream next waits, which the body reaches right after
        /// the burst. The deadline may thus move by the time one burst
        /// takes, never by more.
        pub(crate) struct Timer {
            schedule: KeepAlive,
            frame: Bytes,
            sent: bool,
            #[pin]
            slot: Slot,
        }
    }

    impl Timer {
        pub(crate) fn new() -> Timer {
            Timer {
                schedule: KeepAlive::default(),
                frame: Bytes::from_static(KEEP_ALIVE_FRAME),
                sent: false,
                slot: Slot::Idle,
            }
        }

        pub(crate) fn set_interval(&mut self, interval: Duration) {
            self.schedule = KeepAlive::new(interval);
        }

        pub(crate) fn set_frame(&mut self, frame: Bytes) {
            self.frame = frame;
        }

        pub(crate) fn on_frame_sent(self: Pin<&mut Self>) {
            *self.project().sent = true;
        }

        /// Call when the stream waits: ready with the heartbeat frame when
        /// one is due; otherwise the timer is armed for the next deadline
        /// and this is pending.
        pub(crate) fn poll_heartbeat(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Bytes> {
            let mut this = self.project();
            if this.schedule.interval().is_none() {
                return Poll::Pending;
            }
            loop {
                match this.slot.as_mut().project() {
                    SlotProj::Idle => {
                        // A timer needs a runtime with the time driver; a
                        // body polled elsewhere sends no heartbeats.
                        if tokio::runtime::Handle::try_current().is_err() {
                            return Poll::Pending;
                        }
                        let origin = Instant::now();
                        *this.sent = false;
                        this.schedule.on_frame_sent(Duration::ZERO);
                        let Some(due) = this.schedule.poll_timeout() else {
                            return Poll::Pending;
                        };
                        let sleep = tokio::time::sleep_until(origin + due);
                        this.slot.set(Slot::Running { origin, sleep });
                    }
                    SlotProj::Running { origin, mut sleep } => {
                        let origin = *origin;
                        if core::mem::take(this.sent) {
                            this.schedule.on_frame_sent(origin.elapsed());
                        }
                        ready!(sleep.as_mut().poll(cx));
                        let fired = this.schedule.handle_timeout(origin.elapsed());
                        let Some(due) = this.schedule.poll_timeout() else {
                            // The next deadline is past the end of time.
                            return Poll::Pending;
                        };
                        sleep.reset(origin + due);
                        if fired {
                            return Poll::Ready(this.frame.clone());
                        }
                        // An event was written since the timer was armed:
                        // the timer now waits for the later deadline.
                    }
                }
            }
        }
    }

    impl core::fmt::Debug for Timer {
        fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
            f.debug_struct("Timer")
                .field("schedule", &self.schedule)
                .field("frame", &self.frame)
                .finish_non_exhaustive()
        }
    }
}

#[cfg(not(feature = "tokio"))]
mod without_timer {
    use core::pin::Pin;
    use core::task::{Context, Poll};

    use bytes::Bytes;

    /// No timer: heartbeats need the `tokio` feature.
    #[derive(Debug)]
    pub(crate) struct Timer;

    impl Timer {
        pub(crate) fn new() -> Timer {
            Timer
        }

        pub(crate) fn on_frame_sent(self: Pin<&mut Self>) {}

        pub(crate) fn poll_heartbeat(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Bytes> {
            Poll::Pending
        }
    }
}
