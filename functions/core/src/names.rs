//! Names and ids: validation of the project, spider, version, job and schedule names
//! that end up in storage paths and keys, id generation, and Scrapyd's version order.

use std::cmp::Ordering;

use crate::ApiError;

/// The longest accepted name, in bytes (all accepted characters are ASCII).
pub const MAX_NAME_LEN: usize = 200;

/// Checks a project, spider, version, job or schedule id that Trawl uses in storage
/// paths and keys: 1 to [`MAX_NAME_LEN`] characters, each an ASCII letter, a digit,
/// `_`, `-` or `.`, and not `.` or `..`. This rejects path traversal (`../x`, `a/b`),
/// spaces, and non-ASCII text.
///
/// The error is Scrapyd-shaped: `ApiError::invalid(param, ...)`, whose message reads
/// `project is invalid: '../etc' is not a valid name: ...`.
pub fn check_name(param: &'static str, value: &str) -> Result<(), ApiError> {
    if value.is_empty() {
        return Err(ApiError::invalid(param, "must not be empty"));
    }
    if value.len() > MAX_NAME_LEN {
        return Err(ApiError::invalid(
            param,
            format!(
                "is {} characters long; the maximum is {MAX_NAME_LEN}",
                value.chars().count()
            ),
        ));
    }
    let chars_ok = value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if !chars_ok || value == "." || value == ".." {
        return Err(ApiError::invalid(
            param,
            format!(
                "{value:?} is not a valid name: use letters, digits, '_', '-' and '.' \
                 (1 to {MAX_NAME_LEN} characters, not '.' or '..')"
            ),
        ));
    }
    Ok(())
}

/// Checks a project name where Scrapyd builds a storage path from it (`addversion.json`,
/// `listversions.json`, `delversion.json`, `delproject.json`): a name that would leave
/// its folder (one with `/` or `\`, or `..`) gives Scrapyd's
/// `DirectoryTraversalError: <name>`; any other name is checked by [`check_name`].
pub fn check_project(project: &str) -> Result<(), ApiError> {
    if project.contains(['/', '\\']) || project == ".." {
        return Err(ApiError::DirectoryTraversal(project.to_string()));
    }
    check_name("project", project)
}

/// Whether a project, spider or version name passes [`check_name`]: names that do not
/// cannot exist, so the endpoints that look one up answer Scrapyd's "not found".
pub fn is_valid_name(value: &str) -> bool {
    check_name("name", value).is_ok()
}

/// Scrapyd's file name for a version (its egg storage's sanitising): every character
/// other than an ASCII letter, a digit, `_` or `-` becomes `_`, so `1.0+local` is
/// stored and listed as `1_0_local`, `a/b` as `a_b`. Lookups sanitise the version they
/// are given the same way, so `_version=1.0+local` finds it.
pub fn sanitize_version(version: &str) -> String {
    version
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Checks a version label given to `addversion.json`: any text of 1 to
/// [`MAX_NAME_LEN`] characters (it is stored under [`sanitize_version`]'s name).
pub fn check_version(version: &str) -> Result<(), ApiError> {
    if version.is_empty() {
        return Err(ApiError::invalid("version", "must not be empty"));
    }
    let len = version.chars().count();
    if len > MAX_NAME_LEN {
        return Err(ApiError::invalid(
            "version",
            format!("is {len} characters long; the maximum is {MAX_NAME_LEN}"),
        ));
    }
    Ok(())
}

/// Checks a job id chosen by a client (`schedule.json`'s `jobid`). Scrapyd accepts any
/// text; Trawl accepts any text that is a safe file name, since the id names the job's
/// log and items: 1 to [`MAX_NAME_LEN`] bytes, no `/`, `\` or control characters, and
/// not `.` or `..`. Spaces and non-ASCII letters are fine.
pub fn check_job_id(id: &str) -> Result<(), ApiError> {
    if id.is_empty() {
        return Err(ApiError::invalid("jobid", "must not be empty"));
    }
    if id.len() > MAX_NAME_LEN {
        return Err(ApiError::invalid(
            "jobid",
            format!("is {} bytes long; the maximum is {MAX_NAME_LEN}", id.len()),
        ));
    }
    if id.contains(['/', '\\']) || id.chars().any(char::is_control) || id == "." || id == ".." {
        return Err(ApiError::invalid(
            "jobid",
            format!(
                "{id:?} cannot name a file: no '/', '\\' or control characters, not '.' or '..'"
            ),
        ));
    }
    Ok(())
}

/// A new random job id: 32 lowercase hex characters, shaped like Python's
/// `uuid.uuid4().hex` (what Scrapyd generates), with the version-4 and RFC 4122 variant
/// bits set.
pub fn new_job_id() -> String {
    uuid4_hex()
}

/// A new random schedule id: 32 lowercase hex characters, the same shape as a job id.
pub fn new_schedule_id() -> String {
    uuid4_hex()
}

fn uuid4_hex() -> String {
    let mut bits: u128 = rand::random();
    // Version 4 in bits 76..80, variant 0b10 in bits 62..64.
    bits = (bits & !(0xF << 76)) | (0x4 << 76);
    bits = (bits & !(0x3 << 62)) | (0x2 << 62);
    format!("{bits:032x}")
}

/// Orders version strings the way `listversions.json` lists them (ascending, latest
/// last), like Scrapyd does for the versions people actually use.
///
/// Scrapyd sorts with `packaging.version.Version` and falls back to plain ordering for
/// strings that are not PEP 440. Trawl uses one natural ordering for everything: each
/// version is split into runs of digits and runs of other characters, which are compared
/// in turn; digit runs compare by numeric value (any length, leading zeros ignored),
/// other runs compare as text, and a digit run sorts before a text run. When one
/// version is a prefix of the other, the shorter sorts first. So `r9 < r10`,
/// `1.9 < 1.10`, `1.0 < 1.0.1`, and unix-timestamp versions (what `scrapyd-deploy` uses
/// by default) and `YYYYMMDD...` versions sort by time. Ties (such as `1.01` and
/// `1.1`) are broken by plain string order, so the order is total and consistent.
///
/// Differences from PEP 440: pre-releases sort after their release (`1.0 < 1.0rc1`),
/// and `1.0 != 1.0.0` (the shorter sorts first).
pub fn version_cmp(a: &str, b: &str) -> Ordering {
    let mut ta = Tokens(a);
    let mut tb = Tokens(b);
    loop {
        match (ta.next(), tb.next()) {
            (None, None) => return a.cmp(b),
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) => {
                let x_digits = x.as_bytes()[0].is_ascii_digit();
                let y_digits = y.as_bytes()[0].is_ascii_digit();
                let ord = match (x_digits, y_digits) {
                    (true, true) => numeric_cmp(x, y),
                    (true, false) => Ordering::Less,
                    (false, true) => Ordering::Greater,
                    (false, false) => x.cmp(y),
                };
                if ord != Ordering::Equal {
                    return ord;
                }
            }
        }
    }
}

/// Compares two runs of ASCII digits by value, whatever their length.
fn numeric_cmp(x: &str, y: &str) -> Ordering {
    let x = x.trim_start_matches('0');
    let y = y.trim_start_matches('0');
    x.len().cmp(&y.len()).then_with(|| x.cmp(y))
}

/// Splits a string into maximal runs of ASCII digits and of other characters.
struct Tokens<'a>(&'a str);

impl<'a> Iterator for Tokens<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let first = *self.0.as_bytes().first()?;
        let digits = first.is_ascii_digit();
        let end = self
            .0
            .bytes()
            .position(|b| b.is_ascii_digit() != digits)
            .unwrap_or(self.0.len());
        // `end` is at an ASCII byte or the end, so this is a char boundary.
        let (token, rest) = self.0.split_at(end);
        self.0 = rest;
        Some(token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_names() {
        for ok in [
            "shop",
            "my_project-2",
            "1.0",
            "r10",
            "a.b.c",
            "_",
            "-x",
            "..a",
            "a..b",
        ] {
            assert!(check_name("project", ok).is_ok(), "{ok}");
        }
        assert!(check_name("project", &"a".repeat(200)).is_ok());
    }

    #[test]
    fn invalid_names() {
        for bad in [
            "", ".", "..", "../etc", "a/b", "a\\b", "/abs", "sp ace", "é", "a\0b", "x:y",
        ] {
            let err = check_name("project", bad).unwrap_err();
            let msg = err.to_string();
            assert!(msg.starts_with("project is invalid: "), "{bad:?}: {msg}");
        }
        let err = check_name("version", &"a".repeat(201)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "version is invalid: is 201 characters long; the maximum is 200"
        );
        let err = check_name("spider", "../x").unwrap_err();
        assert!(err.to_string().contains("\"../x\" is not a valid name"));
        assert!(matches!(
            err,
            ApiError::Invalid {
                param: "spider",
                ..
            }
        ));
    }

    #[test]
    fn versions_are_sanitised_as_scrapyd_stores_them() {
        assert_eq!(sanitize_version("1.0+local"), "1_0_local");
        assert_eq!(
            sanitize_version("2026-11-30T19:00:00"),
            "2026-11-30T19_00_00"
        );
        assert_eq!(sanitize_version("a/b"), "a_b");
        assert_eq!(sanitize_version("../x"), "___x");
        assert_eq!(sanitize_version("r10_ok-2"), "r10_ok-2");
        assert_eq!(sanitize_version("é1"), "_1", "one '_' per character");
        assert!(check_version("1.0+local").is_ok());
        assert!(check_version("").is_err());
        assert!(check_version(&"é".repeat(200)).is_ok());
        assert_eq!(
            check_version(&"v".repeat(201)).unwrap_err().to_string(),
            "version is invalid: is 201 characters long; the maximum is 200"
        );
    }

    #[test]
    fn traversal_in_project_names() {
        for bad in ["../p", "..", "a/b", "a\\b", "/abs"] {
            assert_eq!(
                check_project(bad).unwrap_err().to_string(),
                format!("DirectoryTraversalError: {bad}")
            );
        }
        assert!(check_project("shop.v2").is_ok());
        let msg = check_project("my project").unwrap_err().to_string();
        assert!(msg.starts_with("project is invalid: "), "{msg}");
        assert!(is_valid_name("shop") && !is_valid_name("../p"));
    }

    #[test]
    fn client_job_ids() {
        for ok in ["nightly run 7", "job-1", "café", "a.b", "..a"] {
            assert!(check_job_id(ok).is_ok(), "{ok}");
        }
        for bad in ["", ".", "..", "a/b", "a\\b", "tab\there", "nul\0"] {
            let msg = check_job_id(bad).unwrap_err().to_string();
            assert!(msg.starts_with("jobid is invalid: "), "{bad:?}: {msg}");
        }
        assert!(check_job_id(&"j".repeat(200)).is_ok());
        assert!(check_job_id(&"j".repeat(201)).is_err());
    }

    #[test]
    fn job_ids() {
        let a = new_job_id();
        let b = new_job_id();
        assert_ne!(a, b);
        for id in [&a, &b, &new_schedule_id()] {
            assert_eq!(id.len(), 32);
            assert!(id
                .chars()
                .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)));
            assert_eq!(&id[12..13], "4", "uuid4 version nibble: {id}");
            assert!("89ab".contains(&id[16..17]), "uuid4 variant: {id}");
            assert!(check_name("jobid", id).is_ok());
        }
    }

    fn sorted(mut v: Vec<&str>) -> Vec<&str> {
        v.sort_by(|a, b| version_cmp(a, b));
        v
    }

    #[test]
    fn version_order() {
        use Ordering::*;
        assert_eq!(version_cmp("r10", "r9"), Greater);
        assert_eq!(version_cmp("1.10", "1.9"), Greater);
        assert_eq!(version_cmp("1.0", "1.0.1"), Less);
        assert_eq!(version_cmp("1.0", "1.0"), Equal);
        assert_eq!(version_cmp("1.01", "1.1"), Less, "tie broken by text");
        assert_eq!(version_cmp("1.1", "1.01"), Greater);
        assert_eq!(version_cmp("1699999999", "1700000000"), Less);
        assert_eq!(version_cmp("999999999", "1700000000"), Less);
        assert_eq!(
            version_cmp(
                "123456789012345678901234567890",
                "99999999999999999999999999999"
            ),
            Greater,
            "no overflow on long digit runs"
        );
        assert_eq!(version_cmp("", "0"), Less);
        assert_eq!(
            sorted(vec!["1.10", "1.2", "r10", "1.9", "r2", "1.0.1", "1.0", "2"]),
            vec!["1.0", "1.0.1", "1.2", "1.9", "1.10", "2", "r2", "r10"]
        );
        assert_eq!(
            sorted(vec!["20240102T0900", "20231231T2359", "20240102T0859"]),
            vec!["20231231T2359", "20240102T0859", "20240102T0900"]
        );
        // Non-ASCII text does not panic.
        assert_eq!(version_cmp("é1", "é2"), Less);
    }
}
