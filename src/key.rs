//! How a key made of several parts is stored as one byte string, and the names of its parts.
//!
//! A single-part key is stored as its own bytes, so the common case copies nothing. A composite
//! key stores every part but the last behind a LEB128 length prefix, then the last part as is:
//! any byte may appear in any part (logs are not always text), and decoding never guesses.

/// The columns of a key, in order: the `--tag` columns, whose values are the same on every
/// row, then the parts extracted from each line. They are the key columns of every sink.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeySchema {
    /// Every column's name: the tags' first.
    names: Vec<String>,
    /// The tags' values, one per tag.
    tags: Vec<Vec<u8>>,
}

/// The name of the key part `--bucket` puts first.
pub const BUCKET_NAME: &str = "bucket";

/// Names no key part may take, because the sinks use them for their own columns.
pub const RESERVED_NAMES: &[&str] = &[
    "count",
    "first_seen",
    "last_seen",
    "window_start",
    "window_end",
    BUCKET_NAME,
];

impl KeySchema {
    /// A schema with the given part names; callers have validated them.
    pub fn new(names: Vec<String>) -> KeySchema {
        KeySchema {
            names,
            tags: Vec::new(),
        }
    }

    /// This schema with the `bucket` part first (`--bucket`).
    pub fn with_bucket(mut self) -> KeySchema {
        self.names.insert(self.tags.len(), BUCKET_NAME.to_string());
        self
    }

    /// The schema of a single-part key, whose column is `key`.
    pub fn single() -> KeySchema {
        KeySchema::new(vec!["key".to_string()])
    }

    /// The schema of `n` unnamed parts: `key` for one, `key1`, `key2`, ... for more.
    pub fn numbered(n: usize) -> KeySchema {
        if n == 1 {
            return KeySchema::single();
        }
        KeySchema::new((1..=n).map(|i| format!("key{i}")).collect())
    }

    /// This schema with constant columns in front; callers have validated the names.
    pub fn with_tags(mut self, tags: Vec<(String, Vec<u8>)>) -> KeySchema {
        let (names, values): (Vec<String>, Vec<Vec<u8>>) = tags.into_iter().unzip();
        self.names.splice(0..0, names);
        self.tags = values;
        self
    }

    /// Every key column's name, tags first.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The names of the parts extracted from each line.
    pub fn part_names(&self) -> &[String] {
        &self.names[self.tags.len()..]
    }

    /// Number of parts an encoded key holds (tags are not in it).
    pub fn parts(&self) -> usize {
        self.names.len() - self.tags.len()
    }

    /// Number of key columns, tags included.
    pub fn columns(&self) -> usize {
        self.names.len()
    }

    /// Every key column's value for an encoded key: the tags, then its parts.
    pub fn decode<'a>(&'a self, key: &'a [u8]) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.tags.iter().map(Vec::as_slice).chain(self.parts_of(key))
    }

    /// Splits an encoded key into its parts (no tags).
    pub fn parts_of<'k>(&self, key: &'k [u8]) -> Parts<'k> {
        parts_of(key, self.parts())
    }
}

/// Appends one part of a composite key to `out`. `last` marks the final part, which is stored
/// without a length prefix.
pub fn encode_part(out: &mut Vec<u8>, part: &[u8], last: bool) {
    if !last {
        let mut n = part.len();
        loop {
            let byte = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                out.push(byte);
                break;
            }
            out.push(byte | 0x80);
        }
    }
    out.extend_from_slice(part);
}

/// Orders two encoded keys of `parts` parts part by part, each in byte order: the order of
/// `ORDER BY key1, key2` (for one part, plain byte order).
pub fn compare(a: &[u8], b: &[u8], parts: usize) -> std::cmp::Ordering {
    if parts == 1 {
        return a.cmp(b);
    }
    let decode = |key| Parts {
        rest: key,
        left: parts,
    };
    decode(a).cmp(decode(b))
}

/// The first part of an encoded key of `parts` parts.
pub fn first_part(key: &[u8], parts: usize) -> &[u8] {
    parts_of(key, parts).next().unwrap_or_default()
}

/// The parts of an encoded key of `parts` parts (no tags).
pub fn parts_of(key: &[u8], parts: usize) -> Parts<'_> {
    Parts {
        rest: key,
        left: parts,
    }
}

/// The parts of an encoded key, in order.
pub struct Parts<'k> {
    rest: &'k [u8],
    left: usize,
}

impl<'k> Iterator for Parts<'k> {
    type Item = &'k [u8];

    fn next(&mut self) -> Option<&'k [u8]> {
        match self.left {
            0 => None,
            1 => {
                self.left = 0;
                Some(std::mem::take(&mut self.rest))
            }
            _ => {
                self.left -= 1;
                let mut len = 0usize;
                let mut shift = 0;
                let mut used = 0;
                for &byte in self.rest {
                    used += 1;
                    len |= usize::from(byte & 0x7f) << shift;
                    shift += 7;
                    if byte & 0x80 == 0 || shift >= usize::BITS {
                        break;
                    }
                }
                // Keys are only ever built by `encode_part`, so the length fits; clamping keeps
                // a corrupt key from panicking all the same.
                let body = &self.rest[used..];
                let len = len.min(body.len());
                let (part, rest) = body.split_at(len);
                self.rest = rest;
                Some(part)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(parts: &[&[u8]]) {
        let mut key = Vec::new();
        for (i, part) in parts.iter().enumerate() {
            encode_part(&mut key, part, i + 1 == parts.len());
        }
        let schema = KeySchema::numbered(parts.len());
        let decoded: Vec<&[u8]> = schema.decode(&key).collect();
        assert_eq!(decoded, parts);
    }

    #[test]
    fn single_part_is_stored_as_is() {
        let mut key = Vec::new();
        encode_part(&mut key, b"/index.html", true);
        assert_eq!(key, b"/index.html");
        roundtrip(&[b"/index.html"]);
    }

    #[test]
    fn composite_parts_survive_any_bytes() {
        roundtrip(&[b"200", b"/a b"]);
        roundtrip(&[b"", b"", b""]);
        roundtrip(&[b"\x00\xff\x80", b"\n", b"x"]);
        let long = vec![b'z'; 300];
        roundtrip(&[&long, b"tail", &long]);
    }

    #[test]
    fn composite_keys_order_part_by_part() {
        let encode = |parts: &[&[u8]]| {
            let mut key = Vec::new();
            for (i, part) in parts.iter().enumerate() {
                encode_part(&mut key, part, i + 1 == parts.len());
            }
            key
        };
        let (head, put) = (encode(&[b"HEAD", b"/a"]), encode(&[b"PUT", b"/a"]));
        assert_eq!(compare(&head, &put, 2), std::cmp::Ordering::Less);
        let (short, long) = (encode(&[b"GE", b"z"]), encode(&[b"GET", b"a"]));
        assert_eq!(compare(&short, &long, 2), std::cmp::Ordering::Less);
        assert_eq!(compare(b"b", b"a", 1), std::cmp::Ordering::Greater);
        assert_eq!(first_part(&head, 2), b"HEAD");
        assert_eq!(first_part(b"/a", 1), b"/a");
    }

    #[test]
    fn numbered_names() {
        assert_eq!(KeySchema::numbered(1).names(), ["key"]);
        assert_eq!(KeySchema::numbered(2).names(), ["key1", "key2"]);
    }

    #[test]
    fn tags_come_first() {
        let schema = KeySchema::numbered(2).with_tags(vec![("host".into(), b"web1".to_vec())]);
        assert_eq!(schema.names(), ["host", "key1", "key2"]);
        assert_eq!(schema.part_names(), ["key1", "key2"]);
        assert_eq!((schema.parts(), schema.columns()), (2, 3));
        let mut key = Vec::new();
        encode_part(&mut key, b"200", false);
        encode_part(&mut key, b"/a", true);
        let columns: Vec<&[u8]> = schema.decode(&key).collect();
        assert_eq!(columns, [&b"web1"[..], b"200", b"/a"]);
    }
}
