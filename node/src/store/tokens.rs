//! Client bearer tokens and their roles.
//!
//! The operator creates a token per client (`focal-node token create --name
//! NAME --role ROLE`); the node keeps only its SHA-256 hash, so a copy of the
//! database does not hand out access. A token is revoked by name and stops
//! working on the next request.
//!
//! Each token has one [`Role`]: a dashboard reads, a member's editors write
//! records, and only an administrator changes the network (the roster). The
//! services check the role a request needs against the token's on every
//! request (`api::Rpc`).

use rusqlite::{Connection, OptionalExtension, params};
use sha2::{Digest, Sha256};

/// Prefix of every token, so that one found in a log or a file is
/// recognisable (and secret scanners can match it).
pub const TOKEN_PREFIX: &str = "focal_";

/// What a token may do. Each role includes the ones before it, so they
/// compare in order: `Reader < Editor < Admin`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum)]
pub enum Role {
    /// Reads: records, history, watch, export, views.
    Reader,
    /// A reader that also creates, edits, deletes and imports records.
    Editor,
    /// An editor that also administers the network (`focal admin`:
    /// membership, keys, roster, replication status).
    Admin,
}

impl Role {
    /// The name stored and shown (`reader`, `editor`, `admin`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Reader => "reader",
            Self::Editor => "editor",
            Self::Admin => "admin",
        }
    }

    /// The role named `name`, as stored.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "reader" => Some(Self::Reader),
            "editor" => Some(Self::Editor),
            "admin" => Some(Self::Admin),
            _ => None,
        }
    }

    /// Whether a token of this role may do what `needed` allows.
    pub fn allows(self, needed: Role) -> bool {
        self >= needed
    }

    /// "a reader", "an editor", "an admin".
    pub fn with_article(self) -> &'static str {
        match self {
            Self::Reader => "a reader",
            Self::Editor => "an editor",
            Self::Admin => "an admin",
        }
    }

    /// The tokens that have at least this role, for messages: "an editor
    /// or admin token".
    pub fn at_least(self) -> &'static str {
        match self {
            Self::Reader => "any token",
            Self::Editor => "an editor or admin token",
            Self::Admin => "an admin token",
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The active token a request presented.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bearer {
    /// The operator's name for it.
    pub name: String,
    /// What it may do.
    pub role: Role,
}

/// A token as listed (never the secret itself).
#[derive(Debug, Clone)]
pub struct TokenInfo {
    /// The operator's name for it.
    pub name: String,
    /// What it may do.
    pub role: Role,
    /// RFC 3339 creation time.
    pub created: String,
    /// RFC 3339 revocation time, if revoked.
    pub revoked: Option<String>,
}

/// Why a token operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// The name is empty or odd.
    #[error("token name `{0}` is not valid: use 1–64 letters, digits, `-`, `_` or `.`")]
    BadName(String),
    /// An active token already has that name.
    #[error("an active token is already named `{0}`; revoke it first or choose another name")]
    Duplicate(String),
    /// No active token has that name.
    #[error("no active token is named `{0}`")]
    Unknown(String),
    /// No randomness.
    #[error("cannot draw randomness for a token: {0}")]
    Random(getrandom::Error),
    /// A stored role this binary does not know (the database was edited).
    #[error("token `{name}` has the unknown role `{role}` in the database")]
    UnknownRole {
        /// The token's name.
        name: String,
        /// The stored role.
        role: String,
    },
    /// The database failed.
    #[error("token store: {0}")]
    Sqlite(#[from] rusqlite::Error),
}

fn hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.trim().as_bytes()).into()
}

/// Creates a token named `name` with `role` and returns the secret (shown
/// once).
pub fn create(conn: &Connection, name: &str, role: Role) -> Result<String, TokenError> {
    let valid = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !valid {
        return Err(TokenError::BadName(name.to_owned()));
    }
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret).map_err(TokenError::Random)?;
    let token = format!("{TOKEN_PREFIX}{}", hex::encode(secret));
    let inserted = conn.execute(
        "INSERT INTO tokens (name, hash, created, role) VALUES (?1, ?2, ?3, ?4)",
        params![
            name,
            &hash(&token)[..],
            crate::clock::now_rfc3339(),
            role.as_str()
        ],
    );
    match inserted {
        Ok(_) => Ok(token),
        Err(rusqlite::Error::SqliteFailure(e, _))
            if e.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            Err(TokenError::Duplicate(name.to_owned()))
        }
        Err(e) => Err(e.into()),
    }
}

/// Revokes the active token named `name`.
pub fn revoke(conn: &Connection, name: &str) -> Result<(), TokenError> {
    let changed = conn.execute(
        "UPDATE tokens SET revoked = ?2 WHERE name = ?1 AND revoked IS NULL",
        params![name, crate::clock::now_rfc3339()],
    )?;
    if changed == 0 {
        return Err(TokenError::Unknown(name.to_owned()));
    }
    Ok(())
}

/// Every token, oldest first.
pub fn list(conn: &Connection) -> Result<Vec<TokenInfo>, TokenError> {
    let mut stmt = conn.prepare("SELECT name, role, created, revoked FROM tokens ORDER BY id")?;
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get(2)?,
                r.get(3)?,
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    rows.into_iter()
        .map(|(name, role, created, revoked)| {
            Ok(TokenInfo {
                role: role_of(&name, role)?,
                name,
                created,
                revoked,
            })
        })
        .collect()
}

fn role_of(name: &str, role: String) -> Result<Role, TokenError> {
    Role::parse(&role).ok_or_else(|| TokenError::UnknownRole {
        name: name.to_owned(),
        role,
    })
}

/// The active token `token`, if it is one: its name and role.
pub fn check(conn: &Connection, token: &str) -> Result<Option<Bearer>, TokenError> {
    let found: Option<(String, String)> = conn
        .query_row(
            "SELECT name, role FROM tokens WHERE hash = ?1 AND revoked IS NULL",
            [&hash(token)[..]],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    found
        .map(|(name, role)| {
            Ok(Bearer {
                role: role_of(&name, role)?,
                name,
            })
        })
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_check_revoke() {
        let (_dir, _, store) = crate::store::temp_store();
        let conn = store.conn();
        let token = create(conn, "laptop", Role::Editor).unwrap();
        assert!(token.starts_with(TOKEN_PREFIX));
        assert_eq!(
            check(conn, &token).unwrap(),
            Some(Bearer {
                name: "laptop".into(),
                role: Role::Editor
            })
        );
        assert!(check(conn, "focal_nope").unwrap().is_none());
        assert!(matches!(
            create(conn, "laptop", Role::Admin),
            Err(TokenError::Duplicate(_))
        ));
        assert!(matches!(
            create(conn, "a b", Role::Reader),
            Err(TokenError::BadName(_))
        ));
        revoke(conn, "laptop").unwrap();
        assert!(check(conn, &token).unwrap().is_none());
        assert!(matches!(
            revoke(conn, "laptop"),
            Err(TokenError::Unknown(_))
        ));
        // The name is free again after revocation.
        let again = create(conn, "laptop", Role::Reader).unwrap();
        assert_eq!(check(conn, &again).unwrap().unwrap().role, Role::Reader);
        let listed = list(conn).unwrap();
        assert_eq!(listed.len(), 2);
        assert_eq!(listed[0].role, Role::Editor);
        assert!(listed[0].revoked.is_some());
        assert_eq!(listed[1].role, Role::Reader);
        // Only the hash is stored.
        let stored: Vec<u8> = conn
            .query_row("SELECT hash FROM tokens LIMIT 1", [], |r| r.get(0))
            .unwrap();
        assert_eq!(stored.len(), 32);
    }

    #[test]
    fn roles_include_the_ones_before() {
        assert!(Role::Admin.allows(Role::Editor) && Role::Admin.allows(Role::Reader));
        assert!(Role::Editor.allows(Role::Reader) && !Role::Editor.allows(Role::Admin));
        assert!(!Role::Reader.allows(Role::Editor) && Role::Reader.allows(Role::Reader));
        for role in [Role::Reader, Role::Editor, Role::Admin] {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("root"), None);
    }

    #[test]
    fn the_database_refuses_an_unknown_role() {
        let (_dir, _, store) = crate::store::temp_store();
        let refused = store.conn().execute(
            "INSERT INTO tokens (name, hash, created, role) VALUES ('x', x'00', 'now', 'root')",
            [],
        );
        assert!(refused.is_err());
    }
}
