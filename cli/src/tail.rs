//! `ssekit tail`: connect to an event stream with the reconnecting client
//! and print its events as they arrive.
//!
//! Events go to standard output, readable (`[id] type: data`) or, with
//! `--json`, as the JSON lines of `ssekit decode` (the same code writes
//! them). Notices of the connection's life (connected, reconnecting, gave
//! up) go to standard error. Exit status: 0 when the server stops the
//! stream (204) or at Ctrl-C, 1 when the stream fails for good (refused,
//! rejected, too many attempts), 2 for invalid arguments.

use core::fmt::Write as _;
use core::pin::pin;
use core::time::Duration;
use std::io::{self, BufWriter, Read, Write};
use std::process::ExitCode;

use bytes::Bytes;
use futures_util::StreamExt;
use http::Method;
use ssekit_adapters::client::{Builder, Disconnect, Error, EventSource, Message};
use ssekit_codec::{Event, GiveUp, Item, ReconnectConfig};

use crate::decode;
use crate::serve::note;

/// What `ssekit tail` was asked to do.
#[derive(Debug)]
pub(crate) struct Options {
    pub(crate) url: String,
    pub(crate) headers: Vec<String>,
    pub(crate) method: Option<String>,
    pub(crate) data: Option<String>,
    pub(crate) last_event_id: Option<String>,
    pub(crate) json: bool,
    pub(crate) comments: bool,
    pub(crate) max_retries: Option<u32>,
}

/// Splits a `-H 'Name: value'` argument.
fn split_header(header: &str) -> Result<(&str, &str), String> {
    match header.split_once(':') {
        Some((name, value)) if !name.trim().is_empty() => Ok((name.trim(), value.trim())),
        _ => Err(format!(
            "invalid header {header:?}: write it as 'Name: value', as in -H 'Authorization: Bearer TOKEN'"
        )),
    }
}

/// The request body of `-d BODY`, `-d @FILE` or `-d @-` (standard input).
fn read_body(data: &str) -> Result<Bytes, String> {
    let Some(path) = data.strip_prefix('@') else {
        return Ok(Bytes::from(data.to_owned()));
    };
    let mut body = Vec::new();
    let read = if path == "-" {
        io::stdin().lock().read_to_end(&mut body)
    } else {
        std::fs::File::open(path).and_then(|mut file| file.read_to_end(&mut body))
    };
    match read {
        Ok(_) => Ok(Bytes::from(body)),
        Err(err) => Err(format!("cannot read the body from {path}: {err}")),
    }
}

/// Makes the client of `options`, or says what is wrong with them.
fn source(options: &Options) -> Result<EventSource, String> {
    let mut builder = Builder::new(options.url.clone()).comments(options.comments);
    for header in &options.headers {
        let (name, value) = split_header(header)?;
        builder = builder.header(name, value);
    }
    let method = match &options.method {
        Some(method) => Method::from_bytes(method.as_bytes())
            .map_err(|_| format!("invalid method {method:?}: use GET, POST or another token"))?,
        None if options.data.is_some() => Method::POST,
        None => Method::GET,
    };
    builder = builder.method(method);
    if let Some(data) = &options.data {
        builder = builder.body(read_body(data)?);
    }
    if let Some(id) = &options.last_event_id {
        builder = builder.last_event_id(id.clone());
    }
    let mut config = ReconnectConfig::default();
    if let Some(retries) = options.max_retries {
        config = config.max_attempts(Some(retries));
    }
    builder = builder.reconnect(config);
    builder.build().map_err(|err| err.to_string())
}

/// Runs `ssekit tail URL`.
pub(crate) fn run(options: &Options) -> ExitCode {
    let source = match source(options) {
        Ok(source) => source,
        Err(message) => {
            note!("ssekit tail: {message}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            note!("ssekit tail: cannot start the async runtime: {err}");
            return ExitCode::from(1);
        }
    };
    let code = runtime.block_on(tail(source, options));
    runtime.shutdown_timeout(Duration::from_millis(100));
    code
}

/// Reads `source` until it stops, fails or Ctrl-C.
async fn tail(mut source: EventSource, options: &Options) -> ExitCode {
    let mut out = BufWriter::new(io::stdout().lock());
    let mut ctrl_c = pin!(tokio::signal::ctrl_c());
    let mut signals = true;
    let mut last_id = options.last_event_id.clone().unwrap_or_default();
    loop {
        let message = tokio::select! {
            message = source.next() => message,
            signal = &mut ctrl_c, if signals => match signal {
                Ok(()) => {
                    let _ = out.flush();
                    note!("ssekit tail: interrupted; bye");
                    return ExitCode::SUCCESS;
                }
                Err(err) => {
                    signals = false;
                    note!("ssekit tail: cannot listen for Ctrl-C ({err})");
                    continue;
                }
            },
        };
        let written = match message {
            None => {
                let _ = out.flush();
                return ExitCode::SUCCESS;
            }
            Some(Ok(Message::Event(event))) => {
                last_id = event.id_lossy().into_owned();
                if options.json {
                    decode::write_item(&mut out, &Item::Event(event), false)
                } else {
                    out.write_all(readable(&event).as_bytes())
                }
            }
            Some(Ok(Message::Comment(text))) => {
                if options.json {
                    decode::write_item(&mut out, &Item::Comment(text), true)
                } else {
                    writeln!(out, ":{}", String::from_utf8_lossy(&text))
                }
            }
            Some(Ok(Message::Stopped)) => {
                let _ = out.flush();
                note!("ssekit tail: the server answered 204 No Content: the stream is over");
                return ExitCode::SUCCESS;
            }
            Some(Ok(other)) => {
                let _ = out.flush();
                note!(
                    "ssekit tail: {}",
                    describe(&other, &options.url, &last_id, options.max_retries)
                );
                Ok(())
            }
            Some(Err(Error::Decode(err))) => {
                let _ = out.flush();
                note!("ssekit tail: an event was dropped ({err}); going on");
                Ok(())
            }
            Some(Err(err)) => {
                let _ = out.flush();
                note!("ssekit tail: {}", failure(&err));
                return ExitCode::from(1);
            }
        };
        match written.and_then(|()| out.flush()) {
            Ok(()) => {}
            Err(err) if err.kind() == io::ErrorKind::BrokenPipe => return ExitCode::from(1),
            Err(err) => {
                note!("ssekit tail: cannot write output: {err}");
                return ExitCode::from(1);
            }
        }
    }
}

/// An event as `[id] type: data`, data lines after the first indented
/// under it; without an id, `type: data`.
pub(crate) fn readable(event: &Event) -> String {
    let mut line = String::new();
    let id = event.id_lossy();
    if !id.is_empty() {
        let _ = write!(line, "[{id}] ");
    }
    let _ = write!(line, "{}: ", event.event_type_lossy());
    let indent = line.chars().count();
    let data = event.data_lossy();
    for (n, part) in data.split('\n').enumerate() {
        if n > 0 {
            line.push('\n');
            line.push_str(&" ".repeat(indent));
        }
        line.push_str(part);
    }
    line.push('\n');
    line
}

/// A delay as people read it: `250ms`, `3.1s`.
pub(crate) fn delay(delay: Duration) -> String {
    if delay < Duration::from_secs(1) {
        format!("{}ms", delay.as_millis())
    } else {
        format!("{:.1}s", delay.as_secs_f64())
    }
}

/// The notice of a lifecycle message: connected, reconnecting (attempt
/// `n` of `max_attempts`, if limited).
pub(crate) fn describe(
    message: &Message,
    url: &str,
    last_id: &str,
    max_attempts: Option<u32>,
) -> String {
    match message {
        Message::Open { status, .. } => format!("connected to {url} ({status})"),
        Message::Reconnecting {
            delay: after,
            attempt,
            reason,
        } => {
            let resume = if last_id.is_empty() {
                String::new()
            } else {
                format!(", resuming after id {last_id}")
            };
            let reason = match reason {
                Disconnect::Body { .. } | Disconnect::Closed { .. } => {
                    format!("connection lost: {reason}")
                }
                _ => reason.to_string(),
            };
            let of = max_attempts.map_or(String::new(), |max| format!(" of {max}"));
            format!(
                "{reason}; reconnecting in {} (attempt {attempt}{of}){resume}",
                delay(*after)
            )
        }
        Message::Stopped => "the server answered 204 No Content: the stream is over".to_owned(),
        Message::Event(_) => "an event".to_owned(),
        Message::Comment(_) => "a comment".to_owned(),
        _ => "a notice".to_owned(),
    }
}

/// What went wrong, for a terminal error, and what to do.
pub(crate) fn failure(err: &Error) -> String {
    match err {
        Error::GaveUp {
            give_up: GiveUp::MaxAttempts { attempts },
            last,
        } => format!(
            "gave up after {attempts} reconnection attempt{} (--max-retries {attempts}): {last}",
            if *attempts == 1 { "" } else { "s" }
        ),
        Error::GaveUp { give_up, last } => format!("{give_up}: {last}"),
        Error::Rejected(rejected) => format!("the event stream was refused: {rejected}"),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_split_at_the_first_colon() {
        assert_eq!(split_header("A: b: c"), Ok(("A", "b: c")));
        assert_eq!(split_header("A:b"), Ok(("A", "b")));
        assert!(split_header("no colon").is_err());
        assert!(split_header(": x").is_err());
    }

    #[test]
    fn readable_form_indents_data_lines() {
        let event = Event::builder()
            .id("7")
            .event_type("delta")
            .data("a\nb")
            .build()
            .unwrap();
        assert_eq!(readable(&event), "[7] delta: a\n           b\n");
    }

    #[test]
    fn bad_arguments_are_reported_not_panicked() {
        let options = |url: &str, header: &str, method: Option<&str>| Options {
            url: url.to_owned(),
            headers: vec![header.to_owned()],
            method: method.map(str::to_owned),
            data: None,
            last_event_id: None,
            json: false,
            comments: false,
            max_retries: None,
        };
        assert!(source(&options("nope", "A: b", None)).is_err());
        assert!(source(&options("http://127.0.0.1:1/", "bad", None)).is_err());
        assert!(source(&options("http://127.0.0.1:1/", "A: b", Some("GE T"))).is_err());
        assert!(source(&options("http://127.0.0.1:1/", "A: b", Some("POST"))).is_ok());
    }
}
