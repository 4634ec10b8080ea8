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
use weir_pipelines::tables::TableSet;
use weir_pipelines::{api, quickstart, registry, reload, startup_checks};

/// jemalloc, as Vector ships: each event allocates many small, short-lived values (map keys,
/// fields) and a faster allocator is worth a large share of throughput.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc tuned for a bounded footprint: one arena (thread caches keep the hot path lock-free),
/// freed pages returned after 1 s instead of 10 s, so peak RSS tracks the buffers, not history.
/// (50 ms returned them so often that the purging cost 4–5 % of an ALB parse run and, with two
/// threads, cross-CPU TLB flushes; 1 s costs about 1 MB of peak RSS there.)
#[allow(non_upper_case_globals)]
#[export_name = "_rjem_malloc_conf"]
pub static malloc_conf: &[u8] = b"narenas:1,dirty_decay_ms:1000,muzzy_decay_ms:0\0";

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
    /// Check pipeline files and report every problem; exit 1 if there is any error. Every
    /// component is also built (not started), so missing TLS files and the like are found too.
    Validate {
        /// Only parse and check the files: build nothing, touch nothing outside them.
        #[arg(long)]
        no_build: bool,
        /// Pipeline files (TOML or YAML), merged.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// List the component types this build knows.
    List,
    /// Print the JSON Schema of a pipeline file (for editors: yaml-language-server, taplo).
    Schema,
    /// Write the reference of every component and format as Markdown.
    Docs {
        /// Where to write it (`-`: standard output). Default: docs/reference.md of the workspace.
        #[arg(long)]
        out: Option<PathBuf>,
    },
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
    /// Try a VRL program on sample events: each result printed as a JSON line, VRL's diagnostics
    /// on errors. Lines that are JSON objects are events as they are, others `{"message": line}`;
    /// with --parse, inputs are AWS log files parsed by `aws_parse` first.
    Vrl {
        /// The program, inline.
        #[arg(long, conflicts_with = "file", required_unless_present = "file")]
        program: Option<String>,
        /// A file holding the program.
        #[arg(long)]
        file: Option<PathBuf>,
        /// Parse the inputs as AWS logs first: `auto` (the default when given bare) or a format.
        #[arg(long, num_args = 0..=1, default_missing_value = "auto")]
        parse: Option<String>,
        /// Time zone of the program's local-time functions (IANA name); default UTC.
        #[arg(long)]
        timezone: Option<String>,
        /// A pipeline file whose `enrichment_tables` the program may use (`get_enrichment_table_record`,
        /// `geoip`, …); its other sections are ignored. Repeat to merge several.
        #[arg(long = "tables", value_name = "PIPELINE_FILE")]
        tables: Vec<PathBuf>,
        /// Input files (`.gz` read transparently); standard input when none.
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
        Some(Command::Validate { no_build, files }) => {
            let build = if no_build {
                config::Build::No
            } else {
                config::Build::Yes
            };
            Ok(validate(&files, build))
        }
        Some(Command::List) => {
            list();
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Schema) => print_schema(),
        Some(Command::Docs { out }) => write_docs(out),
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
        Some(Command::Vrl {
            program,
            file,
            parse,
            timezone,
            tables,
            files,
        }) => try_vrl(program, file, parse, timezone, &tables, &files),
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

fn validate(files: &[PathBuf], build: config::Build) -> ExitCode {
    match config::load_paths(files, build) {
        Ok(Loaded {
            config, warnings, ..
        }) => {
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

fn print_schema() -> anyhow::Result<ExitCode> {
    let schema = weir_pipelines::schema::pipeline_schema();
    println!("{}", serde_json::to_string_pretty(&schema)?);
    Ok(ExitCode::SUCCESS)
}

fn write_docs(out: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let reference = weir_pipelines::docs::reference();
    let path = out.unwrap_or_else(weir_pipelines::docs::default_path);
    if path.as_os_str() == "-" {
        std::io::Write::write_all(&mut std::io::stdout(), reference.as_bytes())?;
    } else {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        std::fs::write(&path, reference)
            .with_context(|| format!("cannot write {}", path.display()))?;
        eprintln!("wrote {}", path.display());
        // Beside the checked-in reference, README.md's format table is refreshed too.
        let readme = path
            .parent()
            .and_then(|d| d.parent())
            .map(|root| root.join("README.md"));
        if let Some(readme) = readme.filter(|r| r.is_file()) {
            let text = std::fs::read_to_string(&readme)?;
            if let Some(updated) = weir_pipelines::docs::readme_with_format_table(&text) {
                if updated != text {
                    std::fs::write(&readme, updated)?;
                    eprintln!("updated the format table in {}", readme.display());
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn try_vrl(
    program: Option<String>,
    file: Option<PathBuf>,
    parse: Option<String>,
    timezone: Option<String>,
    table_files: &[PathBuf],
    files: &[PathBuf],
) -> anyhow::Result<ExitCode> {
    use weir_pipelines::vrl_command::{self, VrlError, VrlRequest};
    let tables = match config::load_tables_only(table_files) {
        Ok(tables) => tables,
        Err(errors) => {
            print_diagnostics(&errors);
            return Ok(ExitCode::from(2));
        }
    };
    let program = match (program, file) {
        (Some(text), _) => text,
        (None, Some(path)) => std::fs::read_to_string(&path)
            .map_err(|e| anyhow::anyhow!("cannot read `{}`: {e}", path.display()))?,
        (None, None) => anyhow::bail!("give the program with --program or --file"),
    };
    if let Some(format) = parse.as_deref() {
        if format != "auto" && weir_aws::formats::registry::find(format).is_none() {
            anyhow::bail!("unknown format `{format}` for --parse");
        }
    }
    let request = VrlRequest {
        program: &program,
        timezone,
        parse: parse.as_deref(),
        files,
        tables,
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    match vrl_command::run(&request, &mut out, &mut std::io::stderr()) {
        Ok(stats) if stats.failed + stats.unparsed > 0 => Ok(ExitCode::FAILURE),
        Ok(_) => Ok(ExitCode::SUCCESS),
        Err(VrlError::Compile(diagnostic)) => {
            eprintln!("error: {diagnostic}");
            Ok(ExitCode::from(2))
        }
        Err(other) => Err(other.into()),
    }
}

fn parse(
    format: &str,
    show_stats: bool,
    list_formats: bool,
    vpc_flow_format: Option<&str>,
    files: &[PathBuf],
) -> anyhow::Result<ExitCode> {
    use weir_aws::formats::registry;
    if list_formats {
        for f in registry::FORMATS {
            println!(
                "{:<24} {} [ecs: {}; ocsf: {}]",
                f.name,
                f.description,
                weir_aws::formats::reference::ecs_words(f),
                f.mappings.ocsf.classes
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    if format != "auto" && registry::find(format).is_none() {
        anyhow::bail!(
            "unknown format `{format}` (auto, {})",
            registry::names().join(", ")
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
    tables: &TableSet,
) -> bool {
    let loaded = config::load_paths_with(paths, config::Build::Tables, tables);
    let Loaded {
        config,
        warnings,
        tables: table_configs,
    } = match loaded {
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
    let unreachable = startup_checks::run(&config).await;
    if !unreachable.is_empty() {
        for line in &unreachable {
            tracing::error!("{line}");
        }
        tracing::error!("reload refused: a source cannot reach what it reads; the running pipeline is unchanged");
        return false;
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
    let enrichment_tables = config.enrichment_tables.clone();
    match topology.reload(config) {
        Ok(plan) => {
            tracing::info!(changes = %plan.summary(), "pipeline reloaded");
            tables.adopt(&table_configs, &enrichment_tables);
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
    let metrics = Metrics::new(env!("CARGO_PKG_VERSION")).context("cannot set up metrics")?;
    let tables = TableSet::new(Arc::clone(&metrics));
    // Kept to the end: the quickstart banner names it.
    let (loaded, quickstart_samples) = load_for_run(&args.config, &tables)?;
    let Loaded {
        config,
        warnings,
        tables: table_configs,
    } = match loaded {
        Ok(loaded) => loaded,
        Err(errors) => {
            print_diagnostics(&errors);
            return Ok(ExitCode::FAILURE);
        }
    };
    print_diagnostics(&warnings);
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("cannot create data_dir {}", config.data_dir.display()))?;

    tables.adopt(&table_configs, &config.enrichment_tables);
    let shutting_down = Arc::new(AtomicBool::new(false));
    let api_task = start_api(&config.api, api_state(&metrics, &shutting_down)).await?;

    let mut sigterm = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
    let mut sigint = signal(SignalKind::interrupt()).context("cannot handle SIGINT")?;
    let options = RunOptions {
        once: args.once,
        drain_timeout: Duration::from_secs(args.shutdown_timeout_secs),
    };
    let api_config = config.api.clone();
    let unreachable = startup_checks::run(&config).await;
    if !unreachable.is_empty() {
        for line in &unreachable {
            eprintln!("error: {line}");
        }
        return Ok(ExitCode::FAILURE);
    }
    let topology = match RunningTopology::start(config, &metrics, options) {
        Ok(t) => t,
        Err(errors) => {
            for (id, e) in errors {
                eprintln!("error: component `{id}`: {e}");
            }
            return Ok(ExitCode::FAILURE);
        }
    };
    if let Some(samples) = &quickstart_samples {
        print_quickstart_banner(samples, api_task.as_ref().map(|(address, _)| *address));
    }

    let reload_metrics =
        reload::ReloadMetrics::new(metrics.registry()).context("cannot set up reload metrics")?;
    let mut sighup = signal(SignalKind::hangup()).context("cannot handle SIGHUP")?;
    let watcher = watch_files(&args)?;
    let mut session = Session {
        paths: args.config.clone(),
        topology,
        metrics,
        shutting_down,
        api_config,
        api_task,
        reload_metrics,
        tables,
    };
    let stop = session
        .serve(&mut sigint, &mut sigterm, &mut sighup, watcher)
        .await;
    Ok(session
        .finish(stop, &mut sigint, args.shutdown_timeout_secs)
        .await)
}

/// A loaded pipeline, or every problem found loading it.
type LoadResult = Result<Loaded, Vec<Diagnostic>>;

/// Loads the pipeline files, or the embedded quickstart (with its samples prepared) when there
/// are none. Returns the quickstart's samples directory too.
fn load_for_run(
    paths: &[PathBuf],
    tables: &TableSet,
) -> anyhow::Result<(LoadResult, Option<PathBuf>)> {
    if !paths.is_empty() {
        return Ok((
            config::load_paths_with(paths, config::Build::Tables, tables),
            None,
        ));
    }
    let (file, samples) = quickstart::prepare().context("cannot prepare the quickstart samples")?;
    let samples_text = samples.display().to_string();
    let loaded = config::load(&[file], |name| {
        if name == quickstart::SAMPLES_VAR {
            Some(samples_text.clone())
        } else {
            std::env::var(name).ok()
        }
    });
    Ok((loaded, Some(samples)))
}

/// What the API serves from.
fn api_state(metrics: &Arc<Metrics>, shutting_down: &Arc<AtomicBool>) -> api::ApiState {
    api::ApiState {
        metrics: Arc::clone(metrics),
        shutting_down: Arc::clone(shutting_down),
    }
}

/// Serves `/metrics` and `/health`, if enabled; before the pipeline starts, so a busy port fails
/// the start.
async fn start_api(
    config: &ApiConfig,
    state: api::ApiState,
) -> anyhow::Result<Option<(SocketAddr, tokio::task::JoinHandle<()>)>> {
    if !config.enabled {
        return Ok(None);
    }
    let (address, task) = api::serve(config.address, state).await?;
    tracing::info!(%address, "API listening: /metrics and /health");
    Ok(Some((address, task)))
}

/// What the quickstart reads, where it writes and where its metrics are.
fn print_quickstart_banner(samples: &std::path::Path, api_address: Option<SocketAddr>) {
    let metrics_url = api_address
        .map(|a| format!("http://{a}/metrics"))
        .unwrap_or_else(|| "disabled".into());
    eprintln!(
        "Weir quickstart: reading {} sample lines from {}\n  output:  ./weir-out/<date>/<log type>.ndjson (unparseable records: unparsed.ndjson)\n  metrics: {metrics_url}\n  Ctrl-C to stop.",
        quickstart::sample_lines(),
        samples.display()
    );
}

/// A watch on the pipeline files, unless told not to (`--no-watch`), running `--once` or running
/// the quickstart (which cannot be reloaded).
fn watch_files(args: &RunArgs) -> anyhow::Result<Option<reload::ConfigWatcher>> {
    if args.no_watch || args.once || args.config.is_empty() {
        return Ok(None);
    }
    let watcher = reload::ConfigWatcher::new(&args.config, reload::DEBOUNCE)
        .context("cannot watch the pipeline files")?;
    tracing::info!("watching the pipeline files; a change reloads the pipeline");
    Ok(Some(watcher))
}

/// A started pipeline and what `weir run` keeps beside it until shutdown.
struct Session {
    /// The pipeline files; none for the embedded quickstart, which cannot be reloaded.
    paths: Vec<PathBuf>,
    topology: RunningTopology,
    metrics: Arc<Metrics>,
    /// Set at shutdown, so `/health` reports it.
    shutting_down: Arc<AtomicBool>,
    /// The `[api]` table the API task serves.
    api_config: ApiConfig,
    api_task: Option<(SocketAddr, tokio::task::JoinHandle<()>)>,
    reload_metrics: reload::ReloadMetrics,
    /// The enrichment tables and their watches.
    tables: TableSet,
}

impl Session {
    /// Runs until SIGINT or SIGTERM (returns true: drain and stop) or until every component has
    /// finished on its own (false: `--once`), reloading on SIGHUP and on every change the watcher
    /// reports.
    async fn serve(
        &mut self,
        sigint: &mut tokio::signal::unix::Signal,
        sigterm: &mut tokio::signal::unix::Signal,
        sighup: &mut tokio::signal::unix::Signal,
        mut watcher: Option<reload::ConfigWatcher>,
    ) -> bool {
        loop {
            let changed = async {
                match watcher.as_mut() {
                    Some(watcher) => watcher.next_change().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = sigint.recv() => return true,
                _ = sigterm.recv() => return true,
                _ = self.topology.wait() => return false,
                Some(()) = changed => {}
                _ = sighup.recv() => tracing::info!("SIGHUP: reloading"),
            }
            self.reload().await;
        }
    }

    /// One reload, timed and counted in the reload metrics.
    async fn reload(&mut self) {
        if self.paths.is_empty() {
            tracing::warn!("the embedded quickstart pipeline cannot be reloaded");
            return;
        }
        let started = std::time::Instant::now();
        let state = api_state(&self.metrics, &self.shutting_down);
        let applied = reload_pipeline(
            &self.paths,
            &mut self.topology,
            &mut self.api_config,
            &mut self.api_task,
            state,
            &self.tables,
        )
        .await;
        self.reload_metrics.record(applied, started.elapsed());
    }

    /// Ends the run: after a stop signal, drains within the shutdown timeout (a second SIGINT
    /// exits at once); then stops the API. Returns the exit code.
    async fn finish(
        self,
        stop: bool,
        sigint: &mut tokio::signal::unix::Signal,
        timeout_secs: u64,
    ) -> ExitCode {
        let code = if stop {
            self.shutting_down.store(true, Ordering::Release);
            tracing::info!(timeout_secs, "shutting down: draining in-flight events");
            let deadline = Duration::from_secs(timeout_secs);
            tokio::select! {
                result = self.topology.stop(deadline) => match result {
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
        if let Some((_, task)) = self.api_task {
            task.abort();
        }
        code
    }
}
