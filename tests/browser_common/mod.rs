//! Headless Chromium for the browser tests (`server_browser.rs`,
//! `server_lite_browser.rs`): finding the binary, opening a page, waiting
//! for the page's report, and the checks on it that both tests make.

use core::time::Duration;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Instant;

use serde_json::Value;
use tokio::sync::mpsc;

/// The Chromium binary, or a failure that says how to install it.
pub(crate) fn find_chromium() -> PathBuf {
    let default = Path::new("/usr/bin/chromium");
    if default.exists() {
        return default.to_owned();
    }
    let which = Command::new("which").arg("chromium").output();
    if let Ok(output) = which {
        let path = String::from_utf8_lossy(&output.stdout).trim().to_owned();
        if output.status.success() && !path.is_empty() {
            return PathBuf::from(path);
        }
    }
    panic!("chromium not found (neither /usr/bin/chromium nor `which chromium`): apt-get install -y chromium");
}

/// A child process killed (and waited for) when dropped; when the test is
/// failing, its output file is printed then.
pub(crate) struct ChildGuard {
    child: Child,
    name: &'static str,
    output: PathBuf,
}

impl ChildGuard {
    pub(crate) fn try_wait(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    pub(crate) fn kill(&mut self) {
        if self.try_wait().is_none() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }

    pub(crate) fn output(&self) -> String {
        let mut text = String::new();
        if let Ok(mut file) = File::open(&self.output) {
            let _ = file.read_to_string(&mut text);
        }
        text
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() {
            eprintln!(
                "----- {} output ({}) -----\n{}\n----- end of {} output -----",
                self.name,
                self.output.display(),
                self.output(),
                self.name
            );
        }
    }
}

/// Headless Chromium on `url`, with a fresh profile in `profile`; its
/// stdout and stderr go to `output`.
pub(crate) fn spawn_chromium(
    chromium: &Path,
    profile: &Path,
    output: &Path,
    url: &str,
) -> std::io::Result<ChildGuard> {
    let stderr = File::create(output)?;
    let stdout = stderr.try_clone()?;
    let child = Command::new(chromium)
        .arg("--headless")
        .arg("--no-sandbox")
        .arg("--disable-gpu")
        .arg("--disable-quic")
        .arg("--no-first-run")
        .arg("--disable-background-networking")
        .arg("--disable-component-update")
        .arg("--disable-sync")
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(url)
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr)
        .spawn()?;
    Ok(ChildGuard {
        child,
        name: "chromium",
        output: output.to_owned(),
    })
}

/// Headless Chromium on a page, with its profile and its output in
/// temporary directories; killed when dropped (before the directories go).
pub(crate) struct Browser {
    pub(crate) child: ChildGuard,
    pub(crate) started: Instant,
    _profile: tempfile::TempDir,
    _output_dir: tempfile::TempDir,
}

impl Browser {
    /// Chromium ([`find_chromium`]) on `url`.
    pub(crate) fn open(url: &str) -> Browser {
        let chromium = find_chromium();
        let profile = tempfile::TempDir::new().expect("a profile directory");
        let output_dir = tempfile::TempDir::new().expect("a directory for chromium's output");
        let output = output_dir.path().join("chromium.log");
        let started = Instant::now();
        let child = spawn_chromium(&chromium, profile.path(), &output, url)
            .unwrap_or_else(|err| panic!("cannot start {}: {err}", chromium.display()));
        println!("chromium {} started on {url}", chromium.display());
        Browser {
            child,
            started,
            _profile: profile,
            _output_dir: output_dir,
        }
    }

    /// Waits for the page's report (a value of `kind` `report` on
    /// `reports`); fails on a page error, on Chromium dying, or after
    /// `timeout` from the start, with `diagnostics`.
    pub(crate) async fn report(
        &mut self,
        reports: &mut mpsc::UnboundedReceiver<Value>,
        timeout: Duration,
        diagnostics: impl Fn() -> String,
    ) -> Value {
        loop {
            tokio::select! {
                received = reports.recv() => {
                    let value = received.expect("the server holds a sender");
                    if value["kind"] == "report" {
                        return value;
                    }
                    panic!(
                        "the page reported an error: {}\n{}",
                        serde_json::to_string_pretty(&value).unwrap_or_default(),
                        diagnostics()
                    );
                }
                () = tokio::time::sleep(Duration::from_millis(200)) => {
                    if let Some(status) = self.child.try_wait() {
                        panic!("chromium exited early with {status}\n{}", diagnostics());
                    }
                    if self.started.elapsed() > timeout {
                        panic!("no report from the page after {timeout:?}\n{}", diagnostics());
                    }
                }
            }
        }
    }
}

pub(crate) fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// The events of the page's report, as (type, data, lastEventId), are
/// `expected`, every one once, in order of time; the page closed the
/// `EventSource` (`readyState` 2). Returns their times on the page's clock.
pub(crate) fn check_messages(
    report: &Value,
    expected: &[(&str, &str, &str)],
    diagnostics: &str,
) -> Vec<f64> {
    let messages = report["log"]["messages"]
        .as_array()
        .expect("messages is an array");
    let received: Vec<(&str, &str, &str)> = messages
        .iter()
        .map(|m| {
            (
                m["type"].as_str().expect("type"),
                m["data"].as_str().expect("data"),
                m["lastEventId"].as_str().expect("lastEventId"),
            )
        })
        .collect();
    assert_eq!(
        received, expected,
        "the browser's events (type, data, lastEventId)\n{diagnostics}"
    );
    assert_eq!(
        report["readyState"], 2,
        "the page closed the EventSource after `done`"
    );
    let times: Vec<f64> = messages
        .iter()
        .map(|m| m["t"].as_f64().expect("t"))
        .collect();
    assert!(
        times.windows(2).all(|w| w[0] <= w[1]),
        "events arrived in order of time: {times:?}"
    );
    times
}

/// The page saw two opens and one error between them (the end of the
/// first stream, while CONNECTING), and obeyed `retry: retry_ms`: the
/// server's `gap` (from the first stream's end to the reconnection), the
/// page's gap from that error to the second open, and the one between its
/// events `first_events - 1` and `first_events` (`times`, from
/// [`check_messages`]) are at least that long.
pub(crate) fn check_reconnection(
    report: &Value,
    times: &[f64],
    first_events: usize,
    retry_ms: u64,
    gap: Duration,
) {
    let log = &report["log"];
    let opens = log["opens"].as_array().expect("opens");
    let page_errors = log["errors"].as_array().expect("errors");
    assert_eq!(opens.len(), 2, "two `open` events: {opens:?}");
    assert_eq!(
        page_errors.len(),
        1,
        "one `error` event, when the first stream ended: {page_errors:?}"
    );
    assert_eq!(
        page_errors[0]["readyState"], 0,
        "the EventSource was reconnecting (CONNECTING) after the first stream ended"
    );

    println!(
        "server: the reconnection came {:.1} ms after the first stream ended (retry {retry_ms} ms)",
        ms(gap)
    );
    assert!(
        gap >= Duration::from_millis(retry_ms),
        "the browser reconnected {:.1} ms after the stream ended, sooner than retry: {retry_ms}",
        ms(gap)
    );
    let error_t = page_errors[0]["t"].as_f64().expect("error time");
    let reopen_t = opens[1]["t"].as_f64().expect("open time");
    println!(
        "page: `open` came {:.1} ms after the `error` of the close",
        reopen_t - error_t
    );
    // On the page's clock the timer runs between the two events; a little
    // slack for the clock's coarsening, still above Chromium's default 3 s.
    assert!(
        reopen_t - error_t >= retry_ms as f64 * 0.9,
        "the page reopened {:.1} ms after the error, sooner than retry: {retry_ms}",
        reopen_t - error_t
    );
    assert!(
        times[first_events] - times[first_events - 1] >= retry_ms as f64 * 0.9,
        "event {} came {:.1} ms after event {}, sooner than retry: {retry_ms}",
        first_events + 1,
        times[first_events] - times[first_events - 1],
        first_events,
    );
}

/// What the page of both tests must see, one entry per event: type, data,
/// lastEventId; events 1 to 3 on the first connection, the rest on the
/// second.
pub(crate) fn expected_messages() -> Vec<(&'static str, &'static str, &'static str)> {
    vec![
        ("message", "a\nb\nc\nd", "1"),
        ("greeting", "named event two", "2"),
        ("greeting", "crlf\nlone cr\nlf", "3"),
        ("message", "multi\nline\nfour", "4"),
        ("greeting", "h\u{e9}llo \u{2603} five", "5"),
        ("message", "  leading spaces kept", "6"),
        ("done", "bye", "7"),
    ]
}
