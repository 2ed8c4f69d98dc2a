//! The parent side of the load tests (`hub_load.rs`, `redis_load.rs`):
//! the scale, the events published, and the children's report lines read
//! back into counts, latencies and CPU times.

use core::sync::atomic::{AtomicUsize, Ordering};
use core::time::Duration;
use std::sync::{Mutex, MutexGuard, PoisonError};

use tokio::task::JoinHandle;
use tokio::time::timeout;
use tokio_util::sync::CancellationToken;

use ssekit::Event;

use super::child::MARK;
use super::{cpu_time, now_micros, Histogram, MachineCpu};
use crate::server_http_common::{eventually, panic_message, TestChild};

/// `SSEKIT_HUB_LOAD=full` selects the full scale.
pub(crate) const SCALE_VAR: &str = "SSEKIT_HUB_LOAD";

/// How big a run is: the default, small enough for a debug build in CI, or
/// the full one (`SSEKIT_HUB_LOAD=full`, to run in release).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Scale {
    Default,
    Full,
}

impl Scale {
    pub(crate) fn from_env() -> Scale {
        match std::env::var(SCALE_VAR).as_deref() {
            Err(_) | Ok("" | "default") => Scale::Default,
            Ok("full") => Scale::Full,
            Ok(other) => panic!("{SCALE_VAR}={other:?}: expected `full` (or nothing)"),
        }
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Scale::Default => "default scale; SSEKIT_HUB_LOAD=full for the full one",
            Scale::Full => "full scale, SSEKIT_HUB_LOAD=full",
        }
    }
}

/// The guard of `mutex`, poisoned or not.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Event `n`: its data is `<n> <publish time in µs>`, padded to `payload`
/// bytes. Returns it with that time.
pub(crate) fn numbered_event(n: u64, payload: usize) -> (Event, u64) {
    let at = now_micros();
    let mut data = format!("{n} {at}");
    if data.len() < payload {
        data.push(' ');
        data.push_str(&"x".repeat(payload - data.len()));
    }
    (Event::new(data), at)
}

/// The value of `name=value` among the space-separated fields of `line`.
pub(crate) fn field<'a>(line: &'a str, name: &str) -> &'a str {
    line.split_whitespace()
        .find_map(|f| f.strip_prefix(name)?.strip_prefix('='))
        .unwrap_or_else(|| panic!("no `{name}=` in the child's line {line:?}"))
}

pub(crate) fn number(line: &str, name: &str) -> u64 {
    let value = field(line, name);
    value
        .parse()
        .unwrap_or_else(|_| panic!("`{name}={value}` in the child's line {line:?}"))
}

/// CPU time of the server (this process), of the clients (the children),
/// and of the whole machine.
#[derive(Clone, Copy)]
pub(crate) struct Cpu {
    pub(crate) server: Duration,
    pub(crate) clients: Duration,
    pub(crate) machine: MachineCpu,
}

impl Cpu {
    pub(crate) fn now(children: &[TestChild]) -> Cpu {
        Cpu {
            server: cpu_time(std::process::id()),
            clients: children.iter().map(|child| cpu_time(child.id())).sum(),
            machine: MachineCpu::now(),
        }
    }

    pub(crate) fn since(self, before: Cpu) -> Cpu {
        Cpu {
            server: self.server.saturating_sub(before.server),
            clients: self.clients.saturating_sub(before.clients),
            machine: self.machine.since(before.machine),
        }
    }

    /// The machine's share, and what went outside the two processes.
    pub(crate) fn machine(&self) -> String {
        let machine = &self.machine;
        let elsewhere = machine.busy.saturating_sub(self.server + self.clients);
        format!(
            "machine {:.0} % busy ({:.2} of {:.2} CPU-seconds; {:.2} outside the server and the \
             clients: other processes, kernel threads; {:.2} in interrupts and softirqs, the \
             loopback traffic, charged to whichever was running)",
            100.0 * machine.busy.as_secs_f64() / machine.total.as_secs_f64().max(1e-6),
            machine.busy.as_secs_f64(),
            machine.total.as_secs_f64(),
            elsewhere.as_secs_f64(),
            machine.interrupts.as_secs_f64(),
        )
    }
}

/// The figures of one phase.
pub(crate) struct Phase {
    pub(crate) events: u64,
    /// Publishing it took this long.
    pub(crate) published_in: Duration,
    /// From its first publish to the last client's receipt of its last
    /// event.
    pub(crate) end_to_end: Duration,
    pub(crate) cpu: Cpu,
    /// Every reading client's latency for every event of the phase.
    pub(crate) latency: Histogram,
}

impl Phase {
    pub(crate) fn deliveries(&self) -> u64 {
        self.latency.count()
    }

    pub(crate) fn per_second(&self) -> f64 {
        self.deliveries() as f64 / self.end_to_end.as_secs_f64().max(1e-6)
    }

    pub(crate) fn describe(&self) -> String {
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        let per_delivery = |d: Duration| d.as_secs_f64() * 1e6 / self.deliveries().max(1) as f64;
        format!(
            "{} deliveries in {:.2} s end to end ({:.0}/s; published in {:.2} s); latency p50 \
             {:.2} ms, p99 {:.2} ms, max {:.2} ms; CPU server {:.2} s, clients {:.2} s ({:.1} + \
             {:.1} µs per delivery); {}",
            self.deliveries(),
            self.end_to_end.as_secs_f64(),
            self.per_second(),
            self.published_in.as_secs_f64(),
            ms(self.latency.quantile(0.50)),
            ms(self.latency.quantile(0.99)),
            ms(self.latency.max()),
            self.cpu.server.as_secs_f64(),
            self.cpu.clients.as_secs_f64(),
            per_delivery(self.cpu.server),
            per_delivery(self.cpu.clients),
            self.cpu.machine(),
        )
    }
}

/// What the reading clients count: the events they received, and each way
/// a stream can go wrong.
#[derive(Clone, Copy, Default, Debug)]
pub(crate) struct Counts {
    pub(crate) received: u64,
    pub(crate) lost: u64,
    pub(crate) out_of_order: u64,
    /// Events whose ID is not `<epoch>-<sequence>` one apart from the last.
    pub(crate) bad_ids: u64,
    /// Events whose data is not an event number and a time.
    pub(crate) bad_data: u64,
    /// Streams that ended before the parent's signal.
    pub(crate) ended_early: u64,
    pub(crate) errors: u64,
}

impl Counts {
    const NAMES: [&'static str; 7] = [
        "received",
        "lost",
        "out_of_order",
        "bad_ids",
        "bad_data",
        "ended_early",
        "errors",
    ];

    pub(crate) fn slots(&mut self) -> [&mut u64; 7] {
        [
            &mut self.received,
            &mut self.lost,
            &mut self.out_of_order,
            &mut self.bad_ids,
            &mut self.bad_data,
            &mut self.ended_early,
            &mut self.errors,
        ]
    }

    pub(crate) fn add(&mut self, mut other: Counts) {
        for (mine, theirs) in self.slots().into_iter().zip(other.slots()) {
            *mine += *theirs;
        }
    }

    /// As `name=value` fields, for a report line.
    pub(crate) fn to_fields(mut self) -> String {
        let values = self.slots().map(|value| *value);
        let fields: Vec<String> = Counts::NAMES
            .iter()
            .zip(values)
            .map(|(name, value)| format!("{name}={value}"))
            .collect();
        fields.join(" ")
    }

    /// The inverse of [`to_fields`](Counts::to_fields).
    pub(crate) fn from_fields(line: &str) -> Counts {
        let mut counts = Counts::default();
        for (slot, name) in counts.slots().into_iter().zip(Counts::NAMES) {
            *slot = number(line, name);
        }
        counts
    }
}

/// What the children reported, summed.
#[derive(Default, Debug)]
pub(crate) struct Tally {
    /// Of the reading clients.
    pub(crate) counts: Counts,
    pub(crate) first_error: Option<String>,
    /// Stalled clients whose connection the server closed (EOF or reset
    /// without the body's last chunk),
    pub(crate) stalled_dropped: u64,
    /// that the server ended with the body's last chunk,
    pub(crate) stalled_ended: u64,
    /// and that were still open after [`STALLED_DRAIN`].
    pub(crate) stalled_open: u64,
    /// Events the stalled clients read at the end, from their buffers.
    pub(crate) stalled_events: u64,
    /// Each stalled client's port and the last event number it got.
    pub(crate) stalled_last: Vec<(u16, u64)>,
    /// The distinct digests of the reading clients' IDs (see
    /// [`digest`](super::child::digest)): one per child when each child's
    /// clients all got the same IDs.
    pub(crate) id_digests: Vec<u64>,
}

impl Tally {
    /// Asserts that no client had an error, lost an event, got one out of
    /// order, with an ID against the stream's rule or with bad data, or saw
    /// its stream end early; `context` for the messages.
    pub(crate) fn assert_clean(&self, context: &dyn Fn() -> String) {
        let counts = &self.counts;
        assert_eq!(
            counts.errors,
            0,
            "client errors, the first: {:?}\n{}",
            self.first_error,
            context()
        );
        assert_eq!(counts.lost, 0, "events lost\n{}", context());
        assert_eq!(counts.out_of_order, 0, "events out of order\n{}", context());
        assert_eq!(
            counts.bad_ids,
            0,
            "IDs that do not follow the events (the hub's: consecutive; Redis's: increasing)\n{}",
            context()
        );
        assert_eq!(counts.bad_data, 0, "events with bad data\n{}", context());
        assert_eq!(counts.ended_early, 0, "streams ended early\n{}", context());
    }

    pub(crate) fn add(&mut self, line: &str) {
        let counts = Counts::from_fields(line);
        self.counts.add(counts);
        if self.first_error.is_none() && counts.errors > 0 {
            self.first_error = Some(field(line, "first_error").replace('_', " "));
        }
        self.stalled_dropped += number(line, "stalled_dropped");
        self.stalled_ended += number(line, "stalled_ended");
        self.stalled_open += number(line, "stalled_open");
        self.stalled_events += number(line, "stalled_events");
        for pair in field(line, "stalled_last")
            .split(',')
            .filter(|p| !p.is_empty())
        {
            let (port, last) = pair.split_once(':').expect("port:last");
            let port = port.parse().expect("a port");
            self.stalled_last
                .push((port, last.parse().expect("an event number")));
        }
        for digest in field(line, "id_digests")
            .split(',')
            .filter(|d| !d.is_empty())
        {
            let digest = u64::from_str_radix(digest, 16).expect("a hexadecimal digest");
            if !self.id_digests.contains(&digest) {
                self.id_digests.push(digest);
            }
        }
    }
}

/// Stops a test server: cancels `stop`, then waits at most `bound` for
/// its accept task to end, and as long again for its connection tasks,
/// which `connections` counts.
pub(crate) async fn stop_server(
    stop: &CancellationToken,
    task: JoinHandle<()>,
    connections: &AtomicUsize,
    bound: Duration,
) {
    stop.cancel();
    match timeout(bound, task).await {
        Ok(Ok(())) => {}
        Ok(Err(err)) => panic!("the server task failed: {}", panic_message(err)),
        Err(_) => panic!("the server task did not end within {bound:?}"),
    }
    eventually(
        "every connection task ended",
        bound,
        || connections.load(Ordering::Acquire) == 0,
        || format!("{} open", connections.load(Ordering::Acquire)),
    )
    .await;
}

/// Splits `total` among `parts`: the share of part `index`.
pub(crate) fn share(total: usize, parts: usize, index: usize) -> usize {
    total / parts + usize::from(index < total % parts)
}

/// Waits for each child's next line, which must start with `expected`.
pub(crate) async fn child_lines(
    children: &mut [TestChild],
    expected: &str,
    bound: Duration,
) -> Vec<String> {
    let mut lines = Vec::with_capacity(children.len());
    for child in children.iter_mut() {
        let line = child.marked_line(MARK, bound).await;
        match line.strip_prefix(expected) {
            Some(rest) => lines.push(rest.to_owned()),
            None => panic!(
                "a client process reported {line:?}, not {expected}...\n{}",
                child.output()
            ),
        }
    }
    lines
}

/// The latest receipt, in µs, of a phase's last event among the children's
/// `MARK` lines.
pub(crate) fn last_receipt(lines: &[String]) -> u64 {
    lines
        .iter()
        .map(|line| number(line, "last_rx_us"))
        .max()
        .unwrap_or(0)
}
