//! `mailroom watch imaps://USER@HOST[:PORT]/FOLDER (--store S | --out FILE)`: keep reading a
//! mailbox folder and triage new mail as it comes, each message exactly once across restarts;
//! on request show the answer in the mailbox (keywords, junk moved). This file only turns
//! flags into a configuration, installs the SIGTERM/SIGINT handler, serves the metrics and
//! prints the status line; the watching is `pipeline::watch`.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use mailroom::pipeline::watch::{MarkOptions, Sink, Watch, WatchOptions, WatchStats};
use mailroom::pipeline::{EngineBuilder, Limits, DEFAULT_MAX_SIZE};
use mailroom::store::BlockingStore;

use super::common::{ClassifierArgs, ModelArgs, SummaryArgs};
use super::mailbox::MailboxArgs;
use super::Outcome;

/// Arguments of `watch`.
#[derive(Debug, Args)]
pub struct WatchArgs {
    /// The folder: imaps://USER@HOST[:PORT]/FOLDER (imap:// only to loopback or with
    /// --insecure-plaintext).
    url: String,
    #[command(flatten)]
    mailbox: MailboxArgs,
    /// Store the records in this store (sqlite:PATH or postgres://USER@HOST/DB); the
    /// position in the folder is kept there too.
    #[arg(
        long,
        value_name = "URL",
        required_unless_present = "out",
        conflicts_with = "out"
    )]
    store: Option<String>,
    /// Do not triage here: queue each new message in the store's job queue for `mailroom
    /// worker`s (the position moves with the jobs, in one transaction). Loads no model; needs
    /// --store; keywords and the junk move need records, so they cannot be asked for too.
    #[arg(long, requires = "store", conflicts_with_all = ["flag_keywords", "move_junk"])]
    queue: bool,
    /// Append the records to FILE as JSON lines; the position is kept in
    /// FILE.imap-cursor.json.
    #[arg(long, short, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Add IMAP keywords that mail clients show as tags: $MailroomUrgent, $MailroomReview,
    /// $MailroomJunk, $MailroomCategory_<label>. Nothing else about the message changes.
    #[arg(long)]
    flag_keywords: bool,
    /// Move junk decided without doubt (above its label threshold, no review) to FOLDER.
    #[arg(long, value_name = "FOLDER")]
    move_junk: Option<String>,
    /// Serve Prometheus metrics on 127.0.0.1:PORT (/metrics).
    #[arg(long, value_name = "PORT")]
    metrics_port: Option<u16>,
    /// Seconds between status lines (counts only) on stderr; 0 for none.
    #[arg(long, default_value_t = 60, value_name = "SECONDS")]
    status_every: u64,
    /// Seconds between polls when the server has no IDLE.
    #[arg(long, default_value_t = 10, value_name = "SECONDS")]
    poll_every: u64,
    /// Messages fetched and triaged per step (their records are made safe together).
    #[arg(long, default_value_t = 16)]
    fetch_batch: usize,
    /// Summary method: extractive (the default), abstractive, lead, or none.
    #[arg(long, default_value = "extractive", value_parser = ["abstractive", "extractive", "lead", "none"])]
    summary: String,
    #[command(flatten)]
    summary_options: SummaryArgs,
    #[command(flatten)]
    models: ModelArgs,
    #[command(flatten)]
    classifier: ClassifierArgs,
    /// Largest message in bytes (RFC822.SIZE): larger ones are not downloaded and get an
    /// error record.
    #[arg(long, default_value_t = DEFAULT_MAX_SIZE)]
    max_size: usize,
}

/// Run `watch`.
pub fn run(args: WatchArgs) -> anyhow::Result<Outcome> {
    let config = args.mailbox.config(&args.url, args.max_size)?;
    let folder = config.url.folder_url();
    let store = match &args.store {
        Some(url) => {
            Some(BlockingStore::open(url).with_context(|| format!("opening the store {url}"))?)
        }
        None => None,
    };
    let sink = match (&store, &args.out) {
        (Some(s), _) if args.queue => Sink::Queue(s),
        (Some(s), _) => Sink::Store(s),
        (None, Some(path)) => Sink::File(path),
        (None, None) => anyhow::bail!("give --store URL or --out FILE"),
    };
    let opts = WatchOptions {
        batch: args.fetch_batch.max(1),
        poll: Duration::from_secs(args.poll_every.max(1)),
        marks: MarkOptions {
            keywords: args.flag_keywords,
            move_junk: args.move_junk.clone(),
        },
        ..WatchOptions::default()
    };
    // The mailbox first: a wrong password, certificate or folder is told before the models
    // load.
    let watch = Watch::open(config, sink, &opts)?;
    let engine = if args.queue {
        None
    } else {
        let limits = Limits {
            max_size: args.max_size,
            ..Limits::default()
        };
        let builder = EngineBuilder::new(args.models.spec())
            .summary(super::method_or_none(&args.summary))
            .summary_options(args.summary_options.options())
            .limits(limits);
        let heads = match &store {
            Some(s) => mailroom::pipeline::store_heads::active_heads_blocking(s)?,
            None => Vec::new(),
        };
        Some(args.classifier.apply(builder).store_heads(heads).build()?)
    };
    stop_on_signals(Arc::clone(&opts.stop))?;
    if let Some(port) = args.metrics_port {
        serve_metrics(port, Arc::clone(&opts.stats))?;
    }
    if args.status_every > 0 {
        status_lines(
            Duration::from_secs(args.status_every),
            Arc::clone(&opts.stats),
            Arc::clone(&opts.stop),
        );
    }
    let how = if watch.has_idle() {
        "IDLE".to_string()
    } else {
        format!("polling every {} s", opts.poll.as_secs())
    };
    eprintln!("watching {folder} ({how})");
    let start = Instant::now();
    let counts = match &engine {
        Some(engine) => watch.run(engine)?,
        None => watch.run_queued()?,
    };
    eprintln!(
        "stopped after {:.0} s: {} triaged, {} queued, {} failed, {} skipped as done, {} reconnects",
        start.elapsed().as_secs_f64(),
        counts.triaged,
        counts.queued,
        counts.failed,
        counts.skipped,
        counts.reconnects
    );
    Ok(Outcome::Ok)
}

/// Set `stop` on SIGTERM or SIGINT (the watch finishes the messages in hand and returns); a
/// second signal ends the process at once.
fn stop_on_signals(stop: Arc<AtomicBool>) -> anyhow::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("signal runtime")?;
    let (mut term, mut int) = rt
        .block_on(async {
            Ok::<_, std::io::Error>((
                signal(SignalKind::terminate())?,
                signal(SignalKind::interrupt())?,
            ))
        })
        .context("installing the signal handler")?;
    std::thread::spawn(move || {
        rt.block_on(async move {
            for round in 0..2 {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = int.recv() => {}
                }
                if round == 0 {
                    eprintln!("stopping: finishing the messages in hand (again to stop at once)");
                    stop.store(true, Ordering::Relaxed);
                }
            }
            std::process::exit(130);
        })
    });
    Ok(())
}

/// Serve `GET /metrics` on 127.0.0.1:`port` from a thread of its own.
fn serve_metrics(port: u16, stats: Arc<WatchStats>) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("metrics runtime")?;
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let listener = rt
        .block_on(tokio::net::TcpListener::bind(addr))
        .with_context(|| format!("metrics port {addr}"))?;
    let app = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let stats = Arc::clone(&stats);
            async move {
                (
                    [("content-type", "text/plain; version=0.0.4")],
                    stats.prometheus(),
                )
            }
        }),
    );
    std::thread::spawn(move || {
        rt.block_on(async move {
            if let Err(e) = axum::serve(listener, app).await {
                eprintln!("metrics server stopped: {e}");
            }
        })
    });
    eprintln!("metrics on http://{addr}/metrics");
    Ok(())
}

/// Print a line of counts on stderr every `every` until `stop` is set.
fn status_lines(every: Duration, stats: Arc<WatchStats>, stop: Arc<AtomicBool>) {
    std::thread::spawn(move || {
        let mut next = Instant::now() + every;
        while !stop.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(200));
            if Instant::now() < next {
                continue;
            }
            next += every;
            let c = stats.counts();
            eprintln!(
                "watch: {} seen, {} triaged, {} queued, {} failed, {} skipped, {} keyworded, {} moved, \
                 lag {}, {} reconnects",
                c.seen, c.triaged, c.queued, c.failed, c.skipped, c.keyworded, c.moved, c.lag, c.reconnects
            );
        }
    });
}
