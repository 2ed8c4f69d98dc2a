//! `ssekit demo`, run as a process: it streams the answer through a cut
//! connection and reports every event received once, in order.

use core::time::Duration;
use std::io::Read;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::Instant;

/// The longest the demo may take.
const WAIT: Duration = Duration::from_secs(30);

/// A child process, killed on drop.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs `ssekit demo <args>`; its status, standard output and error.
fn demo(args: &[&str]) -> (ExitStatus, String, String) {
    let child = Command::new(env!("CARGO_BIN_EXE_ssekit"))
        .arg("demo")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ssekit starts");
    let mut guard = Guard(child);
    let mut stdout = guard.0.stdout.take().unwrap();
    let mut stderr = guard.0.stderr.take().unwrap();
    let out = thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        text
    });
    let err = thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let deadline = Instant::now() + WAIT;
    let status = loop {
        if let Some(status) = guard.0.try_wait().expect("try_wait") {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "ssekit demo did not exit within {WAIT:?}"
        );
        thread::sleep(Duration::from_millis(20));
    };
    (status, out.join().unwrap(), err.join().unwrap())
}

/// The numbers of the summary line: sent, received, reconnects, lost,
/// duplicated.
fn summary(stdout: &str) -> (u64, u64, u64, u64, u64) {
    let line = stdout
        .lines()
        .rfind(|l| l.starts_with("demo: "))
        .unwrap_or_else(|| panic!("no summary line in {stdout}"));
    let number = |word: &str| -> u64 {
        let words: Vec<&str> = line.split([' ', ',']).filter(|w| !w.is_empty()).collect();
        let at = words
            .iter()
            .position(|w| w.starts_with(word))
            .unwrap_or_else(|| panic!("no {word:?} in {line}"));
        words[at - 1].parse().unwrap_or_else(|_| panic!("{line}"))
    };
    (
        number("events"),
        number("received"),
        number("reconnect"),
        number("lost"),
        number("duplicated"),
    )
}

#[test]
fn demo_resumes_without_loss_or_duplicates() {
    let started = Instant::now();
    let (status, stdout, stderr) = demo(&[]);
    assert!(status.success(), "{status}\n{stdout}\n{stderr}");
    let (sent, received, reconnects, lost, duplicated) = summary(&stdout);
    assert!((200..=400).contains(&sent), "{stdout}");
    assert_eq!(received, sent, "{stdout}");
    assert!(reconnects >= 1, "{stdout}\n{stderr}");
    assert_eq!((lost, duplicated), (0, 0), "{stdout}");
    assert!(stdout.contains("B/s"), "{stdout}");
    // The answer came through, and the notices went to standard error.
    assert!(stdout.starts_with("Server-Sent Events are"), "{stdout}");
    assert!(
        stdout.contains("Thank you for reading to the end!"),
        "{stdout}"
    );
    assert!(stderr.contains("reconnecting in"), "{stderr}");
    assert!(stderr.contains("resuming after id"), "{stderr}");
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn demo_options_change_the_count_and_pace() {
    let (status, stdout, stderr) = demo(&["--events", "3000", "--delay-ms", "0"]);
    assert!(status.success(), "{status}\n{stdout}\n{stderr}");
    let (sent, received, reconnects, lost, duplicated) = summary(&stdout);
    assert_eq!((sent, received), (3000, 3000), "{stdout}");
    assert!(reconnects >= 1, "{stderr}");
    assert_eq!((lost, duplicated), (0, 0), "{stdout}");
}

#[test]
fn demo_rejects_zero_events() {
    let (status, _, stderr) = demo(&["--events", "0"]);
    assert_eq!(status.code(), Some(2), "{stderr}");
}
