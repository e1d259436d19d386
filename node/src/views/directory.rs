//! The focal-point directory: who represents each member, primary first.
//!
//! A focal point is listed if it serves on `as_of` (appointed by then, not
//! ended before), or with a period, at any time in it. Contact details come
//! from the record, which this node holds only if its member may read it
//! (see [`super::readable`]).

use rusqlite::Connection;

use super::{
    Context, Freshness, ViewError, ViewInput, Where, freshness, readable,
    select::{self, Accepts, Selection},
    string_list, text, truncate,
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
        "SELECT id, owner, visibility,
                json_extract(json, '$.person_name') AS name,
                json_extract(json, '$.designation') AS designation,
                json_extract(json, '$.posting'),
                json_extract(json, '$.languages'),
                json_extract(json, '$.title'),
                json_extract(json, '$.institution'),
                json_extract(json, '$.appointed'),
                json_extract(json, '$.ended'),
                json_extract(json, '$.contact.email'),
                json_extract(json, '$.contact.phone')
         FROM records {}
         ORDER BY owner,
                  CASE designation WHEN 'primary' THEN 0 WHEN 'alternate' THEN 1 ELSE 2 END,
                  name, id",
        w.sql()
    ))?;
    let mut entries = stmt
        .query_map(w.args(), |r| {
            let owner: String = r.get(1)?;
            Ok(DirectoryEntry {
                region: members.get(&owner).and_then(|m| m.region.clone()),
                member: owner,
                id: r.get(0)?,
                visibility: r.get(2)?,
                person_name: r.get::<_, Option<String>>(3)?.unwrap_or_default(),
                designation: r.get(4)?,
                posting: r.get::<_, Option<String>>(5)?.unwrap_or_default(),
                languages: string_list(r.get(6)?),
                title: r.get(7)?,
                institution: r.get(8)?,
                appointed: r.get(9)?,
                ended: r.get(10)?,
                email: r.get(11)?,
                phone: r.get(12)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let total = truncate(&mut entries, selection.limit);
    Ok(Directory {
        entries,
        total,
        freshness: freshness::of(conn, ctx, &selected, selection.as_of)?,
    })
}
