//! The stdout sink: `sort | uniq -c | sort -rn`-style lines, or TSV, CSV or JSON lines.
//!
//! The TSV, CSV and JSON renderings ([`write_rows`]) are shared with the exec sink, which
//! writes them to a command's standard input: one rendering, one set of escaping rules.

use std::io::Write;

use crate::key::KeySchema;
use crate::sink::{Sink, Snapshot, csv_header, csv_record};

/// Bytes of output gathered before each write to stdout.
const OUTPUT_BUFFER: usize = 1 << 16;

/// How the stdout sink writes a flush.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StdoutFormat {
    /// `count key` lines, like `sort | uniq -c | sort -rn`.
    Plain,
    /// Rows with their window, as the exec sink writes them too.
    Rows(RowFormat),
}

pub struct StdoutSink {
    format: StdoutFormat,
    schema: KeySchema,
    /// Keep only the largest N rows of each flush.
    top: Option<usize>,
    /// With `--interval` each flush is a block marked with its window.
    mark_windows: bool,
    header_written: bool,
}

impl StdoutSink {
    pub fn new(
        format: StdoutFormat,
        schema: KeySchema,
        top: Option<usize>,
        mark_windows: bool,
    ) -> StdoutSink {
        StdoutSink {
            format,
            schema,
            top,
            mark_windows,
            header_written: false,
        }
    }

    /// Writes a snapshot to `out` a row at a time: a flush of a million keys is never held
    /// rendered in memory.
    fn render(&mut self, snapshot: &Snapshot, out: &mut dyn Write) -> anyhow::Result<()> {
        let rows = snapshot.rows().take(self.top.unwrap_or(usize::MAX));
        let format = match self.format {
            StdoutFormat::Plain => return self.render_plain(snapshot, rows, out),
            StdoutFormat::Rows(format) => format,
        };
        // One header per run of statbuf, however many flushes follow it. It goes into a
        // buffer first, so it counts as written even if writing the rows then fails.
        let header = !self.header_written;
        self.header_written = true;
        write_rows(format, &self.schema, snapshot, rows, header, out)
    }

    fn render_plain<'s>(
        &self,
        snapshot: &Snapshot,
        rows: impl Iterator<Item = (&'s [u8], i64)>,
        out: &mut dyn Write,
    ) -> anyhow::Result<()> {
        if self.mark_windows {
            writeln!(out, "# {} {}", snapshot.start_text(), snapshot.end_text())?;
        }
        let mut row = Vec::with_capacity(256);
        let mut digits = itoa::Buffer::new();
        for (key, total) in rows {
            row.clear();
            // `uniq -c` pads counts to 7 columns.
            let total = digits.format(total).as_bytes();
            row.resize(7usize.saturating_sub(total.len()), b' ');
            row.extend_from_slice(total);
            row.push(b' ');
            for (i, part) in self.schema.decode(key).enumerate() {
                if i > 0 {
                    row.push(b' ');
                }
                row.extend_from_slice(part);
            }
            row.push(b'\n');
            out.write_all(&row)?;
        }
        Ok(())
    }
}

/// The machine-readable renderings of a flush's rows, shared by the stdout sink
/// (`--format tsv|csv|json`) and the exec sink (`--exec-format`), so that both write the
/// same bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RowFormat {
    /// window_start, window_end, key parts, count; tab-separated, tabs, newlines and
    /// backslashes in keys escaped.
    Tsv,
    /// The CSV sink's columns, RFC 4180.
    Csv,
    /// One JSON object per row; never a header.
    Json,
}

/// Writes `rows` (of `snapshot`, whose window they are stamped with) to `out` in `format`, a
/// row at a time, preceded by the column header when `header` is set (TSV and CSV; JSON
/// lines have none).
pub(crate) fn write_rows<'s>(
    format: RowFormat,
    schema: &KeySchema,
    snapshot: &Snapshot,
    rows: impl Iterator<Item = (&'s [u8], i64)>,
    header: bool,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let (start, end) = (snapshot.start_text(), snapshot.end_text());
    let mut row = Vec::with_capacity(256);
    match format {
        RowFormat::Tsv => {
            if header {
                // Column names come from the flags (JSON paths, logfmt keys) and may hold a
                // tab: escaped like the values.
                row.extend_from_slice(b"window_start\twindow_end\t");
                for name in schema.names() {
                    escape_tsv(name.as_bytes(), &mut row);
                    row.push(b'\t');
                }
                row.extend_from_slice(b"count\n");
                out.write_all(&row)?;
            }
            for (key, total) in rows {
                row.clear();
                write!(row, "{start}\t{end}\t")?;
                for part in schema.decode(key) {
                    escape_tsv(part, &mut row);
                    row.push(b'\t');
                }
                writeln!(row, "{total}")?;
                out.write_all(&row)?;
            }
        }
        RowFormat::Csv => {
            let mut writer = ::csv::WriterBuilder::new().from_writer(&mut *out);
            if header {
                writer.write_record(csv_header(schema)).map_err(io_error)?;
            }
            for (key, total) in rows {
                writer
                    .write_record(csv_record(schema, &start, &end, key, total))
                    .map_err(io_error)?;
            }
            writer.flush()?;
        }
        RowFormat::Json => {
            for (key, total) in rows {
                row.clear();
                write!(row, "{{\"window_start\":\"{start}\",\"window_end\":\"{end}\"")?;
                for (name, part) in schema.names().iter().zip(schema.decode(key)) {
                    row.push(b',');
                    json_string(name.as_bytes(), &mut row);
                    row.push(b':');
                    json_string(part, &mut row);
                }
                writeln!(row, ",\"count\":{total}}}")?;
                out.write_all(&row)?;
            }
        }
    }
    Ok(())
}

/// The I/O error inside a CSV writer's error: csv::Error hides it from `source()`, and a
/// closed stdout must be known for what it is.
fn io_error(error: ::csv::Error) -> std::io::Error {
    match error.into_kind() {
        ::csv::ErrorKind::Io(error) => error,
        other => std::io::Error::other(format!("{other:?}")),
    }
}

impl Sink for StdoutSink {
    fn name(&self) -> String {
        "stdout".to_string()
    }

    fn write(&mut self, snapshot: &Snapshot) -> anyhow::Result<()> {
        if snapshot.is_empty() {
            return Ok(());
        }
        let mut stdout = std::io::BufWriter::with_capacity(OUTPUT_BUFFER, std::io::stdout().lock());
        self.render(snapshot, &mut stdout)?;
        stdout.flush()?;
        Ok(())
    }
}

/// TSV cannot hold a tab or a newline in a field: write them, and the backslash, escaped.
fn escape_tsv(part: &[u8], out: &mut Vec<u8>) {
    for &b in part {
        match b {
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\\' => out.extend_from_slice(b"\\\\"),
            _ => out.push(b),
        }
    }
}

/// A JSON string. JSON holds only Unicode, so bytes that are not UTF-8 become U+FFFD.
fn json_string(part: &[u8], out: &mut Vec<u8>) {
    out.push(b'"');
    for c in String::from_utf8_lossy(part).chars() {
        match c {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            '\n' => out.extend_from_slice(b"\\n"),
            '\r' => out.extend_from_slice(b"\\r"),
            '\t' => out.extend_from_slice(b"\\t"),
            c if (c as u32) < 0x20 => {
                // Writing into a Vec cannot fail.
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => {
                let mut utf8 = [0; 4];
                out.extend_from_slice(c.encode_utf8(&mut utf8).as_bytes());
            }
        }
    }
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::counter::Counts;
    use std::time::{Duration, UNIX_EPOCH};

    fn snapshot(pairs: &[(&[u8], i64)]) -> Snapshot {
        let mut counts = Counts::new();
        for (k, n) in pairs {
            counts.add(k, *n);
        }
        let t = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        Snapshot::of_counts(t, t + Duration::from_secs(10), counts, 1)
    }

    fn render(format: StdoutFormat, top: Option<usize>, marks: bool, snap: &Snapshot) -> String {
        let mut sink = StdoutSink::new(format, KeySchema::single(), top, marks);
        let mut out = Vec::new();
        sink.render(snap, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn plain_is_like_uniq_c_sorted() {
        let snap = snapshot(&[(b"/b", 3), (b"/a", 3), (b"/c", 12)]);
        assert_eq!(
            render(StdoutFormat::Plain, None, false, &snap),
            "     12 /c\n      3 /a\n      3 /b\n"
        );
        assert_eq!(render(StdoutFormat::Plain, Some(1), false, &snap), "     12 /c\n");
        assert!(render(StdoutFormat::Plain, None, true, &snap).starts_with("# 2023-11-14T22:13:20.000Z "));
    }

    #[test]
    fn machine_formats_escape_keys() {
        let snap = snapshot(&[(b"a\tb\"c\\", 1)]);
        let tsv = render(StdoutFormat::Rows(RowFormat::Tsv), None, false, &snap);
        assert!(tsv.ends_with("\ta\\tb\"c\\\\\t1\n"), "{tsv}");
        let json = render(StdoutFormat::Rows(RowFormat::Json), None, false, &snap);
        assert!(
            json.ends_with(",\"key\":\"a\\tb\\\"c\\\\\",\"count\":1}\n"),
            "{json}"
        );
        let csv = render(StdoutFormat::Rows(RowFormat::Csv), None, false, &snap);
        assert!(csv.starts_with("window_start,window_end,key,count\n"));
        assert!(csv.ends_with(",\"a\tb\"\"c\\\",1\n"), "{csv}");
    }
}
