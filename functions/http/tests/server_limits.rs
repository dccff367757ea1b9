//! The HTTP server's limits on real sockets: a connection cap, idle and half-open
//! connections closed after the header timeout, slow bodies cut off.

use std::time::Duration;

use axum::routing::{get, post};
use axum::Router;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use trawl_http::{serve, ServerLimits};

async fn start(limits: ServerLimits) -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = Router::new().route("/", get(|| async { "ok" })).route(
        "/upload",
        post(|body: String| async move { body.len().to_string() }),
    );
    tokio::spawn(serve(listener, app, limits, std::future::pending()));
    addr
}

/// Reads until the server closes the connection; `true` if it did within `within`.
async fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
    let mut buf = [0u8; 1024];
    let read = async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    };
    tokio::time::timeout(within, read).await.is_ok()
}

async fn get_ok(addr: std::net::SocketAddr) -> bool {
    let Ok(mut s) = TcpStream::connect(addr).await else {
        return false;
    };
    let req = "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    if s.write_all(req.as_bytes()).await.is_err() {
        return false;
    }
    let mut out = String::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), s.read_to_string(&mut out)).await;
    out.starts_with("HTTP/1.1 200")
}

#[tokio::test]
async fn connections_beyond_the_cap_are_closed_and_idle_ones_time_out() {
    let limits = ServerLimits {
        max_connections: 4,
        header_read_timeout: Duration::from_millis(400),
        body_timeout: Duration::from_secs(5),
    };
    let addr = start(limits).await;
    let mut idle = Vec::new();
    for _ in 0..4 {
        idle.push(TcpStream::connect(addr).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    // The fifth is closed at once: the cap holds.
    let mut extra = TcpStream::connect(addr).await.unwrap();
    assert!(closed_within(&mut extra, Duration::from_millis(300)).await);
    // The idle ones (no byte sent) are closed by the header timeout...
    for s in &mut idle {
        assert!(closed_within(s, Duration::from_secs(3)).await);
    }
    // ... and the server answers again.
    assert!(get_ok(addr).await);
}

#[tokio::test]
async fn a_half_sent_header_is_cut_off() {
    let limits = ServerLimits {
        max_connections: 8,
        header_read_timeout: Duration::from_millis(400),
        body_timeout: Duration::from_secs(5),
    };
    let addr = start(limits).await;
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        .await
        .unwrap();
    assert!(closed_within(&mut s, Duration::from_secs(3)).await);
    assert!(get_ok(addr).await);
}

#[tokio::test]
async fn a_trickled_body_is_cut_off() {
    let limits = ServerLimits {
        max_connections: 8,
        header_read_timeout: Duration::from_secs(5),
        body_timeout: Duration::from_millis(500),
    };
    let addr = start(limits).await;
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(b"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\nabc")
        .await
        .unwrap();
    let mut out = Vec::new();
    let res = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut out)).await;
    assert!(res.is_ok(), "the server never gave up on the body");
    let text = String::from_utf8_lossy(&out);
    assert!(!text.contains("1000000"), "{text}");
}
