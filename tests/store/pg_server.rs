//! A real PostgreSQL server for tests and benchmarks: the system's package (`initdb` and
//! `postgres` from `/usr/lib/postgresql/*/bin`, or `MAILROOM_PG_BIN`), a cluster in a temporary
//! folder, listening on a free loopback port only. PostgreSQL refuses to run as root, so as root
//! the server runs as the `postgres` system user (made by the package) through `setpriv`.
//!
//! One server per test process, started on first use. A small shell watchdog started with it
//! stops the server (fast shutdown) and deletes the folder once the test process is gone, however
//! it ended: statics are never dropped, and a killed test must not leave a server behind.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// A running server.
pub struct PgServer {
    /// The loopback port.
    pub port: u16,
    /// The watchdog (its exit means the server is gone).
    watchdog: Mutex<Child>,
}

impl PgServer {
    /// The URL of a database on this server.
    pub fn url(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }

    /// Create a fresh, empty database and return its URL.
    pub async fn fresh_db(&self) -> String {
        use sqlx::{Connection, Executor};
        static N: AtomicUsize = AtomicUsize::new(0);
        let name = format!(
            "mr_{}_{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        );
        let mut admin = sqlx::PgConnection::connect(&self.url("postgres"))
            .await
            .expect("connect to the test PostgreSQL server");
        admin
            .execute(format!("CREATE DATABASE {name}").as_str())
            .await
            .expect("create test database");
        admin.close().await.ok();
        self.url(&name)
    }
}

/// The shared server, started on first use. Panics with what to install when PostgreSQL is
/// absent: the PostgreSQL tests never pass without a server.
pub fn server() -> &'static PgServer {
    static SERVER: OnceLock<PgServer> = OnceLock::new();
    SERVER.get_or_init(|| match start() {
        Ok(s) => s,
        Err(e) => panic!(
            "cannot start a PostgreSQL server for the tests: {e}\n\
             install it with `apt-get install -y postgresql` (.ci/run does), or set \
             MAILROOM_PG_BIN to the folder holding initdb and postgres"
        ),
    })
}

fn start() -> Result<PgServer, String> {
    let bin = bin_dir()?;
    let root = tempfile::Builder::new()
        .prefix("mailroom-pg-")
        .tempdir()
        .map_err(|e| format!("temporary folder: {e}"))?
        .keep();
    let data = root.join("data");
    let user = if is_root() { Some("postgres") } else { None };
    if let Some(u) = user {
        run(Command::new("chown")
            .args(["-R", &format!("{u}:{u}")])
            .arg(&root))?;
    }
    let mut initdb = as_user(user, &bin.join("initdb"));
    initdb.arg("-D").arg(&data).args([
        "-U",
        "postgres",
        "-A",
        "trust",
        "-E",
        "UTF8",
        "--locale=C",
        "--no-sync",
    ]);
    run(&mut initdb)?;
    let mut last = String::new();
    for _ in 0..3 {
        let port = free_port()?;
        match launch(&bin, &root, &data, user, port) {
            Ok(s) => return Ok(s),
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// Start the server and its watchdog on `port`; wait until it accepts connections.
fn launch(
    bin: &Path,
    root: &Path,
    data: &Path,
    user: Option<&str>,
    port: u16,
) -> Result<PgServer, String> {
    let setpriv = match user {
        Some(u) => format!("setpriv --reuid={u} --regid={u} --init-groups "),
        None => String::new(),
    };
    let script = format!(
        "{setpriv}\"$PG\" -D \"$DATA\" -p {port} -c listen_addresses=127.0.0.1 \
         -c unix_socket_directories=\"$ROOT\" -c max_connections=200 >\"$ROOT/log\" 2>&1 & pg=$!\n\
         while kill -0 \"$PARENT\" 2>/dev/null && kill -0 $pg 2>/dev/null; do sleep 0.5; done\n\
         kill -INT $pg 2>/dev/null; wait $pg\n\
         if ! kill -0 \"$PARENT\" 2>/dev/null; then rm -rf \"$ROOT\"; fi"
    );
    let mut watchdog = Command::new("sh")
        .arg("-c")
        .arg(script)
        .env("PG", bin.join("postgres"))
        .env("DATA", data)
        .env("ROOT", root)
        .env("PARENT", std::process::id().to_string())
        .stdin(Stdio::null())
        .spawn()
        .map_err(|e| format!("start the server: {e}"))?;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(Some(status)) = watchdog.try_wait() {
            let log = std::fs::read_to_string(root.join("log")).unwrap_or_default();
            return Err(format!("postgres exited ({status}): {log}"));
        }
        let ready = Command::new(bin.join("pg_isready"))
            .args([
                "-q",
                "-h",
                "127.0.0.1",
                "-U",
                "postgres",
                "-p",
                &port.to_string(),
            ])
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        if ready {
            return Ok(PgServer {
                port,
                watchdog: Mutex::new(watchdog),
            });
        }
        if Instant::now() > deadline {
            let _ = watchdog.kill();
            return Err("postgres did not become ready within 60 s".into());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Where the server binaries are.
fn bin_dir() -> Result<PathBuf, String> {
    if let Some(dir) = std::env::var_os("MAILROOM_PG_BIN") {
        return Ok(PathBuf::from(dir));
    }
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter_map(|e| {
                    let v = e.file_name().to_string_lossy().parse::<u32>().ok()?;
                    let bin = e.path().join("bin");
                    bin.join("initdb").exists().then_some((v, bin))
                })
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    if let Some((_, bin)) = found.pop() {
        return Ok(bin);
    }
    let out = Command::new("pg_config").arg("--bindir").output();
    if let Ok(out) = out {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if dir.join("initdb").exists() {
            return Ok(dir);
        }
    }
    Err("no initdb under /usr/lib/postgresql/*/bin or `pg_config --bindir`".into())
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|euid| euid == "0"))
        })
        .unwrap_or(false)
}

fn as_user(user: Option<&str>, program: &Path) -> Command {
    match user {
        Some(u) => {
            let mut c = Command::new("setpriv");
            c.args([
                &format!("--reuid={u}"),
                &format!("--regid={u}"),
                "--init-groups",
            ])
            .arg(program);
            c
        }
        None => Command::new(program),
    }
}

fn run(cmd: &mut Command) -> Result<(), String> {
    let out = cmd.output().map_err(|e| format!("{cmd:?}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{cmd:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

fn free_port() -> Result<u16, String> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("no free port: {e}"))
}
