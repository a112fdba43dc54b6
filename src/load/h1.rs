//! HTTP/1.1 for the refresh hot path: one request at a time on a user's
//! own connection, written as one buffer and its answer read with
//! httparse, the parser under hyper. hyper's client connection (the layer
//! under reqwest) did the same through a request object, a header map, a
//! channel between the request and the connection and a wake of the task
//! per request: a tenth of the generator's time against a fast server.
//!
//! What a token endpoint may answer is all read: `Content-Length` and
//! chunked bodies, a body that ends with the connection, 1xx answers
//! before the real one, `Connection: close`, HTTP/1.0. A connection is kept
//! only when its answer ended where its framing said, nothing followed it
//! and the server did not ask to close it.

use crate::oauth::http::{self, TransportError};
use crate::verdict::ErrorClass;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::Instant;

/// An answer's head may be at most this long, with at most this many
/// headers (hyper's limits).
const MAX_HEAD_BYTES: usize = 64 * 1024;
const MAX_HEADERS: usize = 100;

/// A chunk-size line (with its extensions) may be at most this long.
const MAX_CHUNK_LINE: usize = 4096;

/// A connection idle this long is looked at for a close before it is used
/// (a server closing an idle connection); one used again sooner is not
/// (a look costs a syscall, and at full load a connection idles for
/// microseconds).
const LOOK_AFTER_IDLE: Duration = Duration::from_millis(1);

/// The room an answer is read into: a read into less than this costs the
/// kernel a fifth more per answer against a fast server (measured with 2
/// KiB), though the answers are smaller.
const READ_ROOM: usize = 8192;

/// Read buffers that no exchange holds, kept per thread so that a user
/// holds one only while its answer is read: 10,000 users mostly at rest
/// hold a few, not 10,000 (a buffer taken and given back costs no
/// allocation; at most [`POOLED`] are kept).
const POOLED: usize = 4096;

thread_local! {
    static READ_BUFFERS: std::cell::RefCell<Vec<Vec<u8>>> = const { std::cell::RefCell::new(Vec::new()) };
}

fn take_read_buffer() -> Vec<u8> {
    READ_BUFFERS
        .with_borrow_mut(Vec::pop)
        .unwrap_or_else(|| Vec::with_capacity(READ_ROOM))
}

fn give_back_read_buffer(buf: Vec<u8>) {
    // A buffer grown for a large answer is let go, not kept.
    if buf.is_empty() && buf.capacity() == READ_ROOM {
        READ_BUFFERS.with_borrow_mut(|pool| {
            if pool.len() < POOLED {
                pool.push(buf);
            }
        });
    }
}

/// A connection's byte stream: plain TCP, or TLS over it ([`super::tls`]).
pub(super) enum Stream {
    Plain(TcpStream),
    /// Boxed: rustls's connection state is large, and most users hold a
    /// plain stream or none.
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// How a connection came to be: the time from connect to ready, and over
/// TLS whether its handshake resumed an earlier session.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Opened {
    pub(super) took: Duration,
    pub(super) tls_resumed: Option<bool>,
}

/// A user's connection.
pub(super) struct Conn {
    stream: Stream,
    /// What was read and not yet consumed: empty, and holding no memory,
    /// between exchanges (a buffer from [`READ_BUFFERS`] while one runs).
    buf: Vec<u8>,
    /// The request being written.
    out: Vec<u8>,
    /// When the last answer was read.
    idle_since: Instant,
    /// One timer for every exchange on the connection: re-armed when it
    /// would fire too early, so it fires between one and one and a half
    /// request timeouts after a request began (no timer per request).
    fence: std::pin::Pin<Box<tokio::time::Sleep>>,
}

/// An answer read: its status, its body (at most [`http::MAX_BODY_BYTES`])
/// and whether the connection can carry the next request.
pub(super) struct Read {
    pub(super) status: u16,
    pub(super) body: bytes::Bytes,
    pub(super) keep: bool,
}

/// How an answer's body ends.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Framing {
    None,
    Length(usize),
    Chunked,
    UntilClose,
}

impl Conn {
    /// Connects to `host:port`, with the TLS handshake when `tls` is
    /// given, all within the connect timeout.
    pub(super) async fn open(
        host: &str,
        port: u16,
        tls: Option<&super::tls::Tls>,
        options: &http::HttpOptions,
    ) -> Result<(Conn, Opened), TransportError> {
        let began = Instant::now();
        let connect = async {
            let tcp = TcpStream::connect((host, port)).await.map_err(|e| {
                let class = match e.raw_os_error() {
                    Some(24) => ErrorClass::TooManyOpenFiles,
                    _ => ErrorClass::Connect,
                };
                TransportError::new(class, e.to_string())
            })?;
            let _ = tcp.set_nodelay(true);
            Ok(match tls {
                Some(tls) => Stream::Tls(Box::new(tls.handshake(tcp).await?)),
                None => Stream::Plain(tcp),
            })
        };
        let stream = tokio::time::timeout(options.connect_timeout, connect)
            .await
            .map_err(|_| TransportError::new(ErrorClass::Timeout, "connecting timed out"))??;
        let opened = Opened {
            took: began.elapsed(),
            tls_resumed: match &stream {
                Stream::Plain(_) => None,
                Stream::Tls(s) => Some(matches!(
                    s.get_ref().1.handshake_kind(),
                    Some(tokio_rustls::rustls::HandshakeKind::Resumed)
                )),
            },
        };
        let conn = Conn {
            stream,
            buf: Vec::new(),
            out: Vec::new(),
            idle_since: Instant::now(),
            fence: Box::pin(tokio::time::sleep(options.request_timeout)),
        };
        Ok((conn, opened))
    }

    /// Whether the server closed this connection (or wrote to it unasked)
    /// while it was idle: then the request must not be sent on it.
    pub(super) fn ended_while_idle(&mut self) -> bool {
        if self.idle_since.elapsed() < LOOK_AFTER_IDLE {
            return false;
        }
        let stream = match &mut self.stream {
            Stream::Plain(s) => s,
            // Over TLS the socket may hold records that are no answer (a
            // TLS 1.3 session ticket): rustls reads them, and only a close,
            // an alert or bytes of an answer nobody asked for end the
            // connection. A read that would wait means none came.
            Stream::Tls(s) => {
                let mut cx = Context::from_waker(std::task::Waker::noop());
                let mut probe = [0u8; 1];
                let mut probe = ReadBuf::new(&mut probe);
                return !matches!(
                    Pin::new(s.as_mut()).poll_read(&mut cx, &mut probe),
                    Poll::Pending
                );
            }
        };
        // A look at the socket itself: tokio's readiness knows of a close
        // only once its reactor has turned since it came.
        #[cfg(target_os = "linux")]
        {
            use rustix::net::{RecvFlags, recv};
            let mut probe = [0u8; 1];
            !matches!(
                recv(&*stream, &mut probe, RecvFlags::PEEK | RecvFlags::DONTWAIT),
                Err(rustix::io::Errno::AGAIN)
            )
        }
        #[cfg(not(target_os = "linux"))]
        {
            let mut probe = [0u8; 1];
            !matches!(stream.try_read(&mut probe), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
        }
    }

    /// Sends `head` (the request line and headers up to a `Content-Length`
    /// name), the body's length and `body`, and reads the answer, all
    /// within `timeout` of now.
    #[cfg(test)]
    pub(super) async fn exchange(
        &mut self,
        head: &[u8],
        body: &[u8],
        timeout: Duration,
    ) -> Result<Read, TransportError> {
        self.exchange_with(head, body.len(), |out| out.extend_from_slice(body), timeout)
            .await
    }

    /// [`Conn::exchange`] with a body of `len` bytes that `write` puts in
    /// place (the refresh form, its token encoded straight into the
    /// request's buffer: no body of its own to copy).
    pub(super) async fn exchange_with(
        &mut self,
        head: &[u8],
        len: usize,
        write: impl FnOnce(&mut Vec<u8>),
        timeout: Duration,
    ) -> Result<Read, TransportError> {
        let limit = Instant::now() + timeout;
        if self.fence.deadline() < limit {
            self.fence.as_mut().reset(limit + timeout / 2);
        }
        self.out.clear();
        self.out.extend_from_slice(head);
        self.out.extend_from_slice(itoa_usize(len, &mut [0u8; 20]));
        self.out.extend_from_slice(b"\r\n\r\n");
        let at = self.out.len();
        write(&mut self.out);
        debug_assert_eq!(self.out.len() - at, len, "the body's announced length");
        if self.buf.capacity() == 0 {
            self.buf = take_read_buffer();
        }
        let Conn {
            stream,
            buf,
            out,
            fence,
            ..
        } = self;
        let exchange = async {
            let sent = async {
                stream.write_all(out).await?;
                // TLS holds records until flushed (plain TCP: a no-op).
                stream.flush().await
            };
            sent.await.map_err(|e| {
                TransportError::new(
                    ErrorClass::ConnectionReset,
                    format!("the request could not be sent: {e}"),
                )
            })?;
            read_answer(stream, buf).await
        };
        let result = tokio::select! {
            biased;
            r = exchange => r,
            _ = fence.as_mut() => Err(TransportError::new(
                ErrorClass::Timeout,
                "no answer within the request timeout",
            )),
        };
        self.idle_since = Instant::now();
        if self.buf.is_empty() {
            give_back_read_buffer(std::mem::take(&mut self.buf));
        }
        result
    }
}

/// Reads one answer from `stream` into `buf` (which may hold its start).
async fn read_answer(stream: &mut Stream, buf: &mut Vec<u8>) -> Result<Read, TransportError> {
    let (status, framing, close, head_len) = loop {
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut answer = httparse::Response::new(&mut headers);
        match answer.parse(buf) {
            Ok(httparse::Status::Complete(n)) => {
                let status = answer.code.unwrap_or(0);
                // 1xx (but 101) precede the answer: skipped.
                if (100..200).contains(&status) && status != 101 {
                    buf.drain(..n);
                    continue;
                }
                let (framing, close) = framing_of(&answer)?;
                break (status, framing, close, n);
            }
            Ok(httparse::Status::Partial) if buf.len() < MAX_HEAD_BYTES => {}
            Ok(httparse::Status::Partial) => {
                return Err(protocol("an answer head longer than 64 KiB"));
            }
            Err(e) => return Err(protocol(&format!("an answer that is not HTTP: {e}"))),
        }
        if fill(stream, buf).await? == 0 {
            return Err(TransportError::new(
                ErrorClass::ConnectionReset,
                "the server closed the connection before answering",
            ));
        }
    };
    let framing = if status == 204 || status == 304 {
        Framing::None
    } else {
        framing
    };
    let (body, whole, used) = match framing {
        Framing::None => (Vec::new(), true, head_len),
        Framing::Length(n) => {
            let want = n.min(http::MAX_BODY_BYTES);
            while buf.len() < head_len + want {
                if fill(stream, buf).await? == 0 {
                    return Err(cut_short());
                }
            }
            let body = buf[head_len..head_len + want].to_vec();
            (body, want == n, head_len + want)
        }
        Framing::UntilClose => {
            while buf.len() - head_len < http::MAX_BODY_BYTES && fill(stream, buf).await? > 0 {}
            let end = buf.len().min(head_len + http::MAX_BODY_BYTES);
            let whole = buf.len() - head_len < http::MAX_BODY_BYTES;
            (buf[head_len..end].to_vec(), whole, buf.len())
        }
        Framing::Chunked => {
            let (body, whole, used) = dechunk(stream, buf, head_len).await?;
            (body, whole, used)
        }
    };
    let rest = buf.len() > used;
    buf.drain(..used.min(buf.len()));
    let keep = whole && !close && !rest && framing != Framing::UntilClose;
    Ok(Read {
        status,
        body: bytes::Bytes::from(body),
        keep,
    })
}

/// The body's framing and whether the server closes the connection after
/// it (RFC 9112 §6.3: chunked before a length; HTTP/1.0 closes unless it
/// says keep-alive).
fn framing_of(answer: &httparse::Response) -> Result<(Framing, bool), TransportError> {
    let mut length: Option<usize> = None;
    let mut chunked = false;
    let mut coded = false;
    let mut close = answer.version == Some(0);
    for h in answer.headers.iter() {
        let value = std::str::from_utf8(h.value).unwrap_or("").trim();
        if h.name.eq_ignore_ascii_case("content-length") {
            // Digits only; a list of the same length is one (RFC 9110 §8.6).
            for part in value.split(',').map(str::trim) {
                let n = part
                    .bytes()
                    .all(|b| b.is_ascii_digit())
                    .then(|| part.parse::<usize>().ok())
                    .flatten()
                    .ok_or_else(|| protocol("a Content-Length that is not a number"))?;
                if length.is_some_and(|l| l != n) {
                    return Err(protocol("two different Content-Lengths"));
                }
                length = Some(n);
            }
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            coded = true;
            chunked = value
                .rsplit(',')
                .next()
                .is_some_and(|last| last.trim().eq_ignore_ascii_case("chunked"));
        } else if h.name.eq_ignore_ascii_case("connection") {
            for token in value.split(',').map(str::trim) {
                if token.eq_ignore_ascii_case("close") {
                    close = true;
                } else if token.eq_ignore_ascii_case("keep-alive") && answer.version == Some(0) {
                    close = false;
                }
            }
        }
    }
    // A transfer coding other than chunked last: the body ends with the
    // connection, whatever a Content-Length says (RFC 9112 §6.3).
    let framing = match (chunked, coded, length) {
        (true, _, _) => Framing::Chunked,
        (false, false, Some(n)) => Framing::Length(n),
        (false, _, _) => Framing::UntilClose,
    };
    Ok((framing, close))
}

/// A chunked body from `buf[at..]` (reading more as needed): the body (at
/// most [`http::MAX_BODY_BYTES`]), whether it is whole, and where it ended.
async fn dechunk(
    stream: &mut Stream,
    buf: &mut Vec<u8>,
    mut at: usize,
) -> Result<(Vec<u8>, bool, usize), TransportError> {
    let mut body = Vec::new();
    loop {
        let (size_len, size) = loop {
            match httparse::parse_chunk_size(&buf[at..]) {
                Ok(httparse::Status::Complete((n, size))) => break (n, size as usize),
                Ok(httparse::Status::Partial) if buf.len() - at > MAX_CHUNK_LINE => {
                    return Err(protocol("a chunk-size line longer than 4 KiB"));
                }
                Ok(httparse::Status::Partial) => {
                    if fill(stream, buf).await? == 0 {
                        return Err(cut_short());
                    }
                }
                Err(_) => return Err(protocol("a chunk size that is not one")),
            }
        };
        at += size_len;
        if size == 0 {
            // Trailers, if any, end with an empty line.
            loop {
                if buf[at..].starts_with(b"\r\n") {
                    return Ok((body, true, at + 2));
                }
                if let Some(end) = find(&buf[at..], b"\r\n\r\n") {
                    return Ok((body, true, at + end + 4));
                }
                if buf.len() - at > MAX_HEAD_BYTES {
                    return Err(protocol("trailers longer than 64 KiB"));
                }
                if fill(stream, buf).await? == 0 {
                    return Err(cut_short());
                }
            }
        }
        let room = http::MAX_BODY_BYTES - body.len();
        if size > room {
            while buf.len() < at + room {
                if fill(stream, buf).await? == 0 {
                    return Err(cut_short());
                }
            }
            body.extend_from_slice(&buf[at..at + room]);
            return Ok((body, false, buf.len()));
        }
        while buf.len() < at + size + 2 {
            if fill(stream, buf).await? == 0 {
                return Err(cut_short());
            }
        }
        if &buf[at + size..at + size + 2] != b"\r\n" {
            return Err(protocol("a chunk that does not end where its size says"));
        }
        body.extend_from_slice(&buf[at..at + size]);
        at += size + 2;
    }
}

/// Reads what the socket has into `buf`; 0 at its end.
async fn fill(stream: &mut Stream, buf: &mut Vec<u8>) -> Result<usize, TransportError> {
    if buf.capacity() - buf.len() < READ_ROOM / 2 {
        buf.reserve(READ_ROOM);
    }
    stream.read_buf(buf).await.map_err(|e| {
        TransportError::new(
            ErrorClass::ConnectionReset,
            format!("the connection failed while answering: {e}"),
        )
    })
}

fn protocol(what: &str) -> TransportError {
    TransportError::new(ErrorClass::Protocol, what.to_string())
}

fn cut_short() -> TransportError {
    TransportError::new(
        ErrorClass::ConnectionReset,
        "the server closed the connection in the middle of its answer",
    )
}

/// `n` in decimal, written into `room`.
fn itoa_usize(mut n: usize, room: &mut [u8; 20]) -> &[u8] {
    let mut i = room.len();
    loop {
        i -= 1;
        room[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    &room[i..]
}

/// Where `needle` first stands in `haystack`.
pub(super) fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    /// A server that answers the first request on its one connection with
    /// `answer`, then (if `then_close`) closes it.
    async fn answering(answer: &'static [u8]) -> (u16, tokio::task::JoinHandle<Vec<u8>>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let task = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut got = Vec::new();
            let mut buf = [0u8; 4096];
            while find(&got, b"\r\n\r\nbody").is_none() {
                let n = s.read(&mut buf).await.unwrap();
                if n == 0 {
                    break;
                }
                got.extend_from_slice(&buf[..n]);
            }
            // Split in two writes: the reader must put them together.
            let half = answer.len() / 2;
            s.write_all(&answer[..half]).await.unwrap();
            s.flush().await.unwrap();
            tokio::task::yield_now().await;
            s.write_all(&answer[half..]).await.unwrap();
            got
        });
        (port, task)
    }

    async fn ask(answer: &'static [u8]) -> (Result<Read, TransportError>, Vec<u8>) {
        let (port, server) = answering(answer).await;
        let options = http::HttpOptions::default();
        let (mut conn, _) = Conn::open("127.0.0.1", port, None, &options).await.unwrap();
        let read = conn
            .exchange(
                b"POST /token HTTP/1.1\r\nhost: x\r\ncontent-length: ",
                b"body",
                Duration::from_secs(5),
            )
            .await;
        (read, server.await.unwrap())
    }

    #[tokio::test]
    async fn the_request_goes_out_whole_with_its_length() {
        let (read, sent) = ask(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}").await;
        assert_eq!(
            sent,
            b"POST /token HTTP/1.1\r\nhost: x\r\ncontent-length: 4\r\n\r\nbody"
        );
        let read = read.unwrap();
        assert_eq!(
            (read.status, &read.body[..], read.keep),
            (200, &b"{}"[..], true)
        );
    }

    #[tokio::test]
    async fn a_connection_at_rest_holds_no_read_buffer() {
        let (port, server) = answering(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}").await;
        let (mut conn, _) = Conn::open("127.0.0.1", port, None, &http::HttpOptions::default())
            .await
            .unwrap();
        let pooled = || READ_BUFFERS.with_borrow(Vec::len);
        let before = pooled();
        let read = conn
            .exchange(
                b"POST / HTTP/1.1\r\ncontent-length: ",
                b"body",
                Duration::from_secs(5),
            )
            .await
            .unwrap();
        assert_eq!(&read.body[..], b"{}");
        assert_eq!(conn.buf.capacity(), 0, "given back after the answer");
        assert_eq!(pooled(), before.max(1), "kept for the next exchange");
        server.await.unwrap();
    }

    #[tokio::test]
    async fn every_framing_of_an_answer_is_read() {
        let cases: [(&'static [u8], u16, &[u8], bool); 8] = [
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n{\"a\r\n4;ext=1\r\n\":1}\r\n0\r\nX-Trailer: y\r\n\r\n",
                200,
                b"{\"a\":1}",
                true,
            ),
            (
                b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 400 Bad Request\r\nContent-Length: 5\r\nConnection: close\r\n\r\nnope!",
                400,
                b"nope!",
                false,
            ),
            (b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\n{}", 200, b"{}", false),
            (
                b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\n{}",
                200,
                b"{}",
                true,
            ),
            (b"HTTP/1.1 204 No Content\r\n\r\n", 204, b"", true),
            (b"HTTP/1.1 200 OK\r\n\r\nuntil the end", 200, b"until the end", false),
            // A coding other than chunked last: read to the close, whatever
            // the Content-Length says (RFC 9112 §6.3).
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nContent-Length: 2\r\n\r\n{}and more",
                200,
                b"{}and more",
                false,
            ),
            // A list of one length is that length (RFC 9110 §8.6).
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\n\r\n{}",
                200,
                b"{}",
                true,
            ),
        ];
        for (answer, status, body, keep) in cases {
            let (read, _) = ask(answer).await;
            let read =
                read.unwrap_or_else(|e| panic!("{}: {e:?}", String::from_utf8_lossy(answer)));
            assert_eq!(
                (read.status, &read.body[..], read.keep),
                (status, body, keep),
                "{}",
                String::from_utf8_lossy(answer)
            );
        }
    }

    #[tokio::test]
    async fn a_broken_answer_is_a_classified_error() {
        // A chunk-size line that does not end (httparse takes any length
        // of extensions once the line is whole).
        let endless_chunk_line: &'static [u8] = format!(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2;{}",
            "x".repeat(5000)
        )
        .into_bytes()
        .leak();
        let cases: [(&'static [u8], ErrorClass); 7] = [
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
                ErrorClass::ConnectionReset,
            ),
            (b"SMTP ready\r\n\r\n", ErrorClass::Protocol),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n",
                ErrorClass::Protocol,
            ),
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabc",
                ErrorClass::ConnectionReset,
            ),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: +2\r\n\r\n{}",
                ErrorClass::Protocol,
            ),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: 2, 3\r\n\r\n{}",
                ErrorClass::Protocol,
            ),
            (endless_chunk_line, ErrorClass::Protocol),
        ];
        for (answer, class) in cases {
            let (read, _) = ask(answer).await;
            let e = read
                .err()
                .unwrap_or_else(|| panic!("{}", String::from_utf8_lossy(answer)));
            assert_eq!(
                e.class,
                class,
                "{}: {}",
                String::from_utf8_lossy(answer),
                e.detail
            );
        }
    }

    #[test]
    fn lengths_are_written_in_decimal() {
        for n in [0usize, 7, 10, 1234, usize::MAX] {
            assert_eq!(itoa_usize(n, &mut [0u8; 20]), n.to_string().as_bytes());
        }
    }
}
