//! Opening hours in many shapes turned into one OpenStreetMap `opening_hours` string,
//! in the format of All the Places' `OpeningHours.as_opening_hours()`: days in order
//! Mo..Su, consecutive days with the same hours grouped (`Mo-Fr 09:00-17:00; Sa
//! 10:00-14:00`), days stated closed as `closed`, a whole day as `00:00-24:00`,
//! several ranges of a day joined by `,`, and a range past midnight split over two
//! days.
//!
//! Accepted: schema.org `openingHoursSpecification` objects (one or a list, days as
//! names or URLs), schema.org `openingHours` strings, free text with day names and
//! time ranges (12- or 24-hour, in one of several languages), objects keyed by day
//! (`{"monday": "09:00-17:00"}`, `{"mon": {"open": .., "close": ..}}`,
//! `{"mondayOpen": .., "mondayClose": ..}`) and lists of `{day, open, close}` records.
//! Anything else gives no value.

use std::collections::BTreeSet;

use serde_json::Value;

use super::field::{first_match, ExtractError, Extracted, Field, Scope, Source};
use super::json;
use super::SpecError;

/// The longest text read as opening hours, in bytes (longer input gives no value).
pub const MAX_HOURS_TEXT: usize = 16 * 1024;
/// The most JSON values visited in one hours value.
const MAX_JSON_NODES: usize = 2000;
/// The most tokens read from one text.
const MAX_TOKENS: usize = 4000;

const DAYS: [&str; 7] = ["Mo", "Tu", "We", "Th", "Fr", "Sa", "Su"];

/// Day names per language, lowercased: (name, day index from Monday).
fn day_table(lang: Lang) -> &'static [(&'static str, u8)] {
    match lang {
        Lang::En => &[
            ("monday", 0),
            ("mondays", 0),
            ("mon", 0),
            ("mo", 0),
            ("tuesday", 1),
            ("tuesdays", 1),
            ("tues", 1),
            ("tue", 1),
            ("tu", 1),
            ("wednesday", 2),
            ("wednesdays", 2),
            ("weds", 2),
            ("wed", 2),
            ("we", 2),
            ("thursday", 3),
            ("thursdays", 3),
            ("thurs", 3),
            ("thur", 3),
            ("thu", 3),
            ("thr", 3),
            ("thrs", 3),
            ("th", 3),
            ("friday", 4),
            ("fridays", 4),
            ("fri", 4),
            ("fr", 4),
            ("saturday", 5),
            ("saturdays", 5),
            ("sat", 5),
            ("sa", 5),
            ("sunday", 6),
            ("sundays", 6),
            ("sun", 6),
            ("su", 6),
        ],
        Lang::De => &[
            ("montag", 0),
            ("montags", 0),
            ("mo", 0),
            ("dienstag", 1),
            ("dienstags", 1),
            ("di", 1),
            ("mittwoch", 2),
            ("mittwochs", 2),
            ("mi", 2),
            ("donnerstag", 3),
            ("donnerstags", 3),
            ("do", 3),
            ("freitag", 4),
            ("freitags", 4),
            ("fr", 4),
            ("samstag", 5),
            ("samstags", 5),
            ("sonnabend", 5),
            ("sa", 5),
            ("sonntag", 6),
            ("sonntags", 6),
            ("so", 6),
        ],
        Lang::Fr => &[
            ("lundi", 0),
            ("lun", 0),
            ("lu", 0),
            ("mardi", 1),
            ("mar", 1),
            ("ma", 1),
            ("mercredi", 2),
            ("mer", 2),
            ("me", 2),
            ("jeudi", 3),
            ("jeu", 3),
            ("je", 3),
            ("vendredi", 4),
            ("ven", 4),
            ("ve", 4),
            ("samedi", 5),
            ("sam", 5),
            ("sa", 5),
            ("dimanche", 6),
            ("dim", 6),
            ("di", 6),
        ],
        Lang::Es => &[
            ("lunes", 0),
            ("lun", 0),
            ("lu", 0),
            ("martes", 1),
            ("mar", 1),
            ("ma", 1),
            ("miércoles", 2),
            ("miercoles", 2),
            ("mié", 2),
            ("mie", 2),
            ("mi", 2),
            ("jueves", 3),
            ("jue", 3),
            ("ju", 3),
            ("viernes", 4),
            ("vie", 4),
            ("vi", 4),
            ("sábado", 5),
            ("sabado", 5),
            ("sábados", 5),
            ("sáb", 5),
            ("sab", 5),
            ("sa", 5),
            ("domingo", 6),
            ("domingos", 6),
            ("dom", 6),
            ("do", 6),
        ],
        Lang::It => &[
            ("lunedì", 0),
            ("lunedi", 0),
            ("lun", 0),
            ("lu", 0),
            ("martedì", 1),
            ("martedi", 1),
            ("mar", 1),
            ("ma", 1),
            ("mercoledì", 2),
            ("mercoledi", 2),
            ("mer", 2),
            ("me", 2),
            ("giovedì", 3),
            ("giovedi", 3),
            ("gio", 3),
            ("gi", 3),
            ("venerdì", 4),
            ("venerdi", 4),
            ("ven", 4),
            ("ve", 4),
            ("sabato", 5),
            ("sab", 5),
            ("sa", 5),
            ("domenica", 6),
            ("dom", 6),
            ("do", 6),
        ],
        Lang::Nl => &[
            ("maandag", 0),
            ("ma", 0),
            ("dinsdag", 1),
            ("di", 1),
            ("woensdag", 2),
            ("wo", 2),
            ("donderdag", 3),
            ("do", 3),
            ("vrijdag", 4),
            ("vr", 4),
            ("zaterdag", 5),
            ("za", 5),
            ("zondag", 6),
            ("zo", 6),
        ],
        Lang::Pl => &[
            ("poniedziałek", 0),
            ("pon", 0),
            ("pn", 0),
            ("po", 0),
            ("wtorek", 1),
            ("wto", 1),
            ("wt", 1),
            ("środa", 2),
            ("śro", 2),
            ("sro", 2),
            ("śr", 2),
            ("sr", 2),
            ("czwartek", 3),
            ("czw", 3),
            ("cz", 3),
            ("piątek", 4),
            ("pia", 4),
            ("pt", 4),
            ("pi", 4),
            ("sobota", 5),
            ("sob", 5),
            ("sb", 5),
            ("so", 5),
            ("niedziela", 6),
            ("niedz", 6),
            ("ndz", 6),
            ("nie", 6),
            ("nd", 6),
            ("ni", 6),
        ],
        Lang::Pt => &[
            ("segunda-feira", 0),
            ("segunda", 0),
            ("seg", 0),
            ("terça-feira", 1),
            ("terça", 1),
            ("terca", 1),
            ("ter", 1),
            ("quarta-feira", 2),
            ("quarta", 2),
            ("qua", 2),
            ("quinta-feira", 3),
            ("quinta", 3),
            ("qui", 3),
            ("sexta-feira", 4),
            ("sexta", 4),
            ("sex", 4),
            ("sábado", 5),
            ("sabado", 5),
            ("sáb", 5),
            ("sab", 5),
            ("sa", 5),
            ("domingo", 6),
            ("dom", 6),
            ("do", 6),
        ],
        Lang::Ru => &[
            ("понедельник", 0),
            ("пн", 0),
            ("вторник", 1),
            ("вт", 1),
            ("среда", 2),
            ("среду", 2),
            ("ср", 2),
            ("четверг", 3),
            ("чт", 3),
            ("пятница", 4),
            ("пятницу", 4),
            ("пт", 4),
            ("суббота", 5),
            ("субботу", 5),
            ("сб", 5),
            ("воскресенье", 6),
            ("вс", 6),
        ],
    }
}

/// Words (or phrases) naming several days.
fn named_ranges(lang: Lang) -> &'static [(&'static str, &'static [u8])] {
    const ALL: &[u8] = &[0, 1, 2, 3, 4, 5, 6];
    const WEEK: &[u8] = &[0, 1, 2, 3, 4];
    const WEEKEND: &[u8] = &[5, 6];
    match lang {
        Lang::En => &[
            ("daily", ALL),
            ("every day", ALL),
            ("all days", ALL),
            ("7 days a week", ALL),
            ("weekdays", WEEK),
            ("weekday", WEEK),
            ("weekends", WEEKEND),
            ("weekend", WEEKEND),
        ],
        Lang::De => &[
            ("täglich", ALL),
            ("werktags", WEEK),
            ("wochenende", WEEKEND),
        ],
        Lang::Fr => &[
            ("tous les jours", ALL),
            ("7j/7", ALL),
            ("en semaine", WEEK),
            ("week-end", WEEKEND),
        ],
        Lang::Es => &[
            ("todos los días", ALL),
            ("todos los dias", ALL),
            ("diario", ALL),
            ("fines de semana", WEEKEND),
        ],
        Lang::It => &[
            ("tutti i giorni", ALL),
            ("ogni giorno", ALL),
            ("giorni feriali", WEEK),
            ("feriali", WEEK),
            ("lavorativi", WEEK),
            ("weekend", WEEKEND),
            ("prefestivi", &[5]),
            ("prefestivo", &[5]),
        ],
        Lang::Nl => &[
            ("dagelijks", ALL),
            ("werkdagen", WEEK),
            ("weekend", WEEKEND),
        ],
        Lang::Pl => &[("codziennie", ALL)],
        Lang::Pt => &[
            ("todos os dias", ALL),
            ("diariamente", ALL),
            ("dias úteis", WEEK),
        ],
        Lang::Ru => &[
            ("ежедневно", ALL),
            ("по будням", WEEK),
            ("по выходным", WEEKEND),
        ],
    }
}

/// Words for a range ("to") between days or times (besides dashes).
fn range_words(lang: Lang) -> &'static [&'static str] {
    match lang {
        Lang::En => &["to", "thru", "through", "until", "till"],
        Lang::De => &["bis"],
        Lang::Fr => &["au", "à", "a", "jusqu'à"],
        Lang::Es => &["a", "hasta", "al"],
        Lang::It => &["al", "alle", "a", "fino alle", "fino al"],
        Lang::Nl => &["tot", "t/m", "tot en met"],
        Lang::Pl => &["do"],
        Lang::Pt => &["a", "às", "as", "até"],
        Lang::Ru => &["по", "до"],
    }
}

/// Words joining days or ranges in a list ("and").
fn list_words(lang: Lang) -> &'static [&'static str] {
    match lang {
        Lang::En => &["and", "&"],
        Lang::De => &["und"],
        Lang::Fr => &["et"],
        Lang::Es => &["y"],
        Lang::It => &["e"],
        Lang::Nl => &["en"],
        Lang::Pl => &["i"],
        Lang::Pt => &["e"],
        Lang::Ru => &["и"],
    }
}

/// Words saying a day is closed.
fn closed_words(lang: Lang) -> &'static [&'static str] {
    match lang {
        Lang::En => &["closed", "off"],
        Lang::De => &["geschlossen", "ruhetag"],
        Lang::Fr => &["fermé", "fermée", "ferme", "fermee"],
        Lang::Es => &["cerrado"],
        Lang::It => &["chiuso", "chiusi"],
        Lang::Nl => &["gesloten"],
        Lang::Pl => &["nieczynne", "zamknięte", "zamkniete"],
        Lang::Pt => &["fechado"],
        Lang::Ru => &["выходной", "закрыто"],
    }
}

/// Phrases meaning open the whole day.
fn all_day_words(lang: Lang) -> &'static [&'static str] {
    match lang {
        Lang::En => &["24 hours", "24 hrs", "24/7", "open 24h"],
        Lang::De => &["24 stunden", "rund um die uhr", "24/7"],
        Lang::Fr => &["24h/24", "24h/24h", "24/7"],
        Lang::Es => &["24 horas", "24/7"],
        Lang::It => &["24 ore", "h24", "24/7"],
        Lang::Nl => &["24 uur", "24/7"],
        Lang::Pl => &["całodobowo", "24/7"],
        Lang::Pt => &["24 horas", "24/7"],
        Lang::Ru => &["круглосуточно", "24/7"],
    }
}

/// A language of day names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// English (the default).
    En,
    /// German.
    De,
    /// French.
    Fr,
    /// Spanish.
    Es,
    /// Italian.
    It,
    /// Dutch.
    Nl,
    /// Polish.
    Pl,
    /// Portuguese.
    Pt,
    /// Russian.
    Ru,
}

impl Lang {
    const ALL: [(&'static str, Lang); 9] = [
        ("en", Lang::En),
        ("de", Lang::De),
        ("fr", Lang::Fr),
        ("es", Lang::Es),
        ("it", Lang::It),
        ("nl", Lang::Nl),
        ("pl", Lang::Pl),
        ("pt", Lang::Pt),
        ("ru", Lang::Ru),
    ];

    fn parse(s: &str) -> Option<Lang> {
        Lang::ALL
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(s))
            .map(|(_, l)| *l)
    }
}

/// How a field's value is read as opening hours (`hours = true` or a table).
#[derive(Debug, Clone)]
pub struct HoursOptions {
    /// The language of day names in text.
    pub lang: Lang,
    /// The key of the day in `{day, open, close}` records (also a key suffix base).
    pub day: Option<String>,
    /// The key (or day-key suffix) of the opening time.
    pub open: Option<String>,
    /// The key (or day-key suffix) of the closing time.
    pub close: Option<String>,
    /// Days given as numbers count from 0 (Monday = 0) or 1 (Monday = 1); with
    /// `sunday_first`, Sunday is 0 (or 1).
    pub day_base: u8,
    /// Numbered days start on Sunday.
    pub sunday_first: bool,
}

impl Default for HoursOptions {
    fn default() -> Self {
        HoursOptions {
            lang: Lang::En,
            day: None,
            open: None,
            close: None,
            day_base: 0,
            sunday_first: false,
        }
    }
}

impl HoursOptions {
    /// The options of a field's `hours` key (`true`, `false` or a table); None when
    /// it is `false`.
    pub fn compile(path: &str, v: &Value) -> Result<Option<HoursOptions>, SpecError> {
        let mut o = HoursOptions::default();
        let map = match v {
            Value::Bool(false) => return Ok(None),
            Value::Bool(true) => return Ok(Some(o)),
            Value::Object(m) => m,
            _ => {
                return Err(SpecError::new(
                    path,
                    "expected true or a table (days, day, open, close, day_index)",
                ))
            }
        };
        for (k, val) in map {
            let kpath = format!("{path}.{k}");
            let text = || {
                val.as_str()
                    .filter(|s| !s.trim().is_empty() && s.len() <= 100)
                    .map(str::to_string)
                    .ok_or_else(|| SpecError::new(&kpath, "expected a non-empty string"))
            };
            match k.as_str() {
                "days" => {
                    let s = text()?;
                    o.lang = Lang::parse(&s).ok_or_else(|| {
                        let known: Vec<&str> = Lang::ALL.iter().map(|(k, _)| *k).collect();
                        SpecError::new(
                            &kpath,
                            format!(
                                "unknown day-name language {s:?} (known: {})",
                                known.join(", ")
                            ),
                        )
                    })?;
                }
                "day" => o.day = Some(text()?),
                "open" => o.open = Some(text()?),
                "close" => o.close = Some(text()?),
                "day_index" => {
                    let s = match val {
                        Value::Number(n) => n.to_string(),
                        Value::String(s) => s.clone(),
                        _ => String::new(),
                    };
                    (o.day_base, o.sunday_first) = match s.as_str() {
                        "0" | "monday=0" => (0, false),
                        "1" | "monday=1" => (1, false),
                        "sunday=0" => (0, true),
                        "sunday=1" => (1, true),
                        _ => {
                            return Err(SpecError::new(
                                &kpath,
                                "expected 0, 1, \"monday=0\", \"monday=1\", \"sunday=0\" or \"sunday=1\"",
                            ))
                        }
                    };
                }
                other => {
                    return Err(SpecError::new(
                        &kpath,
                        format!(
                            "unknown hours option {other:?} (days, day, open, close, day_index)"
                        ),
                    ))
                }
            }
        }
        Ok(Some(o))
    }
}

/// Opening hours being collected: ranges in minutes per day (Monday first), and the
/// days stated closed.
#[derive(Debug, Default, Clone)]
pub struct OpeningHours {
    hours: [BTreeSet<(u16, u16)>; 7],
    closed: [bool; 7],
}

impl OpeningHours {
    /// Whether nothing was added.
    pub fn is_empty(&self) -> bool {
        self.hours.iter().all(BTreeSet::is_empty) && !self.closed.iter().any(|c| *c)
    }

    /// Adds `open`-`close` (minutes since midnight; a close of 0 or 23:59 is the end of
    /// the day) on `day`; a range that opens when it closes is ignored.
    pub fn add_range(&mut self, day: usize, open: u16, close: u16) {
        if day >= 7 || open >= 24 * 60 || close > 24 * 60 {
            return;
        }
        if open == 0 && close == 0 {
            return;
        }
        let close = if close == 0 || close == 23 * 60 + 59 {
            24 * 60
        } else {
            close
        };
        if open == close {
            return;
        }
        self.closed[day] = false;
        self.hours[day].insert((open, close));
    }

    /// Marks `day` closed (dropping its ranges).
    pub fn set_closed(&mut self, day: usize) {
        if day < 7 {
            self.hours[day].clear();
            self.closed[day] = true;
        }
    }

    /// The OSM `opening_hours` string (empty when nothing was added).
    pub fn as_opening_hours(&self) -> String {
        let mut split: [BTreeSet<(u16, u16)>; 7] = Default::default();
        let mut closed = self.closed;
        for day in 0..7 {
            for &(o, c) in &self.hours[day] {
                if o > c {
                    split[day].insert((o, 24 * 60));
                    let next = (day + 1) % 7;
                    split[next].insert((0, c));
                    closed[next] = false;
                } else {
                    split[day].insert((o, c));
                }
            }
        }
        let text: Vec<String> = (0..7)
            .map(|d| {
                if closed[d] {
                    "closed".to_string()
                } else {
                    split[d]
                        .iter()
                        .map(|&(o, c)| format!("{}-{}", hhmm(o), hhmm(c)))
                        .collect::<Vec<_>>()
                        .join(",")
                }
            })
            .collect();
        let mut parts = Vec::new();
        let mut start = 0;
        while start < 7 {
            let mut end = start;
            while end + 1 < 7 && text[end + 1] == text[start] {
                end += 1;
            }
            if !text[start].is_empty() {
                if start == end {
                    parts.push(format!("{} {}", DAYS[start], text[start]));
                } else {
                    parts.push(format!("{}-{} {}", DAYS[start], DAYS[end], text[start]));
                }
            }
            start = end + 1;
        }
        parts.join("; ")
    }
}

fn hhmm(m: u16) -> String {
    format!("{:02}:{:02}", m / 60, m % 60)
}

/// The OSM string for a JSON value (a schema.org object or list, day-keyed object,
/// list of records, or text); None when nothing in it reads as opening hours.
pub fn from_json(v: &Value, o: &HoursOptions) -> Option<String> {
    let mut oh = OpeningHours::default();
    let mut budget = MAX_JSON_NODES;
    add_json(&mut oh, v, o, &mut budget, 0);
    finish(oh)
}

/// The OSM string for texts (each one or more lines of opening hours).
pub fn from_texts(texts: &[String], o: &HoursOptions) -> Option<String> {
    let joined = texts.join("\n");
    if joined.len() > MAX_HOURS_TEXT {
        return None;
    }
    let mut oh = OpeningHours::default();
    add_text(&mut oh, &joined, o.lang, None);
    finish(oh)
}

/// Extracts a field with `hours`: its raw value (the JSON a `jmespath` selects, the
/// text a selector picks, a constant or a template) read as opening hours.
pub(super) fn extract_field<'v>(
    field: &Field,
    o: &HoursOptions,
    scope: Scope<'_, '_>,
    vars: &dyn Fn(&str) -> Option<std::borrow::Cow<'v, str>>,
) -> Result<Extracted, ExtractError> {
    let to_value = |v: &jmespath::Rcvar| serde_json::to_value(&**v).unwrap_or(Value::Null);
    let found = match &field.source {
        Source::Constant(v) => from_json(v, o),
        Source::Template(t) => from_texts(&[t.render(vars)], o),
        Source::Templates(ts) => {
            let texts: Vec<String> = ts.iter().map(|t| t.render(vars)).collect();
            from_texts(&texts, o)
        }
        Source::Select(q) => {
            let texts: Vec<String> = scope
                .strings(q)?
                .into_iter()
                .map(|s| {
                    let s = if s.starts_with('<') {
                        markup_text(&s)
                    } else {
                        s
                    };
                    match &field.re {
                        Some(re) => first_match(re, &s).unwrap_or_default().to_string(),
                        None => s,
                    }
                })
                .collect();
            from_texts(&texts, o)
        }
        Source::Json { text: None, path } => match scope {
            Scope::Json(v, _) => {
                let found = path.search(v).map_err(ExtractError::Json)?;
                from_json(&to_value(&found), o)
            }
            _ => None,
        },
        Source::Json {
            text: Some(q),
            path,
        } => {
            let mut oh = None;
            for text in scope.strings(q)? {
                let cut = match &field.re {
                    Some(re) => first_match(re, &text),
                    None => Some(text.as_str()),
                };
                if let Some(data) = cut.and_then(json::parse) {
                    let found = path.search(&data).map_err(ExtractError::Json)?;
                    oh = from_json(&to_value(&found), o);
                    if oh.is_some() {
                        break;
                    }
                }
            }
            oh
        }
    };
    Ok(match (found, &field.default) {
        (Some(v), _) => Extracted::Value(Value::String(v)),
        (None, Some(d)) => Extracted::Value(d.clone()),
        (None, None) if field.required => Extracted::MissingRequired,
        (None, None) => Extracted::Missing,
    })
}

/// The text of an element's markup, one line per tag break.
fn markup_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match (c, in_tag) {
            ('<', _) => {
                in_tag = true;
                out.push('\n');
            }
            ('>', true) => in_tag = false,
            (c, false) => out.push(c),
            _ => {}
        }
    }
    crate::select::replace_entities(out)
}

fn finish(oh: OpeningHours) -> Option<String> {
    let s = oh.as_opening_hours();
    (!s.is_empty()).then_some(s)
}

fn get_ci<'v>(m: &'v serde_json::Map<String, Value>, key: &str) -> Option<&'v Value> {
    m.get(key).or_else(|| {
        m.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })
}

const DAY_KEYS: &[&str] = &[
    "dayOfWeek",
    "day",
    "days",
    "weekday",
    "day_of_week",
    "dayName",
];
const OPEN_KEYS: &[&str] = &[
    "opens",
    "open",
    "openTime",
    "open_time",
    "opening",
    "openingTime",
    "from",
    "start",
    "startTime",
    "start_time",
];
const CLOSE_KEYS: &[&str] = &[
    "closes",
    "close",
    "closeTime",
    "close_time",
    "closing",
    "closingTime",
    "to",
    "end",
    "endTime",
    "end_time",
];

fn add_json(oh: &mut OpeningHours, v: &Value, o: &HoursOptions, budget: &mut usize, depth: usize) {
    if *budget == 0 || depth > 8 {
        return;
    }
    *budget -= 1;
    match v {
        Value::String(s) if s.len() <= MAX_HOURS_TEXT => add_text(oh, s, o.lang, None),
        Value::Array(items) => {
            for i in items {
                add_json(oh, i, o, budget, depth + 1);
            }
        }
        Value::Object(m) => {
            if let Some(spec) = get_ci(m, "openingHoursSpecification") {
                return add_json(oh, spec, o, budget, depth + 1);
            }
            if let Some(hours) = get_ci(m, "openingHours") {
                return add_json(oh, hours, o, budget, depth + 1);
            }
            let day_key = match &o.day {
                Some(k) => get_ci(m, k),
                None => DAY_KEYS.iter().find_map(|k| get_ci(m, k)),
            };
            if let Some(day) = day_key {
                let days = days_of_value(day, o);
                add_record(oh, &days, m, o, None);
            } else {
                add_day_keyed(oh, m, o, budget);
            }
        }
        _ => {}
    }
}

/// The open and close times of a record (`{opens, closes}`), or with a day-key
/// `prefix` (`mondayOpen`).
fn add_record(
    oh: &mut OpeningHours,
    days: &[usize],
    m: &serde_json::Map<String, Value>,
    o: &HoursOptions,
    prefix: Option<&str>,
) {
    if days.is_empty() {
        return;
    }
    let find = |opt: &Option<String>, defaults: &[&str]| -> Option<&Value> {
        let keys: Vec<&str> = match opt {
            Some(k) => vec![k.as_str()],
            None => defaults.to_vec(),
        };
        keys.iter().find_map(|k| match prefix {
            None => get_ci(m, k),
            Some(p) => m.iter().find_map(|(key, v)| {
                let lower = key.to_lowercase();
                let rest = lower.strip_prefix(p)?;
                let rest = rest.trim_start_matches(['_', '-', ' ']);
                rest.eq_ignore_ascii_case(k.trim_start_matches(['_', '-', ' ']))
                    .then_some(v)
            }),
        })
    };
    let open = find(&o.open, OPEN_KEYS);
    let close = find(&o.close, CLOSE_KEYS);
    match (open, close) {
        (Some(Value::String(a)), Some(Value::String(b))) => {
            let closed = closed_words(o.lang);
            let is_closed = |s: &str| {
                let l = s.trim().to_lowercase();
                closed.contains(&l.as_str()) || closed_words(Lang::En).contains(&l.as_str())
            };
            if is_closed(a) && is_closed(b) {
                days.iter().for_each(|&d| oh.set_closed(d));
                return;
            }
            if let (Some(a), Some(b)) = (parse_time(a), parse_time(b)) {
                for &d in days {
                    oh.add_range(d, a, b);
                }
            }
        }
        (Some(Value::Number(a)), Some(Value::Number(b))) => {
            // Numbers as HHMM (900, 1730).
            let hm = |n: &serde_json::Number| {
                let n = n.as_u64()?;
                (n <= 2400 && n % 100 < 60).then(|| (n / 100 * 60 + n % 100) as u16)
            };
            if let (Some(a), Some(b)) = (hm(a), hm(b)) {
                for &d in days {
                    oh.add_range(d, a, b);
                }
            }
        }
        _ => {
            // A record with its hours as text (`{"day": "Monday", "hours": "9-5"}`).
            for key in ["hours", "time", "times", "value"] {
                if let Some(Value::String(s)) = get_ci(m, key) {
                    add_text(oh, s, o.lang, Some(days));
                }
            }
        }
    }
}

/// `{"monday": "09:00-17:00"}`, `{"mon": {"open": .., "close": ..}}`,
/// `{"mondayOpen": .., "mondayClose": ..}`.
fn add_day_keyed(
    oh: &mut OpeningHours,
    m: &serde_json::Map<String, Value>,
    o: &HoursOptions,
    budget: &mut usize,
) {
    let mut prefixed: Vec<(usize, String)> = Vec::new();
    for (k, v) in m {
        if *budget == 0 {
            return;
        }
        *budget -= 1;
        let key = k.trim().to_lowercase();
        if let Some(d) = day_of_name(&key, o.lang) {
            match v {
                Value::String(s) if s.len() <= MAX_HOURS_TEXT => {
                    add_text(oh, s, o.lang, Some(&[d]))
                }
                Value::Object(inner) => add_record(oh, &[d], inner, o, None),
                Value::Array(items) => {
                    for i in items.iter().take(16) {
                        match i {
                            Value::String(s) if s.len() <= MAX_HOURS_TEXT => {
                                add_text(oh, s, o.lang, Some(&[d]))
                            }
                            Value::Object(inner) => add_record(oh, &[d], inner, o, None),
                            _ => {}
                        }
                    }
                }
                Value::Bool(false) | Value::Null => {}
                _ => {}
            }
            continue;
        }
        // `mondayOpen`: a day name then an open/close suffix.
        let letters: String = key.chars().take_while(|c| c.is_alphabetic()).collect();
        for len in (2..=letters.chars().count()).rev() {
            let p: String = letters.chars().take(len).collect();
            if let Some(d) = day_of_name(&p, o.lang) {
                if !prefixed.iter().any(|(x, _)| *x == d) {
                    prefixed.push((d, p));
                }
                break;
            }
        }
    }
    for (d, p) in prefixed {
        add_record(oh, &[d], m, o, Some(&p));
    }
}

/// The day a name stands for: the language's table, then English, then OSM codes
/// and schema.org URLs.
fn day_of_name(name: &str, lang: Lang) -> Option<usize> {
    let mut n = name
        .trim()
        .trim_matches(|c: char| c == '.' || c == '-' || c == ' ');
    if let Some(i) = n.rfind(['/', '#', ':']) {
        n = &n[i + 1..];
    }
    let n = n.to_lowercase();
    let find = |l: Lang| {
        day_table(l)
            .iter()
            .find(|(k, _)| *k == n)
            .map(|(_, d)| *d as usize)
    };
    find(lang)
        .or_else(|| (lang != Lang::En).then(|| find(Lang::En)).flatten())
        .or_else(|| DAYS.iter().position(|d| d.eq_ignore_ascii_case(&n)))
}

/// The days of a record's day value: a name, a URL, a list, a number, or a range.
fn days_of_value(v: &Value, o: &HoursOptions) -> Vec<usize> {
    match v {
        Value::String(s) => {
            if let Some(d) = day_of_name(s, o.lang) {
                return vec![d];
            }
            if let Ok(n) = s.trim().parse::<i64>() {
                return day_of_index(n, o).into_iter().collect();
            }
            // "Mo-Fr", "Monday - Friday", "Mo,We".
            let mut oh_days = Vec::new();
            let toks = lex(&s.to_lowercase(), o.lang);
            let mut last: Option<usize> = None;
            let mut dash = false;
            for t in toks {
                match t {
                    Tok::Day(d) => {
                        let d = d as usize;
                        match (dash, last) {
                            (true, Some(a)) => oh_days.extend(day_span(a, d).into_iter().skip(1)),
                            _ => oh_days.push(d),
                        }
                        last = Some(d);
                        dash = false;
                    }
                    Tok::Named(ds) => oh_days.extend(ds.iter().map(|d| *d as usize)),
                    Tok::Dash => dash = true,
                    _ => dash = false,
                }
            }
            oh_days
        }
        Value::Number(n) => n
            .as_i64()
            .and_then(|n| day_of_index(n, o))
            .into_iter()
            .collect(),
        Value::Array(items) => items
            .iter()
            .take(14)
            .flat_map(|i| days_of_value(i, o))
            .collect(),
        _ => Vec::new(),
    }
}

fn day_of_index(n: i64, o: &HoursOptions) -> Option<usize> {
    let i = n.checked_sub(o.day_base as i64)?;
    if !(0..7).contains(&i) {
        return None;
    }
    let i = i as usize;
    Some(if o.sunday_first { (i + 6) % 7 } else { i })
}

/// The days from `a` to `b`, wrapping past Sunday.
fn day_span(a: usize, b: usize) -> Vec<usize> {
    let mut out = vec![a];
    let mut d = a;
    while d != b && out.len() < 7 {
        d = (d + 1) % 7;
        out.push(d);
    }
    out
}

/// A time of day as `9:00`, `09:00:00`, `9.30`, `9h30`, `0930`, `9am`, `5:30 PM`
/// (minutes since midnight; `24:00` is 1440).
pub fn parse_time(s: &str) -> Option<u16> {
    let s = s.trim().to_lowercase();
    // ISO times with a date or zone (`T09:00:00+01:00`) keep their clock part.
    let s = match s.find('t') {
        Some(i) if s[i + 1..].starts_with(|c: char| c.is_ascii_digit()) => &s[i + 1..],
        _ => &s,
    };
    let toks = lex(s, Lang::En);
    let mut times = toks.iter().filter_map(|t| match t {
        Tok::Time(t) => Some(*t),
        _ => None,
    });
    let t = times.next()?;
    Some(match t.ampm {
        Some(pm) => to_24(t, pm)?,
        None => t.minutes(),
    })
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct Time {
    hour: u16,
    minute: u16,
    /// Some(true) for pm, Some(false) for am.
    ampm: Option<bool>,
    /// A named time (midnight, noon): the same in 12- and 24-hour text.
    named: bool,
}

impl Time {
    fn minutes(self) -> u16 {
        self.hour * 60 + self.minute
    }
}

fn to_24(t: Time, pm: bool) -> Option<u16> {
    if t.hour > 12 || t.named {
        return (t.hour <= 24).then(|| t.minutes());
    }
    let h = match (t.hour, pm) {
        (12, false) | (0, false) => 0,
        (12, true) | (0, true) => 12,
        (h, false) => h,
        (h, true) => h + 12,
    };
    Some(h * 60 + t.minute)
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Day(u8),
    Named(&'static [u8]),
    Time(Time),
    Dash,
    List,
    Closed,
    AllDay,
    /// A line or rule break (`;`, `|`, newline).
    Break,
}

/// Times of day by name (`24` is the end of the day).
const NAMED_TIMES: &[(&str, u16)] = &[
    ("midnight", 24),
    ("midday", 12),
    ("noon", 12),
    ("mitternacht", 24),
    ("mittag", 12),
    ("minuit", 24),
    ("midi", 12),
    ("mezzanotte", 24),
    ("mezzogiorno", 12),
    ("medianoche", 24),
    ("mediodía", 12),
];

/// Whether `rest` starts with the word or phrase `w` (followed by no letter).
fn starts_word(rest: &str, w: &str) -> bool {
    rest.starts_with(w)
        && rest[w.len()..]
            .chars()
            .next()
            .is_none_or(|c| !c.is_alphanumeric())
}

/// Lexes lowercased text into day, time, range and list tokens (other words and
/// punctuation are dropped).
fn lex(text: &str, lang: Lang) -> Vec<Tok> {
    let mut out = Vec::new();
    let mut i = 0;
    let prev_alnum = |i: usize| {
        text[..i]
            .chars()
            .next_back()
            .is_some_and(char::is_alphanumeric)
    };
    while i < text.len() && out.len() < MAX_TOKENS {
        let rest = &text[i..];
        let c = rest.chars().next().expect("non-empty");
        let word_start = !prev_alnum(i);
        if word_start {
            if let Some((w, hour)) = NAMED_TIMES.iter().find(|(w, _)| starts_word(rest, w)) {
                out.push(Tok::Time(Time {
                    hour: *hour,
                    minute: 0,
                    ampm: None,
                    named: true,
                }));
                i += w.len();
                continue;
            }
            if let Some(p) = all_day_words(lang)
                .iter()
                .chain(all_day_words(Lang::En))
                .find(|p| starts_word(rest, p))
            {
                out.push(Tok::AllDay);
                i += p.len();
                continue;
            }
        }
        if c.is_ascii_digit() {
            if let Some((t, len)) = lex_time(rest) {
                if word_start {
                    out.push(Tok::Time(t));
                }
                i += len;
                continue;
            }
            let len = rest
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(rest.len());
            i += len;
            continue;
        }
        if c.is_alphabetic() {
            if word_start {
                if let Some(p) = named_ranges(lang)
                    .iter()
                    .find(|(p, _)| starts_word(rest, p))
                {
                    out.push(Tok::Named(p.1));
                    i += p.0.len();
                    continue;
                }
                if let Some(p) = range_words(lang)
                    .iter()
                    .find(|p| p.contains(' ') && starts_word(rest, p))
                {
                    out.push(Tok::Dash);
                    i += p.len();
                    continue;
                }
            }
            let len = rest
                .find(|c: char| !(c.is_alphabetic() || c == '\'' || c == '/' && lang == Lang::Nl))
                .unwrap_or(rest.len());
            let word = &rest[..len];
            i += len;
            if !word_start {
                continue;
            }
            let word_trim = word.trim_end_matches('\'');
            if let Some(d) = day_table(lang).iter().find(|(k, _)| *k == word_trim) {
                out.push(Tok::Day(d.1));
            } else if let Some(d) = (lang != Lang::En)
                .then(|| DAYS.iter().position(|d| d.eq_ignore_ascii_case(word_trim)))
                .flatten()
            {
                // OSM day codes (`Tu`, `Su`) in any language.
                out.push(Tok::Day(d as u8));
            } else if range_words(lang).contains(&word_trim) {
                out.push(Tok::Dash);
            } else if list_words(lang).contains(&word_trim) {
                out.push(Tok::List);
            } else if closed_words(lang).contains(&word_trim)
                || (lang != Lang::En && word_trim == "closed")
            {
                out.push(Tok::Closed);
            }
            // A trailing dot of an abbreviation (`Lun.`) is dropped below.
            continue;
        }
        match c {
            '-' | '–' | '—' | '―' | '‒' | '~' | '〜' => out.push(Tok::Dash),
            ',' | '&' | '+' | '/' => out.push(Tok::List),
            ';' | '|' | '\n' | '\r' => out.push(Tok::Break),
            _ => {}
        }
        i += c.len_utf8();
    }
    out
}

/// A time at the start of `s`: `9`, `09`, `0930`, `9:30`, `9.30`, `9h30`, `9h`,
/// `9:30:00`, each with an optional `am`/`pm` (`a.m.`, ` PM`).
fn lex_time(s: &str) -> Option<(Time, usize)> {
    let b = s.as_bytes();
    let digits = b.iter().take_while(|c| c.is_ascii_digit()).count();
    let (hour, minute, mut len) = match digits {
        1 | 2 => {
            let hour: u16 = s[..digits].parse().ok()?;
            let mut len = digits;
            let mut minute = 0;
            if let (Some(sep), true) = (b.get(len), b.len() >= len + 3) {
                if matches!(sep, b':' | b'.' | b'h' | b'H')
                    && b[len + 1].is_ascii_digit()
                    && b[len + 2].is_ascii_digit()
                    && b.get(len + 3).is_none_or(|c| !c.is_ascii_digit())
                {
                    minute = s[len + 1..len + 3].parse().ok()?;
                    len += 3;
                    // Seconds.
                    if b.get(len) == Some(&b':')
                        && b.get(len + 1).is_some_and(u8::is_ascii_digit)
                        && b.get(len + 2).is_some_and(u8::is_ascii_digit)
                    {
                        len += 3;
                    }
                }
            }
            if minute == 0 && len == digits && b.get(len) == Some(&b'h') {
                // `9h` (French); not `9hrs`.
                if b.get(len + 1).is_none_or(|c| !c.is_ascii_alphabetic()) {
                    len += 1;
                }
            }
            (hour, minute, len)
        }
        4 => {
            let hour: u16 = s[..2].parse().ok()?;
            let minute: u16 = s[2..4].parse().ok()?;
            (hour, minute, 4)
        }
        _ => return None,
    };
    if hour > 24 || minute > 59 || (hour == 24 && minute > 0) {
        return None;
    }
    // Not part of a date or a number (`12.05.2024`, `3.5km`).
    if b.get(len).is_some_and(|c| {
        c.is_ascii_digit() || *c == b'.' && b.get(len + 1).is_some_and(u8::is_ascii_digit)
    }) {
        return None;
    }
    let mut ampm = None;
    let rest = &s[len..];
    let trimmed = rest.trim_start_matches(' ');
    let skip = rest.len() - trimmed.len();
    for (w, pm) in [
        ("a.m.", false),
        ("p.m.", true),
        ("a.m", false),
        ("p.m", true),
        ("am", false),
        ("pm", true),
    ] {
        if trimmed.starts_with(w)
            && trimmed[w.len()..]
                .chars()
                .next()
                .is_none_or(|c| !c.is_alphanumeric())
        {
            ampm = Some(pm);
            len += skip + w.len();
            break;
        }
    }
    if ampm.is_none()
        && b.get(len).is_some_and(|c| c.is_ascii_alphabetic())
        && digits != 1
        && digits != 2
    {
        return None;
    }
    Some((
        Time {
            hour,
            minute,
            ampm,
            named: false,
        },
        len,
    ))
}

/// Adds the hours in `text`; `default_days` apply to times before any day name (the
/// value of a day-keyed object).
fn add_text(oh: &mut OpeningHours, text: &str, lang: Lang, default_days: Option<&[usize]>) {
    if text.len() > MAX_HOURS_TEXT {
        return;
    }
    let lower = text.to_lowercase();
    let toks = lex(&lower, lang);
    let twelve = toks
        .iter()
        .any(|t| matches!(t, Tok::Time(Time { ampm: Some(_), .. })));
    let convert = |t: Time, is_close: bool| -> Option<u16> {
        if twelve {
            to_24(t, t.ampm.unwrap_or(is_close))
        } else {
            Some(t.minutes())
        }
    };
    let mut days: Vec<usize> = Vec::new();
    let mut ranges: Vec<(u16, u16)> = Vec::new();
    let mut closed = false;
    let mut all_day = false;
    let mut collecting_days = true;
    let mut last_day: Option<usize> = None;
    let mut prev: Option<&Tok> = None;
    let mut open: Option<Time> = None;
    let mut flush = |days: &mut Vec<usize>,
                     ranges: &mut Vec<(u16, u16)>,
                     closed: &mut bool,
                     all_day: &mut bool| {
        let target: Vec<usize> = if days.is_empty() {
            default_days.map(<[usize]>::to_vec).unwrap_or_default()
        } else {
            std::mem::take(days)
        };
        if *all_day && ranges.is_empty() && !*closed {
            // "24/7" with no days: every day.
            let target = if target.is_empty() {
                (0..7).collect()
            } else {
                target.clone()
            };
            for &d in &target {
                oh.add_range(d, 0, 24 * 60);
            }
        } else {
            for &d in &target {
                if *closed && ranges.is_empty() {
                    oh.set_closed(d);
                }
                for &(a, b) in ranges.iter() {
                    oh.add_range(d, a, b);
                }
            }
        }
        ranges.clear();
        *closed = false;
        *all_day = false;
    };
    for t in &toks {
        match t {
            Tok::Day(_) | Tok::Named(_) => {
                if !collecting_days {
                    flush(&mut days, &mut ranges, &mut closed, &mut all_day);
                    collecting_days = true;
                    last_day = None;
                }
                match t {
                    Tok::Day(d) => {
                        let d = *d as usize;
                        match (prev, last_day) {
                            (Some(Tok::Dash), Some(a)) if a != d => {
                                days.extend(day_span(a, d).into_iter().skip(1))
                            }
                            _ => days.push(d),
                        }
                        last_day = Some(d);
                    }
                    Tok::Named(ds) => {
                        days.extend(ds.iter().map(|d| *d as usize));
                        last_day = None;
                    }
                    _ => unreachable!(),
                }
                open = None;
            }
            Tok::Time(time) => {
                if days.is_empty() && default_days.is_none() {
                    // Times before any day (a heading, a date) are ignored.
                    prev = Some(t);
                    continue;
                }
                collecting_days = false;
                match (open, prev) {
                    (Some(a), Some(Tok::Dash)) => {
                        if let (Some(a), Some(b)) = (convert(a, false), convert(*time, true)) {
                            // Opening at midnight is the start of the day.
                            ranges.push((a % (24 * 60), b));
                        }
                        open = None;
                    }
                    _ => open = Some(*time),
                }
            }
            Tok::Closed => {
                if collecting_days && (!days.is_empty() || default_days.is_some()) {
                    closed = true;
                    collecting_days = false;
                }
            }
            Tok::AllDay => {
                all_day = true;
                collecting_days = false;
            }
            Tok::Break => {
                open = None;
            }
            Tok::Dash | Tok::List => {}
        }
        prev = Some(t);
    }
    flush(&mut days, &mut ranges, &mut closed, &mut all_day);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn text(s: &str) -> Option<String> {
        from_texts(&[s.to_string()], &HoursOptions::default())
    }

    fn text_in(s: &str, lang: &str) -> Option<String> {
        let o = HoursOptions {
            lang: Lang::parse(lang).unwrap(),
            ..Default::default()
        };
        from_texts(&[s.to_string()], &o)
    }

    fn json(v: Value) -> Option<String> {
        from_json(&v, &HoursOptions::default())
    }

    #[test]
    fn output_format_groups_days() {
        let mut oh = OpeningHours::default();
        for d in 0..5 {
            oh.add_range(d, 9 * 60, 17 * 60);
        }
        oh.add_range(5, 10 * 60, 14 * 60);
        oh.set_closed(6);
        assert_eq!(
            oh.as_opening_hours(),
            "Mo-Fr 09:00-17:00; Sa 10:00-14:00; Su closed"
        );
        let mut all = OpeningHours::default();
        for d in 0..7 {
            all.add_range(d, 0, 24 * 60);
        }
        assert_eq!(all.as_opening_hours(), "Mo-Su 00:00-24:00");
    }

    #[test]
    fn output_several_ranges_midnight_and_gaps() {
        let mut oh = OpeningHours::default();
        oh.add_range(0, 13 * 60, 17 * 60);
        oh.add_range(0, 8 * 60, 12 * 60);
        oh.add_range(2, 8 * 60, 12 * 60);
        oh.add_range(4, 18 * 60, 2 * 60);
        oh.add_range(3, 10 * 60, 0);
        oh.add_range(1, 9 * 60, 9 * 60);
        assert_eq!(
            oh.as_opening_hours(),
            "Mo 08:00-12:00,13:00-17:00; We 08:00-12:00; Th 10:00-24:00; Fr 18:00-24:00; Sa 00:00-02:00"
        );
        assert_eq!(OpeningHours::default().as_opening_hours(), "");
    }

    #[test]
    fn schema_org_specification() {
        let v = json!([
            {"@type": "OpeningHoursSpecification", "dayOfWeek": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"], "opens": "09:00", "closes": "18:00"},
            {"@type": "OpeningHoursSpecification", "dayOfWeek": "https://schema.org/Saturday", "opens": "10:00:00", "closes": "14:00:00"},
            {"@type": "OpeningHoursSpecification", "dayOfWeek": "http://schema.org/Sunday", "opens": "00:00", "closes": "00:00"}
        ]);
        assert_eq!(
            json(v).as_deref(),
            Some("Mo-Fr 09:00-18:00; Sa 10:00-14:00")
        );
        let single = json!({"dayOfWeek": "Sunday", "opens": "10:00", "closes": "16:00"});
        assert_eq!(json(single).as_deref(), Some("Su 10:00-16:00"));
        let store = json!({"@type": "Store", "openingHoursSpecification": {"dayOfWeek": ["Sa", "Su"], "opens": "8:00", "closes": "23:59"}});
        assert_eq!(json(store).as_deref(), Some("Sa-Su 08:00-24:00"));
    }

    #[test]
    fn schema_org_opening_hours_strings() {
        assert_eq!(
            text("Mo-Fr 09:00-18:00").as_deref(),
            Some("Mo-Fr 09:00-18:00")
        );
        assert_eq!(
            text("Mo,Tu,We 10:00-20:00 Th-Sa 10:00-21:00").as_deref(),
            Some("Mo-We 10:00-20:00; Th-Sa 10:00-21:00")
        );
        assert_eq!(
            json(json!([
                "Mo-Fr 08:00-12:00, 13:00-17:00",
                "Sa 09:00-12:00",
                "Su closed"
            ]))
            .as_deref(),
            Some("Mo-Fr 08:00-12:00,13:00-17:00; Sa 09:00-12:00; Su closed")
        );
        assert_eq!(
            text("Mo-Su 00:00-24:00").as_deref(),
            Some("Mo-Su 00:00-24:00")
        );
        assert_eq!(
            text("Fr-Mo 10:00-16:00").as_deref(),
            Some("Mo 10:00-16:00; Fr-Su 10:00-16:00")
        );
    }

    #[test]
    fn free_text_english() {
        assert_eq!(
            text("Monday - Friday: 9am - 5:30pm\nSaturday: 10am-2pm\nSunday: Closed").as_deref(),
            Some("Mo-Fr 09:00-17:30; Sa 10:00-14:00; Su closed")
        );
        assert_eq!(
            text("Mon to Thu 9:00 - 17:00, Fri 9:00 - 16:00").as_deref(),
            Some("Mo-Th 09:00-17:00; Fr 09:00-16:00")
        );
        assert_eq!(
            text("Open daily 7am to 11pm").as_deref(),
            Some("Mo-Su 07:00-23:00")
        );
        assert_eq!(
            text("Weekdays 8am-6pm, Weekends 10-4pm").as_deref(),
            Some("Mo-Fr 08:00-18:00; Sa-Su 10:00-16:00")
        );
        assert_eq!(text("Open 24/7").as_deref(), Some("Mo-Su 00:00-24:00"));
        assert_eq!(
            text("Mon, Wed & Fri 12 PM - 8 PM").as_deref(),
            Some("Mo 12:00-20:00; We 12:00-20:00; Fr 12:00-20:00")
        );
        assert_eq!(
            text("Sunday 11:30 a.m. - 6 p.m.").as_deref(),
            Some("Su 11:30-18:00")
        );
        assert_eq!(
            text("Saturday 10am - Midnight").as_deref(),
            Some("Sa 10:00-24:00")
        );
        assert_eq!(
            text("Sunday midday - 18:00").as_deref(),
            Some("Su 12:00-18:00")
        );
        assert_eq!(
            text("Sunday 9am - midday").as_deref(),
            Some("Su 09:00-12:00")
        );
    }

    #[test]
    fn free_text_as_all_the_places_reads_it() {
        for (input, expected) in [
            (
                "Monday: 08:00 - Midday, 14:00 - Midnight   tue-sat: Midnight-0800",
                "Mo 08:00-12:00,14:00-24:00; Tu-Sa 00:00-08:00",
            ),
            (
                "Sunday to Thursday 0800-1400, Wed-Sat 1300-1800",
                "Mo-Tu 08:00-14:00; We-Th 08:00-14:00,13:00-18:00; Fr-Sa 13:00-18:00; Su 08:00-14:00",
            ),
            (
                "Monday to Thursday 7am to 7pm, Friday 12am to 11:59pm, Weekends CLOSED",
                "Mo-Th 07:00-19:00; Fr 00:00-24:00; Sa-Su closed",
            ),
            (
                "MON-THU: 8:00 - 8:00 PM FRI: 8:00 AM - 10:00 PM SAT: 9:00 AM - 10:00 PM SUN: 9:00 AM - 8:00 PM",
                "Mo-Th 08:00-20:00; Fr 08:00-22:00; Sa 09:00-22:00; Su 09:00-20:00",
            ),
            (
                "Mo-Tu 06-12,We 14-18:30,Th 09-17,Fr 04-24,Sa-Su 00:00-11:59",
                "Mo-Tu 06:00-12:00; We 14:00-18:30; Th 09:00-17:00; Fr 04:00-24:00; Sa-Su 00:00-11:59",
            ),
            (
                "all days 08:00-13:00; WEEKDAYS 15-18; friday closed",
                "Mo-Th 08:00-13:00,15:00-18:00; Fr closed; Sa-Su 08:00-13:00",
            ),
            ("Monday to Tuesday 0:45 AM to 11:45 PM", "Mo-Tu 00:45-23:45"),
            ("Thurs 2PM-6:30P.M.", "Th 14:00-18:30"),
        ] {
            assert_eq!(text(input).as_deref(), Some(expected), "{input}");
        }
        assert_eq!(
            text_in(
                "lun 08:00-13:00;giorni feriali dalle 14:00 fino alle 18:00; prefestivi 12:00-16:00; domenica chiusi",
                "it"
            )
            .as_deref(),
            Some("Mo 08:00-13:00,14:00-18:00; Tu-Fr 14:00-18:00; Sa 12:00-16:00; Su closed")
        );
    }

    #[test]
    fn free_text_other_languages() {
        assert_eq!(
            text_in("Montag - Freitag: 9:00 - 18:30 Uhr\nSamstag: 9:00 bis 14:00 Uhr\nSonntag: geschlossen", "de").as_deref(),
            Some("Mo-Fr 09:00-18:30; Sa 09:00-14:00; Su closed")
        );
        assert_eq!(
            text_in("Mo.-Fr. 08:00-12:00 und 13:30-18:00, Sa. 08:00-12:00", "de").as_deref(),
            Some("Mo-Fr 08:00-12:00,13:30-18:00; Sa 08:00-12:00")
        );
        assert_eq!(
            text_in("Du lundi au samedi de 9h à 19h, dimanche fermé", "fr").as_deref(),
            Some("Mo-Sa 09:00-19:00; Su closed")
        );
        assert_eq!(
            text_in("Lunes a Viernes 10:00 - 20:00; Sábado 10:00 a 14:00", "es").as_deref(),
            Some("Mo-Fr 10:00-20:00; Sa 10:00-14:00")
        );
        assert_eq!(
            text_in(
                "Lunedì - Venerdì 9:00-13:00 / 15:00-19:00, Domenica chiuso",
                "it"
            )
            .as_deref(),
            Some("Mo-Fr 09:00-13:00,15:00-19:00; Su closed")
        );
        assert_eq!(
            text_in(
                "ma t/m vr 09:00 - 18:00, za 10:00 - 17:00, zo gesloten",
                "nl"
            )
            .as_deref(),
            Some("Mo-Fr 09:00-18:00; Sa 10:00-17:00; Su closed")
        );
        assert_eq!(
            text_in("Pon-Pt 8:00-20:00, Sob 9:00-15:00, Niedz nieczynne", "pl").as_deref(),
            Some("Mo-Fr 08:00-20:00; Sa 09:00-15:00; Su closed")
        );
        assert_eq!(
            text_in(
                "Segunda a Sexta: 08:00 às 18:00, Sábado: 08:00 às 12:00",
                "pt"
            )
            .as_deref(),
            Some("Mo-Fr 08:00-18:00; Sa 08:00-12:00")
        );
        assert_eq!(
            text_in("Пн-Пт 09:00-21:00, Сб-Вс 10:00-18:00", "ru").as_deref(),
            Some("Mo-Fr 09:00-21:00; Sa-Su 10:00-18:00")
        );
        // OSM codes work in any language.
        assert_eq!(
            text_in("Tu-Su 10:00-18:00", "de").as_deref(),
            Some("Tu-Su 10:00-18:00")
        );
    }

    #[test]
    fn day_keyed_objects() {
        assert_eq!(
            json(json!({"monday": "09:00-17:00", "tuesday": "09:00 - 17:00", "wednesday": "closed", "sunday": ""})).as_deref(),
            Some("Mo-Tu 09:00-17:00; We closed")
        );
        assert_eq!(
            json(json!({"mon": {"open": "9:00", "close": "17:00"}, "tue": {"open": "9:00", "close": "17:00"}, "sat": {"open": "10:00", "close": "13:00"}})).as_deref(),
            Some("Mo-Tu 09:00-17:00; Sa 10:00-13:00")
        );
        assert_eq!(
            json(json!({"mondayOpen": "08:00", "mondayClose": "20:00", "fridayOpen": "8am", "fridayClose": "9pm", "id": 3})).as_deref(),
            Some("Mo 08:00-20:00; Fr 08:00-21:00")
        );
        let o = HoursOptions {
            open: Some("_from".into()),
            close: Some("_to".into()),
            ..Default::default()
        };
        assert_eq!(
            from_json(&json!({"sat_from": "10:00", "sat_to": "12:00"}), &o).as_deref(),
            Some("Sa 10:00-12:00")
        );
        assert_eq!(
            json(json!({"Monday": ["08:00-12:00", "13:00-17:00"]})).as_deref(),
            Some("Mo 08:00-12:00,13:00-17:00")
        );
    }

    #[test]
    fn records_with_keys_and_indexes() {
        let o = HoursOptions {
            day: Some("weekday".into()),
            open: Some("start".into()),
            close: Some("end".into()),
            day_base: 1,
            ..Default::default()
        };
        let v = json!([
            {"weekday": 1, "start": "0900", "end": "1700"},
            {"weekday": 2, "start": "09:00", "end": "17:00"},
            {"weekday": 7, "start": "closed", "end": "closed"}
        ]);
        assert_eq!(
            from_json(&v, &o).as_deref(),
            Some("Mo-Tu 09:00-17:00; Su closed")
        );
        let sunday0 = HoursOptions {
            sunday_first: true,
            ..Default::default()
        };
        let v = json!([{"day": 0, "open": 1000, "close": 1600}, {"day": 1, "open": "9:00", "close": "18:00"}]);
        assert_eq!(
            from_json(&v, &sunday0).as_deref(),
            Some("Mo 09:00-18:00; Su 10:00-16:00")
        );
        let v = json!([{"day": "Monday", "hours": "9am-5pm"}]);
        assert_eq!(json(v).as_deref(), Some("Mo 09:00-17:00"));
    }

    #[test]
    fn bad_input_gives_nothing() {
        assert_eq!(text(""), None);
        assert_eq!(text("call us for opening times"), None);
        assert_eq!(text("12:00-13:00"), None);
        assert_eq!(json(json!(42)), None);
        assert_eq!(
            json(json!({"dayOfWeek": "Funday", "opens": "9", "closes": "5"})),
            None
        );
        assert_eq!(
            json(json!({"dayOfWeek": "Monday", "opens": "nine", "closes": "5pm"})),
            None
        );
        assert_eq!(text(&"Mo 09:00-17:00 ".repeat(5000)), None);
        assert_eq!(text("Mo 25:00-26:00"), None);
        // Deep nesting is cut off, not recursed into.
        let mut deep = json!("Mo 09:00-17:00");
        for _ in 0..100 {
            deep = json!([deep]);
        }
        assert_eq!(json(deep), None);
    }

    #[test]
    fn times() {
        assert_eq!(parse_time("9:00"), Some(540));
        assert_eq!(parse_time("09:30:00"), Some(570));
        assert_eq!(parse_time("5:30 PM"), Some(17 * 60 + 30));
        assert_eq!(parse_time("12am"), Some(0));
        assert_eq!(parse_time("12 p.m."), Some(720));
        assert_eq!(parse_time("1730"), Some(17 * 60 + 30));
        assert_eq!(parse_time("T08:00:00+01:00"), Some(480));
        assert_eq!(parse_time("noon"), Some(720));
        assert_eq!(parse_time("tea time"), None);
    }

    #[test]
    fn options_compile() {
        assert!(HoursOptions::compile("h", &json!(false)).unwrap().is_none());
        let o = HoursOptions::compile("h", &json!({"days": "de", "day": "d"}))
            .unwrap()
            .unwrap();
        assert_eq!(o.lang, Lang::De);
        let e = HoursOptions::compile("h", &json!({"days": "xx"})).unwrap_err();
        assert_eq!(e.path, "h.days");
        let e = HoursOptions::compile("h", &json!({"bogus": 1})).unwrap_err();
        assert_eq!(e.path, "h.bogus");
        assert!(HoursOptions::compile("h", &json!("yes")).is_err());
    }
}
