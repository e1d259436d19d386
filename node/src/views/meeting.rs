//! One meeting: who registered (delegates, minister speaking), the
//! statements made, and the selected members that have not registered.
//!
//! Registrations and statements are each cut at the selection's limit; the
//! summary counts every match. A meeting has at most a few hundred of each
//! (one registration per member), so they are read in one pass each and cut
//! afterwards: separate SQL aggregates re-read the rows and were measured
//! four times slower (BENCHMARKS.md).
//! Suspended and removed members are not expected to register (they are
//! left out of `not_registered`); their rows are marked with their
//! standing.

use rusqlite::{Connection, OptionalExtension};
use serde_json::Value;

use super::{
    Context, Freshness, ViewError, ViewInput, Where, freshness, original_text, readable,
    select::{self, Accepts, Selection},
    text, truncate,
};
use crate::records::{Meeting, RecordRef};

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
    /// Registrations, by member.
    pub registrations: Vec<RegistrationRow>,
    /// Statements, by member, then as recorded.
    pub statements: Vec<StatementRow>,
    /// Counts.
    pub summary: MeetingSummary,
    /// Selected members (the secretariat aside) with no registration.
    pub not_registered: Vec<String>,
    /// How current it is.
    pub freshness: Freshness,
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
    let selection = Selection::parse(
        input,
        "meeting view",
        Accepts {
            theme: false,
            period: false,
        },
    )?;
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

    let of_meeting = |kind: &str| {
        let mut w = Where::default();
        w.push("type = ?", [text(kind)]);
        w.push("deleted = 0", []);
        w.push(
            "json_extract(json, '$.meeting') = ?",
            [text(meeting_id.clone())],
        );
        readable(&mut w, ctx);
        select::owned_by_selected(&mut w, "owner", &selection, &selected);
        w
    };
    let w = of_meeting("registration");
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT id, owner, json_extract(json, '$.delegates'),
                json_extract(json, '$.minister_speaking')
         FROM records {} ORDER BY owner, id",
        w.sql()
    ))?;
    let mut registrations = stmt
        .query_map(w.args(), |r| {
            let delegates: Option<String> = r.get(2)?;
            let member: String = r.get(1)?;
            Ok(RegistrationRow {
                id: r.get(0)?,
                standing: select::standing_of(&members, &member),
                member,
                delegates: delegate_names(delegates),
                minister_speaking: r.get(3)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let w = of_meeting("statement");
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT id, owner, json_extract(json, '$.speaker'), json_extract(json, '$.language'),
                json_extract(json, '$.text'), json_extract(json, '$.link')
         FROM records {} ORDER BY owner, created, id",
        w.sql()
    ))?;
    let mut statements = stmt
        .query_map(w.args(), |r| {
            let member: String = r.get(1)?;
            Ok(StatementRow {
                id: r.get(0)?,
                standing: select::standing_of(&members, &member),
                member,
                speaker: r.get::<_, Option<String>>(2)?.unwrap_or_default(),
                language: r.get(3)?,
                text: original_text(r.get(4)?),
                link: r.get(5)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;

    let mut registered: Vec<String> = registrations.iter().map(|r| r.member.clone()).collect();
    registered.dedup();
    let summary = MeetingSummary {
        registered_members: registered.len() as u64,
        delegates: registrations.iter().map(|r| r.delegates.len() as u64).sum(),
        ministers_speaking: registrations
            .iter()
            .filter(|r| r.minister_speaking == Some(true))
            .count() as u64,
        registrations: truncate(&mut registrations, selection.limit),
        statements: truncate(&mut statements, selection.limit),
    };
    let not_registered = selected
        .iter()
        .filter(|m| m.is_expected() && !registered.contains(&m.code))
        .map(|m| m.code.clone())
        .collect();
    Ok(MeetingView {
        id: meeting_id,
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
    })
}

/// The names in a registration's `delegates` (JSON text).
fn delegate_names(json: Option<String>) -> Vec<String> {
    json.and_then(|t| serde_json::from_str::<Vec<Value>>(&t).ok())
        .unwrap_or_default()
        .iter()
        .filter_map(|d| d.get("name").and_then(Value::as_str).map(str::to_owned))
        .collect()
}
