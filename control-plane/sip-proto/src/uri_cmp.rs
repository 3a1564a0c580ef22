//! URI comparison (RFC 3261 §19.1.4 for SIP/SIPS, RFC 3966 §4 for tel).

use crate::params::Params;
use crate::text::percent_decode;
use crate::uri::{Scheme, Uri};

/// Parameters that, when present in one URI, must be present and equal in
/// the other.
const STRICT_PARAMS: [&str; 5] = ["transport", "user", "ttl", "method", "maddr"];

impl Uri<'_> {
    /// True if both URIs are equivalent.
    ///
    /// For `sip:`/`sips:`: same scheme; user and password equal
    /// case-sensitively after decoding escapes; hosts equal
    /// case-insensitively; ports equal (an absent port differs from an
    /// explicit 5060); `transport`, `user`, `ttl`, `method` and `maddr`
    /// present in either must be equal in both; other parameters only
    /// matter when present in both; `?headers` must match as sets.
    /// For `tel:`: numbers equal ignoring visual separators and parameters
    /// equal as sets. Other schemes: scheme case-insensitive and the rest
    /// equal after decoding escapes.
    pub fn equivalent(&self, other: &Uri<'_>) -> bool {
        match (self.scheme, other.scheme) {
            (Scheme::Sip, Scheme::Sip) | (Scheme::Sips, Scheme::Sips) => sip_eq(self, other),
            (Scheme::Tel, Scheme::Tel) => tel_eq(self, other),
            (Scheme::Other(a), Scheme::Other(b)) => {
                a.eq_ignore_ascii_case(b)
                    && percent_decode(self.opaque()) == percent_decode(other.opaque())
            }
            _ => false,
        }
    }
}

fn decoded_eq(a: Option<&str>, b: Option<&str>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => percent_decode(a) == percent_decode(b),
        _ => false,
    }
}

fn decoded_eq_ci(a: &str, b: &str) -> bool {
    percent_decode(a).eq_ignore_ascii_case(&percent_decode(b))
}

fn sip_eq(a: &Uri<'_>, b: &Uri<'_>) -> bool {
    let hosts = match (a.host, b.host) {
        (Some(x), Some(y)) => x.matches(&y),
        _ => false,
    };
    hosts
        && a.port == b.port
        && decoded_eq(a.user, b.user)
        && decoded_eq(a.password, b.password)
        && params_eq(a.params, b.params)
        && headers_eq(a.headers, b.headers)
}

fn find<'a>(list: Params<'a>, name: &str) -> Option<crate::params::Param<'a>> {
    list.iter().find(|p| decoded_eq_ci(p.name, name))
}

fn params_eq(a: Params<'_>, b: Params<'_>) -> bool {
    // Only the first occurrence of a repeated parameter counts.
    let one_way = |x: Params<'_>, y: Params<'_>| {
        x.iter().all(|p| match (find(x, p.name), find(y, p.name)) {
            (Some(p), Some(q)) => match (p.value, q.value) {
                (None, None) => true,
                (Some(u), Some(v)) => decoded_eq_ci(u, v),
                _ => false,
            },
            (_, None) => !STRICT_PARAMS.iter().any(|s| decoded_eq_ci(p.name, s)),
            (None, Some(_)) => false,
        })
    };
    one_way(a, b) && one_way(b, a)
}

fn headers_eq(a: Option<&str>, b: Option<&str>) -> bool {
    let split = |h: Option<&str>| -> Vec<(Vec<u8>, Vec<u8>)> {
        let mut v: Vec<(Vec<u8>, Vec<u8>)> = h
            .into_iter()
            .flat_map(|h| h.split('&'))
            .map(|kv| {
                let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
                (
                    percent_decode(k).to_ascii_lowercase(),
                    percent_decode(v).into_owned(),
                )
            })
            .collect();
        v.sort();
        v
    };
    split(a) == split(b)
}

fn tel_eq(a: &Uri<'_>, b: &Uri<'_>) -> bool {
    let digits = |u: &Uri<'_>| -> Vec<u8> {
        percent_decode(u.user.unwrap_or_default())
            .iter()
            .filter(|c| !matches!(c, b'-' | b'.' | b'(' | b')'))
            .map(u8::to_ascii_lowercase)
            .collect()
    };
    let params = |u: &Uri<'_>| -> Vec<Vec<u8>> {
        let mut v: Vec<Vec<u8>> = u
            .params
            .iter()
            .map(|p| {
                let mut s = percent_decode(p.name).to_ascii_lowercase();
                if let Some(val) = p.value {
                    s.push(b'=');
                    s.extend(percent_decode(val).to_ascii_lowercase());
                }
                s
            })
            .collect();
        v.sort();
        v
    };
    digits(a) == digits(b) && params(a) == params(b)
}

#[cfg(test)]
mod tests {
    use crate::parse_uri;

    fn eq(a: &str, b: &str) -> bool {
        let (a, b) = (parse_uri(a).unwrap(), parse_uri(b).unwrap());
        let r = a.equivalent(&b);
        assert_eq!(r, b.equivalent(&a), "comparison must be symmetric");
        r
    }

    #[test]
    fn equivalent_sip_uris() {
        assert!(eq(
            "sip:%61lice@atlanta.com;transport=TCP",
            "sip:alice@AtLanTa.CoM;Transport=tcp"
        ));
        assert!(eq(
            "sip:carol@chicago.com",
            "sip:carol@chicago.com;newparam=5"
        ));
        assert!(eq(
            "sip:carol@chicago.com;security=on",
            "sip:carol@chicago.com;newparam=5"
        ));
        assert!(eq(
            "sip:biloxi.com;transport=tcp;method=REGISTER?to=sip:bob%40biloxi.com",
            "sip:biloxi.com;method=REGISTER;transport=tcp?to=sip:bob%40biloxi.com"
        ));
        assert!(eq(
            "sip:alice@atlanta.com?subject=project%20x&priority=urgent",
            "sip:alice@atlanta.com?priority=urgent&subject=project%20x"
        ));
        assert!(eq("sip:[2001:db8::1]:5060", "sip:[2001:DB8:0::1]:5060"));
        // Repeated parameters: the first occurrence counts (and equality is reflexive).
        assert!(eq("sip:an;x=ran;x=r", "sip:an;x=ran;x=r"));
        assert!(eq("sip:an;x=ran;x=r", "sip:an;x=ran"));
    }

    #[test]
    fn different_sip_uris() {
        assert!(!eq(
            "SIP:ALICE@AtLanTa.CoM;Transport=udp",
            "sip:alice@AtLanTa.CoM;Transport=UDP"
        ));
        assert!(!eq("sip:bob@biloxi.com", "sip:bob@biloxi.com:5060"));
        assert!(!eq(
            "sip:bob@biloxi.com",
            "sip:bob@biloxi.com;transport=udp"
        ));
        assert!(!eq(
            "sip:bob@biloxi.com",
            "sip:bob@biloxi.com:6000;transport=tcp"
        ));
        assert!(!eq(
            "sip:carol@chicago.com",
            "sip:carol@chicago.com?Subject=next%20meeting"
        ));
        assert!(!eq("sip:bob@phone21.boxesbybob.com", "sip:bob@192.0.2.4"));
        assert!(!eq(
            "sip:carol@chicago.com;security=on",
            "sip:carol@chicago.com;security=off"
        ));
        assert!(!eq("sip:alice@atlanta.com", "sips:alice@atlanta.com"));
        assert!(!eq("sip:alice:pw@atlanta.com", "sip:alice@atlanta.com"));
    }

    #[test]
    fn tel_and_other_schemes() {
        assert!(eq("tel:+1-201-555-0123", "tel:+1.201.555.0123"));
        assert!(!eq("tel:+12015550123", "tel:+12015550124"));
        assert!(eq(
            "tel:7042;phone-context=example.com",
            "tel:7042;PHONE-CONTEXT=Example.com"
        ));
        assert!(eq("http://www.example.com/%61", "HTTP://www.example.com/a"));
        assert!(!eq("tel:+12015550123", "sip:+12015550123@example.com"));
    }
}
