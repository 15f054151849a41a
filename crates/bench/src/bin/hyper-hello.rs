//! hyper-hello: the hyper 1 peer for `scripts/bench-http.sh`.
//!
//! HTTP/1.1 keep-alive on a tokio runtime with 2 worker threads, `pipeline_flush` on (so
//! pipelined responses leave in one write), `TCP_NODELAY`, and every GET answered 200
//! `text/plain` with the same 20-byte body as talkback's `http-echo`.
//!
//! ```text
//! hyper-hello --addr 127.0.0.1:0 [--threads 2] [--body TEXT]
//! curl -i http://ADDR/anything
//! ```
//!
//! Prints `listening on http://ADDR` as its first stdout line.

use std::convert::Infallible;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use talkback_bench::args::Args;
use tokio::net::TcpListener;

fn main() {
    if let Err(e) = run() {
        eprintln!("hyper-hello: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    let args = Args::from_env()?;
    if args.flag("help") {
        println!("hyper-hello --addr HOST:PORT [--threads N] [--body TEXT]");
        return Ok(());
    }
    let addr = args.get("addr").unwrap_or("127.0.0.1:8080").to_owned();
    let threads = args.parse_or("threads", 2usize)?;
    let body = Bytes::from(args.get("body").unwrap_or("Hello from talkback\n").replace("\\n", "\n"));
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?
        .block_on(serve(addr, body))
}

async fn serve(addr: String, body: Bytes) -> Result<(), String> {
    let listener = TcpListener::bind(&addr).await.map_err(|e| format!("bind {addr}: {e}"))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    println!("listening on http://{local}");
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(conn) => conn,
            Err(e) => {
                // EMFILE and friends: back off briefly rather than spin or die.
                eprintln!("hyper-hello: accept: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let body = body.clone();
        tokio::spawn(async move {
            let service = service_fn(move |_req: Request<Incoming>| {
                let mut resp = Response::new(Full::new(body.clone()));
                resp.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
                async move { Ok::<_, Infallible>(resp) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .keep_alive(true)
                .pipeline_flush(true)
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
