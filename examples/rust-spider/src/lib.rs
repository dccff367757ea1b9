//! A spider written in Rust, doing what a spec cannot: it reads how many pages a
//! category listing has ("Page 1 of N") and requests every page at once instead of
//! following "Next" links one by one, and it keeps state across responses to yield one
//! aggregate item per category (product count, total, lowest, highest and mean price,
//! in cents) when the last page of that category has been parsed.
//!
//! [`registry`] registers it as `category_stats`; `src/main.rs` is a `trawl` binary
//! with it, and the crawler function of a deployment would pass the same registry to
//! `trawl_aws::crawler::run`.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

use parking_lot::Mutex;
use regex::Regex;
use trawl_engine::registry::{SpiderArgs, SpiderRegistry};
use trawl_engine::select::Page;
use trawl_engine::spider::{Output, StartRequests};
use trawl_engine::{Item, Request, Response, Settings, Spider};
use url::Url;

/// The spider's name.
pub const NAME: &str = "category_stats";

/// Where the demo shop is when no `site` argument is given (`trawl demo-site`).
pub const DEFAULT_SITE: &str = "http://127.0.0.1:8080";

static PAGE_OF: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"Page (\d+) of (\d+)").expect("valid regex"));
static LISTING_PATH: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^/category/(\d+)(?:/(\d+))?\.html$").expect("valid regex"));
static PRICE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\$(\d+)\.(\d{2})$").expect("valid regex"));

/// The Rust spiders of this crate.
pub fn registry() -> SpiderRegistry {
    SpiderRegistry::new().with(NAME, factory)
}

/// Builds [`CategoryStats`] for a run: argument `site` (the shop's base URL, default
/// [`DEFAULT_SITE`]); any other argument is refused.
pub fn factory(args: &SpiderArgs, _settings: &Settings) -> anyhow::Result<Arc<dyn Spider>> {
    args.only(&["site"])?;
    let site = args.get("site").unwrap_or(DEFAULT_SITE);
    let site =
        Url::parse(site).map_err(|e| anyhow::anyhow!("spider argument 'site' ({site:?}): {e}"))?;
    if !matches!(site.scheme(), "http" | "https") {
        anyhow::bail!("spider argument 'site' ({site}): not an http(s) URL");
    }
    Ok(Arc::new(CategoryStats::new(site)))
}

/// Per-category price statistics of the demo shop.
pub struct CategoryStats {
    site: Url,
    categories: Mutex<HashMap<u64, Tally>>,
}

/// What is known of a category while its pages come in.
#[derive(Debug, Default)]
struct Tally {
    name: String,
    pages: u64,
    pages_seen: u64,
    prices: Vec<u64>,
}

impl CategoryStats {
    /// The spider for the shop at `site`.
    pub fn new(site: Url) -> Self {
        CategoryStats {
            site,
            categories: Mutex::new(HashMap::new()),
        }
    }

    /// A listing page: on page 1, requests pages 2..=N; on every page, adds its prices
    /// and yields the category's item once all N pages are in.
    fn listing(&self, response: &Response, out: &mut Output) -> anyhow::Result<()> {
        let Some(path) = LISTING_PATH.captures(response.url.path()) else {
            anyhow::bail!("not a listing page: {}", response.url);
        };
        let category: u64 = path[1].parse()?;
        let page = Page::parse_with_url(response.text(), &response.url);
        let header = page.css("p.page::text")?.get().unwrap_or_default();
        let Some(of) = PAGE_OF.captures(&header) else {
            anyhow::bail!("no 'Page K of N' on {}", response.url);
        };
        let (current, pages): (u64, u64) = (of[1].parse()?, of[2].parse()?);
        if current == 1 {
            for k in 2..=pages {
                let next = response
                    .urljoin(&format!("/category/{category}/{k}.html"))
                    .ok_or_else(|| anyhow::anyhow!("cannot build page {k} of {category}"))?;
                out.request(Request::get(next).callback("listing"));
            }
        }
        let name = page.css("h1::text")?.get().unwrap_or_default();
        let mut prices = Vec::new();
        for price in page.css("li.product span.price::text")?.iter() {
            let text = price.get();
            let cents = PRICE
                .captures(text.trim())
                .ok_or_else(|| anyhow::anyhow!("unreadable price {text:?} on {}", response.url))?;
            prices.push(cents[1].parse::<u64>()? * 100 + cents[2].parse::<u64>()?);
        }

        let mut categories = self.categories.lock();
        let tally = categories.entry(category).or_default();
        tally.name = name.trim().to_string();
        tally.pages = pages;
        tally.pages_seen += 1;
        tally.prices.extend(prices);
        if tally.pages_seen == pages {
            let tally = categories.remove(&category).expect("present");
            out.item(category_item(category, &tally));
        }
        Ok(())
    }
}

/// The item of a complete category. Prices are integer cents, so sums are exact.
fn category_item(category: u64, tally: &Tally) -> Item {
    let n = tally.prices.len() as u64;
    let total: u64 = tally.prices.iter().sum();
    let mut item = Item::new();
    item.insert("category".into(), category.into());
    item.insert("name".into(), tally.name.clone().into());
    item.insert("pages".into(), tally.pages.into());
    item.insert("products".into(), n.into());
    item.insert("total_cents".into(), total.into());
    item.insert(
        "min_cents".into(),
        tally.prices.iter().min().copied().into(),
    );
    item.insert(
        "max_cents".into(),
        tally.prices.iter().max().copied().into(),
    );
    item.insert("mean_cents".into(), total.checked_div(n).into());
    item
}

impl Spider for CategoryStats {
    fn name(&self) -> &str {
        NAME
    }

    fn allowed_domains(&self) -> Vec<String> {
        self.site
            .host_str()
            .map(str::to_string)
            .into_iter()
            .collect()
    }

    fn start_requests(&self) -> anyhow::Result<StartRequests> {
        let index = Url::parse(&format!(
            "{}/index.html",
            self.site.as_str().trim_end_matches('/')
        ))?;
        Ok(Box::new(std::iter::once(Request::get(index))))
    }

    fn parse(&self, callback: &str, response: &Response, out: &mut Output) -> anyhow::Result<()> {
        match callback {
            // The home page: one request per category's first listing page.
            "parse" => {
                let page = Page::parse_with_url(response.text(), &response.url);
                for href in page.css("ul.categories a::attr(href)")?.iter() {
                    out.follow(response, &href.get(), "listing");
                }
                Ok(())
            }
            "listing" => self.listing(response, out),
            other => anyhow::bail!("unknown callback {other:?}"),
        }
    }

    fn closed(&self, reason: &str) {
        let left = self.categories.lock();
        if !left.is_empty() {
            let mut numbers: Vec<&u64> = left.keys().collect();
            numbers.sort();
            tracing::warn!(
                "{NAME} closed ({reason}) with {} incomplete categories: {numbers:?}",
                left.len()
            );
        }
    }
}
