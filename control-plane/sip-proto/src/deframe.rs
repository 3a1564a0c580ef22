//! Cuts SIP messages out of a byte stream (TCP, TLS, WebSocket-less).
//!
//! Sans-IO: the caller pushes the bytes it read and pulls frames. Messages
//! are delimited by their Content-Length, which is therefore mandatory on a
//! stream. Empty lines between messages are keep-alives (RFC 5626 §4.4.1):
//! a double CRLF is a ping, to be answered with a single CRLF; a single CRLF
//! is a pong.

use bytes::{Bytes, BytesMut};
use memchr::memmem;

use crate::text::{parse_u64, trim_lws};
use crate::FrameError;

/// Default cap of the header section when using [`Deframer::new`].
pub const DEFAULT_MAX_HEADER_SIZE: usize = 16 * 1024;

/// What the deframer found next in the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A complete message (header section and exactly Content-Length body
    /// bytes), ready for [`crate::parse_message`].
    Message(Bytes),
    /// A double-CRLF keep-alive ping: answer with a single CRLF.
    Ping,
    /// A single-CRLF keep-alive pong (or a stray empty line).
    Pong,
}

/// Stream deframer. After an error the stream is poisoned: every later call
/// fails with [`FrameError::Poisoned`] and the connection should be closed.
#[derive(Debug)]
pub struct Deframer {
    buf: BytesMut,
    max_header: usize,
    max_message: usize,
    /// How far the search for the end of the header section got.
    scanned: usize,
    pings: usize,
    failed: bool,
}

impl Deframer {
    /// A deframer accepting messages of at most `max_message_size` bytes
    /// (header section at most `min(max_message_size, 16 KiB)`).
    pub fn new(max_message_size: usize) -> Self {
        Self::with_limits(
            max_message_size.min(DEFAULT_MAX_HEADER_SIZE),
            max_message_size,
        )
    }

    /// A deframer with separate caps for the header section and the whole
    /// message.
    pub fn with_limits(max_header_size: usize, max_message_size: usize) -> Self {
        Self {
            buf: BytesMut::new(),
            max_header: max_header_size,
            max_message: max_message_size,
            scanned: 0,
            pings: 0,
            failed: false,
        }
    }

    /// Appends bytes read from the stream.
    pub fn push(&mut self, data: &[u8]) {
        if !self.failed {
            self.buf.extend_from_slice(data);
        }
    }

    /// Number of bytes buffered and not yet returned.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// The next frame, or `None` if more bytes are needed.
    ///
    /// A keep-alive split across two reads (`"\r\n"` then `"\r\n"`) is
    /// recognised as a ping because a lone CRLF at the end of the buffer is
    /// held back until more data arrives.
    pub fn next_frame(&mut self) -> Result<Option<Frame>, FrameError> {
        if self.failed {
            return Err(FrameError::Poisoned);
        }
        let result = self.frame();
        if result.is_err() {
            self.failed = true;
            self.buf = BytesMut::new();
        }
        result
    }

    /// The next complete message, skipping keep-alives. Pings seen on the
    /// way are counted: answer each with a CRLF (see [`Deframer::take_pings`]).
    pub fn next_message(&mut self) -> Result<Option<Bytes>, FrameError> {
        loop {
            match self.next_frame()? {
                None => return Ok(None),
                Some(Frame::Message(m)) => return Ok(Some(m)),
                Some(Frame::Ping) => self.pings += 1,
                Some(Frame::Pong) => {}
            }
        }
    }

    /// Returns and resets the number of pings skipped by
    /// [`Deframer::next_message`].
    pub fn take_pings(&mut self) -> usize {
        std::mem::take(&mut self.pings)
    }

    fn frame(&mut self) -> Result<Option<Frame>, FrameError> {
        let b = &self.buf[..];
        if b.starts_with(b"\r\n\r\n") {
            self.consume(4);
            return Ok(Some(Frame::Ping));
        }
        if b.starts_with(b"\r\n") {
            if b.len() < 4 && b"\r\n\r".starts_with(b) {
                return Ok(None); // maybe the first half of a ping
            }
            self.consume(2);
            return Ok(Some(Frame::Pong));
        }
        if b == b"\r" {
            return Ok(None);
        }
        let from = self.scanned.saturating_sub(3);
        let Some(end) = b.get(from..).and_then(|s| memmem::find(s, b"\r\n\r\n")) else {
            if b.len() > self.max_header {
                return Err(FrameError::HeaderTooLarge {
                    limit: self.max_header,
                });
            }
            self.scanned = b.len();
            return Ok(None);
        };
        let head_len = from + end + 4;
        if head_len > self.max_header {
            return Err(FrameError::HeaderTooLarge {
                limit: self.max_header,
            });
        }
        let body_len = content_length(b.get(..head_len).unwrap_or_default())?;
        let total = head_len
            .checked_add(body_len)
            .filter(|&t| t <= self.max_message)
            .ok_or(FrameError::TooLarge {
                size: head_len.saturating_add(body_len),
                limit: self.max_message,
            })?;
        if b.len() < total {
            return Ok(None);
        }
        self.scanned = 0;
        Ok(Some(Frame::Message(self.buf.split_to(total).freeze())))
    }

    fn consume(&mut self, n: usize) {
        let _ = self.buf.split_to(n.min(self.buf.len()));
        self.scanned = 0;
    }
}

/// Finds the Content-Length (or compact `l`) of a header section. Several
/// equal values are accepted, differing ones are an error.
fn content_length(head: &[u8]) -> Result<usize, FrameError> {
    let mut found: Option<usize> = None;
    let mut lines = head.split(|&c| c == b'\n').peekable();
    while let Some(line) = lines.next() {
        let Some(colon) = memchr::memchr(b':', line) else {
            continue;
        };
        if matches!(line.first(), Some(b' ' | b'\t')) {
            continue; // continuation of another header
        }
        let name = line.get(..colon).unwrap_or_default();
        let name = trim_ascii_ws(name);
        if !(name.eq_ignore_ascii_case(b"content-length") || name.eq_ignore_ascii_case(b"l")) {
            continue;
        }
        let first = line.get(colon + 1..).unwrap_or_default();
        let mut folded: Option<Vec<u8>> = None;
        while let Some(next) = lines.next_if(|l| matches!(l.first(), Some(b' ' | b'\t'))) {
            let v = folded.get_or_insert_with(|| first.to_vec());
            v.push(b' ');
            v.extend_from_slice(next);
        }
        let value = folded.as_deref().unwrap_or(first);
        let value = std::str::from_utf8(value).map_err(|_| FrameError::BadContentLength)?;
        let n = parse_u64(trim_lws(value))
            .and_then(|v| usize::try_from(v).ok())
            .ok_or(FrameError::BadContentLength)?;
        match found {
            Some(prev) if prev != n => return Err(FrameError::ConflictingContentLength),
            _ => found = Some(n),
        }
    }
    found.ok_or(FrameError::MissingContentLength)
}

fn trim_ascii_ws(b: &[u8]) -> &[u8] {
    let start = b
        .iter()
        .position(|c| !matches!(c, b' ' | b'\t' | b'\r'))
        .unwrap_or(b.len());
    let end = b
        .iter()
        .rposition(|c| !matches!(c, b' ' | b'\t' | b'\r'))
        .map_or(start, |e| e + 1);
    b.get(start..end.max(start)).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(body: &str) -> String {
        format!(
            "MESSAGE sip:a@b SIP/2.0\r\nCall-ID: x\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
    }

    #[test]
    fn split_reads_byte_by_byte() {
        let m = msg("hello world");
        let mut d = Deframer::new(4096);
        let mut got = Vec::new();
        for b in m.as_bytes() {
            d.push(std::slice::from_ref(b));
            if let Some(f) = d.next_frame().unwrap() {
                got.push(f);
            }
        }
        assert_eq!(got, [Frame::Message(Bytes::from(m))]);
        assert_eq!(d.buffered(), 0);
        assert_eq!(d.next_frame().unwrap(), None);
    }

    #[test]
    fn pipelined_messages_and_keepalives() {
        let (a, b) = (msg("first"), msg(""));
        let mut d = Deframer::new(4096);
        d.push(format!("\r\n\r\n{a}\r\n{b}\r\n\r\n").as_bytes());
        assert_eq!(d.next_frame().unwrap(), Some(Frame::Ping));
        assert_eq!(
            d.next_frame().unwrap(),
            Some(Frame::Message(Bytes::from(a.clone())))
        );
        assert_eq!(d.next_frame().unwrap(), Some(Frame::Pong));
        assert_eq!(
            d.next_frame().unwrap(),
            Some(Frame::Message(Bytes::from(b.clone())))
        );
        assert_eq!(d.next_frame().unwrap(), Some(Frame::Ping));
        assert_eq!(d.next_frame().unwrap(), None);

        let mut d = Deframer::new(4096);
        d.push(format!("\r\n\r\n{a}\r\n\r\n{b}").as_bytes());
        assert_eq!(d.next_message().unwrap(), Some(Bytes::from(a)));
        assert_eq!(d.next_message().unwrap(), Some(Bytes::from(b)));
        assert_eq!(d.take_pings(), 2);
        assert_eq!(d.take_pings(), 0);
    }

    #[test]
    fn ping_split_across_reads() {
        let mut d = Deframer::new(4096);
        d.push(b"\r\n");
        assert_eq!(d.next_frame().unwrap(), None);
        d.push(b"\r");
        assert_eq!(d.next_frame().unwrap(), None);
        d.push(b"\n");
        assert_eq!(d.next_frame().unwrap(), Some(Frame::Ping));
        d.push(b"\r\nINV");
        assert_eq!(d.next_frame().unwrap(), Some(Frame::Pong));
        assert_eq!(d.next_frame().unwrap(), None);
    }

    #[test]
    fn body_split_from_headers() {
        let m = msg("0123456789");
        let (head, body) = m.split_at(m.len() - 10);
        let mut d = Deframer::new(4096);
        d.push(head.as_bytes());
        assert_eq!(d.next_frame().unwrap(), None);
        d.push(&body.as_bytes()[..5]);
        assert_eq!(d.next_frame().unwrap(), None);
        d.push(&body.as_bytes()[5..]);
        assert_eq!(
            d.next_frame().unwrap(),
            Some(Frame::Message(Bytes::from(m)))
        );
    }

    #[test]
    fn compact_and_folded_content_length() {
        let m = "OPTIONS sip:a@b SIP/2.0\r\nl:\r\n 3\r\nX: y\r\n\r\nabc";
        let mut d = Deframer::new(4096);
        d.push(m.as_bytes());
        assert_eq!(d.next_message().unwrap(), Some(Bytes::from(m)));
        let m = "OPTIONS sip:a@b SIP/2.0\r\nContent-Length: 1\r\ncontent-length : 1\r\n\r\nz";
        let mut d = Deframer::new(4096);
        d.push(m.as_bytes());
        assert_eq!(d.next_message().unwrap(), Some(Bytes::from(m)));
    }

    #[test]
    fn missing_or_bad_content_length() {
        let cases: &[(&str, FrameError)] = &[
            (
                "OPTIONS sip:a@b SIP/2.0\r\nCall-ID: x\r\n\r\n",
                FrameError::MissingContentLength,
            ),
            (
                "OPTIONS sip:a@b SIP/2.0\r\nl: -1\r\n\r\n",
                FrameError::BadContentLength,
            ),
            (
                "OPTIONS sip:a@b SIP/2.0\r\nl: 99999999999999999999999\r\n\r\n",
                FrameError::BadContentLength,
            ),
            (
                "OPTIONS sip:a@b SIP/2.0\r\nl: 1\r\nContent-Length: 2\r\n\r\n",
                FrameError::ConflictingContentLength,
            ),
        ];
        for (text, want) in cases {
            let mut d = Deframer::new(4096);
            d.push(text.as_bytes());
            assert_eq!(d.next_frame().unwrap_err(), *want, "{text}");
            assert_eq!(d.next_frame().unwrap_err(), FrameError::Poisoned);
            d.push(b"more");
            assert_eq!(d.buffered(), 0);
        }
    }

    #[test]
    fn oversize_header_and_body() {
        let mut d = Deframer::with_limits(64, 1000);
        d.push(&[b'a'; 65]);
        assert_eq!(
            d.next_frame().unwrap_err(),
            FrameError::HeaderTooLarge { limit: 64 }
        );

        let mut d = Deframer::with_limits(64, 1000);
        d.push(&[b'a'; 61]);
        assert_eq!(d.next_frame().unwrap(), None);
        d.push(b"\r\n\r\n");
        assert_eq!(
            d.next_frame().unwrap_err(),
            FrameError::HeaderTooLarge { limit: 64 }
        );

        let m = msg(&"x".repeat(200));
        let mut d = Deframer::new(100);
        d.push(&m.as_bytes()[..60]);
        assert_eq!(
            d.next_frame().unwrap_err(),
            FrameError::TooLarge {
                size: m.len(),
                limit: 100
            }
        );
        let mut d = Deframer::new(4096);
        d.push(b"OPTIONS sip:a@b SIP/2.0\r\nl: 18446744073709551615\r\n\r\n");
        assert!(matches!(
            d.next_frame().unwrap_err(),
            FrameError::TooLarge { .. }
        ));
    }
}
