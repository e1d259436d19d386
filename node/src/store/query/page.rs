//! Pages of a listing (the record list and every view's rows): where a page
//! starts, what it holds, and the cursor a client passes back for the next.
//!
//! A page is cut by count and by bytes: at most `limit` rows and at most
//! `max_bytes` of their estimated size on the wire, but always the first
//! row, so that a listing always moves on. It starts strictly after the sort
//! key of the previous page's last row (keyset pagination), so rows written
//! meanwhile never shift it: nothing is listed twice, and nothing that
//! stayed in place is skipped.
//!
//! A [`Cursor`] is that sort key, with the listing it belongs to and a
//! digest of the filters it was given for, as opaque text (base64url of a
//! small JSON array). It comes back from a client, so it is read as hostile
//! input: bounded in size, decoded strictly, checked against the listing
//! and the filters of the request; every value in it is only ever bound as
//! a SQL parameter. It is not a secret nor a capability: a client that
//! forges one only chooses where its own listing starts.

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use rusqlite::types::{Value as SqlValue, ValueRef};
use serde_json::Value;
use sha2::{Digest as _, Sha256};

/// The longest cursor text accepted. Cursors this node gives hold a sort
/// key of ids, codes, dates and short texts (a title, a name): far less.
pub const MAX_CURSOR_BYTES: usize = 64 * 1024;

/// One value of a sort key, as SQLite compares it.
#[derive(Debug, Clone, PartialEq)]
pub enum KeyPart {
    /// An integer.
    Int(i64),
    /// A floating-point number (a JSON value a peer wrote as a number).
    Real(f64),
    /// Text.
    Text(String),
}

impl KeyPart {
    /// Reads column `index` of a row; a NULL is an error (the orders are
    /// written so that no key part is NULL, which no comparison would
    /// match).
    pub fn read(row: &rusqlite::Row<'_>, index: usize) -> rusqlite::Result<Self> {
        match row.get_ref(index)? {
            ValueRef::Integer(n) => Ok(Self::Int(n)),
            ValueRef::Real(x) => Ok(Self::Real(x)),
            ValueRef::Text(t) => Ok(Self::Text(String::from_utf8_lossy(t).into_owned())),
            other => Err(rusqlite::Error::InvalidColumnType(
                index,
                "sort key".into(),
                other.data_type(),
            )),
        }
    }

    /// The order SQLite gives two values (no collation): numbers by value,
    /// an integer and a real compared exactly, before text; text by its
    /// bytes.
    pub fn cmp_as_sqlite(&self, other: &Self) -> std::cmp::Ordering {
        use std::cmp::Ordering;
        /// An integer against a real, exactly (a cast would round integers
        /// beyond 2^53).
        fn int_real(a: i64, b: f64) -> Ordering {
            if b.is_nan() {
                return Ordering::Greater;
            }
            if b < -9_223_372_036_854_775_808.0 {
                return Ordering::Greater;
            }
            if b >= 9_223_372_036_854_775_808.0 {
                return Ordering::Less;
            }
            let whole = b.trunc();
            match a.cmp(&(whole as i64)) {
                Ordering::Equal => 0.0_f64.partial_cmp(&(b - whole)).unwrap_or(Ordering::Equal),
                unequal => unequal,
            }
        }
        match (self, other) {
            (Self::Int(a), Self::Int(b)) => a.cmp(b),
            (Self::Real(a), Self::Real(b)) => a.partial_cmp(b).unwrap_or(Ordering::Equal),
            (Self::Int(a), Self::Real(b)) => int_real(*a, *b),
            (Self::Real(a), Self::Int(b)) => int_real(*b, *a).reverse(),
            (Self::Text(a), Self::Text(b)) => a.as_bytes().cmp(b.as_bytes()),
            (Self::Text(_), _) => Ordering::Greater,
            (_, Self::Text(_)) => Ordering::Less,
        }
    }

    /// As a SQL parameter.
    pub fn sql(&self) -> SqlValue {
        match self {
            Self::Int(n) => SqlValue::Integer(*n),
            Self::Real(x) => SqlValue::Real(*x),
            Self::Text(t) => SqlValue::Text(t.clone()),
        }
    }

    /// The text, if it is text.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Self::Text(t) => Some(t),
            _ => None,
        }
    }

    fn json(&self) -> Value {
        match self {
            Self::Int(n) => Value::from(*n),
            Self::Real(x) => serde_json::Number::from_f64(*x).map_or(Value::Null, Value::Number),
            Self::Text(t) => Value::String(t.clone()),
        }
    }

    fn from_json(value: &Value) -> Option<Self> {
        match value {
            Value::String(t) => Some(Self::Text(t.clone())),
            Value::Number(n) => match n.as_i64() {
                Some(i) => Some(Self::Int(i)),
                None => n.as_f64().map(Self::Real),
            },
            _ => None,
        }
    }
}

/// A sort key: the values a listing is ordered by, in order.
pub type SortKey = Vec<KeyPart>;

/// Why a cursor was refused. Every message tells the client what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CursorError {
    /// Longer than any cursor this node gives.
    #[error(
        "the cursor (`after`) is {0} bytes, longer than any this node gives ({MAX_CURSOR_BYTES}): \
         pass the `next` of the previous page unchanged"
    )]
    TooLong(usize),
    /// Not base64url of a cursor's JSON.
    #[error(
        "the cursor (`after`) is not one this node gave ({0}): pass the `next` of the previous \
         page unchanged, or leave it empty for the first page"
    )]
    Malformed(&'static str),
    /// Given by another listing.
    #[error(
        "the cursor (`after`) continues the {found}, not the {wanted}: pass the `next` of a page \
         of the {wanted}"
    )]
    OtherListing {
        /// The listing it is for.
        wanted: String,
        /// The listing it came from.
        found: String,
    },
    /// Given for other filters.
    #[error(
        "the cursor (`after`) was given for other filters: repeat the filters of the first page \
         (or start again without a cursor)"
    )]
    OtherFilters,
}

/// Where a listing continues: opaque to clients.
#[derive(Debug, Clone, PartialEq)]
pub struct Cursor {
    /// The listing (`list`, `directory`, …).
    listing: String,
    /// A digest of the filters (see [`Cursor::digest`]).
    filters: String,
    /// The sort key of the last row shown.
    pub key: SortKey,
}

impl Cursor {
    /// A cursor of `listing` under the filters whose digest is `filters`.
    pub fn new(listing: &str, filters: &str, key: SortKey) -> Self {
        Self {
            listing: listing.to_owned(),
            filters: filters.to_owned(),
            key,
        }
    }

    /// A short digest of a listing's filters, as text: a cursor is taken
    /// back only with the filters it was given for (another filter would
    /// start the listing at a position of another order of rows).
    pub fn digest(filters: &[&str]) -> String {
        let mut hash = Sha256::new();
        for filter in filters {
            hash.update((filter.len() as u64).to_be_bytes());
            hash.update(filter.as_bytes());
        }
        hex::encode(&hash.finalize()[..8])
    }

    /// The text a client passes back.
    pub fn encode(&self) -> String {
        let key: Vec<Value> = self.key.iter().map(KeyPart::json).collect();
        let json = serde_json::json!([self.listing, self.filters, key]);
        URL_SAFE_NO_PAD.encode(json.to_string())
    }

    /// Reads a client's cursor for `listing` under the filters `filters`
    /// (their digest); its key must have `arity` parts.
    pub fn decode(
        text: &str,
        listing: &str,
        filters: &str,
        arity: usize,
    ) -> Result<Self, CursorError> {
        let text = text.trim();
        if text.len() > MAX_CURSOR_BYTES {
            return Err(CursorError::TooLong(text.len()));
        }
        let bytes = URL_SAFE_NO_PAD
            .decode(text)
            .map_err(|_| CursorError::Malformed("not base64url"))?;
        let json: Value =
            serde_json::from_slice(&bytes).map_err(|_| CursorError::Malformed("not its JSON"))?;
        let Some(
            [
                Value::String(found),
                Value::String(digest),
                Value::Array(parts),
            ],
        ) = json.as_array().map(Vec::as_slice)
        else {
            return Err(CursorError::Malformed("not its shape"));
        };
        if found != listing {
            return Err(CursorError::OtherListing {
                wanted: listing.to_owned(),
                found: describe(found),
            });
        }
        if digest != filters {
            return Err(CursorError::OtherFilters);
        }
        if parts.len() != arity {
            return Err(CursorError::Malformed("a key of another length"));
        }
        let key = parts
            .iter()
            .map(KeyPart::from_json)
            .collect::<Option<SortKey>>()
            .ok_or(CursorError::Malformed(
                "a key part that is not a number or text",
            ))?;
        Ok(Self {
            listing: found.clone(),
            filters: digest.clone(),
            key,
        })
    }
}

/// A listing's name from a cursor, for a message: printable and short.
fn describe(listing: &str) -> String {
    let clean: String = listing
        .chars()
        .filter(|c| c.is_ascii_graphic() || *c == ' ')
        .take(40)
        .collect();
    if clean.is_empty() {
        "an unknown listing".to_owned()
    } else {
        clean
    }
}

/// The rows of one page, cut by count and by bytes, with the sort key of
/// each (to make the cursor, and to cut the page shorter at the boundary).
#[derive(Debug, Clone)]
pub struct Paged<T> {
    rows: Vec<T>,
    keys: Vec<SortKey>,
    /// Where the page started (the request's cursor), if not at the start.
    start: Option<SortKey>,
    /// Rows follow the last one.
    more: bool,
    limit: usize,
    max_bytes: usize,
    used: usize,
}

impl<T> Paged<T> {
    /// An empty page of at most `limit` rows (at least 1) and `max_bytes`
    /// of estimated size, starting after `start`.
    pub fn new(start: Option<SortKey>, limit: usize, max_bytes: usize) -> Self {
        Self {
            rows: Vec::new(),
            keys: Vec::new(),
            start,
            more: false,
            limit: limit.max(1),
            max_bytes,
            used: 0,
        }
    }

    /// Offers the next row in the listing's order, with its sort key and
    /// its estimated size: taken if the page has room for it (the first
    /// row always), else the page is full and says that rows follow.
    /// Returns whether it was taken; offer nothing more once it was not.
    pub fn offer(&mut self, row: T, key: SortKey, size: usize) -> bool {
        if self.more {
            return false;
        }
        if self.rows.len() >= self.limit
            || (!self.rows.is_empty() && self.used.saturating_add(size) > self.max_bytes)
        {
            self.more = true;
            return false;
        }
        self.used = self.used.saturating_add(size);
        self.rows.push(row);
        self.keys.push(key);
        true
    }

    /// Marks the page as followed by more rows (a listing that knows it
    /// stopped early).
    pub fn set_more(&mut self) {
        self.more = true;
    }

    /// Whether rows follow this page.
    pub fn more(&self) -> bool {
        self.more
    }

    /// Whether the page takes no more rows.
    pub fn is_full(&self) -> bool {
        self.more || self.rows.len() >= self.limit
    }

    /// The sort key the next page starts after: the last row's, or, for a
    /// page cut to no rows, where it started; `None` when no rows follow
    /// (and also when a page cut to nothing started at the beginning: see
    /// [`Self::resume`]).
    pub fn next_key(&self) -> Option<&SortKey> {
        if !self.more {
            return None;
        }
        self.keys.last().or(self.start.as_ref())
    }

    /// Where the next page starts: `None` when no rows follow, `Some(None)`
    /// from the beginning (a page cut to no rows that started there),
    /// `Some(Some(key))` after `key`.
    pub fn resume(&self) -> Option<Option<&SortKey>> {
        self.more.then(|| self.keys.last().or(self.start.as_ref()))
    }

    /// Keeps the first `n` rows; if that drops any, rows follow.
    pub fn truncate(&mut self, n: usize) {
        if n < self.rows.len() {
            self.rows.truncate(n);
            self.keys.truncate(n);
            self.more = true;
        }
    }

    /// The rows.
    pub fn rows(&self) -> &[T] {
        &self.rows
    }

    /// The rows, taken out.
    pub fn into_rows(self) -> Vec<T> {
        self.rows
    }

    /// Each row with its sort key, taken out.
    pub fn into_keyed(self) -> Vec<(T, SortKey)> {
        self.rows.into_iter().zip(self.keys).collect()
    }

    /// Applies `f` to every row, keeping keys and state.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Paged<U> {
        Paged {
            rows: self.rows.into_iter().map(f).collect(),
            keys: self.keys,
            start: self.start,
            more: self.more,
            limit: self.limit,
            max_bytes: self.max_bytes,
            used: self.used,
        }
    }
}

impl<T> std::ops::Deref for Paged<T> {
    type Target = [T];

    fn deref(&self) -> &[T] {
        &self.rows
    }
}

impl<T> IntoIterator for Paged<T> {
    type Item = T;
    type IntoIter = std::vec::IntoIter<T>;

    fn into_iter(self) -> Self::IntoIter {
        self.rows.into_iter()
    }
}

/// An upper bound of the bytes a text field takes in a message: the text,
/// its length prefix and its tag (two bytes for field numbers over 15).
pub fn text_size(text: &str) -> usize {
    text.len() + 7
}

/// An upper bound for a text list ([`text_size`] of each).
pub fn list_size<S: AsRef<str>>(items: &[S]) -> usize {
    items.iter().map(|s| text_size(s.as_ref())).sum()
}

/// The bytes a scalar field (a number, a flag) takes at most.
pub const SCALAR_SIZE: usize = 11;

/// The framing of a row in its list (tag and length prefix) at most.
pub const ROW_FRAMING: usize = 7;

#[cfg(test)]
mod tests {

    #[test]
    fn keys_sort_in_memory_as_sqlite_sorts_them() {
        let values = [
            KeyPart::Int(i64::MAX),
            KeyPart::Int(i64::MIN),
            KeyPart::Int(9_007_199_254_740_993),
            KeyPart::Real(9_007_199_254_740_992.0),
            KeyPart::Real(9.3e18),
            KeyPart::Real(-9.3e18),
            KeyPart::Int(1),
            KeyPart::Real(1.5),
            KeyPart::Real(0.5),
            KeyPart::Int(0),
            KeyPart::Real(-0.5),
            KeyPart::Text(String::new()),
            KeyPart::Text("ESP".into()),
            KeyPart::Text("esp".into()),
            KeyPart::Text("Ésp".into()),
            KeyPart::Text("E".into()),
        ];
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE k (n INTEGER PRIMARY KEY, v ANY) STRICT")
            .unwrap();
        for (n, v) in values.iter().enumerate() {
            conn.execute(
                "INSERT INTO k VALUES (?1, ?2)",
                rusqlite::params![n as i64, v.sql()],
            )
            .unwrap();
        }
        let by_sqlite: Vec<usize> = conn
            .prepare("SELECT n FROM k ORDER BY v, n")
            .unwrap()
            .query_map([], |r| r.get::<_, i64>(0).map(|n| n as usize))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let mut in_memory: Vec<usize> = (0..values.len()).collect();
        in_memory.sort_by(|a, b| values[*a].cmp_as_sqlite(&values[*b]).then(a.cmp(b)));
        assert_eq!(in_memory, by_sqlite);
    }

    use super::*;

    fn key() -> SortKey {
        vec![
            KeyPart::Text("2026-01-01T00:00:00Z".into()),
            KeyPart::Int(-3),
            KeyPart::Real(1.5),
        ]
    }

    #[test]
    fn a_cursor_reads_back_only_for_its_listing_and_filters() {
        let filters = Cursor::digest(&["practice", "", "climate-change"]);
        let cursor = Cursor::new("list", &filters, key());
        let text = cursor.encode();
        assert!(
            text.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert_eq!(Cursor::decode(&text, "list", &filters, 3), Ok(cursor));
        assert_eq!(
            Cursor::decode(&text, "practices", &filters, 3),
            Err(CursorError::OtherListing {
                wanted: "practices".into(),
                found: "list".into()
            })
        );
        let other = Cursor::digest(&["practice", "", "peacekeeping"]);
        assert_eq!(
            Cursor::decode(&text, "list", &other, 3),
            Err(CursorError::OtherFilters)
        );
        assert!(matches!(
            Cursor::decode(&text, "list", &filters, 2),
            Err(CursorError::Malformed(_))
        ));
        // The digest separates its parts.
        assert_ne!(Cursor::digest(&["ab", "c"]), Cursor::digest(&["a", "bc"]));
    }

    #[test]
    fn garbage_and_forged_cursors_are_refused_with_a_reason() {
        let filters = Cursor::digest(&[]);
        let forged = |json: &str| URL_SAFE_NO_PAD.encode(json);
        for (text, why) in [
            ("not a cursor!".to_owned(), "not base64url"),
            ("////".to_owned(), "not base64url"),
            (URL_SAFE_NO_PAD.encode([0xff, 0xfe, 0x00]), "not its JSON"),
            (forged("{\"listing\":\"list\"}"), "not its shape"),
            (forged("[\"list\"]"), "not its shape"),
            (
                forged(&format!("[\"list\",\"{filters}\",[null]]")),
                "a key part",
            ),
            (
                forged(&format!("[\"list\",\"{filters}\",[[1,2]]]")),
                "a key part",
            ),
            (forged(&"[".repeat(10_000)), "not its JSON"),
        ] {
            let err = Cursor::decode(&text, "list", &filters, 1).unwrap_err();
            assert!(err.to_string().contains(why), "{text}: {err}");
            assert!(err.to_string().contains("pass the `next`"), "{err}");
        }
        let long = "A".repeat(MAX_CURSOR_BYTES + 1);
        assert_eq!(
            Cursor::decode(&long, "list", &filters, 1),
            Err(CursorError::TooLong(MAX_CURSOR_BYTES + 1))
        );
        // A listing name is shown cleaned and short.
        let odd = forged(&format!(
            "[\"\\u0007{}\",\"{filters}\",[]]",
            "x".repeat(100)
        ));
        let err = Cursor::decode(&odd, "list", &filters, 0).unwrap_err();
        assert!(
            err.to_string()
                .contains(&format!("the {},", "x".repeat(40))),
            "{err}"
        );
    }

    #[test]
    fn a_page_stops_at_its_limit_or_its_bytes_but_holds_one_row() {
        let mut page = Paged::new(None, 3, 100);
        let k = |n: i64| vec![KeyPart::Int(n)];
        assert!(page.offer("a", k(1), 40));
        assert!(page.offer("b", k(2), 40));
        assert!(!page.offer("c", k(3), 40), "over the bytes");
        assert!(!page.offer("d", k(4), 1), "nothing after a refusal");
        assert_eq!(page.rows(), ["a", "b"]);
        assert_eq!(page.next_key(), Some(&k(2)));

        let mut page = Paged::new(None, 2, 100);
        assert!(page.offer("big", k(1), 1_000), "the first row always");
        assert!(!page.offer("b", k(2), 1));
        assert_eq!(page.next_key(), Some(&k(1)));

        let mut page = Paged::new(Some(k(7)), 2, 100);
        assert!(page.offer("a", k(8), 1));
        assert!(page.offer("b", k(9), 1));
        assert!(page.is_full());
        assert!(!page.offer("c", k(10), 1), "over the count");
        assert!(page.more());
        page.truncate(0);
        assert_eq!(
            page.next_key(),
            Some(&k(7)),
            "cut to nothing: where it began"
        );

        let mut last = Paged::new(None, 5, 100);
        assert!(last.offer("a", k(1), 1));
        assert_eq!(last.next_key(), None, "no more rows: no cursor");
        assert_eq!(last.resume(), None);
        let mut cut = Paged::<&str>::new(None, 5, 100);
        cut.set_more();
        assert_eq!(cut.resume(), Some(None), "cut before its first row");
    }
}
