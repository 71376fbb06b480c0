//! CSV files, SQLite tables and JSON objects read back.

use std::collections::BTreeSet;
use std::fmt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use super::counts::{Counts, show};

/// A CSV file read back: the header and the data rows (fields as bytes).
pub struct CsvTable {
    pub header: Vec<String>,
    pub rows: Vec<Vec<Vec<u8>>>,
}

impl CsvTable {
    /// Parses RFC 4180 CSV whose first record is a header, failing if the header record
    /// shows up again later or a row has another number of fields.
    pub fn parse(bytes: &[u8], what: &dyn fmt::Display) -> CsvTable {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(false)
            .from_reader(bytes);
        let mut records = Vec::new();
        for rec in reader.byte_records() {
            let rec = rec.unwrap_or_else(|e| panic!("invalid CSV: {e}\n{what}"));
            records.push(rec.iter().map(<[u8]>::to_vec).collect::<Vec<_>>());
        }
        assert!(!records.is_empty(), "the CSV has no header\n{what}");
        let header_bytes = records.remove(0);
        for (i, row) in records.iter().enumerate() {
            assert!(
                *row != header_bytes,
                "the CSV header shows up again as record {}\n{what}",
                i + 2
            );
        }
        let header = header_bytes
            .iter()
            .map(|f| String::from_utf8_lossy(f).into_owned())
            .collect();
        CsvTable {
            header,
            rows: records,
        }
    }

    pub fn column(&self, name: &str) -> usize {
        self.header
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("no column {name:?} in the header {:?}", self.header))
    }

    /// Sums the `count` column by the key columns (parts joined by one space).
    pub fn totals(&self, key_columns: &[&str]) -> Counts {
        let keys: Vec<usize> = key_columns.iter().map(|c| self.column(c)).collect();
        let count = self.column("count");
        let mut totals = Counts::new();
        for row in &self.rows {
            let key = keys
                .iter()
                .map(|&i| row[i].clone())
                .collect::<Vec<_>>()
                .join(&b' ');
            let n: i64 = std::str::from_utf8(&row[count])
                .ok()
                .and_then(|s| s.parse().ok())
                .unwrap_or_else(|| panic!("count {} is not an integer", show(&row[count])));
            *totals.entry(key).or_insert(0) += n;
        }
        totals
    }

    /// The distinct values of one column.
    pub fn distinct(&self, name: &str) -> BTreeSet<Vec<u8>> {
        let i = self.column(name);
        self.rows.iter().map(|r| r[i].clone()).collect()
    }
}

/// A SQLite table read back with rusqlite.
pub struct SqlTable {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<rusqlite::types::Value>>,
}

impl SqlTable {
    pub fn read(db: &Path, table: &str) -> Result<SqlTable, rusqlite::Error> {
        let conn = rusqlite::Connection::open_with_flags(
            db,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(Duration::from_secs(10))?;
        let mut stmt = conn.prepare(&format!("SELECT * FROM \"{table}\""))?;
        let columns: Vec<String> = stmt.column_names().map(|s| s.to_string()).collect();
        let n = columns.len();
        let rows = stmt
            .query_map([], |row| {
                (0..n)
                    .map(|i| row.get::<_, rusqlite::types::Value>(i))
                    .collect::<Result<Vec<_>, _>>()
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(SqlTable { columns, rows })
    }

    /// Reads the table or fails the test.
    pub fn load(db: &Path, table: &str) -> SqlTable {
        SqlTable::read(db, table)
            .unwrap_or_else(|e| panic!("cannot read table {table} of {}: {e}", db.display()))
    }

    pub fn column(&self, name: &str) -> usize {
        self.columns
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("no column {name:?} in the table: {:?}", self.columns))
    }

    /// The `count` column by key (key columns joined by one space); fails on a key stored
    /// twice.
    pub fn totals(&self, key_columns: &[&str]) -> Counts {
        let keys: Vec<usize> = key_columns.iter().map(|c| self.column(c)).collect();
        let count = self.column("count");
        let mut totals = Counts::new();
        for row in &self.rows {
            let key = keys
                .iter()
                .map(|&i| sql_bytes(&row[i]))
                .collect::<Vec<_>>()
                .join(&b' ');
            let n = match &row[count] {
                rusqlite::types::Value::Integer(n) => *n,
                other => panic!("count {other:?} of {} is not an integer", show(&key)),
            };
            assert!(
                totals.insert(key.clone(), n).is_none(),
                "key {} is stored in more than one row",
                show(&key)
            );
        }
        totals
    }
}

/// A key column's value as bytes (text or blob; an integer if the column has integer
/// affinity).
pub fn sql_bytes(v: &rusqlite::types::Value) -> Vec<u8> {
    match v {
        rusqlite::types::Value::Text(s) => s.clone().into_bytes(),
        rusqlite::types::Value::Blob(b) => b.clone(),
        rusqlite::types::Value::Integer(n) => n.to_string().into_bytes(),
        other => panic!("key column holds {other:?}"),
    }
}

/// Runs the `sqlite3` command-line shell on `db` when it is installed; `None` otherwise.
pub fn sqlite3_cli(db: &Path, sql: &str) -> Option<String> {
    let cli = ["/usr/bin/sqlite3", "/usr/local/bin/sqlite3"]
        .into_iter()
        .find(|p| Path::new(p).is_file())?;
    let out = Command::new(cli)
        .arg("-batch")
        .arg("-readonly")
        .arg(db)
        .arg(sql)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cli}: {e}"));
    assert!(
        out.status.success(),
        "sqlite3 failed on {sql:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// A JSON value as far as these tests need one.
#[derive(Clone, Debug, PartialEq)]
pub enum Json {
    Str(String),
    /// A number, as written.
    Num(String),
    Bool(bool),
    Null,
}

/// Parses one flat JSON object (`{"name": value, ...}` with scalar values) into its members
/// in order; nested objects and arrays are rejected.
pub fn parse_json_object(text: &str) -> Result<Vec<(String, Json)>, String> {
    let mut p = JsonParser {
        s: text.as_bytes(),
        i: 0,
    };
    p.ws();
    p.expect(b'{')?;
    let mut members = Vec::new();
    p.ws();
    if p.peek() == Some(b'}') {
        p.i += 1;
    } else {
        loop {
            p.ws();
            let name = p.string()?;
            p.ws();
            p.expect(b':')?;
            p.ws();
            let value = p.value()?;
            members.push((name, value));
            p.ws();
            match p.next() {
                Some(b',') => continue,
                Some(b'}') => break,
                other => return Err(format!("expected , or }} at {}, got {other:?}", p.i)),
            }
        }
    }
    p.ws();
    if p.i != p.s.len() {
        return Err(format!("trailing bytes after the object at {}", p.i));
    }
    Ok(members)
}

struct JsonParser<'a> {
    s: &'a [u8],
    i: usize,
}

impl JsonParser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let b = self.peek();
        self.i += 1;
        b
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\r' | b'\n')) {
            self.i += 1;
        }
    }

    fn expect(&mut self, b: u8) -> Result<(), String> {
        match self.next() {
            Some(c) if c == b => Ok(()),
            other => Err(format!(
                "expected {:?} at {}, got {:?}",
                b as char,
                self.i - 1,
                other.map(|c| c as char)
            )),
        }
    }

    fn hex4(&mut self) -> Result<u32, String> {
        let digits = self.s.get(self.i..self.i + 4).ok_or("short \\u escape")?;
        self.i += 4;
        u32::from_str_radix(std::str::from_utf8(digits).map_err(|e| e.to_string())?, 16)
            .map_err(|_| "bad \\u escape".to_owned())
    }

    fn string(&mut self) -> Result<String, String> {
        self.expect(b'"')?;
        let mut out: Vec<u8> = Vec::new();
        loop {
            match self.next().ok_or("unterminated string")? {
                b'"' => break,
                b'\\' => match self.next().ok_or("unterminated escape")? {
                    b'"' => out.push(b'"'),
                    b'\\' => out.push(b'\\'),
                    b'/' => out.push(b'/'),
                    b'b' => out.push(8),
                    b'f' => out.push(12),
                    b'n' => out.push(b'\n'),
                    b'r' => out.push(b'\r'),
                    b't' => out.push(b'\t'),
                    b'u' => {
                        let mut cp = self.hex4()?;
                        if (0xD800..0xDC00).contains(&cp) {
                            if self.next() != Some(b'\\') || self.next() != Some(b'u') {
                                return Err("lone surrogate".into());
                            }
                            let low = self.hex4()?;
                            if !(0xDC00..0xE000).contains(&low) {
                                return Err("bad surrogate pair".into());
                            }
                            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
                        }
                        let c = char::from_u32(cp).ok_or("bad code point")?;
                        out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
                    }
                    other => return Err(format!("bad escape \\{}", other as char)),
                },
                c if c < 0x20 => return Err("raw control character in a string".into()),
                c => out.push(c),
            }
        }
        String::from_utf8(out).map_err(|_| "string is not UTF-8".to_owned())
    }

    fn value(&mut self) -> Result<Json, String> {
        match self.peek().ok_or("missing value")? {
            b'"' => Ok(Json::Str(self.string()?)),
            b'-' | b'0'..=b'9' => {
                let start = self.i;
                while matches!(self.peek(), Some(b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9')) {
                    self.i += 1;
                }
                let num = std::str::from_utf8(&self.s[start..self.i]).unwrap();
                num.parse::<f64>().map_err(|_| format!("bad number {num:?}"))?;
                Ok(Json::Num(num.to_owned()))
            }
            _ => {
                for (word, v) in [
                    ("true", Json::Bool(true)),
                    ("false", Json::Bool(false)),
                    ("null", Json::Null),
                ] {
                    if self.s[self.i..].starts_with(word.as_bytes()) {
                        self.i += word.len();
                        return Ok(v);
                    }
                }
                Err(format!("unsupported value at {}", self.i))
            }
        }
    }
}
