//! Request parameters: a query string, then a body as urlencoded or multipart form data
//! (the first line of the input is the content type), never panic.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use trawl_http::Params;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut parts = text.splitn(3, '\n');
    let (ct, query, body) = (parts.next(), parts.next(), parts.next().unwrap_or(""));
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let _ = rt.block_on(Params::parse(query, ct, Bytes::from(body.to_string())));
});
