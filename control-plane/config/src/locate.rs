//! Best-effort mapping from a key path (`sip.listen[1]`) to a position in
//! the YAML text. The YAML deserializer only reports positions for errors it
//! raises itself; validation runs after parsing, so its errors are located
//! here by walking the text.
//!
//! The walk understands block mappings and sequences (including sequences
//! written at the same indentation as their key and compact `- key: value`
//! items) and flow collections (`[a, b]`, `{ k: v }`), possibly spanning
//! lines. It gives up (returns the deepest position found so far) on
//! anything fancier, such as anchors, aliases or complex keys: a missing
//! position only makes an error message less precise.

use crate::error::Location;

/// One step of a key path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Seg<'a> {
    Key(&'a str),
    Index(usize),
}

/// Finds the position of `path` in `src`: the value when it starts on the
/// key's line, else the key or sequence item; when the path is only
/// partly present, the deepest part found. `None` when nothing matched.
pub(crate) fn locate(src: &str, path: &str) -> Option<Location> {
    let segs = parse_path(path)?;
    let doc = Doc::new(src);
    let mut node = doc.root()?;
    let mut found = None;
    let count = segs.len();
    for (i, seg) in segs.into_iter().enumerate() {
        let last = i + 1 == count;
        match seg {
            Seg::Key(k) => {
                let Some((key_off, value_off)) = doc.find_key(node, k) else {
                    break;
                };
                let same_line = value_off.filter(|&v| doc.line_of(v) == doc.line_of(key_off));
                found = Some(doc.location(if last {
                    same_line.unwrap_or(key_off)
                } else {
                    key_off
                }));
                match value_off {
                    Some(v) if !last => node = v,
                    _ => break,
                }
            }
            Seg::Index(n) => {
                let Some(item) = doc.find_index(node, n) else {
                    break;
                };
                found = Some(doc.location(item));
                node = item;
            }
        }
    }
    found
}

/// Splits `a.b[1].c` into segments; `None` for the root path `.` or an
/// unparsable path.
fn parse_path(path: &str) -> Option<Vec<Seg<'_>>> {
    if path.is_empty() || path == "." {
        return None;
    }
    let mut segs = Vec::new();
    for part in path.split('.') {
        let (name, mut rest) = match part.find('[') {
            Some(i) => part.split_at(i),
            None => (part, ""),
        };
        if name.is_empty() {
            return None;
        }
        segs.push(Seg::Key(name));
        while let Some(r) = rest.strip_prefix('[') {
            let (num, after) = r.split_once(']')?;
            segs.push(Seg::Index(num.parse().ok()?));
            rest = after;
        }
        if !rest.is_empty() {
            return None;
        }
    }
    Some(segs)
}

/// A found key: its offset and the offset where its value starts (if any).
type KeyHit = (usize, Option<usize>);

/// The YAML text split into lines, with byte offsets.
struct Doc<'a> {
    src: &'a str,
    /// (start offset, text without the line terminator)
    lines: Vec<(usize, &'a str)>,
}

impl<'a> Doc<'a> {
    fn new(src: &'a str) -> Self {
        let mut lines = Vec::new();
        let mut start = 0;
        for raw in src.split_inclusive('\n') {
            let text = raw.trim_end_matches('\n').trim_end_matches('\r');
            lines.push((start, text));
            start += raw.len();
        }
        Self { src, lines }
    }

    fn rest(&self, off: usize) -> &'a str {
        self.src.get(off..).unwrap_or("")
    }

    fn line_of(&self, off: usize) -> usize {
        self.lines
            .partition_point(|&(s, _)| s <= off)
            .saturating_sub(1)
    }

    fn line(&self, i: usize) -> Option<(usize, &'a str)> {
        self.lines.get(i).copied()
    }

    /// Byte column of `off` within its line.
    fn col(&self, off: usize) -> usize {
        let (start, _) = self.line(self.line_of(off)).unwrap_or((0, ""));
        off.saturating_sub(start)
    }

    fn location(&self, off: usize) -> Location {
        let i = self.line_of(off);
        let (start, text) = self.line(i).unwrap_or((0, ""));
        let before = text.get(..off.saturating_sub(start)).unwrap_or(text);
        Location {
            line: i + 1,
            column: before.chars().count() + 1,
        }
    }

    /// Offset of the first node of the document.
    fn root(&self) -> Option<usize> {
        for &(start, text) in &self.lines {
            let trimmed = text.trim();
            if is_blank(text) || trimmed == "---" || trimmed.starts_with('%') {
                continue;
            }
            return Some(start + indent(text));
        }
        None
    }

    /// Offset of the first non-blank line after line `after` whose indent
    /// is deeper than `owner_indent` (or equal, for a `- ` sequence).
    fn block_child(&self, after: usize, owner_indent: usize) -> Option<usize> {
        let (start, text) = self
            .lines
            .iter()
            .skip(after + 1)
            .find(|(_, t)| !is_blank(t))
            .copied()?;
        let ind = indent(text);
        let dash = is_dash(text.get(ind..).unwrap_or(""));
        (ind > owner_indent || (ind == owner_indent && dash)).then_some(start + ind)
    }

    /// Looks up key `k` in the mapping that starts at `node`.
    fn find_key(&self, node: usize, k: &str) -> Option<KeyHit> {
        match self.rest(node).as_bytes().first()? {
            b'{' => self.flow_entries(node).into_iter().find_map(|e| {
                let (key, after) = parse_key(self.rest(e), true)?;
                if key != k {
                    return None;
                }
                let v = skip_ws(self.src, e + after);
                let value = match self.src.as_bytes().get(v) {
                    None | Some(b',') | Some(b'}') => None,
                    Some(_) => Some(v),
                };
                Some((e, value))
            }),
            b'[' => None,
            _ => self.block_key(node, k),
        }
    }

    fn block_key(&self, node: usize, k: &str) -> Option<KeyHit> {
        let first = self.line_of(node);
        let c = self.col(node);
        for i in first..self.lines.len() {
            let (start, text) = self.line(i)?;
            let off = if i == first {
                node
            } else {
                if is_blank(text) {
                    continue;
                }
                let ind = indent(text);
                if ind < c {
                    return None;
                }
                if ind > c {
                    continue;
                }
                start + ind
            };
            let Some((key, after)) = parse_key(self.rest(off), false) else {
                continue;
            };
            if key == k {
                let v = off + after;
                let tail = self.rest(v);
                let tail = tail
                    .get(..tail.find('\n').unwrap_or(tail.len()))
                    .unwrap_or("");
                let value = if is_blank(tail) {
                    self.block_child(i, c)
                } else {
                    Some(v + indent(tail))
                };
                return Some((off, value));
            }
        }
        None
    }

    /// Offset of item `n` of the sequence that starts at `node`.
    fn find_index(&self, node: usize, n: usize) -> Option<usize> {
        match self.rest(node).as_bytes().first()? {
            b'[' => self.flow_entries(node).get(n).copied(),
            b'-' if is_dash(self.rest(node)) => self.block_item(node, n),
            _ => None,
        }
    }

    fn block_item(&self, node: usize, n: usize) -> Option<usize> {
        let first = self.line_of(node);
        let c = self.col(node);
        let mut seen = 0;
        for i in first..self.lines.len() {
            let (start, text) = self.line(i)?;
            if i != first {
                if is_blank(text) {
                    continue;
                }
                let ind = indent(text);
                if ind < c {
                    return None;
                }
                if ind > c {
                    continue;
                }
                if !is_dash(text.get(ind..).unwrap_or("")) {
                    return None;
                }
            }
            if seen == n {
                let dash = start + c;
                let after = text.get(c + 1..).unwrap_or("");
                return if is_blank(after) {
                    self.block_child(i, c).or(Some(dash))
                } else {
                    Some(dash + 1 + indent(after))
                };
            }
            seen += 1;
        }
        None
    }

    /// Start offsets of the entries of the flow collection opening at
    /// `open` (`[` or `{`).
    fn flow_entries(&self, open: usize) -> Vec<usize> {
        let bytes = self.src.as_bytes();
        let mut entries = Vec::new();
        let mut depth = 0usize;
        let mut i = open;
        let mut expect_entry = false;
        while let Some(&b) = bytes.get(i) {
            if expect_entry && !matches!(b, b' ' | b'\t' | b'\r' | b'\n') {
                expect_entry = false;
                if !matches!(b, b']' | b'}' | b',') {
                    entries.push(i);
                }
            }
            match b {
                b'[' | b'{' => {
                    depth += 1;
                    if depth == 1 {
                        expect_entry = true;
                    }
                }
                b']' | b'}' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        break;
                    }
                }
                b',' if depth == 1 => expect_entry = true,
                b'"' => i = skip_double_quoted(bytes, i),
                b'\'' => i = skip_single_quoted(bytes, i),
                b'#' if i > 0 && matches!(bytes.get(i - 1), Some(b' ' | b'\t')) => {
                    while bytes.get(i + 1).is_some_and(|&c| c != b'\n') {
                        i += 1;
                    }
                }
                _ => {}
            }
            i += 1;
        }
        entries
    }
}

fn indent(text: &str) -> usize {
    text.len() - text.trim_start_matches(' ').len()
}

fn is_blank(text: &str) -> bool {
    let t = text.trim();
    t.is_empty() || t.starts_with('#')
}

/// Whether `text` starts with a block sequence indicator (`-` then a space
/// or the end of the line).
fn is_dash(text: &str) -> bool {
    let mut it = text.bytes();
    it.next() == Some(b'-') && matches!(it.next(), None | Some(b' ' | b'\t' | b'\r' | b'\n'))
}

/// Skips spaces, tabs and line breaks.
fn skip_ws(src: &str, mut off: usize) -> usize {
    while matches!(src.as_bytes().get(off), Some(b' ' | b'\t' | b'\r' | b'\n')) {
        off += 1;
    }
    off
}

/// Returns the offset of the closing quote of a double-quoted scalar.
fn skip_double_quoted(bytes: &[u8], open: usize) -> usize {
    let mut i = open + 1;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'\\' => i += 2,
            b'"' => return i,
            _ => i += 1,
        }
    }
    bytes.len()
}

/// Returns the offset of the closing quote of a single-quoted scalar
/// (`''` is an escaped quote).
fn skip_single_quoted(bytes: &[u8], open: usize) -> usize {
    let mut i = open + 1;
    while let Some(&b) = bytes.get(i) {
        if b == b'\'' {
            if bytes.get(i + 1) == Some(&b'\'') {
                i += 2;
                continue;
            }
            return i;
        }
        i += 1;
    }
    bytes.len()
}

/// Parses a mapping key at the start of `text`: returns the key (without
/// quotes) and the offset just after its `:`. In flow context a plain key
/// also ends at `,`, `}` or `]`, which means the entry has no key.
fn parse_key(text: &str, flow: bool) -> Option<(&str, usize)> {
    let bytes = text.as_bytes();
    let (key, mut i) = match bytes.first()? {
        b'"' => {
            let end = skip_double_quoted(bytes, 0);
            (text.get(1..end)?, end + 1)
        }
        b'\'' => {
            let end = skip_single_quoted(bytes, 0);
            (text.get(1..end)?, end + 1)
        }
        _ => {
            let mut i = 0;
            loop {
                match bytes.get(i) {
                    None | Some(b'\n') | Some(b'#') => return None,
                    Some(b',' | b'}' | b']') if flow => return None,
                    Some(b':') => {
                        if matches!(bytes.get(i + 1), None | Some(b' ' | b'\t' | b'\r' | b'\n'))
                            || (flow && matches!(bytes.get(i + 1), Some(b',' | b'}')))
                        {
                            break;
                        }
                        i += 1;
                    }
                    Some(_) => i += 1,
                }
            }
            (text.get(..i)?.trim_end(), i)
        }
    };
    while matches!(bytes.get(i), Some(b' ' | b'\t')) {
        i += 1;
    }
    (bytes.get(i) == Some(&b':')).then_some((key, i + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(src: &str, path: &str) -> Option<(usize, usize)> {
        locate(src, path).map(|l| (l.line, l.column))
    }

    const BLOCK: &str = "\
# comment
data_dir: ./data
sip:
  listen:
    - udp:0.0.0.0:5060
    - \"tcp:0.0.0.0:5060\"
  domain: pbx.local   # trailing comment

  registrar:
    min_expires: 60
media:
  rtp_ports: \"10001-20000\"
extensions:
  - number: \"1001\"
    name: Alice
    secret: s3cret-1001
  -
    number: \"1002\"
    name: Bob
";

    #[test]
    fn finds_block_keys_and_items() {
        assert_eq!(at(BLOCK, "data_dir"), Some((2, 11)));
        assert_eq!(at(BLOCK, "sip"), Some((3, 1)));
        assert_eq!(at(BLOCK, "sip.listen"), Some((4, 3)));
        assert_eq!(at(BLOCK, "sip.listen[0]"), Some((5, 7)));
        assert_eq!(at(BLOCK, "sip.listen[1]"), Some((6, 7)));
        assert_eq!(at(BLOCK, "sip.domain"), Some((7, 11)));
        assert_eq!(at(BLOCK, "sip.registrar.min_expires"), Some((10, 18)));
        assert_eq!(at(BLOCK, "media.rtp_ports"), Some((12, 14)));
        assert_eq!(at(BLOCK, "extensions[0]"), Some((14, 5)));
        assert_eq!(at(BLOCK, "extensions[0].number"), Some((14, 13)));
        assert_eq!(at(BLOCK, "extensions[0].secret"), Some((16, 13)));
        assert_eq!(at(BLOCK, "extensions[1].number"), Some((18, 13)));
        assert_eq!(at(BLOCK, "extensions[1].name"), Some((19, 11)));
    }

    #[test]
    fn partial_paths_give_the_deepest_match() {
        // `sip.registrar` exists but `max_expires` is not written.
        assert_eq!(at(BLOCK, "sip.registrar.max_expires"), Some((9, 3)));
        assert_eq!(at(BLOCK, "sip.listen[5]"), Some((4, 3)));
        assert_eq!(at(BLOCK, "api.listen"), None);
        assert_eq!(at(BLOCK, "."), None);
        assert_eq!(at("", "sip"), None);
    }

    #[test]
    fn finds_flow_collections() {
        let src = "sip:\n  listen: [\"udp:0.0.0.0:5060\", 'tcp:[::]:5060']\nextensions:\n  - { number: \"1001\", name: Alice, secret: x }\n  - {number: '1002',\n     name: Bob}\nmedia: {cores: [1, 2], address: 0.0.0.0}\n";
        assert_eq!(at(src, "sip.listen"), Some((2, 11)));
        assert_eq!(at(src, "sip.listen[0]"), Some((2, 12)));
        assert_eq!(at(src, "sip.listen[1]"), Some((2, 32)));
        assert_eq!(at(src, "extensions[0].name"), Some((4, 29)));
        assert_eq!(at(src, "extensions[0].secret"), Some((4, 44)));
        assert_eq!(at(src, "extensions[1].number"), Some((5, 14)));
        assert_eq!(at(src, "extensions[1].name"), Some((6, 12)));
        assert_eq!(at(src, "media.cores[1]"), Some((7, 20)));
        assert_eq!(at(src, "media.address"), Some((7, 33)));
    }

    #[test]
    fn sequences_at_the_key_indentation() {
        let src = "sip:\n  listen:\n  - udp:0.0.0.0:5060\n  - tcp:0.0.0.0:5060\n  domain: x\ncors:\n- a\n";
        assert_eq!(at(src, "sip.listen[1]"), Some((4, 5)));
        assert_eq!(at(src, "sip.domain"), Some((5, 11)));
        assert_eq!(at(src, "cors[0]"), Some((7, 3)));
    }

    #[test]
    fn quoted_keys_documents_and_crlf() {
        let src = "---\r\n\"sip\":\r\n  'domain': \"x y\"\r\n";
        assert_eq!(at(src, "sip.domain"), Some((3, 13)));
    }

    #[test]
    fn never_panics_on_odd_text() {
        let odd = [
            "",
            "-",
            "- ",
            "[",
            "{",
            "{a",
            "\"",
            "'",
            "a:",
            ":",
            "a: [",
            "a: {b: [",
            "a: \"\\",
            "\u{feff}é: ü\n  ö:",
            "- - -\n",
            "a:\n\tb: 1",
            "a: &x\n  b: 1",
            "? a\n: b",
        ];
        for src in odd {
            for path in ["a", "a.b", "a[0]", "a[0].b", "é", "x[99]", "a.b[0][1]"] {
                let _ = locate(src, path);
            }
        }
    }

    /// Random texts built from YAML-significant pieces, walked with random
    /// paths: the walk must never panic (it runs on user files).
    #[test]
    fn random_texts_never_panic() {
        const PIECES: [&str; 24] = [
            "a", "b", ":", ": ", "- ", "-", "\n", "\r\n", "  ", "    ", "[", "]", "{", "}", ",",
            "\"", "'", "\\", "#", "é", "ü:", "&x ", "*x", "\t",
        ];
        const PATHS: [&str; 8] = ["a", "b", "a.b", "a[0]", "a[1].b", "b[2][0]", "a.b.a", "ü"];
        let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n as u64) as usize
        };
        for _ in 0..20_000 {
            let len = next(40);
            let text: String = (0..len).map(|_| PIECES[next(PIECES.len())]).collect();
            let path = PATHS[next(PATHS.len())];
            if let Some(loc) = locate(&text, path) {
                assert!(
                    loc.line >= 1 && loc.line <= text.lines().count().max(1),
                    "{text:?} {path} {loc:?}"
                );
                assert!(loc.column >= 1);
            }
        }
    }

    #[test]
    fn path_parsing() {
        assert_eq!(
            parse_path("a.b[1][2].c"),
            Some(vec![
                Seg::Key("a"),
                Seg::Key("b"),
                Seg::Index(1),
                Seg::Index(2),
                Seg::Key("c")
            ])
        );
        assert_eq!(parse_path("."), None);
        assert_eq!(parse_path("a..b"), None);
        assert_eq!(parse_path("a[x]"), None);
        assert_eq!(parse_path("a[1]b"), None);
    }
}
