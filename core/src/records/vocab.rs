//! The network's shared vocabularies: themes, pillars, progress ratings,
//! regions, language tags and ISO 4217 currencies.
//!
//! Enumerations are declared with `vocabulary!`, which gives each one its
//! kebab-case JSON spelling, a forgiving parser (`"In force"`, `in_force` and
//! `in-force` are the same value) and an error that lists what is allowed.
//! Enumerations that belong to one record type live beside that type.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer, de};
use serde_json::Value;

use super::{
    schema::{FromJson, Path, Reader, quote},
    shape::{Describe, Shape},
};

/// Declares a closed enumeration whose JSON form is a kebab-case string.
/// Its shape ([`Describe`](super::shape::Describe)) is a choice among its
/// values' spellings.
///
/// `what` names one value in messages ("a theme"): `"climate" is not a
/// theme; use one of: …`.
macro_rules! vocabulary {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident ($what:literal) {
            $( $(#[$variant_meta:meta])* $variant:ident = $text:literal ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        $vis enum $name {
            $( $(#[$variant_meta])* $variant, )*
        }

        impl $name {
            /// Every value, in the order documented.
            pub const ALL: &'static [Self] = &[$( Self::$variant ),*];

            /// Every value's JSON spelling ([`Self::as_str`]), in the order
            /// documented.
            pub const VALUES: &'static [&'static str] = &[$( $text ),*];

            /// The JSON spelling.
            pub fn as_str(self) -> &'static str {
                match self {
                    $( Self::$variant => $text, )*
                }
            }

            /// Parses [`Self::as_str`], forgiving case, spaces and underscores.
            pub fn parse(text: &str) -> Option<Self> {
                let wanted = $crate::records::schema::fold(text);
                Self::ALL.iter().copied().find(|value| value.as_str() == wanted)
            }

            /// Why `text` is not a value, and which values there are.
            fn unknown(text: &str) -> String {
                let allowed: Vec<&str> = Self::ALL.iter().map(|value| value.as_str()).collect();
                format!(
                    "{} is not {}; use one of: {}",
                    $crate::records::schema::quote(text),
                    $what,
                    allowed.join(", ")
                )
            }
        }

        impl $crate::records::shape::Describe for $name {
            fn shape() -> $crate::records::shape::Shape {
                $crate::records::shape::Shape::Choice { values: Self::VALUES }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = <String as ::serde::Deserialize>::deserialize(d)?;
                Self::parse(&text).ok_or_else(|| <D::Error as ::serde::de::Error>::custom(Self::unknown(&text)))
            }
        }

        impl $crate::records::schema::FromJson for $name {
            fn from_json(
                value: ::serde_json::Value,
                at: &$crate::records::schema::Path,
                r: &mut $crate::records::schema::Reader<'_>,
            ) -> Option<Self> {
                r.parse(value, at, |text| Self::parse(text).ok_or_else(|| Self::unknown(text)))
            }

            fn distinct_key(&self) -> Option<String> {
                Some(self.as_str().to_owned())
            }
        }
    };
}
pub(crate) use vocabulary;

vocabulary! {
    /// What a plan, practice or programme is about: the objectives of the
    /// network's concept paper. Extend by adding a variant (never rename one:
    /// stored records use the spelling).
    pub enum Theme ("a theme") {
        /// Gender analysis in security assessments and in prevention.
        GenderAnalysis = "gender-analysis",
        /// Women's participation in the security sector (armed forces,
        /// police, justice, border services).
        ParticipationSecuritySector = "participation-security-sector",
        /// Women's participation in peace processes and mediation.
        ParticipationPeaceProcesses = "participation-peace-processes",
        /// Women in senior leadership positions.
        SeniorLeadership = "senior-leadership",
        /// Removing political, economic, social and cultural barriers to
        /// women's empowerment.
        RemovingBarriers = "removing-barriers",
        /// Preventing and countering violent extremism and terrorism.
        ViolentExtremism = "violent-extremism",
        /// Climate change and security.
        ClimateChange = "climate-change",
        /// Conflict-related sexual violence and access to justice for
        /// survivors.
        CrsvJustice = "crsv-justice",
        /// Designing, monitoring and financing National Action Plans.
        NapDesignMonitoringFinancing = "nap-design-monitoring-financing",
        /// Disarmament, arms control and small arms and light weapons.
        DisarmamentSmallArms = "disarmament-small-arms",
        /// Early warning and preventive diplomacy.
        EarlyWarningPreventiveDiplomacy = "early-warning-preventive-diplomacy",
        /// Peacekeeping and peace operations.
        Peacekeeping = "peacekeeping",
        /// Partnerships with civil society, and localization (resources and
        /// decisions close to local women's organizations).
        CivilSocietyPartnerships = "civil-society-partnerships",
        /// Training and capacity building.
        CapacityBuilding = "capacity-building",
    }
}

vocabulary! {
    /// The four pillars of Security Council resolution 1325 (2000).
    pub enum Pillar ("a pillar") {
        /// Women's participation in decision-making on peace and security.
        Participation = "participation",
        /// Protection of women's and girls' rights and bodies.
        Protection = "protection",
        /// Prevention of conflict and of violence against women.
        Prevention = "prevention",
        /// Gender-responsive relief and recovery.
        ReliefAndRecovery = "relief-and-recovery",
    }
}

vocabulary! {
    /// How far a commitment was honoured in a reporting period; the one
    /// scale used by funding progress and by decision follow-ups, so both
    /// can be tallied together.
    pub enum Progress ("a progress rating") {
        /// More was done than committed.
        Exceeded = "exceeded",
        /// The commitment was met.
        Met = "met",
        /// Some, but not enough, progress.
        Limited = "limited",
        /// No progress.
        None = "none",
    }
}

vocabulary! {
    /// Where a member sits: the UN regional groups, plus one value for
    /// organizations whose members span several groups (NATO, OSCE, OIC …).
    pub enum Region ("a region") {
        /// African Group.
        Africa = "africa",
        /// Asia-Pacific Group.
        AsiaPacific = "asia-pacific",
        /// Eastern European Group.
        EasternEurope = "eastern-europe",
        /// Latin American and Caribbean Group (GRULAC).
        LatinAmericaCaribbean = "latin-america-caribbean",
        /// Western European and Others Group (WEOG).
        WesternEuropeOthers = "western-europe-others",
        /// An organization whose members belong to several groups.
        CrossRegional = "cross-regional",
    }
}

/// The six official languages of the United Nations.
pub const UN_LANGUAGES: &[&str] = &["ar", "zh", "en", "fr", "ru", "es"];

/// A BCP 47 language tag in canonical case: a 2–3 letter language, then an
/// optional script (`Latn`), region (`BR`, `419`) and variants; `en`, `fr`,
/// `pt-BR`, `zh-Hant`. Input is case-insensitive and may use `_`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LanguageTag(String);

impl LanguageTag {
    /// Checks and canonicalizes a tag.
    pub fn parse(text: &str) -> Result<Self, String> {
        canonical_language_tag(text.trim()).map(Self).ok_or_else(|| {
            format!(
                "{} is not a language tag; use a BCP 47 tag such as ar, zh, en, fr, ru, es or pt-BR",
                quote(text)
            )
        })
    }

    /// The tag, e.g. `pt-BR`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The language without script or region (`pt` for `pt-BR`).
    pub fn language(&self) -> &str {
        self.0.split('-').next().unwrap_or(&self.0)
    }

    /// Whether the language is one of the six UN languages.
    pub fn is_un_language(&self) -> bool {
        UN_LANGUAGES.contains(&self.language())
    }
}

fn canonical_language_tag(text: &str) -> Option<String> {
    let mut subtags = text.split(['-', '_']);
    let language = subtags.next()?;
    if !(2..=3).contains(&language.len()) || !language.bytes().all(|b| b.is_ascii_alphabetic()) {
        return None;
    }
    let mut canonical = language.to_ascii_lowercase();
    // Subtags must come in order: script, region, then variants.
    let mut stage = 0;
    for subtag in subtags {
        let alpha = subtag.bytes().all(|b| b.is_ascii_alphabetic());
        let digits = subtag.bytes().all(|b| b.is_ascii_digit());
        let alnum = subtag.bytes().all(|b| b.is_ascii_alphanumeric());
        let starts_with_digit = subtag.bytes().next().is_some_and(|b| b.is_ascii_digit());
        let formatted = if stage < 1 && subtag.len() == 4 && alpha {
            stage = 1;
            let mut script = subtag.to_ascii_lowercase();
            script[..1].make_ascii_uppercase();
            script
        } else if stage < 2 && ((subtag.len() == 2 && alpha) || (subtag.len() == 3 && digits)) {
            stage = 2;
            subtag.to_ascii_uppercase()
        } else if alnum
            && ((5..=8).contains(&subtag.len()) || (subtag.len() == 4 && starts_with_digit))
        {
            stage = 3;
            subtag.to_ascii_lowercase()
        } else {
            return None;
        };
        canonical.push('-');
        canonical.push_str(&formatted);
    }
    Some(canonical)
}

impl fmt::Display for LanguageTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for LanguageTag {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for LanguageTag {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Self::parse(&text).map_err(de::Error::custom)
    }
}

impl Describe for LanguageTag {
    fn shape() -> Shape {
        Shape::Language
    }
}

impl FromJson for LanguageTag {
    fn from_json(value: Value, at: &Path, r: &mut Reader<'_>) -> Option<Self> {
        r.parse(value, at, Self::parse)
    }

    fn distinct_key(&self) -> Option<String> {
        Some(self.0.clone())
    }
}

/// Active ISO 4217 alphabetic codes of currencies and fund codes, sorted.
/// Left out on purpose: precious metals (XAU, XAG, XPD, XPT), bond-market
/// units (XBA–XBD), the testing code XTS and XXX ("no currency"). Withdrawn
/// codes (HRK, ANG, SLL, ZWL …) are not accepted: record the amount in the
/// successor currency.
const ISO_4217: &[&str] = &[
    "AED", "AFN", "ALL", "AMD", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT", "BGN",
    "BHD", "BIF", "BMD", "BND", "BOB", "BOV", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD", "CAD",
    "CDF", "CHE", "CHF", "CHW", "CLF", "CLP", "CNY", "COP", "COU", "CRC", "CUP", "CVE", "CZK",
    "DJF", "DKK", "DOP", "DZD", "EGP", "ERN", "ETB", "EUR", "FJD", "FKP", "GBP", "GEL", "GHS",
    "GIP", "GMD", "GNF", "GTQ", "GYD", "HKD", "HNL", "HTG", "HUF", "IDR", "ILS", "INR", "IQD",
    "IRR", "ISK", "JMD", "JOD", "JPY", "KES", "KGS", "KHR", "KMF", "KPW", "KRW", "KWD", "KYD",
    "KZT", "LAK", "LBP", "LKR", "LRD", "LSL", "LYD", "MAD", "MDL", "MGA", "MKD", "MMK", "MNT",
    "MOP", "MRU", "MUR", "MVR", "MWK", "MXN", "MXV", "MYR", "MZN", "NAD", "NGN", "NIO", "NOK",
    "NPR", "NZD", "OMR", "PAB", "PEN", "PGK", "PHP", "PKR", "PLN", "PYG", "QAR", "RON", "RSD",
    "RUB", "RWF", "SAR", "SBD", "SCR", "SDG", "SEK", "SGD", "SHP", "SLE", "SOS", "SRD", "SSP",
    "STN", "SVC", "SYP", "SZL", "THB", "TJS", "TMT", "TND", "TOP", "TRY", "TTD", "TWD", "TZS",
    "UAH", "UGX", "USD", "USN", "UYI", "UYU", "UYW", "UZS", "VED", "VES", "VND", "VUV", "WST",
    "XAF", "XCD", "XCG", "XDR", "XOF", "XPF", "XSU", "XUA", "YER", "ZAR", "ZMW", "ZWG",
];

/// An ISO 4217 currency code (`EUR`, `USD`, `NAD`); input is case-insensitive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency(&'static str);

impl Currency {
    /// Checks a currency code against the embedded ISO 4217 list.
    pub fn parse(text: &str) -> Result<Self, String> {
        let upper = text.trim().to_ascii_uppercase();
        ISO_4217
            .binary_search(&upper.as_str())
            .ok()
            .and_then(|index| ISO_4217.get(index))
            .map(|code| Self(code))
            .ok_or_else(|| {
                format!(
                    "{} is not an ISO 4217 currency code (e.g. EUR, USD, NAD)",
                    quote(text)
                )
            })
    }

    /// The code, e.g. `EUR`.
    pub fn as_str(self) -> &'static str {
        self.0
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl Serialize for Currency {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0)
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Self::parse(&text).map_err(de::Error::custom)
    }
}

impl Describe for Currency {
    fn shape() -> Shape {
        Shape::Currency
    }
}

impl FromJson for Currency {
    fn from_json(value: Value, at: &Path, r: &mut Reader<'_>) -> Option<Self> {
        r.parse(value, at, Self::parse)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn currency_list_is_sorted_unique_and_well_formed() {
        assert!(ISO_4217.windows(2).all(|w| w[0] < w[1]));
        assert!(
            ISO_4217
                .iter()
                .all(|c| c.len() == 3 && c.bytes().all(|b| b.is_ascii_uppercase()))
        );
    }

    #[test]
    fn currencies_are_checked_and_uppercased() {
        assert_eq!(Currency::parse("eur").unwrap().as_str(), "EUR");
        assert_eq!(Currency::parse("NAD").unwrap().as_str(), "NAD");
        let err = Currency::parse("EURO").unwrap_err();
        assert_eq!(
            err,
            "\"EURO\" is not an ISO 4217 currency code (e.g. EUR, USD, NAD)"
        );
        assert!(Currency::parse("XXX").is_err());
        assert!(Currency::parse("HRK").is_err());
    }

    #[test]
    fn language_tags_are_canonicalized() {
        for (input, canonical) in [
            ("en", "en"),
            ("FR", "fr"),
            ("pt-br", "pt-BR"),
            ("pt_BR", "pt-BR"),
            ("zh-hant", "zh-Hant"),
            ("zh-Hant-TW", "zh-Hant-TW"),
            ("es-419", "es-419"),
            ("fil", "fil"),
            ("sl-rozaj", "sl-rozaj"),
            ("de-CH-1901", "de-CH-1901"),
        ] {
            assert_eq!(LanguageTag::parse(input).unwrap().as_str(), canonical);
        }
    }

    #[test]
    fn malformed_language_tags_are_rejected_by_name() {
        for bad in [
            "english",
            "e",
            "en-",
            "en--US",
            "12",
            "en-US-Latn",
            "x-klingon",
            "en US",
            "",
        ] {
            let err = LanguageTag::parse(bad).unwrap_err();
            assert!(
                err.starts_with(&format!("\"{bad}\" is not a language tag")),
                "{err}"
            );
        }
    }

    #[test]
    fn un_languages_are_recognized() {
        assert!(LanguageTag::parse("zh-Hans").unwrap().is_un_language());
        assert!(!LanguageTag::parse("pt").unwrap().is_un_language());
        assert_eq!(UN_LANGUAGES.len(), 6);
    }

    #[test]
    fn vocabulary_parses_forgivingly_and_lists_values_on_error() {
        assert_eq!(Theme::parse("Climate Change"), Some(Theme::ClimateChange));
        assert_eq!(Theme::parse("crsv_justice"), Some(Theme::CrsvJustice));
        assert_eq!(
            Pillar::parse("relief-and-recovery"),
            Some(Pillar::ReliefAndRecovery)
        );
        let message = Theme::unknown("climate");
        assert!(
            message.starts_with("\"climate\" is not a theme; use one of: gender-analysis, "),
            "{message}"
        );
        assert!(message.ends_with("capacity-building"));
        assert_eq!(Theme::ALL.len(), 14);
    }

    #[test]
    fn vocabulary_shape_lists_every_spelling_in_order() {
        let spellings: Vec<&str> = Theme::ALL.iter().map(|theme| theme.as_str()).collect();
        assert_eq!(Theme::VALUES, spellings.as_slice());
        assert_eq!(
            Pillar::shape(),
            Shape::Choice {
                values: &[
                    "participation",
                    "protection",
                    "prevention",
                    "relief-and-recovery"
                ]
            }
        );
    }

    #[test]
    fn vocabulary_serializes_as_its_spelling() {
        for theme in Theme::ALL {
            let json = serde_json::to_value(theme).unwrap();
            assert_eq!(json, Value::String(theme.as_str().to_owned()));
            assert_eq!(serde_json::from_value::<Theme>(json).unwrap(), *theme);
        }
    }
}
