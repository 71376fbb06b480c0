//! A throwaway PostgreSQL server for the integration tests, and a TCP proxy that can cut a
//! connection right after the client's COMMIT reached the server.
//!
//! `PgServer` runs its own cluster (Debian's `initdb` and `pg_ctl`) in a temporary directory,
//! listening only on 127.0.0.1 on a free port; under root it runs as the `postgres` user,
//! since PostgreSQL refuses to run as root. Tests that only need some database share one
//! server (`PgServer::shared`) and each create their own database (`fresh_database`). When
//! the binaries are missing, tests skip, or fail when `CI` is set (`start_or_skip`).
//!
//! `CutProxy` relays TCP to the server. Armed, it forwards the next COMMIT and then drops the
//! connection without passing the answer on: the client cannot tell whether it committed.

#![cfg(unix)]
#![allow(dead_code)]

use std::collections::HashMap;
use std::env;
use std::fs;
use std::io::{self, BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{self, Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// What a test prints when it skips, and the start of what it panics with under `CI`.
pub const SKIP: &str = "skipped: PostgreSQL tests need initdb, pg_ctl and psql (apt-get install postgresql)";

/// The role and database `PgServer::set_password_auth` creates.
pub const ALICE: (&str, &str, &str) = ("alice", "s3cret", "alicedb");

// ------------------------------------------------------------------------------------------
// Finding the binaries
// ------------------------------------------------------------------------------------------

struct Tools {
    initdb: PathBuf,
    pg_ctl: PathBuf,
    psql: PathBuf,
    /// PostgreSQL refuses to run as root, so under root the server runs as `postgres`.
    as_postgres: bool,
}

fn tools() -> Result<&'static Tools, String> {
    static TOOLS: OnceLock<Result<Tools, String>> = OnceLock::new();
    TOOLS.get_or_init(find_tools).as_ref().map_err(Clone::clone)
}

fn find_tools() -> Result<Tools, String> {
    let find = |name: &str| {
        find_tool(name).ok_or_else(|| format!("{name} is neither on PATH nor in /usr/lib/postgresql/*/bin"))
    };
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0");
    let tools = Tools {
        initdb: find("initdb")?,
        pg_ctl: find("pg_ctl")?,
        psql: find("psql")?,
        as_postgres: root,
    };
    if root
        && !Command::new("id")
            .args(["-u", "postgres"])
            .output()
            .is_ok_and(|o| o.status.success())
    {
        return Err("running as root, but there is no postgres user to run the server as".into());
    }
    Ok(tools)
}

/// `name` on PATH, else in Debian's per-version directories, highest version first.
fn find_tool(name: &str) -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = env::var_os("PATH")
        .map(|p| env::split_paths(&p).collect())
        .unwrap_or_default();
    let mut versions: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| Some((e.file_name().to_str()?.parse().ok()?, e.path().join("bin"))))
        .collect();
    versions.sort_by(|a, b| b.0.cmp(&a.0));
    dirs.extend(versions.into_iter().map(|(_, dir)| dir));
    dirs.into_iter()
        .map(|dir| dir.join(name))
        .find(|p| fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0))
}

/// Whether the PostgreSQL tests can run here; the error says what is missing.
pub fn available() -> Result<(), String> {
    tools().map(drop)
}

/// True when the tests can run; otherwise prints [`SKIP`], or panics when `CI` is set.
fn runnable_or_skip() -> bool {
    match available() {
        Ok(()) => true,
        Err(e) if env::var_os("CI").is_some() => panic!("{SKIP}: {e}"),
        Err(_) => {
            eprintln!("{SKIP}");
            false
        }
    }
}

/// Drops the PG* variables of the developer's shell (PGHOST, PGSSLMODE, PGPASSWORD...):
/// every connection the tests make is spelled out in full.
fn scrub_pg_env(cmd: &mut Command) -> &mut Command {
    for (key, _) in env::vars_os() {
        if key.to_string_lossy().starts_with("PG") {
            cmd.env_remove(key);
        }
    }
    cmd
}

/// Runs `cmd` to completion; its stdout, or an error with everything it printed.
fn run(cmd: &mut Command) -> Result<String, String> {
    let out = cmd.output().map_err(|e| format!("cannot run {cmd:?}: {e}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if out.status.success() {
        return Ok(stdout);
    }
    Err(format!(
        "{cmd:?} failed ({}):\n{stdout}{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    ))
}

/// Runs `psql` on a connection URL; the rows as text, columns separated by `|`, without the
/// final newline. `?connect_timeout=N` in the URL overrides the default of 10 s.
pub fn psql_at(url: &str, sql: &str) -> Result<String, String> {
    let tools = tools()?;
    let mut cmd = Command::new(&tools.psql);
    scrub_pg_env(&mut cmd)
        // A server that stopped answering must fail the test, not hang it.
        .env("PGCONNECT_TIMEOUT", "10")
        .args(["-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql]);
    let mut out = run(&mut cmd)?;
    if out.ends_with('\n') {
        out.pop();
    }
    Ok(out)
}

/// The rows `sql` returns on `url`, split into columns; panics when psql fails. psql cannot
/// tell no rows from one row of one empty string: both give no rows here.
pub fn pg_rows(url: &str, sql: &str) -> Vec<Vec<String>> {
    let out = psql_at(url, sql).unwrap_or_else(|e| panic!("{e}"));
    out.lines()
        .filter(|l| !l.is_empty())
        .map(|l| l.split('|').map(str::to_owned).collect())
        .collect()
}

/// A port nobody listened on a moment ago.
fn free_port() -> u16 {
    let listener = TcpListener::bind(("127.0.0.1", 0)).expect("cannot bind a port on 127.0.0.1");
    listener
        .local_addr()
        .expect("a bound listener has an address")
        .port()
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

// ------------------------------------------------------------------------------------------
// The server
// ------------------------------------------------------------------------------------------

/// A PostgreSQL cluster of its own, removed (processes and files) when dropped.
pub struct PgServer {
    /// Holds `data/`, `server.log`, the Unix socket and the TLS files.
    dir: tempfile::TempDir,
    port: u16,
    tools: &'static Tools,
    /// Stops the server if the test process dies without dropping it (a `static`, a kill).
    watchdog: Mutex<Option<Child>>,
}

impl PgServer {
    /// Starts a new cluster; panics, saying why, when it cannot.
    pub fn start() -> PgServer {
        let tools = tools().unwrap_or_else(|e| panic!("{SKIP}: {e}"));
        let dir = tempfile::Builder::new()
            .prefix("statbuf-pg-")
            .tempdir()
            .expect("cannot create a temporary directory for PostgreSQL");
        // tempfile makes it 0700; the server user must be able to enter it.
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755))
            .expect("cannot chmod the PostgreSQL directory");
        if tools.as_postgres {
            run(Command::new("chown").arg("postgres:").arg(dir.path())).unwrap_or_else(|e| panic!("{e}"));
        }
        let mut server = PgServer {
            dir,
            port: 0,
            tools,
            watchdog: Mutex::new(None),
        };
        let mut initdb = server.server_command(&tools.initdb);
        initdb.arg("-D").arg(server.data_dir());
        // --no-sync: the cluster is thrown away, waiting for the disk buys nothing.
        initdb.args([
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        ]);
        run(&mut initdb).unwrap_or_else(|e| panic!("initdb failed: {e}"));
        // The free port may be taken by someone else before the server binds it: try others.
        for attempt in 1.. {
            server.port = free_port();
            let logged = server.log().len();
            match server.pg_ctl_start() {
                Ok(()) => break,
                Err(_) if attempt < 5 && server.log().get(logged..).is_some_and(|l| l.contains("in use")) => {
                }
                Err(e) => panic!("PostgreSQL did not start: {e}\nserver log:\n{}", server.log()),
            }
        }
        server.spawn_watchdog();
        server
    }

    /// A new server, or `None` (having printed [`SKIP`]) when PostgreSQL is not installed.
    pub fn start_or_skip() -> Option<PgServer> {
        runnable_or_skip().then(PgServer::start)
    }

    /// One server for the whole test process, for tests that only need a database of their
    /// own (see [`PgServer::fresh_database`]). Never sigstop or restart it.
    pub fn shared() -> &'static PgServer {
        static SHARED: OnceLock<PgServer> = OnceLock::new();
        SHARED.get_or_init(PgServer::start)
    }

    /// [`PgServer::shared`], or `None` like [`PgServer::start_or_skip`].
    pub fn shared_or_skip() -> Option<&'static PgServer> {
        runnable_or_skip().then(PgServer::shared)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The superuser's URL for the `postgres` database.
    pub fn url(&self) -> String {
        self.url_for("postgres")
    }

    pub fn url_for(&self, db: &str) -> String {
        format!("postgresql://postgres@127.0.0.1:{}/{db}", self.port)
    }

    /// The URL of `alicedb` as `alice`, with her password (after `set_password_auth`).
    pub fn alice_url(&self) -> String {
        let (user, password, db) = ALICE;
        format!("postgresql://{user}:{password}@127.0.0.1:{}/{db}", self.port)
    }

    /// Creates a database no other test uses; its URL.
    pub fn fresh_database(&self, prefix: &str) -> String {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let prefix: String = prefix
            .chars()
            .take(40)
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '_'
                }
            })
            .collect();
        let name = format!("{prefix}_{}", NEXT.fetch_add(1, SeqCst));
        self.psql(&format!("CREATE DATABASE \"{name}\""));
        self.url_for(&name)
    }

    /// Runs `sql` as the superuser in `postgres`; the output of `psql -A -t`. Panics with
    /// psql's error when it fails.
    pub fn psql(&self, sql: &str) -> String {
        self.try_psql(sql).unwrap_or_else(|e| panic!("{e}"))
    }

    pub fn try_psql(&self, sql: &str) -> Result<String, String> {
        psql_at(&self.url(), sql)
    }

    /// Kills the server the way a crash would and starts it again (crash recovery included).
    pub fn restart_immediate(&self) {
        let mut cmd = self.pg_ctl("restart");
        cmd.args(["-m", "immediate", "-w", "-t", "60", "-l"])
            .arg(self.log_path());
        cmd.arg("-o").arg(self.server_options());
        run(&mut cmd).unwrap_or_else(|e| panic!("{e}\nserver log:\n{}", self.log()));
    }

    /// A clean shutdown; `start_again` brings the server back on the same port.
    pub fn stop(&self) {
        run(self.pg_ctl("stop").args(["-m", "fast", "-w"])).unwrap_or_else(|e| panic!("{e}"));
    }

    pub fn start_again(&self) {
        self.pg_ctl_start()
            .unwrap_or_else(|e| panic!("{e}\nserver log:\n{}", self.log()));
    }

    /// The postmaster's process id; panics when the server is not running.
    pub fn postmaster_pid(&self) -> u32 {
        self.try_postmaster_pid()
            .unwrap_or_else(|| panic!("PostgreSQL is not running in {:?}", self.dir))
    }

    /// Freezes the postmaster and every backend: the server stops answering, on new and on
    /// open connections, while the kernel still accepts TCP connections for it.
    pub fn sigstop(&self) {
        let postmaster = self.postmaster_pid();
        // The postmaster first, so that it forks no child we would miss.
        signal(&[postmaster], "-STOP").unwrap_or_else(|e| panic!("{e}"));
        signal(&children(postmaster), "-STOP").unwrap_or_else(|e| panic!("{e}"));
    }

    pub fn sigcont(&self) {
        let postmaster = self.postmaster_pid();
        let mut pids = children(postmaster);
        pids.push(postmaster);
        signal(&pids, "-CONT").unwrap_or_else(|e| panic!("{e}"));
    }

    /// The server's log, for failure messages.
    pub fn log(&self) -> String {
        fs::read(self.log_path())
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }

    /// Creates role `alice` (password `s3cret`) owning database `alicedb`; TCP connections
    /// then need scram-sha-256 for alice, trust the superuser, and reject any other role.
    pub fn set_password_auth(&self) {
        let (user, password, db) = ALICE;
        self.psql(&format!(
            "SET password_encryption = 'scram-sha-256'; CREATE ROLE {user} LOGIN PASSWORD '{password}'"
        ));
        self.psql(&format!("CREATE DATABASE {db} OWNER {user}"));
        let hba = format!(
            "# Written by the statbuf tests.\nlocal all all trust\n\
             host all postgres 127.0.0.1/32 trust\nhost all {user} 127.0.0.1/32 scram-sha-256\n"
        );
        self.write_hba(&hba);
    }

    /// Makes a self-signed certificate and turns TLS on (connections may still go without).
    pub fn enable_ssl(&self) {
        let mut openssl = self.server_command(Path::new("openssl"));
        openssl.args([
            "req",
            "-new",
            "-x509",
            "-days",
            "2",
            "-nodes",
            "-subj",
            "/CN=localhost",
        ]);
        openssl.args(["-keyout", "server.key", "-out", "server.crt"]);
        run(&mut openssl).unwrap_or_else(|e| panic!("{e}"));
        let key = self.dir.path().join("server.key");
        // PostgreSQL refuses a key that others may read.
        fs::set_permissions(&key, fs::Permissions::from_mode(0o600)).expect("cannot chmod server.key");
        let cert = self.dir.path().join("server.crt");
        for (name, value) in [("ssl_cert_file", cert), ("ssl_key_file", key)] {
            self.psql(&format!("ALTER SYSTEM SET {name} = '{}'", value.display()));
        }
        self.psql("ALTER SYSTEM SET ssl = on");
        self.reload();
        assert_eq!(
            self.psql("SHOW ssl"),
            "on",
            "TLS did not come on; server log:\n{}",
            self.log()
        );
    }

    /// Makes every TCP connection use TLS (after `enable_ssl`): `host` rules become `hostssl`
    /// and unencrypted ones are rejected.
    pub fn require_ssl_for_host(&self) {
        let path = self.data_dir().join("pg_hba.conf");
        let hba = fs::read_to_string(&path).expect("cannot read pg_hba.conf");
        let mut rules: String = hba
            .lines()
            .map(|l| {
                l.strip_prefix("host ")
                    .map_or(format!("{l}\n"), |rest| format!("hostssl {rest}\n"))
            })
            .collect();
        rules.push_str("hostnossl all all 0.0.0.0/0 reject\n");
        self.write_hba(&rules);
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("server.log")
    }

    /// `program` as the user the server runs as, from the server's directory (the test's
    /// working directory may be closed to that user).
    fn server_command(&self, program: &Path) -> Command {
        let mut cmd = if self.tools.as_postgres {
            let mut cmd = Command::new("runuser");
            cmd.args(["-u", "postgres", "--"]).arg(program);
            cmd
        } else {
            Command::new(program)
        };
        scrub_pg_env(&mut cmd).current_dir(self.dir.path());
        cmd
    }

    fn pg_ctl(&self, mode: &str) -> Command {
        let mut cmd = self.server_command(&self.tools.pg_ctl);
        cmd.arg(mode).arg("-D").arg(self.data_dir());
        cmd
    }

    /// Settings given on the command line, so that nothing in the data directory depends on
    /// the port (which changes when it was taken).
    fn server_options(&self) -> String {
        format!(
            "-c listen_addresses=127.0.0.1 -c port={} -c unix_socket_directories='{}' -c fsync=off \
             -c max_connections=100 -c log_min_messages=warning",
            self.port,
            self.dir.path().display()
        )
    }

    fn pg_ctl_start(&self) -> Result<(), String> {
        let mut cmd = self.pg_ctl("start");
        // -l also matters to us: without it the postmaster would hold our stdout pipe open.
        cmd.args(["-w", "-t", "60", "-l"])
            .arg(self.log_path())
            .arg("-o")
            .arg(self.server_options());
        run(&mut cmd).map(drop)
    }

    fn try_postmaster_pid(&self) -> Option<u32> {
        let pid_file = fs::read_to_string(self.data_dir().join("postmaster.pid")).ok()?;
        pid_file.lines().next()?.trim().parse().ok()
    }

    /// A shell that waits for the test process to end, then stops the server and removes its
    /// directory: a `static` server is never dropped, and a killed test drops nothing.
    fn spawn_watchdog(&self) {
        const SCRIPT: &str = r#"while kill -0 "$1" 2>/dev/null; do sleep 1; done
if [ "$5" = yes ]; then runuser -u postgres -- "$4" stop -m immediate -D "$3"
else "$4" stop -m immediate -D "$3"; fi
rm -rf "$2""#;
        let mut cmd = Command::new("sh");
        cmd.args(["-c", SCRIPT, "sh", &process::id().to_string()]);
        cmd.arg(self.dir.path())
            .arg(self.data_dir())
            .arg(&self.tools.pg_ctl);
        cmd.arg(if self.tools.as_postgres { "yes" } else { "no" });
        // Its own process group: a Ctrl-C that kills the tests must not kill the watchdog.
        scrub_pg_env(&mut cmd)
            .current_dir("/")
            .stdin(Stdio::null())
            .stdout(Stdio::null());
        let child = cmd
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .expect("cannot start the watchdog");
        *lock(&self.watchdog) = Some(child);
    }

    fn write_hba(&self, rules: &str) {
        // Writing over the file keeps its owner, the server user.
        fs::write(self.data_dir().join("pg_hba.conf"), rules).expect("cannot write pg_hba.conf");
        self.reload();
    }

    /// Rereads the configuration, returning once new connections see it.
    fn reload(&self) {
        let before = self.psql("SELECT pg_conf_load_time()");
        self.psql("SELECT pg_reload_conf()");
        // The postmaster reloads asynchronously; the backends it forks afterwards inherit
        // its new load time.
        let deadline = Instant::now() + Duration::from_secs(10);
        while !self
            .try_psql("SELECT pg_conf_load_time()")
            .is_ok_and(|t| t != before)
        {
            assert!(
                Instant::now() < deadline,
                "PostgreSQL did not reload; log:\n{}",
                self.log()
            );
            thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        // A stopped server would never act on the shutdown request.
        if let Some(postmaster) = self.try_postmaster_pid() {
            let mut pids = children(postmaster);
            pids.push(postmaster);
            let _ = signal(&pids, "-CONT");
        }
        let _ = run(self.pg_ctl("stop").args(["-m", "immediate", "-w"]));
        if let Some(mut watchdog) = lock(&self.watchdog).take() {
            let _ = watchdog.kill();
            let _ = watchdog.wait();
        }
    }
}

/// The processes whose parent is `pid` (`pgrep` exits 1, printing nothing, when none).
fn children(pid: u32) -> Vec<u32> {
    let out = Command::new("pgrep")
        .arg("-P")
        .arg(pid.to_string())
        .output()
        .expect("cannot run pgrep");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

fn signal(pids: &[u32], signal: &str) -> Result<(), String> {
    if pids.is_empty() {
        return Ok(());
    }
    run(Command::new("kill")
        .arg(signal)
        .args(pids.iter().map(u32::to_string)))
    .map(drop)
}

// ------------------------------------------------------------------------------------------
// The proxy
// ------------------------------------------------------------------------------------------

/// A TCP proxy on 127.0.0.1 to a PostgreSQL port, which can cut a connection right after a
/// COMMIT. It reads the client's messages, so cutting only works on unencrypted sessions
/// (`sslmode=disable`, or a server without TLS).
pub struct CutProxy {
    port: u16,
    target: u16,
    state: Arc<ProxyState>,
    acceptor: Option<JoinHandle<()>>,
}

#[derive(Default)]
struct ProxyState {
    armed: AtomicBool,
    blocked: AtomicBool,
    stopping: AtomicBool,
    cuts: AtomicUsize,
    next_id: AtomicUsize,
    /// Both sockets of each open connection, so that `block_all` and drop can close them.
    open: Mutex<HashMap<usize, [TcpStream; 2]>>,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

impl ProxyState {
    fn close(&self, id: usize) {
        for socket in lock(&self.open).remove(&id).into_iter().flatten() {
            let _ = socket.shutdown(Shutdown::Both);
        }
    }

    fn close_all(&self) {
        for socket in lock(&self.open).drain().flat_map(|(_, sockets)| sockets) {
            let _ = socket.shutdown(Shutdown::Both);
        }
    }
}

/// What one connection's two directions tell each other about a cut in progress.
#[derive(Default)]
struct CutFlags {
    /// Set before the COMMIT goes out: whatever the server sends now is its answer.
    cutting: AtomicBool,
    reply_seen: AtomicBool,
}

const SSL_REQUEST: u32 = 80877103;
const GSSENC_REQUEST: u32 = 80877104;

impl CutProxy {
    /// A proxy to 127.0.0.1:`target_port`, e.g. `CutProxy::new(pg.port())`.
    pub fn new(target_port: u16) -> CutProxy {
        let listener = TcpListener::bind(("127.0.0.1", 0)).expect("cannot bind the proxy's port");
        let port = listener
            .local_addr()
            .expect("a bound listener has an address")
            .port();
        let state = Arc::new(ProxyState::default());
        let accepting = Arc::clone(&state);
        let acceptor = thread::Builder::new()
            .name("pg-proxy".into())
            .spawn(move || accept_loop(&listener, target_port, &accepting))
            .expect("cannot start the proxy thread");
        CutProxy {
            port,
            target: target_port,
            state,
            acceptor: Some(acceptor),
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The superuser's URL for `db` through the proxy.
    pub fn url(&self, db: &str) -> String {
        format!("postgresql://postgres@127.0.0.1:{}/{db}", self.port)
    }

    /// `server_url` (e.g. from `fresh_database`) rewritten to go through the proxy.
    pub fn via(&self, server_url: &str) -> String {
        let direct = format!("127.0.0.1:{}", self.target);
        assert!(
            server_url.contains(&direct),
            "{server_url} does not point at {direct}"
        );
        server_url.replacen(&direct, &format!("127.0.0.1:{}", self.port), 1)
    }

    /// Cuts the next connection that sends a COMMIT (a simple Query, or a Parse of it up to
    /// its Sync) once the server got it, without passing the answer on; then disarms.
    pub fn arm_cut_after_commit(&self) {
        self.state.armed.store(true, SeqCst);
    }

    /// How many connections were cut after a COMMIT.
    pub fn cuts(&self) -> usize {
        self.state.cuts.load(SeqCst)
    }

    /// While on, new connections are closed at once; turning it on closes the open ones.
    pub fn block_all(&self, on: bool) {
        self.state.blocked.store(on, SeqCst);
        if on {
            self.state.close_all();
        }
    }
}

impl Drop for CutProxy {
    fn drop(&mut self) {
        self.state.stopping.store(true, SeqCst);
        // The accept loop only looks at the flag when a connection arrives: make one.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
        self.state.close_all();
        for relay in std::mem::take(&mut *lock(&self.state.threads)) {
            let _ = relay.join();
        }
    }
}

fn accept_loop(listener: &TcpListener, target: u16, state: &Arc<ProxyState>) {
    let upstream = SocketAddr::from(([127, 0, 0, 1], target));
    for client in listener.incoming() {
        if state.stopping.load(SeqCst) {
            return;
        }
        // A refused connection to a server that is down reaches the client as a closed one.
        let Ok(client) = client else { continue };
        let Ok(server) = TcpStream::connect_timeout(&upstream, Duration::from_secs(5)) else {
            continue;
        };
        let (Ok(client_copy), Ok(server_copy)) = (client.try_clone(), server.try_clone()) else {
            continue;
        };
        let id = state.next_id.fetch_add(1, SeqCst);
        {
            // Checked under the lock `block_all` and drop take: no connection slips past them.
            let mut open = lock(&state.open);
            if state.blocked.load(SeqCst) || state.stopping.load(SeqCst) {
                continue;
            }
            open.insert(id, [client_copy, server_copy]);
        }
        let relaying = Arc::clone(state);
        let relay = thread::spawn(move || {
            let _ = relay(client, server, &relaying);
            relaying.close(id);
        });
        let mut threads = lock(&state.threads);
        threads.retain(|t| !t.is_finished());
        threads.push(relay);
    }
}

/// Relays one connection until either side closes it or it is cut.
fn relay(client: TcpStream, mut server: TcpStream, state: &ProxyState) -> io::Result<()> {
    let mut from_client = BufReader::new(client.try_clone()?);
    let mut to_client = client;
    let encrypted = open_session(&mut from_client, &mut to_client, &mut server)?;
    let cut = Arc::new(CutFlags::default());
    let replies = {
        let (mut from_server, cut) = (server.try_clone()?, Arc::clone(&cut));
        let mut to_client = to_client.try_clone()?;
        thread::spawn(move || pass_replies(&mut from_server, &mut to_client, &cut))
    };
    let result = if encrypted {
        io::copy(&mut from_client, &mut server).map(drop)
    } else {
        pass_messages(&mut from_client, &mut server, &cut, state)
    };
    let _ = to_client.shutdown(Shutdown::Both);
    let _ = server.shutdown(Shutdown::Both);
    let _ = replies.join();
    result
}

/// Passes the untyped packets that open a session: SSLRequest or GSSENCRequest, answered by
/// one byte, then the startup message. True when the session is now encrypted.
fn open_session(
    from_client: &mut BufReader<TcpStream>,
    to_client: &mut TcpStream,
    server: &mut TcpStream,
) -> io::Result<bool> {
    loop {
        // 0x16 opens a TLS handshake: a client doing direct SSL (PostgreSQL 17).
        if from_client.fill_buf()?.first() == Some(&0x16) {
            return Ok(true);
        }
        let mut head = [0u8; 8];
        from_client.read_exact(&mut head)?;
        let len = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize;
        if !(8..=100_000).contains(&len) {
            return Err(io::Error::new(
                ErrorKind::InvalidData,
                "not a PostgreSQL startup packet",
            ));
        }
        let mut packet = head.to_vec();
        from_client.take(len as u64 - 8).read_to_end(&mut packet)?;
        server.write_all(&packet)?;
        let code = u32::from_be_bytes([head[4], head[5], head[6], head[7]]);
        if code != SSL_REQUEST && code != GSSENC_REQUEST {
            return Ok(false);
        }
        let mut answer = [0u8];
        server.read_exact(&mut answer)?;
        to_client.write_all(&answer)?;
        if answer[0] != b'N' {
            return Ok(true);
        }
    }
}

/// Passes the client's typed messages (type byte, then a length that counts itself), and
/// cuts the connection after a COMMIT when the proxy is armed.
fn pass_messages(
    from_client: &mut BufReader<TcpStream>,
    server: &mut TcpStream,
    cut: &CutFlags,
    state: &ProxyState,
) -> io::Result<()> {
    let mut parsed_commit = false;
    loop {
        let mut message = vec![0u8; 5];
        match from_client.read_exact(&mut message) {
            Err(e) if e.kind() == ErrorKind::UnexpectedEof => return Ok(()),
            read => read?,
        }
        let len = u32::from_be_bytes([message[1], message[2], message[3], message[4]]) as u64;
        if len < 4 {
            return Err(io::Error::new(ErrorKind::InvalidData, "message length below 4"));
        }
        // take(): a bogus length reads what there is rather than allocating it.
        from_client.take(len - 4).read_to_end(&mut message)?;
        let body = &message[5..];
        let commits = match message[0] {
            b'Q' => is_commit(body),
            b'P' => {
                // Parse: the statement's name, then its text, each NUL-terminated.
                let text = body
                    .iter()
                    .position(|&b| b == 0)
                    .map_or(&[][..], |nul| &body[nul + 1..]);
                parsed_commit |= is_commit(text);
                false
            }
            b'S' => std::mem::take(&mut parsed_commit),
            _ => false,
        };
        if !(commits && state.armed.compare_exchange(true, false, SeqCst, SeqCst).is_ok()) {
            server.write_all(&message)?;
            continue;
        }
        cut.cutting.store(true, SeqCst);
        server.write_all(&message)?;
        // Cutting once the answer is on its way makes sure the server acted on the COMMIT.
        let deadline = Instant::now() + Duration::from_millis(200);
        while !cut.reply_seen.load(SeqCst) && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(2));
        }
        let _ = server.shutdown(Shutdown::Both);
        let _ = from_client.get_ref().shutdown(Shutdown::Both);
        state.cuts.fetch_add(1, SeqCst);
        return Ok(());
    }
}

/// Whether a NUL-terminated statement starts with COMMIT.
fn is_commit(text: &[u8]) -> bool {
    let text = text
        .split(|&b| b == 0)
        .next()
        .unwrap_or_default()
        .trim_ascii_start();
    text.get(..6)
        .is_some_and(|word| word.eq_ignore_ascii_case(b"COMMIT"))
}

/// Passes the server's bytes to the client, except the answer to a COMMIT being cut.
fn pass_replies(from_server: &mut TcpStream, to_client: &mut TcpStream, cut: &CutFlags) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match from_server.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if cut.cutting.load(SeqCst) {
            cut.reply_seen.store(true, SeqCst);
            break;
        }
        if to_client.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = to_client.shutdown(Shutdown::Both);
    let _ = from_server.shutdown(Shutdown::Both);
}
