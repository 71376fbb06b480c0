//! A shortcut for the commonest key regexes: those whose groups end the regex, each a run of
//! one class, separated by literals and preceded by something the first class cannot match —
//! `"[A-Z]+ (\S+)`, `host=([^ ,]+)`, `"(?P<method>[A-Z]+) (?P<path>[^ ?"]+)`.
//!
//! For such a regex the groups are found by scanning back from the end of the match: the last
//! group is the longest run of its class that ends the match, the literal before it sits just
//! before that run, the group before the literal is the run of its class that ends there, and
//! so on. No capture engine runs, and no reverse search for the start of the match either: only
//! the end of the leftmost match is needed, which a forward DFA scan gives. The scan goes over
//! ASCII bytes only; a byte that is not ASCII sends the line to the full capture engine, so
//! Unicode classes keep their exact meaning.

use regex_automata::meta;
use regex_automata::{Input, util::syntax};
use regex_syntax::hir::{Class, Hir, HirKind};

/// How to find the groups of a regex of that shape.
#[derive(Clone, Debug)]
pub struct TailCapture {
    /// The same regex, searched only for the end of its leftmost match.
    forward: meta::Regex,
    /// The runs that end the regex, last first.
    runs: Vec<Run>,
    /// The runs (counted from the last) of the key's groups, in key order.
    key_runs: Vec<usize>,
    /// The run of the `value` group, if any.
    value_run: Option<usize>,
}

/// One group of the tail: a run of one class, and the literal just before it (empty for the
/// first group, which the scan checks against what precedes it instead).
#[derive(Clone, Debug)]
struct Run {
    group: usize,
    /// The ASCII bytes of the run's class.
    class: [bool; 128],
    literal_before: Vec<u8>,
}

/// What finding the groups of one line gave.
#[derive(Debug, PartialEq, Eq)]
pub enum Found {
    /// The groups' spans are in the buffer given to `find`.
    Spans,
    NoMatch,
    /// A group holds a byte that is not ASCII: ask the capture engine.
    Unsure,
}

impl TailCapture {
    /// The shortcut for `pattern` when every group in `key_groups` and `value_group` is one of
    /// the runs that end it, and the shape fits.
    pub fn new(pattern: &str, key_groups: &[usize], value_group: Option<usize>) -> Option<TailCapture> {
        let hir = regex_syntax::ParserBuilder::new()
            .utf8(false)
            .build()
            .parse(pattern)
            .ok()?;
        let HirKind::Concat(parts) = hir.kind() else {
            return None;
        };
        let (runs, before) = tail_runs(parts)?;
        // What precedes the first group must be ASCII and outside its class, so that the first
        // byte before the run is where the group starts.
        let before_bytes = match before.kind() {
            HirKind::Literal(literal) => vec![*literal.0.last()?],
            HirKind::Class(c) if all_ascii(c) => {
                (0u8..128).filter(|&b| ascii_members(c)[usize::from(b)]).collect()
            }
            _ => return None,
        };
        let first = runs.last()?;
        if before_bytes
            .iter()
            .any(|&b| b >= 128 || first.class[usize::from(b)])
        {
            return None;
        }
        let run_of = |group: usize| runs.iter().position(|run| run.group == group);
        let key_runs = key_groups
            .iter()
            .map(|&g| run_of(g))
            .collect::<Option<Vec<usize>>>()?;
        let value_run = match value_group {
            Some(group) => Some(run_of(group)?),
            None => None,
        };
        let forward = meta::Regex::builder()
            .syntax(syntax::Config::new().utf8(false))
            .configure(meta::Config::new().utf8_empty(false))
            .build(pattern)
            .ok()?;
        Some(TailCapture {
            forward,
            runs,
            key_runs,
            value_run,
        })
    }

    /// The runs of the key's groups, in key order (indexes into the spans `find` fills).
    pub fn key_runs(&self) -> &[usize] {
        &self.key_runs
    }

    /// The run of the `value` group.
    pub fn value_run(&self) -> Option<usize> {
        self.value_run
    }

    /// Finds the groups of `line`, putting the span of run `i` (counted from the last) in
    /// `spans[i]`.
    pub fn find(&self, line: &[u8], spans: &mut Vec<(usize, usize)>) -> Found {
        let Some(half) = self.forward.search_half(&Input::new(line)) else {
            return Found::NoMatch;
        };
        spans.clear();
        let mut end = half.offset();
        for (i, run) in self.runs.iter().enumerate() {
            if i > 0 {
                // The literal after this run sits just before the previous run: the match holds it.
                end -= self.runs[i - 1].literal_before.len();
            }
            let mut start = end;
            while start > 0 {
                let b = line[start - 1];
                if b >= 128 {
                    return Found::Unsure;
                }
                if !run.class[usize::from(b)] {
                    break;
                }
                start -= 1;
            }
            spans.push((start, end));
            end = start;
        }
        Found::Spans
    }
}

/// The runs that end a concatenation (last first), each a capture of a greedy `+` or `{n,}`
/// repetition of a class, separated by ASCII literals whose last byte is outside the class of
/// the run after them; and what precedes the first run.
fn tail_runs(parts: &[Hir]) -> Option<(Vec<Run>, &Hir)> {
    let mut runs = Vec::new();
    let mut at = parts.len();
    loop {
        let capture = parts.get(at.checked_sub(1)?)?;
        let HirKind::Capture(capture) = capture.kind() else {
            return None;
        };
        let HirKind::Repetition(repetition) = capture.sub.kind() else {
            return None;
        };
        if repetition.min < 1 || repetition.max.is_some() || !repetition.greedy {
            return None;
        }
        let HirKind::Class(class) = repetition.sub.kind() else {
            return None;
        };
        let class = ascii_members(class);
        at -= 1;
        let before = parts.get(at.checked_sub(1)?)?;
        let literal = match before.kind() {
            HirKind::Literal(literal) => Some(&literal.0),
            _ => None,
        };
        let another_run = at >= 2 && matches!(parts[at - 2].kind(), HirKind::Capture(_));
        match literal {
            Some(bytes) if another_run => {
                let last = *bytes.last()?;
                if !bytes.is_ascii() || class[usize::from(last)] {
                    return None;
                }
                runs.push(Run {
                    group: capture.index as usize,
                    class,
                    literal_before: bytes.to_vec(),
                });
                at -= 1;
            }
            _ => {
                runs.push(Run {
                    group: capture.index as usize,
                    class,
                    literal_before: Vec::new(),
                });
                return Some((runs, before));
            }
        }
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
        TailCapture::new(pattern, &[key_group], None).is_some()
    }

    #[test]
    fn shapes_that_fit_and_that_do_not() {
        assert!(fits(r#""[A-Z]+ (\S+)"#, 1));
        assert!(fits(r#""[A-Z]+ ([^ ?"]+)"#, 1));
        assert!(fits(r"status: (\d+)", 1));
        assert!(fits(r#""([A-Z]+) ([^ ?"]+)"#, 1));
        assert!(TailCapture::new(r#""([A-Z]+) ([^ ?"]+)"#, &[1, 2], None).is_some());
        assert!(TailCapture::new(r"(\w+)=(\d+)", &[1], Some(2)).is_none());
        assert!(TailCapture::new(r" (\w+)=(\d+)", &[1], Some(2)).is_some());
        // The key can start inside what precedes it, or the shape is something else.
        assert!(!fits(r"a(\w+)", 1));
        assert!(!fits(r"(\S+) x", 1));
        assert!(!fits(r"x (\S*)", 1));
        assert!(!fits(r"x (\S+?)", 1));
        assert!(!fits(r"x (\S+)", 2));
        assert!(!fits(r"é(\S+)", 1));
        // A literal between two runs that the later run's class holds.
        assert!(TailCapture::new(r" (\w+)a(\w+)", &[1, 2], None).is_none());
        // Two runs with nothing between them.
        assert!(TailCapture::new(r" ([a-z]+)([0-9]+)", &[1, 2], None).is_none());
    }

    /// The shortcut must give what the capture engine gives, on every line.
    #[test]
    fn agrees_with_the_capture_engine() {
        let patterns = [
            r#""[A-Z]+ (\S+)"#,
            r#""[A-Z]+ ([^ ?"]+)"#,
            r"=(\d+)",
            r"[:;]([a-z]+)",
            r#""(?P<method>[A-Z]+) (?P<path>[^ ?"]+)"#,
            r" (\w+)=(\d+)",
            r"\[([a-z]+):([0-9]+)\] (\S+)",
        ];
        let lines: &[&[u8]] = &[
            b"1.2.3.4 - - [x] \"GET /a/b?c=d HTTP/1.1\" 200 5",
            b"\"GET /caf\xc3\xa9 HTTP/1.1\"",
            b"\"GET /\xff\xfe x",
            b"\"get /lower\" \"POST /x?y\"",
            b"n=12 m=345",
            b" abc=12 x=y",
            b"a:bc;de",
            b"\"GET ",
            b"",
            b"=",
            b"\"A \xc2\xa0x",
            b"\"\xc3\xa9GET /x",
            b"[ab:12] /x [cd:3] y",
            b"[ab:12]/x",
        ];
        let mut spans = Vec::new();
        for pattern in patterns {
            let regex = Regex::new(pattern).unwrap();
            let groups: Vec<usize> = (1..regex.captures_len()).collect();
            let tail = TailCapture::new(pattern, &groups, None).unwrap();
            for line in lines {
                let expected = regex.captures(line).map(|c| {
                    groups
                        .iter()
                        .map(|&g| c.get(g).unwrap().as_bytes())
                        .collect::<Vec<_>>()
                });
                match tail.find(line, &mut spans) {
                    Found::Spans => {
                        let got: Vec<&[u8]> = tail
                            .key_runs()
                            .iter()
                            .map(|&r| &line[spans[r].0..spans[r].1])
                            .collect();
                        assert_eq!(Some(got), expected, "{pattern} on {line:?}");
                    }
                    Found::NoMatch => assert_eq!(expected, None, "{pattern} on {line:?}"),
                    Found::Unsure => {}
                }
            }
        }
    }
}
