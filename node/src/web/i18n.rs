//! The web app's interface in the six UN languages, from Project Fluent
//! message files (`web/i18n/*.ftl`, compiled into the binary).
//!
//! English is the reference: a test fails when a message of any file is
//! missing from another, or when a page asks for a message no file has.
//! Each request's language is the `focal_lang` cookie's (set by the
//! language links), else the first of the browser's `Accept-Language` that
//! Focal speaks, else English.

use fluent_bundle::{FluentArgs, FluentResource, FluentValue, concurrent::FluentBundle};

/// A language of the interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lang {
    /// Arabic, written right to left.
    Ar,
    /// Chinese (simplified).
    Zh,
    /// English.
    En,
    /// French.
    Fr,
    /// Russian.
    Ru,
    /// Spanish.
    Es,
}

impl Lang {
    /// Every language, in the UN's order (English alphabetical).
    pub const ALL: [Lang; 6] = [Lang::Ar, Lang::Zh, Lang::En, Lang::Fr, Lang::Ru, Lang::Es];

    /// The BCP 47 code (`lang` attribute, cookie, record text).
    pub fn code(self) -> &'static str {
        match self {
            Lang::Ar => "ar",
            Lang::Zh => "zh",
            Lang::En => "en",
            Lang::Fr => "fr",
            Lang::Ru => "ru",
            Lang::Es => "es",
        }
    }

    /// The language named in its own language, for the switcher.
    pub fn native_name(self) -> &'static str {
        match self {
            Lang::Ar => "العربية",
            Lang::Zh => "中文",
            Lang::En => "English",
            Lang::Fr => "Français",
            Lang::Ru => "Русский",
            Lang::Es => "Español",
        }
    }

    /// `rtl` for Arabic, else `ltr`.
    pub fn dir(self) -> &'static str {
        if self == Lang::Ar { "rtl" } else { "ltr" }
    }

    /// The language of `code` (`fr`, `fr-CA`, `zh-Hans`), if Focal speaks it.
    pub fn parse(code: &str) -> Option<Lang> {
        let primary = code.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        Lang::ALL.into_iter().find(|l| l.code() == primary)
    }

    /// The first language of an `Accept-Language` header Focal speaks, by
    /// the header's weights.
    pub fn from_accept(header: &str) -> Option<Lang> {
        let mut offered: Vec<(f32, usize, Lang)> = header
            .split(',')
            .take(32)
            .enumerate()
            .filter_map(|(at, part)| {
                let mut pieces = part.split(';');
                let lang = Lang::parse(pieces.next()?)?;
                let q = pieces
                    .find_map(|p| p.trim().strip_prefix("q="))
                    .and_then(|q| q.parse::<f32>().ok())
                    .unwrap_or(1.0);
                (q > 0.0).then_some((q, at, lang))
            })
            .collect();
        offered.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        offered.first().map(|(_, _, lang)| *lang)
    }

    /// The interface's messages, and the labels of record fields and
    /// vocabulary values (`*-labels.ftl`).
    fn sources(self) -> [&'static str; 2] {
        match self {
            Lang::Ar => [
                include_str!("i18n/ar.ftl"),
                include_str!("i18n/ar-labels.ftl"),
            ],
            Lang::Zh => [
                include_str!("i18n/zh.ftl"),
                include_str!("i18n/zh-labels.ftl"),
            ],
            Lang::En => [
                include_str!("i18n/en.ftl"),
                include_str!("i18n/en-labels.ftl"),
            ],
            Lang::Fr => [
                include_str!("i18n/fr.ftl"),
                include_str!("i18n/fr-labels.ftl"),
            ],
            Lang::Ru => [
                include_str!("i18n/ru.ftl"),
                include_str!("i18n/ru-labels.ftl"),
            ],
            Lang::Es => [
                include_str!("i18n/es.ftl"),
                include_str!("i18n/es-labels.ftl"),
            ],
        }
    }
}

/// The message bundles of every language.
pub struct I18n {
    bundles: Vec<(Lang, FluentBundle<FluentResource>)>,
}

impl Default for I18n {
    fn default() -> Self {
        Self::new()
    }
}

impl I18n {
    /// Every language's bundle. A file that does not parse is a build
    /// defect the tests catch; its good messages are still used.
    pub fn new() -> Self {
        let bundles = Lang::ALL
            .into_iter()
            .map(|lang| {
                let langid = lang
                    .code()
                    .parse()
                    .unwrap_or_else(|_| unic_langid::LanguageIdentifier::default());
                let mut bundle = FluentBundle::new_concurrent(vec![langid]);
                // Names and titles are shown in elements with `dir="auto"`;
                // isolation marks would only clutter copied text.
                bundle.set_use_isolating(false);
                for source in lang.sources() {
                    let resource = FluentResource::try_new(source.to_owned())
                        .unwrap_or_else(|(partial, _)| partial);
                    let _ = bundle.add_resource(resource);
                }
                (lang, bundle)
            })
            .collect();
        Self { bundles }
    }

    fn bundle(&self, lang: Lang) -> Option<&FluentBundle<FluentResource>> {
        self.bundles
            .iter()
            .find(|(l, _)| *l == lang)
            .map(|(_, b)| b)
    }

    /// The message `id` in `lang` (English if missing there; the id itself
    /// if missing everywhere, which the tests forbid).
    pub fn text(&self, lang: Lang, id: &str, args: &[(&str, Arg<'_>)]) -> String {
        let args = (!args.is_empty()).then(|| {
            let mut list = FluentArgs::new();
            for (name, value) in args {
                match value {
                    Arg::Text(text) => list.set(*name, FluentValue::from(*text)),
                    Arg::Number(n) => list.set(*name, FluentValue::from(*n)),
                }
            }
            list
        });
        for lang in [lang, Lang::En] {
            if let Some(bundle) = self.bundle(lang)
                && let Some(pattern) = bundle.get_message(id).and_then(|m| m.value())
            {
                let mut errors = Vec::new();
                return bundle
                    .format_pattern(pattern, args.as_ref(), &mut errors)
                    .into_owned();
            }
        }
        id.to_owned()
    }
}

/// A value put into a message.
#[derive(Debug, Clone, Copy)]
pub enum Arg<'a> {
    /// Text.
    Text(&'a str),
    /// A number (plural rules follow it).
    Number(i64),
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    fn ids(lang: Lang) -> BTreeSet<String> {
        let mut ids = BTreeSet::new();
        for source in lang.sources() {
            if let Err((_, errors)) = FluentResource::try_new(source.to_owned()) {
                panic!("{}.ftl does not parse: {errors:?}", lang.code());
            }
            for id in source_ids(source) {
                assert!(
                    ids.insert(id.clone()),
                    "{}: `{id}` is defined twice",
                    lang.code()
                );
            }
        }
        ids
    }

    /// A message starts a line with its id and ` =`.
    fn source_ids(source: &str) -> BTreeSet<String> {
        source
            .lines()
            .filter_map(|line| {
                let (id, _) = line.split_once(" =")?;
                (id.starts_with(|c: char| c.is_ascii_alphabetic())
                    && id
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'))
                .then(|| id.to_owned())
            })
            .collect()
    }

    #[test]
    fn every_language_has_every_message_and_no_other() {
        let english = ids(Lang::En);
        assert!(english.len() > 50, "{}", english.len());
        for lang in Lang::ALL {
            let theirs = ids(lang);
            let missing: Vec<_> = english.difference(&theirs).collect();
            let extra: Vec<_> = theirs.difference(&english).collect();
            assert!(
                missing.is_empty() && extra.is_empty(),
                "{}.ftl: missing {missing:?}, not in en.ftl {extra:?}",
                lang.code()
            );
        }
    }

    /// Every message id the pages and templates ask for by name
    /// (`c.t("id")`, `c.tn(…)`, `c.ts(…)`, `msg(app, ctx.lang, "id")`,
    /// `text(lang, "id", …)`) is in en.ftl, hence (above) in every
    /// language. Ids made at run time (`type-…`, `visibility-…`) are checked
    /// by `every_value_has_a_message`.
    #[test]
    fn every_message_a_page_asks_for_exists() {
        let english = ids(Lang::En);
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut sources = Vec::new();
        for dir in [root.join("templates"), root.join("src/web")] {
            for file in std::fs::read_dir(&dir).unwrap() {
                let path = file.unwrap().path();
                if path.extension().is_some_and(|e| e == "html" || e == "rs") {
                    sources.push((path.clone(), std::fs::read_to_string(&path).unwrap()));
                }
            }
        }
        let mut asked = 0;
        for (path, text) in &sources {
            for marker in [".t(\"", ".tn(\"", ".ts(\"", "lang, \""] {
                for (at, _) in text.match_indices(marker) {
                    let rest = &text[at + marker.len()..];
                    let id = &rest[..rest.find('"').unwrap()];
                    if id.is_empty() || id.contains(' ') || id == "id" {
                        continue;
                    }
                    asked += 1;
                    assert!(
                        english.contains(id),
                        "{} asks for message `{id}`, which en.ftl lacks",
                        path.display()
                    );
                }
            }
        }
        assert!(asked > 30, "{asked}");
    }

    #[test]
    fn messages_format_in_every_language() {
        let i18n = I18n::new();
        for lang in Lang::ALL {
            for id in ids(Lang::En) {
                let text = i18n.text(
                    lang,
                    &id,
                    &[
                        ("count", Arg::Number(3)),
                        ("name", Arg::Text("Ana")),
                        ("member", Arg::Text("ESP")),
                        ("minutes", Arg::Number(5)),
                        ("when", Arg::Text("2026-12-01")),
                        ("type", Arg::Text("practice")),
                        ("min", Arg::Number(12)),
                        ("role", Arg::Text("editor")),
                        ("value", Arg::Text("en: Plan")),
                        ("first", Arg::Number(51)),
                        ("last", Arg::Number(100)),
                    ],
                );
                assert!(!text.trim().is_empty(), "{}: {id} is empty", lang.code());
                assert!(!text.contains("{$"), "{}: {id}: {text}", lang.code());
            }
        }
        assert_eq!(
            i18n.text(Lang::Fr, "no-such-message", &[]),
            "no-such-message"
        );
    }

    /// The messages whose ids the pages make from values: record types,
    /// visibilities, standings, actions, NAP states, roles.
    #[test]
    fn every_value_has_a_message() {
        let english = ids(Lang::En);
        let mut wanted: Vec<String> = crate::records::RecordType::ALL
            .iter()
            .chain(crate::records::RecordType::COMPANIONS)
            .map(|t| format!("type-{}", t.as_str()))
            .collect();
        for v in ["network", "secretariat", "local"] {
            wanted.push(format!("visibility-{v}"));
        }
        for s in ["active", "suspended", "removed"] {
            wanted.push(format!("standing-{s}"));
        }
        for a in ["create", "update", "delete"] {
            wanted.push(format!("action-{a}"));
        }
        for n in ["in-force", "adopted", "drafting", "expired", "none"] {
            wanted.push(format!("nap-state-{n}"));
        }
        for r in ["reader", "editor", "admin"] {
            wanted.push(r.to_owned());
        }
        for id in wanted {
            assert!(english.contains(&id), "en.ftl lacks `{id}`");
        }
    }

    /// Every field of every record type's form has a label
    /// (`field-NAME`), and every vocabulary value offered a name
    /// (`value-VALUE`), in English and so (above) in every language.
    #[test]
    fn every_field_and_choice_has_a_label() {
        use crate::records::shape::{Shape, fields_of};
        fn walk(shape: &Shape, names: &mut BTreeSet<String>, values: &mut BTreeSet<String>) {
            match shape {
                Shape::Object(fields) => {
                    for f in fields {
                        names.insert(f.name.to_owned());
                        walk(&f.shape, names, values);
                    }
                }
                Shape::List(item) => walk(item, names, values),
                Shape::Choice { values: v } => values.extend(v.iter().map(|s| (*s).to_owned())),
                _ => {}
            }
        }
        let (mut names, mut values) = (BTreeSet::new(), BTreeSet::new());
        for kind in crate::records::RecordType::ALL
            .iter()
            .chain(crate::records::RecordType::COMPANIONS)
        {
            walk(&Shape::Object(fields_of(*kind)), &mut names, &mut values);
        }
        let english = ids(Lang::En);
        let missing: Vec<String> = names
            .iter()
            .map(|n| format!("field-{n}"))
            .chain(values.iter().map(|v| format!("value-{v}")))
            .filter(|id| !english.contains(id))
            .collect();
        assert!(
            missing.is_empty(),
            "en.ftl lacks {} labels: {}",
            missing.len(),
            missing.join(" ")
        );
    }

    #[test]
    fn the_browser_language_is_taken_by_weight() {
        assert_eq!(
            Lang::from_accept("fr-CH, fr;q=0.9, en;q=0.8"),
            Some(Lang::Fr)
        );
        assert_eq!(Lang::from_accept("de, ar;q=0.5, es;q=0.7"), Some(Lang::Es));
        assert_eq!(Lang::from_accept("zh-Hans-CN"), Some(Lang::Zh));
        assert_eq!(Lang::from_accept("de, it"), None);
        assert_eq!(Lang::from_accept("ru;q=0"), None);
        assert_eq!(Lang::Ar.dir(), "rtl");
        assert_eq!(Lang::En.dir(), "ltr");
    }
}
