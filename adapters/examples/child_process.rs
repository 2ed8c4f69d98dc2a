//! Reads a Server-Sent Events stream from a child process's standard output.
//!
//! The child here is `sh` running `printf`, standing in for any program that
//! writes `text/event-stream` to stdout (a local model server's CLI, `curl -N`,
//! a test fixture). The stream is written in three pieces with pauses, and
//! its second event is cut off, to show incremental decoding and how a
//! truncated end is reported.
//!
//! Run with `cargo run -p ssekit-adapters --features tokio-util --example child_process`.

use std::io::Write;
use std::process::Stdio;

use futures::StreamExt;
use ssekit_adapters::codec::EndOfStream;
use ssekit_adapters::tokio::SseCodec;
use tokio::process::Command;
use tokio_util::codec::FramedRead;

const SCRIPT: &str = r#"
printf 'retry: 3000\nid: 1\nevent: delta\ndata: {"text":"Hel'
sleep 0.05
printf 'lo"}\r\n\r\n: keep-alive\n\nid: 2\nevent: delta\ndata: {"text":" world"}\n\n'
sleep 0.05
printf 'event: done\ndata: [DO'
"#;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn core::error::Error>> {
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(SCRIPT)
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    let stdout = child.stdout.take().ok_or("the child has no stdout")?;

    // `writeln!` rather than `println!`, so that a closed stdout (say, piped
    // into `head`) ends the program with an error instead of a panic.
    let mut out = std::io::stdout().lock();
    let mut events = FramedRead::new(stdout, SseCodec::new());
    while let Some(event) = events.next().await {
        let event = event?;
        writeln!(
            out,
            "event={} id={} data={}",
            event.event_type_lossy(),
            event.id_lossy(),
            event.data_lossy()
        )?;
    }

    let codec = events.decoder();
    match codec.end_of_stream() {
        Some(EndOfStream::Truncated) => writeln!(out, "the stream was cut off inside an event")?,
        _ => writeln!(out, "the stream ended cleanly")?,
    }
    writeln!(
        out,
        "resume with Last-Event-ID: {} after {:?}",
        String::from_utf8_lossy(codec.last_event_id()),
        codec.reconnection_time()
    )?;

    let status = child.wait().await?;
    writeln!(out, "child exited with {status}")?;
    Ok(())
}
