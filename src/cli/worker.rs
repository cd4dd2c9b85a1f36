//! `mailroom worker --store postgres://...`: claim batches of queued messages, triage them and
//! store each record with its job's state, until SIGTERM (which finishes the batch in hand).
//! `--metrics-port P` serves `/metrics` (Prometheus: this worker's throughput, lapsed leases,
//! and the queue's jobs per state) and `/healthz`.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use axum::extract::State;
use axum::response::IntoResponse;
use axum::routing::get;
use clap::Args;
use mailroom::pipeline::worker::{
    render_metrics, Shutdown, Worker, WorkerOptions, WorkerStats, DEFAULT_LEASE, DEFAULT_POLL,
};
use mailroom::pipeline::{EngineBuilder, Limits, DEFAULT_MAX_SIZE};
use mailroom::store::{Store, StoreOptions};

use super::common::{ClassifierArgs, ModelArgs, SummaryArgs};
use super::ingest::StoreArgs;
use super::Outcome;

/// Arguments of `worker`.
#[derive(Debug, Args)]
pub struct WorkerArgs {
    #[command(flatten)]
    store: StoreArgs,
    #[command(flatten)]
    models: ModelArgs,
    #[command(flatten)]
    classifier: ClassifierArgs,
    /// Summary method: extractive (central sentences, the default), abstractive (the
    /// generator, checked against the message), lead, or none.
    #[arg(long, default_value = "extractive", value_parser = ["abstractive", "extractive", "lead", "none"])]
    pub summary: String,
    #[command(flatten)]
    summary_options: SummaryArgs,
    /// Messages per claim, and per encoder batch.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=1000))]
    batch: u32,
    /// Analyser threads (default: the cores left after the generator's).
    #[arg(long)]
    jobs: Option<usize>,
    /// Seconds a claim holds a job without renewal (renewed every third of it while working):
    /// how long a dead worker's jobs wait before another worker takes them.
    #[arg(long, default_value_t = DEFAULT_LEASE.as_secs_f64(), value_parser = seconds)]
    lease: f64,
    /// Park a job after this many attempts, even when it was queued with more.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    max_attempts: Option<u32>,
    /// Longest idle wait, in seconds, between looks at the queue (LISTEN/NOTIFY wakes the
    /// worker at once on PostgreSQL; this bounds the delay when a notification is missed, and
    /// for lapsed leases).
    #[arg(long, default_value_t = DEFAULT_POLL.as_secs_f64(), value_parser = seconds)]
    poll: f64,
    /// Seconds before a failed job's second attempt (doubled for each later one, at most 10
    /// minutes).
    #[arg(long, default_value_t = 5.0, value_parser = seconds)]
    retry_delay: f64,
    /// This worker's name in the jobs table (default: host name, process id and start time).
    #[arg(long, env = "MAILROOM_WORKER_ID")]
    worker_id: Option<String>,
    /// Serve /metrics and /healthz on this port (0 picks one, printed on stderr).
    #[arg(long, env = "MAILROOM_METRICS_PORT")]
    metrics_port: Option<u16>,
    /// Address of the metrics port (default 127.0.0.1: this machine only).
    #[arg(long, env = "MAILROOM_METRICS_BIND", default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    metrics_bind: IpAddr,
    /// Stop when the queue has nothing to claim instead of waiting for more.
    #[arg(long)]
    exit_when_idle: bool,
    /// Largest message in bytes; larger ones are parked with an error record.
    #[arg(long, default_value_t = DEFAULT_MAX_SIZE)]
    max_size: usize,
    /// Store connections of this worker (the loop, the lease heartbeat, the metrics page).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(2..=64))]
    connections: u32,
}

fn seconds(s: &str) -> Result<f64, String> {
    match s.trim_end_matches('s').parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 && v < 1e7 => Ok(v),
        _ => Err(format!("{s:?} is not a positive number of seconds")),
    }
}

/// A name for this worker unique among live ones: the host (the pod's name on Kubernetes), the
/// process id and the start time, so that a restarted container is a new worker.
fn default_worker_id() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| {
            std::fs::read_to_string("/proc/sys/kernel/hostname")
                .ok()
                .map(|h| h.trim().to_string())
        })
        .unwrap_or_else(|| "worker".into());
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    format!("{host}-{}-{ms:x}", std::process::id())
}

/// Run `worker`.
pub fn run(args: WorkerArgs) -> anyhow::Result<Outcome> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let opts = StoreOptions {
        max_connections: args.connections,
        ..StoreOptions::default()
    };
    let store = runtime
        .block_on(Store::open_with(&args.store.url, &opts))
        .with_context(|| format!("opening the store {}", args.store.url))?;
    let limits = Limits {
        max_size: args.max_size,
        ..Limits::default()
    };
    let builder = EngineBuilder::new(args.models.spec())
        .summary(super::method_or_none(&args.summary))
        .summary_options(args.summary_options.options())
        .jobs(args.jobs)
        .batch(args.batch as usize)
        .limits(limits);
    let heads = runtime.block_on(mailroom::pipeline::store_heads::active_heads(&store))?;
    let ids: Vec<(String, i64)> = heads.iter().map(|h| (h.axis.clone(), h.id)).collect();
    let builder = args.classifier.apply(builder);
    let engine = builder.clone().store_heads(heads).build()?;
    let id = args.worker_id.clone().unwrap_or_else(default_worker_id);
    let shutdown = Shutdown::new();
    let worker = Worker::new(
        &engine,
        store.clone(),
        runtime.handle().clone(),
        WorkerOptions {
            id: id.clone(),
            lease: Duration::from_secs_f64(args.lease),
            max_attempts: args.max_attempts,
            poll: Duration::from_secs_f64(args.poll),
            retry_base: Duration::from_secs_f64(args.retry_delay),
            exit_when_idle: args.exit_when_idle,
            ..WorkerOptions::default()
        },
        shutdown.clone(),
    )
    .follow_store_heads(builder, ids);
    if let Some(port) = args.metrics_port {
        let page = Arc::new(MetricsPage {
            id: id.clone(),
            stats: worker.stats(),
            store: store.clone(),
        });
        let addr = SocketAddr::new(args.metrics_bind, port);
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind(addr))
            .with_context(|| format!("binding the metrics port {addr}"))?;
        eprintln!(
            "mailroom: metrics on http://{}/metrics",
            listener.local_addr()?
        );
        let app = axum::Router::new()
            .route("/metrics", get(metrics))
            .route("/healthz", get(|| async { "ok\n" }))
            .with_state(page);
        runtime.spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!(error = %e, "metrics server stopped");
            }
        });
    }
    on_signals(&runtime, shutdown)?;
    // Scripts and tests wait for this line: the models are loaded and the worker claims now.
    eprintln!("mailroom: worker {id} started");
    let start = Instant::now();
    let s = worker.run()?;
    runtime.block_on(store.close());
    eprintln!(
        "mailroom: worker {id} stopped: {} done, {} parked, {} retried, {} given back, {} leases lost in {:.1} s: {:.2} messages/s",
        s.done,
        s.parked,
        s.retried,
        s.released,
        s.leases_lost,
        start.elapsed().as_secs_f64(),
        s.rate()
    );
    Ok(Outcome::Ok)
}

/// The first SIGTERM or Ctrl-C asks the worker to finish the batch in hand; a second one ends
/// the process at once (its leases lapse and other workers redo its jobs). The handlers are
/// installed before this returns, so a signal from then on is never the default (fatal) one.
fn on_signals(runtime: &tokio::runtime::Runtime, shutdown: Shutdown) -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let (mut term, mut int) = runtime.block_on(async {
            Ok::<_, std::io::Error>((
                signal(SignalKind::terminate())?,
                signal(SignalKind::interrupt())?,
            ))
        })?;
        runtime.spawn(async move {
            for n in 0.. {
                tokio::select! {
                    _ = term.recv() => {},
                    _ = int.recv() => {},
                }
                if n == 0 {
                    eprintln!(
                        "mailroom: stopping; finishing the batch in hand (signal again to stop now)"
                    );
                    shutdown.request();
                } else {
                    eprintln!("mailroom: stopping now");
                    std::process::exit(1);
                }
            }
        });
    }
    #[cfg(not(unix))]
    runtime.spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        shutdown.request();
    });
    Ok(())
}

struct MetricsPage {
    id: String,
    stats: Arc<WorkerStats>,
    store: Store,
}

async fn metrics(State(page): State<Arc<MetricsPage>>) -> impl IntoResponse {
    let counts = match page.store.job_counts().await {
        Ok(c) => Some(c),
        Err(e) => {
            tracing::warn!(error = %e, "reading the queue's counts for /metrics");
            None
        }
    };
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        render_metrics(&page.id, &page.stats.snapshot(), counts.as_ref()),
    )
}
