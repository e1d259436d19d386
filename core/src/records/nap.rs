//! National Action Plans on WPS, and regional plans and national strategies.
//!
//! Modelled on what the WPS NAP databases track: generation, period and
//! status, lead agency, pillars and themes, budget, monitoring & evaluation,
//! civil-society involvement and the plan's documents.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{
    Record, RecordType,
    dates::{Date, Period},
    ltext::LText,
    push_ltext,
    refs::{RecordRef, member_code},
    schema::{FromJson, Path, Reader, Rules, quote, schema, shorthand_for},
    shape::{Describe, Shape},
    values::{Amount, Url},
    vocab::{Currency, LanguageTag, Pillar, Theme, vocabulary},
};
use crate::member::MemberCode;

vocabulary! {
    /// What kind of plan.
    pub enum PlanKind ("a plan kind") {
        /// A National Action Plan.
        Nap = "nap",
        /// A regional action plan (of a regional organization).
        RegionalActionPlan = "regional-action-plan",
        /// A national strategy or policy that serves as the WPS plan.
        NationalStrategy = "national-strategy",
    }
}

vocabulary! {
    /// Where a plan stands.
    pub enum PlanStatus ("a plan status") {
        /// Being drafted.
        Draft = "draft",
        /// Adopted and current.
        InForce = "in-force",
        /// Its period is over and no successor is in force.
        Expired = "expired",
        /// Being reviewed or evaluated, typically before a new generation.
        UnderReview = "under-review",
    }
}

vocabulary! {
    /// The kind of institution that leads a plan.
    pub enum AgencyCategory ("an agency category") {
        /// Ministry of foreign affairs.
        ForeignAffairs = "foreign-affairs",
        /// Ministry of defence.
        Defence = "defence",
        /// Ministry of the interior or of public security.
        Interior = "interior",
        /// Ministry of justice.
        Justice = "justice",
        /// Ministry or agency for gender equality or women's affairs.
        GenderEquality = "gender-equality",
        /// Office of the head of state or government.
        HeadOfGovernment = "head-of-government",
        /// Development cooperation agency or ministry.
        Development = "development",
        /// An inter-ministerial committee or similar shared body.
        InterMinisterial = "inter-ministerial",
        /// Any other institution.
        Other = "other",
    }
}

/// A plan's generation: 1 for the first plan, 2 for the second … (input
/// may also be `"2nd"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub struct Generation(u8);

impl Generation {
    /// The generation as a number (1, 2, 3 …).
    pub fn get(self) -> u8 {
        self.0
    }
}

impl TryFrom<i64> for Generation {
    type Error = String;

    fn try_from(n: i64) -> Result<Self, String> {
        u8::try_from(n)
            .ok()
            .filter(|n| (1..=20).contains(n))
            .map(Self)
            .ok_or_else(|| {
                format!(
                    "{n} is not a plan generation; use 1 for the first plan, 2 for the second …"
                )
            })
    }
}

impl From<Generation> for i64 {
    fn from(generation: Generation) -> i64 {
        i64::from(generation.0)
    }
}

impl Describe for Generation {
    fn shape() -> Shape {
        Shape::Number { integer: true }
    }
}

impl FromJson for Generation {
    fn from_json(value: Value, at: &Path, r: &mut Reader<'_>) -> Option<Self> {
        // "2nd", "3rd" → 2, 3.
        let value = match value {
            Value::String(text) => {
                let digits = text
                    .trim()
                    .trim_end_matches(|c: char| c.is_ascii_alphabetic());
                if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
                    Value::String(digits.to_owned())
                } else {
                    Value::String(text)
                }
            }
            other => other,
        };
        let n = r.integer(value, at)?;
        Self::try_from(n)
            .map_err(|message| r.error(at, message))
            .ok()
    }
}

/// A reference to one of the 26 global indicators on resolution 1325
/// (S/2010/498), by number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub struct UnIndicator(u8);

impl UnIndicator {
    /// The indicator's number, 1 to 26.
    pub fn get(self) -> u8 {
        self.0
    }
}

impl TryFrom<i64> for UnIndicator {
    type Error = String;

    fn try_from(n: i64) -> Result<Self, String> {
        u8::try_from(n)
            .ok()
            .filter(|n| (1..=26).contains(n))
            .map(Self)
            .ok_or_else(|| {
                format!(
                    "{n} is not one of the 26 global indicators on resolution 1325; use 1 to 26"
                )
            })
    }
}

impl From<UnIndicator> for i64 {
    fn from(indicator: UnIndicator) -> i64 {
        i64::from(indicator.0)
    }
}

impl Describe for UnIndicator {
    fn shape() -> Shape {
        Shape::Number { integer: true }
    }
}

impl FromJson for UnIndicator {
    fn from_json(value: Value, at: &Path, r: &mut Reader<'_>) -> Option<Self> {
        let n = r.integer(value, at)?;
        Self::try_from(n)
            .map_err(|message| r.error(at, message))
            .ok()
    }
}

/// What a plan says about money. JSON: `{"status": "allocated", "amount":
/// 2500000, "currency": "EUR"}`, `{"status": "unspecified"}` (a budget is
/// mentioned but not quantified) or `{"status": "none"}`; the strings
/// `"unspecified"` and `"none"` are accepted as shorthand.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Budget {
    /// A budget with a figure.
    Allocated {
        /// The amount, zero or more.
        amount: Amount,
        /// Its currency.
        currency: Currency,
    },
    /// A budget is mentioned but not quantified.
    Unspecified,
    /// No budget.
    #[serde(rename = "none")]
    NotBudgeted,
}

/// Edited as JSON: which fields a budget has depends on its status (amount
/// and currency with `allocated` only), which a form laid out field by
/// field cannot say.
impl Describe for Budget {
    fn shape() -> Shape {
        Shape::Json
    }
}

impl FromJson for Budget {
    fn from_json(value: Value, at: &Path, r: &mut Reader<'_>) -> Option<Self> {
        const STATUSES: &str = "allocated, unspecified, none";
        let value = match value {
            Value::String(status) => serde_json::json!({ "status": status }),
            other => other,
        };
        let mut map = r.object(value, at)?;
        let status = r.tag(&mut map, at, "status", STATUSES)?;
        match status.as_str() {
            "allocated" => {
                let mut fields = r.fields(map, at, &["status", "amount", "currency"]);
                let amount = fields.take::<Amount>("amount", r);
                let currency = fields.take::<Currency>("currency", r);
                Some(Self::Allocated {
                    amount: amount?,
                    currency: currency?,
                })
            }
            "unspecified" => {
                r.fields(map, at, &["status"]);
                Some(Self::Unspecified)
            }
            "none" => {
                r.fields(map, at, &["status"]);
                Some(Self::NotBudgeted)
            }
            _ => {
                r.error(
                    &at.key("status"),
                    format!(
                        "{} is not a budget status; use one of: {STATUSES}",
                        quote(&status)
                    ),
                );
                None
            }
        }
    }
}

schema! {
    /// A National Action Plan (or regional plan, national strategy).
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct NationalActionPlan {
        /// The member whose plan it is: always the owner.
        #[serde(with = "member_code")]
        pub member: MemberCode,
        /// NAP, regional action plan or national strategy.
        pub kind: PlanKind,
        /// The plan's title.
        pub title: LText,
        /// 1 for the member's first plan, 2 for the second …
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub generation: Option<Generation>,
        /// When it was adopted.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub adopted: Option<Date>,
        /// The period it covers.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub period: Option<Period>,
        /// Draft, in force, expired or under review.
        pub status: PlanStatus,
        /// The previous plan this one replaces.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub supersedes: Option<RecordRef<NationalActionPlan>>,
        /// The lead institution's name.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub lead_agency: Option<String>,
        /// What kind of institution leads.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub lead_agency_category: Option<AgencyCategory>,
        /// The 1325 pillars the plan is organized by.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub pillars: Vec<Pillar>,
        /// The pillar that gets most attention (added to `pillars` if those
        /// are left out).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub dominant_pillar: Option<Pillar>,
        /// Themes the plan addresses.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub themes: Vec<Theme>,
        /// Allocated, unspecified or none.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub budget: Option<Budget>,
        /// Monitoring and evaluation.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub monitoring: Option<Monitoring>,
        /// How civil society took part.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub civil_society: Option<CivilSocietyInvolvement>,
        /// The plan's documents, in their languages.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub documents: Vec<Document>,
    }
}

impl Rules for NationalActionPlan {
    fn apply(&mut self, at: &Path, r: &mut Reader<'_>) {
        let Some(dominant) = self.dominant_pillar else {
            return;
        };
        if self.pillars.is_empty() {
            self.pillars.push(dominant);
        } else if !self.pillars.contains(&dominant) {
            let pillars: Vec<&str> = self.pillars.iter().map(|p| p.as_str()).collect();
            r.error(
                &at.key("dominant_pillar"),
                format!(
                    "{dominant} is not among the plan's pillars ({}); add it to pillars",
                    pillars.join(", ")
                ),
            );
        }
    }
}

schema! {
    /// How a plan is monitored and evaluated.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Monitoring {
        /// Whether the plan describes its monitoring and evaluation.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub described: Option<bool>,
        /// The framework: who reports what, when, to whom.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub framework: Option<LText>,
        /// The plan's indicators.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub indicators: Vec<Indicator>,
    }
}

impl Rules for Monitoring {}

schema! {
    /// One indicator of a plan.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Indicator {
        /// What is measured.
        pub name: LText,
        /// The starting value, as the plan states it (e.g. `12% (2020)`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub baseline: Option<String>,
        /// The value aimed for.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub target: Option<String>,
        /// The matching global indicator on resolution 1325 (1–26).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub un_indicator: Option<UnIndicator>,
    }
}

impl Rules for Indicator {
    /// A bare text is the indicator's name.
    fn prepare(value: Value) -> Value {
        shorthand_for(
            value,
            "name",
            &["name", "baseline", "target", "un_indicator"],
        )
    }
}

schema! {
    /// How civil society took part in a plan.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct CivilSocietyInvolvement {
        /// In drafting the plan.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub drafting: Option<bool>,
        /// In implementing it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub implementation: Option<bool>,
        /// In monitoring it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub monitoring: Option<bool>,
        /// Anything worth adding.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub notes: Option<LText>,
    }
}

impl Rules for CivilSocietyInvolvement {}

schema! {
    /// One document of a plan (a bare link is accepted as shorthand).
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Document {
        /// Where to read it.
        pub url: Url,
        /// Its language.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub language: Option<LanguageTag>,
        /// Whether it is the original (not a translation).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub original: Option<bool>,
        /// Its title, if it differs from the plan's.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub title: Option<String>,
    }
}

impl Rules for Document {
    fn prepare(value: Value) -> Value {
        shorthand_for(value, "url", &["url", "language", "original", "title"])
    }
}

impl Record for NationalActionPlan {
    const TYPE: RecordType = RecordType::NationalActionPlan;
    const OWNER_FIELD: Option<&'static str> = Some("member");

    fn summary_title(&self) -> String {
        self.title.original_text().to_owned()
    }

    fn search_words<'a>(&'a self, words: &mut Vec<&'a str>) {
        push_ltext(words, &self.title);
        words.extend(self.lead_agency.as_deref());
        if let Some(monitoring) = &self.monitoring {
            if let Some(framework) = &monitoring.framework {
                push_ltext(words, framework);
            }
            for indicator in &monitoring.indicators {
                push_ltext(words, &indicator.name);
            }
        }
        if let Some(notes) = self.civil_society.as_ref().and_then(|c| c.notes.as_ref()) {
            push_ltext(words, notes);
        }
        words.extend(self.documents.iter().filter_map(|d| d.title.as_deref()));
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::records::{search_text, summary_title, testing::*};

    const KIND: RecordType = RecordType::NationalActionPlan;

    fn full() -> Value {
        json!({
            "kind": "nap",
            "title": {
                "es": {"text": "III Plan Nacional de Acción de Ejemplo", "original": true},
                "en": {"text": "Third Example National Action Plan", "original": false},
            },
            "generation": "3rd",
            "adopted": "2023-03-08",
            "period": {"start": "2023-01-01", "end": "2027-12-31"},
            "status": "In force",
            "supersedes": "ESP:nap:aaaaaaaaaaa2",
            "lead_agency": "Ministry of Foreign Affairs (example)",
            "lead_agency_category": "foreign-affairs",
            "pillars": ["participation", "protection", "prevention", "relief-and-recovery"],
            "dominant_pillar": "participation",
            "themes": ["participation-peace-processes", "climate-change"],
            "budget": {"status": "allocated", "amount": 2500000, "currency": "eur"},
            "monitoring": {
                "described": true,
                "framework": "Annual report to parliament.",
                "indicators": [
                    {"name": "Share of women among mediators", "baseline": "10% (2022)", "target": "30%", "un_indicator": 11},
                    "Number of trained police officers",
                ],
            },
            "civil_society": {"drafting": true, "implementation": true, "monitoring": false, "notes": "Consulted in three regions."},
            "documents": [
                {"url": "https://example.org/nap3-es.pdf", "language": "es", "original": true},
                "https://example.org/nap3-en.pdf",
            ],
        })
    }

    #[test]
    fn full_plan_is_valid_and_normalized() {
        let record = valid(KIND, full());
        assert_eq!(record["member"], "ESP");
        assert_eq!(record["generation"], 3);
        assert_eq!(record["status"], "in-force");
        assert_eq!(
            record["budget"],
            json!({"status": "allocated", "amount": 2500000, "currency": "EUR"})
        );
        assert_eq!(
            record["monitoring"]["indicators"][1],
            json!({"name": {"en": {"text": "Number of trained police officers", "original": true}}})
        );
        assert_eq!(
            record["documents"][1],
            json!({"url": "https://example.org/nap3-en.pdf"})
        );
        let fields = object(record);
        assert_eq!(
            summary_title(KIND, &fields),
            "III Plan Nacional de Acción de Ejemplo"
        );
        let text = search_text(KIND, &fields);
        assert!(
            text.contains("Third Example National Action Plan"),
            "{text}"
        );
        assert!(text.contains("Share of women among mediators"), "{text}");
        assert!(text.contains("Consulted in three regions."), "{text}");
        assert!(!text.contains("https://"), "{text}");
    }

    #[test]
    fn minimal_plan_needs_kind_title_status() {
        let record = valid(
            KIND,
            json!({"kind": "nap", "title": "Plan", "status": "draft"}),
        );
        assert_eq!(
            record,
            json!({
                "member": "ESP",
                "kind": "nap",
                "title": {"en": {"text": "Plan", "original": true}},
                "status": "draft",
            })
        );
        assert_eq!(
            invalid(KIND, json!({})),
            [
                "kind: is required",
                "status: is required",
                "title: is required"
            ]
        );
    }

    #[test]
    fn budget_shorthand_and_rules() {
        let record = valid(
            KIND,
            json!({"kind": "nap", "title": "P", "status": "draft", "budget": "none"}),
        );
        assert_eq!(record["budget"], json!({"status": "none"}));
        let errors = invalid(
            KIND,
            json!({"kind": "nap", "title": "P", "status": "draft",
                   "budget": {"status": "allocated", "amount": -5, "currency": "EURO"}}),
        );
        assert_eq!(
            errors,
            [
                "budget.amount: -5 is negative; an amount is zero or more",
                "budget.currency: \"EURO\" is not an ISO 4217 currency code (e.g. EUR, USD, NAD)",
            ]
        );
        let errors = invalid(
            KIND,
            json!({"kind": "nap", "title": "P", "status": "draft", "budget": {"status": "none", "amount": 5}}),
        );
        assert_eq!(
            errors,
            ["budget.amount: unknown field; the fields here are: status"]
        );
        let errors = invalid(
            KIND,
            json!({"kind": "nap", "title": "P", "status": "draft", "budget": "some"}),
        );
        assert_eq!(
            errors,
            [
                "budget.status: \"some\" is not a budget status; use one of: allocated, unspecified, none"
            ]
        );
    }

    #[test]
    fn dominant_pillar_belongs_to_the_pillars() {
        let record = valid(
            KIND,
            json!({"kind": "nap", "title": "P", "status": "draft", "dominant_pillar": "protection"}),
        );
        assert_eq!(record["pillars"], json!(["protection"]));
        let errors = invalid(
            KIND,
            json!({"kind": "nap", "title": "P", "status": "draft",
                   "pillars": ["participation", "prevention"], "dominant_pillar": "protection"}),
        );
        assert_eq!(
            errors,
            [
                "dominant_pillar: protection is not among the plan's pillars (participation, prevention); add it to pillars"
            ]
        );
    }

    #[test]
    fn invalid_plan_reports_every_problem() {
        let errors = invalid(
            KIND,
            json!({
                "kind": "action-plan",
                "title": {"en": {"text": "A", "original": true}, "fr": {"text": "B", "original": true}},
                "status": "active",
                "generation": 0,
                "period": {"start": "2021-01-01", "end": "2020-01-01"},
                "supersedes": "ESP:practice:3kq7x2m7w4ab",
                "themes": ["climate", "peacekeeping", "peacekeeping"],
                "pillars": "participation",
                "monitoring": {"indicators": [{"name": "x", "un_indicator": 27}]},
                "documents": [{"url": "www.example.org"}],
                "owner": "ESP",
            }),
        );
        assert_eq!(
            errors,
            [
                "documents[0].url: \"www.example.org\" is not a web link; write it in full, starting with https:// (or http://)",
                "generation: 0 is not a plan generation; use 1 for the first plan, 2 for the second …",
                "kind: \"action-plan\" is not a plan kind; use one of: nap, regional-action-plan, national-strategy",
                "monitoring.indicators[0].un_indicator: 27 is not one of the 26 global indicators on resolution 1325; use 1 to 26",
                "owner: `owner` is set by the node; leave it out of the fields",
                "period.end: period.end 2020-01-01 is before period.start 2021-01-01",
                "status: \"active\" is not a plan status; use one of: draft, in-force, expired, under-review",
                "supersedes: \"ESP:practice:3kq7x2m7w4ab\" is the id of a practice; a nap id is needed here (e.g. SEC:nap:3kq7x2m7w4ab)",
                "themes[0]: \"climate\" is not a theme; use one of: gender-analysis, participation-security-sector, \
                 participation-peace-processes, senior-leadership, removing-barriers, violent-extremism, \
                 climate-change, crsv-justice, nap-design-monitoring-financing, disarmament-small-arms, \
                 early-warning-preventive-diplomacy, peacekeeping, civil-society-partnerships, capacity-building",
                "themes[2]: peacekeeping is listed twice (also at themes[1]); list it once",
                "title: en, fr are all marked as the original; exactly one language is the original",
            ]
        );
    }
}
