//! A throwaway PostgreSQL server for the integration tests.
//!
//! `PgServer` runs its own cluster (Debian's `initdb` and `pg_ctl`) in a temporary directory,
//! listening only on 127.0.0.1 on a free port; under root it runs as the `postgres` user,
//! since PostgreSQL refuses to run as root. Tests that only need some database share one
//! server (`PgServer::shared`) and each create their own (`fresh_database`). Without the
//! binaries, tests skip, or fail when `CI` is set (`start_or_skip`, `shared_or_skip`).
//!
//! The proxy is in `pg_proxy.rs`.

#![cfg(unix)]
#![allow(dead_code)]

use std::env;
use std::ffi::OsStr;
use std::fs;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{self, Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

/// What a test prints when it skips, and the start of what it panics with under `CI`.
pub const SKIP: &str = "skipped: PostgreSQL tests need initdb, pg_ctl and psql (apt-get install postgresql)";

/// The role, password and database `PgServer::set_password_auth` creates.
pub const ALICE: (&str, &str, &str) = ("alice", "s3cret", "alicedb");

// ------------------------------------------------------------------------------------------
// Finding and running the binaries
// ------------------------------------------------------------------------------------------

pub struct Tools {
    initdb: PathBuf,
    pg_ctl: PathBuf,
    pub psql: PathBuf,
    /// PostgreSQL refuses to run as root, so under root the server runs as `postgres`.
    as_postgres: bool,
}

pub fn tools() -> Result<&'static Tools, String> {
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
    let mut candidates = dirs.into_iter().map(|dir| dir.join(name));
    let found = candidates.find(|path| is_executable(path));
    found.ok_or_else(|| format!("{name} is neither on PATH nor in /usr/lib/postgresql/*/bin"))
}

fn is_executable(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
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
pub fn command<S: AsRef<OsStr>>(program: impl AsRef<OsStr>, args: impl IntoIterator<Item = S>) -> Command {
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

pub fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

pub fn must<T>(result: Result<T, String>) -> T {
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
pub fn listen() -> (TcpListener, u16) {
    let listener = TcpListener::bind(("127.0.0.1", 0)).expect("cannot bind a port on 127.0.0.1");
    let port = listener.local_addr().expect("no local address").port();
    (listener, port)
}

pub fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
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
        let role = format!("CREATE ROLE {user} LOGIN PASSWORD '{password}'");
        self.psql(&format!("SET password_encryption = 'scram-sha-256'; {role}"));
        self.psql(&format!("CREATE DATABASE {db} OWNER {user}"));
        self.write_hba(&format!(
            "local all all trust\n\
             host all postgres 127.0.0.1/32 trust\n\
             host all {user} 127.0.0.1/32 scram-sha-256\n"
        ));
    }

    /// Makes a self-signed certificate and turns TLS on (connections may still go without).
    pub fn enable_ssl(&self) {
        let mut openssl = self.server_command(Path::new("openssl"));
        let args = "req -new -x509 -days 2 -nodes -subj /CN=localhost -keyout server.key -out server.crt";
        must(run(openssl.args(args.split(' '))));
        let key = self.dir.path().join("server.key");
        let cert = self.dir.path().join("server.crt");
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
            match rule.strip_prefix("host ") {
                Some(rest) => rules += &format!("hostssl {rest}\n"),
                None => rules += &format!("{rule}\n"),
            }
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

    /// A shell that waits for the test process to end, then stops the server (resumed first, in
    /// case it was sigstopped) and removes its directory: a `static` server is never dropped,
    /// and a killed test drops nothing.
    fn spawn_watchdog(&self) {
        const SCRIPT: &str = r#"while kill -0 "$1" 2>/dev/null; do sleep 1; done
pid=$(head -n 1 "$3/postmaster.pid" 2>/dev/null) && kill -CONT $pid $(pgrep -P $pid) 2>/dev/null
if [ "$5" = yes ]; then runuser -u postgres -- "$4" stop -m immediate -D "$3"
else "$4" stop -m immediate -D "$3"; fi
rm -rf "$2""#;
        let mut cmd = command("sh", ["-c", SCRIPT, "sh", &process::id().to_string()]);
        cmd.arg(self.dir.path()).arg(self.data_dir());
        let as_postgres = if self.tools.as_postgres { "yes" } else { "no" };
        cmd.arg(&self.tools.pg_ctl).arg(as_postgres).current_dir("/");
        let null = Stdio::null;
        cmd.stdin(null()).stdout(null()).stderr(null());
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

pub fn be_u32(bytes: &[u8]) -> u32 {
    u32::from_be_bytes(bytes[..4].try_into().expect("four bytes"))
}

// ------------------------------------------------------------------------------------------
// Checks of the helpers themselves
// ------------------------------------------------------------------------------------------

/// `psql_at` that must succeed.
pub fn query(url: &str, sql: &str) -> String {
    must(psql_at(url, sql))
}

pub fn message(kind: u8, body: &[u8]) -> Vec<u8> {
    [&[kind][..], &(body.len() as u32 + 4).to_be_bytes(), body].concat()
}

/// A session opened by hand as the superuser (trust authentication), ready for queries.
pub fn raw_session(port: u16, db: &str) -> TcpStream {
    let mut socket = TcpStream::connect(("127.0.0.1", port)).expect("cannot connect");
    // Protocol 3.0 and the parameters; the startup message has no type byte.
    let params = format!("\0\x03\0\0user\0postgres\0database\0{db}\0\0");
    let startup = message(0, params.as_bytes());
    socket.write_all(&startup[1..]).expect("cannot send");
    until_ready(&mut socket);
    socket
}

/// Reads the server's messages up to ReadyForQuery; panics on an error or a closed socket.
pub fn until_ready(socket: &mut TcpStream) {
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
    let timeout = Some(Duration::from_millis(500));
    open.set_read_timeout(timeout).expect("no timeout");
    pg.sigstop();
    let quick = format!("{}?connect_timeout=2", pg.url());
    let refused = psql_at(&quick, "SELECT 1");
    open.write_all(&message(b'Q', b"SELECT 1\0"))
        .expect("cannot send");
    let answered = open.read(&mut [0u8; 64]);
    pg.sigcont();
    assert!(refused.is_err(), "a stopped server accepted a connection");
    assert!(answered.is_err(), "a stopped server answered: {answered:?}");
    open.set_read_timeout(None).expect("no timeout");
    until_ready(&mut open);
    assert_eq!(query(&quick, "SELECT count(*) FROM t"), "2");
}

#[test]
fn password_and_tls_requirements() {
    let Some(pg) = PgServer::start_or_skip() else {
        return;
    };
    pg.set_password_auth();
    let alice = pg.alice_url();
    assert_eq!(query(&alice, "SELECT current_user"), "alice");
    let wrong = alice.replace(ALICE.1, "wrong");
    assert!(psql_at(&wrong, "SELECT 1").is_err(), "wrong password accepted");
    pg.enable_ssl();
    pg.require_ssl_for_host();
    let plain = format!("{alice}?sslmode=disable");
    assert!(psql_at(&plain, "SELECT 1").is_err(), "plain TCP accepted");
    let ssl = "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()";
    assert_eq!(query(&alice, ssl), "t");
    assert_eq!(pg.psql(ssl), "t");
}
