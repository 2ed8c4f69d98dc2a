//! A small, deterministic fan-out loop, to count instructions per
//! subscriber per event with `valgrind --tool=callgrind` (the criterion
//! bench `benches/hub.rs` measures time, on the same contenders, from
//! `benches/support/fanout.rs`).
//!
//! ```text
//! cargo build --release --features hub --example profile_hub
//! valgrind --tool=callgrind --toggle-collect='profile_hub::measured' \
//!     target/release/examples/profile_hub hub 10000
//! ```
//!
//! Arguments: the contender (`hub`, `broadcast`, `mpsc`, `hub_woken`,
//! `broadcast_woken`, `mpsc_woken`; see `fanout.rs`), then the number of
//! subscribers (default 100). The subscribers are made and one round is run
//! outside `measured`; then `measured` runs `ROUNDS` rounds of 64 events
//! (default: enough for about 1,000,000 deliveries, at least 3). Divide
//! callgrind's count for `measured` (inclusive) by the deliveries it prints
//! for instructions per subscriber per event.

#[path = "../benches/support/fanout.rs"]
mod fanout;

use fanout::{Count, FanOut, EVENTS_PER_ROUND};

/// The rounds callgrind counts.
#[inline(never)]
fn measured(fanout: &mut FanOut, rounds: usize) -> Count {
    let mut count = Count::default();
    for _ in 0..rounds {
        fanout.round(&mut count);
    }
    count
}

fn main() {
    let which = std::env::args().nth(1).unwrap_or_else(|| "hub".into());
    let (kind, wakeups) =
        fanout::parse(&which).unwrap_or_else(|| panic!("unknown contender {which:?}"));
    let n: usize = std::env::args()
        .nth(2)
        .map_or(100, |v| v.parse().expect("a number of subscribers"));
    let per_round = EVENTS_PER_ROUND * n;
    let rounds: usize = std::env::var("ROUNDS").ok().map_or_else(
        || 1_000_000_usize.div_ceil(per_round).max(3),
        |v| v.parse().expect("ROUNDS is a number"),
    );
    let mut fanout = FanOut::new(kind, wakeups, n);
    fanout.round(&mut Count::default()); // warm-up
    let count = measured(&mut fanout, rounds);
    assert_eq!(count.frames, rounds * per_round);
    println!(
        "{which}: {n} subscribers, {rounds} rounds of {EVENTS_PER_ROUND} events: {} deliveries, {} bytes",
        count.frames, count.bytes
    );
}
