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
//!
//! Pages follow [`ORDER`], the order of the `records_directory` index.

use rusqlite::Connection;

use super::{
    Context, Freshness, Paged, Pager, ViewError, ViewInput, Where, after_key, freshness, read_key,
    readable,
    select::{self, Accepts, Selection},
    string_list, text,
};
use crate::store::query::{ROW_FRAMING, SCALAR_SIZE, list_size, text_size};

/// The directory's order: by member, primary before alternate before
/// others, then by name and id (the expressions of `records_directory`).
const ORDER: [&str; 4] = [
    "owner",
    "CASE json_extract(json, '$.designation') WHEN 'primary' THEN 0 \
     WHEN 'alternate' THEN 1 ELSE 2 END",
    "coalesce(json_extract(json, '$.person_name'), '')",
    "id",
];

/// The name its cursors carry.
const LISTING: &str = "directory";

/// The directory.
#[derive(Debug, Clone)]
pub struct Directory {
    /// The focal points, by member, primary before alternate, then by name:
    /// one page.
    pub entries: Paged<DirectoryEntry>,
    /// Every match (on the first page; 0 on later pages).
    pub total: u64,
    /// How current it is.
    pub freshness: Freshness,
    /// Makes the cursor of the next page.
    pub pager: Pager,
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

impl DirectoryEntry {
    /// An upper bound of its size on the wire.
    fn size(&self) -> usize {
        let texts = [
            Some(&self.member),
            self.region.as_ref(),
            Some(&self.id),
            Some(&self.person_name),
            self.designation.as_ref(),
            Some(&self.posting),
            self.title.as_ref(),
            self.institution.as_ref(),
            self.appointed.as_ref(),
            self.ended.as_ref(),
            self.email.as_ref(),
            self.phone.as_ref(),
            Some(&self.visibility),
            Some(&self.standing),
        ];
        texts.iter().flatten().map(|t| text_size(t)).sum::<usize>()
            + list_size(&self.languages)
            + SCALAR_SIZE
            + ROW_FRAMING
    }
}

pub(crate) fn query(
    conn: &Connection,
    ctx: &Context<'_>,
    input: &ViewInput,
) -> Result<Directory, ViewError> {
    let mut selection = Selection::parse(
        input,
        "directory",
        Accepts {
            theme: false,
            period: true,
        },
    )?;
    let after = selection.start(LISTING, ORDER.len(), "")?;
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
    // The count of every match (first page only): the page's rows when
    // the page holds them all, else counted.
    let count = w.clone();
    let first_page = after.is_none();
    if let Some(key) = &after {
        after_key(&mut w, &ORDER, key);
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
                json_extract(json, '$.contact.phone'),
                (SELECT c.json FROM records AS c
                 WHERE c.id = replace(records.id, ':focal-point:', ':focal-point-contact:')
                   AND c.type = 'focal-point-contact') AS companion,
                {order}
         FROM records INDEXED BY records_directory {}
         ORDER BY {order}
         LIMIT {}",
        w.sql(),
        selection.limit + 1,
        order = ORDER.join(", "),
    ))?;
    let mut entries = Paged::new(after, selection.limit, selection.max_bytes);
    let mut rows = stmt.query(w.args())?;
    while let Some(r) = rows.next()? {
        let owner: String = r.get(1)?;
        let contact = crate::records::focal_point::contact_shown(ctx.me.as_str(), &owner);
        let (email, phone) = match r.get::<_, Option<String>>(13)? {
            Some(companion) => {
                let held: serde_json::Value = serde_json::from_str(&companion).unwrap_or_default();
                let text = |key: &str| held.get(key).and_then(|v| v.as_str()).map(str::to_owned);
                (text("email"), text("phone"))
            }
            None => (r.get(11)?, r.get(12)?),
        };
        let entry = DirectoryEntry {
            standing: select::standing_of(&members, &owner),
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
            email: email.filter(|_| contact),
            phone: phone.filter(|_| contact),
            contact_withheld: !contact,
        };
        let size = entry.size();
        if !entries.offer(entry, read_key(r, 14, ORDER.len())?, size) {
            break;
        }
    }
    let total = if !first_page {
        0
    } else if !entries.more() {
        entries.len() as u64
    } else {
        conn.prepare_cached(&format!("SELECT count(*) FROM records {}", count.sql()))?
            .query_row(count.args(), |r| r.get::<_, i64>(0))? as u64
    };
    Ok(Directory {
        entries,
        total,
        freshness: freshness::of(conn, ctx, &selected, selection.as_of)?,
        pager: selection.pager(LISTING, ""),
    })
}
