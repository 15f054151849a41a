//! compare: the four ways a server talks back — short polling, long polling, Server-Sent
//! Events, WebSocket — measured side by side against one message stream from one hub.
//!
//! ```text
//! cargo run --release -p talkback-compare                # full run, writes reports/compare/
//! cargo run --release -p talkback-compare -- --quick     # < 30 s, for automated runs
//! cargo run --release -p talkback-compare -- --out docs/figures   # the tracked figure (`just figures`)
//! cargo run --release -p talkback-compare -- --out /tmp/x --messages 1000 --rate 100
//! ```
//!
//! Everything is measured from the client sockets (`wire`), checked message by message
//! (`tally`), and explained in docs/comparison.md. Module map: `run` (the phases), `client`
//! and `stream` (the four techniques) over `ctx` (what they share), `http` (a tiny client),
//! `memory` (server RSS per idle client, in a child process), `report` and `svg` (the outputs).

mod args;
mod client;
mod ctx;
mod http;
mod memory;
mod proxy;
mod reconnect;
mod report;
mod run;
mod stream;
mod svg;
mod tally;
mod wire;

use std::io;
use std::time::Instant;

use args::{Args, Mode};
use client::Technique;

fn main() {
    let result = match args::parse(std::env::args().skip(1).collect()) {
        Ok(Mode::Help) => Ok(()),
        Ok(Mode::Serve { threads }) => memory::serve(threads),
        Ok(Mode::Compare(args)) => compare(&args),
        Err(message) => {
            eprintln!("compare: {message}");
            std::process::exit(2);
        }
    };
    if let Err(error) = result {
        eprintln!("compare: {error}");
        std::process::exit(1);
    }
}

/// Runs the stream, probes memory, prints the tables and writes `comparison.{svg,md}`.
fn compare(args: &Args) -> io::Result<()> {
    let started = Instant::now();
    eprintln!(
        "compare: {} messages at {}/s, then {} s idle ÷ {} ...",
        args.messages,
        args.rate,
        args.idle.as_secs(),
        args.time_scale
    );
    let result = run::run(args)?;
    let idle_minutes = args.idle.as_secs_f64() / 60.0;
    let mut rows = Vec::new();
    for measured in &result.rows {
        let memory = probe_memory(args, measured.technique, &rows);
        rows.push(report::Row::new(measured, idle_minutes, memory, result.payload_bytes));
    }
    let mut tables = format!("{}\n{}", report::main_table(&rows, args.messages), report::idle_table(&rows));
    if args.reconnect > 0 {
        eprintln!("compare: reconnect scenario, {} messages, cut after {} ...", args.reconnect, args.reconnect / 2);
        let outcome = reconnect::run(args)?;
        tables += &format!(
            "\n{}\n{}",
            report::reconnect_table(&outcome, args.reconnect),
            report::reconnect_notes(args, &outcome)
        );
    }
    let notes = report::notes(args, &result, &rows, started.elapsed().as_secs_f64());
    println!("{tables}\n{notes}");
    std::fs::create_dir_all(&args.out)?;
    let subtitle = format!("{} messages at {}/s over 127.0.0.1 · {}", args.messages, args.rate, args.command);
    std::fs::write(args.out.join("comparison.svg"), svg::chart(&rows, &subtitle))?;
    std::fs::write(args.out.join("comparison.md"), report::markdown(args, &tables, &notes))?;
    eprintln!("compare: wrote {0}/comparison.svg and {0}/comparison.md", args.out.display());
    Ok(())
}

/// Server memory per idle client (short polling's rows share one probe: an idle keep-alive
/// connection costs the same whatever the interval).
fn probe_memory(args: &Args, technique: Technique, done: &[report::Row]) -> Option<f64> {
    if args.clients == 0 {
        return None;
    }
    let earlier_poll = done.iter().find(|r| r.name.starts_with("short polling"));
    if let (Technique::ShortPoll(_), Some(row)) = (technique, earlier_poll) {
        return row.memory;
    }
    match memory::per_client(technique, args.clients, args.threads) {
        Ok(bytes) => Some(bytes),
        Err(e) => {
            eprintln!("compare: memory probe for {} failed: {e}", technique.name());
            None
        }
    }
}
