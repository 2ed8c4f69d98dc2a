//! `ssekit encode`: JSON lines in, an event stream out.
//!
//! Each input line is a JSON object with these keys, all optional:
//! `type` (string), `data` (string), `id` (string), `retry` (integer from 0
//! to 2^64 - 1) and `comment` (string). Blank lines are skipped. Each object
//! becomes one frame, written in this order and flushed at once:
//!
//! - `comment` is written first, as `:` followed by the text exactly, no
//!   space added (`ssekit decode --comments` prints it back unchanged);
//! - `type`, unless it is `message` or empty (a decoder's default), as an
//!   `event` line; `id`, even when empty (which clears the client's last
//!   event ID), as an `id` line; `retry` as a `retry` line;
//! - if the object has `type`, `data` or `id`, it is an event: its data
//!   (empty if absent) as `data` lines, split at LF, CR and CRLF; a
//!   decoder gives every one of those breaks back as LF;
//! - a blank line ends the frame.
//!
//! So an object with only `comment` writes the comment line and a blank line
//! (a heartbeat, no event); an object with `comment` and `data` writes the
//! comment line, then the event; an object with only `retry` sets the
//! reconnection time without an event; `{}` writes nothing. The lines
//! `ssekit decode --comments` prints are valid input, and encoding them
//! gives a stream that decodes to the same lines.
//!
//! A line that is not such an object (bad JSON, an unknown key, a value of
//! the wrong type) or whose values would break the stream (CR or LF in
//! `type`, `id` or `comment`; NUL in `id`) stops the command with exit
//! status 2 and a message naming the line. Every frame before it has been
//! written whole, and nothing of it. I/O errors exit with status 1.

use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::Path;
use std::process::ExitCode;

use serde_json::Value;
use ssekit_codec::{EncodeError, EventRef, FieldName};

/// Why encoding stopped early.
#[derive(Debug)]
enum Failure {
    /// An input line is not a valid frame.
    Line { number: u64, reason: String },
    /// Reading the input failed.
    Read(io::Error),
    /// Writing the output failed.
    Write(io::Error),
}

/// Runs `ssekit encode [FILE]`.
pub(crate) fn run(input: Option<&Path>) -> ExitCode {
    let input: Box<dyn BufRead> = match input {
        Some(path) => match File::open(path) {
            Ok(file) => Box::new(BufReader::new(file)),
            Err(err) => {
                eprintln!("ssekit encode: cannot open {}: {err}", path.display());
                return ExitCode::from(1);
            }
        },
        None => Box::new(io::stdin().lock()),
    };
    let mut out = BufWriter::new(io::stdout().lock());
    match encode(input, &mut out) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Line { number, reason }) => {
            eprintln!("ssekit encode: line {number}: {reason}");
            ExitCode::from(2)
        }
        Err(Failure::Write(err)) if err.kind() == io::ErrorKind::BrokenPipe => ExitCode::from(1),
        Err(Failure::Write(err)) => {
            eprintln!("ssekit encode: cannot write output: {err}");
            ExitCode::from(1)
        }
        Err(Failure::Read(err)) => {
            eprintln!("ssekit encode: cannot read input: {err}");
            ExitCode::from(1)
        }
    }
}

/// Encodes every line of `input` to `out`, flushing after each frame.
fn encode(mut input: impl BufRead, out: &mut impl Write) -> Result<(), Failure> {
    let mut line = Vec::new();
    let mut frame = Vec::new();
    let mut number = 0u64;
    loop {
        line.clear();
        match input.read_until(b'\n', &mut line) {
            Ok(0) => return Ok(()),
            Ok(_) => {}
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(Failure::Read(err)),
        }
        number += 1;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        frame.clear();
        encode_line(&line, &mut frame).map_err(|reason| Failure::Line { number, reason })?;
        if !frame.is_empty() {
            out.write_all(&frame).map_err(Failure::Write)?;
            out.flush().map_err(Failure::Write)?;
        }
    }
}

/// The keys of one input line (also read by `ssekit serve`).
#[derive(Debug, Default)]
pub(crate) struct Parts {
    pub(crate) event_type: Option<String>,
    pub(crate) data: Option<String>,
    pub(crate) id: Option<String>,
    pub(crate) retry: Option<u64>,
    pub(crate) comment: Option<String>,
}

impl Parts {
    /// Whether the line is an event (it has `type`, `data` or `id`), not
    /// only a comment or a retry time.
    pub(crate) fn is_event(&self) -> bool {
        self.event_type.is_some() || self.data.is_some() || self.id.is_some()
    }
}

/// Appends the frame for one JSON line to `frame`, or says what is wrong.
fn encode_line(line: &[u8], frame: &mut Vec<u8>) -> Result<(), String> {
    let parts = parse(line)?;
    frame_of(&parts).encode_to_vec(frame).map_err(describe)
}

/// The frame one line's keys stand for, in the order described above; not
/// yet checked (encoding it checks it: see [`describe`]).
pub(crate) fn frame_of(parts: &Parts) -> EventRef<'_> {
    let mut event = EventRef::new();
    if let Some(comment) = &parts.comment {
        event = event.comment(comment);
    }
    if let Some(event_type) = &parts.event_type {
        if !event_type.is_empty() && event_type != "message" {
            event = event.event_type(event_type);
        }
    }
    if let Some(id) = &parts.id {
        event = event.id(id);
    }
    if let Some(ms) = parts.retry {
        event = event.retry(ms);
    }
    if parts.is_event() {
        event = event.data(parts.data.as_deref().unwrap_or(""));
    }
    event
}

/// Reads the keys of one JSON line, or says what is wrong with it.
pub(crate) fn parse(line: &[u8]) -> Result<Parts, String> {
    let value: Value =
        serde_json::from_slice(line).map_err(|err| format!("invalid JSON: {err}"))?;
    let Value::Object(object) = value else {
        return Err(format!("expected a JSON object, found {}", kind(&value)));
    };
    let mut parts = Parts::default();
    for (key, value) in object {
        match key.as_str() {
            "type" => parts.event_type = Some(string(&key, value)?),
            "data" => parts.data = Some(string(&key, value)?),
            "id" => parts.id = Some(string(&key, value)?),
            "comment" => parts.comment = Some(string(&key, value)?),
            "retry" => match value.as_u64() {
                Some(ms) => parts.retry = Some(ms),
                None => {
                    return Err(format!(
                        "\"retry\" must be a non-negative integer, found {}",
                        kind(&value)
                    ))
                }
            },
            _ => {
                return Err(format!(
                    "unknown key {} (expected type, data, id, retry or comment)",
                    Value::String(key)
                ))
            }
        }
    }
    Ok(parts)
}

fn string(key: &str, value: Value) -> Result<String, String> {
    match value {
        Value::String(s) => Ok(s),
        other => Err(format!(
            "\"{key}\" must be a string, found {}",
            kind(&other)
        )),
    }
}

/// A JSON value's kind, for messages.
fn kind(value: &Value) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => format!("the number {n}"),
        Value::String(_) => "a string".to_owned(),
        Value::Array(_) => "an array".to_owned(),
        Value::Object(_) => "an object".to_owned(),
    }
}

/// An encoding error, naming the JSON key rather than the SSE field.
pub(crate) fn describe(err: EncodeError) -> String {
    match err {
        EncodeError::InvalidValue { field, .. } => {
            let key = match field {
                FieldName::Event => "type",
                other => other.as_str(),
            };
            format!("\"{key}\": {err}")
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_on(input: &str) -> (String, Result<(), Failure>) {
        let mut out = Vec::new();
        let result = encode(input.as_bytes(), &mut out);
        (String::from_utf8(out).unwrap(), result)
    }

    fn line_error(input: &str) -> (String, u64, String) {
        match run_on(input) {
            (out, Err(Failure::Line { number, reason })) => (out, number, reason),
            (out, other) => panic!("expected a line error, got {other:?} after {out:?}"),
        }
    }

    #[test]
    fn every_key_in_writing_order() {
        let (out, result) =
            run_on(r#"{"data":"a\nb","retry":5,"id":"1","type":"t","comment":" c"}"#);
        assert!(result.is_ok());
        assert_eq!(out, ": c\nevent: t\nid: 1\nretry: 5\ndata: a\ndata: b\n\n");
    }

    #[test]
    fn comment_alone_and_comment_with_data() {
        let (out, _) = run_on("{\"comment\":\" ping\"}\n{\"comment\":\"x\",\"data\":\"y\"}\n");
        assert_eq!(out, ": ping\n\n:x\ndata: y\n\n");
    }

    #[test]
    fn type_or_id_alone_is_an_event_with_empty_data() {
        let (out, _) = run_on("{\"type\":\"t\"}\n{\"id\":\"\"}\n");
        assert_eq!(out, "event: t\ndata: \n\nid: \ndata: \n\n");
    }

    #[test]
    fn retry_alone_is_not_an_event_and_empty_object_writes_nothing() {
        let (out, result) = run_on("{\"retry\":100}\n{}\n\n   \n");
        assert!(result.is_ok());
        assert_eq!(out, "retry: 100\n\n");
    }

    #[test]
    fn message_type_is_left_out() {
        let (out, _) =
            run_on("{\"type\":\"message\",\"data\":\"x\"}\r\n{\"type\":\"\",\"data\":\"y\"}");
        assert_eq!(out, "data: x\n\ndata: y\n\n");
    }

    #[test]
    fn bad_lines_name_the_line_and_write_nothing_of_it() {
        let (out, number, reason) = line_error("{\"data\":\"ok\"}\n\n{\"id\":\"a\\nb\"}\n");
        assert_eq!(out, "data: ok\n\n");
        assert_eq!(number, 3);
        assert!(
            reason.starts_with("\"id\": invalid `id` value: LF"),
            "{reason}"
        );

        let (_, _, reason) = line_error("{\"type\":\"message\\r\"}");
        assert!(
            reason.starts_with("\"type\": invalid `event` value: CR"),
            "{reason}"
        );
        let (_, _, reason) = line_error("{\"comment\":\"a\\nb\"}");
        assert!(
            reason.starts_with("\"comment\": invalid `comment`"),
            "{reason}"
        );
        let (_, _, reason) = line_error("{\"id\":\"\\u0000\"}");
        assert!(reason.contains("NUL (0x00) at byte offset 0"), "{reason}");
        let (_, _, reason) = line_error("{\"data\":1}");
        assert_eq!(reason, "\"data\" must be a string, found the number 1");
        let (_, _, reason) = line_error("{\"retry\":-1}");
        assert_eq!(
            reason,
            "\"retry\" must be a non-negative integer, found the number -1"
        );
        let (_, _, reason) = line_error("{\"retry\":null}");
        assert_eq!(
            reason,
            "\"retry\" must be a non-negative integer, found null"
        );
        let (_, _, reason) = line_error("{\"event\":\"x\"}");
        assert!(reason.starts_with("unknown key \"event\""), "{reason}");
        let (_, _, reason) = line_error("[1]");
        assert_eq!(reason, "expected a JSON object, found an array");
        let (_, _, reason) = line_error("{\"data\":");
        assert!(reason.starts_with("invalid JSON: "), "{reason}");
    }
}
