//! `ssekit encode`: JSON lines in, an event stream out (in progress).

use std::path::Path;
use std::process::ExitCode;

/// Runs `ssekit encode [FILE]`.
pub(crate) fn run(_input: Option<&Path>) -> ExitCode {
    eprintln!("ssekit encode: not implemented yet");
    ExitCode::from(1)
}
