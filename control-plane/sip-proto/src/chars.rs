//! Character classes of the SIP grammar as one 256-entry table of bit
//! flags, so that every class test is a single load.

/// `token`
pub(crate) const TOKEN: u16 = 1;
/// URI `user` (unreserved, escapes, user-unreserved)
pub(crate) const USER: u16 = 1 << 1;
/// URI `password`
pub(crate) const PASSWORD: u16 = 1 << 2;
/// URI `paramchar`
pub(crate) const PARAM: u16 = 1 << 3;
/// URI header `hname` / `hvalue` characters (plus `=` and `&`)
pub(crate) const HEADER: u16 = 1 << 4;
/// Host name characters (alphanumeric, `-`, `.`, `_`)
pub(crate) const HOST: u16 = 1 << 5;
/// `word` (Call-ID)
pub(crate) const WORD: u16 = 1 << 6;
/// Linear white space in a raw value: SP, HT, CR, LF
pub(crate) const LWS: u16 = 1 << 7;
/// URI `userinfo` (user characters plus `:`)
pub(crate) const USERINFO: u16 = 1 << 8;
/// Header parameter value without quotes: token, `:`, `[`, `]`
pub(crate) const GENVALUE: u16 = 1 << 9;

const fn in_set(c: u8, set: &[u8]) -> bool {
    let mut i = 0;
    while i < set.len() {
        if set[i] == c {
            return true;
        }
        i += 1;
    }
    false
}

const fn class_of(c: u8) -> u16 {
    let alnum = c.is_ascii_alphanumeric();
    let unreserved = alnum || in_set(c, b"-_.!~*'()");
    let token = alnum || in_set(c, b"-.!%*_+`'~");
    let mut f = 0;
    if token {
        f |= TOKEN;
    }
    if unreserved || in_set(c, b"%&=+$,;?/") {
        f |= USER;
    }
    if unreserved || in_set(c, b"%&=+$,") {
        f |= PASSWORD;
    }
    if unreserved || in_set(c, b"[]/:&+$%") {
        f |= PARAM;
    }
    if unreserved || in_set(c, b"%[]/?:+$=&") {
        f |= HEADER;
    }
    if alnum || in_set(c, b"-._") {
        f |= HOST;
    }
    if token || in_set(c, b"()<>:\\\"/[]?{}") {
        f |= WORD;
    }
    if in_set(c, b" \t\r\n") {
        f |= LWS;
    }
    if unreserved || in_set(c, b"%&=+$,;?/:") {
        f |= USERINFO;
    }
    if token || in_set(c, b":[]") {
        f |= GENVALUE;
    }
    f
}

static CLASS: [u16; 256] = {
    let mut t = [0u16; 256];
    let mut c = 0;
    while c < 256 {
        t[c] = class_of(c as u8);
        c += 1;
    }
    t
};

/// True if `c` is in any of the classes in `flags`.
#[inline(always)]
pub(crate) fn is(c: u8, flags: u16) -> bool {
    CLASS[c as usize] & flags != 0
}

/// Number of leading bytes of `s` in the class.
#[inline]
pub(crate) fn span(s: &[u8], flags: u16) -> usize {
    s.iter().take_while(|&&c| is(c, flags)).count()
}

/// True if every byte of `s` is in the class (true for an empty `s`).
#[inline]
pub(crate) fn all(s: &[u8], flags: u16) -> bool {
    s.iter().all(|&c| is(c, flags))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes() {
        assert!(is(b'a', TOKEN | USER | HOST | WORD));
        assert!(is(b'~', TOKEN) && !is(b'~', HOST));
        assert!(is(b';', USER) && !is(b';', PASSWORD) && !is(b';', PARAM));
        assert!(is(b'[', PARAM) && is(b'[', HEADER) && is(b'[', WORD) && !is(b'[', TOKEN));
        assert!(is(b'"', WORD) && !is(b'"', TOKEN));
        assert!(is(b'\r', LWS) && !is(b'x', LWS));
        assert!(!is(0x80, u16::MAX));
        assert!(is(b':', USERINFO) && !is(b':', USER) && !is(b'@', USERINFO));
        assert!(is(b']', GENVALUE) && is(b'~', GENVALUE) && !is(b';', GENVALUE));
        assert_eq!(span(b"abc def", TOKEN), 3);
        assert!(all(b"", TOKEN));
    }
}
