//! The `ssekit` command: decode and encode Server-Sent Events streams.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod decode;
mod encode;

/// Decode and encode Server-Sent Events (text/event-stream) streams.
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
    /// with --comments, {"comment":C} for each comment line. Exits 2 if a
    /// limit was exceeded (decoding goes on with the next event), 1 on an
    /// I/O error.
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
    }
}
