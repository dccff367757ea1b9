//! A spec in JSON: parse and validate, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use trawl_engine::spec::{Spec, SpecFormat};

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = Spec::parse(text, SpecFormat::Json, &["site"]);
    }
});
