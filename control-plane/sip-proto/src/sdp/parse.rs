//! SDP parser.
//!
//! Lines end in CRLF or LF; empty lines are ignored. `v=` must come first,
//! then the session-level lines (one `o=`, one `s=`, at least one `t=`),
//! then the `m=` sections. Unknown type letters make the whole description
//! invalid (RFC 8866 §5).

use std::borrow::Cow;

use nom::bytes::complete::take_while1;
use nom::character::complete::{char as ch, digit1};
use nom::combinator::{all_consuming, opt};
use nom::sequence::preceded;
use nom::Parser;

use super::{
    Attribute, Bandwidth, Connection, MediaDescription, Origin, SessionDescription, Timing,
};
use crate::text::parse_u64;
use crate::SdpError;

/// Parses a session description from bytes (must be UTF-8).
pub fn parse(input: &[u8]) -> Result<SessionDescription<'_>, SdpError> {
    let s = std::str::from_utf8(input).map_err(|_| SdpError::InvalidUtf8)?;
    parse_str(s)
}

/// Parses a session description.
pub fn parse_str(input: &str) -> Result<SessionDescription<'_>, SdpError> {
    let mut lines = input
        .split('\n')
        .enumerate()
        .map(|(n, l)| (n + 1, l.strip_suffix('\r').unwrap_or(l)))
        .filter(|(_, l)| !l.is_empty());
    let (n, first) = lines.next().ok_or(SdpError::Empty)?;
    let (letter, value) = split_line(n, first)?;
    if letter != 'v' {
        return Err(SdpError::OutOfOrder { letter, line: n });
    }
    if value != "0" {
        return Err(SdpError::BadVersion);
    }
    let mut origin = None;
    let mut name = None;
    let mut sd = SessionDescription {
        origin: Origin {
            username: Cow::Borrowed(""),
            session_id: Cow::Borrowed(""),
            session_version: 0,
            net_type: Cow::Borrowed(""),
            addr_type: Cow::Borrowed(""),
            address: Cow::Borrowed(""),
        },
        session_name: Cow::Borrowed(""),
        info: None,
        uri: None,
        emails: Vec::new(),
        phones: Vec::new(),
        connection: None,
        bandwidths: Vec::new(),
        times: Vec::new(),
        zone: None,
        key: None,
        attributes: Vec::new(),
        media: Vec::new(),
    };
    for (line, text) in lines {
        let (letter, value) = split_line(line, text)?;
        let bad = SdpError::BadValue { letter, line };
        let misplaced = SdpError::OutOfOrder { letter, line };
        if let Some(m) = sd.media.last_mut() {
            match letter {
                'm' => sd.media.push(media(value).ok_or(bad)?),
                'i' => set_once(&mut m.info, value, misplaced)?,
                'c' => m.connections.push(connection(value).ok_or(bad)?),
                'b' => m.bandwidths.push(bandwidth(value).ok_or(bad)?),
                'k' => set_once(&mut m.key, value, misplaced)?,
                'a' => m.attributes.push(attribute(value).ok_or(bad)?),
                'v' | 'o' | 's' | 'u' | 'e' | 'p' | 't' | 'r' | 'z' => return Err(misplaced),
                _ => return Err(SdpError::UnknownType { letter, line }),
            }
            continue;
        }
        match letter {
            'o' => {
                if origin.is_some() {
                    return Err(misplaced);
                }
                origin = Some(self::origin(value).ok_or(bad)?);
            }
            's' => {
                if name.is_some() {
                    return Err(misplaced);
                }
                name = Some(Cow::Borrowed(value));
            }
            'i' => set_once(&mut sd.info, value, misplaced)?,
            'u' => set_once(&mut sd.uri, value, misplaced)?,
            'e' => sd.emails.push(Cow::Borrowed(value)),
            'p' => sd.phones.push(Cow::Borrowed(value)),
            'c' => {
                if sd.connection.is_some() {
                    return Err(misplaced);
                }
                sd.connection = Some(connection(value).ok_or(bad)?);
            }
            'b' => sd.bandwidths.push(bandwidth(value).ok_or(bad)?),
            't' => sd.times.push(timing(value).ok_or(bad)?),
            'r' => sd
                .times
                .last_mut()
                .ok_or(misplaced)?
                .repeats
                .push(Cow::Borrowed(value)),
            'z' => set_once(&mut sd.zone, value, misplaced)?,
            'k' => set_once(&mut sd.key, value, misplaced)?,
            'a' => sd.attributes.push(attribute(value).ok_or(bad)?),
            'm' => {
                if origin.is_none() || name.is_none() || sd.times.is_empty() {
                    return Err(misplaced);
                }
                sd.media.push(media(value).ok_or(bad)?);
            }
            'v' => return Err(misplaced),
            _ => return Err(SdpError::UnknownType { letter, line }),
        }
    }
    sd.origin = origin.ok_or(SdpError::Missing('o'))?;
    sd.session_name = name.ok_or(SdpError::Missing('s'))?;
    if sd.times.is_empty() {
        return Err(SdpError::Missing('t'));
    }
    Ok(sd)
}

fn split_line(line: usize, text: &str) -> Result<(char, &str), SdpError> {
    let b = text.as_bytes();
    match (b.first(), b.get(1)) {
        // Values may hold any byte but NUL, CR and LF.
        (Some(&l), Some(b'=')) if l.is_ascii_lowercase() && !text.contains(['\0', '\r']) => Ok((
            char::from(l),
            text.get(2..).ok_or(SdpError::BadLine { line })?,
        )),
        _ => Err(SdpError::BadLine { line }),
    }
}

fn set_once<'a>(
    slot: &mut Option<Cow<'a, str>>,
    value: &'a str,
    err: SdpError,
) -> Result<(), SdpError> {
    if slot.is_some() {
        return Err(err);
    }
    *slot = Some(Cow::Borrowed(value));
    Ok(())
}

/// Splits on single spaces, rejecting empty fields.
fn fields<const N: usize>(value: &str) -> Option<[&str; N]> {
    let mut it = value.split(' ');
    let mut out = [""; N];
    for slot in &mut out {
        *slot = it.next().filter(|f| !f.is_empty())?;
    }
    it.next().is_none().then_some(out)
}

fn visible(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|c| c.is_ascii_graphic() || c >= 0x80)
}

fn origin(value: &str) -> Option<Origin<'_>> {
    let [user, id, version, net, addr_type, address] = fields::<6>(value)?;
    if !visible(user) || id.is_empty() || !id.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    Some(Origin {
        username: Cow::Borrowed(user),
        session_id: Cow::Borrowed(id),
        session_version: parse_u64(version)?,
        net_type: Cow::Borrowed(net),
        addr_type: Cow::Borrowed(addr_type),
        address: Cow::Borrowed(address),
    })
}

fn connection(value: &str) -> Option<Connection<'_>> {
    let [net, addr_type, full] = fields::<3>(value)?;
    let mut parts = full.split('/');
    let address = parts.next().filter(|a| visible(a))?;
    let nums: smallvec::SmallVec<[u64; 2]> = parts.map(parse_u64).collect::<Option<_>>()?;
    let ip6 = addr_type.eq_ignore_ascii_case("IP6");
    let (ttl, count) = match (ip6, nums.as_slice()) {
        (_, []) => (None, None),
        (true, [c]) => (None, Some(*c)),
        (false, [t]) => (Some(*t), None),
        (false, [t, c]) => (Some(*t), Some(*c)),
        _ => return None,
    };
    Some(Connection {
        net_type: Cow::Borrowed(net),
        addr_type: Cow::Borrowed(addr_type),
        address: Cow::Borrowed(address),
        ttl: ttl.map(u8::try_from).transpose().ok()?,
        count: count.map(u32::try_from).transpose().ok()?,
    })
}

fn bandwidth(value: &str) -> Option<Bandwidth<'_>> {
    let (kind, bw) = value.split_once(':')?;
    crate::text::is_token(kind).then_some(())?;
    Some(Bandwidth {
        kind: Cow::Borrowed(kind),
        value: parse_u64(bw)?,
    })
}

fn timing(value: &str) -> Option<Timing<'_>> {
    let [start, stop] = fields::<2>(value)?;
    Some(Timing {
        start: parse_u64(start)?,
        stop: parse_u64(stop)?,
        repeats: Vec::new(),
    })
}

fn attribute(value: &str) -> Option<Attribute<'_>> {
    let (name, val) = match value.split_once(':') {
        Some((n, v)) => (n, Some(Cow::Borrowed(v))),
        None => (value, None),
    };
    crate::text::is_token(name).then_some(Attribute {
        name: Cow::Borrowed(name),
        value: val,
    })
}

/// `m=<media> <port>[/<count>] <proto> <fmt> ...`
fn media(value: &str) -> Option<MediaDescription<'_>> {
    let mut it = value.split(' ');
    let media = it.next().filter(|m| crate::text::is_token(m))?;
    let port_text = it.next()?;
    let (_, (port, count)) = all_consuming((digit1::<&str, ()>, opt(preceded(ch('/'), digit1))))
        .parse(port_text)
        .ok()?;
    let protocol = it.next()?;
    let proto_ok = take_while1::<_, _, ()>(|c: char| {
        c.is_ascii_alphanumeric() || matches!(c, '/' | '-' | '_' | '.')
    })(protocol)
    .is_ok_and(|(rest, _)| rest.is_empty());
    if !proto_ok {
        return None;
    }
    let formats: Vec<Cow<'_, str>> = it.map(Cow::Borrowed).collect();
    if formats.is_empty() || formats.iter().any(|f| !visible(f)) {
        return None;
    }
    Some(MediaDescription {
        media: Cow::Borrowed(media),
        port: crate::uri::parse_port(port)?,
        port_count: match count {
            Some(c) => Some(u16::try_from(parse_u64(c)?).ok()?),
            None => None,
        },
        protocol: Cow::Borrowed(protocol),
        formats,
        info: None,
        connections: Vec::new(),
        bandwidths: Vec::new(),
        key: None,
        attributes: Vec::new(),
    })
}
