//! `ssekit encode`, run as a process: what it writes, how it fails, and
//! that `ssekit encode | ssekit decode` gives the input's events back.

use core::time::Duration;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::thread;

use bytes::BytesMut;
use ssekit_codec::{EndOfStream, EventDecoder, Item};

fn ssekit() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ssekit"))
}

/// Runs `ssekit <args>` with `stdin` as its input.
fn run(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = ssekit()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ssekit starts");
    let mut input = child.stdin.take().unwrap();
    let stdin = stdin.to_vec();
    let writer = thread::spawn(move || {
        // The command may stop reading early (a bad line); that is fine.
        let _ = input.write_all(&stdin);
    });
    let output = child.wait_with_output().expect("ssekit runs");
    writer.join().unwrap();
    output
}

fn stdout(output: &Output) -> &str {
    core::str::from_utf8(&output.stdout).expect("UTF-8 output")
}

fn stderr(output: &Output) -> &str {
    core::str::from_utf8(&output.stderr).expect("UTF-8 messages")
}

/// Every item in `stream`, decoded in-process.
fn decode(stream: &[u8]) -> Vec<Item> {
    let mut decoder = EventDecoder::new();
    let mut buf = BytesMut::from(stream);
    let mut items = Vec::new();
    while let Some(item) = decoder.decode_item(&mut buf).unwrap() {
        items.push(item);
    }
    assert_eq!(decoder.finish(&mut buf), EndOfStream::Clean);
    items
}

const INPUT: &str = concat!(
    r#"{"data":"hello"}"#,
    "\n",
    r#"{"type":"update","id":"1","data":"  two leading spaces\nsecond line"}"#,
    "\n",
    "\n",
    r#"{"comment":" heartbeat"}"#,
    "\n",
    r#"{"retry":2500}"#,
    "\n",
    r#"{"comment":"note","type":"ünï","data":"crlf\r\nand cr\rend","id":"2"}"#,
    "\n",
    r#"{"data":""}"#,
    "\n",
    r#"{"id":"","data":"\n\n"}"#,
    "\n",
);

#[test]
fn encodes_json_lines_into_a_stream() {
    let output = run(&["encode"], INPUT.as_bytes());
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        stdout(&output),
        concat!(
            "data: hello\n\n",
            "event: update\nid: 1\ndata:   two leading spaces\ndata: second line\n\n",
            ": heartbeat\n\n",
            "retry: 2500\n\n",
            ":note\nevent: ünï\nid: 2\ndata: crlf\ndata: and cr\ndata: end\n\n",
            "data: \n\n",
            "id: \ndata: \ndata: \ndata: \n\n",
        )
    );
    assert_eq!(decode(&output.stdout).len(), 8);
}

#[test]
fn encode_then_decode_gives_the_events_back() {
    let encoded = run(&["encode"], INPUT.as_bytes());
    assert!(encoded.status.success(), "{}", stderr(&encoded));
    let decoded = run(&["decode", "--comments"], &encoded.stdout);
    assert!(decoded.status.success(), "{}", stderr(&decoded));
    assert_eq!(
        stdout(&decoded),
        concat!(
            r#"{"type":"message","data":"hello","id":""}"#,
            "\n",
            r#"{"type":"update","data":"  two leading spaces\nsecond line","id":"1"}"#,
            "\n",
            r#"{"comment":" heartbeat"}"#,
            "\n",
            r#"{"retry":2500}"#,
            "\n",
            r#"{"comment":"note"}"#,
            "\n",
            // CRLF and CR come back as LF.
            r#"{"type":"ünï","data":"crlf\nand cr\nend","id":"2"}"#,
            "\n",
            // The last event ID carries over to an event without one.
            r#"{"type":"message","data":"","id":"2"}"#,
            "\n",
            r#"{"type":"message","data":"\n\n","id":""}"#,
            "\n",
        )
    );
}

#[test]
fn decode_output_encodes_to_the_same_decode_output() {
    let stream = b": hi\nretry: 7\nid: 9\nevent: e\ndata:  a\r\ndata: b\n\ndata\n\nid\ndata: x\n\n";
    let first = run(&["decode", "--comments"], stream);
    assert!(first.status.success(), "{}", stderr(&first));
    let encoded = run(&["encode"], &first.stdout);
    assert!(encoded.status.success(), "{}", stderr(&encoded));
    let second = run(&["decode", "--comments"], &encoded.stdout);
    assert_eq!(stdout(&second), stdout(&first));
}

#[test]
fn bad_line_exits_2_naming_it_after_the_frames_before_it() {
    let input = "{\"data\":\"one\"}\n\n{\"comment\":\"c\"}\n{\"id\":\"7\\nevent: evil\",\"data\":\"x\"}\n{\"data\":\"never\"}\n";
    let output = run(&["encode"], input.as_bytes());
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(stdout(&output), "data: one\n\n:c\n\n", "no part of line 4");
    let message = stderr(&output);
    assert!(message.contains("line 4"), "{message}");
    assert!(
        message.contains("invalid `id` value: LF (0x0A) at byte offset 1"),
        "{message}"
    );
}

#[test]
fn every_kind_of_bad_line_exits_2() {
    for (line, reason) in [
        ("not json", "invalid JSON"),
        ("[]", "expected a JSON object"),
        ("{\"dat\":\"x\"}", "unknown key \"dat\""),
        ("{\"data\":[\"x\"]}", "\"data\" must be a string"),
        (
            "{\"retry\":\"5\"}",
            "\"retry\" must be a non-negative integer",
        ),
        (
            "{\"retry\":1.5}",
            "\"retry\" must be a non-negative integer",
        ),
        (
            "{\"type\":\"a\\rb\"}",
            "\"type\": invalid `event` value: CR",
        ),
        ("{\"id\":\"a\\u0000\"}", "\"id\": invalid `id` value: NUL"),
        (
            "{\"comment\":\"a\\nb\"}",
            "\"comment\": invalid `comment` value: LF",
        ),
    ] {
        let output = run(&["encode"], format!("{{}}\n{line}\n").as_bytes());
        assert_eq!(output.status.code(), Some(2), "{line}");
        assert!(output.stdout.is_empty(), "{line}");
        let message = stderr(&output);
        assert!(message.contains("line 2: "), "{line}: {message}");
        assert!(message.contains(reason), "{line}: {message}");
    }
}

#[test]
fn reads_a_file_and_fails_with_1_when_it_is_missing() {
    let dir = std::env::temp_dir();
    let path: PathBuf = dir.join(format!("ssekit-encode-test-{}.jsonl", std::process::id()));
    std::fs::write(&path, "{\"data\":\"from file\"}\n").unwrap();
    let output = ssekit().arg("encode").arg(&path).output().unwrap();
    std::fs::remove_file(&path).unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stdout(&output), "data: from file\n\n");

    let output = ssekit().arg("encode").arg(&path).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("cannot open"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn each_frame_is_flushed_before_the_next_line_arrives() {
    let mut child = ssekit()
        .arg("encode")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut out = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    let reader = thread::spawn(move || {
        let mut buf = [0u8; 64];
        loop {
            match out.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if tx.send(buf[..n].to_vec()).is_err() {
                        break;
                    }
                }
            }
        }
    });
    for n in 0..3 {
        writeln!(stdin, "{{\"data\":\"{n}\"}}").unwrap();
        stdin.flush().unwrap();
        let want = format!("data: {n}\n\n");
        let mut got = Vec::new();
        while got.len() < want.len() {
            let chunk = rx
                .recv_timeout(Duration::from_secs(10))
                .expect("the frame arrives while stdin is still open");
            got.extend(chunk);
        }
        assert_eq!(String::from_utf8(got).unwrap(), want);
    }
    drop(stdin);
    assert!(child.wait().unwrap().success());
    reader.join().unwrap();
}
