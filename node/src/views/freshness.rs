//! How current a view is: for each member, the head of each of its logs
//! this node holds (sequence number, and when that entry was stored here).
//!
//! One indexed lookup per key and log this node can hold (`UNIQUE (origin,
//! audience, seq)`), so the cost grows with the number of keys, not of
//! entries.

use rusqlite::{Connection, OptionalExtension};

use super::{Context, MemberInfo, ViewError};
use crate::{log::Audience, member::SECRETARIAT_CODE, records::Date};

/// The last entries seen, per member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Freshness {
    /// The day the view was judged on.
    pub as_of: Date,
    /// One per member of the selection, in code order.
    pub members: Vec<MemberFreshness>,
}

/// The last entries seen from one member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberFreshness {
    /// The member.
    pub member: String,
    /// Entries held from its keys (logs are gap-free, so the sum of heads).
    pub entries: u64,
    /// When the newest of them was stored here (RFC 3339); `None` if
    /// nothing of the member's has been seen.
    pub last_received: Option<String>,
    /// Each log held: its head.
    pub logs: Vec<LogPosition>,
}

/// The head of one log held here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogPosition {
    /// The node key (hex).
    pub node_key: String,
    /// The log's audience.
    pub audience: &'static str,
    /// The highest sequence number held.
    pub seq: u64,
    /// When that entry was stored here (RFC 3339).
    pub received: String,
}

/// The freshness of `members`.
pub(crate) fn of(
    conn: &Connection,
    ctx: &Context<'_>,
    members: &[MemberInfo],
    as_of: Date,
) -> Result<Freshness, ViewError> {
    let on_secretariat = ctx.me.as_str() == SECRETARIAT_CODE;
    let mut stmt = conn.prepare_cached(
        "SELECT seq, stored_at FROM log_entries
         WHERE origin = ?1 AND audience = ?2 ORDER BY seq DESC LIMIT 1",
    )?;
    let mut out = Vec::with_capacity(members.len());
    // Heads read here, for the cache (see `Views::cached`).
    let mut read = Vec::new();
    for member in members {
        let mut logs = Vec::new();
        let mut newest: Option<i64> = None;
        for key in &member.keys {
            // Only the logs this node can hold: every member's network log;
            // secretariat logs on the secretariat's node and the owner's;
            // local logs on the owner's node only.
            let held = Audience::ALL.into_iter().filter(|audience| match audience {
                Audience::Network => true,
                Audience::Secretariat => on_secretariat || member.code == ctx.me.as_str(),
                Audience::Local => member.code == ctx.me.as_str(),
            });
            for audience in held {
                let head: Option<(i64, i64)> = match ctx.kept_head(*key, audience) {
                    Some(head) => head,
                    None => {
                        let head = stmt
                            .query_row(rusqlite::params![&key.0[..], audience.code()], |r| {
                                Ok((r.get(0)?, r.get(1)?))
                            })
                            .optional()?;
                        read.push(((*key, audience), head));
                        head
                    }
                };
                if let Some((seq, stored_at)) = head {
                    newest = Some(newest.map_or(stored_at, |n| n.max(stored_at)));
                    logs.push(LogPosition {
                        node_key: key.to_string(),
                        audience: audience.as_str(),
                        seq: seq as u64,
                        received: rfc3339(stored_at),
                    });
                }
            }
        }
        out.push(MemberFreshness {
            member: member.code.clone(),
            entries: logs.iter().map(|l| l.seq).sum(),
            last_received: newest.map(rfc3339),
            logs,
        });
    }
    ctx.keep_heads(&read);
    Ok(Freshness {
        as_of,
        members: out,
    })
}

fn rfc3339(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}
