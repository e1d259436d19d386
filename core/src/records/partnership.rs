//! Partnerships between a member and civil society.

use serde::{Deserialize, Serialize};

use super::{
    Record, RecordType,
    ltext::LText,
    push_ltext,
    refs::member_code,
    schema::{Rules, schema},
    vocab::vocabulary,
};
use crate::member::MemberCode;

vocabulary! {
    /// What kind of organization the partner is.
    pub enum OrganizationType ("an organization type") {
        /// A women's organization or women's rights organization.
        WomensOrganization = "womens-organization",
        /// A youth organization.
        Youth = "youth",
        /// A network or coalition of organizations.
        Network = "network",
        /// A university or research institute.
        Academia = "academia",
        /// A faith-based organization.
        FaithBased = "faith-based",
        /// Media.
        Media = "media",
        /// A company or business association.
        PrivateSector = "private-sector",
        /// Any other organization.
        Other = "other",
    }
}

vocabulary! {
    /// How far the partner's work reaches.
    pub enum Scope ("a scope") {
        /// A town, district or community.
        Local = "local",
        /// The whole country.
        National = "national",
        /// Several countries of a region.
        Regional = "regional",
        /// Worldwide.
        Global = "global",
    }
}

vocabulary! {
    /// What the partner does in the member's WPS agenda.
    pub enum PartnerRole ("a partner role") {
        /// Helps draft the plan.
        Drafting = "drafting",
        /// Carries out parts of it.
        Implementation = "implementation",
        /// Monitors it.
        Monitoring = "monitoring",
        /// Writes independent (shadow) reports on it.
        ShadowReporting = "shadow-reporting",
    }
}

schema! {
    /// A partnership with a civil-society organization.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Partnership {
        /// The member in the partnership: always the owner.
        #[serde(with = "member_code")]
        pub member: MemberCode,
        /// The partner organization's name.
        pub organization_name: String,
        /// What kind of organization it is.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub organization_type: Option<OrganizationType>,
        /// Local, national, regional or global.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub scope: Option<Scope>,
        /// What the partner does.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub roles: Vec<PartnerRole>,
        /// Anything worth adding.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub notes: Option<LText>,
    }
}

impl Rules for Partnership {}

impl Record for Partnership {
    const TYPE: RecordType = RecordType::Partnership;
    const OWNER_FIELD: Option<&'static str> = Some("member");

    fn summary_title(&self) -> String {
        self.organization_name.clone()
    }

    fn search_words<'a>(&'a self, words: &mut Vec<&'a str>) {
        words.push(&self.organization_name);
        if let Some(notes) = &self.notes {
            push_ltext(words, notes);
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::records::{search_text, summary_title, testing::*};

    const KIND: RecordType = RecordType::Partnership;

    #[test]
    fn full_partnership_is_valid() {
        let record = valid(
            KIND,
            json!({
                "member": "ESP",
                "organization_name": "Example Women's Network",
                "organization_type": "womens-organization",
                "scope": "national",
                "roles": ["drafting", "shadow_reporting"],
                "notes": {"es": "Socia desde 2017."},
            }),
        );
        assert_eq!(record["roles"], json!(["drafting", "shadow-reporting"]));
        let fields = object(record);
        assert_eq!(summary_title(KIND, &fields), "Example Women's Network");
        assert_eq!(
            search_text(KIND, &fields),
            "Example Women's Network\nSocia desde 2017."
        );
    }

    #[test]
    fn minimal_partnership_needs_a_name() {
        let record = valid(KIND, json!({"organization_name": "Example Youth Forum"}));
        assert_eq!(
            record,
            json!({"member": "ESP", "organization_name": "Example Youth Forum"})
        );
        assert_eq!(invalid(KIND, json!({})), ["organization_name: is required"]);
    }

    #[test]
    fn unknown_values_are_refused() {
        let errors = invalid(
            KIND,
            json!({"organization_name": "x", "scope": "planetary", "roles": ["funding", "drafting", "drafting"], "member": "XX"}),
        );
        assert_eq!(errors.len(), 4, "{errors:#?}");
        assert_has_prefix(&errors, "member: `XX` is not a member code");
        assert_has(
            &errors,
            "roles[0]: \"funding\" is not a partner role; use one of: drafting, implementation, monitoring, shadow-reporting",
        );
        assert_has(
            &errors,
            "roles[2]: drafting is listed twice (also at roles[1]); list it once",
        );
        assert_has(
            &errors,
            "scope: \"planetary\" is not a scope; use one of: local, national, regional, global",
        );
    }
}
