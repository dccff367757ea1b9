//! Measures generation time, render cost and loopback throughput of a 10,000-product
//! site: `cargo run --release -p trawl-demo --example measure`.

use std::sync::Arc;
use std::time::Instant;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let t = Instant::now();
    let site = Arc::new(trawl_demo::Site::generate(trawl_demo::SiteSpec::new(
        10_000, 1,
    )));
    println!(
        "generated {} pages in {:?}",
        site.html_paths().len(),
        t.elapsed()
    );
    let paths = site.html_paths();
    let t = Instant::now();
    let bytes: usize = paths
        .iter()
        .map(|p| site.get(p, "http://x").body.len())
        .sum();
    let per = t.elapsed() / paths.len() as u32;
    println!("rendered {bytes} bytes, {per:?} per page");

    let server = trawl_demo::serve(site.clone(), "127.0.0.1:0".parse()?).await?;
    let addr = server.addr();
    let t = Instant::now();
    let clients: Vec<_> = (0..8)
        .map(|c| {
            let paths = paths.clone();
            tokio::spawn(async move {
                let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
                let mut r = BufReader::new(stream);
                let mut n = 0;
                for p in paths.iter().skip(c).step_by(8) {
                    let req = format!("GET {p} HTTP/1.1\r\nHost: {addr}\r\n\r\n");
                    r.get_mut().write_all(req.as_bytes()).await.unwrap();
                    let mut len = 0;
                    loop {
                        let mut line = String::new();
                        r.read_line(&mut line).await.unwrap();
                        if line == "\r\n" {
                            break;
                        }
                        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length: ")
                        {
                            len = v.trim().parse().unwrap();
                        }
                    }
                    let mut body = vec![0; len];
                    r.read_exact(&mut body).await.unwrap();
                    n += 1;
                }
                n
            })
        })
        .collect();
    let mut total = 0;
    for c in clients {
        total += c.await?;
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "served {total} pages in {secs:.2}s: {:.0} req/s",
        total as f64 / secs
    );
    server.shutdown().await;
    Ok(())
}
