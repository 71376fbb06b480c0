//! The PostgreSQL sink: per-key totals added to one table that many hosts share, one
//! transaction per flush, and with `--state` the input offsets committed in that transaction.
//!
//! Schema (a single-part key; a composite key has one `text` column per part instead of
//! `key`, all of them the primary key; key parts are stored as `key_text` says):
//!
//! ```sql
//! CREATE TABLE counts (key text NOT NULL, count bigint NOT NULL, first_seen timestamptz NOT NULL,
//!                      last_seen timestamptz NOT NULL, PRIMARY KEY (key));
//! CREATE TABLE statbuf_checkpoint (host_id text, counts_table text, path text, position text,
//!                                  updated timestamptz, PRIMARY KEY (host_id, counts_table, path));
//! ```
//!
//! A flush is `BEGIN`, one prepared upsert per `CHUNK_ROWS` rows over arrays
//! (`INSERT … SELECT … FROM unnest($1::text[], …) ON CONFLICT … DO UPDATE SET count = t.count +
//! excluded.count`), the checkpoint rows, `COMMIT`. Rows go in key order, so hosts writing the
//! same keys lock them in one order and cannot deadlock. The SQL is plain PostgreSQL that
//! CockroachDB, YugabyteDB and Citus run unchanged: no `UPSERT`, no `MERGE`, no temporary tables.
//!
//! Exactly once: with `--state` each flush also writes a random batch id in the checkpoint row
//! whose path is empty. When the connection drops while `COMMIT` is on its way, the outcome is
//! unknown; after reconnecting, that row says whether the batch landed. If it did, the sink
//! remembers those counts as written and leaves them out of what it writes next (the flusher
//! still holds them, folded with later counts); if not, they are written again. A lock per host
//! id and table (`pg_try_advisory_lock`) keeps a second run with the same host id out, since
//! it would overwrite this run's batch ids and offsets.

mod conninfo;
mod keytext;

pub use keytext::key_text;

use std::borrow::Cow;
use std::future::Future;
use std::time::Duration;

use anyhow::Context;
use tokio::runtime::Runtime;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::Type;
use tokio_postgres::{Client, Statement};

use crate::checkpoint::{Checkpoint, FilePosition, Store, fnv1a64};
use crate::counter::RowOrder;
use crate::key::{BUCKET_NAME, KeySchema};
use crate::sink::sql::{self, CHECKPOINT_TABLE, ColumnTypes, quote};
use crate::sink::{CommitsOffsets, Sink, Snapshot};

use self::conninfo::Target;

/// Rows per execution of the upsert. One statement per flush would be fewest round trips, but
/// each statement must answer within `ROUND_TRIP_TIMEOUT` even with other hosts' locks to wait
/// for; at this size a statement takes tens of milliseconds.
const CHUNK_ROWS: usize = 20_000;

/// How long one statement may take before the server is taken for lost (a partition, a stopped
/// server): the connection is dropped and the flush retried. The kernel keeps acknowledging
/// packets for a stopped server, so only a timeout of our own notices it.
const ROUND_TRIP_TIMEOUT: Duration = Duration::from_secs(4);

/// Serialization failures (40001, what CockroachDB returns under contention) and deadlocks
/// (40P01) are retried at once this many times, with a short jittered pause, before the
/// flusher's slower retries take over.
const CONFLICT_RETRIES: u32 = 5;

/// How long a run waits for another run's host id lock (a run killed a moment ago may still
/// hold it until the server notices) before it refuses to start.
const LOCK_WAIT: Duration = Duration::from_secs(3);

pub struct PostgresSink {
    target: Target,
    table: String,
    schema: KeySchema,
    host_id: String,
    /// `--state`: offsets go into the checkpoint table, with a batch id to settle commits.
    keeps_offsets: bool,
    runtime: Runtime,
    tls: postgres_native_tls::MakeTlsConnector,
    session: Option<Session>,
    /// A batch whose `COMMIT` was sent but never acknowledged, and its batch id.
    unsettled: Option<(String, Snapshot)>,
    /// Counts known to be in the table that the flusher's backlog still holds.
    written_early: Option<Snapshot>,
}

/// A live connection with its prepared statements.
struct Session {
    client: Client,
    connection: tokio::task::JoinHandle<()>,
    upsert: Statement,
    /// Writes checkpoint rows: (host_id, counts_table, paths[], positions[]).
    checkpoint: Option<Statement>,
}

impl Drop for Session {
    fn drop(&mut self) {
        self.connection.abort();
    }
}

/// Why a round trip failed.
enum Fault {
    Timeout,
    /// No session to use: the last one was dropped and none could be opened since.
    Disconnected,
    Db(tokio_postgres::Error),
    /// Our own refusal (a table of another shape, the host id lock taken).
    Refused(anyhow::Error),
}

impl From<tokio_postgres::Error> for Fault {
    fn from(error: tokio_postgres::Error) -> Fault {
        Fault::Db(error)
    }
}

impl Fault {
    /// A conflict with another transaction, worth retrying at once.
    fn is_conflict(&self) -> bool {
        matches!(self, Fault::Db(e) if matches!(e.code(), Some(c) if *c == SqlState::T_R_SERIALIZATION_FAILURE || *c == SqlState::T_R_DEADLOCK_DETECTED))
    }

    /// The server answered with an error: the connection is still good.
    fn server_answered(&self) -> bool {
        matches!(self, Fault::Db(e) if e.as_db_error().is_some())
    }

    fn into_error(self) -> anyhow::Error {
        match self {
            Fault::Timeout => anyhow::anyhow!("no answer within {}s", ROUND_TRIP_TIMEOUT.as_secs()),
            Fault::Disconnected => anyhow::anyhow!("not connected"),
            Fault::Db(error) => anyhow::anyhow!("{}", describe(&error)),
            Fault::Refused(error) => error,
        }
    }
}

/// One line for a driver error: the server's message, or the driver's reason.
fn describe(error: &tokio_postgres::Error) -> String {
    if let Some(db) = error.as_db_error() {
        return match db.detail() {
            Some(detail) => format!("{} ({detail})", db.message()),
            None => db.message().to_string(),
        };
    }
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text = format!("{text}: {cause}");
        source = cause.source();
    }
    text
}

/// Runs one round trip, failing if the server does not answer in time.
async fn answer<T>(future: impl Future<Output = Result<T, tokio_postgres::Error>>) -> Result<T, Fault> {
    match tokio::time::timeout(ROUND_TRIP_TIMEOUT, future).await {
        Ok(result) => result.map_err(Fault::Db),
        Err(_) => Err(Fault::Timeout),
    }
}

impl PostgresSink {
    /// Connects, creates the tables when missing and checks an existing one's columns; with
    /// `keeps_offsets`, also takes the host id lock. Whatever fails here is reported and ends
    /// the run: a bad URL, a wrong password, a missing database, a server that cannot be
    /// reached, a table of another shape.
    pub fn open(
        conninfo: &str,
        table: &str,
        schema: &KeySchema,
        host_id: &str,
        keeps_offsets: bool,
    ) -> anyhow::Result<PostgresSink> {
        let target = conninfo::resolve(conninfo, &|name| std::env::var(name).ok()).context("--postgres")?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("starting the PostgreSQL client")?;
        // libpq's `prefer` and `require` encrypt without checking the certificate; so does this.
        let connector = native_tls::TlsConnector::builder()
            .danger_accept_invalid_certs(true)
            .danger_accept_invalid_hostnames(true)
            .build()
            .context("setting up TLS")?;
        let mut sink = PostgresSink {
            target,
            table: table.to_string(),
            schema: schema.clone(),
            host_id: host_id.to_string(),
            keeps_offsets,
            runtime,
            tls: postgres_native_tls::MakeTlsConnector::new(connector),
            session: None,
            unsettled: None,
            written_early: None,
        };
        if let Err(fault) = sink.connect() {
            anyhow::bail!("{}: {:#}", sink.name(), fault.into_error());
        }
        Ok(sink)
    }

    /// Opens a session unless one is open.
    fn connect(&mut self) -> Result<(), Fault> {
        if self.session.is_none() {
            let session = self.runtime.block_on(self.open_session())?;
            self.session = Some(session);
        }
        Ok(())
    }

    async fn open_session(&self) -> Result<Session, Fault> {
        let connect = self.target.config.connect(self.tls.clone());
        let timeout = self
            .target
            .config
            .get_connect_timeout()
            .copied()
            .unwrap_or(ROUND_TRIP_TIMEOUT);
        let (client, connection) = match tokio::time::timeout(timeout, connect).await {
            Ok(result) => result?,
            Err(_) => return Err(Fault::Timeout),
        };
        let connection = tokio::spawn(async move {
            // Its error is the one the next statement gets.
            let _ = connection.await;
        });
        // Dropped on the way out of a failure, which closes the connection.
        let mut guard = ConnectionGuard(Some(connection));
        if self.keeps_offsets {
            self.lock_host_id(&client).await?;
        }
        self.create_tables(&client).await?;
        self.check_columns(&client).await?;
        let upsert = answer(client.prepare_typed(&self.upsert_sql(), &self.upsert_types())).await?;
        let checkpoint = match self.keeps_offsets {
            true => Some(answer(client.prepare_typed(&checkpoint_upsert_sql(), &CHECKPOINT_TYPES)).await?),
            false => None,
        };
        Ok(Session {
            client,
            connection: guard.0.take().ok_or(Fault::Disconnected)?,
            upsert,
            checkpoint,
        })
    }

    /// Refuses to run beside another live run with this host id and table: both would write
    /// the same checkpoint rows. The lock is the session's, so it goes with a dead run's
    /// connection.
    async fn lock_host_id(&self, client: &Client) -> Result<(), Fault> {
        let key = lock_key(&["host", &self.host_id, &self.table]);
        let deadline = tokio::time::Instant::now() + LOCK_WAIT;
        loop {
            let row = answer(client.query_one("SELECT pg_try_advisory_lock($1)", &[&key])).await?;
            if row.get::<_, bool>(0) {
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(Fault::Refused(anyhow::anyhow!(
                    "another statbuf run with host id '{}' is writing table {} with --state; \
                     give each run its own --host-id",
                    self.host_id,
                    self.table
                )));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Creates the tables when missing. Hosts starting together would race in `CREATE TABLE
    /// IF NOT EXISTS` (one of them fails on the catalog's unique index), so an advisory lock
    /// held for the transaction makes them take turns.
    async fn create_tables(&self, client: &Client) -> Result<(), Fault> {
        let types = ColumnTypes {
            key: "text",
            count: "bigint",
            time: "timestamptz",
            bucket: "timestamptz",
        };
        let mut ddl = vec![sql::create_counts_table(&self.table, &self.schema, &types, "")];
        if self.keeps_offsets {
            ddl.push(format!(
                "CREATE TABLE IF NOT EXISTS {CHECKPOINT_TABLE} (host_id text NOT NULL, counts_table text NOT NULL, \
                 path text NOT NULL, position text NOT NULL, updated timestamptz NOT NULL, \
                 PRIMARY KEY (host_id, counts_table, path))"
            ));
        }
        let key = lock_key(&["create"]);
        answer(client.batch_execute("BEGIN")).await?;
        let created = async {
            answer(client.execute("SELECT pg_advisory_xact_lock($1)", &[&key])).await?;
            for statement in &ddl {
                answer(client.batch_execute(statement)).await?;
            }
            answer(client.batch_execute("COMMIT")).await
        }
        .await;
        if created.is_err() {
            let _ = answer(client.batch_execute("ROLLBACK")).await;
        }
        created
    }

    async fn check_columns(&self, client: &Client) -> Result<(), Fault> {
        let rows = answer(client.query(
            "SELECT column_name::text FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
            &[&self.table],
        ))
        .await?;
        let found: Vec<String> = rows.iter().map(|row| row.get(0)).collect();
        sql::check_columns(&self.target.name, &self.table, &found, &self.schema).map_err(Fault::Refused)
    }

    /// The upsert over arrays: `$1` … `$n` the key parts, `$n+1` the counts, then the window.
    fn upsert_sql(&self) -> String {
        let parts = self.schema.columns();
        let names: Vec<String> = (1..=parts).map(|i| format!("k{i}")).collect();
        // The bucket comes as RFC 3339 text, read once per row into its timestamptz column.
        let values: Vec<String> = self
            .schema
            .names()
            .iter()
            .zip(&names)
            .map(|(column, name)| match column.as_str() {
                BUCKET_NAME => format!("{name}::timestamptz"),
                _ => name.clone(),
            })
            .collect();
        let arrays: Vec<String> = (1..=parts).map(|i| format!("${i}::text[]")).collect();
        format!(
            "INSERT INTO {table} AS t ({columns}) SELECT {values}, c, ${start}, ${end} \
             FROM unnest({arrays}, ${counts}::int8[]) AS u({names}, c) {update}",
            table = quote(&self.table),
            columns = sql::counts_columns(&self.schema)
                .iter()
                .map(|c| quote(c))
                .collect::<Vec<_>>()
                .join(", "),
            values = values.join(", "),
            names = names.join(", "),
            arrays = arrays.join(", "),
            counts = parts + 1,
            start = parts + 2,
            end = parts + 3,
            update = sql::add_on_conflict(&self.schema, "t"),
        )
    }

    fn upsert_types(&self) -> Vec<Type> {
        let mut types = vec![Type::TEXT_ARRAY; self.schema.columns()];
        // The window as timestamptz parameters: cast from text, it would be parsed for every row.
        types.extend([Type::INT8_ARRAY, Type::TIMESTAMPTZ, Type::TIMESTAMPTZ]);
        types
    }

    /// Writes a snapshot in one transaction, retrying conflicts at once.
    fn write_now(&mut self, snapshot: &Snapshot) -> Result<(), Fault> {
        let mut conflicts = 0;
        loop {
            match self.try_write(snapshot) {
                Err(fault) if fault.is_conflict() && conflicts < CONFLICT_RETRIES => {
                    conflicts += 1;
                    let pause = 10u64 << conflicts;
                    std::thread::sleep(Duration::from_millis(pause / 2 + fastrand::u64(0..=pause / 2)));
                }
                result => return result,
            }
        }
    }

    fn try_write(&mut self, snapshot: &Snapshot) -> Result<(), Fault> {
        self.connect()?;
        self.settle()?;
        let rest;
        let batch = match &self.written_early {
            Some(written) => {
                rest = snapshot.without(written);
                &rest
            }
            None => snapshot,
        };
        let batch_id = self
            .keeps_offsets
            .then(|| format!("{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..)));
        let mut committing = false;
        let session = self.session.as_ref().ok_or(Fault::Disconnected)?;
        let result = self.runtime.block_on(transaction(
            session,
            &self.schema,
            batch,
            (&self.host_id, &self.table),
            batch_id.as_deref(),
            &mut committing,
        ));
        match result {
            Ok(()) => {
                self.written_early = None;
                Ok(())
            }
            Err(fault) => {
                if committing
                    && !fault.server_answered()
                    && let Some(id) = batch_id
                {
                    self.unsettled = Some((id, batch.clone()));
                }
                if fault.server_answered() {
                    // The transaction is aborted but the connection is fine.
                    let rolled_back = self
                        .runtime
                        .block_on(answer(session.client.batch_execute("ROLLBACK")));
                    if rolled_back.is_err() {
                        self.session = None;
                    }
                } else {
                    self.session = None;
                }
                Err(fault)
            }
        }
    }

    /// Learns whether a batch whose commit was never acknowledged landed, from its batch id.
    fn settle(&mut self) -> Result<(), Fault> {
        let Some((id, sent)) = self.unsettled.take() else {
            return Ok(());
        };
        let landed = match self.session.as_ref() {
            Some(session) => self.runtime.block_on(answer(session.client.query_opt(
                &format!(
                    "SELECT position FROM {CHECKPOINT_TABLE} WHERE host_id = $1 AND counts_table = $2 AND path = ''"
                ),
                &[&self.host_id, &self.table],
            ))),
            None => Err(Fault::Disconnected),
        };
        match landed {
            Ok(row) => {
                if row.is_some_and(|row| row.get::<_, String>(0) == id) {
                    match &mut self.written_early {
                        Some(written) => written.absorb(&sent),
                        None => self.written_early = Some(sent),
                    }
                }
                Ok(())
            }
            Err(fault) => {
                self.unsettled = Some((id, sent));
                Err(fault)
            }
        }
    }

    fn load(&mut self) -> Result<Checkpoint, Fault> {
        self.connect()?;
        let session = self.session.as_ref().ok_or(Fault::Disconnected)?;
        let rows = self.runtime.block_on(answer(session.client.query(
            &format!(
                "SELECT position FROM {CHECKPOINT_TABLE} WHERE host_id = $1 AND counts_table = $2 AND path <> '' \
                 ORDER BY path"
            ),
            &[&self.host_id, &self.table],
        )))?;
        let files = rows
            .iter()
            .map(|row| serde_json::from_str::<FilePosition>(row.get(0)))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| {
                Fault::Refused(anyhow::anyhow!(
                    "a position in {CHECKPOINT_TABLE} is not readable: {e}"
                ))
            })?;
        Ok(Checkpoint { files })
    }
}

/// Closes a connection that never became a session.
struct ConnectionGuard(Option<tokio::task::JoinHandle<()>>);

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        if let Some(connection) = self.0.take() {
            connection.abort();
        }
    }
}

/// One flush: `BEGIN`, the upserts, the checkpoint rows and the batch id, `COMMIT`.
/// `committing` is set once `COMMIT` is on its way: from then on a lost connection leaves the
/// outcome unknown.
async fn transaction(
    session: &Session,
    schema: &KeySchema,
    snapshot: &Snapshot,
    (host_id, table): (&str, &str),
    batch_id: Option<&str>,
    committing: &mut bool,
) -> Result<(), Fault> {
    let client = &session.client;
    answer(client.batch_execute("BEGIN")).await?;
    let (start, end) = (snapshot.window_start, snapshot.window_end);
    // In key order, so that hosts writing the same keys lock them in the same order.
    let rows = snapshot.rows_by_key();
    let parts = schema.columns();
    let mut keys: Vec<Vec<Cow<str>>> = vec![Vec::with_capacity(CHUNK_ROWS); parts];
    let mut counts: Vec<i64> = Vec::with_capacity(CHUNK_ROWS);
    let mut rows = rows.peekable();
    while rows.peek().is_some() {
        for (key, total) in rows.by_ref().take(CHUNK_ROWS) {
            for (column, part) in keys.iter_mut().zip(schema.decode(key)) {
                column.push(key_text(part));
            }
            counts.push(total);
        }
        let mut params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = Vec::with_capacity(parts + 3);
        for column in &keys {
            params.push(column);
        }
        params.push(&counts);
        params.push(&start);
        params.push(&end);
        answer(client.execute(&session.upsert, &params)).await?;
        keys.iter_mut().for_each(Vec::clear);
        counts.clear();
    }
    if let (Some(statement), Some(batch_id)) = (&session.checkpoint, batch_id) {
        let mut paths = vec![String::new()];
        let mut positions = vec![batch_id.to_string()];
        for file in snapshot.checkpoint.iter().flat_map(|c| &c.files) {
            paths.push(file.path.to_string_lossy().into_owned());
            positions.push(serde_json::to_string(file).map_err(|e| Fault::Refused(e.into()))?);
        }
        answer(client.execute(statement, &[&host_id, &table, &paths, &positions])).await?;
    }
    *committing = true;
    answer(client.batch_execute("COMMIT")).await
}

/// The checkpoint rows' upsert: `$1` host id, `$2` counts table, `$3` paths, `$4` positions.
fn checkpoint_upsert_sql() -> String {
    format!(
        "INSERT INTO {CHECKPOINT_TABLE} (host_id, counts_table, path, position, updated) \
         SELECT $1, $2, p, pos, now() FROM unnest($3::text[], $4::text[]) AS u(p, pos) \
         ON CONFLICT (host_id, counts_table, path) DO UPDATE SET position = excluded.position, updated = excluded.updated"
    )
}

const CHECKPOINT_TYPES: [Type; 4] = [Type::TEXT, Type::TEXT, Type::TEXT_ARRAY, Type::TEXT_ARRAY];

/// An advisory lock key of statbuf's own for these words.
fn lock_key(words: &[&str]) -> i64 {
    let mut text = String::from("statbuf");
    for word in words {
        text.push('\0');
        text.push_str(word);
    }
    i64::from_ne_bytes(fnv1a64(text.as_bytes()).to_ne_bytes())
}

impl Sink for PostgresSink {
    fn name(&self) -> String {
        format!("postgres {}", self.target.name)
    }

    fn row_order(&self) -> RowOrder {
        RowOrder::ByKey
    }

    fn write(&mut self, snapshot: &Snapshot) -> anyhow::Result<()> {
        if snapshot.is_empty() && snapshot.checkpoint.is_none() {
            return Ok(());
        }
        self.write_now(snapshot).map_err(Fault::into_error)
    }

    fn commits_offsets(&mut self) -> Option<&mut dyn CommitsOffsets> {
        Some(self)
    }
}

impl CommitsOffsets for PostgresSink {
    fn store(&self) -> Store {
        Store::Postgres {
            server: self.target.name.clone(),
            table: self.table.clone(),
            host_id: self.host_id.clone(),
        }
    }

    fn load_checkpoint(&mut self) -> anyhow::Result<Checkpoint> {
        let name = self.name();
        self.load()
            .map_err(|fault| anyhow::anyhow!("{name}: reading {CHECKPOINT_TABLE}: {:#}", fault.into_error()))
    }
}
