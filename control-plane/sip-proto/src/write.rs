//! Serialisation helpers and [`Message::write`].

use crate::message::Message;

/// Appends `s`, replacing any CR or LF by a space so that caller-supplied
/// text can never inject a header line.
pub(crate) fn push_text(out: &mut Vec<u8>, s: &str) {
    let b = s.as_bytes();
    if memchr::memchr2(b'\r', b'\n', b).is_none() {
        out.extend_from_slice(b);
    } else {
        out.extend(
            b.iter()
                .map(|&c| if c == b'\r' || c == b'\n' { b' ' } else { c }),
        );
    }
}

/// Appends `name: value CRLF`.
pub(crate) fn push_header(out: &mut Vec<u8>, name: &str, value: &str) {
    push_text(out, name);
    out.extend_from_slice(b": ");
    push_text(out, value);
    out.extend_from_slice(b"\r\n");
}

/// Appends the optional Content-Type, the Content-Length, the empty line
/// and the body.
pub(crate) fn push_body(out: &mut Vec<u8>, content_type: Option<&str>, body: &[u8]) {
    if let Some(ct) = content_type {
        push_header(out, "Content-Type", ct);
    }
    out.extend_from_slice(b"Content-Length: ");
    out.extend_from_slice(body.len().to_string().as_bytes());
    out.extend_from_slice(b"\r\n\r\n");
    out.extend_from_slice(body);
}

impl Message<'_> {
    /// Serialises the message: the start line as received, every header
    /// with its canonical name and unfolded value, the empty line and the
    /// body. Parsing the output yields a message equal to this one in
    /// start line, header names and values, and body.
    pub fn write(&self, out: &mut Vec<u8>) {
        out.reserve(self.buf.len() + 16);
        out.extend_from_slice(self.start_raw.as_bytes());
        out.extend_from_slice(b"\r\n");
        for h in &self.headers {
            push_header(out, h.name, &h.value());
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(self.body);
    }

    /// [`Message::write`] into a new buffer.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write(&mut out);
        out
    }

    /// True if both messages have the same start line, the same header
    /// fields (names and unfolded values, in order) and the same body.
    pub fn same_content(&self, other: &Message<'_>) -> bool {
        self.start_raw == other.start_raw
            && self.body == other.body
            && self.headers.len() == other.headers.len()
            && self
                .headers
                .iter()
                .zip(other.headers.iter())
                .all(|(a, b)| a.name == b.name && a.value() == b.value())
    }
}
