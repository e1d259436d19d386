//! Member profiles: who a member of the network is.
//!
//! Each member keeps exactly one profile, about itself: `code` is always the
//! owner's. `kind` follows from the code when left out.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{
    Record, RecordType,
    dates::{Date, Year},
    ltext::LText,
    push_ltext,
    refs::member_code,
    schema::{Path, Reader, Rules, schema},
    vocab::{Region, vocabulary},
};
use crate::member::{MemberCode, MemberKind};

vocabulary! {
    /// What kind of member a profile describes.
    pub enum MemberType ("a member type") {
        /// A state.
        State = "state",
        /// A regional or international organization (AU, EU, NATO …).
        RegionalOrganization = "regional-organization",
        /// The network's secretariat.
        Secretariat = "secretariat",
    }
}

impl MemberType {
    /// The member type a code implies, if it implies one (user-assigned
    /// ISO codes such as `XKX` may be either a state or an organization).
    fn implied_by(code: &MemberCode) -> Option<Self> {
        match code.kind() {
            MemberKind::State => Some(Self::State),
            MemberKind::RegionalOrganization => Some(Self::RegionalOrganization),
            MemberKind::Secretariat => Some(Self::Secretariat),
            _ => None,
        }
    }
}

schema! {
    /// A member's profile.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct MemberProfile {
        /// The member's code: always the owner's (filled in when left out).
        #[serde(with = "member_code")]
        pub code: MemberCode,
        /// State, regional organization or secretariat; follows from `code`
        /// when left out.
        pub kind: MemberType,
        /// The member's name, e.g. `{"en": "Kingdom of Spain", "es": …}`.
        pub name: LText,
        /// The member's UN regional group.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub region: Option<Region>,
        /// When the member joined the network.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub joined: Option<Date>,
        /// Whether the member founded the network (2013).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub founding_member: Option<bool>,
        /// The years the member chaired the network.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub chair_years: Vec<Year>,
    }
}

impl Rules for MemberProfile {
    /// `kind` follows from `code` (itself the owner's when left out), except
    /// for user-assigned codes such as `XKX`: for those the reader reports
    /// it as required.
    const DEFAULTED: &'static [&'static str] = &["kind"];

    fn prepare(mut value: Value) -> Value {
        if let Value::Object(map) = &mut value
            && matches!(map.get("kind"), None | Some(Value::Null))
            && let Some(kind) = map
                .get("code")
                .and_then(Value::as_str)
                .and_then(|code| code.parse::<MemberCode>().ok())
                .and_then(|code| MemberType::implied_by(&code))
        {
            map.insert("kind".to_owned(), Value::String(kind.as_str().to_owned()));
        }
        value
    }

    fn apply(&mut self, at: &Path, r: &mut Reader<'_>) {
        if let Some(implied) = MemberType::implied_by(&self.code)
            && implied != self.kind
        {
            r.error(
                &at.key("kind"),
                format!(
                    "{} is the code of a {implied}, so kind must be {implied} (found {})",
                    self.code, self.kind
                ),
            );
        }
        if MemberType::implied_by(&self.code).is_none() && self.kind == MemberType::Secretariat {
            r.error(
                &at.key("kind"),
                format!(
                    "only SEC is the secretariat; {} is a state or a regional organization",
                    self.code
                ),
            );
        }
    }
}

impl Record for MemberProfile {
    const TYPE: RecordType = RecordType::Member;
    const OWNER_FIELD: Option<&'static str> = Some("code");

    fn summary_title(&self) -> String {
        format!("{} — {}", self.code, self.name.original_text())
    }

    fn search_words<'a>(&'a self, words: &mut Vec<&'a str>) {
        push_ltext(words, &self.name);
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::records::{search_text, summary_title, testing::*};

    const KIND: RecordType = RecordType::Member;

    #[test]
    fn full_profile_is_valid_and_normalized() {
        let record = valid(
            KIND,
            json!({
                "code": "esp",
                "kind": "state",
                "name": {"es": {"text": "Reino de Ejemplo", "original": true}, "en": "Kingdom of Example"},
                "region": "western-europe-others",
                "joined": "2013-09-23",
                "founding_member": true,
                "chair_years": [2016, "2024"],
            }),
        );
        assert_eq!(
            record,
            json!({
                "code": "ESP",
                "kind": "state",
                "name": {
                    "en": {"text": "Kingdom of Example", "original": false},
                    "es": {"text": "Reino de Ejemplo", "original": true},
                },
                "region": "western-europe-others",
                "joined": "2013-09-23",
                "founding_member": true,
                "chair_years": [2016, 2024],
            })
        );
        let fields = crate::records::testing::object(record);
        assert_eq!(summary_title(KIND, &fields), "ESP — Reino de Ejemplo");
        assert_eq!(
            search_text(KIND, &fields),
            "Kingdom of Example\nReino de Ejemplo"
        );
    }

    #[test]
    fn minimal_profile_takes_code_and_kind_from_the_owner() {
        let record = valid_for("AU", KIND, json!({"name": "Example Union"}));
        assert_eq!(
            record,
            json!({
                "code": "AU",
                "kind": "regional-organization",
                "name": {"en": {"text": "Example Union", "original": true}},
            })
        );
        let sec = valid_for("SEC", KIND, json!({"name": "Secretariat"}));
        assert_eq!(sec["kind"], "secretariat");
    }

    #[test]
    fn profile_describes_its_owner_only() {
        let errors = invalid(KIND, json!({"code": "FRA", "name": "République"}));
        assert_eq!(
            errors,
            [
                "code: must be ESP, the member that owns this record (found FRA); leave it out to use the owner"
            ]
        );
        let errors = invalid(KIND, json!({"code": "SPAIN", "name": "x"}));
        assert_has_prefix(&errors, "code: `SPAIN` is not a member code");
    }

    #[test]
    fn kind_must_match_the_code() {
        let errors = invalid(KIND, json!({"kind": "regional-organization", "name": "x"}));
        assert_eq!(
            errors,
            [
                "kind: ESP is the code of a state, so kind must be state (found regional-organization)"
            ]
        );
        let errors = invalid(KIND, json!({"kind": "country", "name": "x"}));
        assert_eq!(
            errors,
            [
                "kind: \"country\" is not a member type; use one of: state, regional-organization, secretariat"
            ]
        );
        // User-assigned codes may be either.
        valid_for("XKX", KIND, json!({"kind": "state", "name": "x"}));
        valid_for(
            "XKX",
            KIND,
            json!({"kind": "regional-organization", "name": "x"}),
        );
    }

    #[test]
    fn every_problem_is_reported() {
        let errors = invalid(
            KIND,
            json!({
                "region": "europe",
                "joined": "2013-02-30",
                "founding_member": "yes",
                "chair_years": [2016, 1900, 2016],
                "motto": "x",
            }),
        );
        assert_eq!(errors.len(), 7, "{errors:#?}");
        assert_has(
            &errors,
            "chair_years[1]: 1900 is not a year from 1945 to 2100",
        );
        assert_has(
            &errors,
            "chair_years[2]: 2016 is listed twice (also at chair_years[0]); list it once",
        );
        assert_has(
            &errors,
            "founding_member: expected true or false, found the text \"yes\"",
        );
        assert_has(
            &errors,
            "joined: \"2013-02-30\" is not a date: February 2013 has 28 days",
        );
        assert_has_prefix(
            &errors,
            "motto: unknown field; the fields here are: code, kind, name, region",
        );
        assert_has(&errors, "name: is required");
        assert_has_prefix(
            &errors,
            "region: \"europe\" is not a region; use one of: africa, asia-pacific",
        );
    }
}
