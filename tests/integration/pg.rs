//! A throwaway PostgreSQL server for the integration tests, and a TCP proxy that can cut a
//! connection right after the client's COMMIT reached the server.
//!
//! `PgServer` runs its own cluster (Debian's `initdb` and `pg_ctl`) in a temporary directory,
//! listening only on 127.0.0.1 on a free port; under root it runs as the `postgres` user,
//! since PostgreSQL refuses to run as root. Tests that only need some database share one
//! server (`PgServer::shared`) and each create their own (`fresh_database`). Without the
//! binaries, tests skip, or fail when `CI` is set (`start_or_skip`, `shared_or_skip`).
//!
//! `CutProxy` relays TCP to the server. Armed, it forwards the next COMMIT and then drops the
//! connection without passing the answer on: the client cannot tell whether it committed.

#![cfg(unix)]
#![allow(dead_code)]

use std::collections::HashMap;
use std::env;
use std::ffi::OsStr;
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

/// The role, password and database `PgServer::set_password_auth` creates.
pub const ALICE: (&str, &str, &str) = ("alice", "s3cret", "alicedb");

// ------------------------------------------------------------------------------------------
// Finding and running the binaries
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
    let [initdb, pg_ctl, psql] = ["initdb", "pg_ctl", "psql"].map(find_tool);
    let (initdb, pg_ctl, psql) = (initdb?, pg_ctl?, psql?);
    let as_postgres = run(&mut command("id", ["-u"])).is_ok_and(|uid| uid.trim() == "0");
    if as_postgres && run(&mut command("id", ["postgres"])).is_err() {
        return Err("running as root, but there is no postgres user to run the server as".into());
    }
    Ok(Tools {
        initdb,
        pg_ctl,
        psql,
        as_postgres,
    })
}

/// `name` on PATH, else in Debian's per-version directories, highest version first.
fn find_tool(name: &str) -> Result<PathBuf, String> {
    let path = env::var_os("PATH").unwrap_or_default();
    let mut dirs: Vec<PathBuf> = env::split_paths(&path).collect();
    let mut versions: Vec<(u32, PathBuf)> = Vec::new();
    for entry in fs::read_dir("/usr/lib/postgresql").into_iter().flatten() {
        let Ok(entry) = entry else { continue };
        if let Ok(version) = entry.file_name().to_string_lossy().parse() {
            versions.push((version, entry.path().join("bin")));
        }
    }
    versions.sort_by(|a, b| b.cmp(a));
    dirs.extend(versions.into_iter().map(|(_, dir)| dir));
    let runnable = |m: fs::Metadata| m.is_file() && m.permissions().mode() & 0o111 != 0;
    let found = dirs.into_iter().map(|dir| dir.join(name));
    let mut found = found.filter(|p| fs::metadata(p).is_ok_and(runnable));
    found
        .next()
        .ok_or_else(|| format!("{name} is neither on PATH nor in /usr/lib/postgresql/*/bin"))
}

/// Whether the PostgreSQL tests can run here; the error says what is missing.
pub fn available() -> Result<(), String> {
    tools().map(drop)
}

/// True when the tests can run; otherwise prints [`SKIP`], or panics when `CI` is set.
fn runnable_or_skip() -> bool {
    let missing = available().err();
    match missing {
        Some(e) if env::var_os("CI").is_some() => panic!("{SKIP}: {e}"),
        Some(_) => eprintln!("{SKIP}"),
        None => {}
    }
    missing.is_none()
}

/// `program args...` without the developer's PG* variables (PGHOST, PGSSLMODE...): every
/// connection the tests make is spelled out in full.
fn command<S: AsRef<OsStr>>(program: impl AsRef<OsStr>, args: impl IntoIterator<Item = S>) -> Command {
    let mut cmd = Command::new(program);
    for (key, _) in env::vars_os().filter(|(key, _)| key.to_string_lossy().starts_with("PG")) {
        cmd.env_remove(key);
    }
    cmd.args(args);
    cmd
}

/// Runs `cmd` to completion: its stdout, or an error with everything it printed.
fn run(cmd: &mut Command) -> Result<String, String> {
    let out = cmd.output().map_err(|e| format!("cannot run {cmd:?}: {e}"))?;
    if !out.status.success() {
        let (stdout, stderr) = (lossy(&out.stdout), lossy(&out.stderr));
        return Err(format!("{cmd:?} failed ({}):\n{stdout}{stderr}", out.status));
    }
    Ok(lossy(&out.stdout))
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn must<T>(result: Result<T, String>) -> T {
    result.unwrap_or_else(|e| panic!("{e}"))
}

/// Runs `psql` on a connection URL: the rows as text, columns separated by `|`, without the
/// final newline. `?connect_timeout=N` in the URL overrides the default of 10 s.
pub fn psql_at(url: &str, sql: &str) -> Result<String, String> {
    let mut psql = command(&tools()?.psql, ["-X", "-A", "-t", "-v", "ON_ERROR_STOP=1"]);
    // A server that stopped answering must fail the test, not hang it.
    psql.env("PGCONNECT_TIMEOUT", "10").args(["-d", url, "-c", sql]);
    let out = run(&mut psql)?;
    Ok(out.strip_suffix('\n').unwrap_or(&out).to_owned())
}

/// A listener on a free port of 127.0.0.1, and the port.
fn listen() -> (TcpListener, u16) {
    let listener = TcpListener::bind(("127.0.0.1", 0)).expect("cannot bind a port on 127.0.0.1");
    let port = listener.local_addr().expect("no local address").port();
    (listener, port)
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
    /// Stops the server if the test process ends without dropping it (a `static`, a kill).
    watchdog: Mutex<Option<Child>>,
}

impl PgServer {
    /// Starts a new cluster; panics, saying why, when it cannot.
    pub fn start() -> PgServer {
        let tools = tools().unwrap_or_else(|e| panic!("{SKIP}: {e}"));
        let dir = tempfile::tempdir().expect("cannot create a temporary directory");
        // tempfile makes it 0700; the server user must be able to enter it.
        let mode = fs::Permissions::from_mode(0o755);
        fs::set_permissions(dir.path(), mode).expect("cannot chmod the temporary directory");
        if tools.as_postgres {
            must(run(command("chown", ["postgres:"]).arg(dir.path())));
        }
        let watchdog = Mutex::new(None);
        let mut server = PgServer {
            dir,
            port: 0,
            tools,
            watchdog,
        };
        let mut initdb = server.server_command(&tools.initdb);
        initdb.arg("-D").arg(server.data_dir());
        // --no-sync: the cluster is thrown away, waiting for the disk buys nothing.
        initdb.args("-U postgres --auth=trust -E UTF8 --locale=C --no-sync".split(' '));
        must(run(&mut initdb));
        for attempt in 1.. {
            server.port = listen().1;
            let logged = server.log().len();
            let Err(e) = run(&mut server.pg_ctl("start", &[])) else {
                break;
            };
            // Someone took the port before the server bound it: try another.
            let taken = server.log().get(logged..).is_some_and(|l| l.contains("in use"));
            if !taken || attempt == 5 {
                panic!("{e}\nserver log:\n{}", server.log());
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
    /// own (`fresh_database`). Never stop, restart or sigstop it.
    pub fn shared() -> &'static PgServer {
        static SHARED: OnceLock<PgServer> = OnceLock::new();
        SHARED.get_or_init(PgServer::start)
    }

    /// [`PgServer::shared`], or `None` as with [`PgServer::start_or_skip`].
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

    /// The URL of `alicedb` as `alice`, with her password (see `set_password_auth`).
    pub fn alice_url(&self) -> String {
        let (user, password, db) = ALICE;
        format!("postgresql://{user}:{password}@127.0.0.1:{}/{db}", self.port)
    }

    /// Creates a database no other test uses; its URL.
    pub fn fresh_database(&self, prefix: &str) -> String {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let safe = |c: char| if c.is_ascii_alphanumeric() { c } else { '_' };
        let prefix: String = prefix.chars().take(40).map(safe).collect();
        let name = format!("{prefix}_{}", NEXT.fetch_add(1, SeqCst));
        self.psql(&format!("CREATE DATABASE \"{name}\""));
        self.url_for(&name)
    }

    /// Runs `sql` as the superuser in `postgres`: the output of `psql -A -t`. Panics with
    /// psql's error when it fails.
    pub fn psql(&self, sql: &str) -> String {
        must(self.try_psql(sql))
    }

    pub fn try_psql(&self, sql: &str) -> Result<String, String> {
        psql_at(&self.url(), sql)
    }

    /// Kills the server the way a crash would and starts it again (crash recovery included).
    pub fn restart_immediate(&self) {
        self.or_log(run(&mut self.pg_ctl("restart", &["-m", "immediate"])));
    }

    /// A clean shutdown; `start_again` brings the server back on the same port.
    pub fn stop(&self) {
        self.or_log(run(&mut self.pg_ctl("stop", &["-m", "fast"])));
    }

    pub fn start_again(&self) {
        self.or_log(run(&mut self.pg_ctl("start", &[])));
    }

    /// The postmaster's process id; panics when the server is not running.
    pub fn postmaster_pid(&self) -> u32 {
        let pid = self.try_postmaster_pid();
        pid.unwrap_or_else(|| panic!("PostgreSQL is not running in {:?}", self.dir))
    }

    /// Freezes the postmaster and every backend: the server stops answering, on new and on
    /// open connections, while the kernel still accepts TCP connections for it.
    pub fn sigstop(&self) {
        let postmaster = self.postmaster_pid();
        // The postmaster first, so that it forks no child we would miss.
        must(signal(&[postmaster], "-STOP"));
        must(signal(&children(postmaster), "-STOP"));
    }

    pub fn sigcont(&self) {
        must(self.signal_all("-CONT"));
    }

    /// The server's log, for failure messages.
    pub fn log(&self) -> String {
        fs::read(self.dir.path().join("server.log")).map_or_else(|_| String::new(), |log| lossy(&log))
    }

    /// Creates role `alice` (password `s3cret`) owning database `alicedb`; TCP connections
    /// then need scram-sha-256 for alice, trust the superuser, and reject any other role.
    pub fn set_password_auth(&self) {
        let (user, password, db) = ALICE;
        self.psql("SET password_encryption = 'scram-sha-256'");
        self.psql(&format!("CREATE ROLE {user} LOGIN PASSWORD '{password}'"));
        self.psql(&format!("CREATE DATABASE {db} OWNER {user}"));
        let host = "host all postgres 127.0.0.1/32 trust\nhost all";
        self.write_hba(&format!(
            "local all all trust\n{host} {user} 127.0.0.1/32 scram-sha-256\n"
        ));
    }

    /// Makes a self-signed certificate and turns TLS on (connections may still go without).
    pub fn enable_ssl(&self) {
        let mut openssl = self.server_command(Path::new("openssl"));
        let args = "req -new -x509 -days 2 -nodes -subj /CN=localhost -keyout server.key -out server.crt";
        must(run(openssl.args(args.split(' '))));
        let (key, cert) = (
            self.dir.path().join("server.key"),
            self.dir.path().join("server.crt"),
        );
        // PostgreSQL refuses a key that others may read.
        fs::set_permissions(&key, fs::Permissions::from_mode(0o600)).expect("cannot chmod server.key");
        for (name, file) in [("ssl_cert_file", cert), ("ssl_key_file", key)] {
            self.psql(&format!("ALTER SYSTEM SET {name} = '{}'", file.display()));
        }
        self.psql("ALTER SYSTEM SET ssl = on");
        self.reload();
        let ssl = self.psql("SHOW ssl");
        assert_eq!(ssl, "on", "TLS did not come on; server log:\n{}", self.log());
    }

    /// Makes TCP connections use TLS (after `enable_ssl`): `host` rules become `hostssl`, and
    /// unencrypted connections are rejected.
    pub fn require_ssl_for_host(&self) {
        let hba = fs::read_to_string(self.data_dir().join("pg_hba.conf")).expect("cannot read pg_hba.conf");
        let mut rules = String::new();
        for rule in hba.lines() {
            let rule = rule
                .strip_prefix("host ")
                .map_or(rule.to_owned(), |rest| format!("hostssl {rest}"));
            rules += &(rule + "\n");
        }
        self.write_hba(&(rules + "hostnossl all all 0.0.0.0/0 reject\n"));
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// `program` as the user the server runs as, from the server's directory (the test's
    /// working directory may be closed to that user).
    fn server_command(&self, program: &Path) -> Command {
        let mut cmd = command(program, std::iter::empty::<&str>());
        if self.tools.as_postgres {
            cmd = command("runuser", ["-u", "postgres", "--"]);
            cmd.arg(program);
        }
        cmd.current_dir(self.dir.path());
        cmd
    }

    /// `pg_ctl MODE`, waiting up to 60 s. The settings go on the command line rather than in
    /// the data directory because the port changes when it was taken.
    fn pg_ctl(&self, mode: &str, args: &[&str]) -> Command {
        let mut cmd = self.server_command(&self.tools.pg_ctl);
        cmd.arg(mode).arg("-D").arg(self.data_dir());
        cmd.args(["-w", "-t", "60"]).args(args);
        if mode != "stop" {
            let (port, socket_dir) = (self.port, self.dir.path().display());
            let options = format!(
                "-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories='{socket_dir}' \
                 -c fsync=off -c max_connections=100 -c log_min_messages=warning"
            );
            // -l also keeps the postmaster off our stdout pipe, which would then never close.
            cmd.arg("-l").arg(self.dir.path().join("server.log"));
            cmd.arg("-o").arg(options);
        }
        cmd
    }

    fn or_log<T>(&self, result: Result<T, String>) -> T {
        result.unwrap_or_else(|e| panic!("{e}\nserver log:\n{}", self.log()))
    }

    fn try_postmaster_pid(&self) -> Option<u32> {
        let pid_file = fs::read_to_string(self.data_dir().join("postmaster.pid")).ok()?;
        pid_file.lines().next()?.trim().parse().ok()
    }

    fn signal_all(&self, signal_name: &str) -> Result<(), String> {
        let postmaster = self.try_postmaster_pid().ok_or("PostgreSQL is not running")?;
        let mut pids = children(postmaster);
        pids.push(postmaster);
        signal(&pids, signal_name)
    }

    /// A shell that waits for the test process to end, then stops the server and removes its
    /// directory: a `static` server is never dropped, and a killed test drops nothing.
    fn spawn_watchdog(&self) {
        const SCRIPT: &str = r#"while kill -0 "$1" 2>/dev/null; do sleep 1; done
if [ "$5" = yes ]; then runuser -u postgres -- "$4" stop -m immediate -D "$3"
else "$4" stop -m immediate -D "$3"; fi
rm -rf "$2""#;
        let mut cmd = command("sh", ["-c", SCRIPT, "sh", &process::id().to_string()]);
        cmd.arg(self.dir.path())
            .arg(self.data_dir())
            .arg(&self.tools.pg_ctl);
        cmd.arg(if self.tools.as_postgres { "yes" } else { "no" })
            .current_dir("/");
        cmd.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        // Its own process group: the Ctrl-C that kills the tests must not kill the watchdog.
        *lock(&self.watchdog) = Some(cmd.process_group(0).spawn().expect("cannot start the watchdog"));
    }

    fn write_hba(&self, rules: &str) {
        // Writing over the file keeps its owner, the server user.
        fs::write(self.data_dir().join("pg_hba.conf"), rules).expect("cannot write pg_hba.conf");
        self.reload();
    }

    /// Rereads the configuration, returning once new connections see it.
    fn reload(&self) {
        let load_time = || self.try_psql("SELECT pg_conf_load_time()");
        let before = must(load_time());
        self.psql("SELECT pg_reload_conf()");
        // The postmaster reloads asynchronously; the backends it forks afterwards inherit
        // its new load time.
        let deadline = Instant::now() + Duration::from_secs(10);
        while !load_time().is_ok_and(|t| t != before) {
            assert!(Instant::now() < deadline, "no reload; log:\n{}", self.log());
            thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        // A stopped server would never act on the shutdown request.
        let _ = self.signal_all("-CONT");
        let _ = run(&mut self.pg_ctl("stop", &["-m", "immediate"]));
        if let Some(mut watchdog) = lock(&self.watchdog).take() {
            let _ = watchdog.kill();
            let _ = watchdog.wait();
        }
    }
}

/// The processes whose parent is `pid` (`pgrep` exits 1, printing nothing, when none).
fn children(pid: u32) -> Vec<u32> {
    let pgrep = run(&mut command("pgrep", ["-P", &pid.to_string()])).unwrap_or_default();
    pgrep.split_whitespace().filter_map(|p| p.parse().ok()).collect()
}

fn signal(pids: &[u32], signal_name: &str) -> Result<(), String> {
    let pids = pids.iter().map(u32::to_string);
    match pids.len() {
        0 => Ok(()),
        _ => run(command("kill", [signal_name]).args(pids)).map(drop),
    }
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
    /// Both sockets of each open connection, so that `block_all` and drop can close them;
    /// the relay threads end once their sockets are shut down.
    open: Mutex<HashMap<usize, [TcpStream; 2]>>,
}

impl ProxyState {
    /// Shuts down connection `id`, or all of them.
    fn close(&self, id: Option<usize>) {
        let mut open = lock(&self.open);
        let closing: Vec<_> = match id {
            Some(id) => open.remove(&id).into_iter().collect(),
            None => open.drain().map(|(_, sockets)| sockets).collect(),
        };
        for socket in closing.iter().flatten() {
            let _ = socket.shutdown(Shutdown::Both);
        }
    }
}

/// What one connection's two directions tell each other during a cut.
#[derive(Default)]
struct CutFlags {
    /// Set before the COMMIT goes out: whatever the server sends next is its answer.
    cutting: AtomicBool,
    reply_seen: AtomicBool,
}

impl CutProxy {
    /// A proxy to 127.0.0.1:`target`, e.g. `CutProxy::new(pg.port())`.
    pub fn new(target: u16) -> CutProxy {
        let (listener, port) = listen();
        let state = Arc::new(ProxyState::default());
        let accepting = Arc::clone(&state);
        let acceptor = Some(thread::spawn(move || accept_loop(&listener, target, &accepting)));
        CutProxy {
            port,
            target,
            state,
            acceptor,
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `server_url` (e.g. from `fresh_database`) rewritten to go through the proxy.
    pub fn via(&self, server_url: &str) -> String {
        let direct = format!("127.0.0.1:{}", self.target);
        assert!(server_url.contains(&direct), "{server_url} is not on {direct}");
        server_url.replacen(&direct, &format!("127.0.0.1:{}", self.port), 1)
    }

    /// Cuts the next connection that sends a COMMIT (a simple Query, or a Parse of it up to
    /// its Sync) once the server got it, without passing the answer on; then disarms.
    pub fn arm_cut_after_commit(&self) {
        self.state.armed.store(true, SeqCst);
    }

    /// How many connections were cut after a COMMIT (counted as the cut starts).
    pub fn cuts(&self) -> usize {
        self.state.cuts.load(SeqCst)
    }

    /// While on, new connections are closed at once; turning it on closes the open ones.
    pub fn block_all(&self, on: bool) {
        self.state.blocked.store(on, SeqCst);
        if on {
            self.state.close(None);
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
        self.state.close(None);
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
        let server = TcpStream::connect_timeout(&upstream, Duration::from_secs(5));
        let Ok(server) = server else { continue };
        let copies = (client.try_clone(), server.try_clone());
        let (Ok(client_copy), Ok(server_copy)) = copies else {
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
        let state = Arc::clone(state);
        thread::spawn(move || {
            let _ = relay(client, server, &state);
            state.close(Some(id));
        });
    }
}

/// Relays one connection until either side closes it or it is cut.
fn relay(client: TcpStream, mut server: TcpStream, state: &ProxyState) -> io::Result<()> {
    let mut from_client = BufReader::new(client.try_clone()?);
    let encrypted = open_session(&mut from_client, &client, &mut server)?;
    let cut = Arc::new(CutFlags::default());
    let (from_server, to_client) = (server.try_clone()?, client.try_clone()?);
    let replies_cut = Arc::clone(&cut);
    let replies = thread::spawn(move || pass_replies(from_server, to_client, &replies_cut));
    let result = match encrypted {
        true => io::copy(&mut from_client, &mut server).map(drop),
        false => pass_messages(&mut from_client, &mut server, &cut, state),
    };
    for socket in [client, server] {
        let _ = socket.shutdown(Shutdown::Both);
    }
    let _ = replies.join();
    result
}

/// Passes the untyped packets that open a session: SSLRequest or GSSENCRequest, answered by
/// one byte, then the startup message. True when the session is now encrypted.
fn open_session(
    from_client: &mut impl BufRead,
    mut to_client: &TcpStream,
    server: &mut TcpStream,
) -> io::Result<bool> {
    loop {
        // 0x16 opens a TLS handshake: a client doing direct SSL (PostgreSQL 17).
        if from_client.fill_buf()?.first() == Some(&0x16) {
            return Ok(true);
        }
        let mut packet = vec![0u8; 8];
        from_client.read_exact(&mut packet)?;
        let (len, code) = (be_u32(&packet[..4]), be_u32(&packet[4..]));
        if !(8..=100_000).contains(&len) {
            return Err(io::Error::new(ErrorKind::InvalidData, "not a startup packet"));
        }
        from_client.take(u64::from(len) - 8).read_to_end(&mut packet)?;
        server.write_all(&packet)?;
        // Anything but SSLRequest (80877103) and GSSENCRequest (80877104) starts the session.
        if code != 80877103 && code != 80877104 {
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

fn be_u32(bytes: &[u8]) -> u32 {
    u32::from_be_bytes(bytes[..4].try_into().expect("four bytes"))
}

/// Passes the client's typed messages (a type byte, then a length that counts itself), and
/// cuts the connection after a COMMIT when the proxy is armed.
fn pass_messages(
    from_client: &mut impl Read,
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
        // take(): a bogus length reads what there is rather than allocating it.
        let len = be_u32(&message[1..]).saturating_sub(4);
        from_client.take(u64::from(len)).read_to_end(&mut message)?;
        let body = &message[5..];
        // Parse: the statement's name, then its text, each NUL-terminated.
        let parsed = || body.splitn(2, |&b| b == 0).nth(1).unwrap_or_default();
        let commits = match message[0] {
            b'Q' => is_commit(body),
            b'P' => {
                parsed_commit |= is_commit(parsed());
                false
            }
            b'S' => std::mem::take(&mut parsed_commit),
            _ => false,
        };
        let armed = || state.armed.compare_exchange(true, false, SeqCst, SeqCst).is_ok();
        if !(commits && armed()) {
            server.write_all(&message)?;
            continue;
        }
        state.cuts.fetch_add(1, SeqCst);
        cut.cutting.store(true, SeqCst);
        server.write_all(&message)?;
        // Cutting once the answer is on its way makes sure the server acted on the COMMIT.
        let deadline = Instant::now() + Duration::from_millis(200);
        while !cut.reply_seen.load(SeqCst) && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(2));
        }
        return Ok(());
    }
}

/// Whether a NUL-terminated statement starts with COMMIT.
fn is_commit(text: &[u8]) -> bool {
    let text = text.split(|&b| b == 0).next().unwrap_or_default();
    let word = text.trim_ascii_start().get(..6).unwrap_or_default();
    word.eq_ignore_ascii_case(b"COMMIT")
}

/// Passes the server's bytes to the client, except the answer to a COMMIT being cut.
fn pass_replies(mut from_server: TcpStream, mut to_client: TcpStream, cut: &CutFlags) {
    let mut buf = vec![0u8; 64 * 1024];
    while let Ok(n @ 1..) = from_server.read(&mut buf) {
        if cut.cutting.load(SeqCst) {
            cut.reply_seen.store(true, SeqCst);
            break;
        }
        if to_client.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    for socket in [to_client, from_server] {
        let _ = socket.shutdown(Shutdown::Both);
    }
}

// ------------------------------------------------------------------------------------------
// Checks of the helpers themselves
// ------------------------------------------------------------------------------------------

/// Runs `script` through `psql`'s stdin, which sends each statement as its own Query.
fn psql_script(url: &str, script: &str) -> process::Output {
    let mut psql = command(&must(tools()).psql, ["-X", "-v", "ON_ERROR_STOP=1", "-d", url]);
    psql.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = psql.spawn().expect("cannot run psql");
    let mut stdin = child.stdin.take().expect("piped stdin");
    stdin.write_all(script.as_bytes()).expect("cannot write to psql");
    drop(stdin);
    child.wait_with_output().expect("cannot wait for psql")
}

fn message(kind: u8, body: &[u8]) -> Vec<u8> {
    [&[kind][..], &(body.len() as u32 + 4).to_be_bytes(), body].concat()
}

/// A session opened by hand as the superuser (trust authentication), ready for queries.
fn raw_session(port: u16, db: &str) -> TcpStream {
    let mut socket = TcpStream::connect(("127.0.0.1", port)).expect("cannot connect");
    // Protocol 3.0 and the parameters; the startup message has no type byte.
    let startup = message(
        0,
        format!("\0\x03\0\0user\0postgres\0database\0{db}\0\0").as_bytes(),
    );
    socket
        .write_all(&startup[1..])
        .expect("cannot send the startup message");
    until_ready(&mut socket);
    socket
}

/// Reads the server's messages up to ReadyForQuery; panics on an error or a closed socket.
fn until_ready(socket: &mut TcpStream) {
    let mut head = [0u8; 5];
    while head[0] != b'Z' {
        socket.read_exact(&mut head).expect("the session was closed");
        let mut body = vec![0u8; be_u32(&head[1..]) as usize - 4];
        socket.read_exact(&mut body).expect("the session was closed");
        assert_ne!(head[0], b'E', "the server answered an error: {}", lossy(&body));
    }
}

#[test]
fn server_restarts_stops_and_freezes() {
    let Some(pg) = PgServer::start_or_skip() else {
        return;
    };
    pg.psql("CREATE TABLE t(x int); INSERT INTO t VALUES (1), (2)");
    let before = pg.postmaster_pid();
    pg.restart_immediate();
    assert_ne!(pg.postmaster_pid(), before, "restart_immediate did not restart");
    assert_eq!(pg.psql("SELECT x, 'a' FROM t ORDER BY x"), "1|a\n2|a");
    pg.stop();
    assert!(pg.try_psql("SELECT 1").is_err(), "a stopped server answered");
    pg.start_again();

    let mut open = raw_session(pg.port(), "postgres");
    open.set_read_timeout(Some(Duration::from_millis(500)))
        .expect("no timeout");
    pg.sigstop();
    let quick = format!("{}?connect_timeout=2", pg.url());
    let refused = psql_at(&quick, "SELECT 1");
    open.write_all(&message(b'Q', b"SELECT 1\0"))
        .expect("cannot send a query");
    let answered = open.read(&mut [0u8; 64]);
    pg.sigcont();
    assert!(refused.is_err(), "a stopped server accepted a connection");
    assert!(answered.is_err(), "a stopped server answered: {answered:?}");
    open.set_read_timeout(None).expect("no timeout");
    until_ready(&mut open);
    assert_eq!(psql_at(&quick, "SELECT count(*) FROM t").as_deref(), Ok("2"));
}

#[test]
fn proxy_cuts_after_a_simple_query_commit() {
    let Some(pg) = PgServer::shared_or_skip() else {
        return;
    };
    let db = pg.fresh_database("proxy_cut");
    assert_ne!(db, pg.fresh_database("proxy_cut"), "the same database twice");
    must(psql_at(&db, "CREATE TABLE t(x int)"));
    let proxy = CutProxy::new(pg.port());
    assert_eq!(psql_at(&proxy.via(&db), "SELECT 2").as_deref(), Ok("2"));
    proxy.arm_cut_after_commit();
    let script = "BEGIN;\nINSERT INTO t VALUES (1);\nCOMMIT;\nSELECT 'after';\n";
    let run = psql_script(&proxy.via(&db), script);
    let (stdout, stderr) = (lossy(&run.stdout), lossy(&run.stderr));
    assert!(
        !run.status.success() && stderr.contains("connection"),
        "not cut: {stderr}"
    );
    assert!(!stdout.contains("after"), "psql went on after the cut");
    assert_eq!(proxy.cuts(), 1);
    assert_eq!(
        psql_at(&db, "SELECT count(*) FROM t").as_deref(),
        Ok("1"),
        "COMMIT lost"
    );
    assert_eq!(
        psql_at(&proxy.via(&db), "SELECT 3").as_deref(),
        Ok("3"),
        "still armed"
    );
}

#[test]
fn proxy_cuts_after_a_parsed_commit_and_blocks() {
    let Some(pg) = PgServer::shared_or_skip() else {
        return;
    };
    let db = pg.fresh_database("proxy_parse");
    must(psql_at(&db, "CREATE TABLE t(x int)"));
    let proxy = CutProxy::new(pg.port());
    let db_name = db.rsplit('/').next().expect("a URL has a path");
    let mut session = raw_session(proxy.port(), db_name);
    let insert = message(b'Q', b"BEGIN; INSERT INTO t VALUES (7)\0");
    session.write_all(&insert).expect("cannot send");
    until_ready(&mut session);
    proxy.arm_cut_after_commit();
    // Parse, Bind (unnamed portal and statement, no formats or values), Execute, Sync.
    let parse = message(b'P', b"\0 commit\0\0\0");
    let commit = [
        parse,
        message(b'B', &[0; 8]),
        message(b'E', &[0; 5]),
        message(b'S', b""),
    ];
    session.write_all(&commit.concat()).expect("cannot send");
    let mut answer = Vec::new();
    let _ = session.read_to_end(&mut answer);
    assert_eq!(lossy(&answer), "", "the answer to COMMIT reached the client");
    assert_eq!(proxy.cuts(), 1);
    assert_eq!(psql_at(&db, "SELECT x FROM t").as_deref(), Ok("7"), "COMMIT lost");

    let mut open = raw_session(proxy.port(), db_name);
    proxy.block_all(true);
    assert_eq!(
        open.read(&mut [0u8; 16]).ok(),
        Some(0),
        "block_all left a session open"
    );
    assert!(
        psql_at(&proxy.via(&db), "SELECT 1").is_err(),
        "a blocked proxy let psql in"
    );
    proxy.block_all(false);
    assert_eq!(psql_at(&proxy.via(&db), "SELECT 1").as_deref(), Ok("1"));
}

#[test]
fn password_and_tls_requirements() {
    let Some(pg) = PgServer::start_or_skip() else {
        return;
    };
    pg.set_password_auth();
    let alice = pg.alice_url();
    assert_eq!(psql_at(&alice, "SELECT current_user").as_deref(), Ok("alice"));
    let wrong = alice.replace(ALICE.1, "wrong");
    assert!(
        psql_at(&wrong, "SELECT 1").is_err(),
        "a wrong password was accepted"
    );
    pg.enable_ssl();
    pg.require_ssl_for_host();
    let plain = format!("{alice}?sslmode=disable");
    assert!(
        psql_at(&plain, "SELECT 1").is_err(),
        "an unencrypted connection was accepted"
    );
    let ssl = "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()";
    assert_eq!(psql_at(&alice, ssl).as_deref(), Ok("t"));
    assert_eq!(pg.psql(ssl), "t");
}
