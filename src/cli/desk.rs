//! `mailroom desk --store S`: the caseworkers' web page over the store, on loopback by default.
//! The page is up at once; the models (for messages given to `POST /api/messages`) load on a
//! thread of their own, with the same model and classifier flags as `triage`.
//!
//! `mailroom desk user add|list|disable|enable|set-role|set-password` manages the accounts
//! (passwords read from a file, or `-` for stdin, never from the command line).

use std::io::Read;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::{Args, Subcommand, ValueEnum};

use mailroom::desk::{self, DeskConfig, DeskState};
use mailroom::pipeline::store_heads::active_heads;
use mailroom::pipeline::EngineBuilder;
use mailroom::store::{Role, Store};

use super::common::{ClassifierArgs, ModelArgs};
use super::Outcome;

/// The default address: loopback only, unless told otherwise.
pub const DEFAULT_BIND: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
/// The default port.
pub const DEFAULT_PORT: u16 = 8081;
/// How often expired and idle sessions are deleted.
const PURGE_EVERY: Duration = Duration::from_secs(600);

/// Arguments of `desk`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct DeskArgs {
    /// The store: sqlite:PATH or postgres://USER@HOST/DB.
    #[arg(long, env = "MAILROOM_STORE", global = true)]
    store: Option<String>,
    #[command(subcommand)]
    command: Option<DeskCommand>,
    #[command(flatten)]
    serve: ServeDesk,
}

/// Serving flags.
#[derive(Debug, Args)]
struct ServeDesk {
    #[command(flatten)]
    models: ModelArgs,
    /// Address to listen on (default 127.0.0.1: this machine only). Beyond this machine, put
    /// the desk behind HTTPS: its session cookie is Secure.
    #[arg(long, env = "MAILROOM_DESK_BIND")]
    bind: Option<IpAddr>,
    /// Port to listen on (default 8081; 0 picks a free port, printed on stderr).
    #[arg(long, env = "MAILROOM_DESK_PORT")]
    port: Option<u16>,
    /// Summary method for messages given to the desk's API: extractive (the default, as for
    /// `ingest`), abstractive (the generator), lead, or none.
    #[arg(long, default_value = "extractive", value_parser = ["abstractive", "extractive", "lead", "none"])]
    summary: String,
    /// Do not triage messages given to the desk's API here: queue them in the store's job
    /// queue for `mailroom worker`s (202 with the job); no model is loaded.
    #[arg(long)]
    queue: bool,
    /// Minutes a session may sit unused before it ends.
    #[arg(long, default_value_t = 30)]
    idle_minutes: u64,
    #[command(flatten)]
    classifier: ClassifierArgs,
}

/// `desk` subcommands.
#[derive(Debug, Subcommand)]
enum DeskCommand {
    /// Manage the desk's accounts.
    #[command(subcommand)]
    User(UserCommand),
}

/// A role, as a flag.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum RoleArg {
    /// Works the queue.
    Reviewer,
    /// Also manages accounts.
    Admin,
}

impl From<RoleArg> for Role {
    fn from(r: RoleArg) -> Role {
        match r {
            RoleArg::Reviewer => Role::Reviewer,
            RoleArg::Admin => Role::Admin,
        }
    }
}

/// `desk user` commands.
#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Add an account.
    Add {
        /// The login name.
        name: String,
        /// Its role.
        #[arg(long, value_enum)]
        role: RoleArg,
        /// A file holding the password (`-`: stdin); a trailing newline is dropped.
        #[arg(long, value_name = "FILE")]
        password_file: PathBuf,
    },
    /// List the accounts.
    List,
    /// Disable an account (its sessions end).
    Disable {
        /// The login name.
        name: String,
    },
    /// Enable a disabled account.
    Enable {
        /// The login name.
        name: String,
    },
    /// Change an account's role (its sessions end).
    SetRole {
        /// The login name.
        name: String,
        /// The new role.
        #[arg(long, value_enum)]
        role: RoleArg,
    },
    /// Set an account's password (its sessions end).
    SetPassword {
        /// The login name.
        name: String,
        /// A file holding the password (`-`: stdin); a trailing newline is dropped.
        #[arg(long, value_name = "FILE")]
        password_file: PathBuf,
    },
}

/// Run `desk`.
pub fn run(args: DeskArgs) -> anyhow::Result<Outcome> {
    let Some(url) = args.store.clone() else {
        eprintln!("error: give the store with --store sqlite:PATH (or MAILROOM_STORE)");
        return Ok(Outcome::Fatal);
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    match args.command {
        Some(DeskCommand::User(cmd)) => runtime.block_on(user(&url, cmd)),
        None => runtime.block_on(serve(&url, args.serve)),
    }
}

fn read_password(path: &Path) -> anyhow::Result<String> {
    let mut text = String::new();
    if path.as_os_str() == "-" {
        std::io::stdin()
            .read_to_string(&mut text)
            .context("reading the password from stdin")?;
    } else {
        text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the password file {}", path.display()))?;
    }
    let text = text
        .strip_suffix('\n')
        .map(|t| t.strip_suffix('\r').unwrap_or(t))
        .unwrap_or(&text);
    if text.is_empty() {
        bail!("the password file {} is empty", path.display());
    }
    Ok(text.to_string())
}

/// Who the audit log names for changes made here.
pub fn actor() -> String {
    let who = std::env::var("USER").unwrap_or_else(|_| "unknown".into());
    format!("cli:{who}")
}

async fn user(url: &str, cmd: UserCommand) -> anyhow::Result<Outcome> {
    let store = Store::open(url).await?;
    let actor = actor();
    match cmd {
        UserCommand::Add {
            name,
            role,
            password_file,
        } => {
            let password = read_password(&password_file)?;
            let a = store
                .add_account(&actor, &name, role.into(), &password)
                .await?;
            eprintln!("added {} ({})", a.name, a.role.as_str());
        }
        UserCommand::List => {
            for a in store.accounts().await? {
                let state = if a.disabled { "disabled" } else { "active" };
                outln!("{}\t{}\t{state}", a.name, a.role.as_str());
            }
        }
        UserCommand::Disable { name } => store.set_disabled(&actor, &name, true).await?,
        UserCommand::Enable { name } => store.set_disabled(&actor, &name, false).await?,
        UserCommand::SetRole { name, role } => store.set_role(&actor, &name, role.into()).await?,
        UserCommand::SetPassword {
            name,
            password_file,
        } => {
            let password = read_password(&password_file)?;
            store.set_password(&actor, &name, &password).await?;
        }
    }
    store.close().await;
    Ok(Outcome::Ok)
}

/// A store without accounts gets an admin with a random password, shown once here (the
/// operator's terminal, never the log), so that the desk is usable from the first start.
async fn first_admin(store: &Store) -> anyhow::Result<()> {
    use password_hash::rand_core::{OsRng, RngCore};
    const LETTERS: &[u8] = b"abcdefghijkmnpqrstuvwxyzACDEFGHJKLMNPQRTUVWXY3479";
    let mut bytes = [0u8; 16];
    OsRng.fill_bytes(&mut bytes);
    let password: String = bytes
        .iter()
        .map(|b| LETTERS[*b as usize % LETTERS.len()] as char)
        .collect();
    store
        .add_account(&actor(), "admin", Role::Admin, &password)
        .await?;
    eprintln!(
        "mailroom: the store had no accounts; created the admin `admin` with the password \
         {password} (shown once: log in and set another under Accounts, or use \
         `mailroom desk user set-password admin`)"
    );
    Ok(())
}

/// Load the engine on its own thread, with the store's active heads, and hand it to the desk
/// (with the builder, so that the desk builds it again when the heads in use change); hand
/// over the trainer of the desk's Train button too.
fn load_engine(
    state: DeskState,
    args: &ServeDesk,
    runtime: tokio::runtime::Handle,
) -> std::io::Result<()> {
    let builder = EngineBuilder::new(args.models.spec())
        .summary(super::method_or_none(&args.summary))
        .jobs(Some(1));
    let builder = args.classifier.apply(builder);
    state.set_trainer(Arc::new(super::learning::DeskTrainer {
        models: args.models.spec(),
    }));
    std::thread::Builder::new()
        .name("mailroom-load".into())
        .spawn(move || {
            let built = (|| -> anyhow::Result<_> {
                let heads = runtime.block_on(active_heads(state.store()))?;
                let ids: Vec<(String, i64)> =
                    heads.iter().map(|h| (h.axis.clone(), h.id)).collect();
                Ok((builder.clone().store_heads(heads).build()?, ids))
            })();
            match built {
                Ok((engine, ids)) => {
                    state.set_engine_on_heads(Arc::new(engine), ids, builder);
                    eprintln!("mailroom: models loaded");
                }
                Err(e) => {
                    eprintln!("error: loading the models for the desk's API: {e:#}");
                    state.engine_failed(format!("{e:#}"));
                }
            }
        })
        .map(|_| ())
}

async fn serve(url: &str, args: ServeDesk) -> anyhow::Result<Outcome> {
    let addr = SocketAddr::new(
        args.bind.unwrap_or(DEFAULT_BIND),
        args.port.unwrap_or(DEFAULT_PORT),
    );
    let store = match Store::open(url).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e:#}");
            return Ok(Outcome::Fatal);
        }
    };
    if store.accounts().await?.is_empty() {
        first_admin(&store).await?;
    }
    let config = DeskConfig {
        session_idle: Duration::from_secs(args.idle_minutes.max(1) * 60),
        queue: args.queue,
        ..DeskConfig::default()
    };
    let state = DeskState::new(store.clone(), config);
    let listener = match tokio::net::TcpListener::bind(addr).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: binding {addr}: {e}");
            return Ok(Outcome::Fatal);
        }
    };
    let local = listener.local_addr()?;
    if !local.ip().is_loopback() {
        tracing::warn!(addr = %local, "the desk listens beyond this machine: serve it behind HTTPS");
    }
    // Tests and scripts wait for this line to learn the port.
    eprintln!("mailroom: desk on http://{local}");
    if !args.queue {
        load_engine(state.clone(), &args, tokio::runtime::Handle::current())
            .context("starting the model thread")?;
    }
    let purger = {
        let state = state.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(PURGE_EVERY);
            loop {
                tick.tick().await;
                if let Err(e) = state.purge_sessions().await {
                    tracing::warn!(error = %e, "purging sessions failed");
                }
            }
        })
    };
    let app = desk::app(state).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(super::common::shutdown_signal())
        .await
        .context("serving the desk")?;
    purger.abort();
    store.close().await;
    eprintln!("mailroom: desk stopped");
    Ok(Outcome::Ok)
}
