//! End-to-end tests: every test runs the built `statbuf` binary and checks what it wrote
//! against counts computed independently (by mawk, or in the test from the data it wrote).

mod tools;
mod util;

mod bucket;
mod compressed;
mod core;
mod docs;
mod errors;
mod exec;
mod explain;
mod faults;
mod filters;
mod follow;
mod follow_limits;
mod hostile;
mod inputs;
mod pg;
mod pg_proxy;
mod postgres;
#[cfg(unix)]
mod progress;
mod properties;
mod resume;
mod rotation_sets;
#[cfg(unix)]
mod signals;
mod sinks;
mod sources;
mod structured;
