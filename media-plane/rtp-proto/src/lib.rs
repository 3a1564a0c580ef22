//! Sans-IO RTP/RTCP parsing, rewriting, statistics and latching
