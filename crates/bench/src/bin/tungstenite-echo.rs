//! tungstenite-echo: the tokio-tungstenite peer for `scripts/bench-ws.sh`.
//!
//! A WebSocket echo server on a tokio runtime with 2 worker threads: every text or binary
//! message goes back to its sender; pings are answered by tungstenite itself. Each
//! connection forwards its stream into its sink, which flushes only when no further message
//! is ready (the idiomatic, batching way to write an echo with `futures`).
//!
//! ```text
//! tungstenite-echo --addr 127.0.0.1:0 [--threads 2]
//! websocat ws://ADDR/
//! ```
//!
//! Prints `listening on http://ADDR` as its first stdout line.

use futures_util::{StreamExt, TryStreamExt, future};
use talkback_bench::args::Args;
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

fn main() {
    if let Err(e) = run() {
        eprintln!("tungstenite-echo: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    let args = Args::from_env()?;
    if args.flag("help") {
        println!("tungstenite-echo --addr HOST:PORT [--threads N]");
        return Ok(());
    }
    let addr = args.get("addr").unwrap_or("127.0.0.1:8080").to_owned();
    let threads = args.parse_or("threads", 2usize)?;
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?
        .block_on(serve(addr))
}

async fn serve(addr: String) -> Result<(), String> {
    let listener = TcpListener::bind(&addr).await.map_err(|e| format!("bind {addr}: {e}"))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    println!("listening on http://{local}");
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                tokio::spawn(echo(stream));
            }
            Err(e) => {
                eprintln!("tungstenite-echo: accept: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
        }
    }
}

async fn echo(stream: TcpStream) {
    let _ = stream.set_nodelay(true);
    // Same message limit as talkback's ws-echo (16 MiB).
    let config = WebSocketConfig::default().max_message_size(Some(16 << 20)).max_frame_size(Some(16 << 20));
    let Ok(ws) = tokio_tungstenite::accept_async_with_config(stream, Some(config)).await else {
        return;
    };
    let (sink, stream) = ws.split();
    let _ = stream.try_filter(|msg| future::ready(msg.is_text() || msg.is_binary())).forward(sink).await;
}
