//! The five fields of a cron expression: their ranges and names, and the parser of one
//! field into a bit set.

use super::{shown, CronError};

pub(super) struct FieldDef {
    pub(super) name: &'static str,
    pub(super) min: u32,
    pub(super) max: u32,
    pub(super) names: &'static [&'static str],
}

pub(super) const MINUTE: FieldDef = FieldDef {
    name: "minute",
    min: 0,
    max: 59,
    names: &[],
};
pub(super) const HOUR: FieldDef = FieldDef {
    name: "hour",
    min: 0,
    max: 23,
    names: &[],
};
pub(super) const DAY: FieldDef = FieldDef {
    name: "day-of-month",
    min: 1,
    max: 31,
    names: &[],
};
pub(super) const MONTH: FieldDef = FieldDef {
    name: "month",
    min: 1,
    max: 12,
    names: &[
        "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
    ],
};
pub(super) const WEEKDAY: FieldDef = FieldDef {
    name: "day-of-week",
    min: 0,
    max: 7,
    names: &["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"],
};

/// Parses one field into a bit set of the values it selects.
pub(super) fn parse_field(text: &str, def: &FieldDef) -> Result<u64, CronError> {
    let err =
        |msg: String| CronError::Field(format!("{} field {:?}: {msg}", def.name, shown(text)));
    let mut bits = 0u64;
    for item in text.split(',') {
        if item.is_empty() {
            return Err(err("empty list item".into()));
        }
        let (base, step) = match item.split_once('/') {
            Some((base, step)) => {
                let step: u32 = step
                    .parse()
                    .map_err(|_| err(format!("step {step:?} is not a number")))?;
                if step == 0 {
                    return Err(err("step must be at least 1".into()));
                }
                (base, Some(step))
            }
            None => (item, None),
        };
        let (lo, hi) = if base == "*" {
            (def.min, def.max)
        } else if let Some((a, b)) = base.split_once('-') {
            let (a, b) = (value(a, def).map_err(err)?, value(b, def).map_err(err)?);
            if a > b {
                return Err(err(format!(
                    "range {base:?} runs backwards; write it as two ranges"
                )));
            }
            (a, b)
        } else {
            let a = value(base, def).map_err(err)?;
            // `a/n` means from `a` to the end of the field.
            (a, if step.is_some() { def.max } else { a })
        };
        let step = step.unwrap_or(1);
        let mut v = lo;
        while v <= hi {
            bits |= 1 << v;
            v += step;
        }
    }
    Ok(bits)
}

/// One value of a field: a number in range or a name.
pub(super) fn value(text: &str, def: &FieldDef) -> Result<u32, String> {
    if let Ok(n) = text.parse::<u32>() {
        if n < def.min || n > def.max {
            return Err(format!("{n} is out of range {}-{}", def.min, def.max));
        }
        return Ok(n);
    }
    let upper = text.to_ascii_uppercase();
    if let Some(i) = def.names.iter().position(|n| *n == upper) {
        return Ok(i as u32 + if def.names.len() == 12 { 1 } else { 0 });
    }
    if matches!(upper.as_str(), "L" | "W" | "?") || upper.contains('#') || upper.ends_with('L') {
        return Err(format!(
            "{:?} (a Quartz extension) is not supported",
            shown(text)
        ));
    }
    Err(if def.names.is_empty() {
        format!("{:?} is not a number", shown(text))
    } else {
        format!(
            "{text:?} is not a number or a name ({})",
            def.names.join(", ")
        )
    })
}
