//! Allocations made by the server side (`ssekit::adapters::http`), counted
//! by a global allocator in this test binary of its own, and the memory an
//! idle open stream holds.
//!
//! Counting is per thread and only inside `measure`, so tests may run in
//! parallel, and the harness's threads (and a runtime's other threads) do not
//! disturb the counts. Every body runs on a tokio current-thread runtime,
//! driven by `block_on` on the test's own thread; the runtime is warmed up
//! with one untimed pass first, so that its one-time set-up is not counted.
//!
//! Measured and asserted:
//! - a body over pre-encoded `Bytes` frames: no allocation per event (the
//!   whole pass costs the same for 1 000 and 10 000 events, and at most a
//!   small constant);
//! - a body over owned single-line `Event`s: at most 1 allocation per event,
//!   the frame;
//! - `channel`: at most 1 allocation per event on the send side, plus
//!   tokio's channel blocks (one per 32 slots, reused once the body has read
//!   them): at most 1.1 per event; reading costs nothing per event;
//! - an idle open stream (`channel(16)`, keep-alive on, polled once so its
//!   timer is armed): the bytes it allocates, plus the size of the body
//!   itself, must stay under 4 KiB.
//!
//! In every test the event stream is pending once before its first event,
//! so that the body arms its keep-alive timer (it does only when its stream
//! waits) and the events are written with the timer running, as on a live
//! stream. Run with `--nocapture` to see the numbers.
#![cfg(not(miri))]
// A global allocator needs `unsafe impl`; every unsafe block below only
// forwards to the system allocator with the caller's own arguments.
#![allow(unsafe_code)]

use core::alloc::{GlobalAlloc, Layout};
use core::cell::Cell;
use core::pin::{pin, Pin};
use core::task::{Context, Poll};
use core::time::Duration;
use std::alloc::System;

use bytes::Bytes;
use futures::Stream;
use http_body::Body;
use http_body_util::BodyExt;
use ssekit::adapters::http::{channel, Receiver, Sender, SseBody};
use ssekit::{Event, KEEP_ALIVE_FRAME};

struct Counting;

thread_local! {
    static ACTIVE: Cell<bool> = const { Cell::new(false) };
    static ALLOCS: Cell<u64> = const { Cell::new(0) };
    static REALLOCS: Cell<u64> = const { Cell::new(0) };
    static ALLOCATED: Cell<u64> = const { Cell::new(0) };
    static FREED: Cell<u64> = const { Cell::new(0) };
}

impl Counting {
    fn active() -> bool {
        // `try_with`: the thread may be tearing down its locals.
        ACTIVE.try_with(Cell::get).unwrap_or(false)
    }

    fn add(counter: &'static std::thread::LocalKey<Cell<u64>>, n: u64) {
        let _ = counter.try_with(|c| c.set(c.get() + n));
    }

    fn record_alloc(size: usize) {
        if Counting::active() {
            Counting::add(&ALLOCS, 1);
            Counting::add(&ALLOCATED, size as u64);
        }
    }

    fn record_realloc(old: usize, new: usize) {
        if Counting::active() {
            Counting::add(&REALLOCS, 1);
            if new >= old {
                Counting::add(&ALLOCATED, (new - old) as u64);
            } else {
                Counting::add(&FREED, (old - new) as u64);
            }
        }
    }

    fn record_free(size: usize) {
        if Counting::active() {
            Counting::add(&FREED, size as u64);
        }
    }
}

// SAFETY: every method forwards to `System` with unchanged arguments, so the
// `GlobalAlloc` contract is the system allocator's; counting touches only
// const-initialised thread locals, which never allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        Counting::record_alloc(layout.size());
        // SAFETY: forwarded with the caller's layout, as required.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        Counting::record_alloc(layout.size());
        // SAFETY: forwarded with the caller's layout, as required.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        Counting::record_free(layout.size());
        // SAFETY: `ptr` was allocated by `System` with `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        Counting::record_realloc(layout.size(), new_size);
        // SAFETY: `ptr` was allocated by `System` with `layout`, and the
        // caller upholds `realloc`'s contract for `new_size`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocator calls, and bytes, of one measured closure on this thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Counts {
    allocs: u64,
    reallocs: u64,
    /// Bytes allocated (a realloc counts its growth).
    allocated: u64,
    /// Bytes freed (a realloc counts its shrinking).
    freed: u64,
}

impl Counts {
    fn total(self) -> u64 {
        self.allocs + self.reallocs
    }

    /// Bytes still allocated when the closure returned.
    fn live(self) -> i64 {
        self.allocated as i64 - self.freed as i64
    }
}

fn measure<R>(f: impl FnOnce() -> R) -> (R, Counts) {
    for counter in [&ALLOCS, &REALLOCS, &ALLOCATED, &FREED] {
        counter.with(|c| c.set(0));
    }
    ACTIVE.with(|a| a.set(true));
    let result = f();
    ACTIVE.with(|a| a.set(false));
    let counts = Counts {
        allocs: ALLOCS.with(Cell::get),
        reallocs: REALLOCS.with(Cell::get),
        allocated: ALLOCATED.with(Cell::get),
        freed: FREED.with(Cell::get),
    };
    (result, counts)
}

/// A current-thread runtime with the time driver, as a server's body needs
/// for its heartbeats.
fn runtime(paused: bool) -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(paused)
        .build()
        .expect("a current-thread runtime")
}

/// A stream that is pending once (and wakes itself at once) before its
/// first item, so that the body arms its keep-alive timer.
struct PendingFirst<S> {
    inner: S,
    started: bool,
}

fn pending_first<S>(inner: S) -> PendingFirst<S> {
    PendingFirst {
        inner,
        started: false,
    }
}

impl<S: Stream + Unpin> Stream for PendingFirst<S> {
    type Item = S::Item;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        if !self.started {
            self.started = true;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        Pin::new(&mut self.inner).poll_next(cx)
    }
}

/// What a drained body wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Drained {
    frames: usize,
    bytes: usize,
}

/// Polls `body` to its end with `BodyExt::frame`, counting data frames and
/// their bytes; the frames are dropped at once, as a server writes them.
async fn drain<B>(body: B) -> Drained
where
    B: Body<Data = Bytes>,
    B::Error: core::fmt::Debug,
{
    let mut body = pin!(body);
    let mut out = Drained {
        frames: 0,
        bytes: 0,
    };
    while let Some(frame) = body.frame().await {
        let data = frame
            .expect("these bodies never fail")
            .into_data()
            .expect("an SSE body sends no trailers");
        out.frames += 1;
        out.bytes += data.len();
    }
    out
}

/// The keep-alive settings every body is measured with: off, and the
/// default (15 s).
const KEEP_ALIVES: [Option<Duration>; 2] = [Some(Duration::ZERO), None];

fn with_keep_alive<S>(body: SseBody<S>, keep_alive: Option<Duration>) -> SseBody<S> {
    match keep_alive {
        Some(interval) => body.keep_alive(interval),
        None => body, // the default
    }
}

fn label(keep_alive: Option<Duration>) -> &'static str {
    match keep_alive {
        Some(Duration::ZERO) => "keep-alive off",
        Some(_) => "keep-alive set",
        None => "keep-alive 15 s (default)",
    }
}

/// A single-line event of about 100 bytes, like an LLM token chunk.
fn event(i: usize) -> Event {
    Event::new(format!(
        "{{\"id\":\"chatcmpl-{i}\",\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\" token {i}\"}}}}]}}"
    ))
}

const FEW: usize = 1_000;
const MANY: usize = 10_000;

/// The most a whole pass may cost on top of its per-event allocations:
/// nothing is expected (the body, its timer and the stream live inline),
/// but leave room for a runtime that allocates once per `block_on`.
const SETUP: u64 = 4;

/// Creating an `SseBody` over `n` clones of a few pre-encoded frames and
/// draining it, measured as a whole.
fn frames_pass(
    rt: &tokio::runtime::Runtime,
    frames: &[Bytes],
    n: usize,
    keep_alive: Option<Duration>,
) -> (Drained, Counts) {
    let stream = futures::stream::iter(frames.iter().cycle().take(n).cloned());
    measure(|| {
        rt.block_on(async {
            let body = with_keep_alive(SseBody::new(pending_first(stream)), keep_alive);
            drain(body).await
        })
    })
}

#[test]
fn pre_encoded_frames_cost_nothing_per_event() {
    let rt = runtime(false);
    let frames: Vec<Bytes> = (0..4).map(|i| event(i).to_bytes()).collect();
    // The first clone of a `Bytes` made from a `Vec` shares its storage,
    // with one allocation; later clones cost nothing. Do it here.
    drop(frames.clone());
    let per_cycle: usize = frames.iter().map(Bytes::len).sum();
    for keep_alive in KEEP_ALIVES {
        let what = label(keep_alive);
        frames_pass(&rt, &frames, FEW, keep_alive); // warm-up
        let (few, few_counts) = frames_pass(&rt, &frames, FEW, keep_alive);
        let (many, many_counts) = frames_pass(&rt, &frames, MANY, keep_alive);
        for (drained, n) in [(few, FEW), (many, MANY)] {
            assert_eq!(drained.frames, n, "{what}: one frame per item");
            assert_eq!(drained.bytes, per_cycle * n / frames.len(), "{what}");
        }
        println!(
            "pre-encoded frames, {what}: {FEW} events {few_counts:?}, {MANY} events {many_counts:?}"
        );
        assert_eq!(
            many_counts.total(),
            few_counts.total(),
            "{what}: a pass over {MANY} frames allocates more than one over {FEW}: \
             frames must pass through without an allocation each"
        );
        assert!(
            many_counts.total() <= SETUP,
            "{what}: {} allocations for a whole pass, more than the set-up bound {SETUP}",
            many_counts.total()
        );
    }
}

/// Creating an `SseBody` over owned events and draining it, measured as a
/// whole; the events are built beforehand.
fn events_pass(
    rt: &tokio::runtime::Runtime,
    events: Vec<Event>,
    keep_alive: Option<Duration>,
) -> (Drained, Counts) {
    let stream = futures::stream::iter(events);
    measure(|| {
        rt.block_on(async {
            let body = with_keep_alive(SseBody::new(pending_first(stream)), keep_alive);
            drain(body).await
        })
    })
}

#[test]
fn owned_events_cost_one_allocation_per_event() {
    let rt = runtime(false);
    let events: Vec<Event> = (0..MANY).map(event).collect();
    assert!(events.iter().all(|e| e.data_lines().len() == 1));
    let len = |n: usize| -> usize { events[..n].iter().map(Event::encoded_len).sum() };
    for keep_alive in KEEP_ALIVES {
        let what = label(keep_alive);
        events_pass(&rt, events[..FEW].to_vec(), keep_alive); // warm-up
        let (few, few_counts) = events_pass(&rt, events[..FEW].to_vec(), keep_alive);
        let (many, many_counts) = events_pass(&rt, events.clone(), keep_alive);
        assert_eq!(
            few,
            Drained {
                frames: FEW,
                bytes: len(FEW)
            },
            "{what}"
        );
        assert_eq!(
            many,
            Drained {
                frames: MANY,
                bytes: len(MANY)
            },
            "{what}"
        );
        let marginal = (many_counts.total() - few_counts.total()) as f64 / (MANY - FEW) as f64;
        println!(
            "owned events, {what}: {FEW} events {few_counts:?}, {MANY} events {many_counts:?}: \
             {marginal:.4} per event"
        );
        assert!(
            marginal <= 1.0,
            "{what}: {marginal:.4} allocations per event; the frame is the only one allowed"
        );
        assert!(
            many_counts.total() <= MANY as u64 + SETUP,
            "{what}: {} allocations for {MANY} events",
            many_counts.total()
        );
    }
}

/// Sends `events` into a fresh `channel` with room for them all, measuring
/// the sends alone; then drains the body, measuring that alone. The body is
/// polled once first, while the channel is empty, as a server polls it before
/// the producer sends: its keep-alive timer is armed.
fn channel_send_then_drain(
    rt: &tokio::runtime::Runtime,
    events: Vec<Event>,
) -> (Counts, Drained, Counts) {
    let n = events.len();
    let (tx, body) = channel(n);
    let mut body = Box::pin(body);
    rt.block_on(futures::future::poll_fn(|cx| {
        assert!(
            body.as_mut().poll_frame(cx).is_pending(),
            "nothing sent yet"
        );
        Poll::Ready(())
    }));
    let ((), sent) = measure(|| {
        rt.block_on(async {
            for event in events {
                tx.send(event).await.expect("the body is alive");
            }
        })
    });
    drop(tx);
    let (drained, read) = measure(|| rt.block_on(drain(body)));
    (sent, drained, read)
}

/// A producer and the body it feeds through `channel(capacity)`, run
/// together on one thread, measured as a whole.
fn channel_live(
    rt: &tokio::runtime::Runtime,
    events: Vec<Event>,
    capacity: usize,
) -> (Drained, Counts) {
    measure(|| {
        rt.block_on(async {
            let (tx, body) = channel(capacity);
            let produce = async move {
                for event in events {
                    tx.send(event).await.expect("the body is alive");
                }
                // `tx` is dropped here: the body ends after the queue.
            };
            let ((), drained) = futures::join!(produce, drain(body));
            drained
        })
    })
}

#[test]
fn channel_costs_one_allocation_per_event_and_its_blocks() {
    let rt = runtime(false);
    let events: Vec<Event> = (0..MANY).map(event).collect();
    let len = |n: usize| -> usize { events[..n].iter().map(Event::encoded_len).sum() };

    // The send side alone, into a channel with room for every event: each
    // send encodes its frame (1), and the channel takes a block every 32
    // slots that it cannot reuse, since none has been read.
    channel_send_then_drain(&rt, events[..FEW].to_vec()); // warm-up
    let (few_sent, few, few_read) = channel_send_then_drain(&rt, events[..FEW].to_vec());
    let (many_sent, many, many_read) = channel_send_then_drain(&rt, events.clone());
    assert_eq!(
        few,
        Drained {
            frames: FEW,
            bytes: len(FEW)
        }
    );
    assert_eq!(
        many,
        Drained {
            frames: MANY,
            bytes: len(MANY)
        }
    );
    let per_send = many_sent.total() as f64 / MANY as f64;
    let marginal = (many_sent.total() - few_sent.total()) as f64 / (MANY - FEW) as f64;
    println!(
        "channel({MANY}), send side: {FEW} events {few_sent:?}, {MANY} events {many_sent:?}: \
         {per_send:.4} per event ({marginal:.4} marginal)"
    );
    assert!(
        per_send <= 1.1 && marginal <= 1.1,
        "{per_send:.4} allocations per send ({marginal:.4} marginal): one frame each, \
         plus a channel block every 32 slots, is 1.03"
    );
    // The read side: frames are only moved.
    println!("channel, read side: {FEW} events {few_read:?}, {MANY} events {many_read:?}");
    assert_eq!(
        many_read.total(),
        few_read.total(),
        "reading {MANY} frames allocates more than reading {FEW}"
    );
    assert!(many_read.total() <= SETUP, "{many_read:?}");

    // Producer and client together, through a channel of 16: the body reads
    // as the producer sends, so the channel reuses its blocks.
    channel_live(&rt, events[..FEW].to_vec(), 16); // warm-up
    let (few, few_live) = channel_live(&rt, events[..FEW].to_vec(), 16);
    let (many, many_live) = channel_live(&rt, events.clone(), 16);
    assert_eq!(
        few,
        Drained {
            frames: FEW,
            bytes: len(FEW)
        }
    );
    assert_eq!(
        many,
        Drained {
            frames: MANY,
            bytes: len(MANY)
        }
    );
    let marginal = (many_live.total() - few_live.total()) as f64 / (MANY - FEW) as f64;
    println!(
        "channel(16), producer and body together: {FEW} events {few_live:?}, \
         {MANY} events {many_live:?}: {marginal:.4} per event"
    );
    assert!(
        marginal <= 1.1,
        "{marginal:.4} allocations per event through channel(16)"
    );
}

/// One idle stream: `channel(16)` with keep-alive on, polled once (nothing
/// to send yet, so its timer is armed). Returns the sender and the body, the
/// bytes that creating it and polling it left allocated, and the counts.
fn idle_stream(cx: &mut Context<'_>) -> (Sender, Pin<Box<SseBody<Receiver>>>, Counts, Counts) {
    let ((tx, body), created) = measure(|| {
        let (tx, body) = channel(16);
        (tx, body.keep_alive(Duration::from_secs(15)))
    });
    // The box holds the body where a server's connection task would; its
    // size is reported apart, as `size_of::<SseBody<Receiver>>()`.
    let mut body = Box::pin(body);
    let (poll, polled) = measure(|| body.as_mut().poll_frame(cx));
    assert!(poll.is_pending(), "an idle stream has nothing to write");
    (tx, body, created, polled)
}

#[test]
fn idle_stream_memory() {
    const STREAMS: usize = 100;
    const BOUND: i64 = 4096;
    let rt = runtime(true);
    rt.block_on(async {
        let waker = futures::task::noop_waker();
        let mut cx = Context::from_waker(&waker);
        drop(idle_stream(&mut cx)); // warm-up

        let (tx, mut body, created, polled) = idle_stream(&mut cx);
        let body_size = core::mem::size_of::<SseBody<Receiver>>();
        let sender_size = core::mem::size_of::<Sender>();
        let per_stream = created.live() + polled.live() + body_size as i64;
        println!(
            "idle channel(16) stream: creating it allocates {} bytes in {} allocations \
             ({} still live), polling it once {} bytes in {} allocations; \
             size_of::<SseBody<Receiver>>() = {body_size}, size_of::<Sender>() = {sender_size}; \
             {per_stream} bytes per idle stream",
            created.allocated,
            created.total(),
            created.live(),
            polled.allocated,
            polled.total(),
        );
        assert!(
            per_stream < BOUND,
            "{per_stream} bytes per idle stream, over {BOUND}"
        );
        // Arming the keep-alive timer boxes one tokio `Sleep` (boxed so that
        // the body stays `Unpin`): one allocation, of about a hundred bytes.
        assert!(
            polled.total() <= 1 && polled.live() <= 256,
            "arming the keep-alive timer allocated {} bytes in {} allocations: \
             one boxed timer is expected",
            polled.live(),
            polled.total()
        );

        // Its timer is armed: 15 s of silence later, a heartbeat is due.
        tokio::time::advance(Duration::from_secs(15)).await;
        let frame = body
            .frame().await.expect("a heartbeat").expect("no error");
        assert_eq!(frame.into_data().expect("data"), KEEP_ALIVE_FRAME);
        assert!(!tx.is_closed(), "the body is still open");

        // Many idle streams: the average, box included, stays as low.
        let mut streams = Vec::with_capacity(STREAMS);
        let ((), many) = measure(|| {
            for _ in 0..STREAMS {
                let (tx, body) = channel(16);
                let mut body = Box::pin(body.keep_alive(Duration::from_secs(15)));
                assert!(body.as_mut().poll_frame(&mut cx).is_pending());
                streams.push((tx, body));
            }
        });
        let average = many.live() / STREAMS as i64;
        println!(
            "{STREAMS} idle channel(16) streams, each body boxed: {} bytes live, {average} per stream, \
             {} allocations per stream",
            many.live(),
            many.total() as f64 / STREAMS as f64
        );
        assert!(average < BOUND, "{average} bytes per idle stream, over {BOUND}");
        drop(streams);
    });
}
