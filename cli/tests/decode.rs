//! `ssekit decode`, run as a process: an input cut off mid-event is
//! reported on standard error, and the exit status stays 0.

use std::io::Write;
use std::process::{Command, Output, Stdio};
use std::thread;

const TRUNCATED: &str = "ssekit decode: the input ended in the middle of an event, \
which was dropped (no blank line after it)\n";

/// Runs `ssekit decode` with `stdin` as its input.
fn decode(stdin: &'static [u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ssekit"))
        .arg("decode")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ssekit starts");
    let mut input = child.stdin.take().unwrap();
    let writer = thread::spawn(move || {
        let _ = input.write_all(stdin);
    });
    let output = child.wait_with_output().expect("ssekit runs");
    writer.join().unwrap();
    output
}

#[test]
fn an_event_cut_off_at_the_end_is_dropped_and_reported() {
    let output = decode(b"data: x\n");
    assert!(output.status.success(), "{output:?}");
    assert_eq!(output.stdout, b"");
    assert_eq!(String::from_utf8_lossy(&output.stderr), TRUNCATED);

    let output = decode(b"data: a\n\ndata: cut");
    assert!(output.status.success(), "{output:?}");
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "{\"type\":\"message\",\"data\":\"a\",\"id\":\"\"}\n"
    );
    assert_eq!(String::from_utf8_lossy(&output.stderr), TRUNCATED);
}

#[test]
fn a_clean_end_says_nothing() {
    for input in [&b""[..], b"data: a\n\n", b": ping\n"] {
        let output = decode(input);
        assert!(output.status.success(), "{output:?}");
        assert_eq!(output.stderr, b"", "{input:?}");
    }
}
