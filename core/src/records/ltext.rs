//! Multilingual text ([`LText`]): the same text in several languages, one of
//! which is the original the others were translated from.
//!
//! Normal form: `{"en": {"text": "…", "original": true}, "fr": {"text": "…",
//! "original": false}}`, exactly one original. Accepted shorthands: a plain
//! string (the node's default language, original), a plain string per
//! language (`{"en": "…"}`), and a missing `original` where it is clear: a
//! text in a single language is always the original.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::limits::Limit;

use super::{
    schema::{FreeText, FromJson, Path, Reader, describe},
    shape::{Describe, Shape},
    vocab::LanguageTag,
};

/// Text in one or more languages; exactly one is the original.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct LText(BTreeMap<LanguageTag, Translation>);

/// The text in one language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Translation {
    /// The text itself, never empty.
    pub text: String,
    /// Whether this is the language the text was written in.
    pub original: bool,
}

impl LText {
    /// Text written in `language`, with no translations yet.
    pub fn new(language: LanguageTag, text: impl Into<String>) -> Self {
        let translation = Translation {
            text: text.into(),
            original: true,
        };
        Self(BTreeMap::from([(language, translation)]))
    }

    /// The original language and text.
    pub fn original(&self) -> Option<(&LanguageTag, &str)> {
        self.0
            .iter()
            .find(|(_, translation)| translation.original)
            .map(|(language, translation)| (language, translation.text.as_str()))
    }

    /// The original text (or, for data that bypassed validation, any text).
    pub fn original_text(&self) -> &str {
        self.original()
            .map(|(_, text)| text)
            .or_else(|| self.0.values().next().map(|t| t.text.as_str()))
            .unwrap_or("")
    }

    /// The text in `language` (a canonical tag such as `en` or `pt-BR`).
    pub fn get(&self, language: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(tag, _)| tag.as_str() == language)
            .map(|(_, translation)| translation.text.as_str())
    }

    /// Every language and its text, ordered by tag.
    pub fn translations(&self) -> impl Iterator<Item = (&LanguageTag, &Translation)> {
        self.0.iter()
    }
}

impl Describe for LText {
    fn shape() -> Shape {
        Shape::LText
    }
}

impl FromJson for LText {
    fn from_json(value: Value, at: &Path, r: &mut Reader<'_>) -> Option<Self> {
        let entries = match value {
            Value::String(text) => {
                let default = r.ctx().default_language.clone();
                let Ok(language) = LanguageTag::parse(&default) else {
                    r.error(
                        at,
                        format!(
                            "plain text needs the node's default language, but {default:?} is not \
                             a language tag; give the text as {{\"en\": \"…\"}}"
                        ),
                    );
                    return None;
                };
                let text = r.text(Value::String(text), at, Limit::TextBytes)?;
                return Some(Self::new(language, text));
            }
            Value::Object(entries) => entries,
            other => {
                r.error(
                    at,
                    format!(
                        "expected text, or an object from language to text such as \
                         {{\"en\": {{\"text\": \"…\", \"original\": true}}}}, found {}",
                        describe(&other)
                    ),
                );
                return None;
            }
        };
        if entries.is_empty() {
            r.error(at, "has no text; give the text in at least one language");
            return None;
        }
        r.within(Limit::Languages, entries.len(), at)?;
        let mut translations = BTreeMap::new();
        let mut complete = true;
        for (tag, entry) in entries {
            let entry_at = at.key(&tag);
            let language = LanguageTag::parse(&tag).map_err(|message| r.error(&entry_at, message));
            let translation = read_translation(entry, &entry_at, r);
            let (Ok(language), Some(translation)) = (language, translation) else {
                complete = false;
                continue;
            };
            if translations.contains_key(&language) {
                r.error(
                    &entry_at,
                    format!("language {language} is given twice; give it once"),
                );
                complete = false;
                continue;
            }
            translations.insert(language, translation);
        }
        if !complete {
            return None;
        }
        if translations.len() == 1 {
            // A text in one language is necessarily its original.
            for translation in translations.values_mut() {
                translation.original = true;
            }
        }
        let originals: Vec<&str> = translations
            .iter()
            .filter(|(_, t)| t.original)
            .map(|(language, _)| language.as_str())
            .collect();
        match originals.len() {
            1 => Some(Self(translations)),
            0 => {
                let languages: Vec<&str> = translations.keys().map(LanguageTag::as_str).collect();
                r.error(
                    at,
                    format!(
                        "none of {} is marked as the original; set \"original\": true on the \
                         language the text was written in",
                        languages.join(", ")
                    ),
                );
                None
            }
            _ => {
                r.error(
                    at,
                    format!(
                        "{} are all marked as the original; exactly one language is the original",
                        originals.join(", ")
                    ),
                );
                None
            }
        }
    }
}

fn read_translation(entry: Value, at: &Path, r: &mut Reader<'_>) -> Option<Translation> {
    if let Value::String(text) = entry {
        let text = r.text(Value::String(text), at, Limit::TextBytes)?;
        return Some(Translation {
            text,
            original: false,
        });
    }
    let map = r.object(entry, at)?;
    let mut fields = r.fields(map, at, &["text", "original"]);
    let text = fields.take::<FreeText>("text", r).map(|t| t.0);
    let original = fields.take::<Option<bool>>("original", r);
    Some(Translation {
        text: text?,
        original: original?.unwrap_or(false),
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::records::ValidationContext;

    fn read(value: Value) -> Result<LText, Vec<String>> {
        let ctx = ValidationContext {
            owner: "ESP".parse().unwrap(),
            default_language: "es".to_owned(),
            limits: crate::limits::Limits::default(),
        };
        let mut r = Reader::new(&ctx);
        let text = LText::from_json(value, &Path::root().key("title"), &mut r);
        let errors: Vec<String> = r.into_errors().iter().map(ToString::to_string).collect();
        match text {
            Some(text) if errors.is_empty() => Ok(text),
            _ => Err(errors),
        }
    }

    #[test]
    fn plain_string_is_original_in_the_default_language() {
        let text = read(json!("  Plan nacional  ")).unwrap();
        assert_eq!(
            serde_json::to_value(&text).unwrap(),
            json!({"es": {"text": "Plan nacional", "original": true}})
        );
    }

    #[test]
    fn single_language_is_the_original() {
        let text = read(json!({"en": {"text": "Plan"}})).unwrap();
        assert_eq!(text.original().unwrap().0.as_str(), "en");
        let text = read(json!({"EN": "Plan"})).unwrap();
        assert_eq!(text.get("en"), Some("Plan"));
        assert_eq!(text.original_text(), "Plan");
    }

    #[test]
    fn exactly_one_original_among_several() {
        let text = read(json!({
            "en": {"text": "Plan", "original": true},
            "fr": "Plan (fr)",
        }))
        .unwrap();
        assert_eq!(text.original().unwrap().0.as_str(), "en");
        assert_eq!(text.get("fr"), Some("Plan (fr)"));

        let err = read(json!({
            "en": {"text": "Plan", "original": true},
            "fr": {"text": "Plan", "original": true},
        }))
        .unwrap_err();
        assert_eq!(
            err,
            ["title: en, fr are all marked as the original; exactly one language is the original"]
        );

        let err = read(json!({"en": "Plan", "fr": "Plan"})).unwrap_err();
        assert!(
            err[0].starts_with("title: none of en, fr is marked as the original"),
            "{err:?}"
        );
    }

    #[test]
    fn bad_tags_empty_texts_and_unknown_keys_are_reported_together() {
        let err = read(json!({
            "english": "Plan",
            "fr": {"text": "  "},
            "es": {"text": "Plan", "originl": true},
        }))
        .unwrap_err();
        assert_eq!(err.len(), 3, "{err:?}");
        assert!(
            err[0].starts_with("title.english: \"english\" is not a language tag"),
            "{err:?}"
        );
        assert!(
            err[1].starts_with("title.es.originl: unknown field"),
            "{err:?}"
        );
        assert!(err[2].starts_with("title.fr.text: is empty"), "{err:?}");
    }

    #[test]
    fn duplicate_languages_after_canonicalization_are_rejected() {
        let err = read(json!({"pt-br": "a", "pt-BR": "b"})).unwrap_err();
        assert!(err[0].contains("language pt-BR is given twice"), "{err:?}");
    }

    #[test]
    fn empty_and_wrongly_typed_text_is_rejected() {
        assert_eq!(
            read(json!("")).unwrap_err(),
            ["title: is empty; write the text or leave the field out"]
        );
        assert!(read(json!({})).unwrap_err()[0].contains("has no text"));
        assert!(read(json!(42)).unwrap_err()[0].contains("found the number 42"));
    }
}
