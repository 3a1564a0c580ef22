//! Sans-IO SIP and SDP message parsing and serialization (nom, zero-copy)
