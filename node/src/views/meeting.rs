//! One meeting: who registered (delegates, minister speaking), the
//! statements made, and the selected members that have not registered.
//!
//! Registrations and statements page side by side: a page holds the next
//! rows of each (at most the selection's limit of each, and half its bytes
//! each), each list in its own order (`records_registrations`,
//! `records_statements`), and one cursor says where each stopped (or that
//! it ended). The summary counts every match, on the first page: a meeting
//! has at most a few hundred registrations (one per member), read in one
//! pass (separate SQL aggregates re-read the rows and were measured four
//! times slower: BENCHMARKS.md), and its statements are counted.
//! Suspended and removed members are not expected to register (they are
//! left out of `not_registered`); their rows are marked with their
//! standing.

use rusqlite::{Connection, OptionalExtension};
use serde_json::Value;

use super::{
    Context, Freshness, Paged, Pager, ViewError, ViewInput, Where, after_key, freshness,
    original_text, read_key, readable,
    select::{self, Accepts, Selection},
    text,
};
use crate::{
    records::{Meeting, RecordRef},
    store::query::{CursorError, KeyPart, ROW_FRAMING, SCALAR_SIZE, SortKey, list_size, text_size},
};

/// The order of registrations: by member, then id.
const REGISTRATION_ORDER: [&str; 2] = ["owner", "id"];
/// The order of statements: by member, then as recorded.
const STATEMENT_ORDER: [&str; 3] = ["owner", "created", "id"];

/// The name its cursors carry.
const LISTING: &str = "meeting view";

/// Where one of the two lists stands between pages.
#[derive(Debug, Clone, PartialEq)]
enum Position {
    /// Nothing read yet.
    Start,
    /// Continues after this sort key.
    After(SortKey),
    /// Ended.
    Done,
}

impl Position {
    /// As cursor parts: a tag and `arity` key parts (empty texts when
    /// there is no key).
    fn parts(&self, arity: usize) -> Vec<KeyPart> {
        let (tag, key) = match self {
            Self::Start => (0, None),
            Self::After(key) => (1, Some(key)),
            Self::Done => (2, None),
        };
        let mut parts = vec![KeyPart::Int(tag)];
        match key {
            Some(key) => parts.extend(key.iter().cloned()),
            None => parts.extend((0..arity).map(|_| KeyPart::Text(String::new()))),
        }
        parts
    }

    /// Reads [`Self::parts`].
    fn read(parts: &[KeyPart]) -> Result<Self, ViewError> {
        match parts.split_first() {
            Some((KeyPart::Int(0), _)) => Ok(Self::Start),
            Some((KeyPart::Int(1), key)) => Ok(Self::After(key.to_vec())),
            Some((KeyPart::Int(2), _)) => Ok(Self::Done),
            _ => Err(ViewError::BadFilter(
                CursorError::Malformed("no position").to_string(),
            )),
        }
    }

    /// Where a list stands after a page of it.
    fn after<T>(page: &Paged<T>, read: bool) -> Self {
        if !read {
            return Self::Done;
        }
        match page.resume() {
            None => Self::Done,
            Some(None) => Self::Start,
            Some(Some(key)) => Self::After(key.clone()),
        }
    }
}

/// The meeting view.
#[derive(Debug, Clone)]
pub struct MeetingView {
    /// The meeting's id.
    pub id: String,
    /// Its title (original language, with city and start).
    pub title: String,
    /// Its kind.
    pub kind: String,
    /// First day.
    pub start: String,
    /// Last day.
    pub end: Option<String>,
    /// City.
    pub city: Option<String>,
    /// Registrations, by member: one page.
    pub registrations: Paged<RegistrationRow>,
    /// Statements, by member, then as recorded: one page.
    pub statements: Paged<StatementRow>,
    /// Counts (on the first page; zeros on later pages).
    pub summary: MeetingSummary,
    /// Selected members (the secretariat aside) with no registration (on
    /// the first page).
    pub not_registered: Vec<String>,
    /// How current it is.
    pub freshness: Freshness,
    /// Makes the cursor of the next page.
    pub pager: MeetingPager,
}

/// Makes the cursor of a meeting view's next page: where each list
/// stands.
#[derive(Debug, Clone)]
pub struct MeetingPager {
    pager: Pager,
    /// Whether each list was read for this page (a list that had ended is
    /// not).
    read: (bool, bool),
}

impl MeetingPager {
    /// The cursor of the page after these pages of registrations and
    /// statements (as read, or cut shorter), or `None` when both lists
    /// have ended.
    pub fn next<R, S>(&self, registrations: &Paged<R>, statements: &Paged<S>) -> Option<String> {
        let registrations = Position::after(registrations, self.read.0);
        let statements = Position::after(statements, self.read.1);
        if registrations == Position::Done && statements == Position::Done {
            return None;
        }
        let mut key = registrations.parts(REGISTRATION_ORDER.len());
        key.extend(statements.parts(STATEMENT_ORDER.len()));
        Some(self.pager.cursor(&key))
    }
}

/// Counts for a meeting.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MeetingSummary {
    /// Members registered.
    pub registered_members: u64,
    /// Delegates over all registrations.
    pub delegates: u64,
    /// Registrations with a minister speaking.
    pub ministers_speaking: u64,
    /// Statements.
    pub statements: u64,
    /// Registrations (the rows may be cut at the limit).
    pub registrations: u64,
}

/// One registration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrationRow {
    /// The record id.
    pub id: String,
    /// The member.
    pub member: String,
    /// Delegates' names.
    pub delegates: Vec<String>,
    /// Whether a minister speaks.
    pub minister_speaking: Option<bool>,
    /// The member's standing: empty when active, `suspended`, `removed`.
    pub standing: String,
}

impl RegistrationRow {
    /// An upper bound of its size on the wire.
    fn size(&self) -> usize {
        text_size(&self.id)
            + text_size(&self.member)
            + list_size(&self.delegates)
            + SCALAR_SIZE
            + text_size(&self.standing)
            + ROW_FRAMING
    }
}

/// One statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementRow {
    /// The record id.
    pub id: String,
    /// The member.
    pub member: String,
    /// Who spoke.
    pub speaker: String,
    /// The language spoken.
    pub language: Option<String>,
    /// The text (original language).
    pub text: String,
    /// A link to it.
    pub link: Option<String>,
    /// The member's standing: empty when active, `suspended`, `removed`.
    pub standing: String,
}

pub(crate) fn query(
    conn: &Connection,
    ctx: &Context<'_>,
    meeting_id: &str,
    input: &ViewInput,
) -> Result<MeetingView, ViewError> {
    let meeting_id = RecordRef::<Meeting>::parse(meeting_id)
        .map_err(ViewError::BadFilter)?
        .as_str()
        .to_owned();
    let mut selection = Selection::parse(
        input,
        "meeting view",
        Accepts {
            theme: false,
            period: false,
        },
    )?;
    let arity = 2 + REGISTRATION_ORDER.len() + STATEMENT_ORDER.len();
    let (registrations_at, statements_at) = match selection.start(LISTING, arity, &meeting_id)? {
        None => (Position::Start, Position::Start),
        Some(key) => {
            let (r, s) = key.split_at(1 + REGISTRATION_ORDER.len());
            (Position::read(r)?, Position::read(s)?)
        }
    };
    let first = registrations_at == Position::Start && statements_at == Position::Start;
    let members = select::member_table(conn, ctx)?;
    let selected = select::selected_members(&members, &selection)?;

    let mut w = Where::default();
    w.push("id = ?", [text(meeting_id.clone())]);
    w.push("deleted = 0", []);
    readable(&mut w, ctx);
    type MeetingHead = (
        String,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
    );
    let head: Option<MeetingHead> = conn
        .prepare_cached(&format!(
            "SELECT title, json_extract(json, '$.kind'), json_extract(json, '$.dates.start'),
                    json_extract(json, '$.dates.end'), json_extract(json, '$.city')
             FROM records {}",
            w.sql()
        ))?
        .query_row(w.args(), |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })
        .optional()?;
    let Some((title, kind, start, end, city)) = head else {
        return Err(ViewError::NotFound(format!(
            "no meeting {meeting_id} on this node (`focal meeting list` shows the meetings)"
        )));
    };

    // `kind` is a literal, so that the partial index applies.
    let of_meeting = |kind: &str| {
        let mut w = Where::default();
        w.push(&format!("type = '{kind}'"), []);
        w.push("deleted = 0", []);
        w.push(
            "json_extract(json, '$.meeting') = ?",
            [text(meeting_id.clone())],
        );
        readable(&mut w, ctx);
        select::owned_by_selected(&mut w, "owner", &selection, &selected);
        w
    };
    let registration = |r: &rusqlite::Row<'_>| -> rusqlite::Result<RegistrationRow> {
        let member: String = r.get(1)?;
        Ok(RegistrationRow {
            id: r.get(0)?,
            standing: select::standing_of(&members, &member),
            member,
            delegates: delegate_names(r.get(2)?),
            minister_speaking: r.get(3)?,
        })
    };
    const REGISTRATION: &str = "id, owner, json_extract(json, '$.delegates'),
        json_extract(json, '$.minister_speaking')";

    // The summary, over every match (first page only).
    let mut summary = MeetingSummary::default();
    let mut registered: Vec<String> = Vec::new();
    if first {
        let w = of_meeting("registration");
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {REGISTRATION} FROM records {} ORDER BY owner",
            w.sql()
        ))?;
        let mut rows = stmt.query(w.args())?;
        while let Some(r) = rows.next()? {
            let row = registration(r)?;
            summary.registrations += 1;
            summary.delegates += row.delegates.len() as u64;
            summary.ministers_speaking += u64::from(row.minister_speaking == Some(true));
            if registered.last() != Some(&row.member) {
                registered.push(row.member);
            }
        }
        summary.registered_members = registered.len() as u64;
        let w = of_meeting("statement");
        summary.statements = conn
            .prepare_cached(&format!("SELECT count(*) FROM records {}", w.sql()))?
            .query_row(w.args(), |r| r.get::<_, i64>(0))? as u64;
    }
    let not_registered = if first {
        selected
            .iter()
            .filter(|m| m.is_expected() && !registered.contains(&m.code))
            .map(|m| m.code.clone())
            .collect()
    } else {
        Vec::new()
    };

    // The page: the next rows of each list, half the bytes each.
    let half = selection.max_bytes / 2;
    let mut registrations = Paged::new(start_of(&registrations_at), selection.limit, half);
    let read_registrations = registrations_at != Position::Done;
    if read_registrations {
        let mut w = of_meeting("registration");
        if let Position::After(key) = &registrations_at {
            after_key(&mut w, &REGISTRATION_ORDER, key);
        }
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {REGISTRATION}, {order} FROM records INDEXED BY records_registrations {}
             ORDER BY {order} LIMIT {}",
            w.sql(),
            selection.limit + 1,
            order = REGISTRATION_ORDER.join(", "),
        ))?;
        let mut rows = stmt.query(w.args())?;
        while let Some(r) = rows.next()? {
            let row = registration(r)?;
            let size = row.size();
            if !registrations.offer(row, read_key(r, 4, REGISTRATION_ORDER.len())?, size) {
                break;
            }
        }
    }
    let mut statements = Paged::new(start_of(&statements_at), selection.limit, half);
    let read_statements = statements_at != Position::Done;
    if read_statements {
        let mut w = of_meeting("statement");
        if let Position::After(key) = &statements_at {
            after_key(&mut w, &STATEMENT_ORDER, key);
        }
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT id, owner, json_extract(json, '$.speaker'), json_extract(json, '$.language'),
                    json_extract(json, '$.text'), json_extract(json, '$.link'), {order}
             FROM records INDEXED BY records_statements {}
             ORDER BY {order} LIMIT {}",
            w.sql(),
            selection.limit + 1,
            order = STATEMENT_ORDER.join(", "),
        ))?;
        let mut rows = stmt.query(w.args())?;
        while let Some(r) = rows.next()? {
            let member: String = r.get(1)?;
            let row = StatementRow {
                id: r.get(0)?,
                standing: select::standing_of(&members, &member),
                member,
                speaker: r.get::<_, Option<String>>(2)?.unwrap_or_default(),
                language: r.get(3)?,
                text: original_text(r.get(4)?),
                link: r.get(5)?,
            };
            let size = row.size();
            if !statements.offer(row, read_key(r, 6, STATEMENT_ORDER.len())?, size) {
                break;
            }
        }
    }
    Ok(MeetingView {
        id: meeting_id.clone(),
        title,
        kind: kind.unwrap_or_default(),
        start: start.unwrap_or_default(),
        end,
        city,
        registrations,
        statements,
        summary,
        not_registered,
        freshness: freshness::of(conn, ctx, &selected, selection.as_of)?,
        pager: MeetingPager {
            pager: selection.pager(LISTING, &meeting_id),
            read: (read_registrations, read_statements),
        },
    })
}

/// Where a list's page starts, for [`Paged::new`].
fn start_of(position: &Position) -> Option<SortKey> {
    match position {
        Position::After(key) => Some(key.clone()),
        _ => None,
    }
}

impl StatementRow {
    /// An upper bound of its size on the wire.
    fn size(&self) -> usize {
        [
            Some(&self.id),
            Some(&self.member),
            Some(&self.speaker),
            self.language.as_ref(),
            Some(&self.text),
            self.link.as_ref(),
            Some(&self.standing),
        ]
        .iter()
        .flatten()
        .map(|t| text_size(t))
        .sum::<usize>()
            + ROW_FRAMING
    }
}

/// The names in a registration's `delegates` (JSON text).
fn delegate_names(json: Option<String>) -> Vec<String> {
    json.and_then(|t| serde_json::from_str::<Vec<Value>>(&t).ok())
        .unwrap_or_default()
        .iter()
        .filter_map(|d| d.get("name").and_then(Value::as_str).map(str::to_owned))
        .collect()
}
