//! Membership changes on the secretariat's node: each operation checked
//! against the roster, turned into one roster patch, and explained (what
//! happened, what the operator does next).

use std::collections::HashMap;

use serde_json::{Map, Value};

use crate::log::{LogHead, LogKey};
use crate::{
    handover::Handover,
    identity::NodeId,
    log::{Audience, EntryHash},
    member::{MemberCode, SECRETARIAT_CODE},
    roster::{self, Cutoff, KeyStatus, MemberStatus, Roster},
};

/// One change of the roster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Refuse the member's keys at the handshake; keep its records.
    Suspend(String),
    /// Undo a suspension.
    Readmit(String),
    /// The member leaves: its keys are revoked at what the secretariat holds.
    Remove(String),
    /// Where the member's node is reached.
    SetEndpoints(String, Vec<String>),
    /// A compromised key: entries beyond the cut-off are dropped everywhere.
    Revoke {
        /// The key.
        key: NodeId,
        /// Explicit cut-off (network, secretariat); default: what the
        /// secretariat holds.
        last_network: Option<u64>,
        /// See `last_network`.
        last_secretariat: Option<u64>,
    },
    /// A member's key rotation, signed by its old key.
    ConfirmHandover(String),
}

/// A change ready to write: the patch, and what to tell the operator.
#[derive(Debug, Clone)]
pub struct Planned {
    /// The roster patch.
    pub patch: Map<String, Value>,
    /// What happened.
    pub summary: String,
    /// What the operator does next.
    pub next: String,
}

/// Why a change is refused (nothing is written).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RefusedChange {
    /// The request is malformed or contradicts the roster.
    #[error("{0}")]
    Invalid(String),
    /// No such member or key.
    #[error("{0}")]
    NotFound(String),
}

fn member<'a>(
    roster: &'a Roster,
    code: &str,
) -> Result<(String, &'a roster::RosterMember), RefusedChange> {
    let code: MemberCode = code
        .parse()
        .map_err(|e: crate::member::InvalidMemberCode| RefusedChange::Invalid(e.to_string()))?;
    if code.as_str() == SECRETARIAT_CODE {
        return Err(RefusedChange::Invalid(
            "the secretariat cannot suspend, readmit or remove itself; its key is rotated with \
             `focal-node key rotate` on its own node"
                .into(),
        ));
    }
    roster
        .members
        .get(code.as_str())
        .map(|m| (code.to_string(), m))
        .ok_or_else(|| RefusedChange::NotFound(format!("{code} is not a member in the roster")))
}

fn held(vv: &HashMap<LogKey, LogHead>, key: NodeId, audience: Audience) -> u64 {
    vv.get(&(key, audience)).map_or(0, |h| h.seq)
}

/// The last entry held of a log, pinned by its hash.
fn held_pin(
    vv: &HashMap<LogKey, LogHead>,
    key: NodeId,
    audience: Audience,
) -> (u64, Option<EntryHash>) {
    vv.get(&(key, audience))
        .map_or((0, None), |h| (h.seq, Some(h.hash)))
}

/// Looks up the hash of entry `seq` of a log this node holds.
pub type HashAt<'a> = &'a dyn Fn(NodeId, Audience, u64) -> Option<EntryHash>;

/// Checks that `key` may be added to `member` by `focal admin member add`:
/// a key already in the roster (another member's, a former anchor's, or a
/// rotated or revoked one, whose cut-off must never be lifted) is refused;
/// re-adding a member's own active key is allowed (it changes nothing but
/// the endpoint).
pub fn check_new_key(roster: &Roster, member: &str, key: &NodeId) -> Result<(), RefusedChange> {
    if roster.anchor_chain().contains(key) {
        return Err(RefusedChange::Invalid(format!(
            "key {key} is the secretariat's (current or former anchor)"
        )));
    }
    match (roster.member_of(key), roster.key_status(key)) {
        (None, _) => Ok(()),
        (Some(owner), Some(KeyStatus::Active)) if owner.as_str() == member => Ok(()),
        (Some(owner), Some(status)) if owner.as_str() == member => {
            Err(RefusedChange::Invalid(format!(
                "key {key} of {member} is {status}: a retired key never comes back; the member's \
                 node gets a new key with `focal-node key rotate`"
            )))
        }
        (Some(owner), _) => Err(RefusedChange::Invalid(format!(
            "key {key} already belongs to {owner}"
        ))),
    }
}

/// Checks `change` against the roster and the logs this node holds, and
/// plans it.
pub fn plan(
    change: Change,
    roster: &Roster,
    vv: &HashMap<LogKey, LogHead>,
    hash_at: HashAt<'_>,
    network_id: &str,
) -> Result<Planned, RefusedChange> {
    match change {
        Change::Suspend(code) => {
            let (code, m) = member(roster, &code)?;
            if m.status == MemberStatus::Removed {
                return Err(RefusedChange::Invalid(format!(
                    "{code} was removed from the network"
                )));
            }
            Ok(Planned {
                patch: roster::member_status_patch(&code, MemberStatus::Suspended),
                summary: format!(
                    "{code} is suspended: every node refuses its keys at the handshake as the \
                     roster change reaches it, and ends its open streams; its records stay \
                     readable, marked suspended"
                ),
                next: format!("readmit it with `focal admin member readmit {code}`"),
            })
        }
        Change::Readmit(code) => {
            let (code, m) = member(roster, &code)?;
            if m.status == MemberStatus::Removed {
                return Err(RefusedChange::Invalid(format!(
                    "{code} was removed and its keys revoked: it re-joins with a new key \
                     (`focal-node key rotate`, then `focal-node join-request` on its node, and \
                     `focal admin member add --request …` here)"
                )));
            }
            Ok(Planned {
                patch: roster::member_status_patch(&code, MemberStatus::Active),
                summary: format!("{code} is active again: its active keys are accepted"),
                next: "nothing: its node reconnects on its own".into(),
            })
        }
        Change::Remove(code) => {
            let (code, m) = member(roster, &code)?;
            let mut patch = roster::member_status_patch(&code, MemberStatus::Removed);
            let mut lines = Vec::new();
            for (hex, k) in &m.keys {
                let Some(key) = NodeId::from_hex(hex) else {
                    continue;
                };
                if k.status != KeyStatus::Active {
                    continue;
                }
                let last = Cutoff::at(
                    held_pin(vv, key, Audience::Network),
                    held_pin(vv, key, Audience::Secretariat),
                );
                crate::json::merge_patch(&mut patch, &roster::revoke_patch(&code, &key, &last));
                lines.push(format!(
                    "key {key} revoked after network entry {} and secretariat entry {}",
                    last.network, last.secretariat
                ));
            }
            crate::json::merge_patch(&mut patch, &roster::endpoints_patch(&code, &[]));
            Ok(Planned {
                patch,
                summary: format!(
                    "{code} is removed from the network; {}; its records stay readable, \
                     marked removed",
                    if lines.is_empty() {
                        "it had no active key".to_owned()
                    } else {
                        lines.join("; ")
                    }
                ),
                next: format!(
                    "nothing on the other nodes; {code}'s operator may stop its node (it can no \
                     longer connect)"
                ),
            })
        }
        Change::SetEndpoints(code, endpoints) => {
            let (code, _) = member(roster, &code)?;
            if endpoints.is_empty() {
                return Err(RefusedChange::Invalid(
                    "give at least one endpoint (host:port)".into(),
                ));
            }
            for endpoint in &endpoints {
                if focal_client::transport::check_address(endpoint).is_err() {
                    return Err(RefusedChange::Invalid(format!(
                        "endpoint `{endpoint}` is not host:port"
                    )));
                }
            }
            Ok(Planned {
                patch: roster::endpoints_patch(&code, &endpoints),
                summary: format!(
                    "{code} is now reached at {}: every node dials the new address as the \
                     roster change reaches it, without a restart",
                    endpoints.join(", ")
                ),
                next: format!(
                    "make sure {code}'s node listens there (its `advertise` setting should \
                     match)"
                ),
            })
        }
        Change::Revoke {
            key,
            last_network,
            last_secretariat,
        } => {
            let code = roster.member_of(&key).ok_or_else(|| {
                RefusedChange::NotFound(format!("key {key} is not in the roster"))
            })?;
            if roster.anchor() == Some(key) {
                return Err(RefusedChange::Invalid(
                    "this is the secretariat's current anchor key; rotate it with `focal-node \
                     key rotate` on the secretariat's node"
                        .into(),
                ));
            }
            if roster.anchor_chain().contains(&key) {
                return Err(RefusedChange::Invalid(format!(
                    "key {key} is a former anchor key: its hand-over already ends it; revoking \
                     it below its hand-over would undo the hand-over for every node"
                )));
            }
            if roster.key_status(&key) == Some(KeyStatus::Revoked) {
                return Err(RefusedChange::Invalid(format!(
                    "key {key} is already revoked"
                )));
            }
            let have = (
                held(vv, key, Audience::Network),
                held(vv, key, Audience::Secretariat),
            );
            // The cut-off pins the entry by its hash where this node holds
            // it; a rotated key's cut-off can only come down.
            let pin = |audience: Audience, asked: Option<u64>| {
                let held = held_pin(vv, key, audience);
                let wanted = match asked {
                    None => held,
                    Some(seq) if seq == held.0 => held,
                    Some(seq) => (seq, hash_at(key, audience, seq)),
                };
                match roster.cutoff_pin(&key, audience) {
                    Some(existing) if existing.0 < wanted.0 => existing,
                    _ => wanted,
                }
            };
            let last = Cutoff::at(
                pin(Audience::Network, last_network),
                pin(Audience::Secretariat, last_secretariat),
            );
            let drops =
                have.0.saturating_sub(last.network) + have.1.saturating_sub(last.secretariat);
            Ok(Planned {
                patch: roster::revoke_patch(code.as_str(), &key, &last),
                summary: format!(
                    "key {key} of {code} is revoked: its entries up to network {} and \
                     secretariat {} stay valid; every node refuses later ones, drops those it \
                     already holds and rebuilds the records they touched (this node drops \
                     {drops} entr{})",
                    last.network,
                    last.secretariat,
                    if drops == 1 { "y" } else { "ies" }
                ),
                next: format!(
                    "{code}'s operator gives its node a new key (`focal-node key rotate --data \
                     DIR`), then sends `focal-node join-request --data DIR`; add the new key \
                     here with `focal admin member add --request …`. `focal-node status` on \
                     any node lists what was dropped"
                ),
            })
        }
        Change::ConfirmHandover(text) => {
            let h = Handover::from_hex(&text).map_err(|e| RefusedChange::Invalid(e.to_string()))?;
            if h.network_id != network_id {
                return Err(RefusedChange::Invalid(format!(
                    "the hand-over is for network {}, not this network ({network_id})",
                    h.network_id
                )));
            }
            let (code, m) = member(roster, &h.member)?;
            match m.keys.get(&h.from.to_string()).map(|k| k.status) {
                Some(KeyStatus::Active) => {}
                Some(status) => {
                    return Err(RefusedChange::Invalid(format!(
                        "key {} of {code} is {status}: only an active key can hand over; add \
                         the new key with `focal admin member add --request …`",
                        h.from
                    )));
                }
                None => {
                    return Err(RefusedChange::NotFound(format!(
                        "key {} is not a key of {code} in the roster",
                        h.from
                    )));
                }
            }
            if roster.member_of(&h.to).is_some() {
                return Err(RefusedChange::Invalid(format!(
                    "the new key {} is already in the roster",
                    h.to
                )));
            }
            for audience in [Audience::Network, Audience::Secretariat] {
                let (last, pinned) = h.last(audience);
                let have = held(vv, h.from, audience);
                if have >= last
                    && last > 0
                    && pinned.is_some_and(|p| hash_at(h.from, audience, last) != Some(p))
                {
                    return Err(RefusedChange::Invalid(format!(
                        "the hand-over's last {} entry ({last}) of key {} is not the entry this \
                         node holds at that number: the old key's history was forked; revoke it \
                         instead (`focal admin key revoke {}`)",
                        audience.as_str(),
                        h.from,
                        h.from
                    )));
                }
                if have > last {
                    return Err(RefusedChange::Invalid(format!(
                        "this node holds {} entries of key {} up to {have}, beyond the \
                         hand-over's last ({last}): the old key signed after handing over; \
                         revoke it instead (`focal admin key revoke {}`)",
                        audience.as_str(),
                        h.from,
                        h.from
                    )));
                }
            }
            Ok(Planned {
                patch: roster::handover_patch(&h),
                summary: format!(
                    "{code}'s key {} handed over to {}: entries of the old key beyond network \
                     {} and secretariat {} are refused everywhere; the new key is active",
                    h.from, h.to, h.last_network, h.last_secretariat
                ),
                next: format!(
                    "nothing here; {code}'s node, started with its new key, is accepted by \
                     every node as the roster change reaches it"
                ),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        identity::NodeKey,
        json::merge_patch,
        log::EntryHash,
        roster::{Roster, add_member_patch},
    };

    struct Net {
        roster: Roster,
        esp: NodeKey,
        vv: HashMap<LogKey, LogHead>,
        held: HashMap<(NodeId, u64), EntryHash>,
    }

    /// A roster with SEC (genesis `sec`) and ESP; this node holds ESP's
    /// network log up to 3.
    fn net() -> (Net, NodeKey) {
        let sec = NodeKey::generate().unwrap();
        let esp = NodeKey::generate().unwrap();
        let mut json = add_member_patch(&"SEC".parse().unwrap(), &sec.id(), "127.0.0.1:1");
        merge_patch(
            &mut json,
            &add_member_patch(&"ESP".parse().unwrap(), &esp.id(), "127.0.0.1:2"),
        );
        let roster = Roster::from_json(&json, Some(sec.id()), Some("net"));
        let mut vv = HashMap::new();
        vv.insert(
            (esp.id(), Audience::Network),
            LogHead {
                seq: 3,
                hash: EntryHash([3; 32]),
            },
        );
        let held = (1..=3)
            .map(|n| ((esp.id(), n), EntryHash([n as u8; 32])))
            .collect();
        (
            Net {
                roster,
                esp,
                vv,
                held,
            },
            sec,
        )
    }

    fn plan_on(net: &Net, change: Change) -> Result<Planned, RefusedChange> {
        let hash_at = |key: NodeId, _: Audience, seq: u64| net.held.get(&(key, seq)).copied();
        plan(change, &net.roster, &net.vv, &hash_at, "net")
    }

    fn refused(result: Result<Planned, RefusedChange>) -> String {
        match result {
            Ok(p) => panic!("accepted: {}", p.summary),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn a_hand_over_is_confirmed_only_when_it_is_sound() {
        let (net, _) = net();
        let next = NodeKey::generate().unwrap();
        let sign = |network: &str, member: &str, to: NodeId, last: (u64, EntryHash)| {
            Handover::sign(
                net.esp.signing_key(),
                network,
                member,
                to,
                last,
                (0, EntryHash::default()),
            )
            .to_hex()
        };
        let good = sign("net", "ESP", next.id(), (3, EntryHash([3; 32])));
        let planned = plan_on(&net, Change::ConfirmHandover(good)).unwrap();
        assert!(
            planned.summary.contains("handed over"),
            "{}",
            planned.summary
        );
        for (text, why) in [
            (
                sign("other", "ESP", next.id(), (3, EntryHash([3; 32]))),
                "is for network other",
            ),
            (
                sign("net", "NAM", next.id(), (3, EntryHash([3; 32]))),
                "NAM is not a member in the roster",
            ),
            (
                sign("net", "ESP", net.esp.id(), (3, EntryHash([3; 32]))),
                "a key cannot hand over to itself",
            ),
            (
                sign("net", "ESP", next.id(), (2, EntryHash([2; 32]))),
                "beyond the hand-over's last (2)",
            ),
            (
                sign("net", "ESP", next.id(), (3, EntryHash([9; 32]))),
                "the old key's history was forked",
            ),
        ] {
            let why_got = refused(plan_on(&net, Change::ConfirmHandover(text)));
            assert!(why_got.contains(why), "{why_got}");
        }
        // A hand-over to a key already in the roster.
        let sec_key = net.roster.anchor().unwrap();
        let to_anchor = sign("net", "ESP", sec_key, (3, EntryHash([3; 32])));
        assert!(
            refused(plan_on(&net, Change::ConfirmHandover(to_anchor)))
                .contains("already in the roster")
        );
        // A hand-over signed by a key the roster does not list for ESP.
        let stranger = NodeKey::generate().unwrap();
        let text = Handover::sign(
            stranger.signing_key(),
            "net",
            "ESP",
            next.id(),
            (0, EntryHash::default()),
            (0, EntryHash::default()),
        )
        .to_hex();
        assert!(
            refused(plan_on(&net, Change::ConfirmHandover(text))).contains("is not a key of ESP")
        );
    }

    #[test]
    fn revocations_pin_the_entry_and_refuse_anchor_keys() {
        let (net, _) = net();
        let planned = plan_on(
            &net,
            Change::Revoke {
                key: net.esp.id(),
                last_network: Some(2),
                last_secretariat: None,
            },
        )
        .unwrap();
        assert!(
            planned.summary.contains("this node drops 1 entry"),
            "{}",
            planned.summary
        );
        let last = &planned.patch["members"]["ESP"]["keys"][&net.esp.id().to_string()]["last"];
        assert_eq!(last["network"], 2);
        assert_eq!(last["network_hash"], EntryHash([2; 32]).to_string());
        let anchor = net.roster.anchor().unwrap();
        let why = refused(plan_on(
            &net,
            Change::Revoke {
                key: anchor,
                last_network: None,
                last_secretariat: None,
            },
        ));
        assert!(why.contains("current anchor key"), "{why}");
        let why = refused(plan_on(
            &net,
            Change::Revoke {
                key: NodeKey::generate().unwrap().id(),
                last_network: None,
                last_secretariat: None,
            },
        ));
        assert!(why.contains("is not in the roster"), "{why}");
        for change in [
            Change::Suspend("SEC".into()),
            Change::Readmit("FRA".into()),
            Change::SetEndpoints("ESP".into(), vec![]),
            Change::SetEndpoints("ESP".into(), vec!["no port".into()]),
        ] {
            assert!(plan_on(&net, change).is_err());
        }
    }
}
