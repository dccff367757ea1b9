//! Site generation and ground truth.

use std::collections::{BTreeMap, BTreeSet};

use bytes::Bytes;

use crate::rng::Rng;
use crate::words::{ADJECTIVES, CATEGORIES, MATERIALS, NOUNS, WORDS};
use crate::SiteSpec;

const POOL_SIZE: usize = 256;

/// A generated shop. Holds compact per-page data; HTML is rendered on request by
/// [`Site::get`], identically every time.
#[derive(Debug)]
pub struct Site {
    pub(crate) spec: SiteSpec,
    pub(crate) pool: Vec<String>,
    pub(crate) products: Vec<ProductRec>,
    pub(crate) categories: Vec<CategoryRec>,
}

#[derive(Debug)]
pub(crate) struct ProductRec {
    pub(crate) title: String,
    pub(crate) price_cents: u32,
    pub(crate) category: usize,
    pub(crate) paragraphs: Vec<u16>,
    /// Related product ids; ids above the product count are broken links.
    pub(crate) related: Vec<usize>,
    pub(crate) redirect: bool,
}

#[derive(Debug)]
pub(crate) struct CategoryRec {
    pub(crate) name: String,
    pub(crate) pages: Vec<ListingPage>,
}

#[derive(Debug, Default)]
pub(crate) struct ListingPage {
    pub(crate) products: Vec<usize>,
    pub(crate) filler: Vec<u16>,
}

/// Ground truth for one product, as a spider should scrape it.
#[derive(Debug, Clone, PartialEq)]
pub struct Product {
    /// Id, `1..=products`.
    pub id: usize,
    /// Canonical path, `/p/{id}.html`.
    pub url: String,
    /// The `<h1>` text.
    pub title: String,
    /// The price (`<span class="price">$12.34</span>` gives 12.34).
    pub price: f64,
    /// The text of `<div class="description">`: its paragraphs joined with `\n`.
    pub description: String,
    /// Category number (1-based), as in `/category/{n}.html`.
    pub category: usize,
}

/// Ground truth for one category.
#[derive(Debug, Clone, PartialEq)]
pub struct Category {
    /// Number (1-based), as in `/category/{n}.html`.
    pub number: usize,
    /// The `<h1>` text of its listing pages.
    pub name: String,
    /// Its listing pages (at least one, even with no product).
    pub pages: usize,
}

/// One HTTP answer of the site.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    /// Status code: 200, 301 or 404.
    pub status: u16,
    /// `Content-Type` header value.
    pub content_type: &'static str,
    /// `Location` of a redirect.
    pub location: Option<String>,
    /// Body bytes.
    pub body: Bytes,
}

/// The `$12.34` text of a price in cents.
pub(crate) fn price_text(cents: u32) -> String {
    format!("${}.{:02}", cents / 100, cents % 100)
}

fn paragraph(rng: &mut Rng) -> String {
    let mut p = String::new();
    while p.len() < 220 {
        let words = rng.range(6, 14);
        for i in 0..words {
            let w = *rng.pick(WORDS);
            if i == 0 {
                if !p.is_empty() {
                    p.push(' ');
                }
                let mut c = w.chars();
                p.extend(c.next().map(|f| f.to_ascii_uppercase()));
                p.push_str(c.as_str());
            } else {
                p.push(' ');
                p.push_str(w);
            }
        }
        p.push('.');
    }
    p
}

impl Site {
    /// Generates the site described by `spec` (deterministic in `spec`).
    pub fn generate(spec: SiteSpec) -> Site {
        let mut rng = Rng::new(spec.seed);
        let n = spec.products;
        let pool = (0..POOL_SIZE).map(|_| paragraph(&mut rng)).collect();
        let ncat = spec.category_count();
        let mut categories: Vec<CategoryRec> = (0..ncat)
            .map(|i| CategoryRec {
                name: match i / CATEGORIES.len() {
                    0 => CATEGORIES[i].to_string(),
                    k => format!("{} {}", CATEGORIES[i % CATEGORIES.len()], k + 1),
                },
                pages: Vec::new(),
            })
            .collect();
        let mut products: Vec<ProductRec> = (1..=n)
            .map(|id| ProductRec {
                title: format!(
                    "{} {} {} — Model {id}",
                    rng.pick(ADJECTIVES),
                    rng.pick(MATERIALS),
                    rng.pick(NOUNS)
                ),
                price_cents: rng.range(199, 99_999) as u32,
                category: rng.below(ncat) + 1,
                paragraphs: Vec::new(),
                related: Vec::new(),
                redirect: rng.chance(spec.redirect_ratio),
            })
            .collect();
        for (i, p) in products.iter_mut().enumerate() {
            let links = rng.range(spec.links_per_page.0, spec.links_per_page.1);
            p.related = (0..links)
                .map(|_| {
                    if rng.chance(spec.broken_link_ratio) {
                        n + 1 + rng.below(n.max(1))
                    } else {
                        (i + rng.range(1, n.saturating_sub(1).max(1))) % n.max(1) + 1
                    }
                })
                .collect();
        }
        let per_page = spec.listing_page_size.max(1);
        for (c, cat) in categories.iter_mut().enumerate() {
            let ids: Vec<usize> = (1..=n)
                .filter(|&id| products[id - 1].category == c + 1)
                .collect();
            cat.pages = ids
                .chunks(per_page)
                .map(|chunk| ListingPage {
                    products: chunk.to_vec(),
                    filler: Vec::new(),
                })
                .collect();
            if cat.pages.is_empty() {
                cat.pages.push(ListingPage::default());
            }
        }
        let mut site = Site {
            spec,
            pool,
            products,
            categories,
        };
        site.fill_to_size(&mut rng);
        site
    }

    /// Adds description paragraphs (products) and intro paragraphs (listings) until each
    /// page reaches a size drawn from `page_size_bytes`.
    fn fill_to_size(&mut self, rng: &mut Rng) {
        let (min, max) = self.spec.page_size_bytes;
        let fill = |base: usize, rng: &mut Rng, pool: &[String]| {
            let target = rng.range(min, max.saturating_sub(650).max(min));
            let (mut size, mut picked) = (base, Vec::new());
            while size < target {
                let i = rng.below(pool.len());
                size += pool[i].len() + 8;
                picked.push(i as u16);
            }
            picked
        };
        for id in 1..=self.products.len() {
            let base = self.render_product(id).len();
            let picked = fill(base, rng, &self.pool);
            self.products[id - 1].paragraphs = picked;
        }
        for c in 0..self.categories.len() {
            for k in 0..self.categories[c].pages.len() {
                let base = self.render_listing(c + 1, k + 1).len();
                let picked = fill(base, rng, &self.pool);
                self.categories[c].pages[k].filler = picked;
            }
        }
    }

    /// The spec this site was generated from.
    pub fn spec(&self) -> &SiteSpec {
        &self.spec
    }

    /// Ground truth for product `id` (`1..=products`).
    pub fn product(&self, id: usize) -> Option<Product> {
        let p = self.products.get(id.checked_sub(1)?)?;
        Some(Product {
            id,
            url: format!("/p/{id}.html"),
            title: p.title.clone(),
            price: p.price_cents as f64 / 100.0,
            description: p
                .paragraphs
                .iter()
                .map(|&i| self.pool[i as usize].as_str())
                .collect::<Vec<_>>()
                .join("\n"),
            category: p.category,
        })
    }

    /// Ground truth for every product, by id.
    pub fn products(&self) -> impl ExactSizeIterator<Item = Product> + '_ {
        (0..self.products.len()).map(|i| self.product(i + 1).expect("id in range"))
    }

    /// Ground truth for every category, by number.
    pub fn categories(&self) -> impl ExactSizeIterator<Item = Category> + '_ {
        self.categories.iter().enumerate().map(|(i, c)| Category {
            number: i + 1,
            name: c.name.clone(),
            pages: c.pages.len(),
        })
    }

    /// How many items a spider scraping every product page should yield.
    pub fn expected_item_count(&self) -> usize {
        self.products.len()
    }

    /// Paths that are linked from some page but answer 404.
    pub fn broken_urls(&self) -> BTreeSet<String> {
        let n = self.products.len();
        self.products
            .iter()
            .flat_map(|p| p.related.iter())
            .filter(|&&id| id > n)
            .map(|id| format!("/p/{id}.html"))
            .collect()
    }

    /// Legacy paths that answer 301, with the canonical path they redirect to.
    pub fn redirects(&self) -> BTreeMap<String, String> {
        (1..=self.products.len())
            .filter(|&id| self.products[id - 1].redirect)
            .map(|id| (format!("/item/{id}"), format!("/p/{id}.html")))
            .collect()
    }

    /// Every path that answers 200 with HTML: the index, listing pages, product pages.
    pub fn html_paths(&self) -> Vec<String> {
        let mut paths = vec!["/index.html".to_string()];
        for (c, cat) in self.categories.iter().enumerate() {
            paths.extend((1..=cat.pages.len()).map(|k| Self::listing_path(c + 1, k)));
        }
        paths.extend((1..=self.products.len()).map(|id| format!("/p/{id}.html")));
        paths
    }

    /// The path of listing page `page` (1-based) of category `cat`.
    pub fn listing_path(cat: usize, page: usize) -> String {
        if page <= 1 {
            format!("/category/{cat}.html")
        } else {
            format!("/category/{cat}/{page}.html")
        }
    }

    /// The href a page uses for product `id`: canonical, legacy (redirecting) or broken.
    pub(crate) fn product_href(&self, id: usize) -> String {
        match self.products.get(id - 1) {
            Some(p) if p.redirect => format!("/item/{id}"),
            _ => format!("/p/{id}.html"),
        }
    }
}
