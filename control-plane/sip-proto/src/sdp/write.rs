//! SDP serialiser (CRLF line endings, RFC 8866 line order).

use std::fmt;

use super::{Attribute, Bandwidth, Connection, MediaDescription, SessionDescription};

impl SessionDescription<'_> {
    /// Appends the description to `out`.
    pub fn write(&self, out: &mut String) {
        // Writing into a String cannot fail.
        let _ = self.write_fmt_to(out);
    }

    /// The description as bytes, e.g. for a message body.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut s = String::with_capacity(256);
        self.write(&mut s);
        s.into_bytes()
    }

    fn write_fmt_to(&self, out: &mut impl fmt::Write) -> fmt::Result {
        let o = &self.origin;
        out.write_str("v=0\r\n")?;
        write!(
            out,
            "o={} {} {} {} {} {}\r\n",
            o.username, o.session_id, o.session_version, o.net_type, o.addr_type, o.address
        )?;
        line(out, 's', &self.session_name)?;
        opt_line(out, 'i', self.info.as_deref())?;
        opt_line(out, 'u', self.uri.as_deref())?;
        for e in &self.emails {
            line(out, 'e', e)?;
        }
        for p in &self.phones {
            line(out, 'p', p)?;
        }
        if let Some(c) = &self.connection {
            connection(out, c)?;
        }
        bandwidths(out, &self.bandwidths)?;
        for t in &self.times {
            write!(out, "t={} {}\r\n", t.start, t.stop)?;
            for r in &t.repeats {
                line(out, 'r', r)?;
            }
        }
        opt_line(out, 'z', self.zone.as_deref())?;
        opt_line(out, 'k', self.key.as_deref())?;
        attributes(out, &self.attributes)?;
        for m in &self.media {
            media(out, m)?;
        }
        Ok(())
    }
}

impl fmt::Display for SessionDescription<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_fmt_to(f)
    }
}

fn line(out: &mut impl fmt::Write, letter: char, value: &str) -> fmt::Result {
    out.write_char(letter)?;
    out.write_char('=')?;
    for c in value.chars() {
        out.write_char(if c == '\r' || c == '\n' { ' ' } else { c })?;
    }
    out.write_str("\r\n")
}

fn opt_line(out: &mut impl fmt::Write, letter: char, value: Option<&str>) -> fmt::Result {
    value.map_or(Ok(()), |v| line(out, letter, v))
}

fn connection(out: &mut impl fmt::Write, c: &Connection<'_>) -> fmt::Result {
    write!(out, "c={} {} {}", c.net_type, c.addr_type, c.address)?;
    if let Some(ttl) = c.ttl {
        write!(out, "/{ttl}")?;
    }
    if let Some(n) = c.count {
        write!(out, "/{n}")?;
    }
    out.write_str("\r\n")
}

fn bandwidths(out: &mut impl fmt::Write, list: &[Bandwidth<'_>]) -> fmt::Result {
    list.iter()
        .try_for_each(|b| write!(out, "b={}:{}\r\n", b.kind, b.value))
}

fn attributes(out: &mut impl fmt::Write, list: &[Attribute<'_>]) -> fmt::Result {
    for a in list {
        match &a.value {
            Some(v) => line(out, 'a', &format!("{}:{v}", a.name))?,
            None => line(out, 'a', &a.name)?,
        }
    }
    Ok(())
}

fn media(out: &mut impl fmt::Write, m: &MediaDescription<'_>) -> fmt::Result {
    write!(out, "m={} {}", m.media, m.port)?;
    if let Some(n) = m.port_count {
        write!(out, "/{n}")?;
    }
    write!(out, " {}", m.protocol)?;
    for f in &m.formats {
        write!(out, " {f}")?;
    }
    out.write_str("\r\n")?;
    opt_line(out, 'i', m.info.as_deref())?;
    for c in &m.connections {
        connection(out, c)?;
    }
    bandwidths(out, &m.bandwidths)?;
    opt_line(out, 'k', m.key.as_deref())?;
    attributes(out, &m.attributes)
}
