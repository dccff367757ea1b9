//! One INFO line per API request, like Scrapyd's access log:
//! `127.0.0.1:50312 "POST /schedule.json" 200 3.2ms`. The query string is never
//! logged (it may carry a password or a spider argument); the peer is the TCP peer
//! [`crate::serve`] records on each request.

use std::net::SocketAddr;
use std::time::Instant;

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;

/// The TCP peer of a request, set by [`crate::serve`] on every request it reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Peer(pub SocketAddr);

/// The tracing target of access lines.
pub const TARGET: &str = "trawl_http::access";

/// Middleware: runs the request, then logs method, path, status, duration and peer.
pub async fn log_request(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let peer = req.extensions().get::<Peer>().map(|p| p.0);
    let res = next.run(req).await;
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    let status = res.status().as_u16();
    match peer {
        Some(peer) => {
            tracing::info!(target: TARGET, "{peer} \"{method} {path}\" {status} {ms:.1}ms")
        }
        None => tracing::info!(target: TARGET, "- \"{method} {path}\" {status} {ms:.1}ms"),
    }
    res
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use tracing_subscriber::fmt::MakeWriter;

    /// Collects formatted log output.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Captured {
        type Writer = Captured;
        fn make_writer(&'a self) -> Self::Writer {
            self.clone()
        }
    }

    /// A real server on loopback: each request leaves one access line with method,
    /// path without its query, status and peer; the password in the query is not logged.
    #[tokio::test(flavor = "current_thread")]
    async fn every_request_is_logged_without_its_query() {
        let out = Captured::default();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(out.clone())
            .with_ansi(false)
            .with_max_level(tracing::Level::INFO)
            .finish();
        let _guard = tracing::subscriber::set_default(subscriber);

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let app =
            axum::Router::new().route("/daemonstatus.json", axum::routing::get(|| async { "ok" }));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(crate::serve(
            listener,
            app,
            crate::ServerLimits::default(),
            async move {
                let _ = stopped.await;
            },
        ));
        let client = reqwest::Client::new();
        let r = client
            .get(format!("{url}/daemonstatus.json?password=hunter2"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let r = client
            .post(format!("{url}/nothing-here"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404);
        stop.send(()).ok();
        server.await.unwrap().unwrap();

        let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = text.lines().filter(|l| l.contains(super::TARGET)).collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert!(lines[0].contains(" INFO "), "{}", lines[0]);
        assert!(
            lines[0].contains("127.0.0.1:") && lines[0].contains("\"GET /daemonstatus.json\" 200 "),
            "{}",
            lines[0]
        );
        assert!(
            lines[1].contains("\"POST /nothing-here\" 404 "),
            "{}",
            lines[1]
        );
        assert!(!text.contains("hunter2"), "{text}");
    }
}
