//! Create and edit forms, generated from the shapes of the schema the node
//! validates with (`records::shape`), and read back into a record's JSON.
//!
//! Every field is in the form, required ones marked; vocabularies are
//! choices, references pickers of existing records, multilingual text one
//! input per language with the original marked. A value is named by its
//! JSON path: `period.start`, `documents.0.url` (an item of a list of
//! objects), `title~es` (one language of a multilingual text),
//! `title~original`. The node's validation messages are shown at the field
//! their path names (`documents[0].url`), and all together at the top.

use std::{collections::HashMap, fmt::Write as _};

use serde_json::{Map, Number, Value};

use crate::{
    records::{
        FieldError,
        shape::{Field, Shape},
    },
    web::{
        i18n::Lang,
        pages::{Chrome, esc},
    },
};

/// The deepest a form nests objects (the schemas nest three levels).
const MAX_FORM_DEPTH: usize = 6;
/// Items a list of objects offers beyond those it holds.
const BLANK_ITEMS: usize = 1;
/// Inputs read from one form, and the highest item number of a list: a
/// record's form has a few hundred; what is beyond is ignored (the body is
/// bounded too, 1 MiB, but reading paths is quadratic in the inputs).
const MAX_INPUTS: usize = 4_000;
const MAX_ITEMS: usize = 1_000;

/// A record picker's choices for each referred record type: (id, label).
pub type Choices = HashMap<&'static str, Vec<(String, String)>>;

/// Fields whose text is long (a textarea rather than a line).
fn long(name: &str) -> bool {
    matches!(
        name,
        "description"
            | "summary"
            | "framework"
            | "notes"
            | "text"
            | "lessons"
            | "results"
            | "challenges"
            | "outcome"
            | "abstract"
            | "body"
            | "purpose"
            | "details"
    )
}

/// A form's values: every input's values by name.
pub struct Values(HashMap<String, Vec<String>>);

impl Values {
    /// The values of an `application/x-www-form-urlencoded` body.
    pub fn parse(body: &[u8]) -> Self {
        let mut map: HashMap<String, Vec<String>> = HashMap::new();
        for (name, value) in form_urlencoded::parse(body).take(MAX_INPUTS) {
            map.entry(name.into_owned())
                .or_default()
                .push(value.into_owned());
        }
        Self(map)
    }

    /// The first value of `name`, trimmed, if not empty.
    pub fn one(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .and_then(|v| v.first())
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
    }

    fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .get(name)
            .map(|v| {
                v.iter()
                    .map(|s| s.trim())
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The item indices of the list of objects at `path` (`path.3.x`).
    fn indices(&self, path: &str) -> Vec<usize> {
        let prefix = format!("{path}.");
        let mut found: Vec<usize> = self
            .0
            .keys()
            .filter_map(|k| k.strip_prefix(&prefix))
            .filter_map(|rest| rest.split(['.', '~']).next()?.parse().ok())
            .filter(|i| *i < MAX_ITEMS)
            .collect();
        found.sort_unstable();
        found.dedup();
        found
    }
}

/// Reads `fields` out of the form `values`: the record's JSON fields, with
/// what was left empty absent.
pub fn read(fields: &[Field], values: &Values) -> Map<String, Value> {
    read_object(fields, "", values, 0)
}

fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_owned()
    } else {
        format!("{prefix}.{name}")
    }
}

fn read_object(
    fields: &[Field],
    prefix: &str,
    values: &Values,
    depth: usize,
) -> Map<String, Value> {
    let mut map = Map::new();
    for field in fields {
        let path = join(prefix, field.name);
        if let Some(value) = read_value(&field.shape, &path, values, depth + 1) {
            map.insert(field.name.to_owned(), value);
        }
    }
    map
}

fn read_value(shape: &Shape, path: &str, values: &Values, depth: usize) -> Option<Value> {
    if depth > MAX_FORM_DEPTH {
        return None;
    }
    match shape {
        Shape::LText => {
            let original = values.one(&format!("{path}~original"));
            let mut texts = Map::new();
            for (name, _) in values.0.iter() {
                let Some(lang) = name.strip_prefix(&format!("{path}~")) else {
                    continue;
                };
                if lang == "original" || lang.len() > 35 {
                    continue;
                }
                if let Some(text) = values.one(name) {
                    let mut t = Map::new();
                    t.insert("text".into(), Value::String(text.to_owned()));
                    t.insert("original".into(), Value::Bool(original == Some(lang)));
                    texts.insert(lang.to_owned(), Value::Object(t));
                }
            }
            (!texts.is_empty()).then_some(Value::Object(texts))
        }
        Shape::Bool => match values.one(path)? {
            "yes" | "true" => Some(Value::Bool(true)),
            "no" | "false" => Some(Value::Bool(false)),
            other => Some(Value::String(other.to_owned())),
        },
        Shape::Number { .. } | Shape::Year => {
            let text = values.one(path)?;
            Some(
                text.parse::<i64>()
                    .map(Value::from)
                    .ok()
                    .or_else(|| {
                        text.parse::<f64>()
                            .ok()
                            .and_then(Number::from_f64)
                            .map(Value::Number)
                    })
                    .unwrap_or_else(|| Value::String(text.to_owned())),
            )
        }
        Shape::Json => {
            let text = values.one(path)?;
            Some(serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_owned())))
        }
        Shape::Object(fields) => {
            let map = read_object(fields, path, values, depth);
            (!map.is_empty()).then_some(Value::Object(map))
        }
        Shape::List(item) => {
            let items: Vec<Value> = match item.as_ref() {
                Shape::Object(_) | Shape::LText => values
                    .indices(path)
                    .into_iter()
                    .filter_map(|i| read_value(item, &format!("{path}.{i}"), values, depth + 1))
                    .collect(),
                Shape::Choice { .. } => values
                    .all(path)
                    .into_iter()
                    .map(|v| Value::String(v.to_owned()))
                    .collect(),
                Shape::Number { .. } | Shape::Year => values
                    .one(path)
                    .unwrap_or_default()
                    .lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .map(|l| {
                        l.parse::<i64>()
                            .map(Value::from)
                            .unwrap_or_else(|_| Value::String(l.to_owned()))
                    })
                    .collect(),
                Shape::List(_) | Shape::Json => {
                    return read_value(&Shape::Json, path, values, depth);
                }
                _ => values
                    .one(path)
                    .unwrap_or_default()
                    .lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .map(|l| Value::String(l.to_owned()))
                    .collect(),
            };
            (!items.is_empty()).then_some(Value::Array(items))
        }
        _ => values.one(path).map(|v| Value::String(v.to_owned())),
    }
}

/// A validation path (`documents[0].url`) as a form path (`documents.0.url`).
fn form_path(field: &str) -> String {
    field.replace('[', ".").replace(']', "")
}

/// Lays out a form's fields for `current` (the record's fields, or what
/// was sent), with `errors` at their fields; the errors no field showed
/// are returned, for the summary.
pub struct Renderer<'a> {
    c: &'a Chrome,
    choices: &'a Choices,
    errors: Vec<(String, &'a FieldError, bool)>,
    /// The original language of new multilingual text.
    lang: Lang,
}

impl<'a> Renderer<'a> {
    /// A renderer.
    pub fn new(c: &'a Chrome, choices: &'a Choices, errors: &'a [FieldError]) -> Self {
        Self {
            c,
            choices,
            errors: errors
                .iter()
                .map(|e| (form_path(&e.field), e, false))
                .collect(),
            lang: c.lang,
        }
    }

    /// The fields' HTML.
    pub fn fields(&mut self, fields: &[Field], current: &Map<String, Value>) -> String {
        let mut out = String::new();
        self.object(fields, "", current, 0, &mut out);
        out
    }

    /// The errors shown at no field: (id to link to, message).
    pub fn summary(&self) -> Vec<(String, String, String)> {
        self.errors
            .iter()
            .map(|(path, e, _)| {
                (
                    format!("f-{}", id_of(path)),
                    crate::web::pages::field_label(self.c, last(path)),
                    e.message.clone(),
                )
            })
            .collect()
    }

    /// Errors at `path` itself or (for `deep`) inside it.
    fn take_errors(&mut self, path: &str, deep: bool) -> Vec<String> {
        let mut found = Vec::new();
        for (at, e, shown) in &mut self.errors {
            let inside = deep
                && (at.starts_with(&format!("{path}.")) || at.starts_with(&format!("{path}~")));
            if *at == path || inside {
                *shown = true;
                found.push(e.message.clone());
            }
        }
        found
    }

    fn object(
        &mut self,
        fields: &[Field],
        prefix: &str,
        current: &Map<String, Value>,
        depth: usize,
        out: &mut String,
    ) {
        for field in fields {
            let path = join(prefix, field.name);
            self.field(field, &path, current.get(field.name), depth + 1, out);
        }
    }

    fn label(&self, name: &str, required: bool) -> String {
        let mut text = esc(&crate::web::pages::field_label(self.c, name));
        if required {
            let _ = write!(
                text,
                " <span class=\"req\">({})</span>",
                esc(&self.c.t("required"))
            );
        }
        text
    }

    fn errors_html(id: &str, errors: &[String]) -> String {
        if errors.is_empty() {
            return String::new();
        }
        let mut out = format!("<span class=\"field-error\" id=\"{id}-error\">");
        for e in errors {
            let _ = write!(out, "<span>{}</span> ", esc(e));
        }
        out.push_str("</span>");
        out
    }

    fn field(
        &mut self,
        field: &Field,
        path: &str,
        value: Option<&Value>,
        depth: usize,
        out: &mut String,
    ) {
        let id = format!("f-{}", id_of(path));
        if depth > MAX_FORM_DEPTH {
            return;
        }
        match &field.shape {
            Shape::Object(fields) => {
                let errors = self.take_errors(path, false);
                let _ = write!(
                    out,
                    "<fieldset id=\"{id}\"><legend>{}</legend>{}",
                    self.label(field.name, field.required),
                    Self::errors_html(&id, &errors)
                );
                let empty = Map::new();
                let map = value.and_then(Value::as_object).unwrap_or(&empty);
                self.object(fields, path, map, depth, out);
                out.push_str("</fieldset>");
            }
            Shape::List(item) if matches!(item.as_ref(), Shape::Object(_) | Shape::LText) => {
                let errors = self.take_errors(path, false);
                let _ = write!(
                    out,
                    "<fieldset id=\"{id}\" class=\"list\"><legend>{}</legend>{}",
                    self.label(field.name, field.required),
                    Self::errors_html(&id, &errors)
                );
                let items = value.and_then(Value::as_array).cloned().unwrap_or_default();
                for i in 0..items.len() + BLANK_ITEMS {
                    let item_field = Field {
                        name: field.name,
                        required: false,
                        shape: item.as_ref().clone(),
                    };
                    let _ = write!(
                        out,
                        "<div class=\"item\"><p class=\"item-head\">{} {}</p>",
                        esc(&crate::web::pages::field_label(self.c, field.name)),
                        i + 1
                    );
                    let item_path = format!("{path}.{i}");
                    match item.as_ref() {
                        Shape::Object(fields) => {
                            let empty = Map::new();
                            let map = items.get(i).and_then(Value::as_object).unwrap_or(&empty);
                            self.object(fields, &item_path, map, depth + 1, out);
                        }
                        _ => self.field(&item_field, &item_path, items.get(i), depth + 1, out),
                    }
                    out.push_str("</div>");
                }
                out.push_str("</fieldset>");
            }
            Shape::LText => self.ltext(field, path, value, out),
            shape => {
                let errors = self.take_errors(path, true);
                let described = if errors.is_empty() {
                    String::new()
                } else {
                    format!(" aria-invalid=\"true\" aria-describedby=\"{id}-error\"")
                };
                let required = if field.required { " required" } else { "" };
                let _ = write!(
                    out,
                    "<p class=\"field\"><label for=\"{id}\">{}</label>",
                    self.label(field.name, field.required)
                );
                self.input(
                    shape, field.name, path, &id, value, required, &described, out,
                );
                out.push_str(&Self::errors_html(&id, &errors));
                out.push_str("</p>");
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn input(
        &self,
        shape: &Shape,
        name: &str,
        path: &str,
        id: &str,
        value: Option<&Value>,
        required: &str,
        described: &str,
        out: &mut String,
    ) {
        let text = |v: Option<&Value>| match v {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Null) | None => String::new(),
            Some(other) => other.to_string(),
        };
        let path = esc(path);
        match shape {
            Shape::Text { input } => {
                let _ = write!(
                    out,
                    "<input id=\"{id}\" name=\"{path}\" type=\"{input}\" value=\"{}\" dir=\"auto\"{required}{described}>",
                    esc(&text(value))
                );
            }
            Shape::Date => {
                let _ = write!(
                    out,
                    "<input id=\"{id}\" name=\"{path}\" type=\"date\" value=\"{}\"{required}{described}>",
                    esc(&text(value))
                );
            }
            Shape::Year | Shape::Number { .. } => {
                let step = match shape {
                    Shape::Number { integer: false } => " step=\"any\"",
                    _ => "",
                };
                let _ = write!(
                    out,
                    "<input id=\"{id}\" name=\"{path}\" type=\"number\"{step} value=\"{}\"{required}{described}>",
                    esc(&text(value))
                );
            }
            Shape::Member | Shape::Language | Shape::Currency => {
                let _ = write!(
                    out,
                    "<input id=\"{id}\" name=\"{path}\" value=\"{}\" size=\"8\" autocapitalize=\"characters\"{required}{described}>",
                    esc(&text(value))
                );
            }
            Shape::Bool => {
                let current = match value {
                    Some(Value::Bool(true)) => "yes",
                    Some(Value::Bool(false)) => "no",
                    _ => "",
                };
                let _ = write!(
                    out,
                    "<select id=\"{id}\" name=\"{path}\"{required}{described}>"
                );
                for (v, label) in [("", "—"), ("yes", "yes"), ("no", "no")] {
                    let shown = if v.is_empty() {
                        label.to_owned()
                    } else {
                        self.c.t(label)
                    };
                    let _ = write!(
                        out,
                        "<option value=\"{v}\"{}>{}</option>",
                        if v == current { " selected" } else { "" },
                        esc(&shown)
                    );
                }
                out.push_str("</select>");
            }
            Shape::Choice { values } => {
                let current = text(value);
                let _ = write!(
                    out,
                    "<select id=\"{id}\" name=\"{path}\"{required}{described}>"
                );
                let _ = write!(out, "<option value=\"\">—</option>");
                for v in values.iter() {
                    let _ = write!(
                        out,
                        "<option value=\"{v}\"{}>{}</option>",
                        if *v == current { " selected" } else { "" },
                        esc(&choice_label(self.c, v))
                    );
                }
                out.push_str("</select>");
            }
            Shape::Reference { kind } => {
                let current = text(value);
                let _ = write!(
                    out,
                    "<select id=\"{id}\" name=\"{path}\"{required}{described}>"
                );
                let _ = write!(out, "<option value=\"\">—</option>");
                let options = self.choices.get(kind).map(Vec::as_slice).unwrap_or(&[]);
                let mut found = false;
                for (rid, label) in options {
                    found |= *rid == current;
                    let _ = write!(
                        out,
                        "<option value=\"{}\"{}>{}</option>",
                        esc(rid),
                        if *rid == current { " selected" } else { "" },
                        esc(label)
                    );
                }
                if !found && !current.is_empty() {
                    let _ = write!(
                        out,
                        "<option value=\"{0}\" selected>{0}</option>",
                        esc(&current)
                    );
                }
                out.push_str("</select>");
            }
            Shape::List(item) => match item.as_ref() {
                Shape::Choice { values } => {
                    let chosen: Vec<String> = value
                        .and_then(Value::as_array)
                        .map(|a| a.iter().map(|v| text(Some(v))).collect())
                        .unwrap_or_default();
                    let _ = write!(out, "<span class=\"checks\" id=\"{id}\" role=\"group\">");
                    for (i, v) in values.iter().enumerate() {
                        let _ = write!(
                            out,
                            "<span class=\"check\"><input type=\"checkbox\" id=\"{id}-{i}\" name=\"{path}\" value=\"{v}\"{}> <label for=\"{id}-{i}\">{}</label></span>",
                            if chosen.iter().any(|c| c == v) {
                                " checked"
                            } else {
                                ""
                            },
                            esc(&choice_label(self.c, v))
                        );
                    }
                    out.push_str("</span>");
                }
                Shape::List(_) | Shape::Json => self.json(path.as_str(), id, value, described, out),
                _ => {
                    let lines: Vec<String> = value
                        .and_then(Value::as_array)
                        .map(|a| a.iter().map(|v| text(Some(v))).collect())
                        .unwrap_or_default();
                    let _ = write!(
                        out,
                        "<textarea id=\"{id}\" name=\"{path}\" rows=\"3\" dir=\"auto\" aria-describedby=\"{id}-hint\"{described}>{}</textarea><span class=\"hint\" id=\"{id}-hint\">{}</span>",
                        esc(&lines.join("\n")),
                        esc(&self.c.t("one-per-line"))
                    );
                }
            },
            Shape::Json => self.json(path.as_str(), id, value, described, out),
            Shape::LText | Shape::Object(_) => {
                let _ = name;
            }
        }
    }

    fn json(&self, path: &str, id: &str, value: Option<&Value>, described: &str, out: &mut String) {
        let text = match value {
            None | Some(Value::Null) => String::new(),
            Some(v) => serde_json::to_string_pretty(v).unwrap_or_default(),
        };
        let _ = write!(
            out,
            "<textarea id=\"{id}\" name=\"{path}\" rows=\"4\" class=\"code\" aria-describedby=\"{id}-hint\"{described}>{}</textarea><span class=\"hint\" id=\"{id}-hint\">{}</span>",
            esc(&text),
            esc(&self.c.t("as-json"))
        );
    }

    /// Multilingual text: a tab (a fieldset without script) per UN
    /// language and per other language the text has, the original chosen
    /// with a radio button.
    fn ltext(&mut self, field: &Field, path: &str, value: Option<&Value>, out: &mut String) {
        let id = format!("f-{}", id_of(path));
        let errors = self.take_errors(path, true);
        let map = value.and_then(Value::as_object);
        let mut langs: Vec<String> = Lang::ALL.iter().map(|l| l.code().to_owned()).collect();
        if let Some(map) = map {
            for lang in map.keys() {
                if !langs.contains(lang) && lang.len() <= 35 {
                    langs.push(lang.clone());
                }
            }
        }
        let original = map
            .and_then(|m| {
                m.iter()
                    .find(|(_, v)| v.get("original").and_then(Value::as_bool) == Some(true))
                    .map(|(l, _)| l.clone())
            })
            .unwrap_or_else(|| self.lang.code().to_owned());
        let long = long(field.name);
        let _ = write!(
            out,
            "<fieldset class=\"ltext\" id=\"{id}\" data-tabs{}><legend>{}</legend>{}<div class=\"tabs\" role=\"tablist\" hidden></div>",
            if errors.is_empty() {
                ""
            } else {
                " aria-invalid=\"true\""
            },
            self.label(field.name, field.required),
            Self::errors_html(&id, &errors)
        );
        for lang in &langs {
            let text = map
                .and_then(|m| m.get(lang))
                .and_then(|v| v.get("text"))
                .and_then(Value::as_str)
                .unwrap_or_default();
            let name = Lang::parse(lang)
                .filter(|l| l.code() == lang)
                .map(|l| l.native_name().to_owned())
                .unwrap_or_else(|| lang.clone());
            let is_original = *lang == original;
            let lid = format!("{id}-{}", id_of(lang));
            let _ = write!(
                out,
                "<div class=\"lang-panel\" data-lang=\"{0}\" data-label=\"{1}\"><label for=\"{lid}\" lang=\"{0}\">{1}</label>",
                esc(lang),
                esc(&name)
            );
            let input_name = esc(&format!("{path}~{lang}"));
            if long {
                let _ = write!(
                    out,
                    "<textarea id=\"{lid}\" name=\"{input_name}\" lang=\"{}\" dir=\"auto\" rows=\"4\">{}</textarea>",
                    esc(lang),
                    esc(text)
                );
            } else {
                let _ = write!(
                    out,
                    "<input id=\"{lid}\" name=\"{input_name}\" lang=\"{}\" dir=\"auto\" value=\"{}\">",
                    esc(lang),
                    esc(text)
                );
            }
            let _ = write!(
                out,
                " <span class=\"original\"><input type=\"radio\" id=\"{lid}-o\" name=\"{}\" value=\"{}\"{}> <label for=\"{lid}-o\">{}</label></span></div>",
                esc(&format!("{path}~original")),
                esc(lang),
                if is_original { " checked" } else { "" },
                esc(&self.c.t("original-language"))
            );
        }
        out.push_str("</fieldset>");
    }
}

fn last(path: &str) -> &str {
    path.rsplit('.')
        .find(|p| p.parse::<usize>().is_err())
        .unwrap_or(path)
}

/// An HTML id for a path (letters, digits, `-`).
fn id_of(path: &str) -> String {
    path.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect()
}

/// A vocabulary value's label: its message if there is one, else the value
/// with spaces.
fn choice_label(c: &Chrome, value: &str) -> String {
    let id = format!("value-{value}");
    let text = c.t(&id);
    if text == id {
        value.replace('-', " ")
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::shape::Field;

    fn shape() -> Vec<Field> {
        vec![
            Field {
                name: "title",
                required: true,
                shape: Shape::LText,
            },
            Field {
                name: "period",
                required: false,
                shape: Shape::Object(vec![
                    Field {
                        name: "start",
                        required: true,
                        shape: Shape::Date,
                    },
                    Field {
                        name: "end",
                        required: false,
                        shape: Shape::Date,
                    },
                ]),
            },
            Field {
                name: "themes",
                required: false,
                shape: Shape::List(Box::new(Shape::Choice {
                    values: &["a", "b", "c"],
                })),
            },
            Field {
                name: "documents",
                required: false,
                shape: Shape::List(Box::new(Shape::Object(vec![Field {
                    name: "url",
                    required: true,
                    shape: Shape::Text { input: "url" },
                }]))),
            },
            Field {
                name: "generation",
                required: false,
                shape: Shape::Number { integer: true },
            },
            Field {
                name: "described",
                required: false,
                shape: Shape::Bool,
            },
            Field {
                name: "budget",
                required: false,
                shape: Shape::Json,
            },
        ]
    }

    #[test]
    fn a_form_reads_back_into_the_record_it_describes() {
        let body = "title~en=Plan&title~es=Plan+ES&title~fr=&title~original=en\
                    &period.start=2026-01-01&period.end=\
                    &themes=a&themes=c\
                    &documents.0.url=https%3A%2F%2Fx.example&documents.1.url=\
                    &generation=2&described=no&budget=%7B%22kind%22%3A%22none%22%7D";
        let read = read(&shape(), &Values::parse(body.as_bytes()));
        assert_eq!(
            Value::Object(read),
            serde_json::json!({
                "title": {"en": {"text": "Plan", "original": true},
                          "es": {"text": "Plan ES", "original": false}},
                "period": {"start": "2026-01-01"},
                "themes": ["a", "c"],
                "documents": [{"url": "https://x.example"}],
                "generation": 2,
                "described": false,
                "budget": {"kind": "none"},
            })
        );
        let empty = read_from("title~en=&period.start=&generation=");
        assert!(empty.is_empty(), "{empty:?}");
        // What does not parse is passed on for the validator to name.
        let odd = read_from("generation=two&budget=%7Bnot+json");
        assert_eq!(odd["generation"], "two");
        assert_eq!(odd["budget"], "{not json");
    }

    fn read_from(body: &str) -> Map<String, Value> {
        read(&shape(), &Values::parse(body.as_bytes()))
    }

    #[test]
    fn paths_of_errors_become_form_paths() {
        assert_eq!(form_path("documents[0].url"), "documents.0.url");
        assert_eq!(form_path("themes[2]"), "themes.2");
        assert_eq!(last("documents.0.url"), "url");
        assert_eq!(id_of("title~es"), "title-es");
    }
}
