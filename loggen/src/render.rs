//! Writing one drawn request as a line of the chosen format: combined, JSON or logfmt.
//!
//! Nothing here draws from the main random stream: the requests are drawn before they reach
//! this module, so every format describes the same ones. The request time, which only JSON
//! and logfmt carry, comes from a stream of its own.

use super::{
    Clients, Clock, Format, LogSpec, Request, Rng, Targets, TimeFormat, body_size, push_decimal, push_str,
};

/// Seed of the request-time stream, mixed with the spec's seed.
const REQUEST_TIME_SEED: u64 = 0x7265_7175_6573_7473;

/// Writes requests as lines of one format.
pub(super) struct LineWriter<'a> {
    format: Format,
    time: TimeFormat,
    targets: &'a Targets,
    clients: &'a Clients,
    /// Draws the request times of JSON and logfmt lines.
    timing: Rng,
    /// Room to build a value in before it is written.
    scratch: Vec<u8>,
}

impl<'a> LineWriter<'a> {
    pub(super) fn new(spec: &LogSpec, targets: &'a Targets, clients: &'a Clients) -> LineWriter<'a> {
        LineWriter {
            format: spec.format,
            time: spec.time_format(),
            targets,
            clients,
            timing: Rng::new(spec.seed ^ REQUEST_TIME_SEED),
            scratch: Vec::new(),
        }
    }

    /// Appends the line of `request` at the clock's time, newline included, to `out`.
    pub(super) fn write(&mut self, request: &Request, clock: &Clock, out: &mut Vec<u8>) {
        match self.format {
            Format::Combined => self.combined(request, clock, out),
            Format::Json => self.json(request, clock, out),
            Format::Logfmt => self.logfmt(request, clock, out),
        }
    }

    fn time<'c>(&self, clock: &'c Clock) -> &'c [u8] {
        match self.time {
            TimeFormat::Clf => &clock.text,
            TimeFormat::Rfc3339 => &clock.rfc3339,
        }
    }

    fn combined(&self, request: &Request, clock: &Clock, out: &mut Vec<u8>) {
        let prefix = self.clients.prefix(request.client);
        match self.time {
            TimeFormat::Clf => {
                out.extend_from_slice(prefix);
                out.extend_from_slice(&clock.text);
                out.extend_from_slice(b"] \"");
            }
            TimeFormat::Rfc3339 => {
                // The prefix ends with the opening bracket, which this time goes without.
                out.extend_from_slice(&prefix[..prefix.len() - 1]);
                out.extend_from_slice(&clock.rfc3339);
                out.extend_from_slice(b" \"");
            }
        }
        push_str(out, request.method);
        out.push(b' ');
        out.extend_from_slice(self.targets.text(request.target));
        out.push(b' ');
        push_str(out, request.protocol);
        out.extend_from_slice(b"\" ");
        push_str(out, request.status.code);
        out.push(b' ');
        match body_size(request, self.targets) {
            Some(size) => push_decimal(out, size),
            None => out.push(b'-'),
        }
        out.extend_from_slice(b" \"");
        request.referer.push(self.targets, b"-", out);
        out.extend_from_slice(b"\" \"");
        push_str(out, self.clients.plain_agent(request.client));
        out.extend_from_slice(b"\"\n");
    }

    // Addresses, user names, targets and referers are ASCII without `"`, `\` or control
    // characters (see the crate documentation), so they go into JSON strings as they are; only
    // the user agent can need escapes.
    fn json(&mut self, request: &Request, clock: &Clock, out: &mut Vec<u8>) {
        let user = match self.clients.user(request.client) {
            b"-" => &b""[..],
            user => user,
        };
        out.extend_from_slice(b"{\"time\":\"");
        out.extend_from_slice(self.time(clock));
        out.extend_from_slice(b"\",\"remote_addr\":\"");
        out.extend_from_slice(self.clients.address(request.client));
        out.extend_from_slice(b"\",\"remote_user\":\"");
        out.extend_from_slice(user);
        out.extend_from_slice(b"\",\"request\":{\"method\":\"");
        push_str(out, request.method);
        out.extend_from_slice(b"\",\"uri\":\"");
        out.extend_from_slice(self.targets.text(request.target));
        out.extend_from_slice(b"\",\"protocol\":\"");
        push_str(out, request.protocol);
        out.extend_from_slice(b"\"},\"status\":");
        push_str(out, request.status.code);
        out.extend_from_slice(b",\"body_bytes_sent\":");
        push_decimal(out, body_size(request, self.targets).unwrap_or(0));
        out.extend_from_slice(b",\"request_time\":");
        push_seconds(out, self.request_millis());
        out.extend_from_slice(b",\"http_referer\":\"");
        request.referer.push(self.targets, b"", out);
        out.extend_from_slice(b"\",\"http_user_agent\":\"");
        match self.clients.agent(request.client) {
            "-" => {}
            agent => push_json_text(out, agent),
        }
        out.extend_from_slice(b"\"}\n");
    }

    fn logfmt(&mut self, request: &Request, clock: &Clock, out: &mut Vec<u8>) {
        out.extend_from_slice(b"time=");
        push_logfmt_value(out, self.time(clock));
        out.extend_from_slice(b" ip=");
        out.extend_from_slice(self.clients.address(request.client));
        out.extend_from_slice(b" method=");
        push_str(out, request.method);
        out.extend_from_slice(b" path=");
        push_logfmt_value(out, self.targets.text(request.target));
        out.extend_from_slice(b" proto=");
        push_str(out, request.protocol);
        out.extend_from_slice(b" status=");
        push_str(out, request.status.code);
        out.extend_from_slice(b" bytes=");
        push_decimal(out, body_size(request, self.targets).unwrap_or(0));
        out.extend_from_slice(b" duration=");
        push_seconds(out, self.request_millis());
        out.extend_from_slice(b" referer=");
        // A page of the site can have a query, whose `=` makes the referer quoted.
        self.scratch.clear();
        request.referer.push(self.targets, b"", &mut self.scratch);
        push_logfmt_value(out, &self.scratch);
        out.extend_from_slice(b" ua=");
        match self.clients.agent(request.client) {
            "-" => {}
            agent => push_logfmt_value(out, agent.as_bytes()),
        }
        out.push(b'\n');
    }

    /// How long the request took, in milliseconds: mostly a few, sometimes hundreds, rarely
    /// seconds.
    fn request_millis(&mut self) -> u64 {
        match self.timing.below(1000) {
            0..940 => 1 + self.timing.below(60),
            940..995 => 60 + self.timing.below(940),
            _ => 1000 + self.timing.below(9000),
        }
    }
}

/// Appends `millis` as seconds with three decimals (`0.004`, `12.345`).
fn push_seconds(out: &mut Vec<u8>, millis: u64) {
    push_decimal(out, millis / 1000);
    out.push(b'.');
    let frac = millis % 1000;
    out.extend_from_slice(&[
        b'0' + (frac / 100) as u8,
        b'0' + (frac / 10 % 10) as u8,
        b'0' + (frac % 10) as u8,
    ]);
}

/// Appends `text` as the inside of a JSON string: `"` and `\` escaped, control characters and
/// every character beyond ASCII as `\uXXXX` (two of them, a surrogate pair, beyond U+FFFF),
/// so that the output stays ASCII.
fn push_json_text(out: &mut Vec<u8>, text: &str) {
    for ch in text.chars() {
        match ch {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            '\n' => out.extend_from_slice(b"\\n"),
            '\r' => out.extend_from_slice(b"\\r"),
            '\t' => out.extend_from_slice(b"\\t"),
            ' '..='~' => out.push(ch as u8),
            _ => {
                let mut units = [0u16; 2];
                for unit in ch.encode_utf16(&mut units) {
                    out.extend_from_slice(b"\\u");
                    for shift in [12, 8, 4, 0] {
                        out.push(super::HEX_DIGITS[usize::from((*unit >> shift) & 0xf)]);
                    }
                }
            }
        }
    }
}

/// Appends a logfmt value: as it is, or quoted when it holds a blank, a control character,
/// `=` or `"` (as Go's logfmt encoder decides), with `"` and `\` escaped inside the quotes.
/// An empty value is written as nothing.
fn push_logfmt_value(out: &mut Vec<u8>, value: &[u8]) {
    let quote = value
        .iter()
        .any(|&b| b <= b' ' || b == b'=' || b == b'"' || b == 0x7f);
    if !quote {
        out.extend_from_slice(value);
        return;
    }
    out.push(b'"');
    for &b in value {
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            _ => out.push(b),
        }
    }
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::write_access_log;

    fn generate(spec: &LogSpec) -> String {
        let mut out = Vec::new();
        write_access_log(spec, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    /// The sample in every format: a mix of targets, statuses, clients and escaped agents.
    fn spec(format: Format, time: Option<TimeFormat>) -> LogSpec {
        LogSpec {
            lines: 20_000,
            seed: 5,
            keys: 3000,
            format,
            time,
            ..LogSpec::default()
        }
    }

    /// A JSON value, parsed only as far as these tests need.
    #[derive(Debug, PartialEq)]
    enum Json {
        Str(String),
        /// A number, as written.
        Num(String),
        Obj(Vec<(String, Json)>),
    }

    impl Json {
        fn get(&self, name: &str) -> &Json {
            match self {
                Json::Obj(members) => members
                    .iter()
                    .find(|(key, _)| key == name)
                    .map(|(_, value)| value)
                    .unwrap_or_else(|| panic!("no member {name}")),
                other => panic!("{other:?} is not an object"),
            }
        }

        fn text(&self) -> &str {
            match self {
                Json::Str(text) | Json::Num(text) => text,
                Json::Obj(_) => panic!("an object has no text"),
            }
        }
    }

    /// Parses one line holding a JSON object of strings, numbers and objects, and nothing
    /// else: no blank anywhere outside strings, as the generator writes them.
    fn parse_json(line: &str) -> Json {
        let mut chars = line.chars().peekable();
        let value = json_value(&mut chars);
        assert_eq!(chars.next(), None, "trailing text in {line}");
        value
    }

    fn json_value(chars: &mut std::iter::Peekable<std::str::Chars>) -> Json {
        match chars.peek() {
            Some('"') => Json::Str(json_string(chars)),
            Some('{') => {
                chars.next();
                let mut members = Vec::new();
                if chars.peek() == Some(&'}') {
                    chars.next();
                    return Json::Obj(members);
                }
                loop {
                    let key = json_string(chars);
                    assert_eq!(chars.next(), Some(':'));
                    members.push((key, json_value(chars)));
                    match chars.next() {
                        Some(',') => {}
                        Some('}') => return Json::Obj(members),
                        other => panic!("expected , or }} in an object, found {other:?}"),
                    }
                }
            }
            _ => {
                let mut number = String::new();
                while let Some(&c) = chars.peek() {
                    if !(c.is_ascii_digit() || c == '.' || c == '-') {
                        break;
                    }
                    number.push(c);
                    chars.next();
                }
                assert!(
                    !number.is_empty() && number.parse::<f64>().is_ok(),
                    "bad number {number:?}"
                );
                Json::Num(number)
            }
        }
    }

    fn json_string(chars: &mut std::iter::Peekable<std::str::Chars>) -> String {
        assert_eq!(chars.next(), Some('"'));
        let mut text = String::new();
        let mut pending_high: Option<u32> = None;
        loop {
            let c = chars.next().expect("unterminated string");
            match c {
                '"' => return text,
                '\\' => {
                    let escaped = chars.next().expect("unterminated escape");
                    if escaped == 'u' {
                        let hex: String = chars.by_ref().take(4).collect();
                        let unit = u32::from_str_radix(&hex, 16).unwrap();
                        match pending_high.take() {
                            Some(high) => {
                                let code = 0x10000 + ((high - 0xd800) << 10) + (unit - 0xdc00);
                                text.push(char::from_u32(code).unwrap());
                            }
                            None if (0xd800..0xdc00).contains(&unit) => pending_high = Some(unit),
                            None => text.push(char::from_u32(unit).unwrap()),
                        }
                        continue;
                    }
                    text.push(match escaped {
                        '"' => '"',
                        '\\' => '\\',
                        '/' => '/',
                        'n' => '\n',
                        'r' => '\r',
                        't' => '\t',
                        other => panic!("unknown escape \\{other}"),
                    });
                }
                c if (c as u32) < 0x20 => panic!("raw control character in a string"),
                c => text.push(c),
            }
        }
    }

    /// The `key=value` pairs of a logfmt line, unquoted.
    fn parse_logfmt(line: &str) -> Vec<(String, String)> {
        let mut pairs = Vec::new();
        let mut chars = line.chars().peekable();
        while chars.peek().is_some() {
            let key: String = chars.by_ref().take_while(|&c| c != '=').collect();
            assert!(!key.is_empty() && !key.contains(' '), "bad key in {line}");
            let mut value = String::new();
            if chars.peek() == Some(&'"') {
                chars.next();
                loop {
                    match chars.next().expect("unterminated quoted value") {
                        '"' => break,
                        '\\' => value.push(match chars.next().expect("unterminated escape") {
                            'n' => '\n',
                            'r' => '\r',
                            't' => '\t',
                            other => other,
                        }),
                        c => value.push(c),
                    }
                }
                assert!(
                    matches!(chars.next(), None | Some(' ')),
                    "text after a quote in {line}"
                );
            } else {
                value = chars.by_ref().take_while(|&c| c != ' ').collect();
                assert!(
                    !value.contains('"') && !value.contains('='),
                    "unquoted {value} in {line}"
                );
            }
            pairs.push((key, value));
        }
        pairs
    }

    /// The bracketed CLF time of a combined line as RFC 3339 (the offset is always +0000).
    fn clf_to_rfc3339(clf: &str) -> String {
        const MONTHS: [&str; 12] = [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ];
        assert_eq!(&clf[20..], " +0000", "{clf}");
        let month = MONTHS.iter().position(|&m| m == &clf[3..6]).unwrap() + 1;
        format!("{}-{month:02}-{}T{}+00:00", &clf[7..11], &clf[0..2], &clf[12..20])
    }

    /// What the combined line says of its request: time, address, user, method, target,
    /// protocol, status, size, referer and user agent, absent ones as `-`.
    fn combined_facts(line: &str) -> [String; 10] {
        let open = line.find(" [").unwrap();
        let close = line.find("] \"").unwrap();
        let (address, user) = line[..open].split_once(" - ").unwrap();
        let fields: Vec<&str> = line[close + 3..].splitn(6, ' ').collect();
        let quoted: Vec<&str> = line.split('"').collect();
        [
            clf_to_rfc3339(&line[open + 2..close]),
            address.to_string(),
            user.to_string(),
            fields[0].to_string(),
            fields[1].to_string(),
            fields[2].trim_end_matches('"').to_string(),
            fields[3].to_string(),
            fields[4].to_string(),
            quoted[3].to_string(),
            quoted[5].to_string(),
        ]
    }

    fn or_dash(text: &str) -> String {
        if text.is_empty() {
            "-".to_string()
        } else {
            text.to_string()
        }
    }

    #[test]
    fn json_lines_are_the_combined_requests() {
        let combined = generate(&spec(Format::Combined, None));
        let json = generate(&spec(Format::Json, None));
        assert!(json.is_ascii());
        let mut escaped_agents = 0;
        for (plain, line) in combined.lines().zip(json.lines()) {
            let value = parse_json(line);
            let request = value.get("request");
            let size = match value.get("body_bytes_sent").text() {
                "0" => "-".to_string(),
                size => size.to_string(),
            };
            let facts = combined_facts(plain);
            let got = [
                value.get("time").text().to_string(),
                value.get("remote_addr").text().to_string(),
                or_dash(value.get("remote_user").text()),
                request.get("method").text().to_string(),
                request.get("uri").text().to_string(),
                request.get("protocol").text().to_string(),
                value.get("status").text().to_string(),
                size,
                or_dash(value.get("http_referer").text()),
                facts[9].clone(),
            ];
            assert_eq!(got[..9], facts[..9], "{line}\n{plain}");
            assert!(matches!(value.get("status"), Json::Num(_)));
            let agent = value.get("http_user_agent").text();
            if or_dash(agent) != facts[9] {
                assert!(ESCAPED_AGENTS.contains(&agent), "{agent}");
                escaped_agents += 1;
            }
            let time = value.get("request_time").text();
            assert!(
                time.len() >= 5 && time.as_bytes()[time.len() - 4] == b'.',
                "{time}"
            );
        }
        assert_eq!(combined.lines().count(), json.lines().count());
        assert!(json.contains(r#"\""#) && json.contains(r"\u00e9") && json.contains(r"\\"));
        let share = f64::from(escaped_agents) / 20_000.0;
        assert!(
            (0.003..0.03).contains(&share),
            "escaped agents on {share} of the lines"
        );
    }

    const ESCAPED_AGENTS: [&str; 4] = crate::ESCAPED_USER_AGENTS;

    #[test]
    fn logfmt_lines_are_the_combined_requests() {
        let combined = generate(&spec(Format::Combined, None));
        let logfmt = generate(&spec(Format::Logfmt, None));
        for (plain, line) in combined.lines().zip(logfmt.lines()) {
            let pairs = parse_logfmt(line);
            let keys: Vec<&str> = pairs.iter().map(|(key, _)| key.as_str()).collect();
            assert_eq!(
                keys,
                [
                    "time", "ip", "method", "path", "proto", "status", "bytes", "duration", "referer", "ua"
                ]
            );
            let value = |i: usize| pairs[i].1.clone();
            let facts = combined_facts(plain);
            let size = if value(6) == "0" {
                "-".to_string()
            } else {
                value(6)
            };
            assert_eq!(
                [
                    value(0),
                    value(1),
                    value(2),
                    value(3),
                    value(4),
                    value(5),
                    size,
                    or_dash(&value(8))
                ],
                [
                    &facts[0], &facts[1], &facts[3], &facts[4], &facts[5], &facts[6], &facts[7], &facts[8]
                ]
                .map(String::clone),
                "{line}\n{plain}"
            );
            let agent = value(9);
            assert!(
                or_dash(&agent) == facts[9] || ESCAPED_AGENTS.contains(&agent.as_str()),
                "{line}"
            );
        }
        assert_eq!(combined.lines().count(), logfmt.lines().count());
        assert!(logfmt.contains(r#"\""#) && logfmt.contains('é') && logfmt.contains(r#"path="/"#));
    }

    #[test]
    fn rfc3339_replaces_the_bracketed_time_and_nothing_else() {
        let combined = generate(&spec(Format::Combined, None));
        let rfc3339 = generate(&spec(Format::Combined, Some(TimeFormat::Rfc3339)));
        assert_eq!(combined.lines().count(), rfc3339.lines().count());
        for (plain, line) in combined.lines().zip(rfc3339.lines()) {
            let open = plain.find(" [").unwrap();
            let close = plain.find("] \"").unwrap();
            let expected = format!(
                "{} {}{}",
                &plain[..open],
                clf_to_rfc3339(&plain[open + 2..close]),
                &plain[close + 1..]
            );
            assert_eq!(line, expected);
            let fields: Vec<&str> = line.split_ascii_whitespace().collect();
            let plain_fields: Vec<&str> = plain.split_ascii_whitespace().collect();
            assert_eq!((fields[5], fields[7]), (plain_fields[6], plain_fields[8]));
        }
    }

    #[test]
    fn json_and_logfmt_can_carry_the_clf_time() {
        let clf = Some(TimeFormat::Clf);
        let json = generate(&LogSpec {
            lines: 3,
            ..spec(Format::Json, clf)
        });
        let first = parse_json(json.lines().next().unwrap());
        assert_eq!(first.get("time").text(), "10/Mar/2024:00:00:00 +0000");
        let logfmt = generate(&LogSpec {
            lines: 3,
            ..spec(Format::Logfmt, clf)
        });
        assert!(
            logfmt.starts_with("time=\"10/Mar/2024:00:00:00 +0000\" ip="),
            "{logfmt}"
        );
    }

    #[test]
    fn json_text_escapes_quotes_backslashes_and_non_ascii() {
        let mut out = Vec::new();
        push_json_text(&mut out, "a \"b\" C:\\x é 😀\n");
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#"a \"b\" C:\\x \u00e9 \ud83d\ude00\n"#
        );
    }

    #[test]
    fn logfmt_values_are_quoted_only_when_needed() {
        let cases: [(&[u8], &str); 6] = [
            (b"/plain/path", "/plain/path"),
            (b"/search?q=a+b&page=2", r#""/search?q=a+b&page=2""#),
            (b"Mozilla/5.0 (X11)", r#""Mozilla/5.0 (X11)""#),
            (br#"say "hi""#, r#""say \"hi\"""#),
            (br"C:\dir", r"C:\dir"),
            (br"C:\a dir", r#""C:\\a dir""#),
        ];
        for (value, expected) in cases {
            let mut out = Vec::new();
            push_logfmt_value(&mut out, value);
            assert_eq!(String::from_utf8(out).unwrap(), expected);
        }
        let mut out = Vec::new();
        push_logfmt_value(&mut out, b"");
        assert!(out.is_empty());
    }

    #[test]
    fn seconds_have_three_decimals() {
        for (millis, text) in [
            (0, "0.000"),
            (4, "0.004"),
            (60, "0.060"),
            (1234, "1.234"),
            (10_000, "10.000"),
        ] {
            let mut out = Vec::new();
            push_seconds(&mut out, millis);
            assert_eq!(out, text.as_bytes());
        }
    }
}
