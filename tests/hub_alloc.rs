//! Allocations made by the hub's fan-out (`ssekit::adapters::hub`), and the
//! heap an idle `Subscription` holds, counted by a global allocator in this
//! test binary of its own. The fan-out is `benches/support/fanout.rs`, the
//! code `benches/hub.rs` times: rounds of 64 events of 60 bytes published to
//! one topic, every subscriber drained after each round.
//!
//! Counting is per thread and only inside `measure`, so the tests may run in
//! parallel. Everything runs on the test's own thread, without a runtime
//! (the hub needs none). Run with `--nocapture` to see the numbers; the
//! alternatives (`tokio::sync::broadcast`, an `mpsc` channel per
//! subscriber) are measured and printed for comparison, not asserted.
#![cfg(not(miri))]
// A global allocator needs `unsafe impl`; every unsafe block below only
// forwards to the system allocator with the caller's own arguments.
#![allow(unsafe_code)]

#[path = "../benches/support/fanout.rs"]
mod fanout;

use core::alloc::{GlobalAlloc, Layout};
use core::cell::Cell;
use core::pin::Pin;
use core::task::{Context, Poll};
use std::alloc::System;

use fanout::{Count, FanOut, Kind, Wakeups, EVENTS_PER_ROUND, TOPIC};
use futures::Stream;
use ssekit::adapters::hub::{Hub, HubConfig, Subscription};

struct Counting;

thread_local! {
    static ACTIVE: Cell<bool> = const { Cell::new(false) };
    /// Allocator calls (allocations and reallocations), bytes allocated,
    /// bytes freed.
    static COUNTS: Cell<(u64, u64, u64)> = const { Cell::new((0, 0, 0)) };
}

/// Records one allocator call (`calls`: 1 for an allocation or a
/// reallocation, 0 for a free) that allocated `grown` and freed `shrunk`
/// bytes, if this thread is measuring.
fn record(calls: u64, grown: usize, shrunk: usize) {
    // `try_with`: the thread may be tearing down its locals.
    if ACTIVE.try_with(Cell::get).unwrap_or(false) {
        let _ = COUNTS.try_with(|c| {
            let (n, a, f) = c.get();
            c.set((n + calls, a + grown as u64, f + shrunk as u64));
        });
    }
}

// SAFETY: every method forwards to `System` with unchanged arguments, so the
// `GlobalAlloc` contract is the system allocator's; counting touches only
// const-initialised thread locals, which never allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        record(1, layout.size(), 0);
        // SAFETY: forwarded with the caller's layout, as required.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        record(1, layout.size(), 0);
        // SAFETY: forwarded with the caller's layout, as required.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        record(0, 0, layout.size());
        // SAFETY: `ptr` was allocated by `System` with `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let old = layout.size();
        record(
            1,
            new_size.saturating_sub(old),
            old.saturating_sub(new_size),
        );
        // SAFETY: `ptr` was allocated by `System` with `layout`, and the
        // caller upholds `realloc`'s contract for `new_size`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// What one measured closure did to the heap, on this thread.
#[derive(Debug, Clone, Copy)]
struct Heap {
    /// Allocations plus reallocations.
    calls: u64,
    /// Bytes allocated less bytes freed.
    live: i64,
}

fn measure<R>(f: impl FnOnce() -> R) -> (R, Heap) {
    COUNTS.with(|c| c.set((0, 0, 0)));
    ACTIVE.with(|a| a.set(true));
    let result = f();
    ACTIVE.with(|a| a.set(false));
    let (calls, allocated, freed) = COUNTS.with(Cell::get);
    let live = allocated as i64 - freed as i64;
    (result, Heap { calls, live })
}

const SUBSCRIBERS: [usize; 3] = [1, 100, 10_000];

/// Rounds run before measuring: the wakers' lists (two, used in turn)
/// reach their size in two. The hub's window is full already (`FanOut::new`
/// fills it before anyone subscribes).
const WARM_UP: usize = 2;

/// Rounds measured.
const ROUNDS: usize = 3;

/// Allocator calls per published event of `ROUNDS` rounds of a contender
/// with `n` subscribers, after warming up.
fn per_event(kind: Kind, wakeups: Wakeups, n: usize) -> (u64, f64) {
    let mut fanout = FanOut::new(kind, wakeups, n);
    for _ in 0..WARM_UP {
        fanout.round(&mut Count::default());
    }
    let (count, heap) = measure(|| {
        let mut count = Count::default();
        for _ in 0..ROUNDS {
            fanout.round(&mut count);
        }
        count
    });
    assert_eq!(count.frames, ROUNDS * EVENTS_PER_ROUND * n);
    let events = (ROUNDS * EVENTS_PER_ROUND) as f64;
    (heap.calls, heap.calls as f64 / events)
}

/// What `Hub::publish` allocates: frames are encoded into 16 KiB blocks
/// and split off them, so a block costs two allocations (its buffer and the
/// `Shared` header `bytes` makes at the first split) and holds about 200 of
/// these ~80-byte frames. Asserted: at most 1 allocation per 50 events, and
/// the same count whatever the number of subscribers, woken or not.
const HUB_MAX_ALLOCS_PER_EVENT: f64 = 0.02;

#[test]
fn hub_allocates_per_event_not_per_subscriber() {
    let events = (ROUNDS * EVENTS_PER_ROUND) as u64;
    let mut counts = Vec::new();
    for wakeups in [Wakeups::Noop, Wakeups::Counted] {
        let name = fanout::name(Kind::Hub, wakeups);
        for n in SUBSCRIBERS {
            let (calls, per) = per_event(Kind::Hub, wakeups, n);
            println!("{name}, {n} subscribers: {calls} allocations for {events} events, {per:.4} per event");
            assert!(
                per <= HUB_MAX_ALLOCS_PER_EVENT,
                "{name}, {n} subscribers: {per:.4} allocations per published event, over {HUB_MAX_ALLOCS_PER_EVENT}"
            );
            counts.push(calls);
        }
    }
    assert!(
        counts.windows(2).all(|w| w[0] == w[1]),
        "the count depends on the subscribers: {counts:?}"
    );
}

#[test]
fn alternatives_allocations_per_event() {
    for kind in [Kind::Broadcast, Kind::Mpsc] {
        for wakeups in [Wakeups::Noop, Wakeups::Counted] {
            let name = fanout::name(kind, wakeups);
            for n in SUBSCRIBERS {
                let (calls, per) = per_event(kind, wakeups, n);
                println!("{name}, {n} subscribers: {calls} allocations, {per:.4} per event");
            }
        }
    }
}

/// Heap per idle subscription, in bytes, that this test allows. Measured
/// with 10,000 subscriptions: 203 bytes each as made (2 allocations: the
/// shared state with the sweep and the disconnect token, plus the topic's
/// subscriber map; the batch buffer waits for the first frame), 384 once
/// each has been woken by one event (a batch buffer sized to that event,
/// and the topic's two lists of wakers).
const IDLE_BOUND: i64 = 512;

const IDLE: usize = 10_000;

/// Polls `sub` until it waits, with a no-op waker.
fn poll_until_pending(sub: &mut Subscription) {
    let waker = futures::task::noop_waker();
    let mut cx = Context::from_waker(&waker);
    while let Poll::Ready(frame) = Pin::new(&mut *sub).poll_next(&mut cx) {
        assert!(frame.is_some(), "the subscription ended");
    }
}

#[test]
fn idle_subscription_heap() {
    let hub = Hub::new(HubConfig::default());
    let events = fanout::events();
    for event in &events {
        hub.publish(TOPIC, event).expect("publish");
    }
    let mut subs = Vec::with_capacity(IDLE);
    let ((), made) = measure(|| {
        for _ in 0..IDLE {
            subs.push(hub.subscribe(TOPIC, None).expect("under the limits"));
        }
    });
    let ((), waiting) = measure(|| subs.iter_mut().for_each(poll_until_pending));
    hub.publish(TOPIC, &events[0]).expect("publish");
    let ((), delivered) = measure(|| subs.iter_mut().for_each(poll_until_pending));
    let n = IDLE as i64;
    let fresh = made.live / n;
    let after = (made.live + waiting.live + delivered.live) / n;
    println!(
        "{IDLE} idle subscriptions: making them {made:?} ({fresh} bytes each, {:.1} allocations each); \
         polling each until it waits {waiting:?}; one event later, waiting again {delivered:?}; \
         {after} bytes of heap each, plus size_of::<Subscription>() = {}",
        made.calls as f64 / IDLE as f64,
        core::mem::size_of::<Subscription>()
    );
    assert!(fresh < IDLE_BOUND, "{fresh} bytes per idle subscription");
    assert!(after < IDLE_BOUND, "{after} bytes per idle subscription");
    drop(subs);

    // The same with every contender's own handle, counted as the whole
    // set-up of 10,000 subscribers (the hub's includes its window of 1,000
    // frames), for comparison.
    for kind in [Kind::Hub, Kind::Broadcast, Kind::Mpsc] {
        let (fanout, heap) = measure(|| FanOut::new(kind, Wakeups::Noop, IDLE));
        println!(
            "{}: {IDLE} idle subscribers set up: {heap:?}, {} bytes per subscriber",
            fanout::name(kind, Wakeups::Noop),
            heap.live / n
        );
        drop(fanout);
    }
}
