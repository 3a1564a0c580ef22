//! Sans-IO SIP digest authentication (RFC 8760 SHA-256 and MD5), nonces, and failure bans
