//! `mailroom serve`: the HTTP API on a socket. Settings come from flags, then environment
//! variables (`MAILROOM_*`), then an optional TOML file (`--config`), then one set of defaults
//! (the constants here and [`HttpConfig::default`]). The socket is bound first, so `/healthz`
//! answers while the models load; `/readyz` turns 200 once they are loaded and warmed. SIGTERM
//! (or Ctrl-C) stops accepting connections and finishes the requests already accepted.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::Args;
use serde::Deserialize;

use mailroom::http::{self, AppState, HttpConfig};
use mailroom::pipeline::lanes::EngineService;
use mailroom::pipeline::{EngineBuilder, Method};

use super::common::{ClassifierArgs, ModelArgs};
use super::Outcome;

/// The default address: loopback only, unless told otherwise.
pub const DEFAULT_BIND: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
/// The default port.
pub const DEFAULT_PORT: u16 = 8080;
/// How long in-flight requests get to finish after SIGTERM, beyond the request timeout.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Arguments of `serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    models: ModelArgs,
    /// Address to listen on (default 127.0.0.1: this machine only).
    #[arg(long, env = "MAILROOM_BIND")]
    bind: Option<IpAddr>,
    /// Port to listen on (default 8080; 0 picks a free port, printed on stderr).
    #[arg(long, env = "MAILROOM_PORT")]
    port: Option<u16>,
    /// A TOML file with any of the settings below (flags and environment variables win).
    #[arg(long, env = "MAILROOM_CONFIG", value_name = "FILE.toml")]
    config: Option<PathBuf>,
    /// A file holding the bearer token every route but /healthz and /readyz requires. The token
    /// can also come from the MAILROOM_TOKEN environment variable.
    #[arg(long, env = "MAILROOM_TOKEN_FILE", value_name = "FILE")]
    token_file: Option<PathBuf>,
    /// Largest request body in bytes (413 past it).
    #[arg(long, env = "MAILROOM_MAX_BODY_BYTES")]
    max_body_bytes: Option<usize>,
    /// Longest a request may take, queue wait included, in seconds.
    #[arg(long, env = "MAILROOM_REQUEST_TIMEOUT")]
    request_timeout_secs: Option<u64>,
    /// Messages the classify queue holds before answering 429.
    #[arg(long, env = "MAILROOM_ENCODER_QUEUE")]
    encoder_queue: Option<usize>,
    /// Messages the triage/summarize queue holds before answering 429.
    #[arg(long, env = "MAILROOM_GENERATOR_QUEUE")]
    generator_queue: Option<usize>,
    /// Largest encoder batch built from concurrent classify requests.
    #[arg(long, env = "MAILROOM_BATCH")]
    batch: Option<usize>,
    /// Most messages in one /v1/triage array.
    #[arg(long, env = "MAILROOM_MAX_MESSAGES")]
    max_messages: Option<usize>,
    /// Summary method of /v1/triage and /v1/summarize.
    #[arg(long, value_enum, env = "MAILROOM_SUMMARY")]
    summary: Option<Method>,
    #[command(flatten)]
    classifier: ClassifierArgs,
}

/// The TOML file: the same settings, each optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    bind: Option<IpAddr>,
    port: Option<u16>,
    token_file: Option<PathBuf>,
    max_body_bytes: Option<usize>,
    request_timeout_secs: Option<u64>,
    encoder_queue: Option<usize>,
    generator_queue: Option<usize>,
    batch: Option<usize>,
    max_messages: Option<usize>,
    summary: Option<Method>,
    taxonomy: Option<PathBuf>,
    #[serde(default)]
    heads: Vec<PathBuf>,
    review_threshold: Option<f32>,
}

/// Settings after flags, environment, file and defaults are merged.
#[derive(Debug)]
struct Settings {
    addr: SocketAddr,
    http: HttpConfig,
    summary: Method,
    classifier: ClassifierArgs,
}

fn read_token(path: &Path) -> anyhow::Result<String> {
    let t = std::fs::read_to_string(path)
        .with_context(|| format!("reading the token file {}", path.display()))?;
    let t = t.trim().to_string();
    if t.is_empty() {
        bail!("the token file {} is empty", path.display());
    }
    Ok(t)
}

impl ServeArgs {
    /// The bearer token: from the token file (flag or settings file) or MAILROOM_TOKEN, not both.
    fn token(&self, file: &FileConfig) -> anyhow::Result<Option<String>> {
        let token_file = self.token_file.clone().or(file.token_file.clone());
        let env_token = std::env::var("MAILROOM_TOKEN")
            .ok()
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty());
        Ok(match (&token_file, env_token) {
            (Some(_), Some(_)) => {
                bail!("give the token either in a file or in MAILROOM_TOKEN, not both")
            }
            (Some(p), None) => Some(read_token(p)?),
            (None, t) => t,
        })
    }

    /// The server's limits: flags, then the settings file, then the defaults; each at least 1.
    fn http_config(&self, file: &FileConfig, token: Option<String>) -> anyhow::Result<HttpConfig> {
        let d = HttpConfig::default();
        let positive = |name: &str, v: usize| -> anyhow::Result<usize> {
            if v == 0 {
                bail!("{name} must be at least 1");
            }
            Ok(v)
        };
        Ok(HttpConfig {
            max_body_bytes: positive(
                "max_body_bytes",
                self.max_body_bytes
                    .or(file.max_body_bytes)
                    .unwrap_or(d.max_body_bytes),
            )?,
            request_timeout: Duration::from_secs(positive(
                "request_timeout_secs",
                self.request_timeout_secs
                    .or(file.request_timeout_secs)
                    .unwrap_or(d.request_timeout.as_secs()) as usize,
            )? as u64),
            encoder_queue: positive(
                "encoder_queue",
                self.encoder_queue
                    .or(file.encoder_queue)
                    .unwrap_or(d.encoder_queue),
            )?,
            generator_queue: positive(
                "generator_queue",
                self.generator_queue
                    .or(file.generator_queue)
                    .unwrap_or(d.generator_queue),
            )?,
            batch: positive("batch", self.batch.or(file.batch).unwrap_or(d.batch))?,
            max_messages: positive(
                "max_messages",
                self.max_messages
                    .or(file.max_messages)
                    .unwrap_or(d.max_messages),
            )?,
            retry_after_secs: d.retry_after_secs,
            token,
        })
    }

    /// Merge flags (and their environment variables), the settings file and the defaults.
    fn resolve(&self) -> anyhow::Result<Settings> {
        let file: FileConfig = match &self.config {
            Some(p) => {
                let text = std::fs::read_to_string(p)
                    .with_context(|| format!("reading {}", p.display()))?;
                toml::from_str(&text).with_context(|| format!("parsing {}", p.display()))?
            }
            None => FileConfig::default(),
        };
        let token = self.token(&file)?;
        let http = self.http_config(&file, token)?;
        if http.max_messages > http.generator_queue {
            bail!(
                "max_messages ({}) must not exceed generator_queue ({}): such a batch could never be queued",
                http.max_messages,
                http.generator_queue
            );
        }
        let review_threshold = self
            .classifier
            .review_threshold
            .or(file.review_threshold)
            .map(super::in_unit_interval)
            .transpose()
            .map_err(|e| anyhow::anyhow!("review_threshold: {e}"))?;
        let addr = SocketAddr::new(
            self.bind.or(file.bind).unwrap_or(DEFAULT_BIND),
            self.port.or(file.port).unwrap_or(DEFAULT_PORT),
        );
        let classifier = ClassifierArgs {
            taxonomy: self.classifier.taxonomy.clone().or(file.taxonomy),
            heads: if self.classifier.heads.is_empty() {
                file.heads
            } else {
                self.classifier.heads.clone()
            },
            review_threshold,
            ..self.classifier.clone()
        };
        Ok(Settings {
            addr,
            http,
            // Abstractive when a generator is named, else extractive (as `triage`).
            summary: self
                .summary
                .or(file.summary)
                .unwrap_or(if self.models.generator.is_some() {
                    Method::Abstractive
                } else {
                    Method::Extractive
                }),
            classifier,
        })
    }
}

/// Load the models and build the engine the lanes serve (see [`EngineService`]). Runs on its
/// own thread while the server already answers `/healthz`.
fn load_service(models: &ModelArgs, s: &Settings) -> anyhow::Result<EngineService> {
    let builder = EngineBuilder::new(models.spec())
        .summary(Some(s.summary))
        .jobs(Some(1))
        .batch(s.http.batch);
    let triage = s.classifier.apply(builder).build()?;
    Ok(EngineService::new(triage))
}

/// Run `serve`.
pub fn run(args: ServeArgs) -> anyhow::Result<Outcome> {
    let settings = match args.resolve() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e:#}");
            return Ok(Outcome::Fatal);
        }
    };
    if !settings.addr.ip().is_loopback() && settings.http.token.is_none() {
        tracing::warn!(addr = %settings.addr, "listening beyond this machine without a bearer token");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(serve(args.models, settings))
}

async fn serve(models: ModelArgs, settings: Settings) -> anyhow::Result<Outcome> {
    let listener = match tokio::net::TcpListener::bind(settings.addr).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: binding {}: {e}", settings.addr);
            return Ok(Outcome::Fatal);
        }
    };
    let addr = listener.local_addr()?;
    let timeout = settings.http.request_timeout;
    let state = AppState::new(settings.http.clone());
    // Tests and scripts wait for this line to learn the port.
    eprintln!("mailroom: listening on http://{addr}");

    let (failed_tx, failed_rx) = tokio::sync::oneshot::channel::<anyhow::Error>();
    {
        let state = state.clone();
        std::thread::Builder::new()
            .name("mailroom-load".into())
            .spawn(move || {
                let t = std::time::Instant::now();
                let result = load_service(&models, &settings).and_then(|service| {
                    state
                        .start(Arc::new(service))
                        .context("starting the model threads")
                });
                match result {
                    Ok(()) => {
                        tracing::info!(ms = t.elapsed().as_millis() as u64, "models loaded");
                        eprintln!("mailroom: models loaded; warming up");
                    }
                    Err(e) => {
                        let _ = failed_tx.send(e);
                    }
                }
            })?;
    }

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let load_failed = Arc::new(std::sync::Mutex::new(None::<anyhow::Error>));
    let shutdown = {
        let state = state.clone();
        let load_failed = Arc::clone(&load_failed);
        async move {
            tokio::select! {
                _ = super::common::shutdown_signal() => {
                    eprintln!("mailroom: shutting down; finishing requests in flight");
                }
                Ok(e) = failed_rx => {
                    if let Ok(mut slot) = load_failed.lock() {
                        *slot = Some(e);
                    }
                }
            }
            state.begin_shutdown();
            let _ = stop_tx.send(true);
        }
    };
    let server = axum::serve(listener, http::app(state)).with_graceful_shutdown(shutdown);
    // Past the request timeout (plus a grace) after the signal, stop waiting for stragglers.
    let deadline = async move {
        let mut rx = stop_rx;
        let _ = rx.wait_for(|s| *s).await;
        tokio::time::sleep(timeout + SHUTDOWN_GRACE).await;
    };
    tokio::select! {
        r = server => r.context("serving")?,
        _ = deadline => {
            eprintln!("mailroom: requests still open after the shutdown grace period; exiting");
        }
    }
    let failure = load_failed.lock().ok().and_then(|mut s| s.take());
    if let Some(e) = failure {
        eprintln!("error: {e:#}");
        return Ok(Outcome::Fatal);
    }
    eprintln!("mailroom: stopped");
    Ok(Outcome::Ok)
}
