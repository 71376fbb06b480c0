//! The SQLite sink: per-key totals upserted additively, one transaction per flush.
//!
//! Schema (for a single-part key; a composite key has one TEXT column per part instead of
//! `key`, and all of them form the primary key):
//!
//! ```sql
//! CREATE TABLE counts (
//!     key        TEXT    NOT NULL PRIMARY KEY,
//!     count      INTEGER NOT NULL,  -- total over every flush
//!     first_seen TEXT    NOT NULL,  -- start of the first window the key was flushed in
//!     last_seen  TEXT    NOT NULL   -- end of the last such window
//! ) WITHOUT ROWID;
//! ```
//!
//! Keys are stored as TEXT holding the key's bytes exactly, even when they are not UTF-8.
//!
//! With `--state`, the offsets of the input files are kept in `statbuf_checkpoint`
//! (`counts_table`, `path`, `position` as JSON, `updated`), written in the same transaction.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, TransactionBehavior};

use crate::checkpoint::{Checkpoint, FilePosition, Store};
use crate::counter::RowOrder;
use crate::key::KeySchema;
use crate::sink::sql::{self, CHECKPOINT_TABLE, ColumnTypes, quote};
use crate::sink::{CommitsOffsets, Sink, Snapshot};

/// How long a flush waits for another connection's lock before it fails and is retried.
const BUSY_TIMEOUT: Duration = Duration::from_secs(1);

/// Rows per upsert statement. Each execution of a statement has a fixed cost; 16 rows a
/// statement upserted about twice as fast as one (1M keys into a table holding them), and
/// larger statements were no faster.
const ROWS_PER_STATEMENT: usize = 16;

pub struct SqliteSink {
    path: PathBuf,
    table: String,
    connection: Connection,
    /// Device and inode of the database file when it was opened: a flush first checks that the
    /// path still names it, so that counts never go into a renamed or deleted file.
    file_id: (u64, u64),
    schema: KeySchema,
    /// The upsert of one row, and of `ROWS_PER_STATEMENT` rows.
    upsert_one: String,
    upsert_many: String,
}

impl SqliteSink {
    /// Opens (or creates) the database and the table, and checks that an existing table has
    /// this run's key columns.
    pub fn open(path: &Path, table: &str, schema: &KeySchema) -> anyhow::Result<SqliteSink> {
        // SQLite says only "unable to open database file"; opening it ourselves first gets the
        // operating system's reason (a missing directory, a read-only file or directory).
        std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .with_context(|| format!("{}", path.display()))?;
        // In WAL mode SQLite creates `-wal` and `-shm` files beside the database: a writable
        // database in a read-only directory fails later with a vaguer message.
        let dir = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        if rustix::fs::access(dir, rustix::fs::Access::WRITE_OK).is_err() {
            bail!(
                "{}: the directory {} is not writable (Permission denied), and SQLite needs to create \
                 its -wal and -shm files there",
                path.display(),
                dir.display()
            );
        }
        let connection = Connection::open(path).map_err(|e| describe(path, e))?;
        let setup = || -> rusqlite::Result<()> {
            connection.busy_timeout(BUSY_TIMEOUT)?;
            // WAL lets readers query while statbuf writes; NORMAL sync keeps every commit atomic.
            connection.pragma_update(None, "journal_mode", "WAL")?;
            connection.pragma_update(None, "synchronous", "NORMAL")?;
            Ok(())
        };
        setup().map_err(|e| describe(path, e))?;
        let types = ColumnTypes {
            key: "TEXT",
            count: "INTEGER",
            time: "TEXT",
            // RFC 3339 text, which strftime() and datetime() read.
            bucket: "TEXT",
        };
        let create = sql::create_counts_table(table, schema, &types, " WITHOUT ROWID");
        connection
            .execute(&create, [])
            .with_context(|| format!("{}: creating table {table}", path.display()))?;
        check_columns(&connection, path, table, schema)?;
        let meta = std::fs::metadata(path).with_context(|| format!("{}", path.display()))?;
        Ok(SqliteSink {
            path: path.to_path_buf(),
            table: table.to_string(),
            connection,
            file_id: (meta.dev(), meta.ino()),
            schema: schema.clone(),
            upsert_one: upsert_sql(table, schema, 1),
            upsert_many: upsert_sql(table, schema, ROWS_PER_STATEMENT),
        })
    }

    /// The offsets committed for this table: where a run with `--state` resumes.
    fn checkpoint(&self) -> anyhow::Result<Checkpoint> {
        let load = || -> anyhow::Result<Checkpoint> {
            self.connection.execute(&checkpoint_ddl(), [])?;
            let mut statement = self.connection.prepare(&format!(
                "SELECT position FROM {CHECKPOINT_TABLE} WHERE counts_table = ?1 ORDER BY path"
            ))?;
            let files = statement
                .query_map([&self.table], |row| row.get::<_, String>(0))?
                .map(|text| Ok(serde_json::from_str::<FilePosition>(&text?)?))
                .collect::<anyhow::Result<Vec<FilePosition>>>()?;
            Ok(Checkpoint { files })
        };
        load().with_context(|| {
            format!(
                "{}: reading the checkpoint in table {CHECKPOINT_TABLE}",
                self.path.display()
            )
        })
    }

    /// Fails when the path no longer names the database that was opened.
    fn check_file(&self) -> anyhow::Result<()> {
        match std::fs::metadata(&self.path) {
            Ok(meta) if (meta.dev(), meta.ino()) == self.file_id => Ok(()),
            Ok(_) => bail!(
                "the database file was replaced while statbuf ran; put the original back to let the counts in"
            ),
            Err(error) => bail!(
                "the database file was renamed or deleted while statbuf ran ({error}); put it back to let the counts in"
            ),
        }
    }

    fn write_rows(&mut self, snapshot: &Snapshot) -> anyhow::Result<()> {
        self.check_file()?;
        let (start, end) = (snapshot.start_text(), snapshot.end_text());
        let SqliteSink {
            connection,
            schema,
            upsert_one,
            upsert_many,
            table,
            ..
        } = self;
        let tx = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
        {
            // In key order the B-tree is written page after page instead of all over (unsorted
            // upserts were three to five times slower).
            let rows = snapshot.rows_by_key();
            let mut many = tx.prepare_cached(upsert_many)?;
            let mut one = tx.prepare_cached(upsert_one)?;
            // ?1 and ?2, the window, are shared by every row.
            for statement in [&mut many, &mut one] {
                statement.raw_bind_parameter(1, start.as_str())?;
                statement.raw_bind_parameter(2, end.as_str())?;
            }
            let mut batch = Vec::with_capacity(ROWS_PER_STATEMENT);
            for row in rows {
                batch.push(row);
                if batch.len() == ROWS_PER_STATEMENT {
                    bind_rows(&mut many, schema, &batch)?;
                    many.raw_execute()?;
                    batch.clear();
                }
            }
            for row in batch {
                bind_rows(&mut one, schema, &[row])?;
                one.raw_execute()?;
            }
        }
        // The offsets go in the same transaction as the counts they cover: after a crash
        // either both are there or neither, so a rerun counts every line exactly once.
        if let Some(checkpoint) = &snapshot.checkpoint {
            tx.execute(&checkpoint_ddl(), [])?;
            let mut statement = tx.prepare_cached(&format!(
                "INSERT INTO {CHECKPOINT_TABLE} (counts_table, path, position, updated) VALUES (?1, ?2, ?3, ?4) \
                 ON CONFLICT (counts_table, path) DO UPDATE SET position = excluded.position, updated = excluded.updated"
            ))?;
            for file in &checkpoint.files {
                let path = file.path.to_string_lossy();
                statement.execute((&*table, &*path, serde_json::to_string(file)?, &end))?;
            }
        }
        tx.commit()?;
        Ok(())
    }
}

impl Sink for SqliteSink {
    fn name(&self) -> String {
        format!("sqlite {}", self.path.display())
    }

    fn row_order(&self) -> RowOrder {
        RowOrder::ByKey
    }

    fn commits_offsets(&mut self) -> Option<&mut dyn CommitsOffsets> {
        Some(self)
    }

    fn write(&mut self, snapshot: &Snapshot) -> anyhow::Result<()> {
        if snapshot.is_empty() && snapshot.checkpoint.is_none() {
            return Ok(());
        }
        self.write_rows(snapshot)
    }
}

impl CommitsOffsets for SqliteSink {
    fn store(&self) -> Store {
        Store::Sqlite {
            database: crate::input::absolute(&self.path),
            table: self.table.clone(),
        }
    }

    fn load_checkpoint(&mut self) -> anyhow::Result<Checkpoint> {
        self.checkpoint()
    }
}

/// A SQLite error as one message naming the database, without rusqlite's repetitions.
fn describe(path: &Path, error: rusqlite::Error) -> anyhow::Error {
    let reason = match &error {
        rusqlite::Error::SqliteFailure(code, Some(message)) if message.contains(&code.to_string()) => {
            message.clone()
        }
        rusqlite::Error::SqliteFailure(code, Some(message)) => format!("{message} ({code})"),
        rusqlite::Error::SqliteFailure(code, None) => code.to_string(),
        other => other.to_string(),
    };
    anyhow::anyhow!("{}: {reason}", path.display())
}

/// The upsert of `rows` rows: `?1` and `?2` are the window's start and end, then each row's
/// key parts and count.
fn upsert_sql(table: &str, schema: &KeySchema, rows: usize) -> String {
    let per_row = schema.columns() + 1;
    let values: Vec<String> = (0..rows)
        .map(|row| {
            let first = 3 + row * per_row;
            let own: Vec<String> = (first..first + per_row).map(|i| format!("?{i}")).collect();
            format!("({}, ?1, ?2)", own.join(", "))
        })
        .collect();
    format!(
        "INSERT INTO {table_q} ({columns}) VALUES {values} {update}",
        table_q = quote(table),
        columns = sql::counts_columns(schema)
            .iter()
            .map(|c| quote(c))
            .collect::<Vec<_>>()
            .join(", "),
        values = values.join(", "),
        update = sql::add_on_conflict(schema, &quote(table)),
    )
}

/// Binds `rows` to an upsert of as many rows, after its two window parameters.
fn bind_rows(
    statement: &mut rusqlite::CachedStatement,
    schema: &KeySchema,
    rows: &[(&[u8], i64)],
) -> rusqlite::Result<()> {
    let mut index = 3;
    for (key, total) in rows {
        for part in schema.decode(key) {
            statement.raw_bind_parameter(index, ToSqlOutput::Borrowed(ValueRef::Text(part)))?;
            index += 1;
        }
        statement.raw_bind_parameter(index, *total)?;
        index += 1;
    }
    Ok(())
}

fn checkpoint_ddl() -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS {CHECKPOINT_TABLE} (counts_table TEXT NOT NULL, path TEXT NOT NULL, \
         position TEXT NOT NULL, updated TEXT NOT NULL, PRIMARY KEY (counts_table, path)) WITHOUT ROWID"
    )
}

/// An existing table must have exactly this run's key columns (and ours for the rest).
fn check_columns(
    connection: &Connection,
    path: &Path,
    table: &str,
    schema: &KeySchema,
) -> anyhow::Result<()> {
    let mut statement = connection.prepare(&format!("PRAGMA table_info({})", quote(table)))?;
    let columns: Vec<String> = statement
        .query_map([], |row| row.get::<_, String>(1))?
        .collect::<rusqlite::Result<_>>()?;
    sql::check_columns(&path.display().to_string(), table, &columns, schema)
}
