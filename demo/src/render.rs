//! HTML rendering and routing: pages are assembled from precomputed pieces on request.

use bytes::Bytes;

use crate::site::{price_text, Page, Site};

const HTML: &str = "text/html; charset=utf-8";

fn escape(s: &str, out: &mut String) {
    html_escape::encode_double_quoted_attribute_to_string(s, out);
}

fn head(out: &mut String, title: &str, canonical: Option<&str>) {
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>");
    escape(title, out);
    out.push_str(" | Trawl Demo Shop</title>\n");
    if let Some(c) = canonical {
        out.push_str("<link rel=\"canonical\" href=\"");
        out.push_str(c);
        out.push_str("\">\n");
    }
    out.push_str("</head>\n<body>\n<header><a class=\"home\" href=\"/index.html\">Trawl Demo Shop</a></header>\n<main>\n");
}

fn foot(out: &mut String) {
    out.push_str("</main>\n<footer><p>A generated demo shop. Prices and products are fictional.</p></footer>\n</body>\n</html>\n");
}

fn link(out: &mut String, href: &str, text: &str) {
    out.push_str("<a href=\"");
    out.push_str(href);
    out.push_str("\">");
    escape(text, out);
    out.push_str("</a>");
}

impl Site {
    fn paragraphs(&self, out: &mut String, ids: &[u16]) {
        for (i, &p) in ids.iter().enumerate() {
            if i > 0 {
                out.push('\n');
            }
            out.push_str("<p>");
            out.push_str(&self.pool[p as usize]);
            out.push_str("</p>");
        }
    }

    pub(crate) fn render_index(&self) -> String {
        let mut out = String::with_capacity(4096);
        head(&mut out, "Home", Some("/index.html"));
        out.push_str("<h1>Trawl Demo Shop</h1>\n<ul class=\"categories\">\n");
        for (c, cat) in self.categories.iter().enumerate() {
            out.push_str("<li>");
            link(&mut out, &Self::listing_path(c + 1, 1), &cat.name);
            out.push_str("</li>\n");
        }
        out.push_str("</ul>\n");
        foot(&mut out);
        out
    }

    pub(crate) fn render_listing(&self, cat: usize, page: usize) -> String {
        let c = &self.categories[cat - 1];
        let listing = &c.pages[page - 1];
        let mut out = String::with_capacity(self.spec.page_size_bytes.1 + 1024);
        head(&mut out, &c.name, Some(&Self::listing_path(cat, page)));
        out.push_str("<nav class=\"breadcrumbs\"><a href=\"/index.html\">Home</a> › <span>");
        escape(&c.name, &mut out);
        out.push_str("</span></nav>\n<h1>");
        escape(&c.name, &mut out);
        out.push_str(&format!(
            "</h1>\n<p class=\"page\">Page {page} of {}</p>\n<ul class=\"products\">\n",
            c.pages.len()
        ));
        for &id in &listing.products {
            let p = &self.products[id - 1];
            out.push_str("<li class=\"product\">");
            link(&mut out, &self.product_href(id), &p.title);
            out.push_str(" <span class=\"price\">");
            out.push_str(&price_text(p.price_cents));
            out.push_str("</span></li>\n");
        }
        out.push_str("</ul>\n<div class=\"intro\">");
        self.paragraphs(&mut out, &listing.filler);
        out.push_str("</div>\n<nav class=\"pagination\">");
        if page > 1 {
            out.push_str(&format!(
                "<a class=\"prev\" href=\"{}\">Previous</a> ",
                Self::listing_path(cat, page - 1)
            ));
        }
        if page < c.pages.len() {
            out.push_str(&format!(
                "<a class=\"next\" href=\"{}\">Next</a>",
                Self::listing_path(cat, page + 1)
            ));
        }
        out.push_str("</nav>\n");
        foot(&mut out);
        out
    }

    pub(crate) fn render_product(&self, id: usize) -> String {
        let p = &self.products[id - 1];
        let cat = &self.categories[p.category - 1];
        let mut out = String::with_capacity(self.spec.page_size_bytes.1 + 1024);
        head(&mut out, &p.title, Some(&format!("/p/{id}.html")));
        out.push_str("<nav class=\"breadcrumbs\"><a href=\"/index.html\">Home</a> › ");
        link(&mut out, &Self::listing_path(p.category, 1), &cat.name);
        out.push_str(" › <span>");
        escape(&p.title, &mut out);
        out.push_str(&format!(
            "</span></nav>\n<div class=\"product\" data-id=\"{id}\">\n<h1>"
        ));
        escape(&p.title, &mut out);
        out.push_str("</h1>\n<span class=\"price\">");
        out.push_str(&price_text(p.price_cents));
        out.push_str("</span>\n<div class=\"description\">");
        self.paragraphs(&mut out, &p.paragraphs);
        out.push_str("</div>\n<h2>Related products</h2>\n<ul class=\"related\">\n");
        for &r in &p.related {
            out.push_str("<li>");
            let text = self
                .products
                .get(r - 1)
                .map_or("Discontinued product", |q| q.title.as_str());
            link(&mut out, &self.product_href(r), text);
            out.push_str("</li>\n");
        }
        out.push_str("</ul>\n</div>\n");
        foot(&mut out);
        out
    }

    fn robots(base: &str) -> String {
        format!("User-agent: *\nAllow: /\n\nSitemap: {base}/sitemap.xml\n")
    }

    fn sitemap(&self, base: &str) -> String {
        let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n");
        for path in self.html_paths() {
            out.push_str(&format!("<url><loc>{base}{path}</loc></url>\n"));
        }
        out.push_str("</urlset>\n");
        out
    }

    /// The answer to a GET of `path` (no query). `base` (`http://127.0.0.1:8000`) is used
    /// for absolute URLs in `robots.txt`, `sitemap.xml` and redirects.
    pub fn get(&self, path: &str, base: &str) -> Page {
        let ok = |content_type, body: String| Page {
            status: 200,
            content_type,
            location: None,
            body: Bytes::from(body),
        };
        let num = |s: &str| {
            s.parse::<usize>()
                .ok()
                .filter(|n| *n > 0 && !s.starts_with('0'))
        };
        if path == "/" || path == "/index.html" {
            return ok(HTML, self.render_index());
        }
        if path == "/robots.txt" {
            return ok("text/plain; charset=utf-8", Self::robots(base));
        }
        if path == "/sitemap.xml" {
            return ok("application/xml", self.sitemap(base));
        }
        if let Some(id) = path
            .strip_prefix("/p/")
            .and_then(|r| r.strip_suffix(".html"))
            .and_then(num)
        {
            if id <= self.products.len() {
                return ok(HTML, self.render_product(id));
            }
        }
        if let Some(id) = path.strip_prefix("/item/").and_then(num) {
            if self.products.get(id - 1).is_some_and(|p| p.redirect) {
                return Page {
                    status: 301,
                    content_type: HTML,
                    location: Some(format!("{base}/p/{id}.html")),
                    body: Bytes::from_static(b"<!DOCTYPE html>\n<title>Moved</title>\n"),
                };
            }
        }
        if let Some(rest) = path
            .strip_prefix("/category/")
            .and_then(|r| r.strip_suffix(".html"))
        {
            let (cat, page) = match rest.split_once('/') {
                Some((c, p)) => (num(c), num(p).filter(|p| *p > 1)),
                None => (num(rest), Some(1)),
            };
            if let (Some(cat), Some(page)) = (cat, page) {
                if self
                    .categories
                    .get(cat - 1)
                    .is_some_and(|c| page <= c.pages.len())
                {
                    return ok(HTML, self.render_listing(cat, page));
                }
            }
        }
        Page {
            status: 404,
            content_type: HTML,
            location: None,
            body: Bytes::from_static(
                b"<!DOCTYPE html>\n<title>Not found</title>\n<h1>Not found</h1>\n",
            ),
        }
    }
}
