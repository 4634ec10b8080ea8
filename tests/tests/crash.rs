//! Acceptance: a `weir` process killed with SIGKILL at random moments and restarted with the same
//! `data_dir` ends with every input line in the output at least once. Duplicates are reported.

use std::time::{Duration, SystemTime, UNIX_EPOCH};
use weir_tests::{missing_and_duplicates, numbered_lines_in, write_numbered_lines, Weir};

const LINES: usize = 1_000_000;
const WIDTH: usize = 100;
/// The pipeline's pace (a rate-limited `blackhole` beside the file sink; the source's fan-out
/// waits for room in every consumer's buffer, so the slowest sets the pace): the million lines
/// take at least 5 s however fast the machine, while the three kills come within 3 × 800 ms of
/// their starts. So every kill lands mid-run by construction, not because the machine is slow.
const PACE_EVENTS_PER_SEC: usize = 200_000;

fn random_delay_ms(round: u64) -> u64 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos() as u64)
        .unwrap_or(0);
    100 + (nanos.wrapping_mul(6364136223846793005).wrapping_add(round) >> 20) % 700
}

#[test]
fn sigkill_and_restart_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    write_numbered_lines(&dir.path().join("input.log"), LINES, WIDTH);
    std::fs::write(
        dir.path().join("pipeline.toml"),
        format!(
            r#"
data_dir = "data"
api.enabled = false
[sources.in]
type = "file"
include = ["input.log"]
[sinks.out]
type = "file"
inputs = ["in"]
path = "out/lines.log"
encoding = "text"
[sinks.pace]
type = "blackhole"
inputs = ["in"]
rate_limit_events_per_sec = {PACE_EVENTS_PER_SEC}
"#
        ),
    )
    .unwrap();
    let args = ["run", "-c", "pipeline.toml", "--once", "--threads", "1"];
    let mut kills = 0;
    for round in 0..3 {
        let mut weir = Weir::start(dir.path(), &args, &[]);
        let delay = random_delay_ms(round);
        std::thread::sleep(Duration::from_millis(delay));
        if weir.child.try_wait().unwrap().is_some() {
            break;
        }
        weir.signal(libc::SIGKILL);
        let _ = weir.wait(Duration::from_secs(10));
        kills += 1;
        let so_far = numbered_lines_in(&dir.path().join("out")).len();
        eprintln!("crash: round {round}: SIGKILL after {delay} ms, {so_far} lines written so far");
    }
    let mut weir = Weir::start(dir.path(), &args, &[]);
    let status = weir.wait(Duration::from_secs(300));
    assert!(
        status.success(),
        "final run failed: {status:?}\n{}",
        weir.log_text()
    );
    let numbers = numbered_lines_in(&dir.path().join("out"));
    let (missing, duplicates) = missing_and_duplicates(&numbers, LINES);
    eprintln!(
        "crash: {kills} SIGKILLs, {} lines out of {LINES}, {duplicates} duplicates, {} missing",
        numbers.len(),
        missing.len()
    );
    assert!(
        missing.is_empty(),
        "lost {} lines, first {:?}",
        missing.len(),
        &missing[..missing.len().min(5)]
    );
    assert!(kills > 0, "no kill landed mid-run");
    let checkpoints = std::fs::read_to_string(dir.path().join("data/in/checkpoints.json")).unwrap();
    assert!(
        checkpoints.contains(&format!("\"offset\": {}", LINES * (WIDTH + 1))),
        "{checkpoints}"
    );
}
