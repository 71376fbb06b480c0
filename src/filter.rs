//! `--match` and `--exclude`: which lines are counted at all, decided before the key is taken.
//!
//! A line is kept when it matches some `--match` pattern (or none is given) and no `--exclude`
//! pattern, like `grep -e A -e B | grep -v -e C`. A pattern that is a plain literal (`POST`,
//! `/api/`) is found with a substring search; only the others go to the regex engine, all of
//! one flag's regexes as one alternation so that a line is scanned once per flag.

use memchr::memmem;
use regex::bytes::Regex;
use regex_syntax::hir::HirKind;

/// The patterns of one flag: literals searched for directly, and the rest as one regex.
#[derive(Clone, Debug)]
struct Patterns {
    literals: Vec<memmem::Finder<'static>>,
    regex: Option<Regex>,
}

impl Patterns {
    fn new(flag: &str, patterns: &[String]) -> Result<Patterns, (String, String)> {
        let mut literals = Vec::new();
        let mut others = Vec::new();
        for pattern in patterns {
            // Checked one by one, so that an error names the pattern at fault.
            Regex::new(pattern).map_err(|e| (flag.to_string(), crate::config::regex_message(pattern, &e)))?;
            match literal_of(pattern) {
                Some(bytes) => literals.push(memmem::Finder::new(&bytes).into_owned()),
                None => others.push(format!("(?:{pattern})")),
            }
        }
        let regex = match others.is_empty() {
            true => None,
            false => Some(Regex::new(&others.join("|")).map_err(|e| {
                (
                    flag.to_string(),
                    crate::config::regex_message(&others.join("|"), &e),
                )
            })?),
        };
        Ok(Patterns { literals, regex })
    }

    fn any_in(&self, line: &[u8]) -> bool {
        self.literals.iter().any(|finder| finder.find(line).is_some())
            || self.regex.as_ref().is_some_and(|regex| regex.is_match(line))
    }

    fn is_empty(&self) -> bool {
        self.literals.is_empty() && self.regex.is_none()
    }
}

/// The bytes a pattern stands for, when it matches exactly those bytes and nothing else.
fn literal_of(pattern: &str) -> Option<Vec<u8>> {
    let hir = regex_syntax::ParserBuilder::new()
        .utf8(false)
        .build()
        .parse(pattern)
        .ok()?;
    match hir.kind() {
        HirKind::Literal(literal) if !literal.0.is_empty() => Some(literal.0.to_vec()),
        _ => None,
    }
}

/// Why a filter dropped a line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dropped {
    /// No `--match` pattern matches it.
    NoMatch,
    /// An `--exclude` pattern matches it.
    Excluded,
}

/// The lines `--match` and `--exclude` let through.
#[derive(Clone, Debug)]
pub struct LineFilter {
    matches: Patterns,
    excludes: Patterns,
}

impl LineFilter {
    /// The filter of the flags' patterns, `None` when there are none; an error names the flag
    /// and the pattern that is not a valid regex.
    pub fn new(matches: &[String], excludes: &[String]) -> Result<Option<LineFilter>, (String, String)> {
        let filter = LineFilter {
            matches: Patterns::new("--match", matches)?,
            excludes: Patterns::new("--exclude", excludes)?,
        };
        Ok((!filter.matches.is_empty() || !filter.excludes.is_empty()).then_some(filter))
    }

    /// Whether `line` is counted.
    #[inline]
    pub fn keeps(&self, line: &[u8]) -> bool {
        self.check(line).is_none()
    }

    /// Why `line` is not counted, or `None` when it is.
    #[inline]
    pub fn check(&self, line: &[u8]) -> Option<Dropped> {
        if !self.matches.is_empty() && !self.matches.any_in(line) {
            Some(Dropped::NoMatch)
        } else if self.excludes.any_in(line) {
            Some(Dropped::Excluded)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(matches: &[&str], excludes: &[&str]) -> LineFilter {
        let own = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        LineFilter::new(&own(matches), &own(excludes)).unwrap().unwrap()
    }

    #[test]
    fn literals_are_found_without_the_regex_engine() {
        assert_eq!(literal_of("POST"), Some(b"POST".to_vec()));
        assert_eq!(literal_of(r"/api/v1\.0"), Some(b"/api/v1.0".to_vec()));
        assert_eq!(literal_of("é"), Some("é".as_bytes().to_vec()));
        assert_eq!(literal_of("a.b"), None);
        assert_eq!(literal_of("(?i)post"), None);
        assert_eq!(literal_of("GET|POST"), None);
        assert_eq!(literal_of(""), None);
        let f = filter(&["POST", "PUT"], &[]);
        assert!(f.matches.regex.is_none());
        assert!(f.keeps(b"x PUT y") && f.keeps(b"POST") && !f.keeps(b"GET"));
    }

    #[test]
    fn match_any_and_exclude_all_like_grep() {
        let f = filter(&["GET", r"^\d+ "], &["/health", r"\.png$"]);
        assert!(f.keeps(b"GET /a"));
        assert!(f.keeps(b"200 /b"));
        assert!(!f.keeps(b"POST /a"));
        assert!(!f.keeps(b"GET /health"));
        assert!(!f.keeps(b"GET /logo.png"));
        let only_exclude = filter(&[], &["DEBUG"]);
        assert!(only_exclude.keeps(b"INFO x") && !only_exclude.keeps(b"DEBUG x"));
        assert!(only_exclude.keeps(b""));
    }

    #[test]
    fn an_empty_pattern_matches_every_line() {
        assert!(filter(&[""], &[]).keeps(b"anything"));
        assert!(!filter(&[], &[""]).keeps(b""));
        assert_eq!(filter(&["a"], &["b"]).check(b"b"), Some(Dropped::NoMatch));
        assert_eq!(filter(&["a"], &["b"]).check(b"ab"), Some(Dropped::Excluded));
    }

    #[test]
    fn bad_patterns_name_their_flag() {
        let err = LineFilter::new(&[], &["(".to_string()]).unwrap_err();
        assert_eq!(err.0, "--exclude");
        assert!(err.1.contains("'('"), "{}", err.1);
        assert!(LineFilter::new(&[], &[]).unwrap().is_none());
    }
}
