//! Property tests of the control plane's parsers of untrusted input, run with every
//! `cargo test`: cron expressions and time zones, uploaded bundles, names and versions.
//! For arbitrary input nothing panics, and errors stay short (they quote a bounded
//! prefix of what was sent). The long runs are the cargo-fuzz targets `cron` and
//! `bundle` in `fuzz/` (`scripts/fuzz`).

use chrono::{TimeZone, Utc};
use proptest::prelude::*;
use trawl_core::bundle::parse_bundle;
use trawl_core::cron::CronSchedule;
use trawl_core::names::{check_name, sanitize_version, version_cmp};

const ZIP: &[u8] = include_bytes!("../../../fuzz/seeds/bundle/specs.zip");
const TAR_GZ: &[u8] = include_bytes!("../../../fuzz/seeds/bundle/specs.tar.gz");
const SPEC: &[u8] = include_bytes!("../../../fuzz/seeds/bundle/shop.toml");

/// Text over cron's own symbols, so most inputs get past the first check.
fn cron_text() -> impl Strategy<Value = String> {
    proptest::string::string_regex("[0-9*/,\\-@ a-zA-Z#LW?]{0,40}").unwrap()
}

/// `data` with byte edits at relative positions.
fn mutate(data: &[u8], edits: &[(u16, u8)]) -> Vec<u8> {
    let mut out = data.to_vec();
    for &(at, byte) in edits {
        if out.is_empty() {
            break;
        }
        let i = at as usize % out.len();
        out[i] = byte;
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn cron_never_panics(expr in cron_text(), tz in "[A-Za-z_/+\\-0-9]{0,24}") {
        match CronSchedule::parse(&expr, &tz) {
            Ok(s) => {
                let _ = s.describe();
                let t = Utc.with_ymd_and_hms(2026, 10, 25, 0, 30, 0).unwrap();
                if let Some(next) = s.next_after(t) {
                    prop_assert!(next > t);
                }
            }
            Err(e) => prop_assert!(e.to_string().len() < 400),
        }
    }

    #[test]
    fn bundles_never_panic(
        which in 0usize..3,
        edits in proptest::collection::vec((any::<u16>(), any::<u8>()), 0..8),
        cut in any::<u16>(),
    ) {
        let base = [ZIP, TAR_GZ, SPEC][which];
        let mut data = mutate(base, &edits);
        data.truncate(cut as usize % (base.len() + 1));
        if let Err(e) = parse_bundle(&data) {
            prop_assert!(e.to_string().len() < 2000, "{} bytes", e.to_string().len());
        }
    }

    #[test]
    fn names_and_versions_never_panic(a in "\\PC{0,40}", b in "\\PC{0,40}") {
        let _ = check_name("project", &a);
        let s = sanitize_version(&a);
        prop_assert!(!s.contains('/'));
        let _ = version_cmp(&a, &b);
    }
}

#[test]
fn the_seeds_are_valid_bundles() {
    for data in [ZIP, TAR_GZ, SPEC] {
        let bundle = parse_bundle(data).expect("seed bundle");
        assert_eq!(bundle.spider_names(), ["shop"]);
    }
}
