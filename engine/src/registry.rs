//! Spiders written in Rust, by name: a [`SpiderRegistry`] maps a spider name to a
//! factory that builds the spider from a run's arguments (`-a NAME=VALUE`, or
//! `schedule.json`'s extra parameters) and settings.
//!
//! The `trawl` command (`trawl_cli::Trawl`), `trawl serve` and the crawler function take
//! a registry, so a user's own binary runs their Rust spiders next to spec spiders:
//!
//! ```
//! use std::sync::Arc;
//! use trawl_engine::registry::{SpiderArgs, SpiderRegistry};
//! use trawl_engine::spider::{Output, StartRequests};
//! use trawl_engine::{Request, Response, Settings, Spider};
//!
//! struct Hello(String);
//!
//! impl Spider for Hello {
//!     fn name(&self) -> &str { "hello" }
//!     fn start_requests(&self) -> anyhow::Result<StartRequests> {
//!         Ok(Box::new(std::iter::once(Request::parse(&self.0)?)))
//!     }
//!     fn parse(&self, _cb: &str, r: &Response, out: &mut Output) -> anyhow::Result<()> {
//!         let mut item = trawl_engine::Item::new();
//!         item.insert("status".into(), r.status.into());
//!         out.item(item);
//!         Ok(())
//!     }
//! }
//!
//! let registry = SpiderRegistry::new().with("hello", |args: &SpiderArgs, _: &Settings| {
//!     let url = args.get("url").unwrap_or("http://127.0.0.1:8080/");
//!     Ok(Arc::new(Hello(url.to_string())) as Arc<dyn Spider>)
//! });
//! assert_eq!(registry.names(), ["hello"]);
//! let spider = registry.create("hello", &SpiderArgs::default(), &Settings::new());
//! assert_eq!(spider.unwrap().unwrap().name(), "hello");
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use crate::settings::Settings;
use crate::spider::Spider;

/// A run's spider arguments (`-a NAME=VALUE` on the command line, the extra parameters
/// of `schedule.json`), by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SpiderArgs(BTreeMap<String, String>);

impl SpiderArgs {
    /// The arguments in `pairs` (a later pair wins over an earlier one of the same name).
    pub fn new<K: Into<String>, V: Into<String>>(pairs: impl IntoIterator<Item = (K, V)>) -> Self {
        SpiderArgs(
            pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        )
    }

    /// The value of argument `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// The value of argument `name`, or an error naming it.
    pub fn require(&self, name: &str) -> anyhow::Result<&str> {
        self.get(name)
            .ok_or_else(|| anyhow::anyhow!("spider argument '{name}' is required"))
    }

    /// Argument `name` parsed as a `T` (`None` when absent), or an error naming it.
    pub fn parse<T>(&self, name: &str) -> anyhow::Result<Option<T>>
    where
        T: std::str::FromStr,
        T::Err: fmt::Display,
    {
        self.get(name)
            .map(|v| {
                v.parse::<T>()
                    .map_err(|e| anyhow::anyhow!("spider argument '{name}' ({v:?}): {e}"))
            })
            .transpose()
    }

    /// Fails on an argument whose name is not in `known` (a typo would otherwise be
    /// ignored silently).
    pub fn only(&self, known: &[&str]) -> anyhow::Result<()> {
        match self.0.keys().find(|k| !known.contains(&k.as_str())) {
            Some(k) => anyhow::bail!(
                "unknown spider argument '{k}' (known: {})",
                known.join(", ")
            ),
            None => Ok(()),
        }
    }

    /// The arguments, sorted by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The arguments as `(name, value)` pairs, sorted by name (what spec spiders take).
    pub fn to_pairs(&self) -> Vec<(String, String)> {
        self.0.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    }
}

impl From<BTreeMap<String, String>> for SpiderArgs {
    fn from(map: BTreeMap<String, String>) -> Self {
        SpiderArgs(map)
    }
}

/// Builds a spider for one run from its arguments and its settings (command-line
/// priority: `-s`, or `schedule.json`'s `setting=`).
///
/// A factory is also called to validate a run before it starts (`schedule.json` checks
/// the arguments when the job is queued, `trawl check` builds the spider): keep it cheap
/// and free of side effects, and do the work in the spider's requests.
pub trait SpiderFactory: Send + Sync + 'static {
    /// A spider for a run with these arguments and settings, or why not (an invalid
    /// argument: the message reaches the user).
    fn create(&self, args: &SpiderArgs, settings: &Settings) -> anyhow::Result<Arc<dyn Spider>>;
}

impl<F> SpiderFactory for F
where
    F: Fn(&SpiderArgs, &Settings) -> anyhow::Result<Arc<dyn Spider>> + Send + Sync + 'static,
{
    fn create(&self, args: &SpiderArgs, settings: &Settings) -> anyhow::Result<Arc<dyn Spider>> {
        self(args, settings)
    }
}

/// Rust spiders by name. Cheap to clone (the factories are shared).
#[derive(Clone, Default)]
pub struct SpiderRegistry {
    factories: BTreeMap<String, Arc<dyn SpiderFactory>>,
}

impl SpiderRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers `factory` as spider `name` (replacing an earlier one of that name).
    /// The spiders it builds should answer `name` from [`Spider::name`]: jobs and
    /// commands know them by the registered name, feeds and logs by `Spider::name`.
    ///
    /// # Panics
    /// When `name` is empty or contains characters other than letters, digits, `_`,
    /// `-` and `.` (names appear in paths of logs and items): a programming error.
    pub fn register(&mut self, name: impl Into<String>, factory: impl SpiderFactory) {
        let name = name.into();
        assert!(
            is_valid_name(&name),
            "invalid spider name {name:?}: use letters, digits, '_', '-' and '.'"
        );
        self.factories.insert(name, Arc::new(factory));
    }

    /// [`SpiderRegistry::register`], by value (for chaining).
    pub fn with(mut self, name: impl Into<String>, factory: impl SpiderFactory) -> Self {
        self.register(name, factory);
        self
    }

    /// Whether spider `name` is registered.
    pub fn contains(&self, name: &str) -> bool {
        self.factories.contains_key(name)
    }

    /// Whether no spider is registered.
    pub fn is_empty(&self) -> bool {
        self.factories.is_empty()
    }

    /// The registered names, sorted.
    pub fn names(&self) -> Vec<String> {
        self.factories.keys().cloned().collect()
    }

    /// Builds spider `name` for a run: `None` when it is not registered, else the
    /// factory's answer.
    pub fn create(
        &self,
        name: &str,
        args: &SpiderArgs,
        settings: &Settings,
    ) -> Option<anyhow::Result<Arc<dyn Spider>>> {
        self.factories.get(name).map(|f| f.create(args, settings))
    }
}

impl fmt::Debug for SpiderRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.factories.keys()).finish()
    }
}

fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 200
        && name != "."
        && name != ".."
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spider::{Output, StartRequests};
    use crate::Response;

    struct Named(String);

    impl Spider for Named {
        fn name(&self) -> &str {
            &self.0
        }
        fn start_requests(&self) -> anyhow::Result<StartRequests> {
            Ok(Box::new(std::iter::empty()))
        }
        fn parse(&self, _: &str, _: &Response, _: &mut Output) -> anyhow::Result<()> {
            Ok(())
        }
    }

    fn registry() -> SpiderRegistry {
        SpiderRegistry::new().with("echo", |args: &SpiderArgs, settings: &Settings| {
            args.only(&["name"])?;
            let name = format!("{}-{}", args.require("name")?, settings.get_str("BOT_NAME"));
            Ok(Arc::new(Named(name)) as Arc<dyn Spider>)
        })
    }

    #[test]
    fn factories_receive_the_arguments_and_settings() {
        let mut settings = Settings::new();
        settings.set("BOT_NAME", "bot", crate::settings::Priority::Cmdline);
        let args = SpiderArgs::new([("name", "x")]);
        let spider = registry()
            .create("echo", &args, &settings)
            .unwrap()
            .unwrap();
        assert_eq!(spider.name(), "x-bot");
    }

    #[test]
    fn factory_errors_and_unknown_names_are_told_apart() {
        let r = registry();
        assert!(r
            .create("nope", &SpiderArgs::default(), &Settings::new())
            .is_none());
        let missing = r.create("echo", &SpiderArgs::default(), &Settings::new());
        let err = missing.unwrap().err().unwrap().to_string();
        assert_eq!(err, "spider argument 'name' is required");
        let typo = SpiderArgs::new([("name", "x"), ("nmae", "y")]);
        let err = r
            .create("echo", &typo, &Settings::new())
            .unwrap()
            .err()
            .unwrap();
        assert_eq!(
            err.to_string(),
            "unknown spider argument 'nmae' (known: name)"
        );
        assert_eq!(format!("{r:?}"), "{\"echo\"}");
    }

    #[test]
    fn arguments_parse_to_types() {
        let args = SpiderArgs::new([("pages", "12"), ("bad", "x")]);
        assert_eq!(args.parse::<u32>("pages").unwrap(), Some(12));
        assert_eq!(args.parse::<u32>("absent").unwrap(), None);
        let err = args.parse::<u32>("bad").unwrap_err().to_string();
        assert!(err.starts_with("spider argument 'bad' (\"x\"):"), "{err}");
    }

    #[test]
    #[should_panic(expected = "invalid spider name")]
    fn names_that_cannot_be_paths_are_refused() {
        SpiderRegistry::new().register("../x", |_: &SpiderArgs, _: &Settings| {
            Ok(Arc::new(Named("x".into())) as Arc<dyn Spider>)
        });
    }
}
