//! Client bearer tokens.
//!
//! The operator creates a token per client (`focal-node token create --name
//! NAME`); the node keeps only its SHA-256 hash, so a copy of the database
//! does not hand out access. A token is revoked by name and stops working on
//! the next request.

use rusqlite::{Connection, OptionalExtension, params};
use sha2::{Digest, Sha256};

/// Prefix of every token, so that one found in a log or a file is
/// recognisable (and secret scanners can match it).
pub const TOKEN_PREFIX: &str = "focal_";

/// A token as listed (never the secret itself).
#[derive(Debug, Clone)]
pub struct TokenInfo {
    /// The operator's name for it.
    pub name: String,
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
    /// The database failed.
    #[error("token store: {0}")]
    Sqlite(#[from] rusqlite::Error),
}

fn hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.trim().as_bytes()).into()
}

/// Creates a token named `name` and returns the secret (shown once).
pub fn create(conn: &Connection, name: &str) -> Result<String, TokenError> {
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
        "INSERT INTO tokens (name, hash, created) VALUES (?1, ?2, ?3)",
        params![name, &hash(&token)[..], crate::writer::now_rfc3339()],
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
        params![name, crate::writer::now_rfc3339()],
    )?;
    if changed == 0 {
        return Err(TokenError::Unknown(name.to_owned()));
    }
    Ok(())
}

/// Every token, oldest first.
pub fn list(conn: &Connection) -> Result<Vec<TokenInfo>, TokenError> {
    let mut stmt = conn.prepare("SELECT name, created, revoked FROM tokens ORDER BY id")?;
    let rows = stmt
        .query_map([], |r| {
            Ok(TokenInfo {
                name: r.get(0)?,
                created: r.get(1)?,
                revoked: r.get(2)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// The name of the active token `token`, if it is one.
pub fn check(conn: &Connection, token: &str) -> Result<Option<String>, TokenError> {
    Ok(conn
        .query_row(
            "SELECT name FROM tokens WHERE hash = ?1 AND revoked IS NULL",
            [&hash(token)[..]],
            |r| r.get(0),
        )
        .optional()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Store, StoreOptions};

    #[test]
    fn create_check_revoke() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(
            &dir.path().join("focal.db"),
            &StoreOptions {
                busy_timeout_ms: 1000,
                create: true,
            },
        )
        .unwrap();
        let conn = store.conn();
        let token = create(conn, "laptop").unwrap();
        assert!(token.starts_with(TOKEN_PREFIX));
        assert_eq!(check(conn, &token).unwrap().as_deref(), Some("laptop"));
        assert!(check(conn, "focal_nope").unwrap().is_none());
        assert!(matches!(
            create(conn, "laptop"),
            Err(TokenError::Duplicate(_))
        ));
        assert!(matches!(create(conn, "a b"), Err(TokenError::BadName(_))));
        revoke(conn, "laptop").unwrap();
        assert!(check(conn, &token).unwrap().is_none());
        assert!(matches!(
            revoke(conn, "laptop"),
            Err(TokenError::Unknown(_))
        ));
        // The name is free again after revocation.
        create(conn, "laptop").unwrap();
        assert_eq!(list(conn).unwrap().len(), 2);
        // Only the hash is stored.
        let stored: Vec<u8> = conn
            .query_row("SELECT hash FROM tokens LIMIT 1", [], |r| r.get(0))
            .unwrap();
        assert_eq!(stored.len(), 32);
    }
}
