//! Helpers for the load tests, `tests/hub_load.rs` and
//! `tests/redis_load.rs`: the client side's parser of a chunked event
//! stream read off a raw socket, a latency histogram that merges across
//! processes, the CPU time of a process, wall-clock microseconds that two
//! processes agree on, and raising the open-file limit; the clients of the
//! child processes ([`child`]) and what the parent makes of their reports
//! ([`parent`]).

pub(crate) mod child;
pub(crate) mod parent;

use core::time::Duration;
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::server_http_common::soft_nofile_limit;

/// Microseconds since the Unix epoch: the publish time the server writes
/// into each event and the receive time a client compares it with (the two
/// run in different processes, so `Instant` would not do).
pub(crate) fn now_micros() -> u64 {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("a clock after 1970");
    u64::try_from(since.as_micros()).expect("microseconds fit in 64 bits")
}

/// The CPU time (user and system, every thread, those that ended too) that
/// process `pid` has used so far: fields 14 and 15 of `/proc/<pid>/stat`,
/// in clock ticks of `USER_HZ`, which Linux fixes at 100 per second on
/// every architecture this runs on (it is what `sysconf(_SC_CLK_TCK)`
/// returns).
pub(crate) fn cpu_time(pid: u32) -> Duration {
    const USER_HZ: u64 = 100;
    let path = format!("/proc/{pid}/stat");
    let stat = std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{path}: {err}"));
    // The command name, field 2, is in parentheses and may hold spaces:
    // count from the last `)`. What follows starts with field 3.
    let rest = &stat[stat.rfind(')').expect("a `)` in /proc/<pid>/stat") + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |field: usize| -> u64 {
        fields
            .get(field - 3)
            .and_then(|value| value.parse().ok())
            .unwrap_or_else(|| panic!("field {field} of {path}"))
    };
    let total = ticks(14) + ticks(15);
    Duration::from_millis(total * 1000 / USER_HZ)
}

/// The CPU time of the whole machine, every core together, from the `cpu`
/// line of `/proc/stat`.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct MachineCpu {
    /// Busy: user, system, interrupts, steal.
    pub(crate) busy: Duration,
    /// Of that, in interrupts and softirqs (loopback TCP is handled there,
    /// not always charged to the process that sent or reads).
    pub(crate) interrupts: Duration,
    /// Busy and idle.
    pub(crate) total: Duration,
}

impl MachineCpu {
    pub(crate) fn now() -> MachineCpu {
        const USER_HZ: u64 = 100;
        let stat = std::fs::read_to_string("/proc/stat").expect("/proc/stat");
        let ticks: Vec<u64> = stat
            .lines()
            .next()
            .and_then(|line| line.strip_prefix("cpu "))
            .expect("the `cpu` line of /proc/stat")
            .split_whitespace()
            .map(|field| field.parse().expect("a number of ticks"))
            .collect();
        // user nice system idle iowait irq softirq steal (guest time is in
        // user already).
        let sum = |fields: &[usize]| -> Duration {
            let ticks: u64 = fields.iter().filter_map(|&i| ticks.get(i)).sum();
            Duration::from_millis(ticks * 1000 / USER_HZ)
        };
        MachineCpu {
            busy: sum(&[0, 1, 2, 5, 6, 7]),
            interrupts: sum(&[5, 6]),
            total: sum(&[0, 1, 2, 3, 4, 5, 6, 7]),
        }
    }

    pub(crate) fn since(self, before: MachineCpu) -> MachineCpu {
        MachineCpu {
            busy: self.busy.saturating_sub(before.busy),
            interrupts: self.interrupts.saturating_sub(before.interrupts),
            total: self.total.saturating_sub(before.total),
        }
    }
}

/// Raises this process's soft limit on open files to its hard limit with
/// `prlimit(1)` (util-linux) when it is below `needed`, so that a test
/// needs no `ulimit -n` first; children spawned afterwards inherit it.
/// Best effort: the caller checks the limit it ends up with.
pub(crate) fn raise_nofile_limit(needed: u64) {
    match soft_nofile_limit() {
        Some(soft) if soft < needed => {}
        _ => return,
    }
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap_or_default();
    let hard = limits
        .lines()
        .find_map(|line| line.strip_prefix("Max open files"))
        .and_then(|rest| rest.split_whitespace().nth(1))
        .map(str::to_owned);
    let Some(hard) = hard else { return };
    // An unlimited hard limit still has the kernel's `nr_open` above it:
    // ask for what is needed, and a margin.
    let target = if hard == "unlimited" {
        (needed * 2).to_string()
    } else {
        hard
    };
    let _ = Command::new("prlimit")
        .arg(format!("--pid={}", std::process::id()))
        .arg(format!("--nofile={target}:"))
        .status();
}

/// Raises the soft limit on open files if it is below `needed` (see
/// [`raise_nofile_limit`]), then panics, saying what to do, if it still is.
pub(crate) fn ensure_nofile_limit(process: &str, needed: u64) {
    raise_nofile_limit(needed);
    if let Some(soft) = soft_nofile_limit() {
        assert!(
            soft >= needed,
            "the soft limit on open files (RLIMIT_NOFILE) of the {process} process is {soft}, \
             below the {needed} descriptors its connections need, and `prlimit` could not \
             raise it: raise it, e.g. `ulimit -Sn $(ulimit -Hn)`, and run again"
        );
    }
}

/// Latencies in microseconds, in buckets of about 1.5 % (64 per power of
/// two), exact below 128 µs. Histograms merge, so the percentiles of every
/// client of every process together are those of all the samples, not an
/// average of percentiles.
#[derive(Clone, Debug)]
pub(crate) struct Histogram {
    counts: Vec<u64>,
    total: u64,
    max: u64,
}

impl Default for Histogram {
    fn default() -> Histogram {
        Histogram::new()
    }
}

impl Histogram {
    /// 64 exact buckets of 1 µs below 128, then 64 per power of two up to
    /// 2^64.
    const BUCKETS: usize = 64 * 59;

    pub(crate) fn new() -> Histogram {
        Histogram {
            counts: vec![0; Histogram::BUCKETS],
            total: 0,
            max: 0,
        }
    }

    fn bucket(value: u64) -> usize {
        if value < 128 {
            return value as usize;
        }
        // Keep the 7 leading bits: 64..=127 once shifted.
        let shift = 63 - value.leading_zeros() - 6;
        let mantissa = (value >> shift) as usize;
        (shift as usize + 1) * 64 + (mantissa - 64)
    }

    /// The middle of bucket `index`.
    fn value_of(index: usize) -> u64 {
        if index < 128 {
            return index as u64;
        }
        let shift = (index / 64 - 1) as u32;
        let low = ((index % 64) as u64 + 64) << shift;
        low + (1u64 << shift) / 2
    }

    pub(crate) fn record(&mut self, micros: u64) {
        self.counts[Histogram::bucket(micros)] += 1;
        self.total += 1;
        self.max = self.max.max(micros);
    }

    pub(crate) fn merge(&mut self, other: &Histogram) {
        for (mine, theirs) in self.counts.iter_mut().zip(&other.counts) {
            *mine += theirs;
        }
        self.total += other.total;
        self.max = self.max.max(other.max);
    }

    pub(crate) fn count(&self) -> u64 {
        self.total
    }

    pub(crate) fn max(&self) -> Duration {
        Duration::from_micros(self.max)
    }

    /// The `q` quantile (0 < q <= 1), to the bucket's precision, never
    /// above the maximum; zero for no samples.
    pub(crate) fn quantile(&self, q: f64) -> Duration {
        let rank = ((q * self.total as f64).ceil() as u64).clamp(1, self.total.max(1));
        let mut seen = 0;
        for (index, count) in self.counts.iter().enumerate() {
            seen += count;
            if seen >= rank && *count > 0 {
                return Duration::from_micros(Histogram::value_of(index).min(self.max));
            }
        }
        Duration::ZERO
    }

    /// The histogram as one whitespace-free field: `max/index:count,...`.
    pub(crate) fn to_field(&self) -> String {
        let mut field = format!("{}/", self.max);
        for (index, count) in self.counts.iter().enumerate().filter(|(_, c)| **c > 0) {
            field.push_str(&format!("{index}:{count},"));
        }
        field
    }

    /// The inverse of [`to_field`](Histogram::to_field).
    pub(crate) fn from_field(field: &str) -> Histogram {
        fn bad(field: &str) -> ! {
            panic!("not a histogram field: {field:?}")
        }
        let (max, buckets) = field.split_once('/').unwrap_or_else(|| bad(field));
        let mut histogram = Histogram::new();
        histogram.max = max.parse().unwrap_or_else(|_| bad(field));
        for pair in buckets.split(',').filter(|pair| !pair.is_empty()) {
            let (index, count) = pair.split_once(':').unwrap_or_else(|| bad(field));
            let index: usize = index.parse().unwrap_or_else(|_| bad(field));
            let count: u64 = count.parse().unwrap_or_else(|_| bad(field));
            *histogram
                .counts
                .get_mut(index)
                .unwrap_or_else(|| bad(field)) += count;
            histogram.total += count;
        }
        histogram
    }
}

/// The first CR or LF in `bytes`, looked for 8 bytes at a time (the
/// clients read 1 KiB lines; a byte-by-byte search made them the
/// bottleneck of the slow-consumer test).
fn find_line_end(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    // Whether a word has a byte equal to `byte`: exact as a yes or no.
    let has = |word: u64, byte: u8| {
        let x = word ^ (ONES * u64::from(byte));
        x.wrapping_sub(ONES) & !x & HIGHS != 0
    };
    let mut words = bytes.chunks_exact(8);
    let mut start = 0;
    for word in words.by_ref() {
        let word = u64::from_le_bytes(word.try_into().expect("8 bytes"));
        if has(word, b'\n') || has(word, b'\r') {
            break;
        }
        start += 8;
    }
    bytes[start..]
        .iter()
        .position(|&b| b == b'\n' || b == b'\r')
        .map(|at| start + at)
}

/// The state of the chunked transfer coding (RFC 9112 §7.1).
#[derive(Debug)]
enum Chunk {
    /// In a chunk-size line: the size so far, whether a digit was seen,
    /// whether a chunk extension (`;...`) started.
    Size { size: u64, digits: bool, ext: bool },
    /// In a chunk's data, with this many bytes left.
    Data(u64),
    /// The CRLF after a chunk's data: whether the CR was seen.
    DataEnd { cr: bool },
    /// After the last chunk, in the trailer section: the length of the
    /// current line.
    Trailer(usize),
    /// The body is complete.
    Done,
}

/// An event of the stream: its last event ID and its data.
pub(crate) struct SseEvent<'a> {
    pub(crate) id: &'a [u8],
    pub(crate) data: &'a [u8],
}

/// A minimal, exact parser of an HTTP/1.1 chunked body holding a
/// `text/event-stream`, fed the bytes as they come off the socket, in any
/// split: the chunked coding, then lines ending in CRLF, LF or CR, then
/// fields (`data`, `id`, `retry`; comments counted; others ignored), and an
/// event dispatched at each blank line that has data, as the HTML standard's
/// event-stream interpretation does. Holds one line, one event's data and
/// the last ID: a few hundred bytes per connection.
#[derive(Debug)]
pub(crate) struct SseParser {
    chunk: Chunk,
    line: Vec<u8>,
    /// The previous byte ended a line with CR: an LF right after belongs to
    /// it.
    after_cr: bool,
    data: Vec<u8>,
    has_data: bool,
    id: Vec<u8>,
    /// Comment lines seen (heartbeats).
    pub(crate) comments: u64,
    /// The last `retry:` value seen.
    pub(crate) retry: Option<u64>,
}

impl Default for SseParser {
    fn default() -> SseParser {
        SseParser::new()
    }
}

impl SseParser {
    /// The longest line accepted; a longer one is an error.
    const MAX_LINE: usize = 1 << 20;

    pub(crate) fn new() -> SseParser {
        SseParser {
            chunk: Chunk::Size {
                size: 0,
                digits: false,
                ext: false,
            },
            line: Vec::new(),
            after_cr: false,
            data: Vec::new(),
            has_data: false,
            id: Vec::new(),
            comments: 0,
            retry: None,
        }
    }

    /// Whether the last chunk and the trailer section were read: the server
    /// ended the body.
    pub(crate) fn ended(&self) -> bool {
        matches!(self.chunk, Chunk::Done)
    }

    /// Parses `bytes` of the body (after the response head), calling
    /// `on_event` for each event completed.
    ///
    /// # Errors
    ///
    /// A malformed chunked coding, a line over 1 MiB, or bytes after the
    /// end of the body.
    pub(crate) fn feed(
        &mut self,
        mut bytes: &[u8],
        on_event: &mut impl FnMut(SseEvent<'_>),
    ) -> Result<(), String> {
        while let Some((&byte, rest)) = bytes.split_first() {
            match &mut self.chunk {
                Chunk::Size { size, digits, ext } => {
                    bytes = rest;
                    match byte {
                        b'\n' if !*digits => return Err("a chunk-size line without a size".into()),
                        b'\n' if *size == 0 => self.chunk = Chunk::Trailer(0),
                        b'\n' => self.chunk = Chunk::Data(*size),
                        b'\r' => {}
                        b';' => *ext = true,
                        _ if *ext => {}
                        b' ' | b'\t' => {}
                        _ => {
                            let digit = (byte as char)
                                .to_digit(16)
                                .ok_or_else(|| format!("{:?} in a chunk size", byte as char))?;
                            *size = size
                                .checked_mul(16)
                                .map(|s| s + u64::from(digit))
                                .ok_or("a chunk size over 64 bits")?;
                            *digits = true;
                        }
                    }
                }
                Chunk::Data(left) => {
                    let take = bytes
                        .len()
                        .min(usize::try_from(*left).unwrap_or(usize::MAX));
                    let (data, rest) = bytes.split_at(take);
                    *left -= take as u64;
                    if *left == 0 {
                        self.chunk = Chunk::DataEnd { cr: false };
                    }
                    bytes = rest;
                    self.lines(data, on_event)?;
                }
                Chunk::DataEnd { cr } => {
                    bytes = rest;
                    match byte {
                        b'\r' if !*cr => *cr = true,
                        b'\n' => {
                            self.chunk = Chunk::Size {
                                size: 0,
                                digits: false,
                                ext: false,
                            }
                        }
                        _ => return Err("no CRLF after a chunk's data".into()),
                    }
                }
                Chunk::Trailer(len) => {
                    bytes = rest;
                    match byte {
                        b'\n' if *len == 0 => self.chunk = Chunk::Done,
                        b'\n' => *len = 0,
                        b'\r' => {}
                        _ => *len += 1,
                    }
                }
                Chunk::Done => return Err("bytes after the end of the body".into()),
            }
        }
        Ok(())
    }

    /// Splits chunk data into lines.
    fn lines(
        &mut self,
        mut data: &[u8],
        on_event: &mut impl FnMut(SseEvent<'_>),
    ) -> Result<(), String> {
        if self.after_cr && !data.is_empty() {
            // A CR ended the last chunk's line: an LF first is its end too.
            self.after_cr = false;
            if data[0] == b'\n' {
                data = &data[1..];
            }
        }
        while let Some(end) = find_line_end(data) {
            self.line.extend_from_slice(&data[..end]);
            self.line_done(on_event);
            let cr = data[end] == b'\r';
            data = &data[end + 1..];
            if cr {
                match data.first() {
                    Some(b'\n') => data = &data[1..],
                    Some(_) => {}
                    // The LF may come in the next chunk.
                    None => self.after_cr = true,
                }
            }
        }
        self.line.extend_from_slice(data);
        if self.line.len() > SseParser::MAX_LINE {
            return Err(format!("a line over {} bytes", SseParser::MAX_LINE));
        }
        Ok(())
    }

    /// Interprets the line just completed.
    fn line_done(&mut self, on_event: &mut impl FnMut(SseEvent<'_>)) {
        let line = core::mem::take(&mut self.line);
        if line.is_empty() {
            if self.has_data {
                // The data buffer's last LF is not part of the data.
                self.data.pop();
                on_event(SseEvent {
                    id: &self.id,
                    data: &self.data,
                });
            }
            self.data.clear();
            self.has_data = false;
        } else if line[0] == b':' {
            self.comments += 1;
        } else {
            let (name, value) = match line.iter().position(|&b| b == b':') {
                Some(colon) => {
                    let value = &line[colon + 1..];
                    (&line[..colon], value.strip_prefix(b" ").unwrap_or(value))
                }
                None => (&line[..], &[][..]),
            };
            match name {
                b"data" => {
                    self.data.extend_from_slice(value);
                    self.data.push(b'\n');
                    self.has_data = true;
                }
                b"id" if !value.contains(&0) => {
                    self.id.clear();
                    self.id.extend_from_slice(value);
                }
                b"retry" if !value.is_empty() && value.iter().all(u8::is_ascii_digit) => {
                    self.retry = core::str::from_utf8(value)
                        .ok()
                        .and_then(|v| v.parse().ok());
                }
                _ => {}
            }
        }
        // Keep the line's storage for the next one.
        self.line = line;
        self.line.clear();
    }
}
