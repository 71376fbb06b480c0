//! A shortcut for the commonest key regexes: those whose key is their last part, a run of one
//! class, right after something that class cannot match — `"[A-Z]+ (\S+)`, `host=([^ ,]+)`,
//! `status: (\d+)`.
//!
//! For such a regex the key is the longest run of the class that ends the match, so it is found
//! by scanning back from the end of the match: no capture engine runs, and no reverse search
//! for the start of the match either. Only the end of the leftmost match is needed, which a
//! forward DFA scan gives. The scan goes over ASCII bytes only; a byte that is not ASCII sends
//! the line to the full capture engine, so Unicode classes keep their exact meaning.

use regex_automata::meta;
use regex_automata::{Input, util::syntax};
use regex_syntax::hir::{Class, HirKind};

/// How to find the key of a regex of that shape.
#[derive(Clone, Debug)]
pub struct TailCapture {
    /// The same regex, searched only for the end of its leftmost match.
    forward: meta::Regex,
    /// The ASCII bytes of the key's class.
    class: [bool; 128],
}

/// What finding the key of one line gave.
#[derive(Debug, PartialEq, Eq)]
pub enum Found<'a> {
    Key(&'a [u8]),
    NoMatch,
    /// The key holds a byte that is not ASCII: ask the capture engine.
    Unsure,
}

impl TailCapture {
    /// The shortcut for `pattern` when the key is group `key_group` and the shape fits.
    pub fn new(pattern: &str, key_group: usize) -> Option<TailCapture> {
        let hir = regex_syntax::ParserBuilder::new()
            .utf8(false)
            .build()
            .parse(pattern)
            .ok()?;
        let HirKind::Concat(parts) = hir.kind() else {
            return None;
        };
        let [.., before, last] = &parts[..] else {
            return None;
        };
        let HirKind::Capture(capture) = last.kind() else {
            return None;
        };
        if capture.index as usize != key_group {
            return None;
        }
        let HirKind::Repetition(run) = capture.sub.kind() else {
            return None;
        };
        if run.min < 1 || run.max.is_some() || !run.greedy {
            return None;
        }
        let HirKind::Class(key_class) = run.sub.kind() else {
            return None;
        };
        let class = ascii_members(key_class);
        // What precedes the key must be ASCII and outside the key's class, so that the first
        // byte before the run is where the key starts.
        let before_bytes = match before.kind() {
            HirKind::Literal(literal) => vec![*literal.0.last()?],
            HirKind::Class(c) if all_ascii(c) => {
                (0u8..128).filter(|&b| ascii_members(c)[usize::from(b)]).collect()
            }
            _ => return None,
        };
        if before_bytes.iter().any(|&b| b >= 128 || class[usize::from(b)]) {
            return None;
        }
        let forward = meta::Regex::builder()
            .syntax(syntax::Config::new().utf8(false))
            .configure(meta::Config::new().utf8_empty(false))
            .build(pattern)
            .ok()?;
        Some(TailCapture { forward, class })
    }

    pub fn find<'a>(&self, line: &'a [u8]) -> Found<'a> {
        let Some(half) = self.forward.search_half(&Input::new(line)) else {
            return Found::NoMatch;
        };
        let end = half.offset();
        let mut start = end;
        while start > 0 {
            let b = line[start - 1];
            if b >= 128 {
                return Found::Unsure;
            }
            if !self.class[usize::from(b)] {
                break;
            }
            start -= 1;
        }
        Found::Key(&line[start..end])
    }
}

/// Which ASCII characters a class holds.
fn ascii_members(class: &Class) -> [bool; 128] {
    let mut members = [false; 128];
    match class {
        Class::Unicode(c) => {
            for range in c.iter() {
                for cp in u32::from(range.start())..=u32::from(range.end()).min(127) {
                    members[cp as usize] = true;
                }
            }
        }
        Class::Bytes(c) => {
            for range in c.iter() {
                for b in range.start()..=range.end().min(127) {
                    members[usize::from(b)] = true;
                }
            }
        }
    }
    members
}

fn all_ascii(class: &Class) -> bool {
    match class {
        Class::Unicode(c) => c.iter().all(|r| u32::from(r.end()) < 128),
        Class::Bytes(c) => c.iter().all(|r| r.end() < 128),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use regex::bytes::Regex;

    fn fits(pattern: &str, key_group: usize) -> bool {
        TailCapture::new(pattern, key_group).is_some()
    }

    #[test]
    fn shapes_that_fit_and_that_do_not() {
        assert!(fits(r#""[A-Z]+ (\S+)"#, 1));
        assert!(fits(r#""[A-Z]+ ([^ ?"]+)"#, 1));
        assert!(fits(r"status: (\d+)", 1));
        // The key can start inside what precedes it, or the shape is something else.
        assert!(!fits(r"a(\w+)", 1));
        assert!(!fits(r"(\S+) x", 1));
        assert!(!fits(r"x (\S*)", 1));
        assert!(!fits(r"x (\S+?)", 1));
        assert!(!fits(r"x (\S+)", 2));
        assert!(!fits(r"é(\S+)", 1));
    }

    /// The shortcut must give what the capture engine gives, on every line.
    #[test]
    fn agrees_with_the_capture_engine() {
        let patterns = [
            r#""[A-Z]+ (\S+)"#,
            r#""[A-Z]+ ([^ ?"]+)"#,
            r"=(\d+)",
            r"[:;]([a-z]+)",
        ];
        let lines: &[&[u8]] = &[
            b"1.2.3.4 - - [x] \"GET /a/b?c=d HTTP/1.1\" 200 5",
            b"\"GET /caf\xc3\xa9 HTTP/1.1\"",
            b"\"GET /\xff\xfe x",
            b"\"get /lower\" \"POST /x?y\"",
            b"n=12 m=345",
            b"a:bc;de",
            b"\"GET ",
            b"",
            b"=",
            b"\"A \xc2\xa0x",
        ];
        for pattern in patterns {
            let tail = TailCapture::new(pattern, 1).unwrap();
            let regex = Regex::new(pattern).unwrap();
            for line in lines {
                let expected = regex.captures(line).map(|c| c.get(1).unwrap().as_bytes());
                match tail.find(line) {
                    Found::Key(key) => assert_eq!(Some(key), expected, "{pattern} on {line:?}"),
                    Found::NoMatch => assert_eq!(expected, None, "{pattern} on {line:?}"),
                    Found::Unsure => {}
                }
            }
        }
    }
}
