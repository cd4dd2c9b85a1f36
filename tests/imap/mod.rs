//! IMAP against a real Dovecot: the harness here starts the system's `dovecot` (package
//! `dovecot-imapd`, installed by `.ci/run`) on free loopback ports with a temporary Maildir, a
//! passwd-file with two users (a password one and an XOAUTH2 one), and a certificate signed by
//! a CA that the test makes with `openssl`; it stops the server when the test ends. The tests
//! drive `mailroom::email::sources::imap` against it, and the `mailroom triage imaps://…` and
//! `mailroom watch` commands ([`cli`]).

use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use mailroom::email::sources::imap::{
    Backoff, Credentials, ImapConfig, ImapMailbox, ImapUrl, Mailbox, Secret, Timeouts, TlsRoots,
};

mod cli;
mod errors;
mod marks;
mod ops;
mod read;
mod reconnect;
mod triage;
mod watch;

/// The password user.
pub const USER: &str = "clerk@dept.example";
/// Its password (spaces and quotes on purpose: LOGIN must quote them).
pub const PASSWORD: &str = "correct \"horse\" battery";
/// The XOAUTH2 user.
pub const ROBOT: &str = "robot@dept.example";
/// Its bearer token.
pub const TOKEN: &str = "ya29.mailroom-test-token_0123456789";

/// A running Dovecot with its files in a temporary folder.
pub struct Dovecot {
    dir: tempfile::TempDir,
    conf: PathBuf,
    child: Option<Child>,
    /// The imaps port.
    pub tls_port: u16,
    /// The plaintext port.
    pub plain_port: u16,
}

fn dovecot_bin() -> PathBuf {
    for p in ["/usr/sbin/dovecot", "/usr/local/sbin/dovecot"] {
        if Path::new(p).exists() {
            return PathBuf::from(p);
        }
    }
    panic!("dovecot is not installed: `apt-get install -y dovecot-imapd` (.ci/run does it)");
}

fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    l.local_addr().unwrap().port()
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("openssl runs (apt-get install -y openssl)");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA (`NAME.crt`, `NAME.key`) made here.
fn make_ca(dir: &Path, name: &str) {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "2",
            "-subj",
            &format!("/CN=mailroom test {name}"),
            "-keyout",
            &format!("{name}.key"),
            "-out",
            &format!("{name}.crt"),
        ],
    );
}

/// The server's certificate for `localhost` and 127.0.0.1, signed by `ca`.
fn make_server_cert(dir: &Path) {
    make_ca(dir, "ca");
    make_ca(dir, "other-ca");
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=critical,CA:FALSE\n\
         keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-subj",
            "/CN=localhost",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
        ],
    );
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-set_serial",
            "2",
            "-days",
            "2",
            "-extfile",
            "ext.cnf",
            "-out",
            "server.crt",
        ],
    );
}

/// Users and groups the server runs as: as root, Dovecot's own accounts with the mail owned
/// by `dovecot`; otherwise everything as the current user.
struct Accounts {
    uid: u32,
    gid: u32,
    internal: String,
    login: String,
}

fn accounts(dir: &Path) -> Accounts {
    let meta = std::fs::metadata(dir).unwrap();
    if meta.uid() != 0 {
        let me = std::env::var("USER").unwrap_or_else(|_| "nobody".into());
        return Accounts {
            uid: meta.uid(),
            gid: meta.gid(),
            internal: me.clone(),
            login: me,
        };
    }
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap();
    let field = |user: &str, i: usize| -> u32 {
        passwd
            .lines()
            .find(|l| l.starts_with(&format!("{user}:")))
            .and_then(|l| l.split(':').nth(i))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("user {user} missing: is dovecot-core installed?"))
    };
    Accounts {
        uid: field("dovecot", 2),
        gid: field("dovecot", 3),
        internal: "dovecot".into(),
        login: "dovenull".into(),
    }
}

impl Dovecot {
    /// Start a server with the standard configuration.
    pub fn start() -> Dovecot {
        Dovecot::start_with("")
    }

    /// Start a server with `extra` appended to its configuration.
    pub fn start_with(extra: &str) -> Dovecot {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::set_permissions(d, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        make_server_cert(d);
        let acc = accounts(d);
        let mail = d.join("mail");
        std::fs::create_dir(&mail).unwrap();
        std::os::unix::fs::chown(&mail, Some(acc.uid), Some(acc.gid)).unwrap();
        let user_line = |user: &str, pass: &str| {
            let home = mail.join(user.split('@').next().unwrap());
            format!(
                "{user}:{{PLAIN}}{pass}:{}:{}::{}::\n",
                acc.uid,
                acc.gid,
                home.display()
            )
        };
        std::fs::write(
            d.join("users"),
            user_line(USER, PASSWORD) + &user_line(ROBOT, TOKEN),
        )
        .unwrap();
        let (tls_port, plain_port) = (free_port(), free_port());
        let conf = d.join("dovecot.conf");
        std::fs::write(&conf, config(d, &acc, tls_port, plain_port, extra)).unwrap();
        let mut server = Dovecot {
            dir,
            conf,
            child: None,
            tls_port,
            plain_port,
        };
        server.launch();
        server
    }

    fn launch(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("stderr.log"))
            .unwrap();
        let child = Command::new(dovecot_bin())
            .arg("-F")
            .arg("-c")
            .arg(&self.conf)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("dovecot starts");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(15);
        for port in [self.tls_port, self.plain_port] {
            while TcpStream::connect(("127.0.0.1", port)).is_err() {
                if let Some(status) = self.child.as_mut().and_then(|c| c.try_wait().unwrap()) {
                    panic!("dovecot exited ({status}): {}", self.log());
                }
                assert!(
                    Instant::now() < deadline,
                    "dovecot not listening: {}",
                    self.log()
                );
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }

    /// Stop the server as `systemctl stop` would: `dovecot stop` for the master, then SIGTERM
    /// to the login and mail processes it started (Dovecot 2.3 leaves running sessions alive
    /// when only its master is stopped; systemd ends the whole service).
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let sessions = descendants(child.id());
        let _ = Command::new(dovecot_bin())
            .arg("-c")
            .arg(&self.conf)
            .arg("stop")
            .output();
        let deadline = Instant::now() + Duration::from_secs(10);
        while child.try_wait().ok().flatten().is_none() {
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let left: Vec<u32> = sessions.into_iter().filter(|&p| is_dovecot(p)).collect();
        for pid in &left {
            // The shell's own `kill`: no procps needed.
            let _ = Command::new("sh")
                .arg("-c")
                .arg(format!("kill -TERM {pid}"))
                .output();
        }
        // They hold the listening sockets too: wait until they are gone.
        let deadline = Instant::now() + Duration::from_secs(10);
        while left.iter().any(|&p| is_dovecot(p)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stop and start again on the same ports and files.
    pub fn restart(&mut self) {
        self.stop();
        self.launch();
    }

    /// The server's logs, for failure messages.
    pub fn log(&self) -> String {
        let read = |n: &str| std::fs::read_to_string(self.dir.path().join(n)).unwrap_or_default();
        format!("{}\n{}", read("dovecot.log"), read("stderr.log"))
    }

    /// The CA that signed the server's certificate.
    pub fn ca(&self) -> PathBuf {
        self.dir.path().join("ca.crt")
    }

    /// A CA that signed nothing the server has.
    pub fn other_ca(&self) -> PathBuf {
        self.dir.path().join("other-ca.crt")
    }

    /// The test user's Maildir (INBOX at its root).
    pub fn maildir(&self) -> PathBuf {
        self.dir.path().join("mail/clerk")
    }

    /// `imaps://clerk%40dept.example@127.0.0.1:PORT/FOLDER`.
    pub fn url(&self, folder: &str) -> ImapUrl {
        ImapUrl::parse(&format!(
            "imaps://clerk%40dept.example@127.0.0.1:{}/{folder}",
            self.tls_port
        ))
        .unwrap()
    }

    /// A configuration for the test user: trusts the test CA; short timeouts and backoff.
    pub fn config(&self, folder: &str) -> ImapConfig {
        let mut cfg = ImapConfig::new(
            self.url(folder),
            Credentials::Password(Secret::new(PASSWORD)),
        );
        cfg.roots = TlsRoots::CaFile(self.ca());
        cfg.timeouts = Timeouts {
            connect: Duration::from_secs(5),
            command: Duration::from_secs(60),
        };
        cfg.backoff = Backoff {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(2),
            attempts: 8,
        };
        cfg
    }

    /// A connected mailbox with `folder` selected.
    pub fn open(&self, folder: &str) -> ImapMailbox {
        let mut m = ImapMailbox::connect(self.config(folder))
            .unwrap_or_else(|e| panic!("connect: {e:#}\n{}", self.log()));
        m.select(folder).unwrap();
        m
    }
}

/// The processes below `root`, from `/proc`.
fn descendants(root: u32) -> Vec<u32> {
    let mut links: Vec<(u32, u32)> = Vec::new();
    for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else {
            continue;
        };
        // `pid (comm) state ppid …`; comm may hold spaces, so read after the last ')'.
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|p| p.parse::<u32>().ok());
        if let Some(ppid) = ppid {
            links.push((pid, ppid));
        }
    }
    let mut out = vec![root];
    let mut i = 0;
    while i < out.len() {
        let parent = out[i];
        out.extend(links.iter().filter(|l| l.1 == parent).map(|l| l.0));
        i += 1;
    }
    out.remove(0);
    out
}

/// Whether `pid` is still a Dovecot process (its title starts with `dovecot/`).
fn is_dovecot(pid: u32) -> bool {
    std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| c.starts_with(b"dovecot/"))
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        self.stop();
    }
}

fn config(d: &Path, acc: &Accounts, tls_port: u16, plain_port: u16, extra: &str) -> String {
    let d = d.display();
    let dh = if Path::new("/usr/share/dovecot/dh.pem").exists() {
        "ssl_dh = </usr/share/dovecot/dh.pem\n"
    } else {
        ""
    };
    format!(
        r#"base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = yes
ssl_cert = <{d}/server.crt
ssl_key = <{d}/server.key
{dh}disable_plaintext_auth = no
auth_mechanisms = plain login xoauth2
auth_failure_delay = 0
mail_location = maildir:~
first_valid_uid = {uid}
first_valid_gid = {gid}
default_internal_user = {internal}
default_internal_group = {internal}
default_login_user = {login}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {d}/users
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {d}/users
}}
namespace inbox {{
  inbox = yes
  separator = /
  mailbox Junk {{
    auto = create
    special_use = \Junk
  }}
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    port = {plain_port}
  }}
  inet_listener imaps {{
    port = {tls_port}
    ssl = yes
  }}
}}
{extra}
"#,
        uid = acc.uid,
        gid = acc.gid,
        internal = acc.internal,
        login = acc.login,
    )
}

/// `raw` as IMAP carries it: without an mbox `From ` line, every line ending CRLF.
pub fn wire_form(raw: &[u8]) -> Vec<u8> {
    let body = if raw.starts_with(b"From ") {
        raw.iter()
            .position(|&b| b == b'\n')
            .map_or(&raw[raw.len()..], |i| &raw[i + 1..])
    } else {
        raw
    };
    let mut out = Vec::with_capacity(body.len() + body.len() / 32);
    let mut prev = 0u8;
    for &b in body {
        if b == b'\n' && prev != b'\r' {
            out.push(b'\r');
        }
        out.push(b);
        prev = b;
    }
    out
}

/// A small synthetic message.
pub fn note(n: usize, body: &str) -> Vec<u8> {
    wire_form(
        format!(
            "From: Resident {n} <resident{n}@example.org>\nTo: clerk@dept.example\n\
             Subject: Request {n}\nMessage-ID: <req{n}@example.org>\n\
             Date: Mon, 3 Mar 2025 10:00:00 +0000\n\n{body}\n"
        )
        .as_bytes(),
    )
}
