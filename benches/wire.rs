//! Frames per second through parse + apply + summary (`replay::Replay`), over a whole
//! recording. Prints one JSON object.
//!
//! `cargo bench --bench wire -- FRAMES_FILE`: the file's lines starting with `#market` give
//! `up_token down_token tick_micros`, every other line is one frame (benches/bench_wire.py
//! writes it from the simulator). Without a file, the captured crossing-burst fixture is
//! replayed 2,000 times with shifted timestamps.

use gabagool_core::replay::Replay;
use std::path::PathBuf;
use std::time::Instant;

/// (up token, down token, tick micros) per market, and the frames.
type Recording = (Vec<(String, String, i64)>, Vec<Vec<u8>>);

const BURST_UP: &str = "76670567130917723816490572615540605537878462672464291990940067659127658071111";
const BURST_DOWN: &str = "54179564009642723353355316176091991063553046330768303687769988635499280029688";

fn from_file(path: &str) -> Recording {
    let text = std::fs::read_to_string(path).unwrap_or_else(|err| panic!("{path}: {err}"));
    let mut markets = Vec::new();
    let mut frames = Vec::new();
    for line in text.lines() {
        if let Some(spec) = line.strip_prefix("#market ") {
            let parts: Vec<&str> = spec.split_whitespace().collect();
            let [up, down, tick] = parts[..] else { panic!("bad #market line {line:?}") };
            markets.push((up.to_owned(), down.to_owned(), tick.parse().expect("tick micros")));
        } else if !line.is_empty() {
            frames.push(line.as_bytes().to_vec());
        }
    }
    (markets, frames)
}

/// The capture's frames, one per line, repeated with timestamps moved on each pass.
fn from_fixture() -> Recording {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/polymarket/ws_market_price_change_crossing_burst.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
    let compact: String = text.lines().map(str::trim).collect();
    let body = compact.trim().trim_start_matches('[').trim_end_matches(']');
    let objects: Vec<String> = body.split("},{\"market\"").enumerate().map(|(i, part)| {
        let mut object = if i == 0 { part.to_owned() } else { format!("{{\"market\"{part}") };
        if !object.ends_with('}') {
            object.push('}');
        }
        object
    }).collect();
    let mut frames = Vec::new();
    for pass in 0..2_000u64 {
        for object in &objects {
            let shifted = object.replace("\"timestamp\":\"1790658", &format!("\"timestamp\":\"{}", 1_790_658 + pass * 1_000));
            frames.push(shifted.into_bytes());
        }
    }
    (vec![(BURST_UP.to_owned(), BURST_DOWN.to_owned(), 1_000)], frames)
}

fn main() {
    let path = std::env::args().skip(1).find(|arg| !arg.starts_with("--"));
    let (markets, frames) = match &path {
        Some(path) => from_file(path),
        None => from_fixture(),
    };
    let specs: Vec<(&str, &str, i64)> = markets.iter().map(|(u, d, t)| (u.as_str(), d.as_str(), *t)).collect();
    let bytes: usize = frames.iter().map(Vec::len).sum();
    let mut best = f64::INFINITY;
    let mut errors = 0;
    let mut problems = 0;
    // WIRE_BENCH_PASSES=N repeats the timed pass (7 by default), e.g. for `perf record`.
    let passes: usize = std::env::var("WIRE_BENCH_PASSES").ok().and_then(|v| v.parse().ok()).unwrap_or(7);
    for _ in 0..passes {
        let mut replay = Replay::new(&specs).expect("valid markets");
        let start = Instant::now();
        for frame in &frames {
            let _ = replay.apply(frame);
        }
        replay.finish();
        best = best.min(start.elapsed().as_secs_f64());
        errors = replay.frame_errors();
        problems = replay.feeds().iter().flat_map(|f| [f.token_counters(gabagool_core::market::Outcome::Up).problem_total(), f.token_counters(gabagool_core::market::Outcome::Down).problem_total()]).sum::<u64>();
    }
    let source = path.unwrap_or_else(|| "fixture:ws_market_price_change_crossing_burst.json".to_owned());
    println!(
        "{{\"source\": {source:?}, \"frames\": {}, \"bytes\": {bytes}, \"markets\": {}, \"seconds\": {best:.6}, \"frames_per_second\": {:.0}, \"megabytes_per_second\": {:.1}, \"frame_errors\": {errors}, \"problems\": {problems}}}",
        frames.len(),
        markets.len(),
        frames.len() as f64 / best,
        bytes as f64 / best / 1e6,
    );
}
