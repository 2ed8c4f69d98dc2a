//! Scaling: one event of 1, 8 and 64 MiB (a single `data` line) delivered
//! in 64-byte chunks. A decoder whose work is linear in its input shows the
//! same bytes per second at every size; one that rescans or recopies its
//! buffer per chunk slows down as the event grows.
//!
//! One criterion group (`scaling_one_event_64B`), ids `<decoder>/<size>`,
//! `Throughput::Bytes` of each input. ssekit runs with `Limits::unbounded()`
//! (its default limits would refuse a line over 2 MiB, as they should); the
//! same time guard and checks as in `decode.rs` apply.
//!
//! ```text
//! cargo bench --features bench-peers --bench scaling
//! ```

// `criterion_group!` defines an undocumented `pub fn`.
#![allow(missing_docs)]

#[path = "support/mod.rs"]
mod support;

use criterion::{criterion_group, criterion_main, Criterion};
use support::workload::{one_event, Delivery};
use support::{decoders, run_input, Config, Input};

const GROUP: &str = "scaling_one_event_64B";
const CHUNK: Delivery = Delivery::Fixed(64);

fn scaling(c: &mut Criterion) {
    let cfg = Config::from_env();
    let mut contenders = decoders(ssekit::Limits::unbounded(), false);
    let mut group = c.benchmark_group(GROUP);
    for mib in [1usize, 8, 64] {
        let label = format!("{mib}MiB");
        let names: Vec<&str> = contenders.iter().map(|c| c.name).collect();
        if !cfg.wants_group(GROUP, &names, core::slice::from_ref(&label)) {
            continue;
        }
        let workload = one_event(mib << 20);
        let mut sample = |len: usize| CHUNK.split(&one_event(len).bytes);
        let input = Input {
            group: GROUP.to_string(),
            label,
            chunks: CHUNK.split(&workload.bytes),
            len: workload.bytes.len(),
            expected: workload.expected,
            sample: &mut sample,
        };
        run_input(&cfg, &mut group, input, &mut contenders);
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Config::from_env().criterion();
    targets = scaling
}
criterion_main!(benches);
