//! A small HTTP/1.1 server connection for event streams (feature
//! `lite-server`): one request per connection, the response streamed with
//! chunked encoding, in as little memory per connection as it takes.
//!
//! A general server such as hyper keeps a read buffer of 8 KiB and a write
//! buffer for each connection's life. An event stream needs neither once
//! the request is read: this connection parses the request head in a
//! buffer that is freed before the response starts, then only writes each
//! frame straight from the body, so an idle stream holds the socket, the
//! body and a few words of state.
//!
//! What it does not do: request bodies (answered `400`), keep-alive (the
//! connection closes after the response), pipelining, upgrades, HTTP/2.
//! Use hyper for those; [`SseBody`](super::SseBody) works on both.
//!
//! # Example
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use tokio::io::{AsyncReadExt, AsyncWriteExt};
//! use ssekit_adapters::codec::Event;
//! use ssekit_adapters::http::{lite, SseBody};
//!
//! let (client, server) = tokio::io::duplex(4096);
//! tokio::spawn(lite::serve_connection(server, |request: http::Request<()>| async move {
//!     assert_eq!(request.uri().path(), "/events");
//!     let events = futures::stream::iter([Event::new("hello")]);
//!     SseBody::new(events).response()
//! }));
//! let (mut read, mut write) = tokio::io::split(client);
//! write.write_all(b"GET /events HTTP/1.1\r\nHost: x\r\n\r\n").await?;
//! let mut response = String::new();
//! read.read_to_string(&mut response).await?;
//! assert!(response.starts_with("HTTP/1.1 200 OK\r\n"));
//! assert!(response.ends_with("\r\n\r\nd\r\ndata: hello\n\n\r\n0\r\n\r\n"), "{response:?}");
//! # Ok::<(), std::io::Error>(())
//! # }).unwrap();
//! ```

use core::fmt;
use core::future::{poll_fn, Future};
use core::pin::Pin;
use core::task::Poll;
use std::boxed::Box;
use std::io;
use std::vec::Vec;

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue, CONNECTION, CONTENT_LENGTH, TRANSFER_ENCODING};
use http::{Request, Response, StatusCode, Version};
use http_body::Body;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};

/// The longest request head accepted, in bytes; a longer one is answered
/// `431`.
pub const MAX_HEAD: usize = 16 * 1024;

/// How long a client has to send its whole request head; the connection
/// is closed past it.
pub const HEAD_TIMEOUT: core::time::Duration = core::time::Duration::from_secs(30);

/// The most request headers accepted; more are answered `431`.
pub const MAX_HEADERS: usize = 64;

/// Why a connection ended other than cleanly.
#[derive(Debug)]
#[non_exhaustive]
pub enum ServeError {
    /// Reading or writing the socket failed (the client is gone, mostly).
    Io(io::Error),
    /// The request could not be served; it was answered with this status.
    BadRequest(StatusCode),
    /// The body ended with an error; the response was cut (no last chunk),
    /// so the client sees a broken stream.
    Body(Box<dyn core::error::Error + Send + Sync>),
}

impl fmt::Display for ServeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServeError::Io(err) => write!(f, "the connection failed: {err}"),
            ServeError::BadRequest(status) => write!(f, "the request was refused with {status}"),
            ServeError::Body(err) => write!(f, "the response body failed: {err}"),
        }
    }
}

impl core::error::Error for ServeError {}

impl From<io::Error> for ServeError {
    fn from(err: io::Error) -> ServeError {
        ServeError::Io(err)
    }
}

/// Serves one request on `io` with `service`, then closes.
///
/// The response's body is streamed: each data frame is written as one
/// chunk (`Transfer-Encoding: chunked`) as soon as the body yields it, or
/// with `Content-Length` when the body knows its exact size. While the body
/// waits, the connection watches the socket, so a client that closes ends
/// the response at once (the body is dropped, and with it a subscription or
/// a channel).
///
/// # Errors
///
/// A client that sends no whole request head within [`HEAD_TIMEOUT`] is
/// disconnected (`Ok`).
///
/// [`ServeError`]: the socket failed, the request was refused (it was
/// answered: `400` for a malformed head or a request with a body, `431` for
/// a head over [`MAX_HEAD`] bytes or [`MAX_HEADERS`] headers, `505` for a
/// version other than HTTP/1.x), or the body failed.
pub async fn serve_connection<IO, F, Fut, B>(mut io: IO, service: F) -> Result<(), ServeError>
where
    IO: AsyncRead + AsyncWrite + Unpin,
    F: FnOnce(Request<()>) -> Fut,
    Fut: Future<Output = Response<B>>,
    B: Body<Data = Bytes>,
    B::Error: Into<Box<dyn core::error::Error + Send + Sync>>,
{
    let Ok(head) = tokio::time::timeout(HEAD_TIMEOUT, read_request(&mut io)).await else {
        // No whole request in time: a client that connects and says
        // nothing does not hold the connection.
        let _ = io.shutdown().await;
        return Ok(());
    };
    let request = match head? {
        Head::Request(request) => request,
        Head::Closed => return Ok(()),
        Head::Refused(status) => {
            let text = status.canonical_reason().unwrap_or("refused");
            let response = std::format!(
                "HTTP/1.1 {} {text}\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{text}",
                status.as_u16(),
                text.len()
            );
            io.write_all(response.as_bytes()).await?;
            let _ = io.shutdown().await;
            return Err(ServeError::BadRequest(status));
        }
    };
    let http10 = request.version() == Version::HTTP_10;
    let head_only = request.method() == http::Method::HEAD;
    let response = service(request).await;
    let (parts, body) = response.into_parts();
    // 1xx, 204 and 304 responses have no body (RFC 9112 6.3); 1xx and 204
    // no Content-Length either (RFC 9110 8.6).
    let no_body = parts.status.is_informational()
        || parts.status == StatusCode::NO_CONTENT
        || parts.status == StatusCode::NOT_MODIFIED;
    let length = if no_body {
        None
    } else {
        body.size_hint().exact()
    };
    let chunked = length.is_none() && !http10 && !no_body;
    {
        let head = write_head(&parts, length, chunked);
        io.write_all(&head).await?;
        io.flush().await?;
    }
    if head_only || no_body {
        let _ = io.shutdown().await;
        return Ok(());
    }
    let mut body = core::pin::pin!(body);
    loop {
        let frame = poll_fn(|cx| {
            if let Poll::Ready(frame) = body.as_mut().poll_frame(cx) {
                return Poll::Ready(Some(frame));
            }
            // Waiting on the body: watch for the client leaving. Bytes it
            // sends after its request are read and dropped.
            let mut scratch = [0u8; 64];
            let mut buf = ReadBuf::new(&mut scratch);
            match Pin::new(&mut io).poll_read(cx, &mut buf) {
                Poll::Ready(Ok(())) if buf.filled().is_empty() => Poll::Ready(None),
                Poll::Ready(Err(_)) => Poll::Ready(None),
                Poll::Ready(Ok(())) => {
                    // Read something: poll again for more or for pending.
                    cx.waker().wake_by_ref();
                    Poll::Pending
                }
                Poll::Pending => Poll::Pending,
            }
        })
        .await;
        let mut frames: Vec<Bytes> = Vec::new();
        let mut ended = false;
        let mut bytes = match frame {
            // The client left.
            None => return Ok(()),
            Some(None) => break,
            Some(Some(Err(err))) => return Err(ServeError::Body(err.into())),
            Some(Some(Ok(frame))) => push_data(&mut frames, frame),
        };
        // The frames that are ready now go out together, in one chunk and
        // one vectored write: under load a stream writes bursts, not one
        // packet per event. The list lives only while it is written.
        while frames.len() < MAX_BATCH_FRAMES && bytes < MAX_BATCH_BYTES {
            match poll_fn(|cx| Poll::Ready(body.as_mut().poll_frame(cx))).await {
                Poll::Ready(Some(Ok(frame))) => bytes += push_data(&mut frames, frame),
                Poll::Ready(Some(Err(err))) => {
                    write_frames(&mut io, &frames, bytes, chunked).await?;
                    return Err(ServeError::Body(err.into()));
                }
                Poll::Ready(None) => {
                    ended = true;
                    break;
                }
                Poll::Pending => break,
            }
        }
        if !frames.is_empty() {
            write_frames(&mut io, &frames, bytes, chunked).await?;
            io.flush().await?;
        }
        drop(frames);
        if ended {
            break;
        }
    }
    if chunked {
        io.write_all(b"0\r\n\r\n").await?;
    }
    io.flush().await?;
    let _ = io.shutdown().await;
    Ok(())
}

/// The most frames, and bytes, one write takes.
const MAX_BATCH_FRAMES: usize = 64;
const MAX_BATCH_BYTES: usize = 64 * 1024;

/// Keeps a frame's data (trailers and empty frames are not sent); returns
/// the bytes kept.
fn push_data(frames: &mut Vec<Bytes>, frame: http_body::Frame<Bytes>) -> usize {
    match frame.into_data() {
        Ok(data) if !data.is_empty() => {
            let len = data.len();
            frames.push(data);
            len
        }
        _ => 0,
    }
}

/// `frames` (`len` bytes together) as one chunk (its size line, the
/// frames, CRLF) or as they are, in as few writes as the socket takes.
async fn write_frames<IO: AsyncWrite + Unpin>(
    io: &mut IO,
    frames: &[Bytes],
    len: usize,
    chunked: bool,
) -> io::Result<()> {
    if frames.is_empty() {
        return Ok(());
    }
    let mut size = [0u8; 18];
    let size_len = hex_line(len, &mut size);
    let mut parts: Vec<&[u8]> = Vec::with_capacity(frames.len() + 2);
    if chunked {
        parts.push(&size[..size_len]);
    }
    parts.extend(frames.iter().map(|f| &f[..]));
    if chunked {
        parts.push(b"\r\n");
    }
    let mut index = 0;
    while index < parts.len() {
        let written = {
            let slices: Vec<io::IoSlice<'_>> =
                parts[index..].iter().map(|p| io::IoSlice::new(p)).collect();
            poll_fn(|cx| Pin::new(&mut *io).poll_write_vectored(cx, &slices)).await?
        };
        if written == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        let mut written = written;
        while index < parts.len() && written >= parts[index].len() {
            written -= parts[index].len();
            index += 1;
        }
        if index < parts.len() {
            parts[index] = &parts[index][written..];
        }
    }
    Ok(())
}

/// `{len:x}\r\n` into `out`; returns its length.
fn hex_line(len: usize, out: &mut [u8; 18]) -> usize {
    let mut digits = [0u8; 16];
    let mut n = len;
    let mut count = 0;
    loop {
        digits[count] = b"0123456789abcdef"[n & 15];
        count += 1;
        n >>= 4;
        if n == 0 {
            break;
        }
    }
    for i in 0..count {
        out[i] = digits[count - 1 - i];
    }
    out[count] = b'\r';
    out[count + 1] = b'\n';
    count + 2
}

/// The response head, with the framing headers this connection decides.
fn write_head(parts: &http::response::Parts, length: Option<u64>, chunked: bool) -> Vec<u8> {
    let mut head = Vec::with_capacity(256);
    let reason = parts.status.canonical_reason().unwrap_or("");
    head.extend_from_slice(
        std::format!("HTTP/1.1 {} {reason}\r\n", parts.status.as_u16()).as_bytes(),
    );
    for (name, value) in &parts.headers {
        // Framing and connection handling are this connection's.
        if name == CONTENT_LENGTH || name == TRANSFER_ENCODING || name == CONNECTION {
            continue;
        }
        head.extend_from_slice(name.as_str().as_bytes());
        head.extend_from_slice(b": ");
        head.extend_from_slice(value.as_bytes());
        head.extend_from_slice(b"\r\n");
    }
    if let Some(length) = length {
        head.extend_from_slice(std::format!("content-length: {length}\r\n").as_bytes());
    } else if chunked {
        head.extend_from_slice(b"transfer-encoding: chunked\r\n");
    }
    head.extend_from_slice(b"connection: close\r\n\r\n");
    head
}

#[allow(clippy::large_enum_variant)] // made once per connection, moved once
enum Head {
    Request(Request<()>),
    /// The client closed before a whole head.
    Closed,
    /// To be answered with this status, then closed.
    Refused(StatusCode),
}

/// Reads and parses the request head, in a buffer freed on return.
async fn read_request<IO: AsyncRead + Unpin>(io: &mut IO) -> io::Result<Head> {
    let mut buf: Vec<u8> = Vec::with_capacity(1024);
    loop {
        if buf.len() >= MAX_HEAD {
            return Ok(Head::Refused(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE));
        }
        if buf.capacity() == buf.len() {
            buf.reserve(1024.min(MAX_HEAD - buf.len()));
        }
        if io.read_buf(&mut buf).await? == 0 {
            return Ok(Head::Closed);
        }
        if let Some(head) = parse(&buf) {
            return Ok(head);
        }
    }
}

/// The request in `buf`, or `None` when more bytes are needed.
fn parse(buf: &[u8]) -> Option<Head> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut parsed = httparse::Request::new(&mut headers);
    let refused = |status| Some(Head::Refused(status));
    match parsed.parse(buf) {
        Ok(httparse::Status::Partial) => return None,
        Ok(httparse::Status::Complete(_)) => {}
        Err(httparse::Error::TooManyHeaders) => {
            return refused(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE)
        }
        Err(httparse::Error::Version) => return refused(StatusCode::HTTP_VERSION_NOT_SUPPORTED),
        Err(_) => return refused(StatusCode::BAD_REQUEST),
    }
    let version = match parsed.version {
        Some(0) => Version::HTTP_10,
        _ => Version::HTTP_11,
    };
    let mut request = Request::builder()
        .method(parsed.method.unwrap_or("GET"))
        .uri(parsed.path.unwrap_or("/"))
        .version(version);
    for header in parsed.headers.iter() {
        let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(header.name.as_bytes()),
            HeaderValue::from_bytes(header.value),
        ) else {
            return refused(StatusCode::BAD_REQUEST);
        };
        let has_body =
            (name == CONTENT_LENGTH && value.as_bytes() != b"0") || name == TRANSFER_ENCODING;
        if has_body {
            return refused(StatusCode::BAD_REQUEST);
        }
        request = request.header(name, value);
    }
    match request.body(()) {
        Ok(request) => Some(Head::Request(request)),
        Err(_) => refused(StatusCode::BAD_REQUEST),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_lines() {
        let mut out = [0u8; 18];
        for (len, want) in [
            (0, "0\r\n"),
            (14, "e\r\n"),
            (255, "ff\r\n"),
            (4096, "1000\r\n"),
        ] {
            let n = hex_line(len, &mut out);
            assert_eq!(&out[..n], want.as_bytes());
        }
        let n = hex_line(usize::MAX, &mut out);
        assert_eq!(n, 2 * core::mem::size_of::<usize>() + 2);
    }

    #[test]
    fn heads_that_are_refused() {
        let status = |head: &[u8]| match parse(head) {
            Some(Head::Refused(status)) => Some(status),
            Some(Head::Request(_)) => None,
            _ => panic!("partial: {head:?}"),
        };
        assert_eq!(status(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"), None);
        assert_eq!(
            status(b"GET / HTTP/1.1\r\nContent-Length: 5\r\n\r\n"),
            Some(StatusCode::BAD_REQUEST)
        );
        assert_eq!(
            status(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"),
            Some(StatusCode::BAD_REQUEST)
        );
        assert_eq!(
            status(b"GET / HTTP/2.0\r\n\r\n"),
            Some(StatusCode::HTTP_VERSION_NOT_SUPPORTED)
        );
        assert_eq!(
            status(b"G\x01T / HTTP/1.1\r\n\r\n"),
            Some(StatusCode::BAD_REQUEST)
        );
        let many: Vec<u8> = [
            &b"GET / HTTP/1.1\r\n"[..],
            &b"a: b\r\n".repeat(MAX_HEADERS + 1),
            b"\r\n",
        ]
        .concat();
        assert_eq!(
            status(&many),
            Some(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE)
        );
        assert!(parse(b"GET / HTTP/1.1\r\nHost: a\r\n").is_none(), "partial");
    }
}
