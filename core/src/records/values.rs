//! Small checked values shared by several record types: amounts,
//! percentages, links, e-mail addresses, phone numbers and UN document
//! symbols.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer, de};
use serde_json::Value;

use super::{
    schema::{FromJson, Path, Reader, quote},
    shape::{Describe, Shape},
};

/// An amount of money: a finite number, zero or more. Whole amounts are
/// stored as JSON integers, others as decimals.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Amount(f64);

impl Amount {
    /// The amount as a number.
    pub fn get(self) -> f64 {
        self.0
    }
}

/// Writes whole numbers as JSON integers, so `1000000` stays `1000000`.
fn serialize_number<S: Serializer>(n: f64, s: S) -> Result<S::Ok, S::Error> {
    // 2^53: beyond it f64 no longer holds every integer.
    if n.fract() == 0.0 && n.abs() <= 9_007_199_254_740_992.0 {
        s.serialize_i64(n as i64)
    } else {
        s.serialize_f64(n)
    }
}

impl Serialize for Amount {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serialize_number(self.0, s)
    }
}

impl<'de> Deserialize<'de> for Amount {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let n = f64::deserialize(d)?;
        if n.is_finite() && n >= 0.0 {
            Ok(Self(n))
        } else {
            Err(de::Error::custom(format!(
                "{n} is not an amount of zero or more"
            )))
        }
    }
}

impl Describe for Amount {
    fn shape() -> Shape {
        Shape::Number { integer: false }
    }
}

impl FromJson for Amount {
    fn from_json(value: Value, at: &Path, r: &mut Reader<'_>) -> Option<Self> {
        let n = r.number(value, at)?;
        if n < 0.0 {
            r.error(at, format!("{n} is negative; an amount is zero or more"));
            return None;
        }
        Some(Self(n))
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A percentage from 0 to 100 (e.g. the share of a programme that goes to
/// local women's organizations).
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Percent(f64);

impl Percent {
    /// The percentage as a number from 0 to 100.
    pub fn get(self) -> f64 {
        self.0
    }
}

impl Serialize for Percent {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serialize_number(self.0, s)
    }
}

impl<'de> Deserialize<'de> for Percent {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let n = f64::deserialize(d)?;
        if (0.0..=100.0).contains(&n) {
            Ok(Self(n))
        } else {
            Err(de::Error::custom(format!(
                "{n} is not a percentage from 0 to 100"
            )))
        }
    }
}

impl Describe for Percent {
    fn shape() -> Shape {
        Shape::Number { integer: false }
    }
}

impl FromJson for Percent {
    fn from_json(value: Value, at: &Path, r: &mut Reader<'_>) -> Option<Self> {
        let n = r.number(value, at)?;
        if !(0.0..=100.0).contains(&n) {
            r.error(
                at,
                format!("{n} is not a percentage; give a number from 0 to 100 (e.g. 15 for 15%)"),
            );
            return None;
        }
        Some(Self(n))
    }
}

/// Declares a string newtype checked by `parse`, with serde and
/// [`FromJson`] going through the same check; its shape is one line of text
/// in an HTML input of type `$input`.
macro_rules! checked_string {
    ($(#[$meta:meta])* $name:ident, $input:literal, $parse:expr) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// Checks `text`; the message says what is wrong.
            pub fn parse(text: &str) -> Result<Self, String> {
                let check: fn(&str) -> Result<(), String> = $parse;
                let text = text.trim();
                check(text).map(|()| Self(text.to_owned()))
            }

            /// The checked text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = String::deserialize(d)?;
                Self::parse(&text).map_err(de::Error::custom)
            }
        }

        impl Describe for $name {
            fn shape() -> Shape {
                Shape::Text { input: $input }
            }
        }

        impl FromJson for $name {
            fn from_json(value: Value, at: &Path, r: &mut Reader<'_>) -> Option<Self> {
                r.parse(value, at, Self::parse)
            }

            fn distinct_key(&self) -> Option<String> {
                Some(self.0.clone())
            }
        }
    };
}

checked_string!(
    /// A web link: `https://…` or `http://…`, without spaces.
    Url,
    "url",
    |text| {
        let rest = text
            .strip_prefix("https://")
            .or_else(|| text.strip_prefix("http://"));
        match rest {
            Some(rest) if !rest.is_empty() && !rest.contains(char::is_whitespace) => Ok(()),
            _ => Err(format!(
                "{} is not a web link; write it in full, starting with https:// (or http://)",
                quote(text)
            )),
        }
    }
);

checked_string!(
    /// An e-mail address, sanity-checked: one `@`, something on each side,
    /// no spaces. (Whether it is deliverable only sending can tell.)
    Email,
    "email",
    |text| {
        let well_formed = match text.split_once('@') {
            Some((local, domain)) => {
                !local.is_empty()
                    && !domain.is_empty()
                    && !domain.contains('@')
                    && !text.contains(char::is_whitespace)
            }
            None => false,
        };
        if well_formed {
            Ok(())
        } else {
            Err(format!(
                "{} is not an e-mail address; write it as name@example.org",
                quote(text)
            ))
        }
    }
);

checked_string!(
    /// A phone number in international format: digits, spaces and
    /// `+ - ( ) . /`, at least six digits.
    Phone,
    "tel",
    |text| {
        let allowed = text
            .chars()
            .all(|c| c.is_ascii_digit() || " +-()./".contains(c));
        let digits = text.chars().filter(char::is_ascii_digit).count();
        if allowed && digits >= 6 {
            Ok(())
        } else {
            Err(format!(
                "{} is not a phone number; write it in international format, e.g. +44 20 7946 0000",
                quote(text)
            ))
        }
    }
);

checked_string!(
    /// A UN document symbol such as `S/2024/123`, `A/RES/78/1` or
    /// `S/PRST/2023/4`: capital letters and digits in parts separated by `/`.
    UnSymbol,
    "text",
    |text| {
        let parts: Vec<&str> = text.split('/').collect();
        let well_formed = parts.len() >= 2
            && parts.first().is_some_and(|p| p.starts_with(|c: char| c.is_ascii_uppercase()))
            && parts.iter().all(|part| {
                !part.is_empty() && part.chars().all(|c| c.is_ascii_alphanumeric() || ".-()".contains(c))
            });
        if well_formed {
            Ok(())
        } else {
            Err(format!(
                "{} is not a UN document symbol; write it as on the document, e.g. S/2024/123",
                quote(text)
            ))
        }
    }
);

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn amounts_keep_whole_numbers_whole() {
        assert_eq!(
            serde_json::to_value(Amount(1_000_000.0)).unwrap(),
            json!(1_000_000)
        );
        assert_eq!(serde_json::to_value(Amount(12.5)).unwrap(), json!(12.5));
        assert!(serde_json::from_value::<Amount>(json!(-1)).is_err());
        assert!(serde_json::from_value::<Percent>(json!(101)).is_err());
    }

    #[test]
    fn links_need_a_scheme() {
        assert!(Url::parse("https://example.org/nap.pdf").is_ok());
        assert!(Url::parse("http://example.org").is_ok());
        assert!(
            Url::parse("example.org")
                .unwrap_err()
                .contains("is not a web link")
        );
        assert!(Url::parse("https://").is_err());
        assert!(Url::parse("https://example.org/a b").is_err());
        assert!(Url::parse("ftp://example.org").is_err());
    }

    #[test]
    fn emails_are_sanity_checked() {
        assert!(Email::parse("focal.point@example.org").is_ok());
        for bad in [
            "focal.point",
            "@example.org",
            "a@",
            "a@b@c",
            "a b@example.org",
        ] {
            assert!(
                Email::parse(bad)
                    .unwrap_err()
                    .contains("is not an e-mail address"),
                "{bad}"
            );
        }
    }

    #[test]
    fn phones_are_sanity_checked() {
        assert!(Phone::parse("+44 20 7946 0000").is_ok());
        assert!(Phone::parse("(061) 000-000").is_ok());
        assert!(Phone::parse("call me").is_err());
        assert!(Phone::parse("+1 23").is_err());
    }

    #[test]
    fn un_symbols_are_checked() {
        for good in [
            "S/2024/123",
            "A/RES/78/1",
            "S/PRST/2023/4",
            "A/78/100/Add.1",
        ] {
            assert!(UnSymbol::parse(good).is_ok(), "{good}");
        }
        for bad in ["2024/123", "S 2024 123", "S//2024", "communiqué"] {
            assert!(UnSymbol::parse(bad).is_err(), "{bad}");
        }
    }
}
