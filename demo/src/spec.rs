//! The parameters of a generated site.

/// What to generate. Everything is derived from `seed`: equal specs give equal sites.
#[derive(Debug, Clone, PartialEq)]
pub struct SiteSpec {
    /// Number of products (ids `1..=products`).
    pub products: usize,
    /// Random seed.
    pub seed: u64,
    /// Target size range of product and listing pages, in bytes.
    pub page_size_bytes: (usize, usize),
    /// Range of the number of related-product links on each product page.
    pub links_per_page: (usize, usize),
    /// Fraction of related links that point to missing products (404).
    pub broken_link_ratio: f64,
    /// Fraction of products linked through a legacy URL that answers 301 to the
    /// canonical one.
    pub redirect_ratio: f64,
    /// Products per category listing page.
    pub listing_page_size: usize,
    /// Number of categories (0 = about one per 100 products, 1 to 50).
    pub categories: usize,
}

impl Default for SiteSpec {
    fn default() -> Self {
        SiteSpec {
            products: 1000,
            seed: 1,
            page_size_bytes: (8_000, 15_000),
            links_per_page: (5, 10),
            broken_link_ratio: 0.05,
            redirect_ratio: 0.05,
            listing_page_size: 20,
            categories: 0,
        }
    }
}

impl SiteSpec {
    /// `products` products from `seed`, other parameters default.
    pub fn new(products: usize, seed: u64) -> Self {
        SiteSpec {
            products,
            seed,
            ..Self::default()
        }
    }

    pub(crate) fn category_count(&self) -> usize {
        if self.categories > 0 {
            self.categories
        } else {
            (self.products / 100).clamp(1, 50)
        }
    }
}
