//! A request head larger than the HTTP parser's buffer (128 KiB) never reaches the
//! application: the parser answers 431 itself, with an empty body, and closes the
//! connection. This wrapper around each connection replaces that one answer with a problem
//! document, so every error the service gives is `application/problem+json`.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::problem::{Code, PROBLEM_JSON, Problem};

const PARSER_431: &[u8] = b"HTTP/1.1 431 ";

/// A connection whose parser-made 431 answer is rewritten as a problem document.
pub struct ProblemOn431<T> {
    io: T,
    /// Bytes of the rewritten answer not yet written.
    pending: Vec<u8>,
    /// The parser's answer was replaced; whatever it still writes is dropped.
    replaced: bool,
}

impl<T> ProblemOn431<T> {
    pub fn new(io: T) -> Self {
        ProblemOn431 {
            io,
            pending: Vec::new(),
            replaced: false,
        }
    }
}

fn problem_response() -> Vec<u8> {
    let (code, status, title) = Code::RequestHeaderTooLarge.describe();
    let problem = Problem {
        problem_type: format!("urn:itsms:problem:{code}"),
        title: title.to_string(),
        status: status.as_u16(),
        detail: "the request line and headers are larger than 128 KiB".into(),
        instance: "/".into(),
        code: code.to_string(),
        errors: Vec::new(),
        allowed_actions: None,
    };
    let body = serde_json::to_vec(&problem).expect("a problem serializes");
    let mut out = format!(
        "HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: {PROBLEM_JSON}\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(&body);
    out
}

impl<T: AsyncWrite + Unpin> ProblemOn431<T> {
    fn drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while !self.pending.is_empty() {
            let written = std::task::ready!(Pin::new(&mut self.io).poll_write(cx, &self.pending))?;
            if written == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.pending.drain(..written);
        }
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for ProblemOn431<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for ProblemOn431<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if !self.replaced && buf.starts_with(PARSER_431) {
            // The parser's answer is the last thing written on this connection.
            self.pending = problem_response();
            self.replaced = true;
        }
        std::task::ready!(self.drain(cx))?;
        if self.replaced {
            return Poll::Ready(Ok(buf.len()));
        }
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        std::task::ready!(self.drain(cx))?;
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        std::task::ready!(self.drain(cx))?;
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}
