//! Calendar dates, periods and years.
//!
//! Dates are written `YYYY-MM-DD` and must exist (no 30 February, 29 February
//! only in leap years). Dates and years lie in 1945 (the founding of the UN)
//! to 2100: anything outside is a typing mistake, not a plan.

use std::{fmt, ops::RangeInclusive};

use serde::{Deserialize, Deserializer, Serialize, Serializer, de};
use serde_json::Value;
use time::Month;

use super::{
    schema::{FromJson, Path, Reader, Rules, describe, quote, schema},
    shape::{Describe, Shape},
};

/// The years a date or year may be in.
pub const YEARS: RangeInclusive<i32> = 1945..=2100;

/// A calendar day, `YYYY-MM-DD` in JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Date(time::Date);

impl Date {
    /// Parses `YYYY-MM-DD`, checking that the day exists and lies in [`YEARS`].
    pub fn parse(text: &str) -> Result<Self, String> {
        let well_formed = text.len() == 10
            && text.bytes().enumerate().all(|(i, b)| match i {
                4 | 7 => b == b'-',
                _ => b.is_ascii_digit(),
            });
        let number =
            |range: std::ops::Range<usize>| text.get(range).and_then(|s| s.parse::<u16>().ok());
        let (true, Some(year), Some(month), Some(day)) =
            (well_formed, number(0..4), number(5..7), number(8..10))
        else {
            return Err(format!(
                "{} is not a date; write YYYY-MM-DD, e.g. 2024-03-08",
                quote(text)
            ));
        };
        let year = i32::from(year);
        let Some(month) = u8::try_from(month)
            .ok()
            .and_then(|m| Month::try_from(m).ok())
        else {
            return Err(format!(
                "{} is not a date: there is no month {month:02}",
                quote(text)
            ));
        };
        let Some(date) = u8::try_from(day)
            .ok()
            .and_then(|day| time::Date::from_calendar_date(year, month, day).ok())
        else {
            let length = month.length(year);
            return Err(format!(
                "{} is not a date: {month} {year} has {length} days",
                quote(text)
            ));
        };
        if !YEARS.contains(&year) {
            return Err(format!(
                "{} is outside the years {}–{}",
                quote(text),
                YEARS.start(),
                YEARS.end()
            ));
        }
        Ok(Self(date))
    }

    /// The date as a [`time::Date`].
    pub fn get(self) -> time::Date {
        self.0
    }

    /// The date's year.
    pub fn year(self) -> i32 {
        self.0.year()
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:04}-{:02}-{:02}",
            self.0.year(),
            u8::from(self.0.month()),
            self.0.day()
        )
    }
}

impl Serialize for Date {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Date {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Self::parse(&text).map_err(de::Error::custom)
    }
}

impl Describe for Date {
    fn shape() -> Shape {
        Shape::Date
    }
}

impl FromJson for Date {
    fn from_json(value: Value, at: &Path, r: &mut Reader<'_>) -> Option<Self> {
        r.parse(value, at, Self::parse)
    }
}

schema! {
    /// A span of days, both ends included. Without `end` it is open-ended
    /// (a plan without an end date) or, for a meeting, a single day. The
    /// shorthand `"2021-01-01/2025-12-31"` (ISO 8601 interval) is accepted.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Period {
        /// The first day.
        pub start: Date,
        /// The last day.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub end: Option<Date>,
    }
}

impl Rules for Period {
    fn prepare(value: Value) -> Value {
        let Value::String(text) = &value else {
            return value;
        };
        let mut period = serde_json::Map::new();
        match text.split_once('/') {
            Some((start, end)) => {
                period.insert("start".into(), Value::String(start.trim().to_owned()));
                period.insert("end".into(), Value::String(end.trim().to_owned()));
            }
            None => {
                period.insert("start".into(), Value::String(text.trim().to_owned()));
            }
        }
        Value::Object(period)
    }

    fn apply(&mut self, at: &Path, r: &mut Reader<'_>) {
        if let Some(end) = self.end
            && end < self.start
        {
            let end_at = at.key("end");
            let start_at = at.key("start");
            r.error(
                &end_at,
                format!("{end_at} {end} is before {start_at} {}", self.start),
            );
        }
    }
}

/// A calendar year in [`YEARS`] (a chair year, a reporting year).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub struct Year(i32);

impl Year {
    /// The year as a number.
    pub fn get(self) -> i32 {
        self.0
    }
}

impl TryFrom<i64> for Year {
    type Error = String;

    fn try_from(year: i64) -> Result<Self, String> {
        i32::try_from(year)
            .ok()
            .filter(|y| YEARS.contains(y))
            .map(Self)
            .ok_or_else(|| {
                format!(
                    "{year} is not a year from {} to {}",
                    YEARS.start(),
                    YEARS.end()
                )
            })
    }
}

impl From<Year> for i64 {
    fn from(year: Year) -> i64 {
        i64::from(year.0)
    }
}

impl fmt::Display for Year {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl Describe for Year {
    fn shape() -> Shape {
        Shape::Year
    }
}

impl FromJson for Year {
    fn from_json(value: Value, at: &Path, r: &mut Reader<'_>) -> Option<Self> {
        if !matches!(value, Value::Number(_) | Value::String(_)) {
            r.error(
                at,
                format!("expected a year such as 2024, found {}", describe(&value)),
            );
            return None;
        }
        let year = r.integer(value, at)?;
        Self::try_from(year)
            .map_err(|message| r.error(at, message))
            .ok()
    }

    fn distinct_key(&self) -> Option<String> {
        Some(self.0.to_string())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::records::ValidationContext;

    fn read<T: FromJson>(value: Value) -> Result<T, Vec<String>> {
        let ctx = ValidationContext {
            owner: "ESP".parse().unwrap(),
            default_language: "en".to_owned(),
            limits: crate::limits::Limits::default(),
        };
        let mut r = Reader::new(&ctx);
        let read = T::from_json(value, &Path::root().key("period"), &mut r);
        let errors: Vec<String> = r.into_errors().iter().map(ToString::to_string).collect();
        match read {
            Some(value) if errors.is_empty() => Ok(value),
            _ => Err(errors),
        }
    }

    #[test]
    fn dates_must_exist() {
        assert_eq!(Date::parse("2024-02-29").unwrap().to_string(), "2024-02-29");
        assert_eq!(Date::parse("2000-02-29").unwrap().to_string(), "2000-02-29");
        assert_eq!(
            Date::parse("2023-02-29").unwrap_err(),
            "\"2023-02-29\" is not a date: February 2023 has 28 days"
        );
        assert_eq!(
            Date::parse("2100-02-29").unwrap_err(),
            "\"2100-02-29\" is not a date: February 2100 has 28 days"
        );
        assert_eq!(
            Date::parse("2021-04-31").unwrap_err(),
            "\"2021-04-31\" is not a date: April 2021 has 30 days"
        );
        assert_eq!(
            Date::parse("2021-00-10").unwrap_err(),
            "\"2021-00-10\" is not a date: there is no month 00"
        );
        assert!(
            Date::parse("2021-13-01")
                .unwrap_err()
                .contains("there is no month 13")
        );
        assert!(
            Date::parse("2021-01-00")
                .unwrap_err()
                .contains("January 2021 has 31 days")
        );
    }

    #[test]
    fn dates_must_be_written_yyyy_mm_dd_within_range() {
        for bad in [
            "2021-1-05",
            "05/01/2021",
            "2021-01-05T00:00",
            "+2021-01-0",
            "",
            "２０２１-01-05",
        ] {
            assert!(
                Date::parse(bad)
                    .unwrap_err()
                    .contains("is not a date; write YYYY-MM-DD"),
                "{bad}"
            );
        }
        assert_eq!(
            Date::parse("1900-01-01").unwrap_err(),
            "\"1900-01-01\" is outside the years 1945–2100"
        );
    }

    #[test]
    fn period_end_may_not_precede_start() {
        let err = read::<Period>(json!({"start": "2021-01-01", "end": "2020-01-01"})).unwrap_err();
        assert_eq!(
            err,
            ["period.end: period.end 2020-01-01 is before period.start 2021-01-01"]
        );
        let same_day = read::<Period>(json!({"start": "2021-01-01", "end": "2021-01-01"})).unwrap();
        assert_eq!(same_day.end, Some(same_day.start));
    }

    #[test]
    fn period_shorthand_and_open_end() {
        let period = read::<Period>(json!("2021-01-01/2025-12-31")).unwrap();
        assert_eq!(
            serde_json::to_value(period).unwrap(),
            json!({"start": "2021-01-01", "end": "2025-12-31"})
        );
        let open = read::<Period>(json!({"start": "2021-01-01"})).unwrap();
        assert_eq!(
            serde_json::to_value(open).unwrap(),
            json!({"start": "2021-01-01"})
        );
        let err = read::<Period>(json!({"end": "2021-01-01", "stop": "x"})).unwrap_err();
        assert_eq!(err.len(), 2, "{err:?}");
        assert!(err[0].starts_with("period.start: is required"));
        assert!(err[1].starts_with("period.stop: unknown field; the fields here are: start, end"));
    }

    #[test]
    fn years_are_whole_numbers_in_range() {
        assert_eq!(read::<Year>(json!(2024)).unwrap().get(), 2024);
        assert_eq!(read::<Year>(json!("2024")).unwrap().get(), 2024);
        assert_eq!(
            read::<Year>(json!(1944)).unwrap_err(),
            ["period: 1944 is not a year from 1945 to 2100"]
        );
        assert!(read::<Year>(json!(2024.5)).unwrap_err()[0].contains("expected a whole number"));
        assert!(read::<Year>(json!(true)).unwrap_err()[0].contains("expected a year such as 2024"));
        assert_eq!(serde_json::to_value(Year(2030)).unwrap(), json!(2030));
        assert!(serde_json::from_value::<Year>(json!(3000)).is_err());
    }
}
