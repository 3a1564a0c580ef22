//! The locked-memory check done before any executor starts (glommio only reports a failed
//! buffer registration when the executor is joined).

use crate::error::MediaError;

/// Reads RLIMIT_MEMLOCK; if the soft limit is below `needed`, tries raising it to the hard
/// limit; fails with an actionable error when that is still not enough.
pub(crate) fn ensure(needed: u64, cores: usize) -> Result<u64, MediaError> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: valid resource id and out-pointer.
    if unsafe { libc::getrlimit(libc::RLIMIT_MEMLOCK, &mut lim) } != 0 {
        return Err(MediaError::Startup {
            core: 0,
            reason: format!(
                "getrlimit(RLIMIT_MEMLOCK): {}",
                std::io::Error::last_os_error()
            ),
        });
    }
    let infinite = libc::RLIM_INFINITY;
    if lim.rlim_cur == infinite || lim.rlim_cur >= needed {
        return Ok(lim.rlim_cur);
    }
    if lim.rlim_max == infinite || lim.rlim_max > lim.rlim_cur {
        let raised = libc::rlimit {
            rlim_cur: lim.rlim_max,
            rlim_max: lim.rlim_max,
        };
        // SAFETY: valid resource id and pointer; raising soft up to hard needs no privilege.
        if unsafe { libc::setrlimit(libc::RLIMIT_MEMLOCK, &raised) } == 0 {
            tracing::info!(soft = raised.rlim_cur, "raised RLIMIT_MEMLOCK soft limit");
            lim.rlim_cur = raised.rlim_cur;
        }
    }
    if lim.rlim_cur == infinite || lim.rlim_cur >= needed {
        return Ok(lim.rlim_cur);
    }
    Err(MediaError::MemlockTooLow {
        needed,
        needed_kib: needed.div_ceil(1024),
        current: lim.rlim_cur,
        cores,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiny_need_passes_and_huge_need_fails_with_instructions() {
        assert!(ensure(1, 1).is_ok());
        match ensure(u64::MAX - 1, 4) {
            Ok(limit) => assert_eq!(limit, libc::RLIM_INFINITY),
            Err(e) => {
                let text = e.to_string();
                assert!(text.contains("ulimit -l"), "{text}");
                assert!(text.contains("LimitMEMLOCK"), "{text}");
                assert!(text.contains("--ulimit memlock"), "{text}");
            }
        }
    }
}
