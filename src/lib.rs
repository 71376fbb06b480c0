//! statbuf: count keys from log lines and flush the aggregated counts to stdout, CSV or SQLite.
//!
//! The pipeline, as the binary runs it (see `docs/ARCHITECTURE.md`):
//!
//! ```text
//!  input ──blocks──▶ dispatcher ──blocks, flush markers──▶ extract workers (a shard each)
//!                        ▲  │                                      │
//!       ticks, signals ──┘  └─────── snapshot: the sorted shards ◀──┘
//!                                     │ (merged as they are written)
//!                                     ▼
//!                                  flusher ──▶ sinks: stdout | csv | sqlite | postgres | exec
//! ```
//!
//! Each module has one job: `input` cuts files and stdin into blocks of whole lines, `extract`
//! turns a line into a key and a value, `worker` counts blocks, `counter` keeps per-key
//! totals, `pipeline` runs the threads and decides when to flush, `flusher` writes snapshots
//! to the `sink`s and keeps the ones that failed.

pub mod app;
pub mod checkpoint;
pub mod cli;
pub mod config;
pub mod counter;
pub mod exit;
pub mod explain;
pub mod extract;
pub mod filter;
pub mod flusher;
pub mod generate;
pub mod input;
pub mod key;
pub mod logtime;
pub mod message;
pub mod pipeline;
pub mod progress;
pub mod sink;
pub mod stop;
pub mod structured;
pub mod tail_capture;
pub mod timefmt;
pub mod worker;
