//! Where `--postgres` connects, resolved as psql resolves it: the URL or `key=value` string
//! first, then the `PG*` environment variables for what it leaves out, then the password file.
//!
//! The password is only ever inside the driver's configuration: the name a connection is shown
//! by (`user@host:port/db`) has none, and neither has anything built from it.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use anyhow::{Context, bail};
use tokio_postgres::config::{Host, SslMode};

/// How long connecting may take unless `connect_timeout` or PGCONNECT_TIMEOUT says.
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Debian's socket directory, psql's default host when it exists.
const SOCKET_DIR: &str = "/var/run/postgresql";

const DEFAULT_PORT: u16 = 5432;

/// A resolved connection target.
pub struct Target {
    pub config: tokio_postgres::Config,
    /// `user@host:port/dbname`: how messages and the state file name the database.
    pub name: String,
}

/// Resolves `text` with the variables `env` gives (`std::env::var` in the binary).
pub fn resolve(text: &str, env: &dyn Fn(&str) -> Option<String>) -> anyhow::Result<Target> {
    let mut config = tokio_postgres::Config::from_str(text)
        .map_err(|e| anyhow::anyhow!("not a PostgreSQL URL or key=value connection string ({e})"))?;
    let var = |name: &str| env(name).filter(|v| !v.is_empty());
    if config.get_hosts().is_empty() {
        match var("PGHOST") {
            Some(hosts) => {
                for host in hosts.split(',') {
                    config.host(host);
                }
            }
            None if Path::new(SOCKET_DIR).is_dir() => {
                config.host_path(SOCKET_DIR);
            }
            None => {
                config.host("localhost");
            }
        }
    }
    if config.get_ports().is_empty() {
        let port = match var("PGPORT") {
            Some(port) => port
                .parse()
                .with_context(|| format!("PGPORT={port} is not a port number"))?,
            None => DEFAULT_PORT,
        };
        config.port(port);
    }
    if config.get_user().is_none() {
        let user = var("PGUSER")
            .or_else(|| var("USER"))
            .or_else(|| var("LOGNAME"))
            .context("no user name: give one in the URL, or set PGUSER")?;
        config.user(user);
    }
    if config.get_dbname().is_none() {
        let dbname = var("PGDATABASE").unwrap_or_else(|| config.get_user().unwrap_or_default().to_string());
        config.dbname(dbname);
    }
    // The driver defaults to `prefer` whether or not the text named a mode.
    if !text.contains("sslmode")
        && let Some(mode) = var("PGSSLMODE")
    {
        config.ssl_mode(match mode.as_str() {
            "disable" => SslMode::Disable,
            "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            other => bail!("PGSSLMODE={other} is not one of disable, prefer, require"),
        });
    }
    if config.get_connect_timeout().is_none() {
        let timeout = match var("PGCONNECT_TIMEOUT") {
            Some(seconds) => Duration::from_secs(
                seconds
                    .parse::<u64>()
                    .with_context(|| format!("PGCONNECT_TIMEOUT={seconds} is not a number of seconds"))?
                    .max(2),
            ),
            None => DEFAULT_CONNECT_TIMEOUT,
        };
        config.connect_timeout(timeout);
    }
    if config.get_application_name().is_none() {
        config.application_name("statbuf");
    }
    let host = config.get_hosts().first().map(host_text).unwrap_or_default();
    let port = config.get_ports().first().copied().unwrap_or(DEFAULT_PORT);
    let user = config.get_user().unwrap_or_default().to_string();
    let dbname = config.get_dbname().unwrap_or_default().to_string();
    if config.get_password().is_none() {
        let password = var("PGPASSWORD").or_else(|| {
            let file = var("PGPASSFILE")
                .map(PathBuf::from)
                .or_else(|| var("HOME").map(|home| Path::new(&home).join(".pgpass")))?;
            password_from_file(&file, &host, port, &dbname, &user)
        });
        if let Some(password) = password {
            config.password(password);
        }
    }
    Ok(Target {
        config,
        name: format!("{user}@{host}:{port}/{dbname}"),
    })
}

fn host_text(host: &Host) -> String {
    match host {
        Host::Tcp(name) => name.clone(),
        Host::Unix(path) => path.display().to_string(),
    }
}

/// The password for this connection in a `.pgpass` file (`host:port:db:user:password` lines,
/// `*` matching anything, `\` escaping `:` and `\`). As libpq does, a file that the group or
/// others may read is ignored, and `localhost` matches a Unix socket.
fn password_from_file(file: &Path, host: &str, port: u16, dbname: &str, user: &str) -> Option<String> {
    let meta = std::fs::metadata(file).ok()?;
    if !meta.is_file() || meta.permissions().mode() & 0o077 != 0 {
        return None;
    }
    let text = std::fs::read_to_string(file).ok()?;
    let port = port.to_string();
    let socket = host.starts_with('/');
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .map(pgpass_fields)
        .find_map(|fields| {
            let [h, p, d, u, password]: [String; 5] = fields.try_into().ok()?;
            let host_matches = h == "*" || h == host || (socket && h == "localhost");
            let matches = |field: &str, value: &str| field == "*" || field == value;
            (host_matches && matches(&p, &port) && matches(&d, dbname) && matches(&u, user))
                .then_some(password)
        })
}

/// Splits a `.pgpass` line at its unescaped colons; the last field takes the rest of the line.
fn pgpass_fields(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => fields.last_mut().into_iter().for_each(|f| f.extend(chars.next())),
            ':' if fields.len() < 5 => fields.push(String::new()),
            c => fields.last_mut().into_iter().for_each(|f| f.push(c)),
        }
    }
    fields
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn a_url_needs_nothing_else() {
        let target = resolve("postgresql://bob:pw@db.example:6543/stats", &env(&[])).unwrap();
        assert_eq!(target.name, "bob@db.example:6543/stats");
        assert_eq!(target.config.get_password(), Some(&b"pw"[..]));
        assert_eq!(target.config.get_application_name(), Some("statbuf"));
    }

    #[test]
    fn the_environment_fills_what_the_text_leaves_out() {
        let vars = env(&[
            ("PGHOST", "10.1.2.3"),
            ("PGPORT", "5433"),
            ("PGUSER", "carol"),
            ("PGDATABASE", "logs"),
            ("PGPASSWORD", "secret"),
            ("PGSSLMODE", "require"),
            ("PGCONNECT_TIMEOUT", "7"),
        ]);
        let target = resolve("", &vars).unwrap();
        assert_eq!(target.name, "carol@10.1.2.3:5433/logs");
        assert_eq!(target.config.get_password(), Some(&b"secret"[..]));
        assert_eq!(target.config.get_ssl_mode(), SslMode::Require);
        assert_eq!(target.config.get_connect_timeout(), Some(&Duration::from_secs(7)));
        // The text wins over the environment.
        let target = resolve("host=h port=1 user=u dbname=d sslmode=disable", &vars).unwrap();
        assert_eq!(target.name, "u@h:1/d");
        assert_eq!(target.config.get_ssl_mode(), SslMode::Disable);
        assert!(resolve("", &env(&[("PGUSER", "u"), ("PGSSLMODE", "verify-full")])).is_err());
    }

    #[test]
    fn the_password_file_is_read_only_when_private() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pgpass");
        std::fs::write(
            &file,
            "# comment\nother:*:*:*:no\nh:5432:d:u:first\\:part\n*:*:*:u:fallback\n",
        )
        .unwrap();
        let vars = env(&[("PGPASSFILE", file.to_str().unwrap())]);
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        let target = resolve("host=h user=u dbname=d", &vars).unwrap();
        assert_eq!(target.config.get_password(), None);
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        let target = resolve("host=h user=u dbname=d", &vars).unwrap();
        assert_eq!(target.config.get_password(), Some(&b"first:part"[..]));
        let target = resolve("host=h2 user=u dbname=d", &vars).unwrap();
        assert_eq!(target.config.get_password(), Some(&b"fallback"[..]));
    }

    #[test]
    fn bad_text_is_refused() {
        assert!(resolve("postgresql://u@h:notaport/d", &env(&[])).is_err());
        assert!(resolve("nonsense words", &env(&[])).is_err());
    }
}
