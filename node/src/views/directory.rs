//! The focal-point directory: who represents each member, primary first.
//!
//! A focal point is listed if it serves on `as_of` (appointed by then, not
//! ended before), or with a period, at any time in it. The record itself is
//! listed if this node's member may read it (see [`super::readable`]).
//!
//! Contact details are narrower than the record (RECORDS.md allows it):
//! e-mail and phone travel, in the focal point's `focal-point-contact`
//! companion, only to the node of the member the focal point belongs to and
//! to the secretariat's node, and are shown only there. On another member's
//! node the focal point is listed without them (`contact_withheld` says so:
//! that node cannot know whether there are any). A focal point written
//! before the companions existed may still hold them in its own document:
//! they are read from there only where no companion is held, and shown by
//! the same rule.
//!
//! Focal points of suspended or removed members are listed, marked with
//! the member's standing.

use rusqlite::Connection;

use super::{
    Context, Freshness, ViewError, ViewInput, Where, freshness, readable,
    select::{self, Accepts, Selection},
    string_list, text,
};

/// The directory.
#[derive(Debug, Clone)]
pub struct Directory {
    /// The focal points, by member, primary before alternate, then by name.
    pub entries: Vec<DirectoryEntry>,
    /// Every match (entries may be cut at the limit).
    pub total: u64,
    /// How current it is.
    pub freshness: Freshness,
}

/// One focal point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryEntry {
    /// The member represented.
    pub member: String,
    /// Its region.
    pub region: Option<String>,
    /// The record id.
    pub id: String,
    /// The person.
    pub person_name: String,
    /// `primary` or `alternate`.
    pub designation: Option<String>,
    /// `capital`, `new-york-mission`, `regional-hq`.
    pub posting: String,
    /// Language tags.
    pub languages: Vec<String>,
    /// Job title.
    pub title: Option<String>,
    /// Institution.
    pub institution: Option<String>,
    /// Appointed on.
    pub appointed: Option<String>,
    /// Ended on.
    pub ended: Option<String>,
    /// E-mail.
    pub email: Option<String>,
    /// Phone.
    pub phone: Option<String>,
    /// The record's visibility.
    pub visibility: String,
    /// Whether contact details are left out: another member's focal point
    /// on a member's node, which does not receive them.
    pub contact_withheld: bool,
    /// The member's standing: empty when active, `suspended`, `removed`.
    pub standing: String,
}

pub(crate) fn query(
    conn: &Connection,
    ctx: &Context<'_>,
    input: &ViewInput,
) -> Result<Directory, ViewError> {
    let selection = Selection::parse(
        input,
        "directory",
        Accepts {
            theme: false,
            period: true,
        },
    )?;
    let members = select::member_table(conn, ctx)?;
    let selected = select::selected_members(&members, &selection)?;
    let mut w = Where::default();
    w.push("type = 'focal-point'", []);
    w.push("deleted = 0", []);
    readable(&mut w, ctx);
    select::owned_by_selected(&mut w, "owner", &selection, &selected);
    let (from, to) = match selection.period {
        Some(range) => (range.start, range.end),
        None => (Some(selection.as_of), Some(selection.as_of)),
    };
    if let Some(to) = to {
        w.push(
            "(json_extract(json, '$.appointed') IS NULL OR json_extract(json, '$.appointed') <= ?)",
            [text(to.to_string())],
        );
    }
    if let Some(from) = from {
        w.push(
            "(json_extract(json, '$.ended') IS NULL OR json_extract(json, '$.ended') >= ?)",
            [text(from.to_string())],
        );
    }
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT id, owner, visibility, count(*) OVER () AS total,
                json_extract(json, '$.person_name') AS name,
                json_extract(json, '$.designation') AS designation,
                json_extract(json, '$.posting'),
                json_extract(json, '$.languages'),
                json_extract(json, '$.title'),
                json_extract(json, '$.institution'),
                json_extract(json, '$.appointed'),
                json_extract(json, '$.ended'),
                json_extract(json, '$.contact.email'),
                json_extract(json, '$.contact.phone'),
                (SELECT c.json FROM records AS c
                 WHERE c.id = replace(records.id, ':focal-point:', ':focal-point-contact:')
                   AND c.type = 'focal-point-contact') AS companion
         FROM records {}
         ORDER BY owner,
                  CASE designation WHEN 'primary' THEN 0 WHEN 'alternate' THEN 1 ELSE 2 END,
                  name, id
         LIMIT {}",
        w.sql(),
        selection.limit
    ))?;
    // Every match is counted by the window before `LIMIT` cuts the rows.
    let mut total = 0;
    let entries = stmt
        .query_map(w.args(), |r| {
            let owner: String = r.get(1)?;
            total = r.get::<_, i64>(3)? as u64;
            let contact = crate::records::focal_point::contact_shown(ctx.me.as_str(), &owner);
            let (email, phone) = match r.get::<_, Option<String>>(14)? {
                Some(companion) => {
                    let held: serde_json::Value =
                        serde_json::from_str(&companion).unwrap_or_default();
                    let text =
                        |key: &str| held.get(key).and_then(|v| v.as_str()).map(str::to_owned);
                    (text("email"), text("phone"))
                }
                None => (r.get(12)?, r.get(13)?),
            };
            let contact_withheld = !contact;
            Ok(DirectoryEntry {
                standing: select::standing_of(&members, &owner),
                region: members.get(&owner).and_then(|m| m.region.clone()),
                member: owner,
                id: r.get(0)?,
                visibility: r.get(2)?,
                person_name: r.get::<_, Option<String>>(4)?.unwrap_or_default(),
                designation: r.get(5)?,
                posting: r.get::<_, Option<String>>(6)?.unwrap_or_default(),
                languages: string_list(r.get(7)?),
                title: r.get(8)?,
                institution: r.get(9)?,
                appointed: r.get(10)?,
                ended: r.get(11)?,
                email: email.filter(|_| contact),
                phone: phone.filter(|_| contact),
                contact_withheld,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Directory {
        entries,
        total,
        freshness: freshness::of(conn, ctx, &selected, selection.as_of)?,
    })
}
