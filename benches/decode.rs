//! Decoding throughput: ssekit's decoding paths, the peer crates and two
//! baselines on six generated workloads, each delivered whole, in 1460-byte
//! chunks and in random 1–64-byte chunks.
//!
//! One criterion group per workload (`decode_<workload>`), benchmark ids
//! `<decoder>/<delivery>`, `Throughput::Bytes` of the whole stream. Every
//! contender is checked before it is measured (event count and total data
//! length against the generator's own count) and again on every iteration.
//! See `BENCHMARKS.md` for how to run it and `support/mod.rs` for the knobs.
//!
//! ```text
//! SSEKIT_BENCH_MIB=16 cargo bench --features bench-peers --bench decode
//! ```

// `criterion_group!` defines an undocumented `pub fn`.
#![allow(missing_docs)]

#[path = "support/mod.rs"]
mod support;

use criterion::{criterion_group, criterion_main, Criterion};
use support::workload::{DELIVERIES, WORKLOADS};
use support::{decoders, run_input, Config, Input};

fn decode(c: &mut Criterion) {
    let cfg = Config::from_env();
    let size = cfg.mib << 20;
    let deliveries: Vec<String> = DELIVERIES.iter().map(|d| d.name()).collect();
    for kind in WORKLOADS {
        let group_name = format!("decode_{}", kind.name());
        let mut contenders = decoders(ssekit::Limits::default(), true);
        let names: Vec<&str> = contenders.iter().map(|c| c.name).collect();
        if !cfg.wants_group(&group_name, &names, &deliveries) {
            continue;
        }
        let workload = kind.generate(size);
        let mut group = c.benchmark_group(&group_name);
        for delivery in DELIVERIES {
            let mut sample =
                |len: usize| -> Vec<bytes::Bytes> { delivery.split(&kind.sample(len).bytes) };
            let input = Input {
                group: group_name.clone(),
                label: delivery.name(),
                chunks: delivery.split(&workload.bytes),
                len: workload.bytes.len(),
                expected: workload.expected,
                sample: &mut sample,
            };
            run_input(&cfg, &mut group, input, &mut contenders);
        }
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = Config::from_env().criterion();
    targets = decode
}
criterion_main!(benches);
