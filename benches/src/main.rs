//! `weir-throughput`: the end-to-end throughput harness.
//!
//! Runs the release `weir` binary with `--once` over a workload made by `../shared/bench/gen.py`,
//! several times, and reports medians of events/s, MB/s, CPU seconds (user + system) and peak RSS,
//! measured from outside the process (`wait4` rusage), plus the ratio to `cp` of the same file.
//!
//! ```sh
//! cargo build --release -p weir
//! cargo run --release -p weir-benches -- passthrough --threads 1
//! cargo run --release -p weir-benches -- passthrough --threads 2 --runs 5
//! ```
//! With one thread (the default) the whole `weir` process is pinned to one CPU (`--pin 0` to
//! let it float), as Vector's reference figures were taken.
//! The workload is generated into `target/bench-data` on first use.
//!
//! `weir-throughput s3 [--objects N] [--lines N]` measures the `aws_s3` source against moto
//! instead (see the `s3` module); `weir-throughput kinesis [--records N] [--shards N]` the
//! `aws_kinesis` source (see the `kinesis` module).

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use anyhow::{bail, Context, Result};

mod cli;
mod geoip_hits;
mod kinesis;
mod s3;

/// One benchmark case: which generated file, and the pipeline body around it.
struct Case {
    name: &'static str,
    file: &'static str,
    gen_only: &'static str,
    /// Made from `gen.py`'s file of this name (same events) instead of by `gen.py` itself.
    derived_from: Option<&'static str>,
    /// Pipeline after the source (`{input}` is the source id).
    pipeline: &'static str,
}

/// The parse pipeline with `$options` added to `aws_parse`.
macro_rules! parse_pipeline {
    ($options:literal) => {
        concat!(
            r#"
[transforms.parse]
type = "aws_parse"
inputs = ["in"]
"#,
            $options,
            r#"
[sinks.out]
type = "file"
inputs = ["parse"]
path = "{out}/out.ndjson"

[sinks.failed]
type = "file"
inputs = ["parse.errors"]
path = "{out}/failed.ndjson"
"#
        )
    };
}

/// Parse cases: file source → `aws_parse` (auto) → NDJSON file sink, as Vector's figures were taken.
const PARSE: &str = parse_pipeline!("");

/// Cases `<log>-ecs` and `<log>-ocsf`: [`PARSE`] with `schema = "ecs"` / `"ocsf"`; compare with
/// `<log>` (the target is ≥ 70 % of its events/s).
const PARSE_ECS: &str = parse_pipeline!("schema = \"ecs\"\n");

/// See [`PARSE_ECS`].
const PARSE_OCSF: &str = parse_pipeline!("schema = \"ocsf\"\n");

/// Case `alb-remap` of `../shared/bench/README.md`: ALB parse, then the README's edit program in
/// Weir's field names (`elb_status_code` → `http_status`, `client_ip` → `client`, drop the TLS
/// fields, add `env` and `severity`).
const ALB_REMAP: &str = r#"
[transforms.parse]
type = "aws_parse"
inputs = ["in"]
format = "alb"

[transforms.shape]
type = "remap"
inputs = ["parse"]
source = '''
.http_status = del(.elb_status_code)
.client = del(.client_ip)
del(.ssl_cipher)
del(.ssl_protocol)
.env = "prod"
.severity = if (to_int(.http_status) ?? 0) >= 500 { "error" } else { "info" }
'''

[sinks.out]
type = "file"
inputs = ["shape"]
path = "{out}/out.ndjson"

[sinks.failed]
type = "file"
inputs = ["parse.errors"]
path = "{out}/failed.ndjson"
"#;

/// Case `alb-geoip`: ALB parse, then `geoip` on `client_ip` with MaxMind's GeoIP2-City test
/// database (`tests/services/install.sh` unpacks it under `target/maxmind`). Compare with `alb`:
/// the target is ≥ 75 % of its events/s at one thread. Case `alb-geoip-hits` runs it on lines
/// whose every client address is in the database (see the `geoip_hits` module): on `alb.log`
/// most lookups miss the small test database.
const ALB_GEOIP: &str = r#"
[enrichment_tables.city]
type = "mmdb"
path = "{maxmind}/GeoIP2-City-Test.mmdb"

[transforms.parse]
type = "aws_parse"
inputs = ["in"]

[transforms.geo]
type = "geoip"
inputs = ["parse"]
table = "city"
fields = ["client_ip"]

[sinks.out]
type = "file"
inputs = ["geo"]
path = "{out}/out.ndjson"

[sinks.failed]
type = "file"
inputs = ["parse.errors"]
path = "{out}/failed.ndjson"
"#;

const CASES: &[Case] = &[
    Case {
        name: "passthrough",
        file: "alb.log",
        gen_only: "alb",
        derived_from: None,
        pipeline: r#"
[sinks.out]
type = "file"
inputs = ["in"]
path = "{out}/out.log"
encoding = "text"
"#,
    },
    Case {
        name: "alb",
        file: "alb.log",
        gen_only: "alb",
        derived_from: None,
        pipeline: PARSE,
    },
    Case {
        name: "alb-remap",
        file: "alb.log",
        gen_only: "alb",
        derived_from: None,
        pipeline: ALB_REMAP,
    },
    Case {
        name: "alb-geoip",
        file: "alb.log",
        gen_only: "alb",
        derived_from: None,
        pipeline: ALB_GEOIP,
    },
    Case {
        name: "alb-geoip-hits",
        file: "alb-geoip-hits.log",
        gen_only: "alb",
        derived_from: Some("alb.log"),
        pipeline: ALB_GEOIP,
    },
    Case {
        name: "vpc",
        file: "vpc.log",
        gen_only: "vpc",
        derived_from: None,
        pipeline: PARSE,
    },
    Case {
        name: "cloudtrail",
        file: "cloudtrail.ndjson",
        gen_only: "cloudtrail",
        derived_from: None,
        pipeline: PARSE,
    },
    Case {
        name: "cloudtrail-records",
        file: "cloudtrail-records.json",
        gen_only: "cloudtrail",
        derived_from: None,
        pipeline: PARSE,
    },
    Case {
        name: "s3access",
        file: "s3access.log",
        gen_only: "s3access",
        derived_from: None,
        pipeline: PARSE,
    },
    Case {
        name: "cloudfront",
        file: "cloudfront.log",
        gen_only: "cloudfront",
        derived_from: None,
        pipeline: PARSE,
    },
    Case {
        name: "alb-ecs",
        file: "alb.log",
        gen_only: "alb",
        derived_from: None,
        pipeline: PARSE_ECS,
    },
    Case {
        name: "alb-ocsf",
        file: "alb.log",
        gen_only: "alb",
        derived_from: None,
        pipeline: PARSE_OCSF,
    },
    Case {
        name: "vpc-ecs",
        file: "vpc.log",
        gen_only: "vpc",
        derived_from: None,
        pipeline: PARSE_ECS,
    },
    Case {
        name: "vpc-ocsf",
        file: "vpc.log",
        gen_only: "vpc",
        derived_from: None,
        pipeline: PARSE_OCSF,
    },
    Case {
        name: "cloudtrail-ecs",
        file: "cloudtrail.ndjson",
        gen_only: "cloudtrail",
        derived_from: None,
        pipeline: PARSE_ECS,
    },
    Case {
        name: "cloudtrail-ocsf",
        file: "cloudtrail.ndjson",
        gen_only: "cloudtrail",
        derived_from: None,
        pipeline: PARSE_OCSF,
    },
];

struct Measurement {
    wall: f64,
    cpu: f64,
    max_rss_kib: u64,
}

/// Runs a command to completion and measures it with wait4's rusage.
fn measure(command: &mut Command) -> Result<Measurement> {
    let start = Instant::now();
    let child = command.spawn().context("spawn")?;
    let mut status = 0;
    // SAFETY: rusage is plain old data; wait4 fills it for our own child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = child.id() as i32;
    // SAFETY: waiting for our own child pid with valid pointers.
    let rc = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let wall = start.elapsed().as_secs_f64();
    if rc != pid {
        bail!("wait4 failed");
    }
    if !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != 0 {
        bail!("command failed with status {status}");
    }
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    Ok(Measurement {
        wall,
        cpu: secs(usage.ru_utime) + secs(usage.ru_stime),
        max_rss_kib: usage.ru_maxrss as u64,
    })
}

/// Runs the command's process (all its threads) on the machine's last CPU only.
fn pin_to_last_cpu(command: &mut Command) {
    use std::os::unix::process::CommandExt;
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    // SAFETY: between fork and exec only async-signal-safe calls: sched_setaffinity on a
    // cpu_set_t built on this stack.
    unsafe {
        command.pre_exec(move || {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            libc::CPU_SET(cpus - 1, &mut set);
            if libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// Where `tests/services/install.sh` unpacks MaxMind's test databases.
fn maxmind_test_data() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/maxmind/test-data")
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Counts lines streaming, so this harness stays small: a child's peak RSS as reported by
/// `wait4` starts from the parent's own at fork time.
fn count_lines(path: &Path) -> Result<u64> {
    use std::io::Read;
    let mut file = std::fs::File::open(path).with_context(|| format!("open {}", path.display()))?;
    let mut buf = vec![0u8; 1 << 20];
    let mut lines = 0;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            return Ok(lines);
        }
        lines += buf[..n].iter().filter(|b| **b == b'\n').count() as u64;
    }
}

/// Generates the workload with `gen.py` unless `input` and the manifest already exist.
/// A derived case's file is made from its `gen.py` file (itself generated first if missing).
fn ensure_workload(root: &Path, data: &Path, input: &Path, case: &Case) -> Result<()> {
    if let Some(source) = case.derived_from {
        let source = data.join(source);
        ensure_gen_file(root, data, &source, case)?;
        if !input.is_file() {
            eprintln!("deriving {} from {} …", input.display(), source.display());
            geoip_hits::derive(root, &source, input)?;
        }
        return Ok(());
    }
    ensure_gen_file(root, data, input, case)
}

fn ensure_gen_file(root: &Path, data: &Path, input: &Path, case: &Case) -> Result<()> {
    if input.is_file() && data.join("manifest.json").is_file() {
        return Ok(());
    }
    eprintln!(
        "generating {} with ../shared/bench/gen.py …",
        input.display()
    );
    let status = Command::new("python3")
        .arg(root.join("../shared/bench/gen.py"))
        .args(["--only", case.gen_only, "--out"])
        .arg(data)
        .status()?;
    if !status.success() {
        bail!("gen.py failed");
    }
    Ok(())
}

/// One case's runs of `weir` over one input file.
struct Bench<'a> {
    case: &'a Case,
    weir: &'a Path,
    input: &'a Path,
    work: &'a Path,
    threads: usize,
    pin: bool,
    input_lines: u64,
    /// Events the parse cases must write (from the workload manifest).
    expected_events: u64,
}

impl Bench<'_> {
    /// Runs `weir --once` in a fresh work folder, measures it and checks its output.
    fn run(&self) -> Result<Measurement> {
        let _ = std::fs::remove_dir_all(self.work);
        std::fs::create_dir_all(self.work)?;
        let out = self.work.join("out");
        let pipeline = format!(
            "data_dir = \"{data}\"\napi.enabled = false\n[sources.in]\ntype = \"file\"\ninclude = [\"{input}\"]\nignore_checkpoints = true\n{body}",
            data = self.work.join("data").display(),
            input = self.input.display(),
            body = self
                .case
                .pipeline
                .replace("{out}", &out.display().to_string())
                .replace("{maxmind}", &maxmind_test_data().display().to_string()),
        );
        let config = self.work.join("pipeline.toml");
        std::fs::write(&config, pipeline)?;
        let mut command = Command::new(self.weir);
        command
            .args([
                "run",
                "--once",
                "--threads",
                &self.threads.to_string(),
                "-c",
            ])
            .arg(&config)
            .env("WEIR_LOG", "warn");
        if self.pin {
            pin_to_last_cpu(&mut command);
        }
        let m = measure(&mut command)?;
        self.check_output(&out)?;
        Ok(m)
    }

    /// Every event was written, and (parse cases) none failed.
    fn check_output(&self, out: &Path) -> Result<()> {
        let (written, wanted) = if self.case.name == "passthrough" {
            (count_lines(&out.join("out.log"))?, self.input_lines)
        } else {
            let failed = count_lines(&out.join("failed.ndjson")).unwrap_or(0);
            if failed > 0 {
                bail!(
                    "{failed} records failed to parse (see {})",
                    out.join("failed.ndjson").display()
                );
            }
            (count_lines(&out.join("out.ndjson"))?, self.expected_events)
        };
        if written != wanted {
            bail!("wrote {written} events, expected {wanted}");
        }
        Ok(())
    }

    /// Wall times of `runs` copies of the input with `cp`.
    fn cp_walls(&self, runs: usize) -> Result<Vec<f64>> {
        let cp_target = self.work.join("cp-copy");
        let mut cp_walls = Vec::new();
        for _ in 0..runs {
            let _ = std::fs::remove_file(&cp_target);
            cp_walls.push(measure(Command::new("cp").arg(self.input).arg(&cp_target))?.wall);
        }
        let _ = std::fs::remove_file(&cp_target);
        Ok(cp_walls)
    }

    /// Prints the medians of `results` against `cp`'s.
    fn report(&self, runs: usize, input_bytes: u64, results: &[Measurement], cp_walls: Vec<f64>) {
        let wall = median(results.iter().map(|m| m.wall).collect());
        let cpu = median(results.iter().map(|m| m.cpu).collect());
        let rss = median(results.iter().map(|m| m.max_rss_kib as f64).collect());
        let cp_wall = median(cp_walls);
        println!(
            "case {} ({}), {} threads{}, median of {runs} runs",
            self.case.name,
            self.case.file,
            self.threads,
            if self.pin { ", pinned to one CPU" } else { "" }
        );
        let events = if self.case.name == "passthrough" {
            self.input_lines
        } else {
            self.expected_events
        };
        println!("  events        {events}");
        println!("  wall          {wall:.3} s");
        println!("  events/s      {:.0}", events as f64 / wall);
        println!("  MB/s          {:.1}", input_bytes as f64 / 1e6 / wall);
        println!("  CPU           {cpu:.3} s (user + system)");
        println!("  peak RSS      {:.1} MB", rss / 1024.0);
        println!(
            "  cp            {cp_wall:.3} s ({:.1}x Weir's speed)",
            wall / cp_wall
        );
    }
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let case_name = args.first().map(String::as_str).unwrap_or("passthrough");
    if case_name == "s3" {
        return s3::run(&cli::root(), &args[1..]);
    }
    if case_name == "kinesis" {
        return kinesis::run(&cli::root(), &args[1..]);
    }
    let flag = |name: &str, default: usize| cli::flag(&args, name, default);
    let threads = flag("--threads", 1);
    let runs = flag("--runs", 3).max(1);
    // One worker: the whole process on one CPU, as Vector's reference figures were taken.
    let pin = flag("--pin", usize::from(threads == 1)) != 0;
    let Some(case) = CASES.iter().find(|c| c.name == case_name) else {
        bail!(
            "unknown case {case_name}; cases: {}",
            CASES.iter().map(|c| c.name).collect::<Vec<_>>().join(", ")
        );
    };

    let root = cli::root();
    let data = root.join("target/bench-data");
    let input = data.join(case.file);
    ensure_workload(&root, &data, &input, case)?;
    let weir = cli::release_weir(&root)?;
    let input_bytes = std::fs::metadata(&input)?.len();
    let input_lines = count_lines(&input)?;
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(data.join("manifest.json"))?)?;
    let expected_events = manifest["files"][case.derived_from.unwrap_or(case.file)]["events"]
        .as_u64()
        .unwrap_or(input_lines);
    let work = root.join("target/bench-run").join(case.name);
    let bench = Bench {
        case,
        weir: &weir,
        input: &input,
        work: &work,
        threads,
        pin,
        input_lines,
        expected_events,
    };

    let mut results = Vec::new();
    for run in 0..=runs {
        let m = bench.run()?;
        if run > 0 {
            // Run 0 warms the page cache and is not counted.
            results.push(m);
        }
    }
    let cp_walls = bench.cp_walls(runs)?;
    bench.report(runs, input_bytes, &results, cp_walls);
    Ok(())
}
