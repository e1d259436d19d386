//! Reading a record's JSON into typed structs, with paths and every error.
//!
//! serde alone stops at the first problem and does not say where it was, but a
//! focal point filling in a form needs every problem at once, each with its
//! field path (`period.end`, `themes[1]`). So each schema type implements
//! [`FromJson`]: it reads one JSON value at a known [`Path`], normalizes
//! shorthand forms, records problems in the [`Reader`] and lets its siblings
//! go on. Structs get their `FromJson` from the [`schema!`] macro, which also
//! declares them, so the serde derive (the stored, canonical form) and the
//! reader always see the same fields.

use std::{cmp::Ordering, fmt};

use serde_json::{Map, Value};

use super::{FieldError, ValidationContext};
use crate::limits::Limit;

/// Where a value sits in a record: `title`, `period.end`, `themes[1]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Path(String);

impl Path {
    /// The record's root map.
    pub(crate) fn root() -> Self {
        Self(String::new())
    }

    /// The field `key` of the object at this path.
    pub(crate) fn key(&self, key: &str) -> Self {
        if self.0.is_empty() {
            Self(key.to_owned())
        } else {
            Self(format!("{}.{key}", self.0))
        }
    }

    /// Item `index` of the list at this path.
    pub(crate) fn index(&self, index: usize) -> Self {
        Self(format!("{}[{index}]", self.0))
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Collects the problems found while reading one record.
pub(crate) struct Reader<'a> {
    ctx: &'a ValidationContext,
    errors: Vec<FieldError>,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(ctx: &'a ValidationContext) -> Self {
        Self {
            ctx,
            errors: Vec::new(),
        }
    }

    /// What the record is validated for (owner, default language).
    pub(crate) fn ctx(&self) -> &'a ValidationContext {
        self.ctx
    }

    /// Records a problem with the value at `at`. After [`MAX_ERRORS`]
    /// problems, one more says that the rest are not listed (a hostile
    /// request could otherwise make the answer as large as itself).
    pub(crate) fn error(&mut self, at: &Path, message: impl Into<String>) {
        if self.errors.len() > MAX_ERRORS {
            return;
        }
        if self.errors.len() == MAX_ERRORS {
            self.errors.push(FieldError {
                field: "~".to_owned(),
                message: format!("more problems; only the first {MAX_ERRORS} are listed"),
            });
            return;
        }
        self.errors.push(FieldError {
            field: at.to_string(),
            message: message.into(),
        });
    }

    /// `Some(())` if `len` is within `limit` (of the context's limits);
    /// otherwise records the problem at `at`, naming the limit.
    pub(crate) fn within(&mut self, limit: Limit, len: usize, at: &Path) -> Option<()> {
        match self.ctx.limits.check(limit, len as u64) {
            Ok(()) => Some(()),
            Err(over) => {
                self.error(
                    at,
                    format!(
                        "has {len} {}; at most {} are allowed (`{}` in the [limits] section of \
                         the node's focal.toml)",
                        noun(limit),
                        over.max,
                        limit.key()
                    ),
                );
                None
            }
        }
    }

    /// Every problem, sorted by field path (`themes[2]` before `themes[10]`).
    pub(crate) fn into_errors(mut self) -> Vec<FieldError> {
        self.errors.sort_by(|a, b| path_order(&a.field, &b.field));
        self.errors
    }

    /// The value as a JSON object.
    pub(crate) fn object(&mut self, value: Value, at: &Path) -> Option<Map<String, Value>> {
        match value {
            Value::Object(map) => Some(map),
            other => {
                self.error(
                    at,
                    format!("expected an object, found {}", describe(&other)),
                );
                None
            }
        }
    }

    /// Starts reading the fields of an object; every key not in `known` is
    /// reported (and dropped) right away.
    pub(crate) fn fields(
        &mut self,
        mut map: Map<String, Value>,
        at: &Path,
        known: &[&str],
    ) -> Fields {
        let unknown: Vec<String> = map
            .keys()
            .filter(|key| !known.contains(&key.as_str()))
            .cloned()
            .collect();
        for key in unknown {
            map.remove(&key);
            self.error(
                &at.key(&key),
                format!("unknown field; the fields here are: {}", known.join(", ")),
            );
        }
        Fields {
            map,
            at: at.clone(),
        }
    }

    /// The value as non-empty short text (a name, title, code, link),
    /// trimmed, at most `max_name_bytes` long.
    pub(crate) fn string(&mut self, value: Value, at: &Path) -> Option<String> {
        self.text(value, at, Limit::NameBytes)
    }

    /// The value as non-empty text, trimmed, within `limit` (a byte limit:
    /// [`Limit::NameBytes`] or [`Limit::TextBytes`]).
    pub(crate) fn text(&mut self, value: Value, at: &Path, limit: Limit) -> Option<String> {
        if let Value::String(text) = &value {
            self.within(limit, text.len(), at)?;
        }
        match value {
            Value::String(text) => {
                let trimmed = text.trim();
                if trimmed.is_empty() {
                    self.error(at, "is empty; write the text or leave the field out");
                    None
                } else {
                    Some(trimmed.to_owned())
                }
            }
            other => {
                self.error(at, format!("expected text, found {}", describe(&other)));
                None
            }
        }
    }

    /// The value as text, turned into a `T` by `parse` (whose error message
    /// is recorded as is).
    pub(crate) fn parse<T>(
        &mut self,
        value: Value,
        at: &Path,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Option<T> {
        let text = self.string(value, at)?;
        match parse(&text) {
            Ok(parsed) => Some(parsed),
            Err(message) => {
                self.error(at, message);
                None
            }
        }
    }

    /// The value as a finite number; text holding a number is accepted too,
    /// for callers (like the CLI) that pass every value as text.
    pub(crate) fn number(&mut self, value: Value, at: &Path) -> Option<f64> {
        let number = match &value {
            Value::Number(n) => n.as_f64(),
            Value::String(text) => text.trim().parse::<f64>().ok(),
            _ => None,
        };
        match number {
            Some(n) if n.is_finite() => Some(n),
            _ => {
                self.error(at, format!("expected a number, found {}", describe(&value)));
                None
            }
        }
    }

    /// The value as a whole number (text holding one is accepted too).
    pub(crate) fn integer(&mut self, value: Value, at: &Path) -> Option<i64> {
        let number = match &value {
            Value::Number(n) => n.as_i64().or_else(|| {
                n.as_f64()
                    .filter(|f| f.fract() == 0.0 && f.abs() < 1e15)
                    .map(|f| f as i64)
            }),
            Value::String(text) => text.trim().parse::<i64>().ok(),
            _ => None,
        };
        if number.is_none() {
            self.error(
                at,
                format!("expected a whole number, found {}", describe(&value)),
            );
        }
        number
    }

    /// Takes an object's tag: the field (`kind`, `status`) that says which
    /// variant of an enum it is. Returns it [`fold`]ed; `allowed` lists the
    /// variants for the message when the tag is missing.
    pub(crate) fn tag(
        &mut self,
        map: &mut Map<String, Value>,
        at: &Path,
        tag: &str,
        allowed: &str,
    ) -> Option<String> {
        let tag_at = at.key(tag);
        match map.remove(tag) {
            None | Some(Value::Null) => {
                self.error(&tag_at, format!("is required; use one of: {allowed}"));
                None
            }
            Some(value) => self.string(value, &tag_at).map(|text| fold(&text)),
        }
    }

    /// The value as `true` or `false` (or the text `"true"`, `"false"`).
    pub(crate) fn boolean(&mut self, value: Value, at: &Path) -> Option<bool> {
        match &value {
            Value::Bool(b) => Some(*b),
            Value::String(text) if text.trim() == "true" => Some(true),
            Value::String(text) if text.trim() == "false" => Some(false),
            _ => {
                self.error(
                    at,
                    format!("expected true or false, found {}", describe(&value)),
                );
                None
            }
        }
    }
}

/// The fields of one object, taken out one by one.
pub(crate) struct Fields {
    map: Map<String, Value>,
    at: Path,
}

impl Fields {
    /// Reads field `name`. An absent or `null` field becomes
    /// [`FromJson::when_missing`], or is reported as required. `None` means
    /// a problem was recorded.
    pub(crate) fn take<T: FromJson>(&mut self, name: &str, r: &mut Reader<'_>) -> Option<T> {
        let at = self.at.key(name);
        match self.map.remove(name) {
            None | Some(Value::Null) => {
                let missing = T::when_missing();
                if missing.is_none() {
                    r.error(&at, "is required");
                }
                missing
            }
            Some(value) => T::from_json(value, &at, r),
        }
    }
}

/// A type that can be read from (possibly shorthand) JSON into its normal form.
pub(crate) trait FromJson: Sized {
    /// Reads `value`, found at `at`. Returns `None` after recording at least
    /// one problem in `r`.
    fn from_json(value: Value, at: &Path, r: &mut Reader<'_>) -> Option<Self>;

    /// What an absent field of this type becomes; `None` makes it required.
    fn when_missing() -> Option<Self> {
        None
    }

    /// For values that may appear only once in a list (themes, languages,
    /// member codes): the spelling that identifies them.
    fn distinct_key(&self) -> Option<String> {
        None
    }
}

/// Record- and object-level rules: what cannot be said field by field.
/// Every struct declared with [`schema!`] implements it (often empty).
pub(crate) trait Rules {
    /// Fields that [`Rules::prepare`] fills in when they are left out
    /// (a default, or a value that follows from another field): required
    /// in the struct, but not of whoever writes the record, so their shape
    /// ([`Describe`](super::shape::Describe)) says they are optional.
    const DEFAULTED: &'static [&'static str] = &[];

    /// Rewrites a shorthand or incomplete form into the full JSON shape
    /// before its fields are read (a plain string where an object is
    /// expected, a default that depends on other fields).
    fn prepare(value: Value) -> Value {
        value
    }

    /// Cross-field checks and normalizations, once every field was read.
    fn apply(&mut self, _at: &Path, _r: &mut Reader<'_>) {}
}

/// Enumerated values are matched forgivingly: `"In force"`, `"in_force"` →
/// `"in-force"`.
pub(crate) fn fold(text: &str) -> String {
    text.trim().to_lowercase().replace(['_', ' '], "-")
}

/// The JSON name of a struct field (`r#type` is `type`).
pub(crate) fn json_name(ident: &'static str) -> &'static str {
    ident.strip_prefix("r#").unwrap_or(ident)
}

/// Declares a struct and derives its [`FromJson`] from the same field list:
/// each field is read with its own type's `FromJson` (so every field's
/// problems are reported), unknown fields are rejected, then
/// [`Rules::apply`] runs. Option and Vec fields are optional; every other
/// field is required (those [`Rules::DEFAULTED`] names are filled in by
/// [`Rules::prepare`] when left out). The struct must implement [`Rules`].
///
/// It also implements [`Describe`](super::shape::Describe): the struct's
/// shape is an object with the same fields, under the same JSON keys, each
/// required exactly when the reader requires it. A field's JSON key is its
/// name (without `r#`): the reader knows no other, so a serde `rename` or
/// `rename_all` on a schema struct or its fields would make the stored form
/// disagree with the reader (the tests in `shape.rs` compare the keys of
/// stored records with the shapes).
macro_rules! schema {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident {
            $(
                $(#[$field_meta:meta])*
                $field_vis:vis $field:ident : $ty:ty
            ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        $vis struct $name {
            $( $(#[$field_meta])* $field_vis $field: $ty, )*
        }

        impl $crate::records::schema::FromJson for $name {
            fn from_json(
                value: ::serde_json::Value,
                at: &$crate::records::schema::Path,
                r: &mut $crate::records::schema::Reader<'_>,
            ) -> Option<Self> {
                use $crate::records::schema::{json_name, Rules};
                let value = <Self as Rules>::prepare(value);
                let map = r.object(value, at)?;
                let mut fields = r.fields(map, at, &[$( json_name(stringify!($field)) ),*]);
                $( let $field = fields.take::<$ty>(json_name(stringify!($field)), r); )*
                let mut this = Self { $( $field: $field?, )* };
                this.apply(at, r);
                Some(this)
            }
        }

        impl $crate::records::shape::Describe for $name {
            fn shape() -> $crate::records::shape::Shape {
                use $crate::records::schema::{json_name, FromJson, Rules};
                use $crate::records::shape::{Describe, Field, Shape};
                Shape::Object(vec![$(
                    {
                        let name = json_name(stringify!($field));
                        Field {
                            name,
                            required: <$ty as FromJson>::when_missing().is_none()
                                && !<Self as Rules>::DEFAULTED.contains(&name),
                            shape: <$ty as Describe>::shape(),
                        }
                    }
                ),*])
            }
        }
    };
}
pub(crate) use schema;

impl<T: FromJson> FromJson for Option<T> {
    fn from_json(value: Value, at: &Path, r: &mut Reader<'_>) -> Option<Self> {
        T::from_json(value, at, r).map(Some)
    }

    fn when_missing() -> Option<Self> {
        Some(None)
    }
}

/// Lists: a single value stands for a one-element list (so `--theme x` can be
/// passed once); values with a [`FromJson::distinct_key`] may not repeat.
impl<T: FromJson> FromJson for Vec<T> {
    fn from_json(value: Value, at: &Path, r: &mut Reader<'_>) -> Option<Self> {
        let items = match value {
            Value::Array(items) => items,
            single => vec![single],
        };
        // Before any item is read: the duplicate check below is quadratic.
        r.within(Limit::ListItems, items.len(), at)?;
        let mut list = Vec::with_capacity(items.len());
        let mut seen: Vec<(String, usize)> = Vec::new();
        let mut complete = true;
        for (index, item) in items.into_iter().enumerate() {
            let item_at = at.index(index);
            let Some(item) = T::from_json(item, &item_at, r) else {
                complete = false;
                continue;
            };
            if let Some(key) = item.distinct_key() {
                if let Some((_, first)) = seen.iter().find(|(seen_key, _)| *seen_key == key) {
                    r.error(
                        &item_at,
                        format!(
                            "{key} is listed twice (also at {}); list it once",
                            at.index(*first)
                        ),
                    );
                    complete = false;
                    continue;
                }
                seen.push((key, index));
            }
            list.push(item);
        }
        complete.then_some(list)
    }

    fn when_missing() -> Option<Self> {
        Some(Vec::new())
    }
}

/// A list that must have at least one item (e.g. a practice's themes).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct NonEmpty<T>(Vec<T>);

impl<T> NonEmpty<T> {
    /// The items, in the order given.
    pub fn as_slice(&self) -> &[T] {
        &self.0
    }
}

impl<T> std::ops::Deref for NonEmpty<T> {
    type Target = [T];

    fn deref(&self) -> &[T] {
        &self.0
    }
}

impl<T: super::shape::Describe> super::shape::Describe for NonEmpty<T> {
    fn shape() -> super::shape::Shape {
        Vec::<T>::shape()
    }
}

impl<T: FromJson> FromJson for NonEmpty<T> {
    fn from_json(value: Value, at: &Path, r: &mut Reader<'_>) -> Option<Self> {
        let list = Vec::<T>::from_json(value, at, r)?;
        if list.is_empty() {
            r.error(at, "is required; give at least one");
            return None;
        }
        Some(Self(list))
    }
}

impl FromJson for String {
    fn from_json(value: Value, at: &Path, r: &mut Reader<'_>) -> Option<Self> {
        r.string(value, at)
    }
}

/// Free text (a summary, notes, one language of multilingual text): up to
/// `max_text_bytes`, where a plain `String` field is short text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FreeText(pub(crate) String);

impl FromJson for FreeText {
    fn from_json(value: Value, at: &Path, r: &mut Reader<'_>) -> Option<Self> {
        r.text(value, at, Limit::TextBytes).map(Self)
    }
}

/// Most problems listed for one record.
pub(crate) const MAX_ERRORS: usize = 100;

/// What a limit counts, for messages.
fn noun(limit: Limit) -> &'static str {
    match limit {
        Limit::ListItems => "items",
        Limit::TextBytes | Limit::NameBytes => "bytes",
        Limit::Languages => "languages",
        _ => "units",
    }
}

impl FromJson for bool {
    fn from_json(value: Value, at: &Path, r: &mut Reader<'_>) -> Option<Self> {
        r.boolean(value, at)
    }
}

/// Shorthand for objects with one essential field: a value that is not an
/// object with at least one of the struct's `fields` becomes `{key: value}`
/// (a bare text becomes an agenda item's title, a bare link a document's
/// url, `{"fr": "…"}` a title in French).
pub(crate) fn shorthand_for(value: Value, key: &str, fields: &[&str]) -> Value {
    match value {
        Value::Object(map) if fields.iter().any(|field| map.contains_key(*field)) => {
            Value::Object(map)
        }
        other => {
            let mut map = Map::new();
            map.insert(key.to_owned(), other);
            Value::Object(map)
        }
    }
}

/// A short description of a JSON value for error messages.
pub(crate) fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => format!("the number {n}"),
        Value::String(text) => format!("the text {}", quote(text)),
        Value::Array(_) => "a list".to_owned(),
        Value::Object(_) => "an object".to_owned(),
    }
}

/// `text` in double quotes, shortened if long.
pub(crate) fn quote(text: &str) -> String {
    const MAX: usize = 60;
    if text.chars().count() > MAX {
        let short: String = text.chars().take(MAX).collect();
        format!("\"{short}…\"")
    } else {
        format!("\"{text}\"")
    }
}

/// Orders field paths naturally: digit runs compare as numbers.
fn path_order(a: &str, b: &str) -> Ordering {
    let (mut a, mut b) = (a.chars().peekable(), b.chars().peekable());
    loop {
        match (a.peek().copied(), b.peek().copied()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) if x.is_ascii_digit() && y.is_ascii_digit() => {
                let order = take_number(&mut a).cmp(&take_number(&mut b));
                if order != Ordering::Equal {
                    return order;
                }
            }
            (Some(x), Some(y)) => {
                if x != y {
                    return x.cmp(&y);
                }
                a.next();
                b.next();
            }
        }
    }
}

fn take_number(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> u64 {
    let mut number: u64 = 0;
    while let Some(digit) = chars.peek().and_then(|c| c.to_digit(10)) {
        number = number.saturating_mul(10).saturating_add(u64::from(digit));
        chars.next();
    }
    number
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_sort_naturally() {
        let mut paths = vec!["themes[10]", "title", "themes[2]", "period.end", "themes"];
        paths.sort_by(|a, b| path_order(a, b));
        assert_eq!(
            paths,
            ["period.end", "themes", "themes[2]", "themes[10]", "title"]
        );
    }

    #[test]
    fn paths_join_keys_and_indexes() {
        let path = Path::root()
            .key("monitoring")
            .key("indicators")
            .index(3)
            .key("name");
        assert_eq!(path.to_string(), "monitoring.indicators[3].name");
    }

    #[test]
    fn raw_identifiers_lose_their_prefix() {
        assert_eq!(json_name("r#type"), "type");
        assert_eq!(json_name("title"), "title");
    }

    #[test]
    fn long_text_is_shortened_in_messages() {
        let long = "x".repeat(100);
        assert_eq!(quote(&long).chars().count(), 63);
    }
}
