//! The fan-out contenders of `benches/hub.rs`, shared with
//! `examples/profile_hub.rs` (instruction counts) and `tests/hub_alloc.rs`
//! (allocation counts), so that all three measure the same code.
//!
//! A round publishes [`EVENTS_PER_ROUND`] events of [`DATA_LEN`] bytes of
//! data to every subscriber of one topic, then drains every subscriber in
//! turn until it has nothing more (`Poll::Pending` or `Empty`), handing each
//! frame to a [`Sink`]. Every contender encodes each event once per round
//! into one `Bytes` frame, `id: <epoch>-<seq>\n` then the event, and hands
//! every subscriber a clone of it:
//!
//! - [`Kind::Hub`]: `Hub::publish`, then each `Subscription` polled with
//!   `Stream::poll_next`;
//! - [`Kind::Broadcast`]: one `tokio::sync::broadcast` channel (capacity
//!   one round) with a receiver per subscriber;
//! - [`Kind::Mpsc`]: one bounded `tokio::sync::mpsc` channel per subscriber
//!   (capacity one round), the frame sent to each.
//!
//! With [`Wakeups::Noop`] the subscribers are polled with a no-op waker
//! (broadcast and mpsc with `try_recv`, which registers nothing); with
//! [`Wakeups::Counted`] each subscriber has a waker of its own that counts
//! its wake-ups (broadcast through `Receiver::recv` futures kept in a
//! `ReusableBoxFuture`, as tokio-stream's `BroadcastStream` does; mpsc
//! through `poll_recv`), so a round includes registering every waker and
//! waking every subscriber once; the count is checked after each round.

// Each user takes a different part of this module.
#![allow(dead_code)]

use core::fmt::Write as _;
use core::pin::Pin;
use core::sync::atomic::{AtomicU64, Ordering};
use core::task::{Context, Poll, Waker};
use std::sync::Arc;
use std::task::Wake;

use bytes::{Bytes, BytesMut};
use futures::Stream;
use ssekit::adapters::hub::{Hub, HubConfig, Subscription};
use ssekit::Event;
use tokio::sync::broadcast::{self, error::RecvError, error::TryRecvError};
use tokio::sync::mpsc;
use tokio_util::sync::ReusableBoxFuture;

/// Events published per round.
pub(crate) const EVENTS_PER_ROUND: usize = 64;

/// Bytes of `data` per event.
pub(crate) const DATA_LEN: usize = 60;

/// The topic every subscriber is on.
pub(crate) const TOPIC: &str = "prices";

/// The epoch of the frames the channel contenders build (the hub draws its
/// own, about as long).
const EPOCH: u64 = 1_099_511_627_775;

/// Which fan-out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Hub,
    Broadcast,
    Mpsc,
}

/// How the subscribers are polled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wakeups {
    /// A no-op waker (the hub still registers it).
    Noop,
    /// A waker per subscriber that counts its wake-ups.
    Counted,
}

/// Every contender, in the order reports list them.
pub(crate) const CONTENDERS: [(Kind, Wakeups); 6] = [
    (Kind::Hub, Wakeups::Noop),
    (Kind::Broadcast, Wakeups::Noop),
    (Kind::Mpsc, Wakeups::Noop),
    (Kind::Hub, Wakeups::Counted),
    (Kind::Broadcast, Wakeups::Counted),
    (Kind::Mpsc, Wakeups::Counted),
];

/// A contender's name: `hub`, `broadcast_woken`, ...
pub(crate) fn name(kind: Kind, wakeups: Wakeups) -> &'static str {
    match (kind, wakeups) {
        (Kind::Hub, Wakeups::Noop) => "hub",
        (Kind::Broadcast, Wakeups::Noop) => "broadcast",
        (Kind::Mpsc, Wakeups::Noop) => "mpsc",
        (Kind::Hub, Wakeups::Counted) => "hub_woken",
        (Kind::Broadcast, Wakeups::Counted) => "broadcast_woken",
        (Kind::Mpsc, Wakeups::Counted) => "mpsc_woken",
    }
}

/// The contender named `name`.
pub(crate) fn parse(name: &str) -> Option<(Kind, Wakeups)> {
    CONTENDERS
        .into_iter()
        .find(|&(k, w)| self::name(k, w) == name)
}

/// The events of a round: 60 bytes of one-line JSON each.
pub(crate) fn events() -> Vec<Event> {
    (0..EVENTS_PER_ROUND)
        .map(|i| {
            let mut data = format!("{{\"symbol\":\"SSE{i:02}\",\"price\":{},\"qty\":", 100 + i);
            while data.len() < DATA_LEN - 1 {
                data.push('7');
            }
            data.push('}');
            assert_eq!(data.len(), DATA_LEN);
            Event::new(data)
        })
        .collect()
}

/// The frame of `event` with ID `<epoch>-<seq>`, built as the hub builds
/// its own: one buffer with room for the longest ID line.
pub(crate) fn frame(epoch: u64, seq: u64, event: &Event) -> Bytes {
    let mut frame = BytesMut::with_capacity(event.encoded_len() + 46);
    writeln!(frame, "id: {epoch}-{seq}").expect("a BytesMut grows");
    event.encode(&mut frame);
    frame.freeze()
}

/// Where a round's frames go, subscriber by subscriber.
pub(crate) trait Sink {
    /// The frames of subscriber `index` follow.
    fn begin(&mut self, index: usize);
    fn frame(&mut self, frame: Bytes);
    /// Subscriber `index` has nothing more.
    fn end(&mut self, index: usize);
}

/// Counts frames and bytes, and asserts that every subscriber got a whole
/// round, the same bytes as the first one.
#[derive(Debug, Default)]
pub(crate) struct Count {
    pub(crate) frames: usize,
    pub(crate) bytes: usize,
    first_bytes: usize,
    sub_frames: usize,
    sub_bytes: usize,
}

impl Sink for Count {
    fn begin(&mut self, _: usize) {
        self.sub_frames = 0;
        self.sub_bytes = 0;
    }

    fn frame(&mut self, frame: Bytes) {
        self.sub_frames += 1;
        self.sub_bytes += core::hint::black_box(&frame).len();
    }

    fn end(&mut self, index: usize) {
        assert_eq!(
            self.sub_frames, EVENTS_PER_ROUND,
            "subscriber {index}: frames"
        );
        if index == 0 {
            self.first_bytes = self.sub_bytes;
        }
        assert_eq!(
            self.sub_bytes, self.first_bytes,
            "subscriber {index}: bytes"
        );
        self.frames += self.sub_frames;
        self.bytes += self.sub_bytes;
    }
}

/// Keeps every frame, per subscriber, for checking.
#[derive(Debug, Default)]
pub(crate) struct Collect {
    pub(crate) frames: Vec<Vec<Bytes>>,
}

impl Sink for Collect {
    fn begin(&mut self, index: usize) {
        assert_eq!(index, self.frames.len());
        self.frames.push(Vec::new());
    }

    fn frame(&mut self, frame: Bytes) {
        self.frames.last_mut().expect("begun").push(frame);
    }

    fn end(&mut self, _: usize) {}
}

/// Counts the wake-ups of one subscriber.
#[derive(Debug, Default)]
struct WakeCount(AtomicU64);

impl Wake for WakeCount {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

/// The subscribers' wakers, and the rounds they were checked for.
struct Wakers {
    wakers: Vec<Waker>,
    counts: Vec<Arc<WakeCount>>,
    rounds: u64,
}

impl Wakers {
    fn new(n: usize, wakeups: Wakeups) -> Wakers {
        let counts: Vec<Arc<WakeCount>> = match wakeups {
            Wakeups::Noop => Vec::new(),
            Wakeups::Counted => (0..n).map(|_| Arc::default()).collect(),
        };
        let wakers = match wakeups {
            Wakeups::Noop => vec![futures::task::noop_waker(); n],
            Wakeups::Counted => counts.iter().map(|c| Waker::from(Arc::clone(c))).collect(),
        };
        Wakers {
            wakers,
            counts,
            rounds: 0,
        }
    }

    /// After a round: every counted subscriber was woken once in it (each
    /// waited, registered, from the end of the last one).
    fn after_round(&mut self) {
        self.rounds += 1;
        for (i, count) in self.counts.iter().enumerate() {
            assert_eq!(
                count.0.load(Ordering::Relaxed),
                self.rounds,
                "subscriber {i}: one wake-up per round"
            );
        }
    }
}

/// Polls `poll` with `waker` until it is pending, handing each frame to
/// `sink` as subscriber `index`.
fn drain_one(
    index: usize,
    waker: &Waker,
    sink: &mut impl Sink,
    mut poll: impl FnMut(&mut Context<'_>) -> Poll<Bytes>,
) {
    let mut cx = Context::from_waker(waker);
    sink.begin(index);
    while let Poll::Ready(frame) = poll(&mut cx) {
        sink.frame(frame);
    }
    sink.end(index);
}

/// A receiver's next frame, waited for as tokio-stream's `BroadcastStream`
/// waits: a `recv` future that owns the receiver, in a reused box.
type RecvFuture =
    ReusableBoxFuture<'static, (Result<Bytes, RecvError>, broadcast::Receiver<Bytes>)>;

async fn recv(
    mut rx: broadcast::Receiver<Bytes>,
) -> (Result<Bytes, RecvError>, broadcast::Receiver<Bytes>) {
    (rx.recv().await, rx)
}

enum Subscribers {
    Hub(Hub, Vec<Subscription>),
    Broadcast(broadcast::Sender<Bytes>, Vec<broadcast::Receiver<Bytes>>),
    BroadcastWoken(broadcast::Sender<Bytes>, Vec<RecvFuture>),
    Mpsc(Vec<mpsc::Sender<Bytes>>, Vec<mpsc::Receiver<Bytes>>),
}

/// One contender, its subscribers made and waiting.
pub(crate) struct FanOut {
    subscribers: Subscribers,
    wakers: Wakers,
    events: Vec<Event>,
    epoch: u64,
    next_seq: u64,
}

impl FanOut {
    /// `n` subscribers on one topic, each polled once (so that each waits,
    /// its waker registered). The hub's replay window is filled first
    /// (`HubConfig::default()`: 1,000 events), before anyone subscribes, so
    /// that it no longer grows while measured.
    pub(crate) fn new(kind: Kind, wakeups: Wakeups, n: usize) -> FanOut {
        let events = events();
        let mut epoch = EPOCH;
        let mut next_seq = 0;
        let subscribers = match (kind, wakeups) {
            (Kind::Hub, _) => {
                let hub = Hub::new(HubConfig::default());
                for event in events.iter().cycle().take(hub.config().replay_events) {
                    let position = hub.publish(TOPIC, event).expect("publish");
                    (epoch, next_seq) = (position.major, position.minor + 1);
                }
                let subs = (0..n)
                    .map(|_| hub.subscribe(TOPIC, None).expect("under the limits"))
                    .collect();
                Subscribers::Hub(hub, subs)
            }
            (Kind::Broadcast, Wakeups::Noop) => {
                let (tx, rx) = broadcast::channel(EVENTS_PER_ROUND);
                let rxs = (0..n).map(|_| rx.resubscribe()).collect();
                Subscribers::Broadcast(tx, rxs)
            }
            (Kind::Broadcast, Wakeups::Counted) => {
                let (tx, rx) = broadcast::channel(EVENTS_PER_ROUND);
                let futs = (0..n)
                    .map(|_| ReusableBoxFuture::new(recv(rx.resubscribe())))
                    .collect();
                Subscribers::BroadcastWoken(tx, futs)
            }
            (Kind::Mpsc, _) => {
                let (txs, rxs) = (0..n).map(|_| mpsc::channel(EVENTS_PER_ROUND)).unzip();
                Subscribers::Mpsc(txs, rxs)
            }
        };
        let mut fanout = FanOut {
            subscribers,
            wakers: Wakers::new(n, wakeups),
            events,
            epoch,
            next_seq,
        };
        fanout.drain(&mut Collect::default());
        fanout
    }

    /// The frames the next round must deliver to each subscriber.
    pub(crate) fn expected(&self) -> Vec<Bytes> {
        (self.next_seq..)
            .zip(&self.events)
            .map(|(seq, event)| frame(self.epoch, seq, event))
            .collect()
    }

    /// Publishes a round of events, then drains every subscriber into
    /// `sink`.
    pub(crate) fn round(&mut self, sink: &mut impl Sink) {
        let (epoch, first) = (self.epoch, self.next_seq);
        let frames = (first..).zip(&self.events);
        match &mut self.subscribers {
            Subscribers::Hub(hub, _) => {
                for event in &self.events {
                    hub.publish(TOPIC, event).expect("publish");
                }
            }
            Subscribers::Broadcast(tx, _) | Subscribers::BroadcastWoken(tx, _) => {
                for (seq, event) in frames {
                    tx.send(frame(epoch, seq, event)).expect("receivers");
                }
            }
            Subscribers::Mpsc(txs, _) => {
                for (seq, event) in frames {
                    let frame = frame(epoch, seq, event);
                    for tx in txs.iter() {
                        tx.try_send(frame.clone()).expect("room for a round");
                    }
                }
            }
        }
        self.next_seq += EVENTS_PER_ROUND as u64;
        self.drain(sink);
        self.wakers.after_round();
    }

    /// Drains every subscriber until it waits.
    fn drain(&mut self, sink: &mut impl Sink) {
        let wakers = &self.wakers.wakers;
        match &mut self.subscribers {
            Subscribers::Hub(_, subs) => {
                for (i, (sub, waker)) in subs.iter_mut().zip(wakers).enumerate() {
                    drain_one(i, waker, sink, |cx| {
                        match Pin::new(&mut *sub).poll_next(cx) {
                            Poll::Ready(Some(frame)) => Poll::Ready(frame),
                            Poll::Ready(None) => panic!("subscriber {i} ended"),
                            Poll::Pending => Poll::Pending,
                        }
                    });
                }
            }
            Subscribers::Broadcast(_, rxs) => {
                for (i, (rx, waker)) in rxs.iter_mut().zip(wakers).enumerate() {
                    drain_one(i, waker, sink, |_| match rx.try_recv() {
                        Ok(frame) => Poll::Ready(frame),
                        Err(TryRecvError::Empty) => Poll::Pending,
                        Err(e) => panic!("subscriber {i}: {e}"),
                    });
                }
            }
            Subscribers::BroadcastWoken(_, futs) => {
                for (i, (fut, waker)) in futs.iter_mut().zip(wakers).enumerate() {
                    drain_one(i, waker, sink, |cx| match fut.poll(cx) {
                        Poll::Ready((Ok(frame), rx)) => {
                            fut.set(recv(rx));
                            Poll::Ready(frame)
                        }
                        Poll::Ready((Err(e), _)) => panic!("subscriber {i}: {e}"),
                        Poll::Pending => Poll::Pending,
                    });
                }
            }
            Subscribers::Mpsc(_, rxs) => {
                let counted = !self.wakers.counts.is_empty();
                for (i, (rx, waker)) in rxs.iter_mut().zip(wakers).enumerate() {
                    drain_one(i, waker, sink, |cx| {
                        let next = if counted {
                            rx.poll_recv(cx)
                        } else {
                            match rx.try_recv() {
                                Err(mpsc::error::TryRecvError::Empty) => Poll::Pending,
                                next => Poll::Ready(next.ok()),
                            }
                        };
                        next.map(|frame| frame.unwrap_or_else(|| panic!("subscriber {i}: closed")))
                    });
                }
            }
        }
    }
}
