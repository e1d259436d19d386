//! Focal points: the people who represent a member in the network.
//!
//! The role is not standardized across members, so it is described in free
//! (multilingual) text.
//!
//! Contact details (e-mail, phone) are personal data that only the focal
//! point's own member and the secretariat may read. Clients still write and
//! read them as the record's `contact` object, but the node keeps them apart:
//! in a companion record of type `focal-point-contact` ([`companion_id`]:
//! the focal point's id with the type changed) whose visibility is
//! `secretariat` (`local` for a local focal point), so they travel only to
//! the owner's and the secretariat's nodes. The focal point's own document
//! carries the marker [`CONTACT_AUDIENCE`] instead, and never `contact`
//! (see `contact.rs` in the node for the writes, reads and ingest rule).

use serde::{Deserialize, Serialize};

use super::{
    Record, RecordType,
    dates::Date,
    ltext::LText,
    push_ltext,
    refs::member_code,
    schema::{Path, Reader, Rules, schema},
    values::{Email, Phone},
    vocab::{LanguageTag, vocabulary},
};
use crate::member::MemberCode;

vocabulary! {
    /// Where a focal point is posted.
    pub enum Posting ("a posting") {
        /// In the capital (usually the foreign or defence ministry).
        Capital = "capital",
        /// At the member's permanent mission to the UN in New York.
        NewYorkMission = "new-york-mission",
        /// At a regional organization's headquarters.
        RegionalHq = "regional-hq",
    }
}

vocabulary! {
    /// Whether a focal point is the member's primary one or an alternate.
    pub enum Designation ("a designation") {
        /// The primary focal point.
        Primary = "primary",
        /// An alternate who stands in for the primary.
        Alternate = "alternate",
    }
}

schema! {
    /// A WPS focal point.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct FocalPoint {
        /// The member the focal point represents: always the owner.
        #[serde(with = "member_code")]
        pub member: MemberCode,
        /// The person's name as they write it.
        pub person_name: String,
        /// Job title, e.g. `Director for Human Rights`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub title: Option<String>,
        /// Ministry, agency or mission.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub institution: Option<String>,
        /// What the role involves at this member.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub role_description: Option<LText>,
        /// Capital, New York mission or regional headquarters.
        pub posting: Posting,
        /// Primary or alternate.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub designation: Option<Designation>,
        /// Languages the person works in.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub languages: Vec<LanguageTag>,
        /// Since when.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub appointed: Option<Date>,
        /// Until when (a former focal point).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub ended: Option<Date>,
        /// How to reach the person.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub contact: Option<Contact>,
    }
}

impl Rules for FocalPoint {
    fn apply(&mut self, at: &Path, r: &mut Reader<'_>) {
        if let (Some(appointed), Some(ended)) = (self.appointed, self.ended)
            && ended < appointed
        {
            r.error(
                &at.key("ended"),
                format!("ended {ended} is before appointed {appointed}"),
            );
        }
    }
}

schema! {
    /// A focal point's contact details; at least one is given.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Contact {
        /// E-mail address.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub email: Option<Email>,
        /// Phone number, international format.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub phone: Option<Phone>,
    }
}

impl Rules for Contact {
    fn apply(&mut self, at: &Path, r: &mut Reader<'_>) {
        if self.email.is_none() && self.phone.is_none() {
            r.error(
                at,
                "has neither email nor phone; give one or leave contact out",
            );
        }
    }
}

impl Record for Contact {
    const TYPE: RecordType = RecordType::FocalPointContact;

    fn summary_title(&self) -> String {
        "contact details".to_owned()
    }

    // Contact details are not searched: a search would tell who matched.
    fn search_words<'a>(&'a self, _words: &mut Vec<&'a str>) {}
}

impl Record for FocalPoint {
    const TYPE: RecordType = RecordType::FocalPoint;
    const OWNER_FIELD: Option<&'static str> = Some("member");

    fn summary_title(&self) -> String {
        self.person_name.clone()
    }

    fn search_words<'a>(&'a self, words: &mut Vec<&'a str>) {
        words.push(&self.person_name);
        words.extend(self.title.as_deref());
        words.extend(self.institution.as_deref());
        if let Some(role) = &self.role_description {
            push_ltext(words, role);
        }
    }
}

/// Whether a focal point's contact details are shown to the clients of the
/// node of `node_member`: on the owner's own node and on the secretariat's,
/// the only nodes that receive them. (Elsewhere a document written before
/// contact details were kept apart may still hold them: views and record
/// reads leave them out.)
pub fn contact_shown(node_member: &str, owner: &str) -> bool {
    node_member == owner || node_member == crate::member::SECRETARIAT_CODE
}

/// The envelope key of a focal point's document saying where its contact
/// details are kept: the companion's visibility (`secretariat`, or `local`).
/// A document that carries it never carries `contact` (ingest refuses a
/// change that adds it); a document without it was written by an older node.
pub const CONTACT_AUDIENCE: &str = "contact_audience";

/// The id of the companion holding the contact details of the focal point
/// `focal_point_id` (`ESP:focal-point:x` → `ESP:focal-point-contact:x`), or
/// `None` if it is not a focal point's id.
pub fn companion_id(focal_point_id: &str) -> Option<String> {
    match super::parse_record_id(focal_point_id) {
        Some((owner, RecordType::FocalPoint, suffix)) => Some(format!(
            "{owner}:{}:{suffix}",
            RecordType::FocalPointContact.as_str()
        )),
        _ => None,
    }
}

/// The focal point a companion's id belongs to (the inverse of
/// [`companion_id`]), or `None` if it is not a companion's id.
pub fn focal_point_of(companion_id: &str) -> Option<String> {
    match super::parse_record_id(companion_id) {
        Some((owner, RecordType::FocalPointContact, suffix)) => Some(format!(
            "{owner}:{}:{suffix}",
            RecordType::FocalPoint.as_str()
        )),
        _ => None,
    }
}

/// The visibility of the companion of a focal point of `visibility`: never
/// wider than `secretariat`, and `local` stays `local`.
pub fn companion_visibility(visibility: super::Visibility) -> super::Visibility {
    match visibility {
        super::Visibility::Local => super::Visibility::Local,
        super::Visibility::Network | super::Visibility::Secretariat => {
            super::Visibility::Secretariat
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::records::{search_text, summary_title, testing::*};

    const KIND: RecordType = RecordType::FocalPoint;

    #[test]
    fn full_focal_point_is_valid() {
        let record = valid_for(
            "NAM",
            KIND,
            json!({
                "member": "NAM",
                "person_name": "Ndapewa Example",
                "title": "Deputy Director, Multilateral Affairs",
                "institution": "Ministry of International Relations",
                "role_description": {"en": "Coordinates the NAP's implementation report."},
                "posting": "capital",
                "designation": "primary",
                "languages": ["en", "AF"],
                "appointed": "2022-03-01",
                "ended": "2024-02-29",
                "contact": {"email": "n.example@example.org", "phone": "+44 20 7946 0000"},
            }),
        );
        assert_eq!(record["languages"], json!(["en", "af"]));
        assert_eq!(record["contact"]["email"], "n.example@example.org");
        let fields = object(record);
        assert_eq!(summary_title(KIND, &fields), "Ndapewa Example");
        assert_eq!(
            search_text(KIND, &fields),
            "Ndapewa Example\nDeputy Director, Multilateral Affairs\nMinistry of International \
             Relations\nCoordinates the NAP's implementation report."
        );
    }

    #[test]
    fn minimal_focal_point_needs_name_and_posting() {
        let record = valid(
            KIND,
            json!({"person_name": "Lucía Ejemplo", "posting": "new-york-mission", "languages": "es"}),
        );
        assert_eq!(
            record,
            json!({"member": "ESP", "person_name": "Lucía Ejemplo", "posting": "new-york-mission", "languages": ["es"]})
        );
        let errors = invalid(KIND, json!({}));
        assert_eq!(errors, ["person_name: is required", "posting: is required"]);
    }

    #[test]
    fn invalid_values_are_reported_with_their_paths() {
        let errors = invalid(
            KIND,
            json!({
                "member": "FRA",
                "person_name": "  ",
                "posting": "embassy",
                "languages": ["en", "english", "EN"],
                "appointed": "2024-01-10",
                "ended": "2023-12-31",
                "contact": {"email": "not-an-address", "fax": "1"},
            }),
        );
        assert_has(
            &errors,
            "person_name: is empty; write the text or leave the field out",
        );
        assert_has(
            &errors,
            "posting: \"embassy\" is not a posting; use one of: capital, new-york-mission, regional-hq",
        );
        assert_has_prefix(&errors, "languages[1]: \"english\" is not a language tag");
        assert_has(
            &errors,
            "languages[2]: en is listed twice (also at languages[0]); list it once",
        );
        assert_has_prefix(
            &errors,
            "contact.email: \"not-an-address\" is not an e-mail address",
        );
        assert_has(
            &errors,
            "contact.fax: unknown field; the fields here are: email, phone",
        );
        assert_eq!(errors.len(), 6, "{errors:#?}");

        let errors = invalid(
            KIND,
            json!({"member": "FRA", "person_name": "A", "posting": "capital", "appointed": "2024-01-10", "ended": "2023-12-31"}),
        );
        assert_eq!(
            errors,
            [
                "ended: ended 2023-12-31 is before appointed 2024-01-10",
                "member: must be ESP, the member that owns this record (found FRA); leave it out to use the owner",
            ]
        );
    }

    #[test]
    fn companion_ids_follow_the_focal_point() {
        let id = "ESP:focal-point:abcdefghijk4";
        let companion = companion_id(id).unwrap();
        assert_eq!(companion, "ESP:focal-point-contact:abcdefghijk4");
        assert_eq!(focal_point_of(&companion).as_deref(), Some(id));
        assert_eq!(companion_id(&companion), None);
        assert_eq!(companion_id("ESP:nap:abcdefghijk4"), None);
        assert_eq!(focal_point_of(id), None);
        assert_eq!(companion_id("not an id"), None);
    }

    #[test]
    fn contact_details_never_travel_wider_than_the_secretariat() {
        use crate::records::Visibility::*;
        assert_eq!(companion_visibility(Network), Secretariat);
        assert_eq!(companion_visibility(Secretariat), Secretariat);
        assert_eq!(companion_visibility(Local), Local);
    }

    #[test]
    fn a_companion_holds_only_contact_details() {
        let record = valid(
            RecordType::FocalPointContact,
            json!({"email": "a@example.org", "phone": "+34 600 000 000"}),
        );
        assert_eq!(record["email"], "a@example.org");
        let errors = invalid(
            RecordType::FocalPointContact,
            json!({"email": "a@example.org", "person_name": "A"}),
        );
        assert_eq!(
            errors,
            ["person_name: unknown field; the fields here are: email, phone"]
        );
        let fields = object(record);
        assert_eq!(
            search_text(RecordType::FocalPointContact, &fields),
            "",
            "contact details are not searchable"
        );
    }

    #[test]
    fn empty_contact_is_refused() {
        let errors = invalid(
            KIND,
            json!({"person_name": "A", "posting": "capital", "contact": {}}),
        );
        assert_eq!(
            errors,
            ["contact: has neither email nor phone; give one or leave contact out"]
        );
    }
}
