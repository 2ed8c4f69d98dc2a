//! The client's reconnect policy: [`Reconnect`] and its settings,
//! [`ReconnectConfig`]. The rules, the example of a whole outage and the
//! spec background are on [`Reconnect`], where users read them.

use core::fmt;
use core::time::Duration;

const NANOS_PER_SEC: u128 = 1_000_000_000;

/// How the delay of each attempt is randomized, so that clients that lost
/// the same server at the same moment do not come back in lock-step.
///
/// The random part comes from the `random: u32` passed with each call that
/// may schedule an attempt: `0` gives the least delay, `u32::MAX` the most,
/// and the values between are spread evenly.
///
/// # Example
///
/// ```
/// use core::time::Duration;
/// use ssekit_codec::{Jitter, ReconnectConfig};
///
/// let secs = Duration::from_secs;
/// let config = ReconnectConfig::default().jitter(Jitter::Proportional { percent: 50 });
/// // Attempt 1 with a 4 s reconnection time: between 4 s and 6 s.
/// assert_eq!(config.delay_for(secs(4), 1, None, 0), secs(4));
/// assert_eq!(config.delay_for(secs(4), 1, None, u32::MAX), secs(6));
/// assert_eq!(config.delay_for(secs(4), 1, None, u32::MAX / 5), Duration::from_millis(4400));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Jitter {
    /// No randomness: every client waits exactly the computed delay.
    Off,
    /// Adds a random amount up to `percent` % of the delay, so the delay is
    /// between `d` and `d × (1 + percent / 100)`. It never waits less than
    /// the reconnection time, as the spec asks, and may exceed
    /// [`max_delay`](ReconnectConfig::max_delay) by the same proportion.
    /// The default, at 25 %.
    Proportional {
        /// The most added, as a percentage of the delay; 0 is
        /// [`Jitter::Off`]. Above 100 is allowed (saturating).
        percent: u32,
    },
    /// "Full jitter": a random delay between zero and the computed delay,
    /// which spreads clients the most. It can reconnect sooner than the
    /// reconnection time, which the spec does not do, so it is opt-in; the
    /// delay is still at least [`min_delay`](ReconnectConfig::min_delay)
    /// and at least a `Retry-After`.
    Full,
}

impl Jitter {
    /// The default: [`Jitter::Proportional`] at 25 %. It spreads clients
    /// that dropped together over a quarter of the delay (3 s becomes 3 to
    /// 3.75 s) and keeps the first reconnect close to the server's
    /// reconnection time.
    pub const DEFAULT: Jitter = Jitter::Proportional { percent: 25 };
}

impl Default for Jitter {
    fn default() -> Jitter {
        Jitter::DEFAULT
    }
}

/// The settings of a [`Reconnect`] policy.
///
/// | Setting | Default | Why |
/// |---|---|---|
/// | [`reconnection_time`](Self::reconnection_time) | 3 s | Chromium's; the spec says "a few seconds" |
/// | [`min_delay`](Self::min_delay) | 500 ms | Firefox's floor; a `retry: 0` server cannot cause a busy loop |
/// | [`factor_percent`](Self::factor_percent) | 200 (× 2) | the usual doubling |
/// | [`max_delay`](Self::max_delay) | 60 s | back within a minute of a server's return |
/// | [`jitter`](Self::jitter) | [`Jitter::DEFAULT`] (+0 to 25 %) | breaks lock-step, keeps the spec's minimum |
/// | [`max_attempts`](Self::max_attempts) | none | like `EventSource`; giving up is the program's choice |
/// | [`max_elapsed`](Self::max_elapsed) | none | the same |
/// | [`reset_after`](Self::reset_after) | 30 s | a connection up that long was healthy |
/// | [`idle_timeout`](Self::idle_timeout) | off | the policy cannot know whether the server sends heartbeats |
/// | [`retryable_status`](Self::retryable_status) | 429, 502, 503, 504 | "busy or restarting, come back" |
///
/// Every value is accepted and gives a defined result: a factor of 0 or
/// 100 keeps the delay constant, a huge one jumps to the cap, a cap below
/// the reconnection time is ignored in its favour, and durations saturate
/// at [`Duration::MAX`].
///
/// # Example
///
/// ```
/// use core::time::Duration;
/// use ssekit_codec::{Jitter, ReconnectConfig};
///
/// let secs = Duration::from_secs;
/// let config = ReconnectConfig::default()
///     .max_delay(secs(30))
///     .jitter(Jitter::Off)
///     .max_attempts(Some(10))
///     .max_elapsed(Some(secs(300)))
///     .idle_timeout(Some(secs(45)))
///     .retryable_status(500, true);
///
/// // 3 s, 6 s, 12 s, 24 s, then the 30 s cap.
/// let delays = [1, 2, 3, 4, 5, 6].map(|n| config.delay_for(secs(3), n, None, 0).as_secs());
/// assert_eq!(delays, [3, 6, 12, 24, 30, 30]);
/// assert!(config.is_retryable_status(500));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ReconnectConfig {
    reconnection_time: Duration,
    min_delay: Duration,
    factor_percent: u32,
    max_delay: Duration,
    jitter: Jitter,
    max_attempts: Option<u32>,
    max_elapsed: Option<Duration>,
    reset_after: Duration,
    idle_timeout: Option<Duration>,
    /// One bit per status in `STATUS_MIN..=STATUS_MAX`.
    retryable: [u64; 8],
}

/// The range of statuses that can be marked retryable.
const STATUS_MIN: u16 = 100;
const STATUS_MAX: u16 = 599;

/// The word and bit of `status` in the retryable set, if it is in range.
const fn status_bit(status: u16) -> Option<(usize, u64)> {
    if status < STATUS_MIN || status > STATUS_MAX {
        return None;
    }
    let index = (status - STATUS_MIN) as usize;
    Some((index / 64, 1 << (index % 64)))
}

/// `set` with `status` marked.
const fn with_status(mut set: [u64; 8], status: u16) -> [u64; 8] {
    if let Some((word, bit)) = status_bit(status) {
        set[word] |= bit;
    }
    set
}

impl ReconnectConfig {
    /// The defaults; see the table on [the type](ReconnectConfig).
    pub const DEFAULT: ReconnectConfig = ReconnectConfig {
        reconnection_time: Duration::from_secs(3),
        min_delay: Duration::from_millis(500),
        factor_percent: 200,
        max_delay: Duration::from_secs(60),
        jitter: Jitter::DEFAULT,
        max_attempts: None,
        max_elapsed: None,
        reset_after: Duration::from_secs(30),
        idle_timeout: None,
        retryable: with_status(
            with_status(with_status(with_status([0; 8], 429), 502), 503),
            504,
        ),
    };

    /// Sets the reconnection time used until the server sends a `retry`
    /// field: the delay of the first reconnect. Default 3 s.
    ///
    /// ```
    /// use core::time::Duration;
    /// use ssekit_codec::{Reconnect, ReconnectConfig};
    ///
    /// let config = ReconnectConfig::default().reconnection_time(Duration::from_secs(5));
    /// assert_eq!(Reconnect::new(config).reconnection_time(), Duration::from_secs(5));
    /// ```
    #[must_use]
    pub const fn reconnection_time(mut self, time: Duration) -> ReconnectConfig {
        self.reconnection_time = time;
        self
    }

    /// Sets the shortest delay of any attempt, whatever the server's
    /// reconnection time (a `retry: 0` is raised to it) or the jitter.
    /// Waiting longer than the reconnection time is allowed by the spec.
    /// Default 500 ms, the floor Firefox applies. Zero allows immediate
    /// reconnects; with a zero reconnection time they then never back off.
    ///
    /// ```
    /// use core::time::Duration;
    /// use ssekit_codec::{Jitter, ReconnectConfig};
    ///
    /// let config = ReconnectConfig::default().jitter(Jitter::Off);
    /// assert_eq!(config.delay_for(Duration::ZERO, 1, None, 0), Duration::from_millis(500));
    /// assert_eq!(config.delay_for(Duration::ZERO, 2, None, 0), Duration::from_millis(1000));
    /// ```
    #[must_use]
    pub const fn min_delay(mut self, delay: Duration) -> ReconnectConfig {
        self.min_delay = delay;
        self
    }

    /// Sets the factor by which the delay grows from one attempt to the
    /// next, in percent: 200 doubles it (the default), 150 multiplies it by
    /// 1.5. 100 or less (0 included) keeps it constant at the reconnection
    /// time: a delay never shrinks below it.
    ///
    /// ```
    /// use core::time::Duration;
    /// use ssekit_codec::{Jitter, ReconnectConfig};
    ///
    /// let config = ReconnectConfig::default().factor_percent(150).jitter(Jitter::Off);
    /// let ms = |n| config.delay_for(Duration::from_secs(2), n, None, 0).as_millis();
    /// assert_eq!([ms(1), ms(2), ms(3)], [2000, 3000, 4500]);
    /// ```
    #[must_use]
    pub const fn factor_percent(mut self, percent: u32) -> ReconnectConfig {
        self.factor_percent = percent;
        self
    }

    /// Sets the cap on the backoff. Default 60 s. The cap bounds the growth
    /// only: a reconnection time or a `Retry-After` above it is honoured,
    /// and [`Jitter::Proportional`] may add its share on top.
    ///
    /// ```
    /// use core::time::Duration;
    /// use ssekit_codec::{Jitter, ReconnectConfig};
    ///
    /// let secs = Duration::from_secs;
    /// let config = ReconnectConfig::default().max_delay(secs(10)).jitter(Jitter::Off);
    /// assert_eq!(config.delay_for(secs(3), 10, None, 0), secs(10));
    /// // A server that asks for 20 s gets 20 s.
    /// assert_eq!(config.delay_for(secs(20), 10, None, 0), secs(20));
    /// ```
    #[must_use]
    pub const fn max_delay(mut self, delay: Duration) -> ReconnectConfig {
        self.max_delay = delay;
        self
    }

    /// Sets how delays are randomized. Default [`Jitter::DEFAULT`].
    ///
    /// ```
    /// use ssekit_codec::{Jitter, ReconnectConfig};
    ///
    /// let config = ReconnectConfig::default().jitter(Jitter::Full);
    /// assert_eq!(config.get_jitter(), Jitter::Full);
    /// ```
    #[must_use]
    pub const fn jitter(mut self, jitter: Jitter) -> ReconnectConfig {
        self.jitter = jitter;
        self
    }

    /// Sets the most reconnection attempts in one outage; `None` (the
    /// default) for no limit. `Some(0)` never reconnects. When the last
    /// allowed attempt has failed, the next failure gives
    /// [`GiveUp::MaxAttempts`].
    ///
    /// ```
    /// use core::time::Duration;
    /// use ssekit_codec::{GiveUp, Reconnect, ReconnectConfig};
    ///
    /// let mut policy = Reconnect::new(ReconnectConfig::default().max_attempts(Some(1)));
    /// assert!(policy.on_disconnected(Duration::ZERO, 0).is_ok());
    /// assert_eq!(
    ///     policy.on_disconnected(Duration::from_secs(4), 0),
    ///     Err(GiveUp::MaxAttempts { attempts: 1 })
    /// );
    /// ```
    #[must_use]
    pub const fn max_attempts(mut self, attempts: Option<u32>) -> ReconnectConfig {
        self.max_attempts = attempts;
        self
    }

    /// Sets the longest an outage may last, from its first failure to the
    /// start of its last attempt; `None` (the default) for no limit. The
    /// policy gives [`GiveUp::MaxElapsed`] as soon as the next attempt
    /// could not start within it.
    ///
    /// ```
    /// use core::time::Duration;
    /// use ssekit_codec::{GiveUp, Jitter, Reconnect, ReconnectConfig};
    ///
    /// let secs = Duration::from_secs;
    /// let config = ReconnectConfig::default().jitter(Jitter::Off).max_elapsed(Some(secs(10)));
    /// let mut policy = Reconnect::new(config);
    /// assert_eq!(policy.on_disconnected(secs(0), 0)?.after(), secs(3)); // starts at 3 s
    /// assert_eq!(policy.on_disconnected(secs(3), 0)?.after(), secs(6)); // starts at 9 s
    /// // The next would start at 9 + 12 = 21 s, past 10 s.
    /// assert_eq!(
    ///     policy.on_disconnected(secs(9), 0),
    ///     Err(GiveUp::MaxElapsed { elapsed: secs(9), limit: secs(10) })
    /// );
    /// # Ok::<(), GiveUp>(())
    /// ```
    #[must_use]
    pub const fn max_elapsed(mut self, limit: Option<Duration>) -> ReconnectConfig {
        self.max_elapsed = limit;
        self
    }

    /// Sets how long a connection must stay up for the backoff to reset:
    /// the next failure is then attempt 1 of a new outage, waiting the
    /// reconnection time. Default 30 s.
    ///
    /// The time counts from the response to the end of the connection, or
    /// to its last bytes when the [idle timeout](Self::idle_timeout) ended
    /// it. Delivering events is not enough: a server that sends one event
    /// and crashes would otherwise keep the count at 1 forever.
    /// `Duration::ZERO` resets on every connection that opened.
    ///
    /// ```
    /// use core::time::Duration;
    /// use ssekit_codec::{Jitter, Reconnect, ReconnectConfig, Verdict};
    ///
    /// let secs = Duration::from_secs;
    /// let ok = Some("text/event-stream".as_bytes());
    /// let mut policy = Reconnect::new(ReconnectConfig::default().jitter(Jitter::Off));
    /// assert_eq!(policy.on_disconnected(secs(0), 0)?.attempt(), 1);
    /// assert_eq!(policy.on_response(secs(3), 200, ok, None, 0)?, Verdict::Connected);
    /// // Up for 40 s: healthy, so the next failure starts over.
    /// assert_eq!(policy.on_disconnected(secs(43), 0)?.attempt(), 1);
    /// # Ok::<(), ssekit_codec::GiveUp>(())
    /// ```
    #[must_use]
    pub const fn reset_after(mut self, uptime: Duration) -> ReconnectConfig {
        self.reset_after = uptime;
        self
    }

    /// Sets the idle timeout: a connection with no bytes at all (no event,
    /// no comment, no heartbeat) for this long is taken as dead. `None` or
    /// zero turns it off, the default: a stream may be quiet for hours, and
    /// only the application knows whether its server sends heartbeats. With
    /// a server that sends one every `h`, about `3 × h` is a good value (45 s
    /// for this crate's [`KeepAlive`](crate::KeepAlive) default of 15 s).
    ///
    /// ```
    /// use core::time::Duration;
    /// use ssekit_codec::ReconnectConfig;
    ///
    /// let config = ReconnectConfig::default().idle_timeout(Some(Duration::from_secs(45)));
    /// assert_eq!(config.get_idle_timeout(), Some(Duration::from_secs(45)));
    /// assert_eq!(config.idle_timeout(Some(Duration::ZERO)).get_idle_timeout(), None);
    /// ```
    #[must_use]
    pub const fn idle_timeout(mut self, timeout: Option<Duration>) -> ReconnectConfig {
        self.idle_timeout = match timeout {
            Some(t) if t.is_zero() => None,
            t => t,
        };
        self
    }

    /// Marks an HTTP status as retryable (`true`) or terminal (`false`). A
    /// retryable status reconnects with backoff, honouring `Retry-After`;
    /// any other status but 200 and 204 is a [`GiveUp::Rejected`]. Statuses
    /// outside 100 to 599 cannot be marked and are ignored. 204 is always
    /// [`Verdict::Stop`], and 200 with `text/event-stream` always connects;
    /// marking 200 retries a 200 with another content type.
    ///
    /// ```
    /// use ssekit_codec::ReconnectConfig;
    ///
    /// let config = ReconnectConfig::default().retryable_status(500, true).retryable_status(429, false);
    /// assert!(config.is_retryable_status(500));
    /// assert!(!config.is_retryable_status(429));
    /// assert!(config.is_retryable_status(503));
    /// ```
    #[must_use]
    pub const fn retryable_status(mut self, status: u16, retryable: bool) -> ReconnectConfig {
        if let Some((word, bit)) = status_bit(status) {
            if retryable {
                self.retryable[word] |= bit;
            } else {
                self.retryable[word] &= !bit;
            }
        }
        self
    }

    /// Whether `status` is marked retryable.
    pub const fn is_retryable_status(&self, status: u16) -> bool {
        match status_bit(status) {
            Some((word, bit)) => self.retryable[word] & bit != 0,
            None => false,
        }
    }

    /// The reconnection time used until the server sends a `retry` field.
    pub const fn get_reconnection_time(&self) -> Duration {
        self.reconnection_time
    }

    /// The shortest delay of any attempt.
    pub const fn get_min_delay(&self) -> Duration {
        self.min_delay
    }

    /// The growth factor of the backoff, in percent.
    pub const fn get_factor_percent(&self) -> u32 {
        self.factor_percent
    }

    /// The cap on the backoff.
    pub const fn get_max_delay(&self) -> Duration {
        self.max_delay
    }

    /// How delays are randomized.
    pub const fn get_jitter(&self) -> Jitter {
        self.jitter
    }

    /// The most attempts in one outage, if limited.
    pub const fn get_max_attempts(&self) -> Option<u32> {
        self.max_attempts
    }

    /// The longest an outage may last, if limited.
    pub const fn get_max_elapsed(&self) -> Option<Duration> {
        self.max_elapsed
    }

    /// How long a connection must stay up for the backoff to reset.
    pub const fn get_reset_after(&self) -> Duration {
        self.reset_after
    }

    /// The idle timeout, if on.
    pub const fn get_idle_timeout(&self) -> Option<Duration> {
        self.idle_timeout
    }

    /// The delay of attempt `attempt` of an outage (counting from 1; 0 is
    /// taken as 1) with the given reconnection time, `Retry-After` and
    /// random value; see [`Reconnect`](crate::Reconnect#the-delay) for the
    /// rule. This is what [`Reconnect`] uses; it is here to compute or
    /// print a schedule. The work is bounded whatever the inputs (a few
    /// thousand steps at worst, for a factor just above 100 and no cap).
    ///
    /// ```
    /// use core::time::Duration;
    /// use ssekit_codec::ReconnectConfig;
    ///
    /// let secs = Duration::from_secs;
    /// let config = ReconnectConfig::default(); // × 2, cap 60 s, +0 to 25 %
    /// assert_eq!(config.delay_for(secs(3), 3, None, 0), secs(12));
    /// assert_eq!(config.delay_for(secs(3), 3, None, u32::MAX), secs(15));
    /// assert_eq!(config.delay_for(secs(3), 20, None, 0), secs(60));
    /// // Retry-After wins when longer, and the jitter adds to it.
    /// assert_eq!(config.delay_for(secs(3), 1, Some(secs(120)), 0), secs(120));
    /// assert_eq!(config.delay_for(secs(3), 1, Some(secs(120)), u32::MAX), secs(150));
    /// ```
    pub fn delay_for(
        &self,
        reconnection_time: Duration,
        attempt: u32,
        retry_after: Option<Duration>,
        random: u32,
    ) -> Duration {
        let min = self.min_delay.as_nanos();
        let floor = reconnection_time.as_nanos().max(min);
        let cap = self.max_delay.as_nanos();
        let backoff = grow(floor, self.factor_percent, cap, attempt)
            .min(cap)
            .max(floor);
        let retry_after = retry_after.map_or(0, |d| d.as_nanos());
        let target = backoff.max(retry_after);
        let nanos = match self.jitter {
            Jitter::Off => target,
            Jitter::Proportional { percent } => {
                let span = target.saturating_mul(u128::from(percent)) / 100;
                target.saturating_add(fraction(span, random))
            }
            Jitter::Full => fraction(target, random).max(min).max(retry_after),
        };
        duration_from_nanos(nanos)
    }

    /// Classifies a response by its status, `Content-Type` value and
    /// `Retry-After` (already parsed by the HTTP layer, from seconds or a
    /// date, into a delay from now):
    ///
    /// - 204: [`ResponseClass::Stop`]; the server says there is nothing
    ///   more. Not an error.
    /// - 200 with `text/event-stream` (ASCII case ignored, parameters such
    ///   as `; charset=utf-8` and surrounding spaces ignored):
    ///   [`ResponseClass::Connected`].
    /// - a [retryable status](Self::retryable_status):
    ///   [`ResponseClass::Retry`], carrying the `Retry-After`.
    /// - anything else, a 200 with another or no content type included:
    ///   [`ResponseClass::Fail`], with a [`ResponseError`] holding the
    ///   status and the content type.
    ///
    /// ```
    /// use core::time::Duration;
    /// use ssekit_codec::{ReconnectConfig, ResponseClass};
    ///
    /// let config = ReconnectConfig::default();
    /// let ct = Some("Text/Event-Stream; charset=utf-8".as_bytes());
    /// assert_eq!(config.classify(200, ct, None), ResponseClass::Connected);
    /// assert_eq!(config.classify(204, None, None), ResponseClass::Stop);
    /// let later = Some(Duration::from_secs(30));
    /// assert_eq!(config.classify(503, None, later), ResponseClass::Retry { retry_after: later });
    ///
    /// let ResponseClass::Fail(err) = config.classify(200, Some(b"text/html"), None) else { panic!() };
    /// assert_eq!((err.status(), err.content_type()), (200, Some(&b"text/html"[..])));
    /// ```
    pub fn classify(
        &self,
        status: u16,
        content_type: Option<&[u8]>,
        retry_after: Option<Duration>,
    ) -> ResponseClass {
        if status == 204 {
            ResponseClass::Stop
        } else if status == 200 && content_type.is_some_and(is_event_stream) {
            ResponseClass::Connected
        } else if self.is_retryable_status(status) {
            ResponseClass::Retry { retry_after }
        } else {
            ResponseClass::Fail(ResponseError::new(status, content_type))
        }
    }
}

impl Default for ReconnectConfig {
    fn default() -> ReconnectConfig {
        ReconnectConfig::DEFAULT
    }
}

/// `floor × (percent / 100)^(attempt - 1)` in nanoseconds, rounded up at
/// each step, stopping once it reaches `cap`. Rounding up makes every
/// factor above 100 grow a non-zero delay, so the loop ends at the cap
/// within a few thousand steps even for a factor of 101 and `Duration::MAX`.
fn grow(floor: u128, percent: u32, cap: u128, attempt: u32) -> u128 {
    let mut delay = floor;
    if percent <= 100 || delay == 0 {
        return delay;
    }
    let percent = u128::from(percent);
    let mut steps = attempt.saturating_sub(1);
    while steps > 0 && delay < cap {
        // `delay < cap <= Duration::MAX` (under 2^95 ns) and `percent` is
        // under 2^32, so the product fits in a u128; saturate anyway.
        delay = delay.saturating_mul(percent).div_ceil(100);
        steps -= 1;
    }
    delay
}

/// `n × random / u32::MAX`, rounded down, without overflow.
fn fraction(n: u128, random: u32) -> u128 {
    let max = u128::from(u32::MAX);
    let random = u128::from(random);
    // (q × max + r) × random / max = q × random + r × random / max
    (n / max) * random + (n % max) * random / max
}

/// `nanos` as a `Duration`, saturating at `Duration::MAX`.
fn duration_from_nanos(nanos: u128) -> Duration {
    match u64::try_from(nanos / NANOS_PER_SEC) {
        // The remainder is below 10^9, so it fits in a u32 and `new` does
        // not carry into the seconds.
        Ok(secs) => Duration::new(secs, (nanos % NANOS_PER_SEC) as u32),
        Err(_) => Duration::MAX,
    }
}

/// Whether a `Content-Type` value is `text/event-stream`, ignoring ASCII
/// case, parameters and HTTP whitespace around the type.
fn is_event_stream(content_type: &[u8]) -> bool {
    let essence = match content_type.iter().position(|&b| b == b';') {
        Some(semicolon) => &content_type[..semicolon],
        None => content_type,
    };
    trim_http_whitespace(essence).eq_ignore_ascii_case(b"text/event-stream")
}

fn trim_http_whitespace(mut bytes: &[u8]) -> &[u8] {
    let is_space = |b: &u8| matches!(b, b' ' | b'\t' | b'\r' | b'\n');
    while let [first, rest @ ..] = bytes {
        if !is_space(first) {
            break;
        }
        bytes = rest;
    }
    while let [rest @ .., last] = bytes {
        if !is_space(last) {
            break;
        }
        bytes = rest;
    }
    bytes
}

/// What a response means, from [`ReconnectConfig::classify`]: the rules
/// alone, with no state. [`Reconnect::on_response`] acts on it.
///
/// # Example
///
/// ```
/// use ssekit_codec::{ReconnectConfig, ResponseClass};
///
/// let config = ReconnectConfig::default();
/// assert_eq!(config.classify(502, Some(b"text/html"), None), ResponseClass::Retry { retry_after: None });
/// assert!(matches!(config.classify(404, None, None), ResponseClass::Fail(e) if e.status() == 404));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResponseClass {
    /// 200 with `text/event-stream`: read the body.
    Connected,
    /// 204 No Content: the server asks the client not to reconnect.
    Stop,
    /// A retryable status: reconnect, waiting at least `retry_after`.
    Retry {
        /// The response's `Retry-After`, as passed in.
        retry_after: Option<Duration>,
    },
    /// Not an event stream: the spec's "fail the connection"; do not
    /// reconnect.
    Fail(ResponseError),
}

/// A response that is not an event stream: its status, and its
/// `Content-Type` as far as [`MAX_CONTENT_TYPE`](Self::MAX_CONTENT_TYPE)
/// bytes.
///
/// It holds no body: this crate does not allocate here, and the HTTP layer,
/// which has the body, wraps this error with an excerpt of it.
///
/// # Example
///
/// ```
/// use ssekit_codec::{ReconnectConfig, ResponseClass};
///
/// let config = ReconnectConfig::default();
/// let ResponseClass::Fail(err) = config.classify(404, Some(b"text/html"), None) else { panic!() };
/// assert_eq!(err.status(), 404);
/// assert_eq!(err.content_type(), Some(&b"text/html"[..]));
/// assert_eq!(err.to_string(), "HTTP status 404 where 200 was expected (content type `text/html`)");
///
/// let ResponseClass::Fail(err) = config.classify(200, Some(b"application/json"), None) else { panic!() };
/// assert_eq!(
///     err.to_string(),
///     "content type `application/json` where text/event-stream was expected (HTTP status 200)"
/// );
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ResponseError {
    status: u16,
    /// The first `content_type_len` bytes are the content type; the rest
    /// are zero.
    content_type: [u8; ResponseError::MAX_CONTENT_TYPE],
    content_type_len: u8,
    has_content_type: bool,
    truncated: bool,
}

impl ResponseError {
    /// The most bytes of the content type kept: 64, enough for any real
    /// media type with a parameter or two.
    pub const MAX_CONTENT_TYPE: usize = 64;

    fn new(status: u16, content_type: Option<&[u8]>) -> ResponseError {
        let mut err = ResponseError {
            status,
            content_type: [0; ResponseError::MAX_CONTENT_TYPE],
            content_type_len: 0,
            has_content_type: content_type.is_some(),
            truncated: false,
        };
        if let Some(value) = content_type {
            let kept = value.len().min(ResponseError::MAX_CONTENT_TYPE);
            err.content_type[..kept].copy_from_slice(&value[..kept]);
            // `kept` is at most 64.
            err.content_type_len = kept as u8;
            err.truncated = kept < value.len();
        }
        err
    }

    /// The response's status. A 200 means the content type was wrong.
    pub const fn status(&self) -> u16 {
        self.status
    }

    /// The response's `Content-Type` value, cut at
    /// [`MAX_CONTENT_TYPE`](Self::MAX_CONTENT_TYPE) bytes, or `None` if it
    /// had none.
    ///
    /// ```
    /// use ssekit_codec::{ReconnectConfig, ResponseClass, ResponseError};
    ///
    /// let long = [b'x'; 100];
    /// let ResponseClass::Fail(err) = ReconnectConfig::default().classify(200, Some(&long), None)
    /// else { panic!() };
    /// assert_eq!(err.content_type().map(<[u8]>::len), Some(ResponseError::MAX_CONTENT_TYPE));
    /// assert!(err.is_content_type_truncated());
    /// ```
    pub fn content_type(&self) -> Option<&[u8]> {
        if self.has_content_type {
            self.content_type.get(..usize::from(self.content_type_len))
        } else {
            None
        }
    }

    /// Whether the content type was longer than
    /// [`MAX_CONTENT_TYPE`](Self::MAX_CONTENT_TYPE) and was cut.
    pub const fn is_content_type_truncated(&self) -> bool {
        self.truncated
    }
}

/// The content type for messages: printable ASCII as it is, other bytes
/// escaped, `...` when cut.
struct ContentType<'a>(&'a ResponseError);

impl fmt::Display for ContentType<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bytes = self.0.content_type().unwrap_or_default();
        write!(f, "{}", bytes.escape_ascii())?;
        if self.0.truncated {
            f.write_str("...")?;
        }
        Ok(())
    }
}

impl fmt::Debug for ResponseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        struct Quoted<'a>(ContentType<'a>);
        impl fmt::Debug for Quoted<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "\"{}\"", self.0)
            }
        }
        let content_type = self.has_content_type.then_some(Quoted(ContentType(self)));
        f.debug_struct("ResponseError")
            .field("status", &self.status)
            .field("content_type", &content_type)
            .finish()
    }
}

impl fmt::Display for ResponseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let content_type = ContentType(self);
        match (self.status, self.has_content_type) {
            (200, true) => write!(
                f,
                "content type `{content_type}` where text/event-stream was expected (HTTP status 200)"
            ),
            (200, false) => f.write_str(
                "no content type where text/event-stream was expected (HTTP status 200)",
            ),
            (status, true) => write!(
                f,
                "HTTP status {status} where 200 was expected (content type `{content_type}`)"
            ),
            (status, false) => write!(f, "HTTP status {status} where 200 was expected"),
        }
    }
}

impl core::error::Error for ResponseError {}

/// Why the policy stopped reconnecting: the error that ends the event
/// source.
///
/// # Example
///
/// ```
/// use core::time::Duration;
/// use ssekit_codec::{GiveUp, Reconnect, ReconnectConfig};
///
/// let mut policy = Reconnect::new(ReconnectConfig::default().max_attempts(Some(0)));
/// let err = policy.on_disconnected(Duration::ZERO, 0).unwrap_err();
/// assert_eq!(err, GiveUp::MaxAttempts { attempts: 0 });
/// assert_eq!(err.to_string(), "gave up after 0 reconnection attempts (max_attempts is 0)");
///
/// let err = policy.on_response(Duration::ZERO, 401, None, None, 0).unwrap_err();
/// assert_eq!(err.to_string(), "the server rejected the event stream: HTTP status 401 where 200 was expected");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum GiveUp {
    /// The response is not an event stream and its status is not
    /// retryable. The spec fails the connection: no reconnect.
    Rejected(ResponseError),
    /// The outage used up [`max_attempts`](ReconnectConfig::max_attempts).
    MaxAttempts {
        /// The attempts made in this outage: the limit.
        attempts: u32,
    },
    /// The next attempt could not start within
    /// [`max_elapsed`](ReconnectConfig::max_elapsed) of the outage's first
    /// failure.
    MaxElapsed {
        /// How long the outage had lasted when the policy gave up.
        elapsed: Duration,
        /// The limit.
        limit: Duration,
    },
}

impl fmt::Display for GiveUp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GiveUp::Rejected(err) => write!(f, "the server rejected the event stream: {err}"),
            GiveUp::MaxAttempts { attempts } => write!(
                f,
                "gave up after {attempts} reconnection attempts (max_attempts is {attempts})"
            ),
            GiveUp::MaxElapsed { elapsed, limit } => write!(
                f,
                "gave up reconnecting {elapsed:?} into the outage: \
                 the next attempt would start after max_elapsed ({limit:?})"
            ),
        }
    }
}

impl core::error::Error for GiveUp {}

/// When to connect again: wait [`after`](Self::after), then send the
/// request (with the `Last-Event-ID`).
///
/// # Example
///
/// ```
/// use core::time::Duration;
/// use ssekit_codec::{Jitter, Reconnect, ReconnectConfig};
///
/// let mut policy = Reconnect::new(ReconnectConfig::default().jitter(Jitter::Off));
/// let next = policy.on_disconnected(Duration::from_secs(10), 0)?;
/// assert_eq!(next.attempt(), 1);
/// assert_eq!(next.after(), Duration::from_secs(3));
/// assert_eq!(next.at(), Some(Duration::from_secs(13)));
/// # Ok::<(), ssekit_codec::GiveUp>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[must_use = "the caller must wait `after()` before connecting again"]
pub struct NextAttempt {
    after: Duration,
    attempt: u32,
    at: Option<Duration>,
}

impl NextAttempt {
    /// How long to wait, from the `now` of the call that returned this.
    pub const fn after(&self) -> Duration {
        self.after
    }

    /// The same as an instant on the caller's clock, to arm a timer for;
    /// `None` if it would not fit in a `Duration`.
    pub const fn at(&self) -> Option<Duration> {
        self.at
    }

    /// Which attempt of the outage this is, from 1; it stays at `u32::MAX`
    /// once there.
    pub const fn attempt(&self) -> u32 {
        self.attempt
    }
}

/// What to do with a response, from [`Reconnect::on_response`].
///
/// # Example
///
/// ```
/// use core::time::Duration;
/// use ssekit_codec::{Reconnect, Verdict};
///
/// let mut policy = Reconnect::default();
/// assert_eq!(policy.on_response(Duration::ZERO, 204, None, None, 0)?, Verdict::Stop);
/// assert!(matches!(
///     policy.on_response(Duration::ZERO, 503, None, None, 0)?,
///     Verdict::Reconnect(next) if next.attempt() == 1
/// ));
/// # Ok::<(), ssekit_codec::GiveUp>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[must_use]
pub enum Verdict {
    /// The stream is open: read the body, reporting bytes with
    /// [`on_activity`](Reconnect::on_activity) and its end with
    /// [`on_disconnected`](Reconnect::on_disconnected).
    Connected,
    /// 204 No Content: the server asks the client to stop. Not an error;
    /// do not reconnect.
    Stop,
    /// A retryable status: this attempt failed; try again later.
    Reconnect(NextAttempt),
}

/// Where the current connection stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Link {
    /// No open stream: before the first response, between attempts, after
    /// a verdict other than `Connected`.
    Down,
    /// The stream opened at `since`; bytes were last seen at `last`.
    Up { since: Duration, last: Duration },
    /// The idle timeout ended the stream that opened at `since` and was
    /// last heard from at `last`; waiting for `on_disconnected`.
    Idle { since: Duration, last: Duration },
}

/// The reconnect policy of one event source: when to connect again, and
/// when to stop.
///
/// A state machine that sees one event source's connection: the caller does
/// the IO and tells it what happened, with the time, and it answers with
/// what to do next:
///
/// - [`on_response`](Reconnect::on_response): the response's status,
///   `Content-Type` and `Retry-After` arrived. The answer is a [`Verdict`]:
///   read the body, stop (204), or reconnect after a delay; or a [`GiveUp`]
///   error (a response that is not an event stream, or too many attempts).
/// - [`on_retry_field`](Reconnect::on_retry_field): the decoder read a
///   `retry` field; it sets the reconnection time.
/// - [`on_activity`](Reconnect::on_activity): bytes of the body arrived
///   (events, comments, heartbeats).
/// - [`poll_timeout`](Reconnect::poll_timeout) and
///   [`handle_timeout`](Reconnect::handle_timeout): the idle deadline, in
///   quinn-proto's style, when an [idle timeout](ReconnectConfig::idle_timeout)
///   is set.
/// - [`on_disconnected`](Reconnect::on_disconnected): the connection ended,
///   or the request failed before any response (a network error). The
///   answer is a [`NextAttempt`] (how long to wait, which attempt it is) or
///   a [`GiveUp`] error.
///
/// Time is passed in as a [`Duration`] since an origin the caller chooses;
/// nothing here reads a clock. Randomness for the jitter is passed in too,
/// as a `u32` the caller draws for each call that may schedule an attempt,
/// so the same inputs always give the same delays. The last event ID is not
/// kept here: the decoder has it (`EventDecoder::last_event_id`, with the
/// `bytes` feature), and the HTTP layer sends it with each new request.
///
/// # Example: one outage, from the drop to giving up
///
/// ```
/// use core::time::Duration;
/// use ssekit_codec::{GiveUp, Jitter, Reconnect, ReconnectConfig, Verdict};
///
/// let secs = Duration::from_secs;
/// let event_stream = Some("text/event-stream".as_bytes());
/// // No jitter, so the delays below are exact; at most 4 attempts per outage.
/// let config = ReconnectConfig::default().jitter(Jitter::Off).max_attempts(Some(4));
/// let mut policy = Reconnect::new(config);
///
/// // Connected at 0 s; the stream sets the reconnection time to 1 s.
/// assert_eq!(policy.on_response(secs(0), 200, event_stream, None, 0)?, Verdict::Connected);
/// policy.on_retry_field(1000);
///
/// // The connection drops at 100 s: the first reconnect waits the
/// // reconnection time.
/// let next = policy.on_disconnected(secs(100), 0)?;
/// assert_eq!((next.attempt(), next.after()), (1, secs(1)));
///
/// // At 101 s the server refuses the connection: the delay doubles.
/// let next = policy.on_disconnected(secs(101), 0)?;
/// assert_eq!((next.attempt(), next.after()), (2, secs(2)));
///
/// // At 103 s a 503 asks for 10 s: that attempt waits at least as long.
/// let Verdict::Reconnect(next) = policy.on_response(secs(103), 503, None, Some(secs(10)), 0)?
/// else { unreachable!() };
/// assert_eq!((next.attempt(), next.after()), (3, secs(10)));
///
/// // At 113 s the stream opens but drops 2 s later: a connection that did
/// // not stay up for `reset_after` (30 s) does not reset the count.
/// assert_eq!(policy.on_response(secs(113), 200, event_stream, None, 0)?, Verdict::Connected);
/// let next = policy.on_disconnected(secs(115), 0)?;
/// assert_eq!((next.attempt(), next.after()), (4, secs(8)));
///
/// // The fourth attempt fails too: that was the last one.
/// assert_eq!(policy.on_disconnected(secs(123), 0), Err(GiveUp::MaxAttempts { attempts: 4 }));
/// # Ok::<(), GiveUp>(())
/// ```
///
/// # Example: a driver loop
///
/// ```
/// use core::time::Duration;
/// use ssekit_codec::{GiveUp, Reconnect, ReconnectConfig, Verdict};
///
/// // A fake server: a network error, a 503, then streams that open and
/// // fall silent at once.
/// let mut server = [None, Some(503)].into_iter().chain(core::iter::repeat(Some(200)));
/// let config = ReconnectConfig::default()
///     .idle_timeout(Some(Duration::from_secs(45)))
///     .max_attempts(Some(3));
/// let mut policy = Reconnect::new(config);
/// let mut now = Duration::ZERO;
/// let mut random = 12345u32; // from the caller's RNG
///
/// let outcome: Result<(), GiveUp> = loop {
///     // Send the request (with the decoder's last event ID); `None` is a
///     // network error.
///     let next = match server.next().unwrap() {
///         None => policy.on_disconnected(now, random),
///         Some(status) => {
///             let content_type = Some("text/event-stream".as_bytes());
///             match policy.on_response(now, status, content_type, None, random) {
///                 Ok(Verdict::Connected) => {
///                     // Read the body, calling `on_activity` for its bytes and
///                     // `on_retry_field` for its `retry` fields, with a timer
///                     // armed for `poll_timeout`. Here it stays silent.
///                     now = policy.poll_timeout().unwrap();
///                     assert!(policy.handle_timeout(now), "idle: close the connection");
///                     policy.on_disconnected(now, random)
///                 }
///                 Ok(Verdict::Stop) => break Ok(()),
///                 Ok(Verdict::Reconnect(next)) => Ok(next),
///                 Err(err) => Err(err),
///             }
///         }
///     };
///     match next {
///         Ok(next) => now += next.after(), // sleep, then connect again
///         Err(err) => break Err(err),
///     }
///     random = random.wrapping_mul(1_103_515_245).wrapping_add(12345);
/// };
/// // Attempts 1 (network error), 2 (503), 3 (a silent stream, not healthy),
/// // then the second silent stream ends the outage.
/// assert_eq!(outcome, Err(GiveUp::MaxAttempts { attempts: 3 }));
/// ```
///
/// # The delay
///
/// For attempt `n` (counting from 1 in each outage), with the reconnection
/// time `r` raised to at least [`min_delay`](ReconnectConfig::min_delay):
///
/// 1. the backoff is `r × factor^(n-1)`, but no more than
///    [`max_delay`](ReconnectConfig::max_delay) and never less than `r`
///    (a server asking for more than the cap gets what it asked for);
/// 2. a `Retry-After` on the response raises it to at least that;
/// 3. the [`Jitter`] adds a random part (the default), or, with
///    [`Jitter::Full`], picks a random point below it.
///
/// [`ReconnectConfig::delay_for`] is this computation on its own.
///
/// `Reconnect` is `Clone` but deliberately not `Copy`: a silent copy would
/// count attempts on the copy and lose them.
///
/// # Counting
///
/// An *outage* starts at the first failure after a healthy connection (or
/// the first failure ever) and ends when a connection has stayed up for
/// [`reset_after`](ReconnectConfig::reset_after). Every failure in it counts:
/// a network error, a retryable status, and a connection that opened but
/// dropped before `reset_after`. A `200` alone resets nothing, so a server
/// that accepts and closes at once cannot keep the client at attempt 1
/// forever. [`max_attempts`](ReconnectConfig::max_attempts) bounds the
/// attempts of one outage, and [`max_elapsed`](ReconnectConfig::max_elapsed)
/// its length: the policy gives up as soon as the next attempt could not
/// start within it, rather than sleeping into the limit.
///
/// # Background
///
/// The WHATWG HTML standard's server-sent events section gives every event
/// source a *reconnection time*. It starts at a value the user agent picks,
/// a few seconds (Chromium uses 3 s, Firefox 5 s); a `retry` field whose
/// value is all ASCII digits replaces it, in milliseconds.
///
/// When the connection closes, or the request fails with a network error,
/// the client *reestablishes the connection*: it waits the reconnection
/// time, may wait longer (the standard suggests exponential backoff after a
/// failed attempt, or waiting for the network to come back), then sends the
/// request again with the last event ID in a `Last-Event-ID` header.
///
/// A response opens the stream only if its status is 200 and its
/// `Content-Type` is `text/event-stream`, parameters aside. Any other
/// response *fails the connection*: the source is closed and does not
/// reconnect. The authoring notes add that a server can stop a client from
/// reconnecting by answering 204 No Content.
///
/// This policy keeps those rules, and adds what a program needs and a
/// browser tab does not: backoff with jitter, a cap, bounds on attempts and
/// time, retrying the statuses that mean "busy, come back" (429, 502, 503,
/// 504) with their `Retry-After`, and an idle timeout for connections that
/// died without closing.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Reconnect {
    config: ReconnectConfig,
    reconnection_time: Duration,
    /// Attempts scheduled in the current outage.
    attempts: u32,
    /// When the current outage began; `None` when there is none.
    outage_since: Option<Duration>,
    link: Link,
}

impl Reconnect {
    /// A policy with these settings, before its first connection.
    ///
    /// ```
    /// use ssekit_codec::{Reconnect, ReconnectConfig};
    ///
    /// let policy = Reconnect::new(ReconnectConfig::DEFAULT);
    /// assert_eq!(policy.attempts(), 0);
    /// assert_eq!(policy.poll_timeout(), None);
    /// ```
    pub const fn new(config: ReconnectConfig) -> Reconnect {
        Reconnect {
            config,
            reconnection_time: config.reconnection_time,
            attempts: 0,
            outage_since: None,
            link: Link::Down,
        }
    }

    /// The settings.
    pub const fn config(&self) -> &ReconnectConfig {
        &self.config
    }

    /// The reconnection time: the server's latest `retry`, or the
    /// configured one before any.
    pub const fn reconnection_time(&self) -> Duration {
        self.reconnection_time
    }

    /// The attempts scheduled in the current outage; 0 when there is none.
    pub const fn attempts(&self) -> u32 {
        self.attempts
    }

    /// When the current outage began (its first failure), if there is one.
    pub const fn outage_started(&self) -> Option<Duration> {
        self.outage_since
    }

    /// Whether a stream is open: a response was
    /// [`Connected`](Verdict::Connected) and neither its end nor its idle
    /// timeout has been reported since.
    pub const fn is_connected(&self) -> bool {
        matches!(self.link, Link::Up { .. })
    }

    /// Reports a response at `now`: its status, its `Content-Type` value
    /// and its `Retry-After`, parsed into a delay. `random` is a fresh
    /// random value, used only if the verdict is to reconnect.
    ///
    /// The rules are [`ReconnectConfig::classify`]'s. A retryable status
    /// counts as a failed attempt and is scheduled like
    /// [`on_disconnected`](Self::on_disconnected), waiting at least the
    /// `Retry-After`. A `Connected` response resets nothing by itself; the
    /// connection must stay up for
    /// [`reset_after`](ReconnectConfig::reset_after).
    ///
    /// # Errors
    ///
    /// [`GiveUp::Rejected`] for a response that is not an event stream and
    /// not retryable; [`GiveUp::MaxAttempts`] or [`GiveUp::MaxElapsed`] for
    /// a retryable one past the limits.
    ///
    /// ```
    /// use core::time::Duration;
    /// use ssekit_codec::{GiveUp, Reconnect, Verdict};
    ///
    /// let mut policy = Reconnect::default();
    /// let ok = Some("text/event-stream;charset=UTF-8".as_bytes());
    /// assert_eq!(policy.on_response(Duration::ZERO, 200, ok, None, 0)?, Verdict::Connected);
    /// assert!(policy.is_connected());
    ///
    /// let html = Some("text/html".as_bytes());
    /// let err = policy.on_response(Duration::ZERO, 404, html, None, 0).unwrap_err();
    /// assert!(matches!(err, GiveUp::Rejected(e) if e.status() == 404));
    /// # Ok::<(), GiveUp>(())
    /// ```
    pub fn on_response(
        &mut self,
        now: Duration,
        status: u16,
        content_type: Option<&[u8]>,
        retry_after: Option<Duration>,
        random: u32,
    ) -> Result<Verdict, GiveUp> {
        // A response while a stream is open means the caller dropped that
        // stream without saying so: end it, without counting a failure.
        self.end_link(now);
        match self.config.classify(status, content_type, retry_after) {
            ResponseClass::Connected => {
                self.link = Link::Up {
                    since: now,
                    last: now,
                };
                Ok(Verdict::Connected)
            }
            ResponseClass::Stop => Ok(Verdict::Stop),
            ResponseClass::Retry { retry_after } => self
                .schedule(now, retry_after, random)
                .map(Verdict::Reconnect),
            ResponseClass::Fail(err) => Err(GiveUp::Rejected(err)),
        }
    }

    /// Reports a `retry` field's value, in milliseconds, as the decoder
    /// gives it ([`Field::Retry`](crate::Field::Retry), `Event::retry`):
    /// the new reconnection time, from the next attempt on.
    ///
    /// ```
    /// use core::time::Duration;
    /// use ssekit_codec::Reconnect;
    ///
    /// let mut policy = Reconnect::default();
    /// policy.on_retry_field(10_000);
    /// assert_eq!(policy.reconnection_time(), Duration::from_secs(10));
    /// ```
    pub fn on_retry_field(&mut self, ms: u64) {
        self.reconnection_time = Duration::from_millis(ms);
    }

    /// Reports that bytes of the body arrived at `now`: events, comments,
    /// heartbeats, or any part of them. It pushes the idle deadline back,
    /// and once the stream has been up for
    /// [`reset_after`](ReconnectConfig::reset_after) it ends the outage,
    /// so [`attempts`](Self::attempts) reads 0 while a healthy stream runs.
    /// Ignored when no stream is open.
    ///
    /// ```
    /// use core::time::Duration;
    /// use ssekit_codec::{Reconnect, ReconnectConfig, Verdict};
    ///
    /// let secs = Duration::from_secs;
    /// let mut policy = Reconnect::new(ReconnectConfig::default().idle_timeout(Some(secs(45))));
    /// let verdict = policy.on_response(secs(0), 200, Some(b"text/event-stream"), None, 0)?;
    /// assert_eq!(verdict, Verdict::Connected);
    /// policy.on_activity(secs(20));
    /// assert_eq!(policy.poll_timeout(), Some(secs(65)));
    /// # Ok::<(), ssekit_codec::GiveUp>(())
    /// ```
    pub fn on_activity(&mut self, now: Duration) {
        if let Link::Up { since, last } = self.link {
            let last = last.max(now);
            self.link = Link::Up { since, last };
            if last.saturating_sub(since) >= self.config.reset_after {
                self.end_outage();
            }
        }
    }

    /// When the open stream will be idle-dead, to arm a timer for; `None`
    /// when no stream is open, the idle timeout is off, or the deadline
    /// would not fit in a `Duration`.
    pub fn poll_timeout(&self) -> Option<Duration> {
        match (self.link, self.config.idle_timeout) {
            (Link::Up { last, .. }, Some(timeout)) => last.checked_add(timeout),
            _ => None,
        }
    }

    /// Whether the open stream is idle-dead at `now`. When it is, the
    /// policy takes the stream as ended at its last bytes: close the
    /// connection and call [`on_disconnected`](Self::on_disconnected) for
    /// the delay. A timer that fires early (bytes arrived since it was
    /// armed) gets `false`, and [`poll_timeout`](Self::poll_timeout) gives
    /// the later deadline.
    ///
    /// ```
    /// use core::time::Duration;
    /// use ssekit_codec::{Reconnect, ReconnectConfig, Verdict};
    ///
    /// let secs = Duration::from_secs;
    /// let mut policy = Reconnect::new(ReconnectConfig::default().idle_timeout(Some(secs(45))));
    /// let verdict = policy.on_response(secs(0), 200, Some(b"text/event-stream"), None, 0)?;
    /// assert_eq!(verdict, Verdict::Connected);
    /// policy.on_activity(secs(10));
    /// assert!(!policy.handle_timeout(secs(45)), "early: bytes came at 10 s");
    /// assert!(policy.handle_timeout(secs(55)));
    /// assert_eq!(policy.poll_timeout(), None);
    /// assert_eq!(policy.on_disconnected(secs(55), 0)?.attempt(), 1);
    /// # Ok::<(), ssekit_codec::GiveUp>(())
    /// ```
    #[must_use = "when this returns true, the connection is dead and must be closed"]
    pub fn handle_timeout(&mut self, now: Duration) -> bool {
        match self.link {
            Link::Up { since, last } if self.poll_timeout().is_some_and(|due| due <= now) => {
                self.link = Link::Idle { since, last };
                true
            }
            _ => false,
        }
    }

    /// Reports at `now` that the connection ended (the body finished, an
    /// error while reading, the idle timeout), or that the request failed
    /// before any response (a network error). `random` is a fresh random
    /// value for the jitter.
    ///
    /// A stream that stayed up for
    /// [`reset_after`](ReconnectConfig::reset_after) ends the outage first,
    /// so this is attempt 1, waiting the reconnection time (plus jitter).
    /// Otherwise it is the next attempt of the outage.
    ///
    /// # Errors
    ///
    /// [`GiveUp::MaxAttempts`] when the outage has used up its attempts,
    /// and [`GiveUp::MaxElapsed`] when the next attempt could not start
    /// within its time. The state is left as it was, so asking again gives
    /// the same answer.
    ///
    /// ```
    /// use core::time::Duration;
    /// use ssekit_codec::{Jitter, Reconnect, ReconnectConfig};
    ///
    /// let secs = Duration::from_secs;
    /// let mut policy = Reconnect::new(ReconnectConfig::default().jitter(Jitter::Off));
    /// let delays = [0, 1, 2, 3].map(|t| policy.on_disconnected(secs(t), 0).unwrap().after());
    /// assert_eq!(delays, [secs(3), secs(6), secs(12), secs(24)]);
    /// ```
    pub fn on_disconnected(&mut self, now: Duration, random: u32) -> Result<NextAttempt, GiveUp> {
        self.end_link(now);
        self.schedule(now, None, random)
    }

    /// Forgets the outage and any open stream, keeping the settings and the
    /// reconnection time: for a fresh start decided by the application
    /// (after a [`GiveUp`] or a [`Stop`](Verdict::Stop), say).
    ///
    /// ```
    /// use core::time::Duration;
    /// use ssekit_codec::Reconnect;
    ///
    /// let mut policy = Reconnect::default();
    /// let _ = policy.on_disconnected(Duration::ZERO, 0);
    /// policy.reset();
    /// assert_eq!((policy.attempts(), policy.outage_started()), (0, None));
    /// ```
    pub fn reset(&mut self) {
        self.end_outage();
        self.link = Link::Down;
    }

    /// Closes the current link at `now`, ending the outage if it was up for
    /// `reset_after`.
    fn end_link(&mut self, now: Duration) {
        let uptime = match self.link {
            Link::Up { since, .. } => Some(now.saturating_sub(since)),
            Link::Idle { since, last } => Some(last.saturating_sub(since)),
            Link::Down => None,
        };
        if uptime.is_some_and(|uptime| uptime >= self.config.reset_after) {
            self.end_outage();
        }
        self.link = Link::Down;
    }

    fn end_outage(&mut self) {
        self.attempts = 0;
        self.outage_since = None;
    }

    /// A failure at `now`: the next attempt, or why there is none.
    fn schedule(
        &mut self,
        now: Duration,
        retry_after: Option<Duration>,
        random: u32,
    ) -> Result<NextAttempt, GiveUp> {
        let since = *self.outage_since.get_or_insert(now);
        if let Some(max) = self.config.max_attempts {
            if self.attempts >= max {
                return Err(GiveUp::MaxAttempts {
                    attempts: self.attempts,
                });
            }
        }
        let attempt = self.attempts.saturating_add(1);
        let after = self
            .config
            .delay_for(self.reconnection_time, attempt, retry_after, random);
        if let Some(limit) = self.config.max_elapsed {
            let elapsed = now.saturating_sub(since);
            if elapsed
                .checked_add(after)
                .map_or(true, |start| start > limit)
            {
                return Err(GiveUp::MaxElapsed { elapsed, limit });
            }
        }
        self.attempts = attempt;
        Ok(NextAttempt {
            after,
            attempt,
            at: now.checked_add(after),
        })
    }
}

impl Default for Reconnect {
    /// A policy with [`ReconnectConfig::DEFAULT`].
    fn default() -> Reconnect {
        Reconnect::new(ReconnectConfig::DEFAULT)
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::format;
    use std::string::ToString;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    const EVENT_STREAM: Option<&[u8]> = Some(b"text/event-stream");

    /// The default settings without jitter, so delays are exact.
    fn exact() -> ReconnectConfig {
        ReconnectConfig::default().jitter(Jitter::Off)
    }

    fn connect(policy: &mut Reconnect, now: Duration) {
        assert_eq!(
            policy.on_response(now, 200, EVENT_STREAM, None, 0),
            Ok(Verdict::Connected)
        );
    }

    fn delay(policy: &mut Reconnect, now: Duration) -> (u32, Duration) {
        let next = policy.on_disconnected(now, 0).expect("an attempt");
        (next.attempt(), next.after())
    }

    // The reconnection time and the server's `retry`.

    #[test]
    fn first_reconnect_waits_the_reconnection_time() {
        let mut policy = Reconnect::new(exact());
        connect(&mut policy, secs(0));
        assert_eq!(delay(&mut policy, secs(100)), (1, secs(3)));
    }

    #[test]
    fn first_reconnect_after_a_network_error_waits_the_reconnection_time() {
        let mut policy = Reconnect::new(exact());
        assert_eq!(delay(&mut policy, secs(0)), (1, secs(3)));
    }

    #[test]
    fn server_retry_sets_the_reconnection_time() {
        let mut policy = Reconnect::new(exact());
        connect(&mut policy, secs(0));
        policy.on_retry_field(7_500);
        assert_eq!(policy.reconnection_time(), ms(7_500));
        assert_eq!(delay(&mut policy, secs(100)), (1, ms(7_500)));
    }

    #[test]
    fn server_retry_is_the_base_of_the_backoff() {
        let mut policy = Reconnect::new(exact());
        policy.on_retry_field(1_000);
        let delays = [0, 1, 2, 3].map(|t| delay(&mut policy, secs(t)).1);
        assert_eq!(delays, [secs(1), secs(2), secs(4), secs(8)]);
    }

    #[test]
    fn server_retry_above_the_cap_is_honoured() {
        let mut policy = Reconnect::new(exact());
        policy.on_retry_field(120_000);
        assert_eq!(delay(&mut policy, secs(0)), (1, secs(120)));
        assert_eq!(delay(&mut policy, secs(120)), (2, secs(120)));
    }

    #[test]
    fn configured_reconnection_time_is_used_until_the_server_sends_one() {
        let config = exact().reconnection_time(secs(5));
        assert_eq!(config.get_reconnection_time(), secs(5));
        let mut policy = Reconnect::new(config);
        assert_eq!(delay(&mut policy, secs(0)), (1, secs(5)));
    }

    #[test]
    fn min_delay_raises_a_zero_retry_and_the_backoff_grows_from_it() {
        let mut policy = Reconnect::new(exact());
        policy.on_retry_field(0);
        let delays = [0, 1, 2].map(|t| delay(&mut policy, secs(t)).1);
        assert_eq!(delays, [ms(500), ms(1_000), ms(2_000)]);
    }

    #[test]
    fn zero_min_delay_and_zero_retry_reconnect_at_once() {
        let mut policy = Reconnect::new(exact().min_delay(Duration::ZERO));
        policy.on_retry_field(0);
        assert_eq!(delay(&mut policy, secs(0)), (1, Duration::ZERO));
        assert_eq!(delay(&mut policy, secs(0)), (2, Duration::ZERO));
    }

    // Backoff, cap and factor.

    #[test]
    fn backoff_grows_by_the_factor_up_to_the_cap() {
        let config = exact();
        let delays = [1, 2, 3, 4, 5, 6, 7, 100].map(|n| config.delay_for(secs(3), n, None, 0));
        assert_eq!(
            delays,
            [3, 6, 12, 24, 48, 60, 60, 60].map(secs),
            "3 s doubling, capped at 60 s"
        );
    }

    #[test]
    fn fractional_factor_rounds_up_to_the_nanosecond() {
        let config = exact().factor_percent(150);
        assert_eq!(config.delay_for(secs(2), 2, None, 0), secs(3));
        assert_eq!(config.delay_for(secs(2), 3, None, 0), ms(4_500));
        // 1 ns × 1.5 = 1.5 ns, rounded up to 2 ns: it still grows.
        let tiny = config.min_delay(Duration::ZERO);
        assert_eq!(
            tiny.delay_for(Duration::from_nanos(1), 2, None, 0),
            Duration::from_nanos(2)
        );
    }

    #[test]
    fn cap_below_the_reconnection_time_gives_the_reconnection_time() {
        let config = exact().max_delay(secs(1));
        assert_eq!(config.delay_for(secs(3), 1, None, 0), secs(3));
        assert_eq!(config.delay_for(secs(3), 10, None, 0), secs(3));
        let config = exact().max_delay(Duration::ZERO);
        assert_eq!(config.delay_for(secs(3), 5, None, 0), secs(3));
    }

    #[test]
    fn factor_of_zero_or_one_hundred_keeps_the_delay_constant() {
        for percent in [0, 1, 50, 99, 100] {
            let config = exact().factor_percent(percent);
            for n in [1, 2, 10, u32::MAX] {
                assert_eq!(
                    config.delay_for(secs(3), n, None, 0),
                    secs(3),
                    "{percent}% at {n}"
                );
            }
        }
    }

    #[test]
    fn huge_factor_jumps_to_the_cap() {
        let config = exact().factor_percent(u32::MAX);
        assert_eq!(config.delay_for(secs(3), 1, None, 0), secs(3));
        assert_eq!(config.delay_for(secs(3), 2, None, 0), secs(60));
        assert_eq!(config.delay_for(secs(3), u32::MAX, None, 0), secs(60));
    }

    #[test]
    fn the_slowest_growth_still_ends_at_the_cap() {
        // 1 ns growing by 1 % a step, to a cap of `Duration::MAX`: the
        // worst case of the loop, some 6,000 steps.
        let config = exact()
            .min_delay(Duration::ZERO)
            .factor_percent(101)
            .max_delay(Duration::MAX);
        let tiny = Duration::from_nanos(1);
        assert_eq!(config.delay_for(tiny, u32::MAX, None, 0), Duration::MAX);
        assert_eq!(
            config.delay_for(tiny, 101, None, 0),
            Duration::from_nanos(101)
        );
    }

    #[test]
    fn attempt_zero_is_taken_as_the_first() {
        assert_eq!(exact().delay_for(secs(3), 0, None, 0), secs(3));
    }

    // Jitter.

    #[test]
    fn proportional_jitter_adds_up_to_the_percentage() {
        let config = ReconnectConfig::default(); // +0 to 25 %
        assert_eq!(config.delay_for(secs(4), 1, None, 0), secs(4));
        assert_eq!(config.delay_for(secs(4), 1, None, u32::MAX), secs(5));
        let mid = config.delay_for(secs(4), 1, None, 1 << 31);
        assert!(mid > ms(4_499) && mid < ms(4_501), "{mid:?}");
        // At the cap: 60 s plus up to 15 s.
        assert_eq!(config.delay_for(secs(4), 50, None, u32::MAX), secs(75));
    }

    #[test]
    fn proportional_jitter_never_waits_less_than_the_reconnection_time() {
        let config = ReconnectConfig::default();
        for random in [0, 1, 1000, 1 << 31, u32::MAX - 1, u32::MAX] {
            assert!(config.delay_for(secs(3), 1, None, random) >= secs(3));
        }
    }

    #[test]
    fn full_jitter_spans_zero_to_the_delay_but_not_below_min_delay() {
        let config = ReconnectConfig::default().jitter(Jitter::Full);
        assert_eq!(config.delay_for(secs(4), 1, None, u32::MAX), secs(4));
        assert_eq!(config.delay_for(secs(4), 1, None, u32::MAX / 5), ms(800));
        assert_eq!(config.delay_for(secs(4), 1, None, 0), ms(500), "min_delay");
        assert_eq!(config.delay_for(secs(4), 3, None, u32::MAX), secs(16));
    }

    #[test]
    fn full_jitter_never_waits_less_than_retry_after() {
        let config = ReconnectConfig::default().jitter(Jitter::Full);
        assert_eq!(config.delay_for(secs(4), 1, Some(secs(10)), 0), secs(10));
        assert_eq!(
            config.delay_for(secs(4), 1, Some(secs(10)), u32::MAX),
            secs(10)
        );
    }

    #[test]
    fn jitter_off_is_exact_whatever_the_random_value() {
        for random in [0, 7, u32::MAX] {
            assert_eq!(exact().delay_for(secs(3), 2, None, random), secs(6));
        }
        let zero = ReconnectConfig::default().jitter(Jitter::Proportional { percent: 0 });
        assert_eq!(zero.delay_for(secs(3), 2, None, u32::MAX), secs(6));
    }

    #[test]
    fn the_policy_passes_the_random_value_to_the_jitter() {
        let mut policy = Reconnect::default();
        let next = policy.on_disconnected(secs(0), u32::MAX).unwrap();
        assert_eq!(next.after(), ms(3_750));
        assert_eq!(next.at(), Some(ms(3_750)));
    }

    // Attempts and elapsed time really count.

    #[test]
    fn max_attempts_counts_network_errors() {
        let mut policy = Reconnect::new(exact().max_attempts(Some(3)));
        assert_eq!(delay(&mut policy, secs(0)).0, 1);
        assert_eq!(delay(&mut policy, secs(3)).0, 2);
        assert_eq!(delay(&mut policy, secs(9)).0, 3);
        assert_eq!(policy.attempts(), 3);
        assert_eq!(
            policy.on_disconnected(secs(21), 0),
            Err(GiveUp::MaxAttempts { attempts: 3 })
        );
        // Asking again gives the same answer: nothing wraps or resets.
        assert_eq!(
            policy.on_disconnected(secs(22), 0),
            Err(GiveUp::MaxAttempts { attempts: 3 })
        );
    }

    #[test]
    fn a_connection_that_drops_at_once_still_counts_as_an_attempt() {
        // The bug in other clients: a 200 resets the counter, so a server
        // that accepts and closes keeps the client at attempt 1 forever.
        let mut policy = Reconnect::new(exact().max_attempts(Some(3)));
        let mut now = secs(0);
        for expected in 1..=3 {
            connect(&mut policy, now);
            let (attempt, after) = delay(&mut policy, now + ms(10));
            assert_eq!(attempt, expected);
            now += ms(10) + after;
        }
        connect(&mut policy, now);
        assert_eq!(
            policy.on_disconnected(now + ms(10), 0),
            Err(GiveUp::MaxAttempts { attempts: 3 })
        );
    }

    #[test]
    fn retryable_statuses_count_as_attempts() {
        let mut policy = Reconnect::new(exact().max_attempts(Some(2)));
        for expected in 1..=2 {
            let verdict = policy.on_response(secs(0), 503, None, None, 0).unwrap();
            assert!(matches!(verdict, Verdict::Reconnect(n) if n.attempt() == expected));
        }
        assert_eq!(
            policy.on_response(secs(0), 503, None, None, 0),
            Err(GiveUp::MaxAttempts { attempts: 2 })
        );
    }

    #[test]
    fn max_attempts_zero_never_reconnects() {
        let mut policy = Reconnect::new(exact().max_attempts(Some(0)));
        assert_eq!(
            policy.on_disconnected(secs(0), 0),
            Err(GiveUp::MaxAttempts { attempts: 0 })
        );
    }

    #[test]
    fn unlimited_attempts_saturate_at_u32_max() {
        let mut policy = Reconnect::new(exact());
        policy.attempts = u32::MAX - 1;
        policy.outage_since = Some(secs(0));
        assert_eq!(delay(&mut policy, secs(1)), (u32::MAX, secs(60)));
        assert_eq!(delay(&mut policy, secs(2)), (u32::MAX, secs(60)));
        assert_eq!(policy.attempts(), u32::MAX);
    }

    #[test]
    fn max_attempts_of_u32_max_gives_up_after_u32_max() {
        let mut policy = Reconnect::new(exact().max_attempts(Some(u32::MAX)));
        policy.attempts = u32::MAX - 1;
        policy.outage_since = Some(secs(0));
        assert_eq!(delay(&mut policy, secs(1)).0, u32::MAX);
        assert_eq!(
            policy.on_disconnected(secs(2), 0),
            Err(GiveUp::MaxAttempts { attempts: u32::MAX })
        );
    }

    #[test]
    fn max_elapsed_counts_from_the_first_failure_of_the_outage() {
        let config = exact().max_elapsed(Some(secs(60)));
        let mut policy = Reconnect::new(config);
        connect(&mut policy, secs(0));
        // Up 1000 s, then the outage starts at 1000 s.
        assert_eq!(delay(&mut policy, secs(1000)), (1, secs(3)));
        assert_eq!(policy.outage_started(), Some(secs(1000)));
        assert_eq!(delay(&mut policy, secs(1003)), (2, secs(6)));
        assert_eq!(delay(&mut policy, secs(1009)), (3, secs(12)));
        assert_eq!(delay(&mut policy, secs(1021)), (4, secs(24))); // starts at 45 s
        assert_eq!(
            policy.on_disconnected(secs(1045), 0),
            Err(GiveUp::MaxElapsed {
                elapsed: secs(45),
                limit: secs(60)
            }),
            "the next attempt would start at 45 + 48 = 93 s"
        );
    }

    #[test]
    fn max_elapsed_allows_an_attempt_that_starts_exactly_at_the_limit() {
        let mut policy = Reconnect::new(exact().max_elapsed(Some(secs(9))));
        assert_eq!(delay(&mut policy, secs(0)), (1, secs(3)));
        assert_eq!(delay(&mut policy, secs(3)), (2, secs(6)));
        assert!(policy.on_disconnected(secs(9), 0).is_err());
    }

    #[test]
    fn max_elapsed_counts_short_connections_in_the_outage() {
        let mut policy = Reconnect::new(exact().max_elapsed(Some(secs(20))));
        assert_eq!(delay(&mut policy, secs(0)), (1, secs(3)));
        connect(&mut policy, secs(3));
        assert_eq!(delay(&mut policy, secs(13)), (2, secs(6)), "up 10 s only");
        assert_eq!(
            policy.on_disconnected(secs(19), 0),
            Err(GiveUp::MaxElapsed {
                elapsed: secs(19),
                limit: secs(20)
            })
        );
    }

    #[test]
    fn max_elapsed_zero_never_reconnects() {
        let mut policy = Reconnect::new(exact().max_elapsed(Some(Duration::ZERO)));
        assert_eq!(
            policy.on_disconnected(secs(5), 0),
            Err(GiveUp::MaxElapsed {
                elapsed: Duration::ZERO,
                limit: Duration::ZERO
            })
        );
    }

    #[test]
    fn max_elapsed_gives_up_rather_than_wait_past_it_for_retry_after() {
        let mut policy = Reconnect::new(exact().max_elapsed(Some(secs(60))));
        assert_eq!(
            policy.on_response(secs(0), 503, None, Some(secs(3600)), 0),
            Err(GiveUp::MaxElapsed {
                elapsed: Duration::ZERO,
                limit: secs(60)
            })
        );
    }

    // The reset.

    #[test]
    fn backoff_resets_after_a_connection_that_stayed_up() {
        let mut policy = Reconnect::new(exact());
        assert_eq!(delay(&mut policy, secs(0)), (1, secs(3)));
        assert_eq!(delay(&mut policy, secs(3)), (2, secs(6)));
        connect(&mut policy, secs(9));
        assert_eq!(
            delay(&mut policy, secs(39)),
            (1, secs(3)),
            "up exactly 30 s"
        );
        assert_eq!(policy.outage_started(), Some(secs(39)));
    }

    #[test]
    fn backoff_does_not_reset_after_a_short_connection() {
        let mut policy = Reconnect::new(exact());
        assert_eq!(delay(&mut policy, secs(0)), (1, secs(3)));
        connect(&mut policy, secs(3));
        policy.on_activity(secs(4)); // an event, but only 1 s in
        assert_eq!(delay(&mut policy, secs(32)), (2, secs(6)), "up 29 s");
        assert_eq!(policy.outage_started(), Some(secs(0)));
    }

    #[test]
    fn a_healthy_stream_ends_the_outage_while_it_runs() {
        let mut policy = Reconnect::new(exact());
        let _ = delay(&mut policy, secs(0));
        connect(&mut policy, secs(3));
        policy.on_activity(secs(20));
        assert_eq!(policy.attempts(), 1);
        policy.on_activity(secs(33));
        assert_eq!((policy.attempts(), policy.outage_started()), (0, None));
    }

    #[test]
    fn zero_reset_after_resets_on_every_connection() {
        let mut policy = Reconnect::new(exact().reset_after(Duration::ZERO));
        let _ = delay(&mut policy, secs(0));
        let _ = delay(&mut policy, secs(3));
        connect(&mut policy, secs(9));
        assert_eq!(delay(&mut policy, secs(9)), (1, secs(3)));
    }

    #[test]
    fn an_idle_killed_connection_counts_only_up_to_its_last_bytes() {
        // A server that accepts and hangs must not look healthy because
        // the idle timeout took longer than `reset_after`.
        let config = exact().idle_timeout(Some(secs(45)));
        let mut policy = Reconnect::new(config);
        let _ = delay(&mut policy, secs(0));
        connect(&mut policy, secs(3));
        policy.on_activity(secs(5));
        assert!(policy.handle_timeout(secs(50)));
        assert_eq!(delay(&mut policy, secs(50)), (2, secs(6)), "alive 2 s only");
    }

    #[test]
    fn reset_starts_afresh_and_keeps_the_reconnection_time() {
        let mut policy = Reconnect::new(exact().max_attempts(Some(1)));
        policy.on_retry_field(2_000);
        let _ = delay(&mut policy, secs(0));
        assert!(policy.on_disconnected(secs(2), 0).is_err());
        policy.reset();
        assert_eq!(delay(&mut policy, secs(10)), (1, secs(2)));
    }

    // HTTP responses.

    #[test]
    fn status_204_means_stop_not_an_error() {
        let mut policy = Reconnect::default();
        for ct in [None, EVENT_STREAM, Some(&b"text/html"[..])] {
            assert_eq!(
                policy.on_response(secs(0), 204, ct, None, 0),
                Ok(Verdict::Stop)
            );
        }
        assert_eq!(policy.attempts(), 0);
        // Even if marked retryable.
        let config = ReconnectConfig::default().retryable_status(204, true);
        assert_eq!(config.classify(204, None, None), ResponseClass::Stop);
    }

    #[test]
    fn status_200_with_event_stream_connects() {
        let mut policy = Reconnect::default();
        connect(&mut policy, secs(0));
        assert!(policy.is_connected());
    }

    #[test]
    fn content_type_parameters_case_and_spaces_are_ignored() {
        let config = ReconnectConfig::default();
        for ct in [
            &b"text/event-stream"[..],
            b"TEXT/EVENT-STREAM",
            b"Text/Event-Stream; charset=utf-8",
            b"text/event-stream;charset=\"utf-8\"",
            b" text/event-stream ; a=b; c=d",
            b"\ttext/event-stream\t",
            b"text/event-stream;",
        ] {
            assert_eq!(
                config.classify(200, Some(ct), None),
                ResponseClass::Connected,
                "{}",
                ct.escape_ascii()
            );
        }
    }

    #[test]
    fn wrong_or_missing_content_type_fails_with_it() {
        let config = ReconnectConfig::default();
        for ct in [
            &b"text/html"[..],
            b"text/event-streams",
            b"text/event-stream,text/html",
            b"text/ event-stream",
            b"application/json; x=text/event-stream",
            b"",
            b";text/event-stream",
            b"text/event-stream\xff",
        ] {
            let ResponseClass::Fail(err) = config.classify(200, Some(ct), None) else {
                panic!("{} accepted", ct.escape_ascii());
            };
            assert_eq!((err.status(), err.content_type()), (200, Some(ct)));
        }
        let ResponseClass::Fail(err) = config.classify(200, None, None) else {
            panic!()
        };
        assert_eq!((err.status(), err.content_type()), (200, None));
    }

    #[test]
    fn other_statuses_fail_with_the_status_and_content_type() {
        let mut policy = Reconnect::default();
        for status in [
            0,
            100,
            201,
            206,
            301,
            304,
            400,
            401,
            403,
            404,
            500,
            501,
            999,
            u16::MAX,
        ] {
            let err = policy
                .on_response(secs(0), status, Some(b"text/html"), Some(secs(1)), 0)
                .unwrap_err();
            let GiveUp::Rejected(err) = err else {
                panic!("{status}: {err:?}")
            };
            assert_eq!(err.status(), status);
            assert_eq!(err.content_type(), Some(&b"text/html"[..]));
        }
        assert_eq!(policy.attempts(), 0, "a rejection is not an attempt");
    }

    #[test]
    fn default_retryable_statuses_are_429_502_503_504() {
        let config = ReconnectConfig::default();
        let retryable: [bool; 6] =
            [429, 500, 502, 503, 504, 505].map(|s| config.is_retryable_status(s));
        assert_eq!(retryable, [true, false, true, true, true, false]);
        for status in [429, 502, 503, 504] {
            assert_eq!(
                config.classify(status, None, None),
                ResponseClass::Retry { retry_after: None }
            );
        }
    }

    #[test]
    fn user_marked_statuses_retry_and_unmarked_ones_fail() {
        let config = ReconnectConfig::default()
            .retryable_status(500, true)
            .retryable_status(599, true)
            .retryable_status(100, true)
            .retryable_status(503, false);
        assert!(config.is_retryable_status(500));
        assert!(config.is_retryable_status(599));
        assert!(config.is_retryable_status(100));
        assert_eq!(
            config.classify(500, None, None),
            ResponseClass::Retry { retry_after: None }
        );
        assert!(matches!(
            config.classify(503, None, None),
            ResponseClass::Fail(e) if e.status() == 503
        ));
    }

    #[test]
    fn statuses_outside_100_to_599_cannot_be_marked() {
        let config = ReconnectConfig::default()
            .retryable_status(0, true)
            .retryable_status(99, true)
            .retryable_status(600, true)
            .retryable_status(u16::MAX, true);
        for status in [0, 99, 600, u16::MAX] {
            assert!(!config.is_retryable_status(status));
        }
        assert_eq!(
            config,
            ReconnectConfig::default(),
            "nothing else changed either"
        );
    }

    #[test]
    fn marking_200_retries_a_200_with_the_wrong_content_type() {
        let config = ReconnectConfig::default().retryable_status(200, true);
        assert_eq!(
            config.classify(200, Some(b"text/html"), None),
            ResponseClass::Retry { retry_after: None }
        );
        assert_eq!(
            config.classify(200, EVENT_STREAM, None),
            ResponseClass::Connected
        );
    }

    #[test]
    fn retry_after_is_honoured_as_the_least_delay() {
        let mut policy = Reconnect::new(exact());
        let Ok(Verdict::Reconnect(next)) =
            policy.on_response(secs(0), 503, None, Some(secs(30)), 0)
        else {
            panic!()
        };
        assert_eq!((next.attempt(), next.after()), (1, secs(30)));
        // A shorter Retry-After does not shorten the backoff.
        let Ok(Verdict::Reconnect(next)) =
            policy.on_response(secs(30), 429, None, Some(secs(1)), 0)
        else {
            panic!()
        };
        assert_eq!((next.attempt(), next.after()), (2, secs(6)));
        // Retry-After applies to that attempt only.
        assert_eq!(delay(&mut policy, secs(36)), (3, secs(12)));
    }

    #[test]
    fn retry_after_above_the_cap_is_honoured() {
        let config = exact();
        assert_eq!(
            config.delay_for(secs(3), 1, Some(secs(3600)), 0),
            secs(3600)
        );
    }

    #[test]
    fn a_rejected_response_gives_up_without_reconnecting() {
        let mut policy = Reconnect::default();
        let err = policy
            .on_response(secs(0), 404, Some(b"text/html; charset=utf-8"), None, 0)
            .unwrap_err();
        assert!(matches!(err, GiveUp::Rejected(e) if e.status() == 404));
        assert!(!policy.is_connected());
    }

    #[test]
    fn a_long_content_type_is_kept_cut_and_marked() {
        let long = [b'a'; 200];
        let err = ResponseError::new(415, Some(&long));
        assert_eq!(err.content_type(), Some(&long[..64]));
        assert!(err.is_content_type_truncated());
        assert!(err.to_string().ends_with("aaa...`)"), "{err}");
        let exact_fit = ResponseError::new(415, Some(&long[..64]));
        assert!(!exact_fit.is_content_type_truncated());
    }

    #[test]
    fn response_error_messages_name_the_status_and_the_content_type() {
        let cases: [(u16, Option<&[u8]>, &str); 5] = [
            (
                404,
                Some(b"text/html"),
                "HTTP status 404 where 200 was expected (content type `text/html`)",
            ),
            (500, None, "HTTP status 500 where 200 was expected"),
            (
                200,
                Some(b"application/json"),
                "content type `application/json` where text/event-stream was expected (HTTP status 200)",
            ),
            (
                200,
                None,
                "no content type where text/event-stream was expected (HTTP status 200)",
            ),
            (
                200,
                Some(b"text/\xff\n"),
                "content type `text/\\xff\\n` where text/event-stream was expected (HTTP status 200)",
            ),
        ];
        for (status, ct, message) in cases {
            assert_eq!(ResponseError::new(status, ct).to_string(), message);
        }
    }

    #[test]
    fn response_error_debug_shows_the_content_type_as_text() {
        let err = ResponseError::new(404, Some(b"text/html"));
        assert_eq!(
            format!("{err:?}"),
            "ResponseError { status: 404, content_type: Some(\"text/html\") }"
        );
        let err = ResponseError::new(404, None);
        assert_eq!(
            format!("{err:?}"),
            "ResponseError { status: 404, content_type: None }"
        );
    }

    #[test]
    fn give_up_messages_carry_the_numbers() {
        assert_eq!(
            GiveUp::MaxAttempts { attempts: 5 }.to_string(),
            "gave up after 5 reconnection attempts (max_attempts is 5)"
        );
        assert_eq!(
            GiveUp::MaxElapsed {
                elapsed: secs(45),
                limit: secs(60)
            }
            .to_string(),
            "gave up reconnecting 45s into the outage: the next attempt would start after max_elapsed (60s)"
        );
        assert_eq!(
            GiveUp::Rejected(ResponseError::new(403, None)).to_string(),
            "the server rejected the event stream: HTTP status 403 where 200 was expected"
        );
    }

    // The idle timeout.

    #[test]
    fn idle_timeout_is_off_by_default() {
        let mut policy = Reconnect::default();
        connect(&mut policy, secs(0));
        assert_eq!(policy.poll_timeout(), None);
        assert!(!policy.handle_timeout(Duration::MAX));
        assert!(policy.is_connected());
    }

    #[test]
    fn zero_idle_timeout_is_off() {
        assert_eq!(
            ReconnectConfig::default()
                .idle_timeout(Some(Duration::ZERO))
                .get_idle_timeout(),
            None
        );
    }

    #[test]
    fn idle_deadline_follows_the_last_bytes() {
        let mut policy = Reconnect::new(exact().idle_timeout(Some(secs(45))));
        assert_eq!(policy.poll_timeout(), None, "nothing open yet");
        connect(&mut policy, secs(0));
        assert_eq!(policy.poll_timeout(), Some(secs(45)), "the response counts");
        for t in [10, 20, 50] {
            policy.on_activity(secs(t));
            assert_eq!(policy.poll_timeout(), Some(secs(t + 45)));
        }
        // Time passed in out of order does not pull the deadline in.
        policy.on_activity(secs(30));
        assert_eq!(policy.poll_timeout(), Some(secs(95)));
    }

    #[test]
    fn idle_timeout_ends_the_attempt() {
        let mut policy = Reconnect::new(exact().idle_timeout(Some(secs(45))));
        connect(&mut policy, secs(0));
        policy.on_activity(secs(10));
        assert!(!policy.handle_timeout(secs(54)));
        assert!(policy.handle_timeout(secs(55)));
        assert!(!policy.is_connected());
        assert_eq!(policy.poll_timeout(), None, "no spinning timer");
        assert!(!policy.handle_timeout(secs(56)), "reported once");
        policy.on_activity(secs(56)); // late bytes change nothing
        assert_eq!(policy.poll_timeout(), None);
        assert_eq!(delay(&mut policy, secs(56)), (1, secs(3)));
    }

    #[test]
    fn the_idle_timer_stops_when_the_stream_ends() {
        let mut policy = Reconnect::new(exact().idle_timeout(Some(secs(45))));
        connect(&mut policy, secs(0));
        let _ = delay(&mut policy, secs(5));
        assert_eq!(policy.poll_timeout(), None);
        assert!(!policy.handle_timeout(secs(100)));
    }

    // No panics, on any input.

    #[test]
    fn duration_max_everywhere_saturates() {
        let config = ReconnectConfig::default()
            .reconnection_time(Duration::MAX)
            .min_delay(Duration::MAX)
            .max_delay(Duration::MAX)
            .factor_percent(u32::MAX)
            .jitter(Jitter::Proportional { percent: u32::MAX })
            .max_elapsed(Some(Duration::MAX))
            .reset_after(Duration::MAX)
            .idle_timeout(Some(Duration::MAX));
        assert_eq!(
            config.delay_for(Duration::MAX, u32::MAX, Some(Duration::MAX), u32::MAX),
            Duration::MAX
        );
        let mut policy = Reconnect::new(config);
        connect(&mut policy, Duration::MAX);
        policy.on_activity(Duration::MAX);
        assert_eq!(policy.poll_timeout(), None, "past the end of time");
        assert!(!policy.handle_timeout(Duration::MAX));
        let next = policy.on_disconnected(Duration::MAX, u32::MAX).unwrap();
        assert_eq!((next.after(), next.at()), (Duration::MAX, None));
        assert!(policy.on_disconnected(Duration::MAX, 0).is_ok());
        policy.on_retry_field(u64::MAX);
        assert_eq!(policy.reconnection_time(), Duration::from_millis(u64::MAX));
    }

    #[test]
    fn a_limit_on_elapsed_time_with_a_delay_past_the_end_of_time_gives_up() {
        let config = exact()
            .reconnection_time(Duration::MAX)
            .max_elapsed(Some(Duration::MAX));
        let mut policy = Reconnect::new(config);
        let _ = delay(&mut policy, secs(0)); // 0 + MAX fits exactly
        assert_eq!(
            policy.on_disconnected(secs(1), 0),
            Err(GiveUp::MaxElapsed {
                elapsed: secs(1),
                limit: Duration::MAX
            })
        );
    }

    #[test]
    fn time_going_backwards_counts_as_no_time() {
        let mut policy = Reconnect::new(exact().max_elapsed(Some(secs(10))));
        connect(&mut policy, secs(100));
        assert_eq!(delay(&mut policy, secs(50)), (1, secs(3)), "up 0 s");
        assert_eq!(delay(&mut policy, secs(10)), (2, secs(6)), "elapsed 0 s");
    }

    #[test]
    fn calls_out_of_order_are_defined() {
        let mut policy = Reconnect::new(exact());
        // Activity and timeouts with nothing open.
        policy.on_activity(secs(1));
        assert!(!policy.handle_timeout(secs(1)));
        // Two responses in a row: the first stream ends, uncounted.
        connect(&mut policy, secs(0));
        connect(&mut policy, secs(1));
        assert_eq!(policy.attempts(), 0);
        // Two disconnections in a row: both are failures.
        assert_eq!(delay(&mut policy, secs(2)), (1, secs(3)));
        assert_eq!(delay(&mut policy, secs(2)), (2, secs(6)));
    }

    #[test]
    fn every_setting_gives_a_delay_within_its_bounds() {
        // A small grid over the edges of every input, against the rule.
        let durations = [0, 1, 999, 1_000_000, u64::MAX].map(Duration::from_nanos);
        let extremes = [Duration::ZERO, ms(500), secs(3), Duration::MAX];
        for reconnection_time in durations.into_iter().chain(extremes) {
            for cap in extremes {
                for percent in [0, 100, 101, 150, 200, u32::MAX] {
                    for attempt in [0, 1, 2, 64, u32::MAX] {
                        for jitter in [
                            Jitter::Off,
                            Jitter::Full,
                            Jitter::DEFAULT,
                            Jitter::Proportional { percent: u32::MAX },
                        ] {
                            for random in [0, 1 << 31, u32::MAX] {
                                let config = ReconnectConfig::default()
                                    .max_delay(cap)
                                    .factor_percent(percent)
                                    .jitter(jitter);
                                let d = config.delay_for(reconnection_time, attempt, None, random);
                                let floor = reconnection_time.max(ms(500));
                                if jitter == Jitter::Full {
                                    assert!(d >= ms(500));
                                } else {
                                    assert!(d >= floor);
                                }
                                if jitter == Jitter::Off || jitter == Jitter::Full {
                                    assert!(d <= cap.max(floor));
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn default_config_is_the_documented_one() {
        let c = ReconnectConfig::default();
        assert_eq!(c, ReconnectConfig::DEFAULT);
        assert_eq!(c.get_reconnection_time(), secs(3));
        assert_eq!(c.get_min_delay(), ms(500));
        assert_eq!(c.get_factor_percent(), 200);
        assert_eq!(c.get_max_delay(), secs(60));
        assert_eq!(c.get_jitter(), Jitter::Proportional { percent: 25 });
        assert_eq!(c.get_max_attempts(), None);
        assert_eq!(c.get_max_elapsed(), None);
        assert_eq!(c.get_reset_after(), secs(30));
        assert_eq!(c.get_idle_timeout(), None);
        assert_eq!(Jitter::default(), Jitter::DEFAULT);
        assert_eq!(Reconnect::default(), Reconnect::new(c));
    }
}
