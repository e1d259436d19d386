//! Network meetings, and what members bring to them: registrations and
//! statements.
//!
//! The secretariat owns meetings; each member owns its own registration and
//! statements, which point at the meeting by id.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{
    Record, RecordType,
    dates::Period,
    ltext::LText,
    push_ltext,
    refs::{RecordRef, member_code},
    schema::{FromJson, Path, Reader, Rules, describe, schema, shorthand_for},
    shape::{Describe, Shape},
    values::{UnSymbol, Url},
    vocab::{LanguageTag, vocabulary},
};
use crate::member::MemberCode;

vocabulary! {
    /// The kinds of network meeting.
    pub enum MeetingKind ("a meeting kind") {
        /// The annual capital-level meeting, hosted by the chair.
        CapitalAnnual = "capital-annual",
        /// The follow-up meeting in New York at the Security Council's
        /// open debate on WPS.
        NewYorkFollowUp = "new-york-follow-up",
        /// A ministerial launch (e.g. of the network or of an initiative).
        MinisterialLaunch = "ministerial-launch",
        /// A meeting held online.
        Virtual = "virtual",
        /// A working group's meeting.
        WorkingGroup = "working-group",
    }
}

vocabulary! {
    /// The kinds of meeting outcome document.
    pub enum OutcomeKind ("an outcome kind") {
        /// A communiqué agreed by the participants.
        JointCommunique = "joint-communique",
        /// The chair's summary, on the chair's own authority.
        ChairsSummary = "chairs-summary",
        /// Guidelines adopted at the meeting.
        Guidelines = "guidelines",
    }
}

schema! {
    /// A network meeting.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Meeting {
        /// What kind of meeting.
        pub kind: MeetingKind,
        /// The meeting's official name (a title or a theme is required).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub title: Option<LText>,
        /// The meeting's theme (a title or a theme is required).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub theme: Option<LText>,
        /// The hosting member.
        #[serde(default, skip_serializing_if = "Option::is_none", with = "member_code::option")]
        pub host: Option<MemberCode>,
        /// The chairing member.
        #[serde(default, skip_serializing_if = "Option::is_none", with = "member_code::option")]
        pub chair: Option<MemberCode>,
        /// Co-chairing members.
        #[serde(default, skip_serializing_if = "Vec::is_empty", with = "member_code::list")]
        pub co_chairs: Vec<MemberCode>,
        /// First and last day (no `end`: a one-day meeting).
        pub dates: Period,
        /// Where (empty for virtual meetings).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub city: Option<String>,
        /// The agenda, in order.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub agenda: Vec<AgendaItem>,
        /// Working groups that meet or report.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub working_groups: Vec<WorkingGroup>,
        /// The documents the meeting produced.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub outcomes: Vec<Outcome>,
    }
}

impl Rules for Meeting {
    fn apply(&mut self, at: &Path, r: &mut Reader<'_>) {
        if self.title.is_none() && self.theme.is_none() {
            r.error(
                &at.key("theme"),
                "is required, unless the meeting has a title",
            );
        }
        if let Some(chair) = &self.chair
            && let Some(index) = self.co_chairs.iter().position(|c| c == chair)
        {
            r.error(
                &at.key("co_chairs").index(index),
                format!("{chair} is the chair; list only the other co-chairs"),
            );
        }
    }
}

schema! {
    /// One agenda item (a bare text is accepted as the item's title).
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct AgendaItem {
        /// What the item is about.
        pub title: LText,
    }
}

impl Rules for AgendaItem {
    fn prepare(value: Value) -> Value {
        shorthand_for(value, "title", &["title"])
    }
}

schema! {
    /// A working group (a bare text is accepted as its name).
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct WorkingGroup {
        /// The group's name.
        pub name: LText,
        /// The member leading it.
        #[serde(default, skip_serializing_if = "Option::is_none", with = "member_code::option")]
        pub lead: Option<MemberCode>,
    }
}

impl Rules for WorkingGroup {
    fn prepare(value: Value) -> Value {
        shorthand_for(value, "name", &["name", "lead"])
    }
}

schema! {
    /// A document a meeting produced.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Outcome {
        /// Joint communiqué, chair's summary or guidelines.
        pub kind: OutcomeKind,
        /// The UN document symbol, if circulated (e.g. `S/2024/123`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub un_symbol: Option<UnSymbol>,
        /// The document in each language.
        #[serde(default, skip_serializing_if = "Links::is_empty")]
        pub links: Links,
    }
}

impl Rules for Outcome {}

/// Links to one document in several languages: `{"en": "https://…", "fr":
/// "https://…"}`; a single link is taken to be in the node's default language.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Links(BTreeMap<LanguageTag, Url>);

impl Links {
    /// Whether there are no links.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The link for `language` (a canonical tag such as `en`).
    pub fn get(&self, language: &str) -> Option<&Url> {
        self.0
            .iter()
            .find(|(tag, _)| tag.as_str() == language)
            .map(|(_, url)| url)
    }

    /// Every language and its link.
    pub fn iter(&self) -> impl Iterator<Item = (&LanguageTag, &Url)> {
        self.0.iter()
    }
}

/// Edited as JSON: an object from language tag to link, whose keys are the
/// languages (not fixed fields).
impl Describe for Links {
    fn shape() -> Shape {
        Shape::Json
    }
}

impl FromJson for Links {
    fn from_json(value: Value, at: &Path, r: &mut Reader<'_>) -> Option<Self> {
        let entries = match value {
            Value::String(_) => {
                let default = r.ctx().default_language.clone();
                let Ok(language) = LanguageTag::parse(&default) else {
                    r.error(at, "give links per language, e.g. {\"en\": \"https://…\"}");
                    return None;
                };
                let url = Url::from_json(value, at, r)?;
                return Some(Self(BTreeMap::from([(language, url)])));
            }
            Value::Object(entries) => entries,
            other => {
                r.error(
                    at,
                    format!(
                        "expected links per language, e.g. {{\"en\": \"https://…\"}}, found {}",
                        describe(&other)
                    ),
                );
                return None;
            }
        };
        r.within(crate::limits::Limit::Languages, entries.len(), at)?;
        let mut links = BTreeMap::new();
        let mut complete = true;
        for (tag, url) in entries {
            let entry_at = at.key(&tag);
            let language = LanguageTag::parse(&tag).map_err(|message| r.error(&entry_at, message));
            let url = Url::from_json(url, &entry_at, r);
            match (language, url) {
                (Ok(language), Some(_)) if links.contains_key(&language) => {
                    r.error(
                        &entry_at,
                        format!("language {language} is given twice; give it once"),
                    );
                    complete = false;
                }
                (Ok(language), Some(url)) => {
                    links.insert(language, url);
                }
                _ => complete = false,
            }
        }
        complete.then_some(Self(links))
    }

    fn when_missing() -> Option<Self> {
        Some(Self::default())
    }
}

impl Record for Meeting {
    const TYPE: RecordType = RecordType::Meeting;

    fn summary_title(&self) -> String {
        let name = self
            .title
            .as_ref()
            .or(self.theme.as_ref())
            .map(LText::original_text)
            .unwrap_or_default();
        match &self.city {
            Some(city) => format!("{name} ({city}, {})", self.dates.start),
            None => format!("{name} ({})", self.dates.start),
        }
    }

    fn search_words<'a>(&'a self, words: &mut Vec<&'a str>) {
        if let Some(title) = &self.title {
            push_ltext(words, title);
        }
        if let Some(theme) = &self.theme {
            push_ltext(words, theme);
        }
        words.extend(self.city.as_deref());
        for item in &self.agenda {
            push_ltext(words, &item.title);
        }
        for group in &self.working_groups {
            push_ltext(words, &group.name);
        }
    }
}

schema! {
    /// A delegate (a bare text is accepted as the name).
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Delegate {
        /// The delegate's name.
        pub name: String,
        /// Their title or function.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub title: Option<String>,
    }
}

impl Rules for Delegate {
    fn prepare(value: Value) -> Value {
        shorthand_for(value, "name", &["name", "title"])
    }
}

schema! {
    /// A member's registration for a meeting.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Registration {
        /// The meeting.
        pub meeting: RecordRef<Meeting>,
        /// The registering member: always the owner.
        #[serde(with = "member_code")]
        pub member: MemberCode,
        /// Who comes.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub delegates: Vec<Delegate>,
        /// Whether a minister will speak.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub minister_speaking: Option<bool>,
    }
}

impl Rules for Registration {}

impl Record for Registration {
    const TYPE: RecordType = RecordType::Registration;
    const OWNER_FIELD: Option<&'static str> = Some("member");

    fn summary_title(&self) -> String {
        let delegates = match self.delegates.len() {
            1 => "1 delegate".to_owned(),
            n => format!("{n} delegates"),
        };
        let minister = if self.minister_speaking == Some(true) {
            ", minister speaking"
        } else {
            ""
        };
        format!("{}: {delegates}{minister}", self.member)
    }

    fn search_words<'a>(&'a self, words: &mut Vec<&'a str>) {
        for delegate in &self.delegates {
            words.push(&delegate.name);
            words.extend(delegate.title.as_deref());
        }
    }
}

schema! {
    /// A statement a member made (or will make) at a meeting: its text, a
    /// link to it, or both.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Statement {
        /// The meeting.
        pub meeting: RecordRef<Meeting>,
        /// Who speaks, e.g. `Minister of Foreign Affairs, A. Example`.
        pub speaker: String,
        /// The member speaking: always the owner.
        #[serde(with = "member_code")]
        pub member: MemberCode,
        /// The language delivered in (defaults to the text's original).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub language: Option<LanguageTag>,
        /// The statement's text.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub text: Option<LText>,
        /// Where the statement is published.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub link: Option<Url>,
    }
}

impl Rules for Statement {
    fn apply(&mut self, at: &Path, r: &mut Reader<'_>) {
        match (&self.text, &self.link) {
            (None, None) => r.error(&at.key("text"), "is required unless a link is given"),
            (Some(text), _) if self.language.is_none() => {
                self.language = text.original().map(|(language, _)| language.clone());
            }
            _ => {}
        }
    }
}

impl Record for Statement {
    const TYPE: RecordType = RecordType::Statement;
    const OWNER_FIELD: Option<&'static str> = Some("member");

    fn summary_title(&self) -> String {
        format!("{} ({})", self.speaker, self.member)
    }

    fn search_words<'a>(&'a self, words: &mut Vec<&'a str>) {
        words.push(&self.speaker);
        if let Some(text) = &self.text {
            push_ltext(words, text);
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::records::{search_text, summary_title, testing::*};

    const MEETING: &str = "SEC:meeting:abcdefghijk2";

    #[test]
    fn full_meeting_is_valid() {
        let record = valid_for(
            "SEC",
            RecordType::Meeting,
            json!({
                "kind": "capital-annual",
                "title": "Annual meeting of the network",
                "theme": {"en": {"text": "Women in peace processes", "original": true},
                          "fr": {"text": "Les femmes dans les processus de paix", "original": false}},
                "host": "NAM",
                "chair": "NAM",
                "co_chairs": ["ESP", "au"],
                "dates": {"start": "2024-04-16", "end": "2024-04-17"},
                "city": "Windhoek",
                "agenda": ["Opening", {"title": {"fr": "Table ronde"}}],
                "working_groups": [{"name": "Financing", "lead": "ESP"}, "Localization"],
                "outcomes": [
                    {"kind": "joint-communique", "un_symbol": "S/2024/123",
                     "links": {"en": "https://example.org/c-en.pdf", "fr": "https://example.org/c-fr.pdf"}},
                    {"kind": "chairs-summary", "links": "https://example.org/summary.pdf"},
                ],
            }),
        );
        assert_eq!(record["co_chairs"], json!(["ESP", "AU"]));
        assert_eq!(
            record["agenda"][0],
            json!({"title": {"en": {"text": "Opening", "original": true}}})
        );
        assert_eq!(
            record["agenda"][1],
            json!({"title": {"fr": {"text": "Table ronde", "original": true}}})
        );
        assert_eq!(
            record["working_groups"][1],
            json!({"name": {"en": {"text": "Localization", "original": true}}})
        );
        assert_eq!(
            record["outcomes"][1]["links"],
            json!({"en": "https://example.org/summary.pdf"})
        );
        let fields = object(record);
        assert_eq!(
            summary_title(RecordType::Meeting, &fields),
            "Annual meeting of the network (Windhoek, 2024-04-16)"
        );
        let text = search_text(RecordType::Meeting, &fields);
        assert!(
            text.contains("Les femmes dans les processus de paix"),
            "{text}"
        );
        assert!(text.contains("Table ronde"), "{text}");
    }

    #[test]
    fn minimal_meeting_needs_kind_title_or_theme_and_dates() {
        let record = valid_for(
            "SEC",
            RecordType::Meeting,
            json!({"kind": "virtual", "theme": "Climate and security", "dates": "2024-10-24"}),
        );
        assert_eq!(
            record,
            json!({
                "kind": "virtual",
                "theme": {"en": {"text": "Climate and security", "original": true}},
                "dates": {"start": "2024-10-24"},
            })
        );
        assert_eq!(
            summary_title(RecordType::Meeting, &object(record)),
            "Climate and security (2024-10-24)"
        );
        assert_eq!(
            invalid_for("SEC", RecordType::Meeting, json!({})),
            ["dates: is required", "kind: is required"]
        );
        assert_eq!(
            invalid_for(
                "SEC",
                RecordType::Meeting,
                json!({"kind": "virtual", "dates": "2024-10-24"})
            ),
            ["theme: is required, unless the meeting has a title"]
        );
        let record = valid_for(
            "SEC",
            RecordType::Meeting,
            json!({"kind": "working-group", "title": "Financing group, 3rd meeting", "dates": "2024-10-24"}),
        );
        assert_eq!(
            summary_title(RecordType::Meeting, &object(record)),
            "Financing group, 3rd meeting (2024-10-24)"
        );
    }

    #[test]
    fn invalid_meeting_reports_every_problem() {
        let errors = invalid_for(
            "SEC",
            RecordType::Meeting,
            json!({
                "kind": "summit",
                "theme": "x",
                "host": "Namibia",
                "dates": {"start": "2024-04-17", "end": "2024-04-16"},
                "outcomes": [{"kind": "communique", "un_symbol": "communique 1",
                              "links": {"english": "https://example.org", "fr": "example.org"}}],
            }),
        );
        assert_eq!(errors.len(), 7, "{errors:#?}");
        assert_has(
            &errors,
            "dates.end: dates.end 2024-04-16 is before dates.start 2024-04-17",
        );
        assert_has_prefix(&errors, "host: `Namibia` is not a member code");
        assert_has(
            &errors,
            "kind: \"summit\" is not a meeting kind; use one of: capital-annual, new-york-follow-up, \
             ministerial-launch, virtual, working-group",
        );
        assert_has(
            &errors,
            "outcomes[0].kind: \"communique\" is not an outcome kind; use one of: joint-communique, \
             chairs-summary, guidelines",
        );
        assert_has_prefix(
            &errors,
            "outcomes[0].links.english: \"english\" is not a language tag",
        );
        assert_has_prefix(
            &errors,
            "outcomes[0].links.fr: \"example.org\" is not a web link",
        );
        assert_has_prefix(
            &errors,
            "outcomes[0].un_symbol: \"communique 1\" is not a UN document symbol",
        );

        let errors = invalid_for(
            "SEC",
            RecordType::Meeting,
            json!({"kind": "virtual", "theme": "x", "dates": "2024-01-01", "chair": "ESP", "co_chairs": ["FRA", "ESP"]}),
        );
        assert_eq!(
            errors,
            ["co_chairs[1]: ESP is the chair; list only the other co-chairs"]
        );
    }

    #[test]
    fn registration_full_and_minimal() {
        let record = valid(
            RecordType::Registration,
            json!({
                "meeting": MEETING,
                "member": "ESP",
                "delegates": [{"name": "Lucía Ejemplo", "title": "Ambassador"}, "Marta Muestra"],
                "minister_speaking": true,
            }),
        );
        assert_eq!(record["delegates"][1], json!({"name": "Marta Muestra"}));
        let fields = object(record);
        assert_eq!(
            summary_title(RecordType::Registration, &fields),
            "ESP: 2 delegates, minister speaking"
        );
        assert_eq!(
            search_text(RecordType::Registration, &fields),
            "Lucía Ejemplo\nAmbassador\nMarta Muestra"
        );

        let record = valid(RecordType::Registration, json!({"meeting": MEETING}));
        assert_eq!(record, json!({"meeting": MEETING, "member": "ESP"}));
        assert_eq!(
            invalid(RecordType::Registration, json!({})),
            ["meeting: is required"]
        );
    }

    #[test]
    fn registration_belongs_to_its_owner_and_a_meeting() {
        let errors = invalid(
            RecordType::Registration,
            json!({"meeting": "SEC:decision:abcdefghijk2", "member": "FRA", "delegates": [{"title": "x"}]}),
        );
        assert_eq!(
            errors,
            [
                "delegates[0].name: is required",
                "meeting: \"SEC:decision:abcdefghijk2\" is the id of a decision; a meeting id is needed here \
                 (e.g. SEC:meeting:3kq7x2m7w4ab)",
            ]
        );
        let errors = invalid(
            RecordType::Registration,
            json!({"meeting": MEETING, "member": "FRA"}),
        );
        assert_eq!(
            errors,
            [
                "member: must be ESP, the member that owns this record (found FRA); leave it out to use the owner"
            ]
        );
    }

    #[test]
    fn statement_full_and_minimal() {
        let record = valid(
            RecordType::Statement,
            json!({
                "meeting": MEETING,
                "speaker": "Secretary of State, A. Example",
                "member": "ESP",
                "language": "es",
                "text": {"es": {"text": "Señora presidenta…", "original": true}, "en": "Madam Chair…"},
                "link": "https://example.org/statement",
            }),
        );
        assert_eq!(record["language"], "es");
        let fields = object(record);
        assert_eq!(
            summary_title(RecordType::Statement, &fields),
            "Secretary of State, A. Example (ESP)"
        );
        assert_eq!(
            search_text(RecordType::Statement, &fields),
            "Secretary of State, A. Example\nMadam Chair…\nSeñora presidenta…"
        );

        let record = valid(
            RecordType::Statement,
            json!({"meeting": MEETING, "speaker": "A. Example", "link": "https://example.org/s"}),
        );
        assert_eq!(
            record,
            json!({"meeting": MEETING, "speaker": "A. Example", "member": "ESP", "link": "https://example.org/s"})
        );
        // The language defaults to the text's original.
        let record = valid(
            RecordType::Statement,
            json!({"meeting": MEETING, "speaker": "A. Example", "text": {"fr": "Merci."}}),
        );
        assert_eq!(record["language"], "fr");
    }

    #[test]
    fn statement_needs_meeting_speaker_and_text_or_link() {
        assert_eq!(
            invalid(RecordType::Statement, json!({})),
            ["meeting: is required", "speaker: is required"]
        );
        assert_eq!(
            invalid(
                RecordType::Statement,
                json!({"meeting": MEETING, "speaker": "A"})
            ),
            ["text: is required unless a link is given"]
        );
        assert_eq!(
            invalid(
                RecordType::Statement,
                json!({"meeting": MEETING, "speaker": "A", "link": "x", "language": "xx-"})
            ),
            [
                "language: \"xx-\" is not a language tag; use a BCP 47 tag such as ar, zh, en, fr, ru, es or pt-BR",
                "link: \"x\" is not a web link; write it in full, starting with https:// (or http://)",
            ]
        );
    }
}
