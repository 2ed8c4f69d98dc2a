//! `ssekit decode`: an event stream in, JSON lines out, as events arrive.

use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use bytes::BytesMut;
use ssekit_codec::{EndOfStream, EventDecoder, Item, Limits};

/// How much is read from the input at a time.
const READ_SIZE: usize = 64 * 1024;

/// What `ssekit decode` was asked to do.
#[derive(Debug)]
pub(crate) struct Options {
    pub(crate) input: Option<PathBuf>,
    pub(crate) comments: bool,
    pub(crate) max_line: Option<usize>,
    pub(crate) max_event: Option<usize>,
}

/// Why decoding stopped early.
enum Failure {
    /// Reading the input failed.
    Read(io::Error),
    /// Writing the output failed.
    Write(io::Error),
}

/// What `ssekit decode` prints on standard error when the input ended
/// inside an event or a line: the spec drops that event, and so does
/// `decode`, but it says so. The exit status stays 0 (as far as the stream
/// format goes, such an input is valid: it is what a client sees when a
/// connection breaks mid-event).
const TRUNCATED: &str = "ssekit decode: the input ended in the middle of an event, \
which was dropped (no blank line after it)";

/// How decoding went, when it got to the end of the input.
struct Outcome {
    /// How many limit errors were reported.
    limit_errors: usize,
    /// Whether the input ended inside an event or a line.
    truncated: bool,
}

/// Runs `ssekit decode [FILE]`.
pub(crate) fn run(options: &Options) -> ExitCode {
    let input: Box<dyn Read> = match &options.input {
        Some(path) => match File::open(path) {
            Ok(file) => Box::new(file),
            Err(err) => {
                eprintln!("ssekit decode: cannot open {}: {err}", path.display());
                return ExitCode::from(1);
            }
        },
        None => Box::new(io::stdin().lock()),
    };
    let mut limits = Limits::default();
    if let Some(bytes) = options.max_line {
        limits = limits.max_line_len(bytes);
    }
    if let Some(bytes) = options.max_event {
        limits = limits.max_event_len(bytes);
    }
    let mut out = BufWriter::new(io::stdout().lock());
    match decode(input, &mut out, limits, options.comments) {
        Ok(outcome) => {
            if outcome.truncated {
                eprintln!("{TRUNCATED}");
            }
            if outcome.limit_errors == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(2)
            }
        }
        Err(Failure::Write(err)) if err.kind() == io::ErrorKind::BrokenPipe => ExitCode::from(1),
        Err(Failure::Write(err)) => {
            eprintln!("ssekit decode: cannot write output: {err}");
            ExitCode::from(1)
        }
        Err(Failure::Read(err)) => {
            let _ = out.flush();
            eprintln!("ssekit decode: cannot read input: {err}");
            ExitCode::from(1)
        }
    }
}

/// Decodes `input` to JSON lines on `out`, flushing after every read so that
/// each event appears as soon as its blank line arrives. Returns how many
/// limit errors were reported and whether the input was cut off.
fn decode(
    mut input: impl Read,
    out: &mut impl Write,
    limits: Limits,
    comments: bool,
) -> Result<Outcome, Failure> {
    let mut decoder = EventDecoder::with_limits(limits);
    let mut buf = BytesMut::new();
    let mut chunk = vec![0; READ_SIZE];
    let mut limit_errors = 0;
    loop {
        let n = match input.read(&mut chunk) {
            Ok(n) => n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(Failure::Read(err)),
        };
        if n == 0 {
            let end = decoder.finish(&mut buf);
            out.flush().map_err(Failure::Write)?;
            return Ok(Outcome {
                limit_errors,
                truncated: end == EndOfStream::Truncated,
            });
        }
        buf.extend_from_slice(&chunk[..n]);
        loop {
            match decoder.decode_item(&mut buf) {
                Ok(Some(item)) => write_item(out, &item, comments).map_err(Failure::Write)?,
                Ok(None) => break,
                Err(err) => {
                    limit_errors += 1;
                    out.flush().map_err(Failure::Write)?;
                    eprintln!("ssekit decode: {err}; skipping to the next event");
                }
            }
        }
        out.flush().map_err(Failure::Write)?;
    }
}

/// Writes one item as a JSON line.
pub(crate) fn write_item(out: &mut impl Write, item: &Item, comments: bool) -> io::Result<()> {
    match item {
        Item::Event(event) => {
            out.write_all(b"{\"type\":")?;
            write_json_str(out, &event.event_type_lossy())?;
            out.write_all(b",\"data\":")?;
            write_json_str(out, &event.data_lossy())?;
            out.write_all(b",\"id\":")?;
            write_json_str(out, &event.id_lossy())?;
            out.write_all(b"}\n")
        }
        Item::Retry(ms) => writeln!(out, "{{\"retry\":{ms}}}"),
        Item::Comment(text) if comments => {
            out.write_all(b"{\"comment\":")?;
            write_json_str(out, &String::from_utf8_lossy(text))?;
            out.write_all(b"}\n")
        }
        _ => Ok(()),
    }
}

fn write_json_str(out: &mut impl Write, s: &str) -> io::Result<()> {
    serde_json::to_writer(&mut *out, s).map_err(io::Error::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_full(input: &[u8], limits: Limits, comments: bool) -> (String, Outcome) {
        let mut out = Vec::new();
        let outcome = match decode(input, &mut out, limits, comments) {
            Ok(outcome) => outcome,
            Err(_) => panic!("in-memory decode failed"),
        };
        (String::from_utf8(out).unwrap(), outcome)
    }

    fn run_on(input: &[u8], limits: Limits, comments: bool) -> (String, usize) {
        let (out, outcome) = run_full(input, limits, comments);
        (out, outcome.limit_errors)
    }

    #[test]
    fn truncation_is_reported_and_the_event_dropped() {
        for input in [
            &b"data: x\n"[..],
            b"data: a\n\ndata: b",
            b"id: 1\nevent: e\n",
        ] {
            let (out, outcome) = run_full(input, Limits::default(), false);
            assert!(outcome.truncated, "{input:?}");
            assert!(!out.contains("\"x\"") && !out.contains("\"b\""), "{out}");
        }
        for input in [&b""[..], b"data: a\n\n", b": ping\n", b"data: a\r\n\r\n"] {
            let (_, outcome) = run_full(input, Limits::default(), false);
            assert!(!outcome.truncated, "{input:?}");
        }
    }

    #[test]
    fn prints_events_retries_and_comments_in_order() {
        let input = b": hi\nretry: 10\nid: 1\nevent: e\ndata: a\ndata: b\n\ndata: \xFF\n\n";
        let (out, errors) = run_on(input, Limits::default(), true);
        assert_eq!(errors, 0);
        assert_eq!(
            out,
            "{\"comment\":\" hi\"}\n{\"retry\":10}\n\
             {\"type\":\"e\",\"data\":\"a\\nb\",\"id\":\"1\"}\n\
             {\"type\":\"message\",\"data\":\"\u{FFFD}\",\"id\":\"1\"}\n"
        );
    }

    #[test]
    fn comments_hidden_by_default() {
        let (out, _) = run_on(b": hi\n\ndata: x\n\n", Limits::default(), false);
        assert_eq!(out, "{\"type\":\"message\",\"data\":\"x\",\"id\":\"\"}\n");
    }

    #[test]
    fn limit_error_is_counted_and_decoding_goes_on() {
        let limits = Limits::default().max_line_len(8);
        let (out, errors) = run_on(b"data: far too long\n\ndata: ok\n\n", limits, false);
        assert_eq!(errors, 1);
        assert_eq!(out, "{\"type\":\"message\",\"data\":\"ok\",\"id\":\"\"}\n");
    }
}
