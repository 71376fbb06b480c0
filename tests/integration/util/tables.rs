//! CSV files, SQLite tables and JSON objects read back.

use std::collections::BTreeSet;
use std::fmt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::Value;

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

/// Parses one flat JSON object (`{"name": value, ...}` with scalar values) into its members
/// in order, a repeated name as often as it is written; nested objects and arrays are
/// rejected.
pub fn parse_json_object(text: &str) -> Result<Vec<(String, Value)>, String> {
    let Members(members) = serde_json::from_str(text).map_err(|e| e.to_string())?;
    match members.iter().find(|(_, v)| v.is_array() || v.is_object()) {
        Some((name, _)) => Err(format!("member {name:?} is not a scalar")),
        None => Ok(members),
    }
}

/// A JSON object's members in the order written, repeats kept: a `serde_json::Value` keeps
/// the last of a repeated name only, which would hide a repeat.
struct Members(Vec<(String, Value)>);

impl<'de> Deserialize<'de> for Members {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Members, D::Error> {
        struct Object;
        impl<'de> Visitor<'de> for Object {
            type Value = Members;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Members, A::Error> {
                let mut members = Vec::new();
                while let Some(member) = map.next_entry()? {
                    members.push(member);
                }
                Ok(Members(members))
            }
        }
        deserializer.deserialize_map(Object)
    }
}

/// Reads JSON lines of counts, every line one flat object with exactly the members `keys`,
/// `window_start`, `window_end` and `count` (in any order), and returns the counts by the key
/// members (parts joined by one space); fails on a key that repeats.
pub fn json_lines_totals(text: &str, keys: &[&str], context: &dyn fmt::Display) -> Counts {
    let mut names: BTreeSet<&str> = keys.iter().copied().collect();
    names.extend(["window_start", "window_end", "count"]);
    assert!(
        text.ends_with('\n'),
        "the output does not end with a newline\n{context}"
    );
    let mut totals = Counts::new();
    for (i, line) in text.lines().enumerate() {
        let members = parse_json_object(line)
            .unwrap_or_else(|e| panic!("line {} is not a JSON object ({e}): {line}\n{context}", i + 1));
        let got: BTreeSet<&str> = members.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(got, names, "members of line {}: {line}\n{context}", i + 1);
        assert_eq!(got.len(), members.len(), "a member repeats: {line}\n{context}");
        let get = |name: &str| &members.iter().find(|(n, _)| n == name).unwrap().1;
        let count: i64 = match get("count") {
            Value::Number(n) => n
                .as_i64()
                .unwrap_or_else(|| panic!("count {n} is not an integer: {line}\n{context}")),
            other => panic!("count is {other:?}, not a number: {line}\n{context}"),
        };
        let key = keys
            .iter()
            .map(|k| match get(k) {
                Value::String(s) => s.as_bytes().to_vec(),
                other => panic!("{k} is {other:?}, not a string: {line}\n{context}"),
            })
            .collect::<Vec<_>>()
            .join(&b' ');
        assert!(
            totals.insert(key, count).is_none(),
            "a key repeats within one flush: {line}\n{context}"
        );
    }
    totals
}

#[test]
fn parse_json_object_takes_flat_objects_only() {
    let members = parse_json_object(r#" {"a": "x\u00e9\ud83d\ude00", "n": -12.5e3, "a": true, "z": null} "#);
    let names: Vec<&str> = members
        .as_ref()
        .unwrap()
        .iter()
        .map(|(n, _)| n.as_str())
        .collect();
    assert_eq!(names, ["a", "n", "a", "z"], "members in order, a repeat kept");
    assert_eq!(members.unwrap()[0].1, Value::String("x\u{e9}\u{1f600}".into()));
    assert_eq!(parse_json_object("{}"), Ok(Vec::new()));
    for bad in [
        r#"{"a": [1]}"#,
        r#"{"a": {"b": 1}}"#,
        r#"{"a": 1} x"#,
        r#"{"a": 1}{}"#,
        r#"["a"]"#,
        r#""a""#,
        r#"{"a": "\ud800"}"#,
        "{\"a\": \"tab\there\"}",
        r#"{"a": 01}"#,
        r#"{"a": 1,}"#,
        r#"{a: 1}"#,
    ] {
        assert!(parse_json_object(bad).is_err(), "accepted {bad}");
    }
}
