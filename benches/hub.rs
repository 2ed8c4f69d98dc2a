//! Hub fan-out: the cost of delivering each published event to every
//! subscriber of one topic, for 1, 100 and 10,000 subscribers, ssekit's
//! `adapters::hub` against `tokio::sync::broadcast` (one receiver per
//! subscriber) and `tokio::sync::mpsc` (one bounded channel per subscriber).
//!
//! Group `hub_fanout`, ids `<contender>/<subscribers>`,
//! `Throughput::Elements` of the deliveries (events × subscribers), so that
//! criterion prints deliveries per second. An iteration is one round of
//! `benches/support/fanout.rs`: 64 events of 60 bytes of data published
//! (each encoded once into a `Bytes` frame `id: <epoch>-<seq>\n...`), then
//! every subscriber drained in turn until it waits, counting its frames and
//! asserting that it got all 64 (and the same bytes as the first). The
//! contenders:
//!
//! - `hub`: `Hub::publish`, then every `Subscription` polled through
//!   `Stream::poll_next` with a no-op waker (which the hub still registers,
//!   and a publish still wakes);
//! - `broadcast`: `Sender::send` of each frame into one
//!   `broadcast::channel(64)`, each receiver drained with `try_recv`;
//! - `mpsc`: each frame `try_send` (a `Bytes` clone) into every subscriber's
//!   `mpsc::channel(64)`, each drained with `try_recv`;
//! - `*_woken`: the same, but each subscriber has a waker of its own that
//!   counts its wake-ups (a `std::task::Wake` on an `Arc`), and waits for
//!   real: the hub through `poll_next`, broadcast through `recv` futures in
//!   a `ReusableBoxFuture` (as tokio-stream's `BroadcastStream`), mpsc
//!   through `poll_recv`. Every subscriber is woken once per round (checked
//!   after each): the cost of registering the wakers and waking them is in.
//!
//! Before timing, each contender runs one round whose frames are checked:
//! every subscriber gets the 64 frames, byte for byte as built by
//! `fanout::frame` (the hub's own ID line included), and the i-th frame of
//! every subscriber is the same `Bytes` storage as the first's (one
//! encoding per event, no copy per subscriber). The hub's replay window
//! (default 1,000 events) is filled before anyone subscribes, so it no
//! longer grows while timed.
//!
//! At the end, ns per subscriber per event (the mean time of an iteration
//! ÷ (64 × subscribers)), deliveries per second and the ratios to the hub
//! are printed from this run's criterion estimates, and recorded in
//! `<criterion>/hub_fanout/ssekit-notes.json`.
//!
//! ```text
//! cargo bench --features bench-peers --bench hub
//! SSEKIT_BENCH_MIB=1 cargo bench --features bench-peers --bench hub -- --test
//! ```
//!
//! (The hub comes from the dev-dependency on `ssekit-adapters`, which
//! enables its `hub` feature for every bench, test and example; adding
//! `--features hub` changes nothing.)

// `criterion_group!` defines an undocumented `pub fn`.
#![allow(missing_docs)]

#[path = "support/fanout.rs"]
mod fanout;
#[path = "support/mod.rs"]
mod support;

use std::collections::BTreeMap;
use std::time::{Instant, SystemTime};

use criterion::{
    criterion_group, criterion_main, BenchmarkId, Criterion, SamplingMode, Throughput,
};
use fanout::{Collect, Count, FanOut, Kind, Wakeups, CONTENDERS, EVENTS_PER_ROUND};
use support::{mean_ns_since, write_notes, Config, Note};

const GROUP: &str = "hub_fanout";

const SUBSCRIBERS: [usize; 3] = [1, 100, 10_000];

/// Runs one round into a `Collect` and checks what every subscriber got.
fn check(name: &str, fanout: &mut FanOut, n: usize) {
    let expected = fanout.expected();
    let mut got = Collect::default();
    fanout.round(&mut got);
    assert_eq!(got.frames.len(), n, "{name}/{n}: subscribers drained");
    let first = &got.frames[0];
    for (i, frames) in got.frames.iter().enumerate() {
        assert_eq!(frames, &expected, "{name}/{n}: subscriber {i}'s frames");
        for (j, (frame, shared)) in frames.iter().zip(first).enumerate() {
            assert_eq!(
                frame.as_ptr(),
                shared.as_ptr(),
                "{name}/{n}: subscriber {i}'s frame {j} is a copy, not the one encoding"
            );
        }
    }
}

fn hub_fanout(c: &mut Criterion) {
    let cfg = Config::from_env();
    let start = SystemTime::now();
    let mut group = c.benchmark_group(GROUP);
    group.sampling_mode(SamplingMode::Flat);
    let mut measured = Vec::new();
    for n in SUBSCRIBERS {
        for (kind, wakeups) in CONTENDERS {
            let name = fanout::name(kind, wakeups);
            if !cfg.wants(&format!("{GROUP}/{name}/{n}")) {
                continue;
            }
            let mut fanout = FanOut::new(kind, wakeups, n);
            let t0 = Instant::now();
            check(name, &mut fanout, n);
            let once = t0.elapsed();
            // Room for every sample, so criterion never warns it ran short.
            group.measurement_time(cfg.measure.max(once.mul_f64(cfg.samples as f64 * 1.3)));
            group.throughput(Throughput::Elements((EVENTS_PER_ROUND * n) as u64));
            group.bench_function(BenchmarkId::new(name, n), |b| {
                b.iter(|| {
                    let mut count = Count::default();
                    fanout.round(&mut count);
                    assert_eq!(count.frames, EVENTS_PER_ROUND * n);
                    count.bytes
                })
            });
            measured.push((kind, wakeups, n));
        }
    }
    group.finish();
    report(&measured, start);
}

/// Prints ns per subscriber per event, deliveries per second and the
/// ratios to the hub (with the same wake-ups), from the estimates
/// criterion wrote in this run, and adds them to the notes.
fn report(measured: &[(Kind, Wakeups, usize)], since: SystemTime) {
    let per_delivery: BTreeMap<(&str, usize), f64> = measured
        .iter()
        .filter_map(|&(kind, wakeups, n)| {
            let name = fanout::name(kind, wakeups);
            let ns = mean_ns_since(GROUP, name, &n.to_string(), since)?;
            Some(((name, n), ns / (EVENTS_PER_ROUND * n) as f64))
        })
        .collect();
    if per_delivery.is_empty() {
        return; // nothing was measured: a `--test` run, or filtered out
    }
    println!();
    println!(
        "{GROUP}: {EVENTS_PER_ROUND} events per round; ns per subscriber per event, \
         millions of deliveries/s, and time ÷ the hub's (same wake-ups):"
    );
    print!("{:<16}", "");
    for n in SUBSCRIBERS {
        print!(" {:>28}", format!("{n} subscribers"));
    }
    println!();
    let mut notes = BTreeMap::new();
    for (kind, wakeups) in CONTENDERS {
        let name = fanout::name(kind, wakeups);
        print!("{name:<16}");
        for n in SUBSCRIBERS {
            let Some(&ns) = per_delivery.get(&(name, n)) else {
                print!(" {:>28}", "–");
                continue;
            };
            let hub = per_delivery.get(&(fanout::name(Kind::Hub, wakeups), n));
            let ratio = match hub {
                Some(&hub) if kind != Kind::Hub => format!(" ({:.2}× hub)", ns / hub),
                _ => String::new(),
            };
            let cell = format!("{ns:.2} ns, {:.1} M/s{ratio}", 1e3 / ns);
            print!(" {cell:>28}");
            notes.insert(
                format!("{name}/{n}"),
                Note {
                    status: "ok",
                    detail: format!("{n} subscribers, {EVENTS_PER_ROUND} events: {cell}"),
                },
            );
        }
        println!();
    }
    println!("(one run on this machine; read the ratios as ±30 %)");
    write_notes(GROUP, &notes);
}

criterion_group! {
    name = benches;
    config = Config::from_env().criterion();
    targets = hub_fanout
}
criterion_main!(benches);
