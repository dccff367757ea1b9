//! Submitting a page's form, as Scrapy's `FormRequest.from_response`: the form's
//! fields with their values (hidden inputs such as CSRF tokens included), overridden
//! by the spec's `formdata`, plus the first submit button, sent to the form's action
//! with its method.
//!
//! ```toml
//! [callbacks.login_page]
//! form = { css = "form#login", formdata = { username = "{user}", password = "{password}" }, callback = "account" }
//! ```

use http::Method;
use indexmap::IndexMap;
use url::Url;

use super::template::Template;
use crate::select::{Query, Selection};

/// The inputs a form submits (Scrapy's `_get_inputs`): text areas, selects, and
/// inputs that are not buttons, checkboxes and radios only when checked.
const INPUTS: &str = "descendant::textarea|descendant::select|descendant::input[not(@type) or \
                      @type[not(re:test(., '^(?:submit|image|reset)$', 'i')) and (../@checked or \
                      not(re:test(., '^(?:checkbox|radio)$', 'i')))]]";

/// The elements that submit a form (the first one is clicked).
const CLICKABLES: &str = "descendant::input[re:test(@type, '^(submit|image)$', 'i')]|\
                          descendant::button[not(@type) or re:test(@type, '^submit$', 'i')]";

/// A compiled `form` entry of a callback.
#[derive(Debug, Clone)]
pub struct FormSubmit {
    /// Selects the form, or an element inside it (default: the page's first form).
    pub select: Option<Query>,
    /// Values that replace (or add to) the form's own, rendered per page.
    pub formdata: IndexMap<String, Template>,
    /// Do not add the first submit button's name and value.
    pub dont_click: bool,
    /// The callback for the response to the submission.
    pub callback: String,
    /// Request priority.
    pub priority: i32,
}

/// What submitting a form sends.
#[derive(Debug, Clone, PartialEq)]
pub struct Submission {
    /// `GET` (the data in the query) or `POST` (the data as the body).
    pub method: Method,
    /// Where to.
    pub url: Url,
    /// The form data, `application/x-www-form-urlencoded`, for a POST.
    pub body: Option<String>,
}

/// The compiled queries (they cannot fail to compile: they are constants).
#[derive(Debug)]
pub(crate) struct Queries {
    form: Query,
    inputs: Query,
    clickables: Query,
    options: Query,
}

/// The queries, compiled once.
pub(crate) static QUERIES: std::sync::LazyLock<Queries> = std::sync::LazyLock::new(Queries::new);

impl Queries {
    fn new() -> Queries {
        let q = |x: &str| Query::xpath(x).expect("a valid constant XPath");
        Queries {
            form: q("ancestor-or-self::form[1]"),
            inputs: q(INPUTS),
            clickables: q(CLICKABLES),
            options: q("descendant::option"),
        }
    }
}

/// Fills in and submits `form` (an element of the page's form, or the form): the
/// fields in document order with `formdata`'s values, then `formdata`'s new keys.
pub(crate) fn submit(
    qs: &Queries,
    form: &Selection<'_>,
    formdata: &[(String, String)],
    dont_click: bool,
    page_url: &Url,
) -> Option<Submission> {
    let form = form.select(&qs.form).iter().next()?;
    let given = |k: &str| formdata.iter().any(|(n, _)| n == k);
    let mut pairs: Vec<(String, String)> = Vec::new();
    for input in form.select(&qs.inputs).iter() {
        let Some(name) = input.attr("name").filter(|n| !n.is_empty()) else {
            continue;
        };
        if given(name) {
            continue;
        }
        let tag = element_name(&input);
        match tag.as_str() {
            "textarea" => pairs.push((name.into(), input.text_content())),
            "select" => pairs.extend(
                select_values(qs, &input)
                    .into_iter()
                    .map(|v| (name.into(), v)),
            ),
            _ => {
                let kind = input.attr("type").unwrap_or("").to_ascii_lowercase();
                let value = match input.attr("value") {
                    Some(v) => v.to_string(),
                    None if kind == "checkbox" || kind == "radio" => "on".into(),
                    None => String::new(),
                };
                pairs.push((name.into(), value));
            }
        }
    }
    if !dont_click {
        if let Some(button) = form.select(&qs.clickables).iter().next() {
            if let Some(name) = button.attr("name") {
                if !given(name) {
                    pairs.push((name.into(), button.attr("value").unwrap_or("").into()));
                }
            }
        }
    }
    pairs.extend(formdata.iter().cloned());
    let data = urlencode(&pairs);
    let action = form.attr("action").map(|a| a.trim_matches(html_space));
    let mut url = match action {
        Some(a) => page_url.join(a).ok()?,
        None => page_url.clone(),
    };
    let method = match form.attr("method").map(str::to_ascii_uppercase).as_deref() {
        Some("POST") => Method::POST,
        _ => Method::GET,
    };
    if method == Method::GET {
        url.set_query(Some(&data));
        url.set_fragment(None);
        return Some(Submission {
            method,
            url,
            body: None,
        });
    }
    Some(Submission {
        method,
        url,
        body: Some(data),
    })
}

fn html_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\x0c' | '\r')
}

fn element_name(s: &Selection<'_>) -> String {
    s.name().unwrap_or_default().to_ascii_lowercase()
}

/// A select's values as lxml gives them: the selected options (every one for a
/// `multiple` select, else the first), else the first option for a single select.
fn select_values(qs: &Queries, select: &Selection<'_>) -> Vec<String> {
    let option_value = |o: &Selection<'_>| match o.attr("value") {
        Some(v) => v.to_string(),
        None => o.text_content().trim().to_string(),
    };
    let options: Vec<_> = select.select(&qs.options).iter().collect();
    let selected: Vec<String> = options
        .iter()
        .filter(|o| o.attr("selected").is_some())
        .map(option_value)
        .collect();
    if select.attr("multiple").is_some() {
        return selected;
    }
    match selected.into_iter().next() {
        Some(v) => vec![v],
        None => options.first().map(option_value).into_iter().collect(),
    }
}

/// Python's `urlencode` (`quote_plus`): letters, digits and `_.-~` as they are, spaces
/// as `+`, every other byte of the UTF-8 text as `%XX`.
pub fn urlencode(pairs: &[(String, String)]) -> String {
    fn enc(s: &str, out: &mut String) {
        for b in s.bytes() {
            match b {
                b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_' | b'.' | b'-' | b'~' => {
                    out.push(b as char)
                }
                b' ' => out.push('+'),
                _ => out.push_str(&format!("%{b:02X}")),
            }
        }
    }
    let mut out = String::new();
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        enc(k, &mut out);
        out.push('=');
        enc(v, &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::select::Page;

    const LOGIN: &str = r#"<html><body>
      <form id="search" action="/search"><input name="q"></form>
      <form id="login" action=" /session?next=1#top " method="post">
        <input type="hidden" name="csrf" value="t0k3n">
        <input name="user" value="">
        <input type="password" name="password">
        <input type="checkbox" name="remember" checked>
        <input type="checkbox" name="newsletter" value="1">
        <input type="radio" name="lang" value="en">
        <input type="radio" name="lang" value="fr" checked>
        <select name="country"><option value="de">Germany</option><option selected>France</option></select>
        <select name="size"><option value="s">S</option><option value="m">M</option></select>
        <select name="tags" multiple><option selected value="a">A</option><option value="b">B</option><option selected>c</option></select>
        <textarea name="note">hello world</textarea>
        <input type="reset" name="reset" value="Reset">
        <input type="submit" name="go" value="Sign in">
        <button name="other">Other</button>
      </form></body></html>"#;

    fn form_of(page: &Page<'_>, css: &str) -> Submission {
        let q = Query::css(css).unwrap();
        let found = page.select(&q);
        let el = found.iter().next().unwrap();
        let data = vec![
            ("user".to_string(), "ann & bob".to_string()),
            ("password".to_string(), "p*ss~".to_string()),
        ];
        submit(
            &Queries::new(),
            &el,
            &data,
            false,
            &Url::parse("https://shop.example/login").unwrap(),
        )
        .unwrap()
    }

    #[test]
    fn a_form_submits_as_scrapy_does() {
        let page = Page::parse(LOGIN);
        // An element inside the form selects the form.
        let s = form_of(&page, "form#login input[name=csrf]");
        assert_eq!(s.method, Method::POST);
        assert_eq!(s.url.as_str(), "https://shop.example/session?next=1#top");
        assert_eq!(
            s.body.as_deref(),
            Some(
                "csrf=t0k3n&remember=on&lang=fr&country=France&size=s&tags=a&tags=c&\
                 note=hello+world&go=Sign+in&user=ann+%26+bob&password=p%2Ass~"
            )
        );
        let s = form_of(&page, "form#search");
        assert_eq!(s.method, Method::GET);
        assert_eq!(
            s.url.as_str(),
            "https://shop.example/search?q=&user=ann+%26+bob&password=p%2Ass~"
        );
    }
}
