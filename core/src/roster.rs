//! The roster: who is in the network, with which keys, at which addresses.
//!
//! The roster is one Automerge document, [`ROSTER_ID`], written only by the
//! secretariat's key (the trust anchor) and replicated like any other
//! document. Every node reads it to decide whom it talks to: a peer is
//! accepted only if the key it presents is active in the roster, for a member
//! that is active.
//!
//! ```json
//! { "type": "roster",
//!   "members": { "ESP": { "status": "active",
//!                         "keys": { "<hex>": { "status": "active" },
//!                                   "<old hex>": { "status": "rotated", "successor": "<hex>",
//!                                                  "last": { "network": 41, "secretariat": 2 } } },
//!                         "endpoints": ["madrid.example:7400"] } },
//!   "handovers": { "<old hex>": "<signed hand-over, hex>" } }
//! ```
//!
//! A member is `active`, `suspended` (its keys are refused at the handshake,
//! its records stay readable) or `removed` (its keys are revoked). A key is
//! `active`, `rotated` (handed over to its successor) or `revoked`; a rotated
//! or revoked key carries `last`, the last sequence number of each of its logs
//! that stays valid. Nothing beyond is accepted anywhere: the cut-off is
//! clock-free.
//!
//! The current trust anchor is the genesis key, followed through the
//! secretariat's confirmed hand-overs. Only hand-overs signed for this
//! node's network count: a key may have signed hand-overs in another
//! network (a test network under the same key, say), and such a hand-over
//! carried in a roster change is ignored wherever the anchor chain or a
//! cut-off is worked out.

use std::{
    collections::BTreeMap,
    sync::{Arc, RwLock},
};

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::{
    handover::Handover,
    identity::NodeId,
    log::{Audience, EntryHash},
    member::{MemberCode, SECRETARIAT_CODE},
};

/// The document id of the roster.
pub const ROSTER_ID: &str = "roster";

/// A member's standing.
#[derive(Debug, Clone, Copy, Deserialize, serde::Serialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "lowercase")]
pub enum MemberStatus {
    /// Its active keys are peers.
    Active,
    /// Its keys are refused at the handshake; its records stay readable.
    Suspended,
    /// Its keys are revoked.
    Removed,
}

/// A node key's standing.
#[derive(Debug, Clone, Copy, Deserialize, serde::Serialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "lowercase")]
pub enum KeyStatus {
    /// It signs for its member.
    Active,
    /// Handed over to its successor; valid up to its cut-off.
    Rotated,
    /// Revoked; valid up to its cut-off.
    Revoked,
}

impl MemberStatus {
    /// The roster's word for it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Suspended => "suspended",
            Self::Removed => "removed",
        }
    }
}

impl KeyStatus {
    /// The roster's word for it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Rotated => "rotated",
            Self::Revoked => "revoked",
        }
    }
}

impl std::fmt::Display for MemberStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::fmt::Display for KeyStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A member's standing in the roster. Its status is required: an entry
/// without one, or with a word this version does not know, is not read
/// (its keys are then unknown, and refused), never taken as active.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct RosterMember {
    /// Its standing.
    pub status: MemberStatus,
    /// The member's node keys (hex) and their status.
    #[serde(default)]
    pub keys: BTreeMap<String, RosterKey>,
    /// Where the member's node(s) can be reached.
    #[serde(default)]
    pub endpoints: Vec<String>,
}

/// The last valid entry of each log of a key: its sequence number and,
/// where known, its hash (which pins the whole history before it).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq, Default)]
pub struct Cutoff {
    /// The network log.
    #[serde(default)]
    pub network: u64,
    /// The secretariat log.
    #[serde(default)]
    pub secretariat: u64,
    /// The hash of the network log's last valid entry (hex).
    #[serde(default)]
    pub network_hash: Option<String>,
    /// The hash of the secretariat log's last valid entry (hex).
    #[serde(default)]
    pub secretariat_hash: Option<String>,
}

impl Cutoff {
    /// The last valid entry for `audience`: sequence number and hash.
    pub fn pin(&self, audience: Audience) -> (u64, Option<EntryHash>) {
        let (seq, hash) = match audience {
            Audience::Network => (self.network, &self.network_hash),
            Audience::Secretariat => (self.secretariat, &self.secretariat_hash),
            Audience::Local => (0, &None),
        };
        let hash = hash
            .as_deref()
            .and_then(|h| hex::decode(h).ok())
            .and_then(|b| <[u8; 32]>::try_from(b).ok())
            .map(EntryHash);
        (seq, hash.filter(|_| seq > 0))
    }

    /// A cut-off at the given entries.
    pub fn at(network: (u64, Option<EntryHash>), secretariat: (u64, Option<EntryHash>)) -> Self {
        Self {
            network: network.0,
            secretariat: secretariat.0,
            network_hash: network.1.map(|h| h.to_string()),
            secretariat_hash: secretariat.1.map(|h| h.to_string()),
        }
    }
}

/// A node key's entry in the roster.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct RosterKey {
    /// Its standing (required, like a member's).
    pub status: KeyStatus,
    /// For a rotated or revoked key: the last valid entries.
    #[serde(default)]
    pub last: Option<Cutoff>,
    /// For a rotated key: the key that continues.
    #[serde(default)]
    pub successor: Option<String>,
}

/// The roster as the node reads it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Roster {
    /// Members by code.
    pub members: BTreeMap<String, RosterMember>,
    /// Confirmed hand-overs by the key that handed over (verified on load,
    /// and of this network only).
    pub handovers: BTreeMap<NodeId, Handover>,
    /// The genesis key (from the node's configuration): the first anchor.
    pub genesis: Option<NodeId>,
    /// The network id (from the node's configuration): only hand-overs
    /// signed for it count. None (no network): none counts.
    pub network_id: Option<String>,
}

/// A peer the roster lets this node talk to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    /// Its member.
    pub member: MemberCode,
    /// Its node key.
    pub key: NodeId,
    /// Where to reach it.
    pub endpoint: String,
}

impl Roster {
    /// An empty roster of the network `network_id` founded by `genesis`.
    pub fn empty(genesis: Option<NodeId>, network_id: Option<String>) -> Self {
        Self {
            genesis,
            network_id,
            ..Self::default()
        }
    }

    /// Reads the roster document's JSON of the network `network_id`
    /// founded by `genesis` (unknown keys are ignored, so an older node
    /// reads a newer roster; a hand-over whose signature does not verify,
    /// or signed for another network, is ignored and logged).
    pub fn from_json(
        json: &Map<String, Value>,
        genesis: Option<NodeId>,
        network_id: Option<&str>,
    ) -> Self {
        let json = crate::schema::ROSTER.migrated(json);
        let members = json
            .get("members")
            .and_then(Value::as_object)
            .map(|members| {
                members
                    .iter()
                    .filter_map(|(code, v)| {
                        match serde_json::from_value::<RosterMember>(v.clone()) {
                            Ok(member) => Some((code.clone(), member)),
                            Err(err) => {
                                tracing::warn!(
                                    member = %code,
                                    %err,
                                    "ignored a roster entry this node cannot read: its keys \
                                     are refused"
                                );
                                None
                            }
                        }
                    })
                    .collect()
            })
            .unwrap_or_default();
        let mut handovers = BTreeMap::new();
        for (from, text) in json
            .get("handovers")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            match text.as_str().map(Handover::from_hex) {
                Some(Ok(h)) if h.from.to_string() != *from => {
                    tracing::warn!(key = %from, "ignored a hand-over filed under another key in the roster");
                }
                Some(Ok(h)) if Some(h.network_id.as_str()) != network_id => {
                    tracing::warn!(key = %from, network = %h.network_id, "ignored a hand-over signed for another network in the roster");
                }
                Some(Ok(h)) => {
                    handovers.insert(h.from, h);
                }
                _ => tracing::warn!(key = %from, "ignored an invalid hand-over in the roster"),
            }
        }
        Self {
            members,
            handovers,
            genesis,
            network_id: network_id.map(str::to_owned),
        }
    }

    /// The hand-over `key` signed in this network, if the roster holds one.
    /// (Also for a roster built field by field: a hand-over of another
    /// network never counts.)
    fn handover_of(&self, key: &NodeId) -> Option<&Handover> {
        self.handovers
            .get(key)
            .filter(|h| Some(h.network_id.as_str()) == self.network_id.as_deref())
    }

    /// The current trust anchor: the genesis key, followed through the
    /// secretariat's hand-overs.
    pub fn anchor(&self) -> Option<NodeId> {
        self.anchor_chain().last().copied()
    }

    /// The genesis key and its successors, oldest first.
    pub fn anchor_chain(&self) -> Vec<NodeId> {
        let mut chain: Vec<NodeId> = self.genesis.into_iter().collect();
        while let Some(h) = chain.last().and_then(|k| self.handover_of(k))
            && h.member == SECRETARIAT_CODE
            && !chain.contains(&h.to)
        {
            chain.push(h.to);
        }
        chain
    }

    fn in_anchor_chain(&self, key: &NodeId) -> bool {
        self.anchor_chain().contains(key)
    }

    fn key_entry(&self, key: &NodeId) -> Option<(&String, &RosterMember, &RosterKey)> {
        let hex = key.to_string();
        self.members
            .iter()
            .find_map(|(code, member)| member.keys.get(&hex).map(|k| (code, member, k)))
    }

    /// The member whose active key `key` is, if both are active.
    pub fn active_member_of(&self, key: &NodeId) -> Option<MemberCode> {
        match self.key_entry(key) {
            Some((code, member, k)) => (member.status == MemberStatus::Active
                && k.status == KeyStatus::Active)
                .then(|| code.parse().ok())
                .flatten(),
            // The current anchor before the roster lists it.
            None => (self.anchor() == Some(*key))
                .then(|| SECRETARIAT_CODE.parse().ok())
                .flatten(),
        }
    }

    /// The member `key` belongs to, whatever its status (for entries that
    /// were signed while it was active).
    pub fn member_of(&self, key: &NodeId) -> Option<MemberCode> {
        if self.in_anchor_chain(key) {
            return SECRETARIAT_CODE.parse().ok();
        }
        self.key_entry(key)
            .and_then(|(code, _, _)| code.parse().ok())
    }

    /// The last valid entry of `key`'s `audience` log, with its hash where
    /// the roster or the hand-over pins it: the lowest of the two.
    pub fn cutoff_pin(&self, key: &NodeId, audience: Audience) -> Option<(u64, Option<EntryHash>)> {
        let from_roster = self
            .key_entry(key)
            // Whatever the status: a cut-off, once set, never goes away.
            .and_then(|(_, _, k)| k.last.as_ref())
            .map(|c| c.pin(audience));
        let from_handover = self.handover_of(key).map(|h| h.last(audience));
        match (from_roster, from_handover) {
            (Some(a), Some(b)) if a.0 == b.0 => Some((a.0, b.1.or(a.1))),
            (Some(a), Some(b)) => Some(if a.0 < b.0 { a } else { b }),
            (a, b) => a.or(b),
        }
    }

    /// Every key with a cut-off, and its cut-offs.
    pub fn cutoffs(&self) -> Vec<(NodeId, Cutoff)> {
        let mut keys: Vec<NodeId> = self.handovers.keys().copied().collect();
        for member in self.members.values() {
            for (hex, k) in &member.keys {
                if (k.status != KeyStatus::Active || k.last.is_some())
                    && let Some(id) = NodeId::from_hex(hex)
                {
                    keys.push(id);
                }
            }
        }
        keys.sort();
        keys.dedup();
        keys.into_iter()
            .filter_map(|k| {
                let network = self.cutoff_pin(&k, Audience::Network)?;
                let secretariat = self.cutoff_pin(&k, Audience::Secretariat)?;
                Some((k, Cutoff::at(network, secretariat)))
            })
            .collect()
    }

    /// The standing of a member (`active`, `suspended`, `removed`), if known.
    pub fn member_status(&self, code: &str) -> Option<MemberStatus> {
        self.members.get(code).map(|m| m.status)
    }

    /// The standing of a key (`active`, `rotated`, `revoked`), if known.
    pub fn key_status(&self, key: &NodeId) -> Option<KeyStatus> {
        self.key_entry(key).map(|(_, _, k)| k.status)
    }

    /// Every active peer except `me`, with each of its endpoints.
    pub fn peers(&self, me: &NodeId) -> Vec<Peer> {
        let mut peers = Vec::new();
        for (code, member) in &self.members {
            let Ok(code) = code.parse::<MemberCode>() else {
                continue;
            };
            if member.status != MemberStatus::Active {
                continue;
            }
            for (hex, key) in &member.keys {
                let Some(id) = NodeId::from_hex(hex) else {
                    continue;
                };
                if key.status != KeyStatus::Active || id == *me {
                    continue;
                }
                for endpoint in &member.endpoints {
                    peers.push(Peer {
                        member: code.clone(),
                        key: id,
                        endpoint: endpoint.clone(),
                    });
                }
            }
        }
        peers
    }
}

/// The roster shared between the writer (which updates it whenever the
/// roster document changes) and the TLS and sync layers (which read it).
pub type SharedRoster = Arc<RwLock<Roster>>;

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// The JSON merge patch that adds (or re-activates) a member with one key
/// and endpoint.
pub fn add_member_patch(member: &MemberCode, key: &NodeId, endpoint: &str) -> Map<String, Value> {
    object(serde_json::json!({
        "type": "roster",
        "members": {
            member.as_str(): {
                "status": "active",
                "keys": { key.to_string(): { "status": "active" } },
                "endpoints": [endpoint],
            }
        }
    }))
}

/// The patch that sets a member's standing.
pub fn member_status_patch(member: &str, status: MemberStatus) -> Map<String, Value> {
    object(serde_json::json!({ "members": { member: { "status": status.as_str() } } }))
}

/// The patch that replaces a member's endpoints.
pub fn endpoints_patch(member: &str, endpoints: &[String]) -> Map<String, Value> {
    object(serde_json::json!({ "members": { member: { "endpoints": endpoints } } }))
}

fn cutoff_json(last: &Cutoff) -> Value {
    let mut value = serde_json::json!({ "network": last.network, "secretariat": last.secretariat });
    for (field, hash) in [
        ("network_hash", &last.network_hash),
        ("secretariat_hash", &last.secretariat_hash),
    ] {
        if let (Some(hash), Value::Object(map)) = (hash, &mut value) {
            map.insert(field.into(), Value::String(hash.clone()));
        }
    }
    value
}

/// The patch that revokes a key with its cut-off.
pub fn revoke_patch(member: &str, key: &NodeId, last: &Cutoff) -> Map<String, Value> {
    object(
        serde_json::json!({ "members": { member: { "keys": { key.to_string(): {
        "status": "revoked",
        "last": cutoff_json(last),
    } } } } }),
    )
}

/// The patch that confirms a hand-over: the old key is rotated with the
/// hand-over's cut-off, the new key active, the signed hand-over kept.
pub fn handover_patch(h: &Handover) -> Map<String, Value> {
    object(serde_json::json!({
        "members": { h.member.as_str(): { "keys": {
            h.from.to_string(): {
                "status": "rotated",
                "successor": h.to.to_string(),
                "last": cutoff_json(&Cutoff::at(
                    h.last(Audience::Network),
                    h.last(Audience::Secretariat),
                )),
            },
            h.to.to_string(): { "status": "active" },
        } } },
        "handovers": { h.from.to_string(): h.to_hex() },
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_members_keys_and_peers() {
        let esp = NodeId([1; 32]);
        let nam = NodeId([2; 32]);
        let mut json = add_member_patch(&"ESP".parse().unwrap(), &esp, "127.0.0.1:1");
        let nam_patch = add_member_patch(&"NAM".parse().unwrap(), &nam, "127.0.0.1:2");
        crate::json::merge_patch(&mut json, &nam_patch);
        let roster = Roster::from_json(&json, None, None);
        assert_eq!(roster.active_member_of(&esp).unwrap().as_str(), "ESP");
        assert!(roster.active_member_of(&NodeId([3; 32])).is_none());
        let peers = roster.peers(&esp);
        assert_eq!(peers.len(), 1);
        assert_eq!(peers[0].endpoint, "127.0.0.1:2");
    }

    /// A status is never assumed in a roster of version 2: an entry without
    /// one, or with a word this version does not know, is not read, and its
    /// keys are refused.
    #[test]
    fn entries_without_a_known_status_are_not_read() {
        let esp = NodeId([1; 32]);
        let nam = NodeId([2; 32]);
        let fra = NodeId([4; 32]);
        let mut json = add_member_patch(&"ESP".parse().unwrap(), &esp, "127.0.0.1:1");
        let patch = serde_json::json!({ "schema": 2, "members": {
            "NAM": { "keys": { nam.to_string(): { "status": "active" } } },
            "FRA": { "status": "probation",
                     "keys": { fra.to_string(): { "status": "active" } } },
            "ESP": { "keys": { NodeId([5; 32]).to_string(): {} } },
        }});
        crate::json::merge_patch(&mut json, patch.as_object().unwrap());
        let roster = Roster::from_json(&json, None, None);
        assert!(roster.active_member_of(&nam).is_none());
        assert!(roster.active_member_of(&fra).is_none());
        assert_eq!(roster.member_status("NAM"), None);
        assert_eq!(roster.member_status("FRA"), None);
        // ESP's entry now holds a key without a status: the whole entry is
        // unreadable, so ESP's keys are refused too (fail closed).
        assert!(roster.active_member_of(&esp).is_none());
        let readable = add_member_patch(&"ESP".parse().unwrap(), &esp, "127.0.0.1:1");
        let roster = Roster::from_json(&readable, None, None);
        assert_eq!(roster.member_status("ESP"), Some(MemberStatus::Active));
        assert_eq!(roster.key_status(&esp), Some(KeyStatus::Active));
        // A roster of version 1 (no `schema`) is read as it was meant: a
        // missing status was active.
        json.remove("schema");
        let roster = Roster::from_json(&json, None, None);
        assert_eq!(roster.member_status("NAM"), Some(MemberStatus::Active));
        assert!(roster.active_member_of(&nam).is_some());
        assert!(roster.active_member_of(&esp).is_some());
        assert!(roster.active_member_of(&fra).is_none());
    }

    #[test]
    fn hand_overs_move_the_anchor_and_set_cut_offs() {
        use crate::{handover::Handover, identity::NodeKey};
        let k1 = NodeKey::generate().unwrap();
        let k2 = NodeKey::generate().unwrap();
        let esp1 = NodeKey::generate().unwrap();
        let esp2 = NodeKey::generate().unwrap();
        let sec: MemberCode = "SEC".parse().unwrap();
        let esp: MemberCode = "ESP".parse().unwrap();
        let mut json = add_member_patch(&sec, &k1.id(), "127.0.0.1:1");
        crate::json::merge_patch(
            &mut json,
            &add_member_patch(&esp, &esp1.id(), "127.0.0.1:2"),
        );
        let before = Roster::from_json(&json, Some(k1.id()), Some("n"));
        assert_eq!(before.anchor(), Some(k1.id()));
        assert_eq!(before.cutoff_pin(&esp1.id(), Audience::Network), None);

        let h = |n: u8| EntryHash([n; 32]);
        let anchor = Handover::sign(k1.signing_key(), "n", "SEC", k2.id(), (7, h(7)), (0, h(0)));
        let member = Handover::sign(
            esp1.signing_key(),
            "n",
            "ESP",
            esp2.id(),
            (4, h(4)),
            (2, h(2)),
        );
        crate::json::merge_patch(&mut json, &handover_patch(&anchor));
        crate::json::merge_patch(&mut json, &handover_patch(&member));
        let after = Roster::from_json(&json, Some(k1.id()), Some("n"));
        assert_eq!(after.anchor(), Some(k2.id()));
        assert_eq!(after.anchor_chain(), vec![k1.id(), k2.id()]);
        assert_eq!(after.member_of(&k1.id()), Some(sec.clone()));
        assert_eq!(after.member_of(&k2.id()), Some(sec.clone()));
        assert_eq!(after.active_member_of(&k1.id()), None);
        assert_eq!(after.active_member_of(&k2.id()), Some(sec));
        assert_eq!(after.active_member_of(&esp2.id()), Some(esp.clone()));
        assert_eq!(after.member_of(&esp1.id()), Some(esp));
        assert_eq!(
            after.cutoff_pin(&k1.id(), Audience::Network),
            Some((7, Some(h(7))))
        );
        assert_eq!(
            after.cutoff_pin(&esp1.id(), Audience::Secretariat),
            Some((2, Some(h(2))))
        );
        // A revocation can only lower a rotated key's cut-off.
        crate::json::merge_patch(
            &mut json,
            &revoke_patch("ESP", &esp1.id(), &Cutoff::at((3, Some(h(3))), (9, None))),
        );
        let revoked = Roster::from_json(&json, Some(k1.id()), Some("n"));
        assert_eq!(
            after.cutoff_pin(&esp1.id(), Audience::Network),
            Some((4, Some(h(4))))
        );
        assert_eq!(
            revoked.cutoff_pin(&esp1.id(), Audience::Network),
            Some((3, Some(h(3))))
        );
        assert_eq!(
            revoked.cutoff_pin(&esp1.id(), Audience::Secretariat),
            Some((2, Some(h(2))))
        );
        // A hand-over with a bad signature is ignored.
        let mut tampered = json.clone();
        let text = anchor
            .to_hex()
            .replace(&k2.id().to_string(), &esp2.id().to_string());
        crate::json::merge_patch(
            &mut tampered,
            &serde_json::json!({"handovers": {k1.id().to_string(): text}})
                .as_object()
                .unwrap()
                .clone(),
        );
        assert_eq!(
            Roster::from_json(&tampered, Some(k1.id()), Some("n")).anchor(),
            Some(k1.id())
        );
    }

    #[test]
    fn hand_overs_signed_for_another_network_are_ignored() {
        use crate::{handover::Handover, identity::NodeKey};
        let k1 = NodeKey::generate().unwrap();
        let attacker = NodeKey::generate().unwrap();
        let esp1 = NodeKey::generate().unwrap();
        let esp2 = NodeKey::generate().unwrap();
        let mut json = add_member_patch(&"SEC".parse().unwrap(), &k1.id(), "127.0.0.1:1");
        crate::json::merge_patch(
            &mut json,
            &add_member_patch(&"ESP".parse().unwrap(), &esp1.id(), "127.0.0.1:2"),
        );
        let h = |n: u8| EntryHash([n; 32]);
        // The real anchor key, and a member's, signed for another network.
        let anchor = Handover::sign(
            k1.signing_key(),
            "other",
            "SEC",
            attacker.id(),
            (7, h(7)),
            (0, h(0)),
        );
        let member = Handover::sign(
            esp1.signing_key(),
            "other",
            "ESP",
            esp2.id(),
            (1, h(1)),
            (0, h(0)),
        );
        // Only the hand-overs (a whole `handover_patch` would also list the
        // keys as rotated, which is the roster's word, not the hand-over's).
        let patch = serde_json::json!({"handovers": {
            k1.id().to_string(): anchor.to_hex(),
            esp1.id().to_string(): member.to_hex(),
        }});
        crate::json::merge_patch(&mut json, patch.as_object().unwrap());
        let roster = Roster::from_json(&json, Some(k1.id()), Some("this"));
        assert!(roster.handovers.is_empty());
        assert_eq!(roster.anchor(), Some(k1.id()));
        assert_eq!(roster.anchor_chain(), vec![k1.id()]);
        assert_eq!(roster.member_of(&attacker.id()), None);
        assert_eq!(roster.active_member_of(&attacker.id()), None);
        assert_eq!(
            roster.active_member_of(&k1.id()).map(|m| m.to_string()),
            Some("SEC".into())
        );
        // No cut-off comes from a foreign hand-over either.
        assert_eq!(roster.cutoff_pin(&k1.id(), Audience::Network), None);
        assert_eq!(roster.cutoff_pin(&esp1.id(), Audience::Network), None);
        assert!(roster.cutoffs().is_empty());
        // The same hand-overs count in the network they were signed for.
        let other = Roster::from_json(&json, Some(k1.id()), Some("other"));
        assert_eq!(other.anchor(), Some(attacker.id()));
        assert_eq!(
            other.cutoff_pin(&esp1.id(), Audience::Network),
            Some((1, Some(h(1))))
        );
        // A node in no network follows no hand-over.
        assert_eq!(
            Roster::from_json(&json, Some(k1.id()), None).anchor(),
            Some(k1.id())
        );
        // A roster built field by field ignores them too.
        let built = Roster {
            genesis: Some(k1.id()),
            network_id: Some("this".into()),
            handovers: [(k1.id(), anchor)].into_iter().collect(),
            ..Roster::default()
        };
        assert_eq!(built.anchor_chain(), vec![k1.id()]);
        assert_eq!(built.cutoff_pin(&k1.id(), Audience::Network), None);
    }
}
