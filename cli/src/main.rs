//! The `ssekit` command: decode, encode, serve and tail Server-Sent Events
//! streams, and a demo of them all.

use core::time::Duration;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod decode;
mod demo;
mod encode;
mod serve;
mod tail;

/// Decode, encode, serve and tail Server-Sent Events (text/event-stream)
/// streams; `ssekit demo` shows them at work.
#[derive(Debug, Parser)]
#[command(name = "ssekit", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Decode an event stream into JSON lines, one per event, as it arrives.
    ///
    /// Prints {"type":T,"data":D,"id":I} for each dispatched event (I is the
    /// last event ID in force), {"retry":N} for each valid retry field and,
    /// with --comments, {"comment":C} for each comment line. An event the
    /// input ends in (no blank line after it) is dropped, as the spec says,
    /// and a message on standard error says so. Exits 2 if a limit was
    /// exceeded (decoding goes on with the next event), 1 on an I/O error,
    /// 0 otherwise (a cut-off end included).
    Decode {
        /// The stream to read; standard input when absent.
        file: Option<PathBuf>,
        /// Also print comment lines (heartbeats).
        #[arg(long)]
        comments: bool,
        /// The longest line accepted, in bytes.
        #[arg(long, value_name = "BYTES")]
        max_line: Option<usize>,
        /// The largest event accepted, in bytes of field lines.
        #[arg(long, value_name = "BYTES")]
        max_event: Option<usize>,
    },
    /// Encode JSON lines into an event stream, flushing after each frame.
    ///
    /// Each input line is an object with optional keys type, data, id, retry
    /// and comment. An object with type, data or id is an event (data split
    /// at LF, CR and CRLF); a comment alone is a heartbeat frame; retry alone
    /// sets the reconnection time; {} writes nothing. The output of
    /// `ssekit decode --comments` is valid input. Exits 2 on an invalid line
    /// (naming its number, after writing every frame before it), 1 on an
    /// I/O error.
    Encode {
        /// The JSON lines to read; standard input when absent.
        file: Option<PathBuf>,
    },
    /// Serve JSON lines from standard input as an event stream over HTTP.
    ///
    /// Reads the lines of `ssekit encode`, encodes each once and sends it
    /// to every client (any GET path). Events without an id get the next
    /// number, from 1. The last --replay frames are retained: a new client
    /// gets them all first; one with Last-Event-ID gets those after that
    /// id (all of them if the id is unknown or too old, with a notice).
    /// A client more than 256 frames behind is disconnected, to resume
    /// with Last-Event-ID. When the input ends, it serves on until Ctrl-C
    /// (or, with --exit-on-eof, ends every stream and exits). Ctrl-C ends
    /// every stream with a retry hint and exits 0. An invalid line stops
    /// it with exit status 2, after the frames before it; 1 on an I/O
    /// error or if it cannot listen.
    ///
    /// With --redis URL it is one node of a fan-out: every node started on
    /// the same Redis and --topic serves the same events, whichever node
    /// read them. Events are appended to the Redis stream ssekit:TOPIC
    /// (lines read together in one pipeline), and their ids are the stream
    /// entry ids, such as 1733112233445-0: an input line's id is ignored,
    /// and comments and retry times are not published (a notice says so).
    /// A client resumes with Last-Event-ID on any node, getting exactly
    /// what it missed; one without gets the events from then on. --replay
    /// is then the events each node keeps in memory (the stream keeps at
    /// least as many, and at least 1000). The end of the input does not
    /// stop a node (start one with </dev/null to only serve); with
    /// --exit-on-eof, and after an invalid line, every stream ends with
    /// the retry hint once the lines before are published. 503 when
    /// Redis cannot be reached for a new stream; exit status 1 if it
    /// cannot be reached at the start.
    Serve {
        /// The address to listen on; port 0 picks a free one (printed on
        /// standard error as "listening on http://ADDR/").
        #[arg(long, default_value = "127.0.0.1:8080", value_name = "HOST:PORT")]
        addr: String,
        /// The silence after which a heartbeat comment is sent: 15s, 500ms,
        /// 2m; 0 turns heartbeats off.
        #[arg(long, default_value = "15s", value_name = "INTERVAL", value_parser = serve::parse_interval)]
        heartbeat: Duration,
        /// How many frames to retain for clients that connect or resume
        /// later. With --redis: the events each node keeps in memory (the
        /// Redis stream keeps at least as many, and at least 1000).
        #[arg(long, default_value_t = 1000, value_name = "N")]
        replay: usize,
        /// The most streams open at once; past it, 503 with Retry-After.
        #[arg(long, value_name = "N")]
        max_connections: Option<usize>,
        /// When the input ends, end every stream (after its queued frames)
        /// and exit 0.
        #[arg(long)]
        exit_on_eof: bool,
        /// Fan out through the Redis at this URL (redis://HOST:PORT/,
        /// Redis 5 or later): publish the input there, and serve --topic
        /// with its stream entry ids.
        #[arg(long, value_name = "URL")]
        redis: Option<String>,
        /// With --redis: the topic to publish and serve, the stream
        /// ssekit:TOPIC.
        #[arg(long, default_value = serve::DEFAULT_TOPIC, value_name = "NAME", requires = "redis", value_parser = serve::parse_topic)]
        topic: String,
    },
    /// Connect to an event stream and print its events as they arrive.
    ///
    /// Reconnects as a browser's EventSource does, sending the request again
    /// with Last-Event-ID after the server's retry time, with backoff.
    /// Prints `[id] type: data` per event (data lines after the first
    /// indented) or, with --json, the JSON lines of `ssekit decode`.
    /// Notices (connected, reconnecting and why, gave up) go to standard
    /// error. Exits 0 when the server answers 204 No Content or at Ctrl-C;
    /// 1 when the stream fails for good (connection refused after
    /// --max-retries, a status such as 404, not an event stream), with a
    /// message saying why; 2 on invalid arguments. http:// and https://.
    Tail {
        /// The event stream's URL.
        url: String,
        /// A request header, 'Name: value'; repeat for more.
        #[arg(short = 'H', long = "header", value_name = "NAME: VALUE")]
        headers: Vec<String>,
        /// The request method; GET, or POST with --data.
        #[arg(short = 'X', long = "request", value_name = "METHOD")]
        method: Option<String>,
        /// The request body, sent on every attempt; @FILE reads a file, @-
        /// standard input. Set its Content-Type with -H.
        #[arg(short = 'd', long = "data", value_name = "BODY")]
        data: Option<String>,
        /// The Last-Event-ID of the first request, to resume after it.
        #[arg(long, value_name = "ID")]
        last_event_id: Option<String>,
        /// Print JSON lines, as `ssekit decode` does.
        #[arg(long)]
        json: bool,
        /// Also print comment lines (heartbeats).
        #[arg(long)]
        comments: bool,
        /// The most reconnection attempts in a row before giving up
        /// (unlimited by default; 0 never reconnects).
        #[arg(long, value_name = "N")]
        max_retries: Option<u32>,
    },
    /// Stream an LLM-style answer through a dropped connection, in one
    /// process.
    ///
    /// Runs the server of `ssekit serve` and the client of `ssekit tail` on
    /// an ephemeral 127.0.0.1 port: the server sends the answer as
    /// `event: delta` events with {"text":...} data and ids, cuts the
    /// connection after about 40 % of them, and the client reconnects with
    /// Last-Event-ID. The answer is printed token by token, then a summary:
    /// events sent and received, reconnects, lost, duplicated, throughput.
    /// Exits 1 if any event was lost, duplicated or out of order.
    Demo {
        /// How many token events to send, up to a million (the canned
        /// answer repeats); one per token of it by default.
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
        events: Option<u32>,
        /// The pause between two tokens, in milliseconds (up to 10000).
        #[arg(long, default_value_t = 5, value_name = "MS", value_parser = clap::value_parser!(u64).range(0..=10_000))]
        delay_ms: u64,
    },
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Decode {
            file,
            comments,
            max_line,
            max_event,
        } => decode::run(&decode::Options {
            input: file,
            comments,
            max_line,
            max_event,
        }),
        Command::Encode { file } => encode::run(file.as_deref()),
        Command::Serve {
            addr,
            heartbeat,
            replay,
            max_connections,
            exit_on_eof,
            redis,
            topic,
        } => serve::run(serve::Options {
            addr,
            heartbeat,
            replay,
            max_connections,
            exit_on_eof,
            redis,
            topic,
        }),
        Command::Tail {
            url,
            headers,
            method,
            data,
            last_event_id,
            json,
            comments,
            max_retries,
        } => tail::run(&tail::Options {
            url,
            headers,
            method,
            data,
            last_event_id,
            json,
            comments,
            max_retries,
        }),
        Command::Demo { events, delay_ms } => demo::run(&demo::Options {
            events: events.map(|n| n as usize),
            delay: Duration::from_millis(delay_ms),
        }),
    }
}
