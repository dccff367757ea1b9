//! An uploaded bundle (a spec, a zip, a tar or tar.gz of specs, or anything else):
//! classify and validate it within the archive limits, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use trawl_core::bundle::parse_bundle;

fuzz_target!(|data: &[u8]| {
    if let Ok(bundle) = parse_bundle(data) {
        let _ = bundle.spider_names();
    }
});
