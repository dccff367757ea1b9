"""Crawl parity: the Scrapy half of tests/crawl_parity (spider.toml is the Trawl half).

A CrawlSpider that follows every link of the site and yields one item per page, with
the same selectors as spider.toml. Each field's values go through the same
post-processing as a Trawl spec field (engine/src/spec/field.rs), in the same order:

    strip (default on: trim Unicode White_Space, drop empty values)
    -> re (group 1 when the regex has a group, else the whole match)
    -> join (one string) -> first value, or every value with all = true (a field with
    no value is left out of the item) -> type conversion (int: "3.0" -> 3)

so any difference in the items comes from the selectors, the parser, the link
extraction or the download, not from the glue.

    scrapy runspider spider.py -a site=http://127.0.0.1:PORT -o items.jsonl
"""

from __future__ import annotations

import re

from scrapy.linkextractors import LinkExtractor
from scrapy.spiders import CrawlSpider, Rule

# Rust's str::trim() strips the Unicode White_Space property; Python's str.strip()
# also strips U+001C..U+001F, so use the exact set.
_WS = "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"


def field(sel, *, css=None, xpath=None, re_=None, join=None, strip=True, all_=False, kind="string"):
    """One Trawl spec field over a Scrapy selector."""
    values = sel.css(css).getall() if css is not None else sel.xpath(xpath).getall()
    if strip:
        values = [t for t in (v.strip(_WS) for v in values) if t]
    if re_ is not None:
        rx = re.compile(re_)
        if rx.groups:
            values = [m.group(1) for v in values for m in rx.finditer(v) if m.group(1) is not None]
        else:
            values = [m.group(0) for v in values for m in rx.finditer(v)]
    if join is not None and values:
        values = [join.join(values)]
    converted = [c for c in (convert(v, kind) for v in values) if c is not None]
    if all_:
        return converted or None
    return converted[0] if converted else None


def convert(v: str, kind: str):
    if kind == "string":
        return v
    if kind == "int":
        t = "".join(c for c in v if c not in ", _").strip(_WS)
        try:
            return int(t)
        except ValueError:
            pass
        try:
            f = float(t)
        except ValueError:
            return None
        if f == f and abs(f) < 9.0e15 and f == int(f):
            return int(f)
        return None
    raise ValueError(kind)


class CrawlParitySpider(CrawlSpider):
    name = "crawl_parity"
    allowed_domains = ["127.0.0.1"]

    # LinkExtractor() with default settings. Not LinkExtractor(allow_domains="127.0.0.1"):
    # Scrapy's LinkExtractor matches allow_domains against the URL's netloc, port
    # included (scrapy/scrapy#50), so on 127.0.0.1:PORT it would keep no link at all
    # (Trawl's matches the host and would crawl the site). The spider's allowed_domains
    # (OffsiteMiddleware, by hostname on both sides) keeps both crawls on the site.
    rules = (Rule(LinkExtractor(), callback="parse_page", follow=True),)

    custom_settings = {
        "ROBOTSTXT_OBEY": False,
        "CONCURRENT_REQUESTS": 16,
        "CONCURRENT_REQUESTS_PER_DOMAIN": 16,
        "DOWNLOAD_DELAY": 0,
        "AUTOTHROTTLE_ENABLED": False,
        "DEPTH_LIMIT": 0,
        "HTTPCACHE_ENABLED": False,
        "LOG_LEVEL": "INFO",
        "TELNETCONSOLE_ENABLED": False,
        # Scrapy 2.19's code-execution HTTP server for the running crawl: not needed.
        "REMOTE_CONTROL_ENABLED": False,
    }

    def __init__(self, site="http://127.0.0.1:8000", *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.start_urls = [f"{site}/index.html"]

    def parse_page(self, response):
        r = response
        item = {
            "url": r.url,
            "title": field(r, css="title::text"),
            "title_xpath": field(r, xpath="//title/text()"),
            "h1": field(r, css="h1::text"),
            "h2": field(r, xpath="//h2//text()", all_=True),
            "h2_joined": field(r, xpath="//h2//text()", join=" | "),
            "first_paragraph": field(r, xpath="(//p)[1]//text()", join=" "),
            "link_count": field(r, xpath="count(//a[@href])", kind="int"),
            "table_headers": field(r, xpath="//table/tr/th//text()", all_=True),
            "table_headers_css": field(r, css="table > tr > th::text", all_=True),
            "code_count": field(r, xpath="count(//pre)", kind="int"),
            "description": field(r, css="meta[name=description]::attr(content)"),
            "first_dt_id": field(r, css="dl dt::attr(id)"),
            "body_links": field(r, xpath="(//div[@class='body']//a/@href)[position() <= 3]", all_=True),
            "h1_normalized": field(r, xpath="normalize-space(//h1)"),
            "h1_string": field(r, xpath="string(//h1)", strip=False),
            "section_ids": field(r, css="div.section::attr(id), section::attr(id)", all_=True),
            "version": field(r, css="title::text", re_=r"(\d+\.\d+)\.\d+"),
        }
        yield {k: v for k, v in item.items() if v is not None}
