//! `;name[=value]` parameter lists, kept as one raw slice and looked up
//! lazily. Used for URI parameters and for header parameters (Via, From,
//! To, Contact, Route, Content-Type...).

use crate::text::{quoted_string, sep, sws, token, PResult};

/// A raw parameter list (the text after the first `;`, without it).
///
/// Lookups are case-insensitive on the name. Header parameters may have
/// white space around `;` and `=` and quoted-string values; both are
/// handled by the iterator.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Params<'a> {
    raw: &'a str,
}

/// One parameter: a name and an optional value (raw: a quoted value keeps
/// its quotes, an escaped URI value keeps its escapes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Param<'a> {
    /// Parameter name as written.
    pub name: &'a str,
    /// Value, if the parameter has `=value`.
    pub value: Option<&'a str>,
}

impl<'a> Params<'a> {
    /// Wraps a raw, already validated list.
    pub(crate) const fn from_raw(raw: &'a str) -> Self {
        Self { raw }
    }

    /// The raw text of the list (after the first `;`).
    pub fn as_str(&self) -> &'a str {
        self.raw
    }

    /// True if there is no parameter.
    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }

    /// Iterates over the parameters in order.
    pub fn iter(&self) -> ParamIter<'a> {
        ParamIter { rest: self.raw }
    }

    /// The first parameter with this name (case-insensitive).
    pub fn get(&self, name: &str) -> Option<Param<'a>> {
        self.iter().find(|p| p.name.eq_ignore_ascii_case(name))
    }

    /// The value of the first parameter with this name; `None` when the
    /// parameter is absent or has no value.
    pub fn value(&self, name: &str) -> Option<&'a str> {
        self.get(name).and_then(|p| p.value)
    }

    /// True if a parameter with this name is present (with or without value).
    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }
}

impl<'a> IntoIterator for Params<'a> {
    type Item = Param<'a>;
    type IntoIter = ParamIter<'a>;
    fn into_iter(self) -> ParamIter<'a> {
        self.iter()
    }
}

/// Iterator over a [`Params`] list.
#[derive(Debug, Clone)]
pub struct ParamIter<'a> {
    rest: &'a str,
}

impl<'a> Iterator for ParamIter<'a> {
    type Item = Param<'a>;

    fn next(&mut self) -> Option<Param<'a>> {
        loop {
            let s = sws(self.rest);
            if s.is_empty() {
                return None;
            }
            let b = s.as_bytes();
            // Find the end of this parameter: the next ';' outside quotes.
            let mut pos = 0;
            let mut in_quote = false;
            while let Some(&c) = b.get(pos) {
                match c {
                    b'\\' if in_quote => pos += 1,
                    b'"' => in_quote = !in_quote,
                    b';' if !in_quote => break,
                    _ => {}
                }
                pos += 1;
            }
            let item = s.get(..pos.min(s.len())).unwrap_or_default();
            self.rest = s
                .get(pos.saturating_add(1).min(s.len())..)
                .unwrap_or_default();
            let item = crate::text::trim_lws(item);
            if item.is_empty() {
                continue;
            }
            return Some(match crate::text::split_once_byte(item, b'=') {
                Some((n, v)) => Param {
                    name: crate::text::trim_lws(n),
                    value: Some(crate::text::trim_lws(v)),
                },
                None => Param {
                    name: item,
                    value: None,
                },
            });
        }
    }
}

/// Parses `*( SEMI generic-param )` of a header: `SWS ; SWS token [ SWS = SWS
/// gen-value ]`, where gen-value is a token, a host (incl. IPv6 and IPv6
/// reference) or a quoted string. Returns the rest of the input and the raw
/// list. Stops (without error) at the first character that does not start a
/// parameter; the caller decides whether that is acceptable.
#[cfg(test)]
pub(crate) fn header_params(i: &str) -> Option<(&str, Params<'_>)> {
    header_params_with(i, |_, _| true)
}

/// [`header_params`] that hands every `(name, value)` to `on_param`, which
/// may reject the list by returning false.
pub(crate) fn header_params_with<'a>(
    i: &'a str,
    mut on_param: impl FnMut(&'a str, Option<&'a str>) -> bool,
) -> Option<(&'a str, Params<'a>)> {
    let start = sws(i);
    let mut rest = i;
    let mut first = true;
    let mut list_start = start;
    while let Some(after_semi) = sep(rest, b';') {
        if first {
            list_start = after_semi;
            first = false;
        }
        let (r, name) = token(after_semi).ok()?;
        rest = r;
        let mut value = None;
        if let Some(after_eq) = sep(rest, b'=') {
            let (r, v) = gen_value(after_eq).ok()?;
            rest = r;
            value = Some(v);
        }
        if !on_param(name, value) {
            return None;
        }
    }
    if first {
        return Some((rest, Params::default()));
    }
    let len = list_start.len() - rest.len();
    Some((rest, Params::from_raw(list_start.get(..len)?)))
}

/// gen-value: token / host / quoted-string.
fn gen_value(i: &str) -> PResult<'_, &str> {
    if i.starts_with('"') {
        return quoted_string(i);
    }
    let n = crate::chars::span(i.as_bytes(), crate::chars::GENVALUE);
    match (n, i.get(..n), i.get(n..)) {
        (1.., Some(v), Some(rest)) => Ok((rest, v)),
        _ => Err(nom::Err::Error(())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_params_with_whitespace_and_quotes() {
        let (rest, p) = header_params(" ;   tag    = 1918181833n ; x=\"a;b\" ; lr , next").unwrap();
        assert_eq!(rest, " , next");
        assert_eq!(p.value("TAG"), Some("1918181833n"));
        assert_eq!(p.value("x"), Some("\"a;b\""));
        assert!(p.contains("lr"));
        assert_eq!(p.value("lr"), None);
        assert_eq!(p.iter().count(), 3);
    }

    #[test]
    fn header_params_folded() {
        let (rest, p) = header_params("\r\n  ;\r\n  tag = 98asjd8").unwrap();
        assert_eq!(rest, "");
        assert_eq!(p.value("tag"), Some("98asjd8"));
    }

    #[test]
    fn header_params_rejects_empty_names() {
        assert!(header_params(";;").is_none());
        assert!(header_params(";=x").is_none());
        assert!(header_params(";a=").is_none());
    }

    #[test]
    fn no_params() {
        let (rest, p) = header_params("  ,x").unwrap();
        assert_eq!(rest, "  ,x");
        assert!(p.is_empty());
    }

    #[test]
    fn ipv6_value() {
        let (_, p) = header_params(";received=2001:db8::9;maddr=[::1]").unwrap();
        assert_eq!(p.value("received"), Some("2001:db8::9"));
        assert_eq!(p.value("maddr"), Some("[::1]"));
    }
}
