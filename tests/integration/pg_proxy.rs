//! A TCP proxy in front of a test server (`pg.rs`) that can cut a connection right after the
//! client's COMMIT reached the server: armed, it forwards the next COMMIT and then drops the
//! connection without passing the answer on, so the client cannot tell whether it committed.
//! It can also refuse and cut every connection (a partition).

#![cfg(unix)]
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{self, BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::process::{self, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crate::pg::{
    PgServer, be_u32, command, listen, lock, lossy, message, must, psql_at, query, raw_session, tools,
    until_ready,
};

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
        // Dropping the client closes it: blocked, or the server is down (connection refused).
        let Ok(client) = client else { continue };
        if state.blocked.load(SeqCst) {
            continue;
        }
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

/// Runs `script` through `psql`'s stdin, which sends each statement as its own Query.
fn psql_script(url: &str, script: &str) -> process::Output {
    let mut psql = command(&must(tools()).psql, ["-X", "-v", "ON_ERROR_STOP=1", "-d", url]);
    let piped = Stdio::piped;
    let mut child = psql
        .stdin(piped())
        .stdout(piped())
        .stderr(piped())
        .spawn()
        .expect("no psql");
    let mut stdin = child.stdin.take().expect("piped stdin");
    stdin.write_all(script.as_bytes()).expect("cannot write to psql");
    drop(stdin);
    child.wait_with_output().expect("cannot wait for psql")
}

#[test]
fn proxy_cuts_after_a_simple_query_commit() {
    let Some(pg) = PgServer::shared_or_skip() else {
        return;
    };
    let db = pg.fresh_database("proxy_cut");
    assert_ne!(db, pg.fresh_database("proxy_cut"), "the same database twice");
    query(&db, "CREATE TABLE t(x int)");
    let proxy = CutProxy::new(pg.port());
    assert_eq!(query(&proxy.via(&db), "SELECT 2"), "2");
    proxy.arm_cut_after_commit();
    let script = "BEGIN;\nINSERT INTO t VALUES (1);\nCOMMIT;\nSELECT 'after';\n";
    let run = psql_script(&proxy.via(&db), script);
    let (stdout, stderr) = (lossy(&run.stdout), lossy(&run.stderr));
    let cut = !run.status.success() && stderr.contains("connection");
    assert!(cut && !stdout.contains("after"), "not cut: {stdout}{stderr}");
    assert_eq!(proxy.cuts(), 1);
    assert_eq!(query(&db, "SELECT count(*) FROM t"), "1", "COMMIT lost");
    assert_eq!(query(&proxy.via(&db), "SELECT 3"), "3", "still armed");
}

#[test]
fn proxy_cuts_after_a_parsed_commit_and_blocks() {
    let Some(pg) = PgServer::shared_or_skip() else {
        return;
    };
    let db = pg.fresh_database("proxy_parse");
    query(&db, "CREATE TABLE t(x int)");
    let proxy = CutProxy::new(pg.port());
    let db_name = db.rsplit('/').next().expect("a URL has a path");
    let mut session = raw_session(proxy.port(), db_name);
    let insert = message(b'Q', b"BEGIN; INSERT INTO t VALUES (7)\0");
    session.write_all(&insert).expect("cannot send");
    until_ready(&mut session);
    proxy.arm_cut_after_commit();
    // Parse, Bind (unnamed portal and statement, no formats or values), Execute, Sync.
    let [bind, execute] = [message(b'B', &[0; 8]), message(b'E', &[0; 5])];
    let commit = [
        message(b'P', b"\0 commit\0\0\0"),
        bind,
        execute,
        message(b'S', b""),
    ];
    session.write_all(&commit.concat()).expect("cannot send");
    let mut answer = Vec::new();
    let _ = session.read_to_end(&mut answer);
    assert_eq!(lossy(&answer), "", "the answer to COMMIT reached the client");
    assert_eq!(proxy.cuts(), 1);
    assert_eq!(query(&db, "SELECT x FROM t"), "7", "COMMIT lost");

    let mut open = raw_session(proxy.port(), db_name);
    proxy.block_all(true);
    let read = open.read(&mut [0u8; 16]).ok();
    assert_eq!(read, Some(0), "block_all left a session open");
    let refused = psql_at(&proxy.via(&db), "SELECT 1");
    assert!(refused.is_err(), "a blocked proxy let psql in");
    proxy.block_all(false);
    assert_eq!(query(&proxy.via(&db), "SELECT 1"), "1");
}
