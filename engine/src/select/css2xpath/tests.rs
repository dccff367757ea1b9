//! Unit tests; the expected XPath strings come from parsel 1.12.1's `css2xpath()`.

use super::*;

#[test]
fn accepted_selectors_match_parsel() {
    let cases: &[(&str, &str)] = &[
        ("a", "descendant-or-self::a"),
        ("DIV", "descendant-or-self::div"),
        ("a b", "descendant-or-self::a/descendant::b"),
        ("a > b", "descendant-or-self::a/b"),
        ("a + b", "descendant-or-self::a/following-sibling::*[(self::b) and (position() = 1)]"),
        ("a ~ b", "descendant-or-self::a/following-sibling::b"),
        ("#id", "descendant-or-self::*[@id = 'id']"),
        (".cls", "descendant-or-self::*[@class and contains(@class, 'cls') and contains(concat(' ', normalize-space(@class), ' '), ' cls ')]"),
        ("div.a#b.c", "descendant-or-self::div[((@class and contains(@class, 'a') and contains(concat(' ', normalize-space(@class), ' '), ' a ')) and (@id = 'b')) and (@class and contains(@class, 'c') and contains(concat(' ', normalize-space(@class), ' '), ' c '))]"),
        ("[href]", "descendant-or-self::*[@href]"),
        ("[href=\"foo\"]", "descendant-or-self::*[@href = 'foo']"),
        ("[title=\"it's\"]", "descendant-or-self::*[@title = \"it's\"]"),
        ("[title=\"a'b\\\"c\"]", "descendant-or-self::*[@title = concat('a',\"'\",'b\"c')]"),
        ("[href~=foo]", "descendant-or-self::*[@href and contains(@href, 'foo') and contains(concat(' ', normalize-space(@href), ' '), ' foo ')]"),
        ("[href|=en]", "descendant-or-self::*[@href and (@href = 'en' or starts-with(@href, 'en-'))]"),
        ("[href^=http]", "descendant-or-self::*[@href and starts-with(@href, 'http')]"),
        ("[href$=\".pdf\"]", "descendant-or-self::*[@href and substring(@href, string-length(@href)-3) = '.pdf']"),
        ("[href*=x]", "descendant-or-self::*[@href and contains(@href, 'x')]"),
        ("[href!=x]", "descendant-or-self::*[not(@href) or @href != 'x']"),
        ("[href=\"FOO\" i]", "descendant-or-self::*[translate(@href, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz') = 'foo']"),
        ("[ns|href]", "descendant-or-self::*[@ns:href]"),
        ("[*|href]", "descendant-or-self::*[attribute::*[local-name() = 'href']]"),
        ("[href^=\"\"]", "descendant-or-self::*[0]"),
        (":checked", "descendant-or-self::*[(@selected and name(.) = 'option') or (@checked and (name(.) = 'input' or name(.) = 'command')and (@type = 'checkbox' or @type = 'radio'))]"),
        (":link", "descendant-or-self::*[@href and (name(.) = 'a' or name(.) = 'link' or name(.) = 'area')]"),
        (":hover", "descendant-or-self::*[0]"),
        (":empty", "descendant-or-self::*[not(*) and not(string-length())]"),
        (":root", "descendant-or-self::*[not(parent::*)]"),
        (":first-child", "descendant-or-self::*[count(preceding-sibling::*) = 0]"),
        (":only-child", "descendant-or-self::*[count(preceding-sibling::*) = 0 and count(following-sibling::*) = 0]"),
        ("p:first-of-type", "descendant-or-self::p[count(preceding-sibling::p) = 0]"),
        ("p:only-of-type", "descendant-or-self::p[count(preceding-sibling::p) = 0 and count(following-sibling::p) = 0]"),
        (":nth-child(odd)", "descendant-or-self::*[count(preceding-sibling::*) mod 2 = 0]"),
        (":nth-child(even)", "descendant-or-self::*[(count(preceding-sibling::*) +1) mod 2 = 0]"),
        (":nth-child(2n+1)", "descendant-or-self::*[count(preceding-sibling::*) mod 2 = 0]"),
        (":nth-child(-n+3)", "descendant-or-self::*[count(preceding-sibling::*) <= 2]"),
        (":nth-child(n)", "descendant-or-self::*"),
        (":nth-child(3)", "descendant-or-self::*[count(preceding-sibling::*) = 2]"),
        (":nth-child(+5)", "descendant-or-self::*[count(preceding-sibling::*) = 4]"),
        (":nth-child(- n)", "descendant-or-self::*[0]"),
        (":nth-child(3n-2)", "descendant-or-self::*[count(preceding-sibling::*) mod 3 = 0]"),
        (":nth-last-child(2n)", "descendant-or-self::*[(count(following-sibling::*) +1) mod 2 = 0]"),
        ("li:nth-of-type(2n+1)", "descendant-or-self::li[count(preceding-sibling::li) mod 2 = 0]"),
        ("li:nth-last-of-type(-2n+5)", "descendant-or-self::li[(count(following-sibling::li) <= 4) and (count(following-sibling::li) mod -2 = 0)]"),
        (":nth-child(1_0n)", "descendant-or-self::*[(count(preceding-sibling::*) +1) mod 10 = 0]"),
        (":contains(\"foo\")", "descendant-or-self::*[contains(., 'foo')]"),
        (":lang(en)", "descendant-or-self::*[ancestor-or-self::*[@lang][1][starts-with(concat(translate(@lang, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz'), '-'), 'en-')]]"),
        (":not(a)", "descendant-or-self::*[not(self::a)]"),
        (":not(a > b.c)", "descendant-or-self::*[not((@class and contains(@class, 'c') and contains(concat(' ', normalize-space(@class), ' '), ' c ')) and (self::b) and parent::*[self::a])]"),
        (":not(*)", "descendant-or-self::*[0]"),
        (":is(a, .b)", "descendant-or-self::*[(self::a) or (@class and contains(@class, 'b') and contains(concat(' ', normalize-space(@class), ' '), ' b '))]"),
        (":is(*, :foo)", "descendant-or-self::*"),
        (":where(a)", "descendant-or-self::*[self::a]"),
        (":has(> a)", "descendant-or-self::*[./a]"),
        (":has(+ a b)", "descendant-or-self::*[following-sibling::*[1]/self::a/descendant::b]"),
        (":has(a, ~ b)", "descendant-or-self::*[(descendant::a) or (following-sibling::b)]"),
        (":scope > div", "descendant-or-self::*[position() = 1]/div"),
        ("*|div", "descendant-or-self::*[local-name() = 'div']"),
        ("ns|*", "descendant-or-self::ns:*"),
        ("|a", "descendant-or-self::a"),
        ("div\\a ", "descendant-or-self::div\n"),
        ("di\\a0 v", "descendant-or-self::*[name() = 'di v']"),
        ("::text", "descendant-or-self::text()"),
        ("a::text", "descendant-or-self::a/text()"),
        ("a ::text", "descendant-or-self::a/descendant-or-self::text()"),
        ("a ~ * > *::text", "descendant-or-self::a/following-sibling::text()"),
        ("a::attr(href)", "descendant-or-self::a/@href"),
        ("a ::attr(href)", "descendant-or-self::a/descendant-or-self::*/@href"),
        ("a::attr(\"a b\")", "descendant-or-self::a/attribute::*[name() = 'a b']"),
        ("p::text, a::attr(href)", "descendant-or-self::p/text() | descendant-or-self::a/@href"),
        (":disabled", "descendant-or-self::*[\n        (\n            @disabled and\n            (\n                name(.) = 'input' or\n                name(.) = 'button' or\n                name(.) = 'select' or\n                name(.) = 'textarea' or\n                name(.) = 'fieldset' or\n                name(.) = 'optgroup' or\n                name(.) = 'option'\n            )\n        ) or (\n            (\n                name(.) = 'input' or\n                name(.) = 'button' or\n                name(.) = 'select' or\n                name(.) = 'textarea'\n            )\n            and ancestor::fieldset[@disabled] and not(count(ancestor::legend | ancestor::fieldset[@disabled]/legend[1]) < count(ancestor::legend) + count(ancestor::fieldset[@disabled]/legend[1]))\n        ) or (\n            name(.) = 'option' and ancestor::optgroup[@disabled]\n        )\n        ]"),
        (":enabled", "descendant-or-self::*[\n        (\n            (\n                name(.) = 'fieldset' or\n                name(.) = 'optgroup'\n            )\n            and not(@disabled)\n        ) or (\n            (\n                name(.) = 'input' or\n                name(.) = 'button' or\n                name(.) = 'select' or\n                name(.) = 'textarea'\n            )\n            and not(@disabled) and not(ancestor::fieldset[@disabled] and not(count(ancestor::legend | ancestor::fieldset[@disabled]/legend[1]) < count(ancestor::legend) + count(ancestor::fieldset[@disabled]/legend[1])))\n        ) or (\n            name(.) = 'option' and not(\n                @disabled or ancestor::optgroup[@disabled]\n            )\n        )\n        ]"),
        ("é.日本", "descendant-or-self::*[(name() = 'é') and (@class and contains(@class, '日本') and contains(concat(' ', normalize-space(@class), ' '), ' 日本 '))]"),
    ];
    for (css, want) in cases {
        assert_eq!(css_to_xpath(css).as_deref(), Ok(*want), "{css}");
    }
}

#[test]
fn rejected_selectors_are_errors() {
    for css in [
        "",
        "a,",
        ">",
        ":nth-child(foo)",
        "a::before",
        "a:before",
        "::attr()",
        "a::text b",
        ":not(:not(a))",
        ":is(:not(a))",
        ":foo",
        ":foo()",
        "*:first-of-type",
        "[href",
        "\"a\"",
        ":lang(\"\")",
        "[*|=x]",
        ":is(a b)",
        "a:scope:is(:scope)",
        "b :scope",
        ":nth-child(1.5)",
        "a::foo(x)",
    ] {
        assert!(css_to_xpath(css).is_err(), "{css}");
    }
}

#[test]
fn errors_name_position_and_token() {
    let e = css_to_xpath("a, ").unwrap_err();
    assert_eq!(e.kind, CssErrorKind::Syntax);
    assert_eq!(
        e.to_string(),
        "invalid CSS selector: Expected selector, got <EOF at 3>"
    );
    let e = css_to_xpath("a > ,").unwrap_err();
    assert_eq!(e.message, "Expected selector, got <DELIM ',' at 4>");
    let e = css_to_xpath(":hover2").unwrap_err();
    assert_eq!(e.kind, CssErrorKind::Expression);
    assert_eq!(e.message, "The pseudo-class :hover2 is unknown");
    let e = css_to_xpath("a::before").unwrap_err();
    assert_eq!(e.message, "The pseudo-element ::before is unknown");
    let e = css_to_xpath("[title='x").unwrap_err();
    assert_eq!(e.message, "Unclosed string at 7");
    // Positions count code points, not bytes.
    let e = css_to_xpath("日本 >").unwrap_err();
    assert_eq!(e.message, "Expected selector, got <EOF at 4>");
}

#[test]
fn control_characters_and_escapes() {
    assert_eq!(
        css_to_xpath("a\tb").unwrap(),
        "descendant-or-self::a/descendant::b"
    );
    assert_eq!(
        css_to_xpath("\u{0}").unwrap(),
        "descendant-or-self::*[name() = '\u{fffd}']"
    );
    assert_eq!(
        css_to_xpath("[href=\"a\\\nb\"]").unwrap(),
        "descendant-or-self::*[@href = 'ab']"
    );
    // `\5c\5c` decodes to two backslashes, which a second pass reads as one escape.
    assert_eq!(
        css_to_xpath("\\5c\\5c").unwrap(),
        "descendant-or-self::*[name() = '\\']"
    );
}

#[test]
fn nesting_is_limited() {
    let nested = |n: usize| format!("{}a{}", ":has(".repeat(n), ")".repeat(n));
    assert!(css_to_xpath(&nested(MAX_DEPTH)).is_ok());
    let e = css_to_xpath(&nested(MAX_DEPTH + 1)).unwrap_err();
    assert!(e.message.contains("nested"), "{e}");
    let deep = format!("{}a{}", ":not(:has(:is(".repeat(400), ")))".repeat(400));
    assert!(css_to_xpath(&deep).is_err());
}

#[test]
fn long_chains_do_not_recurse() {
    let chain = "a ".repeat(2000);
    assert!(css_to_xpath(&chain).unwrap().ends_with("/descendant::a"));
    let classes = ".a".repeat(2000);
    assert!(css_to_xpath(&classes).is_ok());
    let negated = format!(":not({})", "a > ".repeat(1000) + "b");
    assert!(css_to_xpath(&negated).is_ok());
}

#[test]
fn huge_series_numbers_are_errors_not_panics() {
    let big = format!(":nth-child({}n+{})", "9".repeat(60), "9".repeat(60));
    assert!(css_to_xpath(&big).is_err());
    assert!(css_to_xpath(":nth-child(-170141183460469231731687303715884105728)").is_err());
    assert!(css_to_xpath(":nth-child(170141183460469231731687303715884105727n)").is_ok());
}

#[test]
fn arbitrary_input_never_panics() {
    let alphabet: Vec<char> = "ab*|.#[]=~^$!\"'\\5c :()>+~, \t\n\r\u{c}\0-_n1é日/"
        .chars()
        .collect();
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    for _ in 0..20_000 {
        let len = (seed % 24) as usize;
        let mut s = String::new();
        for _ in 0..len {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            s.push(alphabet[(seed % alphabet.len() as u64) as usize]);
        }
        let _ = css_to_xpath(&s);
    }
}
