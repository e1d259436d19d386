//! The roster: who is in the network, with which keys, at which addresses.
//!
//! The roster is one Automerge document, [`ROSTER_ID`], written only by the
//! secretariat's key and replicated like any other document. Every node
//! reads it to decide whom it talks to: a peer is accepted only if the key it
//! presents is active in the roster, for a member that is active.
//!
//! ```json
//! { "type": "roster",
//!   "members": { "ESP": { "status": "active",
//!                         "keys": { "<hex>": { "status": "active" } },
//!                         "endpoints": ["madrid.example:7400"] } } }
//! ```

use std::{
    collections::BTreeMap,
    sync::{Arc, RwLock},
};

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::{identity::NodeId, member::MemberCode};

/// The document id of the roster.
pub const ROSTER_ID: &str = "roster";

/// A member's standing in the roster.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct RosterMember {
    /// `active` or `suspended`.
    #[serde(default = "active")]
    pub status: String,
    /// The member's node keys (hex) and their status.
    #[serde(default)]
    pub keys: BTreeMap<String, RosterKey>,
    /// Where the member's node(s) can be reached.
    #[serde(default)]
    pub endpoints: Vec<String>,
}

/// A node key's standing.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct RosterKey {
    /// `active`, `rotated` or `revoked`.
    #[serde(default = "active")]
    pub status: String,
}

fn active() -> String {
    "active".to_owned()
}

/// The roster as the node reads it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Roster {
    /// Members by code.
    pub members: BTreeMap<String, RosterMember>,
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
    /// Reads the roster document's JSON (unknown keys are ignored, so an
    /// older node reads a newer roster).
    pub fn from_json(json: &Map<String, Value>) -> Self {
        let members = json
            .get("members")
            .and_then(Value::as_object)
            .map(|members| {
                members
                    .iter()
                    .filter_map(|(code, v)| {
                        serde_json::from_value::<RosterMember>(v.clone())
                            .ok()
                            .map(|m| (code.clone(), m))
                    })
                    .collect()
            })
            .unwrap_or_default();
        Self { members }
    }

    /// The member whose active key `key` is, if it is active.
    pub fn active_member_of(&self, key: &NodeId) -> Option<MemberCode> {
        let hex = key.to_string();
        self.members.iter().find_map(|(code, member)| {
            let key = member.keys.get(&hex)?;
            (member.status == "active" && key.status == "active")
                .then(|| code.parse().ok())
                .flatten()
        })
    }

    /// The member `key` belongs to, whatever its status (for entries that
    /// were signed while it was active).
    pub fn member_of(&self, key: &NodeId) -> Option<MemberCode> {
        let hex = key.to_string();
        self.members
            .iter()
            .find(|(_, member)| member.keys.contains_key(&hex))
            .and_then(|(code, _)| code.parse().ok())
    }

    /// Every active peer except `me`, with each of its endpoints.
    pub fn peers(&self, me: &NodeId) -> Vec<Peer> {
        let mut peers = Vec::new();
        for (code, member) in &self.members {
            let Ok(code) = code.parse::<MemberCode>() else {
                continue;
            };
            if member.status != "active" {
                continue;
            }
            for (hex, key) in &member.keys {
                let Some(id) = NodeId::from_hex(hex) else {
                    continue;
                };
                if key.status != "active" || id == *me {
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

/// The JSON merge patch that adds (or re-activates) a member with one key
/// and endpoint.
pub fn add_member_patch(member: &MemberCode, key: &NodeId, endpoint: &str) -> Map<String, Value> {
    let patch = serde_json::json!({
        "type": "roster",
        "members": {
            member.as_str(): {
                "status": "active",
                "keys": { key.to_string(): { "status": "active" } },
                "endpoints": [endpoint],
            }
        }
    });
    match patch {
        Value::Object(map) => map,
        _ => Map::new(),
    }
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
        crate::writer::merge_patch(&mut json, &nam_patch);
        let roster = Roster::from_json(&json);
        assert_eq!(roster.active_member_of(&esp).unwrap().as_str(), "ESP");
        assert!(roster.active_member_of(&NodeId([3; 32])).is_none());
        let peers = roster.peers(&esp);
        assert_eq!(peers.len(), 1);
        assert_eq!(peers[0].endpoint, "127.0.0.1:2");
    }
}
