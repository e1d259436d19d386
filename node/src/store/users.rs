//! The web app's people (`users`) and their sessions (`web_sessions`),
//! migration 11.
//!
//! The operator adds a person with a role (`focal-node user add NAME --role
//! ROLE`, the roles of client tokens: [`Role`]); the command prints a
//! one-time set-up link, whose secret is stored only as its SHA-256 hash and
//! expires after [`SETUP_VALID_SECS`]. The person opens it and chooses a
//! password, stored as an argon2id PHC string. `disable` and `reset` end
//! every session of the person at once; `reset` also forgets the password
//! and gives a new set-up link.
//!
//! A session is a random secret in a cookie; the database keeps its hash,
//! the person, the session's CSRF token, when it began and when it was last
//! used. Lookups join the person, so a disabled person's sessions stop at
//! their next request.
//!
//! Operator commands write these tables beside a running node (as `token
//! create` writes tokens); inside the node, every write is a job of the
//! writer ([`Change`]).

use rusqlite::{Connection, OptionalExtension, params};
use sha2::{Digest, Sha256};

pub use super::tokens::Role;

/// How long a set-up link stays valid: three days.
pub const SETUP_VALID_SECS: i64 = 3 * 24 * 3600;

/// The prefix of set-up secrets, so that one found in a log is recognisable.
pub const SETUP_PREFIX: &str = "focal_setup_";

/// Shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 12;
/// Longest password accepted, in bytes (argon2 would take more, but a
/// stranger's megabyte is not worth hashing).
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// Why a user operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UserError {
    /// The name is empty or odd.
    #[error(
        "user name `{0}` is not valid: use 1–64 letters, digits, `-`, `_`, `.` or `@`, \
         starting with a letter or digit"
    )]
    BadName(String),
    /// A person already has that name.
    #[error("a user is already named `{0}`; choose another name")]
    Duplicate(String),
    /// No person has that name.
    #[error("no user is named `{0}` (`focal-node user list` shows them)")]
    Unknown(String),
    /// No randomness.
    #[error("cannot draw randomness: {0}")]
    Random(getrandom::Error),
    /// Hashing failed.
    #[error("cannot hash the password: {0}")]
    Hash(String),
    /// A stored role this binary does not know (the database was edited).
    #[error("user `{name}` has the unknown role `{role}` in the database")]
    UnknownRole {
        /// The person.
        name: String,
        /// The stored role.
        role: String,
    },
    /// The database failed.
    #[error("user store: {0}")]
    Sqlite(#[from] rusqlite::Error),
}

/// The current time in Unix seconds.
pub fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// SHA-256 of a secret, as stored.
pub fn secret_hash(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.trim().as_bytes()).into()
}

/// A fresh random secret: `prefix` and 64 hex digits.
pub fn random_secret(prefix: &str) -> Result<String, UserError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(UserError::Random)?;
    Ok(format!("{prefix}{}", hex::encode(bytes)))
}

fn check_name(name: &str) -> Result<(), UserError> {
    let valid = !name.is_empty()
        && name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '@'));
    if valid {
        Ok(())
    } else {
        Err(UserError::BadName(name.to_owned()))
    }
}

/// Adds a person with `role`; returns the one-time set-up secret.
pub fn add(conn: &Connection, name: &str, role: Role, at: i64) -> Result<String, UserError> {
    check_name(name)?;
    let secret = random_secret(SETUP_PREFIX)?;
    let inserted = conn.execute(
        "INSERT INTO users (name, role, setup_hash, setup_expires, created)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            name,
            role.as_str(),
            &secret_hash(&secret)[..],
            at + SETUP_VALID_SECS,
            at
        ],
    );
    match inserted {
        Ok(_) => Ok(secret),
        Err(rusqlite::Error::SqliteFailure(e, _))
            if e.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            Err(UserError::Duplicate(name.to_owned()))
        }
        Err(e) => Err(e.into()),
    }
}

/// Forgets the person's password, ends their sessions and returns a new
/// set-up secret. A disabled person stays disabled.
pub fn reset(conn: &Connection, name: &str, at: i64) -> Result<String, UserError> {
    let secret = random_secret(SETUP_PREFIX)?;
    let changed = conn.execute(
        "UPDATE users SET password = NULL, password_set = NULL, setup_hash = ?2,
                          setup_expires = ?3
          WHERE name = ?1",
        params![name, &secret_hash(&secret)[..], at + SETUP_VALID_SECS],
    )?;
    if changed == 0 {
        return Err(UserError::Unknown(name.to_owned()));
    }
    end_sessions_of(conn, name)?;
    Ok(secret)
}

/// Sets the person's password directly (`--password-stdin`, for scripts
/// and the devnet), spending any set-up link and ending their sessions.
pub fn set_password(conn: &Connection, name: &str, phc: &str, at: i64) -> Result<(), UserError> {
    let changed = conn.execute(
        "UPDATE users SET password = ?2, password_set = ?3, setup_hash = NULL,
                          setup_expires = NULL
          WHERE name = ?1",
        params![name, phc, at],
    )?;
    if changed == 0 {
        return Err(UserError::Unknown(name.to_owned()));
    }
    end_sessions_of(conn, name)?;
    Ok(())
}

/// Disables the person (their sessions end; they cannot sign in) or
/// enables them again.
pub fn set_disabled(
    conn: &Connection,
    name: &str,
    disabled: bool,
    at: i64,
) -> Result<(), UserError> {
    let changed = conn.execute(
        "UPDATE users SET disabled = ?2 WHERE name = ?1",
        params![name, disabled.then_some(at)],
    )?;
    if changed == 0 {
        return Err(UserError::Unknown(name.to_owned()));
    }
    if disabled {
        end_sessions_of(conn, name)?;
    }
    Ok(())
}

fn end_sessions_of(conn: &Connection, name: &str) -> Result<usize, UserError> {
    Ok(conn.execute(
        "DELETE FROM web_sessions WHERE user_id = (SELECT id FROM users WHERE name = ?1)",
        [name],
    )?)
}

/// A person as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserInfo {
    /// Their sign-in name.
    pub name: String,
    /// What they may do.
    pub role: Role,
    /// When they were added (Unix seconds).
    pub created: i64,
    /// When they were disabled, if they are.
    pub disabled: Option<i64>,
    /// Whether they have chosen a password.
    pub password_set: bool,
    /// When their set-up link expires, if they have one.
    pub setup_expires: Option<i64>,
    /// Their open sessions.
    pub sessions: u32,
}

/// Every person, in the order they were added.
pub fn list(conn: &Connection) -> Result<Vec<UserInfo>, UserError> {
    let mut stmt = conn.prepare(
        "SELECT u.name, u.role, u.created, u.disabled, u.password IS NOT NULL, u.setup_expires,
                (SELECT count(*) FROM web_sessions AS s WHERE s.user_id = u.id)
           FROM users AS u ORDER BY u.id",
    )?;
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    rows.into_iter()
        .map(
            |(name, role, created, disabled, password_set, setup_expires, sessions)| {
                Ok(UserInfo {
                    role: role_of(&name, role)?,
                    name,
                    created,
                    disabled,
                    password_set,
                    setup_expires,
                    sessions,
                })
            },
        )
        .collect()
}

fn role_of(name: &str, role: String) -> Result<Role, UserError> {
    Role::parse(&role).ok_or_else(|| UserError::UnknownRole {
        name: name.to_owned(),
        role,
    })
}

/// A person as a sign-in sees them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// Their row.
    pub id: i64,
    /// Their sign-in name.
    pub name: String,
    /// What they may do.
    pub role: Role,
    /// Their password's argon2id PHC string, once chosen.
    pub password: Option<String>,
    /// Whether they are disabled.
    pub disabled: bool,
}

/// A `users` row as [`account`] reads it.
type AccountRow = (i64, String, String, Option<String>, Option<i64>);

/// The person named `name`, if there is one.
pub fn account(conn: &Connection, name: &str) -> Result<Option<Account>, UserError> {
    let row: Option<AccountRow> = conn
        .query_row(
            "SELECT id, name, role, password, disabled FROM users WHERE name = ?1",
            [name],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )
        .optional()?;
    row.map(|(id, name, role, password, disabled)| {
        Ok(Account {
            id,
            role: role_of(&name, role)?,
            name,
            password,
            disabled: disabled.is_some(),
        })
    })
    .transpose()
}

/// The enabled person whose set-up secret is `secret`, if it has not
/// expired at `at`.
pub fn by_setup(conn: &Connection, secret: &str, at: i64) -> Result<Option<Account>, UserError> {
    let name: Option<String> = conn
        .query_row(
            "SELECT name FROM users
              WHERE setup_hash = ?1 AND setup_expires > ?2 AND disabled IS NULL",
            params![&secret_hash(secret)[..], at],
            |r| r.get(0),
        )
        .optional()?;
    match name {
        Some(name) => account(conn, &name),
        None => Ok(None),
    }
}

/// A signed-in person's session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The session's row (the hash of its cookie secret).
    pub hash: [u8; 32],
    /// The person's row.
    pub user_id: i64,
    /// Their sign-in name.
    pub name: String,
    /// What they may do.
    pub role: Role,
    /// The token every state-changing request of this session carries.
    pub csrf: String,
    /// When it began (Unix seconds).
    pub created: i64,
    /// When it was last used (Unix seconds, to within a minute).
    pub last_seen: i64,
}

/// How long sessions last.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionRules {
    /// Seconds without a request after which a session ends.
    pub idle_secs: i64,
    /// Seconds after which a session ends, however busy.
    pub max_age_secs: i64,
}

/// The live session of the cookie secret `secret` at `at`: begun less than
/// `max_age_secs` ago, used less than `idle_secs` ago, its person enabled
/// and with a password.
pub fn session(
    conn: &Connection,
    secret: &str,
    at: i64,
    rules: SessionRules,
) -> Result<Option<Session>, UserError> {
    let hash = secret_hash(secret);
    let row: Option<(i64, String, String, String, i64, i64)> = conn
        .query_row(
            "SELECT u.id, u.name, u.role, s.csrf, s.created, s.last_seen
               FROM web_sessions AS s JOIN users AS u ON u.id = s.user_id
              WHERE s.hash = ?1 AND u.disabled IS NULL AND u.password IS NOT NULL
                AND s.last_seen > ?2 AND s.created > ?3",
            params![&hash[..], at - rules.idle_secs, at - rules.max_age_secs],
            |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                ))
            },
        )
        .optional()?;
    row.map(|(user_id, name, role, csrf, created, last_seen)| {
        Ok(Session {
            hash,
            user_id,
            role: role_of(&name, role)?,
            name,
            csrf,
            created,
            last_seen,
        })
    })
    .transpose()
}

/// The argon2id PHC string of `password` (memory 19 MiB, 2 passes: OWASP's
/// recommendation). Takes tens of milliseconds: never on an async thread nor
/// the writer.
pub fn hash_password(password: &str) -> Result<String, UserError> {
    use argon2::password_hash::{PasswordHasher, SaltString};
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(UserError::Random)?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| UserError::Hash(e.to_string()))?;
    argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| UserError::Hash(e.to_string()))
}

/// Whether `password` matches the PHC string `phc` (false for a string that
/// does not parse).
pub fn verify_password(password: &str, phc: &str) -> bool {
    use argon2::password_hash::{PasswordHash, PasswordVerifier};
    match PasswordHash::new(phc) {
        Ok(parsed) => argon2::Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// What is wrong with a new password, if anything.
pub fn password_problem(password: &str, name: &str) -> Option<PasswordProblem> {
    if password.len() > MAX_PASSWORD_BYTES {
        Some(PasswordProblem::TooLong)
    } else if password.chars().count() < MIN_PASSWORD_CHARS {
        Some(PasswordProblem::TooShort)
    } else if password.eq_ignore_ascii_case(name) {
        Some(PasswordProblem::IsName)
    } else {
        None
    }
}

/// Why a new password is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordProblem {
    /// Fewer than [`MIN_PASSWORD_CHARS`] characters.
    TooShort,
    /// More than [`MAX_PASSWORD_BYTES`] bytes.
    TooLong,
    /// The person's name.
    IsName,
}

/// A write of the running node to these tables, done by the writer.
#[derive(Debug, Clone)]
pub enum Change {
    /// A person signed in: a new session.
    StartSession {
        /// The person.
        user_id: i64,
        /// The hash of the cookie's secret.
        hash: [u8; 32],
        /// The session's CSRF token.
        csrf: String,
        /// Where they signed in from.
        address: String,
        /// When.
        at: i64,
    },
    /// A person signed out (or their session was found expired).
    EndSession {
        /// The hash of the cookie's secret.
        hash: [u8; 32],
    },
    /// A session was used at `at`.
    Touch {
        /// The hash of the cookie's secret.
        hash: [u8; 32],
        /// When.
        at: i64,
    },
    /// A person chose their password through the set-up link whose secret
    /// hashes to `setup_hash`; the link is spent. Nothing happens if the
    /// link was spent, replaced or expired meanwhile.
    SetPassword {
        /// The person.
        user_id: i64,
        /// The set-up secret's hash.
        setup_hash: [u8; 32],
        /// The new password's PHC string.
        phc: String,
        /// When.
        at: i64,
    },
    /// Sessions expired by `rules` at `at` are deleted.
    Prune {
        /// When.
        at: i64,
        /// How long sessions last.
        rules: SessionRules,
    },
}

impl Change {
    /// Applies the change; returns how many rows it changed.
    pub fn apply(&self, conn: &Connection) -> Result<usize, rusqlite::Error> {
        match self {
            Change::StartSession {
                user_id,
                hash,
                csrf,
                address,
                at,
            } => conn.execute(
                "INSERT INTO web_sessions (hash, user_id, csrf, created, last_seen, address)
                 SELECT ?1, id, ?3, ?4, ?4, ?5 FROM users
                  WHERE id = ?2 AND disabled IS NULL AND password IS NOT NULL",
                params![&hash[..], user_id, csrf, at, address],
            ),
            Change::EndSession { hash } => {
                conn.execute("DELETE FROM web_sessions WHERE hash = ?1", [&hash[..]])
            }
            Change::Touch { hash, at } => conn.execute(
                "UPDATE web_sessions SET last_seen = ?2 WHERE hash = ?1 AND last_seen < ?2",
                params![&hash[..], at],
            ),
            Change::SetPassword {
                user_id,
                setup_hash,
                phc,
                at,
            } => conn.execute(
                "UPDATE users SET password = ?3, password_set = ?4, setup_hash = NULL,
                                  setup_expires = NULL
                  WHERE id = ?1 AND setup_hash = ?2 AND setup_expires > ?4
                    AND disabled IS NULL",
                params![user_id, &setup_hash[..], phc, at],
            ),
            Change::Prune { at, rules } => conn.execute(
                "DELETE FROM web_sessions WHERE last_seen <= ?1 OR created <= ?2",
                params![at - rules.idle_secs, at - rules.max_age_secs],
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULES: SessionRules = SessionRules {
        idle_secs: 1800,
        max_age_secs: 12 * 3600,
    };

    fn start(conn: &Connection, user_id: i64, secret: &str, at: i64) -> usize {
        Change::StartSession {
            user_id,
            hash: secret_hash(secret),
            csrf: "csrf".into(),
            address: "127.0.0.1".into(),
            at,
        }
        .apply(conn)
        .unwrap()
    }

    #[test]
    fn a_person_is_set_up_once_then_signs_in_until_idle_or_disabled() {
        let (_dir, _, store) = crate::store::temp_store();
        let conn = store.conn();
        let t = 1_800_000_000;
        let setup = add(conn, "ana.garcia", Role::Editor, t).unwrap();
        assert!(setup.starts_with(SETUP_PREFIX));
        assert!(matches!(
            add(conn, "ana.garcia", Role::Reader, t),
            Err(UserError::Duplicate(_))
        ));
        for bad in ["", "-x", "a b", "é", &"x".repeat(65)] {
            assert!(
                matches!(add(conn, bad, Role::Reader, t), Err(UserError::BadName(_))),
                "{bad}"
            );
        }
        // Only hashes are stored.
        let stored: Vec<u8> = conn
            .query_row("SELECT setup_hash FROM users", [], |r| r.get(0))
            .unwrap();
        assert_eq!(stored, secret_hash(&setup));

        let who = by_setup(conn, &setup, t + 10).unwrap().unwrap();
        assert_eq!((who.name.as_str(), who.role), ("ana.garcia", Role::Editor));
        assert!(who.password.is_none());
        assert!(
            by_setup(conn, &setup, t + SETUP_VALID_SECS)
                .unwrap()
                .is_none()
        );
        assert!(by_setup(conn, "focal_setup_nope", t).unwrap().is_none());
        // No session before a password.
        assert_eq!(start(conn, who.id, "s0", t), 0);

        let phc = hash_password("correct horse battery").unwrap();
        assert!(phc.starts_with("$argon2id$"), "{phc}");
        let set = Change::SetPassword {
            user_id: who.id,
            setup_hash: secret_hash(&setup),
            phc: phc.clone(),
            at: t + 20,
        };
        assert_eq!(set.apply(conn).unwrap(), 1);
        assert_eq!(set.apply(conn).unwrap(), 0, "the link is spent");
        assert!(by_setup(conn, &setup, t + 30).unwrap().is_none());
        let who = account(conn, "ana.garcia").unwrap().unwrap();
        assert!(verify_password(
            "correct horse battery",
            who.password.as_deref().unwrap()
        ));
        assert!(!verify_password(
            "wrong horse battery",
            who.password.as_deref().unwrap()
        ));
        assert!(!verify_password("x", "not a phc string"));

        assert_eq!(start(conn, who.id, "s1", t + 100), 1);
        let live = session(conn, "s1", t + 200, RULES).unwrap().unwrap();
        assert_eq!(
            (live.name.as_str(), live.csrf.as_str()),
            ("ana.garcia", "csrf")
        );
        assert!(session(conn, "s2", t + 200, RULES).unwrap().is_none());
        // Idle: gone after idle_secs without a touch; a touch keeps it.
        assert!(
            session(conn, "s1", t + 100 + 1800, RULES)
                .unwrap()
                .is_none()
        );
        Change::Touch {
            hash: secret_hash("s1"),
            at: t + 1000,
        }
        .apply(conn)
        .unwrap();
        assert!(
            session(conn, "s1", t + 100 + 1800, RULES)
                .unwrap()
                .is_some()
        );
        // However busy, not past max_age.
        Change::Touch {
            hash: secret_hash("s1"),
            at: t + 12 * 3600,
        }
        .apply(conn)
        .unwrap();
        assert!(
            session(conn, "s1", t + 100 + 12 * 3600, RULES)
                .unwrap()
                .is_none()
        );

        assert_eq!(start(conn, who.id, "s3", t + 50_000), 1);
        assert_eq!(list(conn).unwrap()[0].sessions, 2);
        assert_eq!(
            Change::Prune {
                at: t + 50_001,
                rules: RULES
            }
            .apply(conn)
            .unwrap(),
            1,
            "the expired session is pruned, the live one kept"
        );
        set_disabled(conn, "ana.garcia", true, t + 50_002).unwrap();
        assert!(session(conn, "s3", t + 50_003, RULES).unwrap().is_none());
        assert_eq!(
            list(conn).unwrap()[0].sessions,
            0,
            "disabling ends sessions"
        );
        assert_eq!(start(conn, who.id, "s4", t + 50_004), 0);
        set_disabled(conn, "ana.garcia", false, t + 50_005).unwrap();
        assert_eq!(start(conn, who.id, "s4", t + 50_006), 1);

        // Reset: the password is forgotten, sessions end, a new link works.
        let again = reset(conn, "ana.garcia", t + 60_000).unwrap();
        assert!(session(conn, "s4", t + 60_001, RULES).unwrap().is_none());
        let listed = &list(conn).unwrap()[0];
        assert!(!listed.password_set && listed.sessions == 0);
        assert!(by_setup(conn, &again, t + 60_002).unwrap().is_some());
        assert!(matches!(
            reset(conn, "nobody", t),
            Err(UserError::Unknown(_))
        ));
    }

    #[test]
    fn passwords_are_judged_before_they_are_hashed() {
        assert_eq!(
            password_problem("short", "x"),
            Some(PasswordProblem::TooShort)
        );
        assert_eq!(
            password_problem("ana.garcia.1", "ANA.GARCIA.1"),
            Some(PasswordProblem::IsName)
        );
        assert_eq!(
            password_problem(&"x".repeat(MAX_PASSWORD_BYTES + 1), "a"),
            Some(PasswordProblem::TooLong)
        );
        assert_eq!(password_problem("correct horse battery", "ana"), None);
    }

    #[test]
    fn the_database_refuses_an_unknown_role() {
        let (_dir, _, store) = crate::store::temp_store();
        let refused = store.conn().execute(
            "INSERT INTO users (name, role, created) VALUES ('x', 'root', 0)",
            [],
        );
        assert!(refused.is_err());
    }
}
