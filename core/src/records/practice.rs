//! Best practices and lessons learned, shared between members.

use serde::{Deserialize, Serialize};

use super::{
    Record, RecordType,
    focal_point::FocalPoint,
    ltext::LText,
    meeting::Meeting,
    nap::NationalActionPlan,
    push_ltext,
    refs::{RecordRef, member_code},
    schema::{NonEmpty, Rules, schema},
    values::Url,
    vocab::{Pillar, Theme, vocabulary},
};
use crate::member::MemberCode;

vocabulary! {
    /// Whether a practice is to be followed or a lesson from what went wrong.
    pub enum PracticeKind ("a practice kind") {
        /// Something that worked and can be reused.
        BestPractice = "best-practice",
        /// Something learned, often from what did not work.
        LessonLearned = "lesson-learned",
    }
}

schema! {
    /// A best practice or lesson learned.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Practice {
        /// The member sharing it: always the owner.
        #[serde(with = "member_code")]
        pub member: MemberCode,
        /// Best practice or lesson learned.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub kind: Option<PracticeKind>,
        /// A short title.
        pub title: LText,
        /// What was done, and what came of it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub summary: Option<LText>,
        /// Themes it is about (at least one).
        pub themes: NonEmpty<Theme>,
        /// The 1325 pillars it serves.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub pillars: Vec<Pillar>,
        /// The plan it implements.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub related_nap: Option<RecordRef<NationalActionPlan>>,
        /// The meeting where it was presented.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub presented_at: Option<RecordRef<Meeting>>,
        /// Whom to ask about it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub contact: Option<RecordRef<FocalPoint>>,
        /// Reports, evaluations, articles.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub evidence_links: Vec<Url>,
    }
}

impl Rules for Practice {}

impl Record for Practice {
    const TYPE: RecordType = RecordType::Practice;
    const OWNER_FIELD: Option<&'static str> = Some("member");

    fn summary_title(&self) -> String {
        self.title.original_text().to_owned()
    }

    fn search_words<'a>(&'a self, words: &mut Vec<&'a str>) {
        push_ltext(words, &self.title);
        if let Some(summary) = &self.summary {
            push_ltext(words, summary);
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::records::{search_text, summary_title, testing::*};

    const KIND: RecordType = RecordType::Practice;

    #[test]
    fn full_practice_is_valid() {
        let record = valid_for(
            "NAM",
            KIND,
            json!({
                "member": "NAM",
                "kind": "best-practice",
                "title": {"en": "Women mediators' roster"},
                "summary": {
                    "en": {"text": "A national roster of trained women mediators.", "original": true},
                    "fr": {"text": "Une liste nationale de médiatrices formées.", "original": false},
                },
                "themes": ["participation-peace-processes", "capacity-building"],
                "pillars": "participation",
                "related_nap": "NAM:nap:abcdefghijk2",
                "presented_at": "SEC:meeting:abcdefghijk3",
                "contact": "NAM:focal-point:abcdefghijk4",
                "evidence_links": ["https://example.org/roster-evaluation"],
            }),
        );
        assert_eq!(record["pillars"], json!(["participation"]));
        assert_eq!(
            record["title"],
            json!({"en": {"text": "Women mediators' roster", "original": true}})
        );
        let fields = object(record);
        assert_eq!(summary_title(KIND, &fields), "Women mediators' roster");
        assert_eq!(
            search_text(KIND, &fields),
            "Women mediators' roster\nA national roster of trained women mediators.\n\
             Une liste nationale de médiatrices formées."
        );
    }

    #[test]
    fn minimal_practice_needs_title_and_a_theme() {
        let record = valid(
            KIND,
            json!({"title": "Gender budgeting", "themes": "nap-design-monitoring-financing"}),
        );
        assert_eq!(
            record,
            json!({
                "member": "ESP",
                "title": {"en": {"text": "Gender budgeting", "original": true}},
                "themes": ["nap-design-monitoring-financing"],
            })
        );
        assert_eq!(
            invalid(KIND, json!({})),
            ["themes: is required", "title: is required"]
        );
        assert_eq!(
            invalid(KIND, json!({"title": "x", "themes": []})),
            ["themes: is required; give at least one"]
        );
    }

    #[test]
    fn bad_references_and_links_are_refused() {
        let errors = invalid(
            KIND,
            json!({
                "title": "x",
                "themes": ["peacekeeping"],
                "related_nap": "my nap",
                "presented_at": "SEC:decision:abcdefghijk3",
                "contact": 7,
                "evidence_links": ["https://example.org/a", "example.org/b"],
            }),
        );
        assert_eq!(errors.len(), 4, "{errors:#?}");
        assert_has(&errors, "contact: expected text, found the number 7");
        assert_has(
            &errors,
            "evidence_links[1]: \"example.org/b\" is not a web link; write it in full, starting with https:// (or http://)",
        );
        assert_has(
            &errors,
            "presented_at: \"SEC:decision:abcdefghijk3\" is the id of a decision; a meeting id is needed here \
             (e.g. SEC:meeting:3kq7x2m7w4ab)",
        );
        assert_has_prefix(
            &errors,
            "related_nap: \"my nap\" is not a record id; ids look like SEC:nap:",
        );
    }

    #[test]
    fn null_means_absent() {
        let record = valid(
            KIND,
            json!({"title": "x", "themes": ["peacekeeping"], "summary": null}),
        );
        assert_eq!(record.get("summary"), None::<&Value>);
    }
}
