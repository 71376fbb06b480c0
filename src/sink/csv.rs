//! The CSV sink: one row per key per flush, appended to a file.
//!
//! A flush is written in one go, flushed and synced; if anything fails half-way the file is cut
//! back to its length before the flush, so a retried flush never leaves a partial or doubled
//! window behind.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use crate::key::KeySchema;
use crate::sink::{Sink, Snapshot, csv_header, csv_record};

pub struct CsvSink {
    path: PathBuf,
    schema: KeySchema,
    file: File,
}

impl CsvSink {
    /// Opens (or creates) the file for appending. An existing, non-empty file must have this
    /// run's header, so rows of different shapes never mix.
    pub fn open(path: &Path, schema: KeySchema) -> anyhow::Result<CsvSink> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .read(true)
            .open(path)
            .with_context(|| format!("{}", path.display()))?;
        let expected = csv_header(&schema).join(",");
        let mut first = String::new();
        BufReader::new(&file)
            .read_line(&mut first)
            .with_context(|| format!("{}", path.display()))?;
        let first = first.trim_end_matches(['\n', '\r']);
        if !first.is_empty() && first != expected {
            bail!(
                "{}: has the header '{first}' but this run writes '{expected}'; name another file",
                path.display()
            );
        }
        Ok(CsvSink {
            path: path.to_path_buf(),
            schema,
            file,
        })
    }

    fn append(&mut self, snapshot: &Snapshot, length: u64) -> anyhow::Result<()> {
        let (start, end) = (snapshot.start_text(), snapshot.end_text());
        let mut writer = ::csv::WriterBuilder::new().from_writer(Vec::with_capacity(snapshot.len() * 64));
        if length == 0 {
            writer.write_record(csv_header(&self.schema))?;
        }
        for (key, total) in snapshot.rows() {
            writer.write_record(csv_record(&self.schema, &start, &end, key, total))?;
        }
        let bytes = writer.into_inner().map_err(|e| e.into_error())?;
        self.file.write_all(&bytes)?;
        self.file.sync_data()?;
        Ok(())
    }
}

impl Sink for CsvSink {
    fn name(&self) -> String {
        format!("csv {}", self.path.display())
    }

    fn write(&mut self, snapshot: &Snapshot) -> anyhow::Result<()> {
        if snapshot.is_empty() {
            return Ok(());
        }
        let length = self.file.metadata()?.len();
        if let Err(error) = self.append(snapshot, length) {
            // Leave the file as it was, so the retry writes the window exactly once.
            if let Err(cut) = self.file.set_len(length) {
                return Err(error.context(format!("and cutting the file back failed too: {cut}")));
            }
            return Err(error);
        }
        Ok(())
    }
}
