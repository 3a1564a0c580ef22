//! The `bpf(2)` commands the forwarder uses. All `unsafe` of the crate lives here.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

const MAP_CREATE: libc::c_long = 0;
const MAP_LOOKUP_ELEM: libc::c_long = 1;
const MAP_UPDATE_ELEM: libc::c_long = 2;
const MAP_DELETE_ELEM: libc::c_long = 3;
const PROG_LOAD: libc::c_long = 5;
const PROG_TEST_RUN: libc::c_long = 10;
const MAP_LOOKUP_AND_DELETE_ELEM: libc::c_long = 21;
const LINK_CREATE: libc::c_long = 28;

const MAP_TYPE_HASH: u32 = 1;
const PROG_TYPE_SCHED_CLS: u32 = 3;
/// `BPF_TCX_INGRESS` (Linux 6.6).
const ATTACH_TCX_INGRESS: u32 = 46;
/// Size of the attribute block passed to the kernel (larger than any command used here;
/// the kernel requires the unused tail to be zero).
const ATTR: usize = 128;

/// A zeroed `union bpf_attr`, filled field by field at the kernel's offsets.
struct Attr([u8; ATTR]);

impl Attr {
    fn new() -> Self {
        Self([0; ATTR])
    }

    fn u32(&mut self, at: usize, v: u32) -> &mut Self {
        self.0[at..at + 4].copy_from_slice(&v.to_ne_bytes());
        self
    }

    fn u64(&mut self, at: usize, v: u64) -> &mut Self {
        self.0[at..at + 8].copy_from_slice(&v.to_ne_bytes());
        self
    }

    fn ptr<T>(&mut self, at: usize, p: *const T) -> &mut Self {
        self.u64(at, p as usize as u64)
    }

    fn read_u32(&self, at: usize) -> u32 {
        let b = &self.0[at..at + 4];
        u32::from_ne_bytes([b[0], b[1], b[2], b[3]])
    }

    fn call(&mut self, cmd: libc::c_long) -> io::Result<libc::c_long> {
        // SAFETY: the attribute block is a valid, writable, ATTR-byte buffer; every
        // pointer stored in it points at memory the caller keeps alive and sized as the
        // neighbouring size field says.
        let r = unsafe {
            libc::syscall(
                libc::SYS_bpf,
                cmd,
                self.0.as_mut_ptr(),
                ATTR as libc::c_uint,
            )
        };
        if r < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(r)
        }
    }

    fn call_fd(&mut self, cmd: libc::c_long) -> io::Result<OwnedFd> {
        let fd = self.call(cmd)?;
        let fd = RawFd::try_from(fd).map_err(|_| io::Error::from(io::ErrorKind::InvalidData))?;
        // SAFETY: the kernel just returned this descriptor to us; nothing else owns it.
        Ok(unsafe { OwnedFd::from_raw_fd(fd) })
    }
}

fn name16(name: &str) -> [u8; 16] {
    let mut out = [0u8; 16];
    for (o, b) in out.iter_mut().zip(name.bytes().take(15)) {
        *o = b;
    }
    out
}

/// Creates a hash map.
pub(crate) fn create_hash_map(
    name: &str,
    key_size: u32,
    value_size: u32,
    entries: u32,
) -> io::Result<OwnedFd> {
    let mut attr = Attr::new();
    attr.u32(0, MAP_TYPE_HASH)
        .u32(4, key_size)
        .u32(8, value_size)
        .u32(12, entries);
    attr.0[28..44].copy_from_slice(&name16(name));
    attr.call_fd(MAP_CREATE)
}

fn elem(map: &OwnedFd, key: &[u8], value: *const u8, flags: u64) -> Attr {
    let mut attr = Attr::new();
    attr.u32(0, map.as_raw_fd() as u32)
        .ptr(8, key.as_ptr())
        .ptr(16, value)
        .u64(24, flags);
    attr
}

/// Inserts or replaces an element.
pub(crate) fn map_update(map: &OwnedFd, key: &[u8], value: &[u8]) -> io::Result<()> {
    elem(map, key, value.as_ptr(), 0)
        .call(MAP_UPDATE_ELEM)
        .map(drop)
}

/// Reads an element; `Ok(false)` when the key is absent.
pub(crate) fn map_lookup(map: &OwnedFd, key: &[u8], value: &mut [u8]) -> io::Result<bool> {
    absent_is_false(elem(map, key, value.as_mut_ptr(), 0).call(MAP_LOOKUP_ELEM))
}

/// Reads and removes an element in one step; `Ok(false)` when the key is absent.
pub(crate) fn map_lookup_and_delete(
    map: &OwnedFd,
    key: &[u8],
    value: &mut [u8],
) -> io::Result<bool> {
    absent_is_false(elem(map, key, value.as_mut_ptr(), 0).call(MAP_LOOKUP_AND_DELETE_ELEM))
}

/// Removes an element; `Ok(false)` when the key is absent.
#[allow(dead_code)]
pub(crate) fn map_delete(map: &OwnedFd, key: &[u8]) -> io::Result<bool> {
    absent_is_false(elem(map, key, std::ptr::null(), 0).call(MAP_DELETE_ELEM))
}

fn absent_is_false(r: io::Result<libc::c_long>) -> io::Result<bool> {
    match r {
        Ok(_) => Ok(true),
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Loads a TC classifier. On a verifier rejection the error carries the verifier's log.
pub(crate) fn load_sched_cls(name: &str, insns: &[u8]) -> Result<OwnedFd, (io::Error, String)> {
    let license = b"GPL\0";
    let mut log = vec![0u8; 1 << 20];
    let mut attr = Attr::new();
    attr.u32(0, PROG_TYPE_SCHED_CLS)
        .u32(4, (insns.len() / 8) as u32)
        .ptr(8, insns.as_ptr())
        .ptr(16, license.as_ptr())
        .u32(24, 1)
        .u32(28, log.len() as u32)
        .ptr(32, log.as_mut_ptr());
    attr.0[48..64].copy_from_slice(&name16(name));
    attr.call_fd(PROG_LOAD).map_err(|e| {
        let end = log.iter().position(|&b| b == 0).unwrap_or(log.len());
        (e, String::from_utf8_lossy(&log[..end]).into_owned())
    })
}

/// Attaches a program to an interface's ingress with a TCX link; dropping the link
/// detaches it.
pub(crate) fn attach_tcx_ingress(prog: &OwnedFd, ifindex: u32) -> io::Result<OwnedFd> {
    let mut attr = Attr::new();
    attr.u32(0, prog.as_raw_fd() as u32)
        .u32(4, ifindex)
        .u32(8, ATTACH_TCX_INGRESS);
    attr.call_fd(LINK_CREATE)
}

/// Runs the program once on `frame` (`BPF_PROG_TEST_RUN`); returns its verdict and the
/// frame as the program left it.
pub(crate) fn test_run(prog: &OwnedFd, frame: &[u8]) -> io::Result<(i32, Vec<u8>)> {
    let mut out = vec![0u8; frame.len() + 256];
    let mut attr = Attr::new();
    attr.u32(0, prog.as_raw_fd() as u32)
        .u32(8, frame.len() as u32)
        .u32(12, out.len() as u32)
        .ptr(16, frame.as_ptr())
        .ptr(24, out.as_mut_ptr())
        .u32(32, 1);
    attr.call(PROG_TEST_RUN)?;
    let verdict = attr.read_u32(4) as i32;
    let len = (attr.read_u32(12) as usize).min(out.len());
    out.truncate(len);
    Ok((verdict, out))
}

/// `CLOCK_MONOTONIC` now, in nanoseconds: the clock `bpf_ktime_get_ns` reads.
pub fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec.
    let _ = unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    (ts.tv_sec as u64).saturating_mul(1_000_000_000) + ts.tv_nsec as u64
}

/// Every network interface: (index, name).
pub(crate) fn interfaces() -> Vec<(u32, String)> {
    let mut out = Vec::new();
    // SAFETY: if_nameindex returns an array terminated by a zero entry, or null; it is
    // freed with if_freenameindex after we copied what we need.
    unsafe {
        let list = libc::if_nameindex();
        if list.is_null() {
            return out;
        }
        let mut p = list;
        while (*p).if_index != 0 && !(*p).if_name.is_null() {
            let name = std::ffi::CStr::from_ptr((*p).if_name)
                .to_string_lossy()
                .into_owned();
            out.push(((*p).if_index, name));
            p = p.add(1);
        }
        libc::if_freenameindex(list);
    }
    out
}

/// The host's IPv4 addresses with their interface indexes.
pub(crate) fn ipv4_addresses() -> Vec<(std::net::Ipv4Addr, u32)> {
    let mut out = Vec::new();
    let mut list: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs fills `list` with a linked list freed by freeifaddrs below; every
    // node is read only while the list is alive, and `ifa_addr` is read as a sockaddr_in only
    // when its family says AF_INET.
    unsafe {
        if libc::getifaddrs(&mut list) != 0 {
            return out;
        }
        let mut p = list;
        while !p.is_null() {
            let a = (*p).ifa_addr;
            if !a.is_null() && i32::from((*a).sa_family) == libc::AF_INET {
                let sin = a.cast::<libc::sockaddr_in>();
                let ip = std::net::Ipv4Addr::from(u32::from_be((*sin).sin_addr.s_addr));
                let index = libc::if_nametoindex((*p).ifa_name);
                if index != 0 {
                    out.push((ip, index));
                }
            }
            p = (*p).ifa_next;
        }
        libc::freeifaddrs(list);
    }
    out
}
