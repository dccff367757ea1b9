"""Scrapy baseline for trawl-bench: the crawl of examples/shop.toml, written for Scrapy.

Usage: python scrapy_shop.py BASE_URL CONCURRENCY
Prints one JSON line: pages, items, seconds, rss (bytes), cpu (seconds).
"""
import json
import os
import resource
import sys
import tempfile
import time

from scrapy.crawler import CrawlerProcess
from scrapy.linkextractors import LinkExtractor
from scrapy.spiders import CrawlSpider, Rule


class ShopSpider(CrawlSpider):
    name = "shop"
    allowed_domains = ["127.0.0.1"]
    rules = (
        Rule(LinkExtractor(allow=r"/category/\d+"), follow=True),
        Rule(LinkExtractor(allow=(r"/p/\d+\.html$", r"/item/\d+$")), callback="parse_product", follow=True),
    )

    def __init__(self, base, **kw):
        super().__init__(**kw)
        self.start_urls = [base + "/index.html"]

    def parse_product(self, response):
        price = response.css(".price::text").re_first(r"[\d.]+")
        yield {
            "id": int(response.css("div.product::attr(data-id)").get()),
            "title": response.css("h1::text").get(),
            "price": float(price) if price else None,
            "description": " ".join(
                t.strip() for t in response.css(".description ::text").getall() if t.strip()
            ),
            "url": response.url,
        }


def main():
    base, concurrency = sys.argv[1], int(sys.argv[2])
    out = os.path.join(tempfile.gettempdir(), "scrapy-bench-items.jsonl")
    process = CrawlerProcess(settings={
        "CONCURRENT_REQUESTS": concurrency,
        "CONCURRENT_REQUESTS_PER_DOMAIN": concurrency,
        "LOG_LEVEL": "WARNING",
        "TELNETCONSOLE_ENABLED": False,
        "FEEDS": {out: {"format": "jsonlines", "overwrite": True}},
    })
    crawler = process.create_crawler(ShopSpider)
    started = time.monotonic()
    process.crawl(crawler, base=base)
    process.start()
    seconds = time.monotonic() - started
    stats = crawler.stats.get_stats()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({
        "pages": stats.get("response_received_count", 0),
        "items": stats.get("item_scraped_count", 0),
        "seconds": seconds,
        "rss": usage.ru_maxrss * 1024,
        "cpu": usage.ru_utime + usage.ru_stime,
    }))


if __name__ == "__main__":
    main()
