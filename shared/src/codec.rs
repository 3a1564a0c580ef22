//! Bounds-checked little-endian cursor over a [`Frame`]: the only place that touches bytes.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

use crate::error::DecodeError;
use crate::frame::{Frame, FRAME_LEN};
use crate::types::{Direction, EndpointHandle, PtMap, RequestId, PT_MAP_CAPACITY};

/// Writes fields in order. Every message layout fits in a frame (checked by the round-trip
/// tests), so a write past the end is impossible; it is ignored rather than panicking.
pub(crate) struct Writer {
    frame: Frame,
    pos: usize,
}

impl Writer {
    pub(crate) fn new(tag: u8) -> Self {
        let mut frame = Frame::zeroed();
        frame.0[0] = tag;
        Self { frame, pos: 1 }
    }

    pub(crate) fn finish(self) -> Frame {
        self.frame
    }

    fn put(&mut self, bytes: &[u8]) {
        let end = self.pos + bytes.len();
        if let Some(dst) = self.frame.0.get_mut(self.pos..end) {
            dst.copy_from_slice(bytes);
        }
        self.pos = end.min(FRAME_LEN);
    }

    pub(crate) fn u8(&mut self, v: u8) {
        self.put(&[v]);
    }

    pub(crate) fn bool(&mut self, v: bool) {
        self.u8(u8::from(v));
    }

    pub(crate) fn u16(&mut self, v: u16) {
        self.put(&v.to_le_bytes());
    }

    pub(crate) fn u32(&mut self, v: u32) {
        self.put(&v.to_le_bytes());
    }

    pub(crate) fn u64(&mut self, v: u64) {
        self.put(&v.to_le_bytes());
    }

    pub(crate) fn i64(&mut self, v: i64) {
        self.put(&v.to_le_bytes());
    }

    pub(crate) fn req(&mut self, v: RequestId) {
        self.u64(v.0);
    }

    pub(crate) fn endpoint(&mut self, v: EndpointHandle) {
        self.u32(v.slot);
        self.u32(v.generation);
    }

    pub(crate) fn direction(&mut self, v: Direction) {
        self.u8(v.to_wire());
    }

    /// family (4 or 6), 16 address bytes, port, IPv6 scope id.
    pub(crate) fn addr(&mut self, v: SocketAddr) {
        match v {
            SocketAddr::V4(a) => {
                self.u8(4);
                let mut ip = [0u8; 16];
                ip[..4].copy_from_slice(&a.ip().octets());
                self.put(&ip);
                self.u16(a.port());
                self.u32(0);
            }
            SocketAddr::V6(a) => {
                self.u8(6);
                self.put(&a.ip().octets());
                self.u16(a.port());
                self.u32(a.scope_id());
            }
        }
    }

    pub(crate) fn pt_map(&mut self, v: &PtMap) {
        let entries = v.entries();
        self.u8(entries.len() as u8);
        for i in 0..PT_MAP_CAPACITY {
            let (from, to) = entries.get(i).copied().unwrap_or((0, 0));
            self.u8(from);
            self.u8(to);
        }
    }
}

/// Reads fields in order, failing with [`DecodeError`] instead of panicking.
pub(crate) struct Reader<'a> {
    bytes: &'a [u8; FRAME_LEN],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(frame: &'a Frame) -> Self {
        Self {
            bytes: &frame.0,
            pos: 1,
        }
    }

    fn take<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], DecodeError> {
        let end = self.pos + N;
        let slice = self
            .bytes
            .get(self.pos..end)
            .ok_or(DecodeError::Truncated { field })?;
        let mut out = [0u8; N];
        out.copy_from_slice(slice);
        self.pos = end;
        Ok(out)
    }

    pub(crate) fn u8(&mut self, field: &'static str) -> Result<u8, DecodeError> {
        Ok(self.take::<1>(field)?[0])
    }

    pub(crate) fn bool(&mut self, field: &'static str) -> Result<bool, DecodeError> {
        match self.u8(field)? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(DecodeError::InvalidField { field }),
        }
    }

    pub(crate) fn u16(&mut self, field: &'static str) -> Result<u16, DecodeError> {
        Ok(u16::from_le_bytes(self.take(field)?))
    }

    pub(crate) fn u32(&mut self, field: &'static str) -> Result<u32, DecodeError> {
        Ok(u32::from_le_bytes(self.take(field)?))
    }

    pub(crate) fn u64(&mut self, field: &'static str) -> Result<u64, DecodeError> {
        Ok(u64::from_le_bytes(self.take(field)?))
    }

    pub(crate) fn i64(&mut self, field: &'static str) -> Result<i64, DecodeError> {
        Ok(i64::from_le_bytes(self.take(field)?))
    }

    pub(crate) fn req(&mut self) -> Result<RequestId, DecodeError> {
        self.u64("request_id").map(RequestId)
    }

    pub(crate) fn endpoint(&mut self, field: &'static str) -> Result<EndpointHandle, DecodeError> {
        Ok(EndpointHandle {
            slot: self.u32(field)?,
            generation: self.u32(field)?,
        })
    }

    pub(crate) fn direction(&mut self) -> Result<Direction, DecodeError> {
        let byte = self.u8("direction")?;
        Direction::from_wire(byte).ok_or(DecodeError::InvalidField { field: "direction" })
    }

    pub(crate) fn addr(&mut self, field: &'static str) -> Result<SocketAddr, DecodeError> {
        let family = self.u8(field)?;
        let ip: [u8; 16] = self.take(field)?;
        let port = self.u16(field)?;
        let scope = self.u32(field)?;
        match family {
            4 => {
                // Canonical form: the unused bytes of an IPv4 address must be zero.
                if ip[4..].iter().any(|&b| b != 0) || scope != 0 {
                    return Err(DecodeError::InvalidField { field });
                }
                let v4 = Ipv4Addr::new(ip[0], ip[1], ip[2], ip[3]);
                Ok(SocketAddr::V4(SocketAddrV4::new(v4, port)))
            }
            6 => Ok(SocketAddr::V6(SocketAddrV6::new(
                Ipv6Addr::from(ip),
                port,
                0,
                scope,
            ))),
            _ => Err(DecodeError::InvalidField { field }),
        }
    }

    pub(crate) fn pt_map(&mut self) -> Result<PtMap, DecodeError> {
        const FIELD: &str = "pt_map";
        let len = usize::from(self.u8(FIELD)?);
        if len > PT_MAP_CAPACITY {
            return Err(DecodeError::InvalidField { field: FIELD });
        }
        let mut map = PtMap::new();
        for i in 0..PT_MAP_CAPACITY {
            let from = self.u8(FIELD)?;
            let to = self.u8(FIELD)?;
            if i < len {
                // Duplicates would not survive a round trip (insert replaces), so reject them.
                if map.entries().iter().any(|e| e.0 == from) || !map.insert(from, to) {
                    return Err(DecodeError::InvalidField { field: FIELD });
                }
            } else if from != 0 || to != 0 {
                return Err(DecodeError::InvalidField { field: FIELD });
            }
        }
        Ok(map)
    }

    /// Position after the last field read (used by tests to check layouts fit).
    #[cfg(test)]
    pub(crate) fn position(&self) -> usize {
        self.pos
    }
}
