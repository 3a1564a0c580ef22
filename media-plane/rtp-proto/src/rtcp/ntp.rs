//! NTP timestamp arithmetic for sender reports and round-trip estimation
//! (RFC 3550 §6.4.1). Pure functions: the caller supplies the time.

/// Seconds from the NTP epoch (1900) to the Unix epoch (1970).
const NTP_UNIX_OFFSET: u64 = 2_208_988_800;
/// Nanoseconds per second.
const NANOS: u64 = 1_000_000_000;

/// Converts a Unix time in nanoseconds to a 64-bit NTP timestamp (32.32 fixed point).
#[must_use]
pub fn ntp_from_unix_ns(unix_ns: u64) -> u64 {
    let secs = unix_ns / NANOS + NTP_UNIX_OFFSET;
    let frac = ((unix_ns % NANOS) << 32) / NANOS;
    (secs << 32) | frac
}

/// The middle 32 bits of an NTP timestamp, as carried in LSR fields.
#[must_use]
pub fn ntp_middle32(ntp: u64) -> u32 {
    (ntp >> 16) as u32
}

/// Converts a duration in nanoseconds to 1/65536-second units (the DLSR field),
/// saturating at `u32::MAX`.
#[must_use]
pub fn dlsr_from_ns(ns: u64) -> u32 {
    let units = (u128::from(ns) << 16) / u128::from(NANOS);
    u32::try_from(units).unwrap_or(u32::MAX)
}

/// Round-trip time from a report block: `arrival - LSR - DLSR`, where `arrival` is
/// the middle 32 bits of the NTP time the report arrived. Returns nanoseconds, or
/// `None` when no SR was reported (`last_sr == 0`) or the result would be negative.
#[must_use]
pub fn round_trip_ns(arrival_middle32: u32, last_sr: u32, delay_since_last_sr: u32) -> Option<u64> {
    if last_sr == 0 {
        return None;
    }
    let since_sr = arrival_middle32.wrapping_sub(last_sr);
    let rtt = since_sr.checked_sub(delay_since_last_sr)?;
    Some((u64::from(rtt) * NANOS) >> 16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unix_to_ntp() {
        assert_eq!(ntp_from_unix_ns(0), NTP_UNIX_OFFSET << 32);
        // Half a second is 0x8000_0000 in the fraction.
        assert_eq!(
            ntp_from_unix_ns(1_500_000_000),
            ((NTP_UNIX_OFFSET + 1) << 32) | 0x8000_0000
        );
        assert_eq!(ntp_middle32(0x1122_3344_5566_7788), 0x3344_5566);
    }

    #[test]
    fn rtt_example() {
        // LSR 0xB705_2000 (46853.125 s), DLSR 0x0005_4000 (5.25 s) and arrival
        // 0xB710_8000 (46864.5 s): RTT = 6.125 s.
        let rtt = round_trip_ns(0xB710_8000, 0xB705_2000, 0x0005_4000).unwrap();
        assert_eq!(rtt, 6_125_000_000);
        assert_eq!(round_trip_ns(5, 0, 0), None);
        assert_eq!(round_trip_ns(10, 8, 3), None);
        // Wraps across the 32-bit boundary.
        assert_eq!(
            round_trip_ns(0x0000_8000, 0xFFFF_8000, 0),
            Some(1_000_000_000)
        );
    }

    #[test]
    fn dlsr_units() {
        assert_eq!(dlsr_from_ns(1_000_000_000), 65536);
        assert_eq!(dlsr_from_ns(5_250_000_000), 0x0005_4000);
        assert_eq!(dlsr_from_ns(u64::MAX), u32::MAX);
    }
}
