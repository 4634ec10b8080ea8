//! `weir`: run, validate and list pipelines.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use tokio::signal::unix::{signal, SignalKind};
use weir_core::component::ComponentKind;
use weir_core::metrics::Metrics;
use weir_core::topology::{ApiConfig, RunOptions, RunningTopology};
use weir_pipelines::config::{self, Diagnostic, Loaded};
use weir_pipelines::{api, quickstart, registry, reload};

/// jemalloc, as Vector ships: each event allocates many small, short-lived values (map keys,
/// fields) and a faster allocator is worth a large share of throughput.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc tuned for a bounded footprint: one arena (thread caches keep the hot path lock-free),
/// freed pages returned after 50 ms instead of 10 s, so peak RSS tracks the buffers, not history.
#[allow(non_upper_case_globals)]
#[export_name = "_rjem_malloc_conf"]
pub static malloc_conf: &[u8] = b"narenas:1,dirty_decay_ms:50,muzzy_decay_ms:0\0";

#[derive(Parser)]
#[command(name = "weir", version, about = "A streaming pipeline for AWS logs.")]
struct Cli {
    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Run a pipeline (the embedded quickstart when no -c is given).
    Run(RunArgs),
    /// Check pipeline files and report every problem; exit 1 if there is any error.
    Validate {
        /// Pipeline files (TOML or YAML), merged.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// List the component types this build knows.
    List,
    /// Parse AWS log files (or stdin) and print one JSON object per event; exit 1 if any record fails.
    Parse {
        /// `auto` (default) or a format name (see `weir parse --list-formats`).
        #[arg(long, default_value = "auto")]
        format: String,
        /// Print parsed/failed counts per format to stderr.
        #[arg(long)]
        stats: bool,
        /// List the supported formats and exit.
        #[arg(long)]
        list_formats: bool,
        /// VPC Flow Logs custom format (`${version} ${vpc-id} …` or field names) for records
        /// without a header line.
        #[arg(long)]
        vpc_flow_format: Option<String>,
        /// Files to parse (`.gz` read transparently); standard input when none.
        files: Vec<PathBuf>,
    },
}

#[derive(clap::Args, Default)]
struct RunArgs {
    /// Pipeline file (TOML or YAML); repeat to merge several.
    #[arg(short = 'c', long = "config")]
    config: Vec<PathBuf>,
    /// Runtime worker threads (default: number of CPUs).
    #[arg(long)]
    threads: Option<usize>,
    /// Read what the sources have, deliver it, and exit (file sources stop at end of file).
    #[arg(long)]
    once: bool,
    /// Seconds to wait for in-flight events at shutdown before giving up (exit non-zero).
    #[arg(long, default_value_t = 30)]
    shutdown_timeout_secs: u64,
    /// Do not watch the pipeline files for changes (SIGHUP still reloads).
    #[arg(long)]
    no_watch: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.log_format);
    let result = match cli.command {
        None => run(RunArgs {
            shutdown_timeout_secs: 30,
            ..RunArgs::default()
        }),
        Some(Command::Run(args)) => run(args),
        Some(Command::Validate { files }) => Ok(validate(&files)),
        Some(Command::List) => {
            list();
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Parse {
            format,
            stats,
            list_formats,
            vpc_flow_format,
            files,
        }) => parse(
            &format,
            stats,
            list_formats,
            vpc_flow_format.as_deref(),
            &files,
        ),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("WEIR_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .with_env_filter(filter);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

fn print_diagnostics(diagnostics: &[Diagnostic]) {
    for d in diagnostics {
        eprintln!("{d}");
    }
}

fn validate(files: &[PathBuf]) -> ExitCode {
    match config::load_paths(files) {
        Ok(Loaded { config, warnings }) => {
            print_diagnostics(&warnings);
            let count = |kind| {
                config
                    .components
                    .values()
                    .filter(|c| c.plugin.kind() == kind)
                    .count()
            };
            println!(
                "ok: {} sources, {} transforms, {} sinks",
                count(ComponentKind::Source),
                count(ComponentKind::Transform),
                count(ComponentKind::Sink)
            );
            ExitCode::SUCCESS
        }
        Err(errors) => {
            print_diagnostics(&errors);
            eprintln!("{} error(s)", errors.len());
            ExitCode::FAILURE
        }
    }
}

fn list() {
    let mut specs = registry::all();
    specs.sort_by_key(|s| (s.parse.kind(), s.type_name));
    for spec in specs {
        println!(
            "{:<10} {:<14} {}",
            spec.parse.kind().as_str(),
            spec.type_name,
            spec.description
        );
    }
}

fn parse(
    format: &str,
    show_stats: bool,
    list_formats: bool,
    vpc_flow_format: Option<&str>,
    files: &[PathBuf],
) -> anyhow::Result<ExitCode> {
    use weir_transforms::aws::catalogue;
    if list_formats {
        for f in catalogue::FORMATS {
            println!("{:<24} {}", f.name, f.description);
        }
        return Ok(ExitCode::SUCCESS);
    }
    if format != "auto" && catalogue::find(format).is_none() {
        anyhow::bail!(
            "unknown format `{format}` (auto, {})",
            catalogue::names().join(", ")
        );
    }
    let inputs: Vec<Option<&std::path::Path>> = if files.is_empty() {
        vec![None]
    } else {
        files.iter().map(|f| Some(f.as_path())).collect()
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut errors = std::io::stderr();
    let mut total = weir_pipelines::parse::ParseStats::default();
    for input in inputs {
        let name = input.map_or_else(|| "stdin".to_string(), |p| p.display().to_string());
        let bytes = weir_pipelines::parse::read_input(input)?;
        let stats = weir_pipelines::parse::parse_input(
            &name,
            bytes.into(),
            format,
            vpc_flow_format,
            &mut out,
            &mut errors,
        )?;
        total.records += stats.records;
        for (k, v) in stats.parsed {
            *total.parsed.entry(k).or_default() += v;
        }
        for (k, v) in stats.failed {
            *total.failed.entry(k).or_default() += v;
        }
    }
    std::io::Write::flush(&mut out)?;
    if show_stats {
        eprintln!("records read: {}", total.records);
        for (format, n) in &total.parsed {
            eprintln!("parsed  {format:<24} {n}");
        }
        for (format, n) in &total.failed {
            eprintln!("failed  {format:<24} {n}");
        }
        eprintln!("failures: {}", total.failures());
    }
    Ok(if total.failures() > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// One reload: load and validate the files, bind a changed API address, apply the new pipeline.
/// Any failure leaves the running pipeline (and API) as they were. Returns whether it applied.
async fn reload_pipeline(
    paths: &[PathBuf],
    topology: &mut RunningTopology,
    api_config: &mut ApiConfig,
    api_task: &mut Option<(SocketAddr, tokio::task::JoinHandle<()>)>,
    state: api::ApiState,
) -> bool {
    let Loaded { config, warnings } = match config::load_paths(paths) {
        Ok(loaded) => loaded,
        Err(errors) => {
            for error in &errors {
                tracing::error!("{error}");
            }
            tracing::error!(
                errors = errors.len(),
                "reload refused: the pipeline files are invalid; the running pipeline is unchanged"
            );
            return false;
        }
    };
    for warning in &warnings {
        tracing::warn!("{warning}");
    }
    // A new API address is bound before anything else changes, so a busy port refuses the reload.
    let new_api = config.api.clone();
    let mut new_task = None;
    if new_api != *api_config && new_api.enabled {
        match api::serve(new_api.address, state).await {
            Ok(task) => new_task = Some(task),
            Err(error) => {
                tracing::error!(%error, "reload refused: the running pipeline is unchanged");
                return false;
            }
        }
    }
    match topology.reload(config) {
        Ok(plan) => {
            tracing::info!(changes = %plan.summary(), "pipeline reloaded");
            if new_api != *api_config {
                if let Some((_, old)) = api_task.take() {
                    old.abort();
                }
                if let Some((address, task)) = new_task {
                    tracing::info!(%address, "API listening: /metrics and /health");
                    *api_task = Some((address, task));
                }
                *api_config = new_api;
            }
            true
        }
        Err(error) => {
            if let Some((_, task)) = new_task {
                task.abort();
            }
            tracing::error!(%error, "reload refused: the running pipeline is unchanged");
            false
        }
    }
}

fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .thread_name("weir-worker")
        .enable_all()
        .build()
        .context("cannot start the runtime")?;
    runtime.block_on(run_pipeline(args))
}

async fn run_pipeline(args: RunArgs) -> anyhow::Result<ExitCode> {
    let quickstart_samples;
    let loaded = if args.config.is_empty() {
        let (file, samples) =
            quickstart::prepare().context("cannot prepare the quickstart samples")?;
        let samples_text = samples.display().to_string();
        quickstart_samples = Some(samples);
        config::load(&[file], |name| {
            if name == quickstart::SAMPLES_VAR {
                Some(samples_text.clone())
            } else {
                std::env::var(name).ok()
            }
        })
    } else {
        quickstart_samples = None;
        config::load_paths(&args.config)
    };
    let Loaded { config, warnings } = match loaded {
        Ok(loaded) => loaded,
        Err(errors) => {
            print_diagnostics(&errors);
            return Ok(ExitCode::FAILURE);
        }
    };
    print_diagnostics(&warnings);
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("cannot create data_dir {}", config.data_dir.display()))?;

    let metrics = Metrics::new(env!("CARGO_PKG_VERSION")).context("cannot set up metrics")?;
    let shutting_down = Arc::new(AtomicBool::new(false));
    let api_task = if config.api.enabled {
        let state = api::ApiState {
            metrics: Arc::clone(&metrics),
            shutting_down: Arc::clone(&shutting_down),
        };
        let (address, task) = api::serve(config.api.address, state).await?;
        tracing::info!(%address, "API listening: /metrics and /health");
        Some((address, task))
    } else {
        None
    };

    let mut sigterm = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
    let mut sigint = signal(SignalKind::interrupt()).context("cannot handle SIGINT")?;
    let options = RunOptions {
        once: args.once,
        drain_timeout: Duration::from_secs(args.shutdown_timeout_secs),
    };
    let mut api_config = config.api.clone();
    let mut topology = match RunningTopology::start(config, &metrics, options) {
        Ok(t) => t,
        Err(errors) => {
            for (id, e) in errors {
                eprintln!("error: component `{id}`: {e}");
            }
            return Ok(ExitCode::FAILURE);
        }
    };
    if let Some(samples) = &quickstart_samples {
        let metrics_url = api_task
            .as_ref()
            .map(|(a, _)| format!("http://{a}/metrics"))
            .unwrap_or_else(|| "disabled".into());
        eprintln!(
            "Weir quickstart: reading {} sample lines from {}\n  output:  ./weir-out/<date>/<log type>.ndjson (unparseable records: unparsed.ndjson)\n  metrics: {metrics_url}\n  Ctrl-C to stop.",
            quickstart::sample_lines(),
            samples.display()
        );
    }

    let reload_metrics =
        reload::ReloadMetrics::new(metrics.registry()).context("cannot set up reload metrics")?;
    let mut sighup = signal(SignalKind::hangup()).context("cannot handle SIGHUP")?;
    let watch = !(args.no_watch || args.once || args.config.is_empty());
    let mut watcher = if watch {
        let watcher = reload::ConfigWatcher::new(&args.config, reload::DEBOUNCE)
            .context("cannot watch the pipeline files")?;
        tracing::info!("watching the pipeline files; a change reloads the pipeline");
        Some(watcher)
    } else {
        None
    };
    let mut api_task = api_task;
    let stop = loop {
        let changed = async {
            match watcher.as_mut() {
                Some(watcher) => watcher.next_change().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = sigint.recv() => break true,
            _ = sigterm.recv() => break true,
            _ = topology.wait() => break false,
            Some(()) = changed => {}
            _ = sighup.recv() => tracing::info!("SIGHUP: reloading"),
        }
        if args.config.is_empty() {
            tracing::warn!("the embedded quickstart pipeline cannot be reloaded");
            continue;
        }
        let started = std::time::Instant::now();
        let state = api::ApiState {
            metrics: Arc::clone(&metrics),
            shutting_down: Arc::clone(&shutting_down),
        };
        let applied = reload_pipeline(
            &args.config,
            &mut topology,
            &mut api_config,
            &mut api_task,
            state,
        )
        .await;
        reload_metrics.record(applied, started.elapsed());
    };
    let code = if stop {
        shutting_down.store(true, Ordering::Release);
        tracing::info!(
            timeout_secs = args.shutdown_timeout_secs,
            "shutting down: draining in-flight events"
        );
        let deadline = Duration::from_secs(args.shutdown_timeout_secs);
        tokio::select! {
            result = topology.stop(deadline) => match result {
                Ok(()) => {
                    tracing::info!("shutdown complete");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    tracing::error!(error = %e, "shutdown incomplete");
                    eprintln!("error: {e}");
                    ExitCode::FAILURE
                }
            },
            _ = sigint.recv() => {
                eprintln!("error: second interrupt: exiting without draining");
                ExitCode::from(130)
            }
        }
    } else {
        tracing::info!("all sources finished and every event was handled");
        ExitCode::SUCCESS
    };
    if let Some((_, task)) = api_task {
        task.abort();
    }
    Ok(code)
}
