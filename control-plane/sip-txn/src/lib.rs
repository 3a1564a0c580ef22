//! Sans-IO SIP transaction layer (RFC 3261 section 17) with Timers A-K
