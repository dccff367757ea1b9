#!/usr/bin/env python3
"""Per-spider classification of the 60 sampled alltheplaces spiders, and the tallies.

The classification below was made by hand from reading each spider and the base classes
it inherits (see sample.md). This script only counts: per-tag totals, the greedy
"unlocks" order, and what is left after a given feature set.

Usage: tally.py            # prints the markdown sections used in sample.md
"""
from collections import Counter

TAGS = [
    "html-css-xpath", "crawl-rules", "sitemap", "json-api", "json-ld", "microdata",
    "json-in-script", "processors", "start-list", "post-body", "form-from-response",
    "pagination", "nested-lists", "meta-passing", "csv-or-regex-items",
    "extends-storefinder", "opening-hours", "code",
    "browser",  # an addition to the planned list: Playwright (headless browser) rendering
]

# (spider file, base class(es), tags, code reasons, note)
# Code-reason keys: fan-out, aggregate, json-string, join-html-json, escaped-json,
# conditional-logic, list-index-ref.
S = [
    ("cooplands_gb", "WPStoreLocatorSpider",
     "extends-storefinder json-api start-list processors opening-hours", "",
     "WPSL radius search over ATP's GB 24 km ISEADGG grid (lat/lng in URL); hours = HTML table text in JSON, DAYS_EN; html.unescape name, merge address lines"),
    ("mercato_it", "SitemapSpider + StructuredDataSpider",
     "sitemap json-ld processors opening-hours", "",
     "JSON-LD typed [Store, GroceryStore] (both required); name split into name/branch by 4 prefixes; hours only via LinkedDataParser"),
    ("trony_it", "JSONBlobSpider",
     "json-api", "",
     "storemapper JSON, locations_key 'stores'; branch = name; constants"),
    ("university_maryland_medical_system", "Spider",
     "html-css-xpath meta-passing json-in-script processors", "",
     "<option> values templated into list URLs, then detail links; JSON in @data-map-json; 'City, ST 12345' split by regex; ref = 2 URL groups joined '_'"),
    ("chocozap_jp", "Spider",
     "json-api pagination processors", "",
     "JSON API, pageID counter until pageInfo.pageNo >= totalPageCnt; website template from id"),
    ("hamleys", "CrawlSpider",
     "crawl-rules html-css-xpath json-in-script processors opening-hours", "",
     "rule allow=/stores/; JSON in @data-locations (chompjs, first element); branch removeprefix; hours from free text (add_ranges_from_string); requires_proxy"),
    ("salad_story_pl", "Spider",
     "html-css-xpath meta-passing post-body json-api processors opening-hours", "",
     "siteId token cut out of page text builds a POST URL (empty body, form content-type); hours {day}Open/{day}Close; street split into street + housenumber, 'ul. ' stripped"),
    ("zoloto_585_ru", "JSONBlobSpider",
     "json-api processors opening-hours", "",
     "key renames, city.name, first of comma-separated emails, drop isOnlyLombard (JMESPath filter), photos[0]; Russian hours string with named day ranges"),
    ("timpson_group", "JSONBlobSpider",
     "post-body json-api processors opening-hours code", "conditional-logic",
     "POST form start=50000 + X-Requested-With; 10-brand table (brand, wikidata, per-brand website template); category from group x loc_type, skip loc_type 2; 20-case located_in table; opening_1..7 'HH.MM-HH.MM'/CLOSED"),
    ("sleepmasters", "JSONBlobSpider",
     "json-in-script json-api processors opening-hours code", "json-string",
     "Magento x-magento-init script (chompjs), deep key path with '#'/'/' keys; drop virtual/closed; hours are a JSON (or JS) string inside the JSON"),
    ("hyundai_bw_ls_na_sz_za", "JSONBlobSpider",
     "json-api processors opening-hours code", "fan-out",
     "JSON (JsonRequest headers); hours free text; one dealer -> up to 3 items (car shop / repair / parts) with ref suffixes and yes/no flags"),
    ("academy_us", "SitemapSpider + StructuredDataSpider",
     "sitemap json-ld opening-hours", "",
     "sitemap from robots.txt with sitemap_follow; SportingGoodsStore; drop image; hours only via LinkedDataParser"),
    ("burger_king_tw", "Spider",
     "post-body json-api opening-hours code", "json-string",
     "POST JSON body; branchList; openHours is a JSON string (week index, isopen, open/close)"),
    ("coach_ca", "SitemapSpider + StructuredDataSpider + PlaywrightSpider",
     "sitemap json-ld html-css-xpath processors opening-hours browser", "",
     "Playwright rendering + requires_proxy + browser UA; branch removeprefix 'About '; name from XPath; hours only via LinkedDataParser"),
    ("liberty_bank_ge", "Spider",
     "json-in-script processors opening-hours code", "aggregate",
     "window.pins JSON; pins grouped by rounded coordinates into one POI (lowest Id of winning type), TypeId sets -> bank/atm/terminal; comma-decimal coords; Georgian/English day tokens parsed by regex"),
    ("charge_up", "Spider",
     "json-api meta-passing processors code", "aggregate",
     "flatten chargingPlaces[].chargingStations[] (state VALID) -> detail URL per stationCode; socket counts/outputs per connector type, capacity = max, EVSE ids joined, price strings, provider table"),
    ("speed_queen", "MetaLocatorSpider",
     "extends-storefinder json-api processors opening-hours", "",
     "MetaLocator API by brand_id; street = address + address2; hours string with '|' (add_ranges_from_string); ref = uniquekey"),
    ("aldi_sud_us", "UberallSpider",
     "extends-storefinder json-api processors opening-hours", "",
     "Uberall API by key; street joins, photos joined ';'; structured hours (dayOfWeek, from1/to1, from2/to2, closed); name/phone dropped"),
    ("tile_africa_na_za", "AmastyStoreLocatorSpider (parse overridden)",
     "extends-storefinder post-body html-css-xpath json-in-script processors opening-hours code", "join-html-json",
     "POST (no body) to the store page; jsonLocations by regex from script; hours text from div[@data-amid] joined to JSON items by id; popup_html (HTML inside JSON) split by 'Address:/City:/Zip:/State:/Tel:' labels"),
    ("mcdonalds_lv", "McdonaldsPremierCapitalSpider",
     "extends-storefinder html-css-xpath meta-passing form-from-response post-body json-api processors code", "fan-out",
     "ajax_nonce regex from a script -> POST form to admin-ajax; latlng flattened; html.unescape; 20-entry services table -> yes/no tags; extra McCafe item when 'mccafe' in terms; requires_proxy"),
    ("glen_eira_city_council_dog_parks_au", "JSONBlobSpider",
     "json-api", "",
     "GeoJSON features, properties flattened, geometry -> lat/lon, name = Park"),
    ("punjab_national_bank_in", "Spider",
     "start-list post-body json-api processors code", "json-string list-index-ref",
     "POST JSON for {Branch, ATM} x every Indian city with population >= 1500 (ATP city file); response 'd' is a JSON string; category/ref/phone per loctType; ref = IFSC/ATMID + list index"),
    ("ixina_fr", "SitemapSpider + StructuredDataSpider",
     "sitemap json-ld processors opening-hours", "",
     "branch = name minus 'Magasin ixina '; items without name dropped; hours only via LinkedDataParser"),
    ("nicholsons_pubs_gb", "CrawlSpider + StructuredDataSpider + PlaywrightSpider",
     "crawl-rules json-ld opening-hours browser", "",
     "rule allow=/restaurants/; Playwright rendering; hours only via LinkedDataParser"),
    ("ok_dk", "Spider",
     "json-api processors code", "fan-out",
     "one station -> fuel item (erTank) and/or shop item (harButik) with ref suffixes; 'longtitude' typo key"),
    ("petrom_ma", "Spider",
     "csv-or-regex-items processors", "",
     "plain-text body: rows split on '!', columns on ';;' (city;;_;;_;;lon;;lat); no refs"),
    ("usave_gb", "WPStoreLocatorSpider",
     "extends-storefinder json-api processors opening-hours", "",
     "WPSL single call from allowed_domains; DAYS_EN hours from HTML table text; html.unescape, merge address lines"),
    ("burger_king_do", "BurgerKingBSSpider",
     "extends-storefinder start-list html-css-xpath pagination processors opening-hours", "",
     "one request per DO city in ATP's city file; li items by XPath; branch falls back to street, ref falls back to slug(branch); weekday/weekend/per-day hours strings, drive-through hours; pager-next link"),
    ("nandos_in", "NandosZASpider -> LocationBankSpider",
     "extends-storefinder json-api processors opening-hours", "",
     "LocationBank JSON: website from detailViewUrl template (could be hard-coded), phone joins, branch = name minus brand, 7 slAttributes yes/no flags, regularHours. NB base start() uses client_id, so this spider's start_urls are ignored (it re-crawls the ZA client)"),
    ("carls_jr_au", "Spider",
     "json-in-script json-api", "",
     "JSONP body, stores array cut by regex (chompjs); data sub-object merged; map_lat/map_lng"),
    ("woops_us", "JSONBlobSpider",
     "json-api processors opening-hours", "",
     "drop status=hidden; street = '{street_number} {street_name}' unless 'Mobile'/'PLACEHOLDER'; hours pickup (fallback delivery) 'HH:MM-HH:MM' lists per day"),
    ("loft_us", "SitemapSpider + StructuredDataSpider",
     "sitemap json-ld html-css-xpath opening-hours", "",
     "two sitemap rules; branch from XPath, name dropped; hours only via LinkedDataParser"),
    ("library_institute_hu", "Spider",
     "html-css-xpath meta-passing processors", "",
     "listing fields (name, address) passed via cb_kwargs to detail; lat/lon from a Google Maps URL; label/value pairs; phone vs '(fax)' lines"),
    ("starbucks_za", "JSONBlobSpider",
     "start-list json-api processors", "",
     "ZA 158 km ISEADGG grid points into URL; attributes flattened; website = base/storeNumber/branch-with-dashes"),
    ("deutsche_bank_be", "Spider",
     "json-api processors opening-hours", "",
     "rangeHours week index x 'HH:MM - HH:MM'; address.fr with <br /> -> ', '; phone.fr, webpage.fr"),
    ("mazda_jp", "JSONBlobSpider",
     "start-list json-api processors code", "fan-out",
     "JP 79 km ISEADGG grid into URL; nested Address/Contact fields; dealer -> sales item and/or service item by Services membership"),
    ("asda_gb", "VirtualEarthSpider",
     "extends-storefinder json-api pagination processors code", "fan-out",
     "VirtualEarth: count request then $skip pages; category table; drop Collection Point; 24/7 flag; yes/no amenities; pharmacy/cafe/optician/fuel split into separate POIs"),
    ("paris_baguette_kr", "Spider",
     "json-api meta-passing html-css-xpath processors", "",
     "area JSON (dict values with id) -> one request per area, area name carried to children; HTML li with data-* attributes; delivery yes/no by element presence"),
    ("oxfam_gb", "SitemapSpider",
     "sitemap html-css-xpath processors", "",
     "XPath fields; lat/lon from a Google Maps link (ATP decodes 8 URL formats; one regex per site); mailto/tel links; brand by URL substring (3-entry table); recycling:* yes/no by class names"),
    ("subway_hk", "Spider",
     "json-in-script json-api", "",
     "'var stores = {...}' by regex, dict values"),
    ("sams_chicken_gb", "Spider",
     "html-css-xpath processors opening-hours", "",
     "card nodes; ref from onclick regex; branch regex cleanup; whitespace squash; lat/lon from daddr= link; 12-hour hours table"),
    ("carpet_one_floor_and_home_us_ca", "SitemapSpider",
     "sitemap json-in-script json-api processors", "",
     "state pages from sitemap; 'var locationlist' (chompjs); address lines joined; socialMedia key/value list -> facebook/instagram"),
    ("q8", "JSONBlobSpider",
     "post-body json-api processors opening-hours", "",
     "POST JSON query; title-case + removeprefix branch; brand by locationType (table); hours from startHour/startMinute ints (zero-pad); fuel/service yes/no by code membership after prefix strip"),
    ("toymaster", "JSONBlobSpider",
     "json-api processors", "",
     "4 address lines merged; https:// prefix if missing; field renames"),
    ("condis_es", "Spider",
     "json-api meta-passing html-css-xpath opening-hours", "",
     "JSON list -> detail page per id, whole JSON record passed via cb_kwargs; Spanish hours from HTML table with regex cleanup"),
    ("sbarro", "Spider",
     "html-css-xpath meta-passing json-in-script processors", "",
     "listing nodes -> detail with lat/lon/ref in meta; address from the ld+json script read by hand; URL built as host + path + '/'"),
    ("tyreplus_my", "TyreplusAUSpider (JSONBlobSpider)",
     "extends-storefinder json-in-script json-api processors code", "escaped-json",
     "markers array cut from a script by string split, JSON escaped inside a JS string (\\\" -> \") before chompjs; branch removeprefix"),
    ("tinq", "SitemapSpider",
     "sitemap html-css-xpath processors", "",
     "XPath fields, @data-lat/@data-lng; address lines joined; 7 fuel yes/no by substring in a list"),
    ("putka_pl", "StructuredDataSpider",
     "json-in-script json-ld opening-hours", "",
     "bakeryFinderData JSON by regex from a script gives the detail links; Bakery JSON-LD; website = response.url; hours only via LinkedDataParser"),
    ("voyage_care_gb", "Spider",
     "json-in-script meta-passing html-css-xpath", "",
     "JSON in @data-map-locations, filtered on guid; lat/lon passed via cb_kwargs to detail page; XPath fields"),
    ("journeys", "StructuredDataSpider",
     "html-css-xpath post-body meta-passing json-ld microdata processors opening-hours", "",
     "state <option>s -> POST form per state -> list -> detail; structured data (microdata-shaped: openingHours inside address); hours regex -> openingHoursSpecification; ref after ' #'; name by prefix (4 cases)"),
    ("safra_br", "JSONBlobSpider",
     "json-api", "",
     "rows; renames (adress, cep)"),
    ("terranova", "SitemapSpider + StructuredDataSpider",
     "sitemap json-ld opening-hours", "",
     "ClothingStore; hours only via LinkedDataParser"),
    ("urban_planet_ca_pr_us", "JSONBlobSpider",
     "json-api processors opening-hours", "",
     "7-entry brand table; website template from store_handle; address lines merged; open_hours list with closed days"),
    ("via_313_us", "Where2GetItSpider",
     "extends-storefinder post-body json-api processors opening-hours", "",
     "Where2GetIt POST JSON; drop coming_soon; branch removeprefix chain; links[0]; {day}_open/{day}_close hours"),
    ("asics_us", "LocallySpider",
     "extends-storefinder json-api processors opening-hours", "",
     "Locally API per category; hours from HHMM integers; branch removeprefix; street = addr_full"),
    ("hans_im_glueck", "JSONBlobSpider",
     "json-in-script json-api processors opening-hours", "",
     "locations.js parsed with chompjs; branch = name minus prefix, title-cased, fallback field; image urljoin; openIntervals/isClosed hours"),
    ("cutters", "JSONBlobSpider",
     "json-api processors", "",
     "drop inactive; renames; coordinates object; vipps yes/no by list membership"),
    ("benihana", "Spider",
     "json-in-script json-api processors", "",
     "allLocationsData script (chompjs); addr_full from address_html minus '<p>Address:' and tags"),
    ("vodafone_es", "SitemapSpider + StructuredDataSpider",
     "sitemap json-ld opening-hours", "",
     "MobilePhoneStore; hours only via LinkedDataParser"),
]

# Structured-data spiders whose only need for opening-hours is LinkedDataParser's
# automatic openingHours / openingHoursSpecification conversion.
OH_LD_ONLY = {"mercato_it", "academy_us", "coach_ca", "ixina_fr", "nicholsons_pubs_gb",
              "loft_us", "putka_pl", "terranova", "vodafone_es"}
# Spiders that parse their payload with chompjs (tolerates JS object literals). Classified
# as json-in-script on the assumption that the payload is valid JSON (unverified: no network).
CHOMPJS = {"hamleys", "sleepmasters", "carls_jr_au", "carpet_one_floor_and_home_us_ca",
           "tyreplus_my", "hans_im_glueck", "benihana"}

# Shape of the hours input for each `opening-hours` spider.
OH_FORM = {
    **{n: "JSON-LD (automatic)" for n in OH_LD_ONLY},
    **{n: "free text with day names (add_ranges_from_string or a regex)" for n in [
        "cooplands_gb", "usave_gb", "hamleys", "zoloto_585_ru", "hyundai_bw_ls_na_sz_za", "speed_queen",
        "tile_africa_na_za", "burger_king_do", "liberty_bank_ge", "journeys"]},
    **{n: "HTML table rows (day, open, close)" for n in ["condis_es", "sams_chicken_gb"]},
    **{n: "structured JSON (per-day keys, day index, or open/close lists)" for n in [
        "salad_story_pl", "timpson_group", "sleepmasters", "burger_king_tw", "aldi_sud_us", "nandos_in",
        "woops_us", "deutsche_bank_be", "q8", "urban_planet_ca_pr_us", "via_313_us", "asics_us",
        "hans_im_glueck"]},
}

CODE_REASONS = {
    "fan-out": "one source record -> several items (per service/category, ref suffixes)",
    "aggregate": "aggregation across records/sub-records (group pins by coordinate; count sockets)",
    "json-string": "JSON encoded inside a JSON string value (needs a second parse)",
    "join-html-json": "join of HTML nodes and JSON items by id; HTML inside a JSON field",
    "escaped-json": "JSON escaped inside a JS string; unescape before parsing",
    "conditional-logic": "category/skip decisions over two fields plus several lookup tables",
    "list-index-ref": "ref built from the position in the list",
}

# What kind of value processing each `processors` spider needs:
# affix = strip a prefix/suffix or regex replace; join = merge several fields, skipping empty
# ones; template = URL/ref/field built from other fields; map = lookup table; yesno =
# boolean or list membership -> "yes"/"no"; split = one string split into several fields
# (address parts, coordinates, first of a list); case = title/lower case; unescape = HTML
# entities/tags; filter = drop items on a condition; fallback = take another field when empty.
PROC = {
    "cooplands_gb": "unescape join", "mercato_it": "split affix", "university_maryland_medical_system": "split template",
    "chocozap_jp": "template", "hamleys": "affix", "salad_story_pl": "split affix", "zoloto_585_ru": "split filter",
    "timpson_group": "map template join filter", "sleepmasters": "template filter", "hyundai_bw_ls_na_sz_za": "template yesno",
    "coach_ca": "affix", "liberty_bank_ge": "affix split map", "charge_up": "map template join filter",
    "speed_queen": "join", "aldi_sud_us": "join", "tile_africa_na_za": "split affix",
    "mcdonalds_lv": "unescape map yesno", "punjab_national_bank_in": "map template", "ixina_fr": "affix filter",
    "ok_dk": "template filter", "petrom_ma": "split", "usave_gb": "unescape join",
    "burger_king_do": "fallback template yesno", "nandos_in": "template join affix yesno", "woops_us": "template filter affix",
    "library_institute_hu": "split affix", "starbucks_za": "template affix", "deutsche_bank_be": "affix",
    "mazda_jp": "join template yesno", "asda_gb": "map yesno filter template", "paris_baguette_kr": "template yesno",
    "oxfam_gb": "map yesno split", "sams_chicken_gb": "split affix", "carpet_one_floor_and_home_us_ca": "join",
    "q8": "case affix map yesno", "toymaster": "join affix", "sbarro": "template",
    "tyreplus_my": "affix", "tinq": "join yesno", "journeys": "split map join",
    "urban_planet_ca_pr_us": "map template join", "via_313_us": "affix filter join", "asics_us": "affix",
    "hans_im_glueck": "affix case fallback template", "cutters": "filter yesno", "benihana": "unescape join",
}

SPIDERS = {name: set(tags.split()) for name, _, tags, _, _ in S}
assert len(S) == 60 and len(SPIDERS) == 60
for name, tags in SPIDERS.items():
    assert tags <= set(TAGS), (name, tags - set(TAGS))
    assert ("processors" in tags) == (name in PROC), name
    assert ("opening-hours" in tags) == (name in OH_FORM), name


def expressible(covered):
    return {n for n, t in SPIDERS.items() if t <= covered}


def greedy(start=frozenset()):
    covered, rows, done = set(start), [], expressible(set(start))
    remaining = [t for t in TAGS if t not in covered and t != "code"]
    while remaining:
        def score(f):
            gain = len(expressible(covered | {f}) - done)
            need = sum(1 for n, t in SPIDERS.items() if n not in done and f in t)
            return (gain, need, -TAGS.index(f))
        f = max(remaining, key=score)
        remaining.remove(f)
        covered.add(f)
        new = expressible(covered) - done
        done |= new
        rows.append((f, len(new), len(done), sorted(new)))
    rows.append(("code", 60 - len(done), 60, sorted(set(SPIDERS) - done)))
    return rows


def main():
    print("| # | spider | base class | tags | note |")
    print("|---:|---|---|---|---|")
    for i, (name, base, tags, rs, note) in enumerate(S, 1):
        t = sorted(tags.split(), key=TAGS.index)
        t = [f"{x} ({', '.join(rs.split())})" if x == "code" else x for x in t]
        t = [f"{x} ({', '.join(PROC[name].split())})" if x == "processors" else x for x in t]
        t = [x + " [ld only]" if x == "opening-hours" and name in OH_LD_ONLY else x for x in t]
        t = [x + " [chompjs]" if x == "json-in-script" and name in CHOMPJS else x for x in t]
        print(f"| {i} | `locations/spiders/{name}.py` | {base} | {'; '.join(t)} | {note.replace('|', '/')} |")
    print()
    counts = Counter(t for tags in SPIDERS.values() for t in tags)
    print("## Spiders per tag\n")
    print("| tag | spiders | share |")
    print("|---|---:|---:|")
    for t in sorted(TAGS, key=lambda t: (-counts[t], TAGS.index(t))):
        print(f"| `{t}` | {counts[t]} | {counts[t] / 60:.0%} |")
    print(f"\nOf the {counts['opening-hours']} `opening-hours` spiders, {len(OH_LD_ONLY)} need it only "
          "through LinkedDataParser's automatic conversion of JSON-LD hours.")
    of = Counter(OH_FORM.values())
    print("\n`opening-hours` by input shape: " + "; ".join(f"{k}: {c}" for k, c in of.most_common()) + ".")
    pk = Counter(k for v in PROC.values() for k in v.split())
    print("\n`processors` by kind: " + ", ".join(f"{k} {c}" for k, c in pk.most_common()) + ".")
    n_tags = Counter(len(t) for t in SPIDERS.values())
    print("\nTags per spider: " + ", ".join(f"{k}: {n_tags[k]}" for k in sorted(n_tags)))

    print("\n## Cumulative unlocks (greedy, from nothing; `code` last, as the residue)\n")
    print("| step | feature added | newly expressible | cumulative | share | newly unlocked spiders |")
    print("|---:|---|---:|---:|---:|---|")
    for i, (f, new, cum, names) in enumerate(greedy(), 1):
        print(f"| {i} | `{f}` | {new} | {cum} | {cum / 60:.0%} | {', '.join(names)} |")

    pkg = {"html-css-xpath", "json-api", "json-ld", "processors", "json-in-script", "sitemap",
           "crawl-rules", "pagination", "start-list", "post-body", "meta-passing", "extends-storefinder"}
    ok = expressible(pkg)
    left = {n: SPIDERS[n] - pkg for n in SPIDERS if n not in ok}
    print("\n## After the planned spec features\n")
    print(f"Package: {', '.join(sorted(pkg))}.\n")
    print(f"Expressible: {len(ok)}/60 ({len(ok) / 60:.0%}). Not yet: {len(left)}.\n")
    blockers = Counter(t for miss in left.values() for t in miss)
    print("| missing tag | spiders still blocked by it | blocked by it alone |")
    print("|---|---:|---:|")
    for t, c in blockers.most_common():
        alone = sum(1 for miss in left.values() if miss == {t})
        print(f"| `{t}` | {c} | {alone} |")
    reasons = Counter(r for name, _, _, rs, _ in S for r in rs.split())
    print("\n`code` reasons:\n")
    for r, c in reasons.most_common():
        who = [name for name, _, _, rs, _ in S if r in rs.split()]
        print(f"- {CODE_REASONS[r]}: {c} ({', '.join(who)})")
    print("\nStill blocked, with what each lacks:\n")
    for n in sorted(left, key=lambda n: (len(left[n]), n)):
        print(f"- {n}: {', '.join(sorted(left[n], key=TAGS.index))}")
    oh = pkg | {"opening-hours"}
    print(f"\nPackage + opening-hours: {len(expressible(oh))}/60; "
          f"+ code-free browser, microdata, csv-or-regex, form-from-response: "
          f"{len(expressible(oh | {'browser', 'microdata', 'csv-or-regex-items', 'form-from-response'}))}/60; "
          f"everything but `code`: {len(expressible(set(TAGS) - {'code'}))}/60.")

    print("\n## Sensitivity\n")
    base = expressible(pkg)
    ld_hours = {n for n in OH_LD_ONLY if SPIDERS[n] - {"opening-hours"} <= pkg}
    print(f"- If `json-ld` support includes LinkedDataParser's hours conversion (schema.org "
          f"openingHours/openingHoursSpecification -> OSM), the package reaches "
          f"{len(base | ld_hours)}/60 (+{', '.join(sorted(ld_hours))}).")
    js = sorted(n for n in CHOMPJS if n in base)
    print(f"- If the chompjs payloads turn out to be JavaScript literals rather than JSON "
          f"(unverified), the package loses {len(js)} ({', '.join(js)}): {len(base) - len(js)}/60.")
    code_fix = {"fan-out": "several `items` groups per callback, each with its own JMESPath filter and constants",
                "json-string": "a `parse_json` step on a selected string",
                "escaped-json": "a `replace`/unescape step before JSON parsing"}
    fixed = set()
    for r in code_fix:
        fixed |= {name for name, _, _, rs, _ in S if r in rs.split() and set(rs.split()) <= set(code_fix)}
    full = pkg | {"opening-hours", "browser", "microdata", "csv-or-regex-items", "form-from-response"}
    after = {n for n in SPIDERS if SPIDERS[n] - {"code"} <= full and (n in fixed or "code" not in SPIDERS[n])}
    print(f"- With every tag but `code`, plus three small spec features that absorb the commonest "
          f"`code` reasons ({'; '.join(code_fix.values())}): {len(after)}/60; still code: "
          f"{', '.join(sorted(set(SPIDERS) - after))}.")

    now()


# How each tag is written in a Trawl spec today (README "Crawling", docs/SPECS.md).
NOW = {
    "html-css-xpath": "`css` / `xpath` fields and `items`",
    "crawl-rules": "`[[rules]]` (LinkExtractor keys)",
    "sitemap": "`sitemap_urls` (robots.txt, indexes), `sitemap_rules`, `sitemap_follow`",
    "json-api": "`jmespath` fields, `items = { jmespath }`, JSON `follow`",
    "json-ld": "`items = { json_ld = [...] }`, template `structured_data`",
    "microdata": "`items = { microdata = [...] }`",
    "json-in-script": "`items`/fields with a selector + `re` cut + `jmespath`; JavaScript literals read as JSON5",
    "processors": "`process` (affix, replace, strip_prefix/suffix, split, map, yesno, keep/drop, title, "
                  "unescape, strip_tags, url, slug), `values` (fallbacks, joined lines), `_scratch` fields",
    "start-list": "list `args` (`{points.lat}`), `-a ids=1,2,3`, expanded in start URLs and requests",
    "post-body": "`start_requests` with `json` / `form` / `body` and headers; script `request(#{...})`",
    "form-from-response": "`form = { css, formdata, callback }` (FormRequest.from_response, checked against Scrapy)",
    "pagination": "`paginate = { param, step, max }`, `follow` next links",
    "nested-lists": "JMESPath projections (`stores[].branches[]`)",
    "meta-passing": "`then` (the item goes on to its detail page), script `kwargs`",
    "csv-or-regex-items": "`items = { csv = ... }`, `items = { re = ... }`",
    "extends-storefinder": "`extends` (a bundle's abstract base, or a named template such as `wp_store_locator`)",
    "opening-hours": "field option `hours` (schema.org, OSM strings, free text in 9 languages, day-keyed maps, "
                     "records); `opening_hours()` in scripts",
    "code": "a sandboxed Rhai callback or processor (`script`, `script_file`)",
}


def now():
    covered = set(TAGS) - {"browser"}
    assert set(NOW) == covered, set(NOW) ^ covered
    ok = expressible(covered)
    no_code = expressible(covered - {"code"})
    print("\n## What specs express now\n")
    print("Every tag but `browser` has a spec feature:\n")
    print("| tag | spiders | written as |")
    print("|---|---:|---|")
    counts = Counter(t for tags in SPIDERS.values() for t in tags)
    for t in TAGS:
        if t in NOW:
            print(f"| `{t}` | {counts[t]} | {NOW[t]} |")
    print(f"\n**Expressible: {len(ok)}/60 ({len(ok) / 60:.0%})**, the scripted hook counted "
          f"(the {counts['code']} `code` spiders are written with a script); "
          f"without scripts: {len(no_code)}/60 ({len(no_code) / 60:.0%}).\n")
    left = sorted(set(SPIDERS) - ok)
    print("Not expressible: " + ", ".join(f"{n} ({', '.join(sorted(SPIDERS[n] - covered))})" for n in left)
          + " — they render pages in a headless browser (Playwright); the engine has no browser.")


if __name__ == "__main__":
    main()
