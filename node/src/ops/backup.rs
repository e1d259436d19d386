//! `focal-node backup` and `focal-node restore`.
//!
//! A backup is one SQLite file: a consistent snapshot of the node's
//! database, taken by `VACUUM INTO` inside one read transaction of a
//! read-only connection (so the node keeps running and writing), plus a
//! `focal_backup` table that records what it is: format, when it was taken,
//! the node key and member it belongs to, its schema version, and the
//! node's `focal.toml`. The node key is **not** in it: the key is the
//! node's identity and stays in `node.key`, which the operator keeps apart
//! (`restore --key` brings it into a new directory). The key and the
//! database belong together: the database records the key at `init`, and
//! restore refuses a key that does not match.
//!
//! Restore checks the whole file before anything in the data directory
//! changes: it must be a Focal backup (application id, `focal_backup`),
//! intact (`PRAGMA integrity_check`), of a schema this binary knows, of the
//! node whose key is used; then a staged copy is migrated and verified like
//! `focal-node verify` (signatures, hash chains, documents, projections).
//! Only then is the database swapped in. A database already there is never
//! deleted: without `--replace` restore refuses, with it the old files are
//! moved aside to `focal.db.before-restore-TIMESTAMP`.
//!
//! A restored node that is in a network gets the write fence (see
//! `recovery`): it signs nothing until it has recovered, from a peer, the
//! entries it signed after the backup was taken.

use std::{
    collections::BTreeMap,
    fs::{self, File, OpenOptions},
    io,
    os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt},
    path::{Path, PathBuf},
};

use rusqlite::{Connection, OpenFlags, OptionalExtension, params};

use crate::{
    base::config::Config,
    engine::recovery::META_RESTORED,
    identity::{KeyError, NodeKey},
    ops::verify::{VerifyReport, verify_snapshot},
    store::datadir::{DataDir, DataDirError, META_MEMBER, META_NODE_KEY},
    store::{APPLICATION_ID, SCHEMA_VERSION, Store, StoreError, StoreOptions},
};

pub use crate::store::db::BACKUP_TABLE;

/// The backup format this binary writes and reads.
pub const BACKUP_FORMAT: &str = "1";

/// Why a backup or a restore did not happen. Nothing was changed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BackupError {
    /// The backup file exists already.
    #[error(
        "{0} exists already; a backup never overwrites a file: choose another name or remove it"
    )]
    Exists(PathBuf),
    /// The data directory cannot be used.
    #[error(transparent)]
    DataDir(#[from] DataDirError),
    /// The database cannot be used.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The file is not a backup made by `focal-node backup`.
    #[error("{path} is not a focal-node backup: {why}; nothing was changed")]
    NotABackup {
        /// The file.
        path: PathBuf,
        /// What it is instead.
        why: String,
    },
    /// The backup is damaged.
    #[error("backup {path} is damaged: {why}; nothing was changed")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        why: String,
    },
    /// The backup's logs, documents or projections do not verify.
    #[error("backup {path} does not verify: {problem}; nothing was changed")]
    Verify {
        /// The file.
        path: PathBuf,
        /// The first problem.
        problem: String,
    },
    /// The backup belongs to another node than the key at hand.
    #[error(
        "backup {path} is of node key {backup_key} ({member}), but {key_file} holds key \
         {found}: a backup restores only with the key of the node it was taken from; \
         nothing was changed"
    )]
    KeyMismatch {
        /// The backup.
        path: PathBuf,
        /// The key the backup records.
        backup_key: String,
        /// Its member.
        member: String,
        /// The key file.
        key_file: PathBuf,
        /// The key found there.
        found: String,
    },
    /// A new data directory needs the node key.
    #[error(
        "{dir} has no node.key, and a backup does not contain the key: pass --key FILE with \
         the node.key of node {backup_key} ({member}); nothing was changed"
    )]
    NeedKey {
        /// The data directory.
        dir: PathBuf,
        /// The key the backup records.
        backup_key: String,
        /// Its member.
        member: String,
    },
    /// The key file given could not be used.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// The data directory holds a database already.
    #[error(
        "{db} exists: this directory holds a node's data already ({entries} log entries). \
         Restoring would replace it; pass --replace to move it aside to {aside} (kept, not \
         deleted). Nothing was changed"
    )]
    ExistingData {
        /// The database file.
        db: PathBuf,
        /// Entries it holds (-1 if unreadable).
        entries: i64,
        /// Where `--replace` would move it.
        aside: PathBuf,
    },
    /// The configuration in the backup or the directory is invalid.
    #[error(transparent)]
    Config(#[from] crate::base::config::ConfigError),
    /// SQLite failed.
    #[error("cannot {what}: {source}; nothing was changed")]
    Sqlite {
        /// What was being done.
        what: String,
        /// The underlying error.
        source: rusqlite::Error,
    },
    /// A file operation failed.
    #[error("cannot {action} {path}: {source}")]
    Io {
        /// What was attempted.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
}

fn io_err(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> BackupError {
    let path = path.to_owned();
    move |source| BackupError::Io {
        action,
        path,
        source,
    }
}

fn sqlite_err(what: impl Into<String>) -> impl FnOnce(rusqlite::Error) -> BackupError {
    let what = what.into();
    move |source| BackupError::Sqlite { what, source }
}

/// What a backup file says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupInfo {
    /// When it was taken (RFC 3339).
    pub taken_at: String,
    /// The node key it belongs to (hex).
    pub node_key: String,
    /// The node's member.
    pub member: String,
    /// Its schema version.
    pub schema_version: u32,
    /// The focal-node version that took it.
    pub focal_version: String,
    /// The node's `focal.toml` when it was taken.
    pub config: String,
}

/// What a backup or restore did.
#[derive(Debug, Clone)]
pub struct BackupReport {
    /// The backup's description.
    pub info: BackupInfo,
    /// Its size in bytes.
    pub bytes: u64,
    /// What verification covered.
    pub verified: VerifyReport,
}

/// What restore did besides installing the database.
#[derive(Debug, Clone)]
pub struct RestoreReport {
    /// The backup and its verification.
    pub backup: BackupReport,
    /// Where the database that was there went (`--replace`).
    pub moved_aside: Option<PathBuf>,
    /// Whether `focal.toml` came from the backup (else the directory's was
    /// kept).
    pub wrote_config: bool,
    /// Whether the key was copied in (`--key`).
    pub wrote_key: bool,
    /// Whether the node is fenced until it recovers its own entries.
    pub fenced: bool,
}

/// Progress of a long operation: (stage, done, total).
pub type Progress<'a> = &'a mut dyn FnMut(&str, u64, u64);

/// Takes a consistent online backup of the node in `dir` into `to` (which
/// must not exist), then checks the copy as restore would.
pub fn backup(
    dir: &DataDir,
    to: &Path,
    progress: Progress<'_>,
) -> Result<BackupReport, BackupError> {
    if to.exists() {
        return Err(BackupError::Exists(to.to_owned()));
    }
    let (_, handle, node_id, member) = dir.open_database(true)?;
    let config =
        fs::read_to_string(dir.config_path()).map_err(io_err("read", &dir.config_path()))?;
    let partial = sibling(to, ".partial");
    let _ = fs::remove_file(&partial);
    // Created private: the copy holds everything but the key.
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&partial)
        .map_err(io_err("create", &partial))?;
    let result = (|| {
        let conn = handle.conn();
        let schema_version: u32 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(sqlite_err("read the schema version"))?;
        progress("snapshot", 0, 1);
        // One statement, one read transaction: a consistent snapshot while
        // the node's writer goes on committing in WAL mode.
        conn.execute(
            "VACUUM INTO ?1",
            [partial.to_str().ok_or_else(|| BackupError::Io {
                action: "name",
                path: partial.clone(),
                source: io::Error::other("the path is not UTF-8"),
            })?],
        )
        .map_err(sqlite_err(format!(
            "copy the database into {}",
            partial.display()
        )))?;
        progress("snapshot", 1, 1);
        drop(handle);
        let info = BackupInfo {
            taken_at: crate::clock::now_rfc3339(),
            node_key: node_id.to_string(),
            member: member.to_string(),
            schema_version,
            focal_version: env!("CARGO_PKG_VERSION").to_owned(),
            config,
        };
        {
            let copy = Connection::open(&partial).map_err(sqlite_err("open the copy"))?;
            copy.execute_batch(&format!(
                "PRAGMA journal_mode = DELETE;
                 CREATE TABLE {BACKUP_TABLE} (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL);"
            ))
            .map_err(sqlite_err("describe the backup"))?;
            for (key, value) in [
                ("format", BACKUP_FORMAT.to_owned()),
                ("taken_at", info.taken_at.clone()),
                ("node_key", info.node_key.clone()),
                ("member", info.member.clone()),
                ("schema_version", info.schema_version.to_string()),
                ("focal_version", info.focal_version.clone()),
                ("config", info.config.clone()),
            ] {
                copy.execute(
                    &format!("INSERT INTO {BACKUP_TABLE} (key, value) VALUES (?1, ?2)"),
                    params![key, value],
                )
                .map_err(sqlite_err("describe the backup"))?;
            }
            copy.close().map_err(|(_, source)| BackupError::Sqlite {
                what: "close the copy".into(),
                source,
            })?;
        }
        let (checked, verified) = inspect(&partial, Depth::Full, progress)?;
        debug_assert_eq!(checked, info);
        let verified = verified.unwrap_or_default();
        File::open(&partial)
            .and_then(|f| f.sync_all())
            .map_err(io_err("sync", &partial))?;
        // A hard link fails if `to` appeared meanwhile: nothing is
        // overwritten, ever.
        fs::hard_link(&partial, to).map_err(|source| {
            if source.kind() == io::ErrorKind::AlreadyExists {
                BackupError::Exists(to.to_owned())
            } else {
                BackupError::Io {
                    action: "create",
                    path: to.to_owned(),
                    source,
                }
            }
        })?;
        sync_parent(to)?;
        let bytes = fs::metadata(to).map_err(io_err("read", to))?.len();
        Ok(BackupReport {
            info,
            bytes,
            verified,
        })
    })();
    let _ = fs::remove_file(&partial);
    result
}

/// How much [`inspect`] checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Depth {
    /// Format, description, integrity, schema, keys.
    Structure,
    /// That, and `verify` of logs, documents and projections.
    Full,
}

/// Checks a backup file without changing it: a Focal database, described
/// as a backup, intact, of a known schema, and (with [`Depth::Full`])
/// verifying clean. Returns the report of the verification, if it ran.
pub fn inspect(
    path: &Path,
    depth: Depth,
    progress: Progress<'_>,
) -> Result<(BackupInfo, Option<VerifyReport>), BackupError> {
    let not_backup = |why: String| BackupError::NotABackup {
        path: path.to_owned(),
        why,
    };
    let corrupt = |e: rusqlite::Error| BackupError::Corrupt {
        path: path.to_owned(),
        why: e.to_string(),
    };
    let meta = fs::metadata(path).map_err(io_err("read", path))?;
    if !meta.is_file() {
        return Err(not_backup("it is not a file".into()));
    }
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| not_backup(format!("cannot open it as a database ({e})")))?;
    let app_id: i32 = conn
        .query_row("PRAGMA application_id", [], |r| r.get(0))
        .map_err(|e| not_backup(format!("it is not a SQLite database ({e})")))?;
    if app_id != APPLICATION_ID {
        return Err(not_backup(format!(
            "it is not a Focal database (application_id {app_id:#x})"
        )));
    }
    let has_table: Option<String> = conn
        .query_row(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name = ?1",
            [BACKUP_TABLE],
            |r| r.get(0),
        )
        .optional()
        .map_err(corrupt)?;
    if has_table.is_none() {
        return Err(not_backup(format!(
            "it is a Focal database, but has no `{BACKUP_TABLE}` table (a live focal.db, not a \
             file made by `focal-node backup`)"
        )));
    }
    let mut info = BTreeMap::new();
    {
        let mut stmt = conn
            .prepare(&format!("SELECT key, value FROM {BACKUP_TABLE}"))
            .map_err(corrupt)?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
            .map_err(corrupt)?;
        for row in rows {
            let (k, v) = row.map_err(corrupt)?;
            info.insert(k, v);
        }
    }
    let mut field = |key: &str| {
        info.remove(key)
            .ok_or_else(|| not_backup(format!("its description lacks `{key}`")))
    };
    let format = field("format")?;
    if format != BACKUP_FORMAT {
        return Err(not_backup(format!(
            "it is in backup format {format}, this focal-node reads format {BACKUP_FORMAT}"
        )));
    }
    let found: u32 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(corrupt)?;
    if found > SCHEMA_VERSION {
        return Err(StoreError::NewerSchema {
            path: path.to_owned(),
            found,
            known: SCHEMA_VERSION,
            version: env!("CARGO_PKG_VERSION"),
        }
        .into());
    }
    let info = BackupInfo {
        taken_at: field("taken_at")?,
        node_key: field("node_key")?,
        member: field("member")?,
        schema_version: found,
        focal_version: field("focal_version")?,
        config: field("config")?,
    };
    progress("integrity check", 0, 1);
    let integrity: Vec<String> = {
        let mut stmt =
            conn.prepare("PRAGMA integrity_check")
                .map_err(|e| BackupError::Corrupt {
                    path: path.to_owned(),
                    why: e.to_string(),
                })?;
        stmt.query_map([], |r| r.get::<_, String>(0))
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(|e| BackupError::Corrupt {
                path: path.to_owned(),
                why: e.to_string(),
            })?
    };
    if integrity != ["ok"] {
        return Err(BackupError::Corrupt {
            path: path.to_owned(),
            why: integrity.join("; "),
        });
    }
    progress("integrity check", 1, 1);
    let recorded = |key: &str| -> Result<Option<String>, BackupError> {
        conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()
            .map_err(|e| BackupError::Corrupt {
                path: path.to_owned(),
                why: format!("cannot read its metadata ({e})"),
            })
    };
    if recorded(META_NODE_KEY)?.as_deref() != Some(info.node_key.as_str())
        || recorded(META_MEMBER)?.as_deref() != Some(info.member.as_str())
    {
        return Err(BackupError::Corrupt {
            path: path.to_owned(),
            why: "its description and its database name different nodes".into(),
        });
    }
    Config::parse(&info.config, Path::new("focal.toml (in the backup)"))?;
    if depth == Depth::Structure {
        return Ok((info, None));
    }
    let verified = verify_snapshot(&conn, |stage, done, total| progress(stage, done, total))
        .map_err(|problem| BackupError::Verify {
            path: path.to_owned(),
            problem: problem.to_string(),
        })?;
    Ok((info, Some(verified)))
}

/// How to restore.
#[derive(Debug, Clone)]
pub struct RestoreOptions {
    /// The backup file.
    pub from: PathBuf,
    /// Move a database already in the directory aside instead of refusing.
    pub replace: bool,
    /// The node key, for a directory that has none.
    pub key: Option<PathBuf>,
}

/// Restores the backup into `dir` (created if missing), after checking it.
pub fn restore(
    dir: &DataDir,
    options: &RestoreOptions,
    progress: Progress<'_>,
) -> Result<RestoreReport, BackupError> {
    let from = &options.from;
    // The structure now; the logs and records are verified once, on the
    // staged copy (the backup's own bytes, migrated), before it is used.
    let (info, _) = inspect(from, Depth::Structure, progress)?;
    let root = dir.root();
    match fs::metadata(root) {
        Ok(meta) if !meta.is_dir() => {
            return Err(DataDirError::NotADirectory(root.to_owned()).into());
        }
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(root)
            .map_err(io_err("create directory", root))?,
        Err(source) => {
            return Err(DataDirError::Unreadable {
                path: root.to_owned(),
                source,
            }
            .into());
        }
    }
    // Refuses while a node runs here (or another restore).
    let _lock = dir.lock()?;

    // The key: the directory's, or the one given; it must be the backup's.
    let check_key = |key: &NodeKey, key_file: &Path| {
        if key.id().to_string() == info.node_key {
            Ok(())
        } else {
            Err(BackupError::KeyMismatch {
                path: from.clone(),
                backup_key: info.node_key.clone(),
                member: info.member.clone(),
                key_file: key_file.to_owned(),
                found: key.id().to_string(),
            })
        }
    };
    let key_path = dir.key_path();
    let new_key = if key_path.exists() {
        check_key(&NodeKey::load_file(&key_path)?, &key_path)?;
        if let Some(given) = &options.key {
            check_key(&NodeKey::load_file(given)?, given)?;
        }
        None
    } else {
        let Some(given) = &options.key else {
            return Err(BackupError::NeedKey {
                dir: root.to_owned(),
                backup_key: info.node_key.clone(),
                member: info.member.clone(),
            });
        };
        let key = NodeKey::load_file(given)?;
        check_key(&key, given)?;
        Some(key)
    };

    let db = dir.database_path();
    let aside = sibling(
        &db,
        &format!(
            ".before-restore-{}",
            time::OffsetDateTime::now_utc().unix_timestamp()
        ),
    );
    let existing = db.exists();
    if existing && !options.replace {
        let entries = Connection::open_with_flags(&db, OpenFlags::SQLITE_OPEN_READ_ONLY)
            .and_then(|c| c.query_row("SELECT count(*) FROM log_entries", [], |r| r.get(0)))
            .unwrap_or(-1);
        return Err(BackupError::ExistingData { db, entries, aside });
    }

    // The configuration the node will run with: the directory's if it has
    // one (the operator's current settings), else the backup's.
    let config_path = dir.config_path();
    let wrote_config = !config_path.exists();
    let config = if wrote_config {
        Config::parse(&info.config, &config_path)?
    } else {
        Config::load(&config_path)?
    };

    // Stage, migrate, fence and verify a copy; the directory is unchanged
    // until it is complete.
    let staged = sibling(&db, ".restoring");
    remove_with_sidecars(&staged);
    fs::copy(from, &staged).map_err(io_err("copy the backup to", &staged))?;
    fs::set_permissions(&staged, fs::Permissions::from_mode(0o600))
        .map_err(io_err("set permissions of", &staged))?;
    let staged_result = (|| {
        let store = Store::open(
            &staged,
            &StoreOptions {
                busy_timeout_ms: config.storage.busy_timeout_ms,
                create: false,
            },
        )?;
        let conn = store.conn();
        conn.execute_batch(&format!("DROP TABLE {BACKUP_TABLE}"))
            .map_err(sqlite_err("prepare the restored database"))?;
        // Fenced whenever the node may have given entries away: it is in a
        // network, or the backup holds entries of its own logs that travel
        // (it may have joined one since the backup was taken).
        let own_key = crate::identity::NodeId::from_hex(&info.node_key)
            .map(|k| k.0.to_vec())
            .unwrap_or_default();
        let in_network: bool = config.network.id.is_some()
            || conn
                .query_row(
                    "SELECT count(*) > 0 FROM log_entries WHERE doc_id = ?1
                        OR (origin = ?2 AND audience != ?3)",
                    rusqlite::params![
                        crate::roster::ROSTER_ID,
                        own_key,
                        crate::log::Audience::Local.code()
                    ],
                    |r| r.get(0),
                )
                .map_err(sqlite_err("read the restored database"))?;
        if in_network {
            store.set_meta(
                META_RESTORED,
                &format!(
                    "restored at {} from {} (backup taken at {})",
                    crate::clock::now_rfc3339(),
                    from.display(),
                    info.taken_at
                ),
            )?;
        }
        let verified = verify_snapshot(conn, |stage, done, total| progress(stage, done, total))
            .map_err(|problem| BackupError::Verify {
                path: from.clone(),
                problem: problem.to_string(),
            })?;
        store.close()?;
        Ok::<_, BackupError>((verified, in_network))
    })();
    let (verified, fenced) = match staged_result {
        Ok(done) => done,
        Err(err) => {
            remove_with_sidecars(&staged);
            return Err(err);
        }
    };

    // The key and the configuration first: a directory with a database
    // must never lack them (a crash here must not invite `init`).
    if let Some(key) = &new_key {
        key.create_file(&key_path)?;
    }
    if wrote_config {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o644)
            .open(&config_path)
            .map_err(io_err("write", &config_path))?;
        io::Write::write_all(&mut file, info.config.as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(io_err("write", &config_path))?;
    }
    dir.sync_dir()?;
    // Swap: the old database's WAL, shared memory and journal aside first
    // (whether or not the database itself is there: SQLite would replay a
    // stray WAL into the restored file, silently, fence and all), then the
    // old database, then the staged one in.
    let mut moved = false;
    for suffix in ["-wal", "-shm", "-journal", ""] {
        let file = sibling(&db, suffix);
        if file.exists() {
            let target = sibling(&aside, suffix);
            fs::rename(&file, &target).map_err(io_err("move aside", &file))?;
            moved = true;
        }
    }
    let moved_aside = moved.then_some(aside);
    dir.sync_dir()?;
    fs::rename(&staged, &db).map_err(io_err("install", &db))?;
    // Closing checkpointed the staged copy; no -wal or -shm of it may stay.
    remove_with_sidecars(&staged);
    // The previous node's status is not this one's.
    let _ = fs::remove_file(root.join("status.json"));
    dir.sync_dir()?;
    let bytes = fs::metadata(from).map_or(0, |m| m.len());
    Ok(RestoreReport {
        backup: BackupReport {
            info,
            bytes,
            verified,
        },
        moved_aside,
        wrote_config,
        wrote_key: new_key.is_some(),
        fenced,
    })
}

/// `path` with `suffix` appended to its file name.
fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

fn remove_with_sidecars(db: &Path) {
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let _ = fs::remove_file(sibling(db, suffix));
    }
}

fn sync_parent(path: &Path) -> Result<(), BackupError> {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    File::open(parent)
        .and_then(|d| d.sync_all())
        .map_err(io_err("sync", parent))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::member::MemberCode;

    fn node(tmp: &Path, name: &str) -> DataDir {
        let dir = DataDir::new(tmp.join(name));
        dir.init(&"ESP".parse::<MemberCode>().unwrap()).unwrap();
        dir
    }

    fn quiet() -> impl FnMut(&str, u64, u64) {
        |_, _, _| {}
    }

    #[test]
    fn backup_then_restore_into_a_new_directory_with_the_key() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = node(tmp.path(), "esp");
        let file = tmp.path().join("esp.focal-backup");
        let report = backup(&dir, &file, &mut quiet()).unwrap();
        assert_eq!(report.info.member, "ESP");
        let mode = fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "the backup is private");
        // Never overwritten.
        assert!(matches!(
            backup(&dir, &file, &mut quiet()).unwrap_err(),
            BackupError::Exists(_)
        ));

        let target = DataDir::new(tmp.path().join("restored"));
        let options = RestoreOptions {
            from: file.clone(),
            replace: false,
            key: None,
        };
        let err = restore(&target, &options, &mut quiet()).unwrap_err();
        assert!(matches!(err, BackupError::NeedKey { .. }), "{err}");
        let with_key = RestoreOptions {
            key: Some(dir.key_path()),
            ..options
        };
        let done = restore(&target, &with_key, &mut quiet()).unwrap();
        assert!(done.wrote_key && done.wrote_config && !done.fenced);
        let open = target.open().unwrap();
        assert_eq!(open.member.as_str(), "ESP");
        // The description is gone from the restored database.
        let tables: i64 = open
            .store
            .conn()
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE name = ?1",
                [BACKUP_TABLE],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(tables, 0);
        drop(open);

        // Again: the data there is not replaced without --replace, and with
        // it, it is moved aside.
        let err = restore(&target, &with_key, &mut quiet()).unwrap_err();
        assert!(matches!(err, BackupError::ExistingData { .. }), "{err}");
        let replace = RestoreOptions {
            replace: true,
            ..with_key
        };
        let done = restore(&target, &replace, &mut quiet()).unwrap();
        assert!(done.moved_aside.unwrap().exists());
    }

    #[test]
    fn wrong_files_and_wrong_keys_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let esp = node(tmp.path(), "esp");
        let other = node(tmp.path(), "other");
        let file = tmp.path().join("esp.backup");
        backup(&esp, &file, &mut quiet()).unwrap();

        let restore_into = |dir: &DataDir, from: &Path| {
            restore(
                dir,
                &RestoreOptions {
                    from: from.to_owned(),
                    replace: true,
                    key: None,
                },
                &mut quiet(),
            )
        };
        let err = restore_into(&other, &file).unwrap_err();
        assert!(matches!(err, BackupError::KeyMismatch { .. }), "{err}");

        let text = tmp.path().join("notes.txt");
        fs::write(&text, "not a database, just a few words of text").unwrap();
        let err = restore_into(&esp, &text).unwrap_err();
        assert!(matches!(err, BackupError::NotABackup { .. }), "{err}");

        let live = esp.database_path();
        let err = restore_into(&other, &live).unwrap_err();
        assert!(err.to_string().contains("no `focal_backup` table"), "{err}");

        // Damage in the middle of the file.
        let damaged = tmp.path().join("damaged.backup");
        let mut bytes = fs::read(&file).unwrap();
        let len = bytes.len();
        for b in &mut bytes[len / 2..len / 2 + 4096.min(len / 2)] {
            *b ^= 0x5a;
        }
        fs::write(&damaged, &bytes).unwrap();
        assert!(restore_into(&esp, &damaged).is_err());

        // Nothing was moved or replaced by any of it.
        assert!(esp.open().is_ok());
        let leftovers: Vec<_> = fs::read_dir(esp.root())
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains("restor"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }

    #[test]
    fn a_backup_copied_in_as_the_database_is_refused_until_restored() {
        let tmp = tempfile::tempdir().unwrap();
        let esp = node(tmp.path(), "esp");
        let file = tmp.path().join("esp.backup");
        backup(&esp, &file, &mut quiet()).unwrap();
        // The operator's shortcut: the backup copied over the database.
        fs::copy(&file, esp.database_path()).unwrap();
        let before = fs::read(esp.database_path()).unwrap();
        let err = esp.open().err().unwrap();
        assert!(matches!(err, DataDirError::BackupFile { .. }), "{err}");
        let message = err.to_string();
        assert!(
            message.contains(&format!(
                "focal-node restore --from {} --data {} --replace",
                esp.database_path().display(),
                esp.root().display()
            )),
            "{message}"
        );
        let err = esp.open_database(false).err().unwrap();
        assert!(matches!(err, DataDirError::BackupFile { .. }), "{err}");
        assert_eq!(fs::read(esp.database_path()).unwrap(), before, "unchanged");
        // The command the message gives works, and the restored database
        // carries no mark.
        let done = restore(
            &esp,
            &RestoreOptions {
                from: esp.database_path(),
                replace: true,
                key: None,
            },
            &mut quiet(),
        )
        .unwrap();
        assert_eq!(fs::read(done.moved_aside.unwrap()).unwrap(), before);
        assert!(esp.open().is_ok());
    }

    #[test]
    fn a_backup_of_a_newer_schema_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let esp = node(tmp.path(), "esp");
        let file = tmp.path().join("esp.backup");
        backup(&esp, &file, &mut quiet()).unwrap();
        Connection::open(&file)
            .unwrap()
            .execute_batch(&format!("PRAGMA user_version = {}", SCHEMA_VERSION + 1))
            .unwrap();
        let err = restore(
            &DataDir::new(tmp.path().join("new")),
            &RestoreOptions {
                from: file,
                replace: false,
                key: Some(esp.key_path()),
            },
            &mut quiet(),
        )
        .unwrap_err();
        assert!(
            matches!(err, BackupError::Store(StoreError::NewerSchema { .. })),
            "{err}"
        );
        assert!(!tmp.path().join("new").exists());
    }

    #[test]
    fn a_running_node_is_not_restored_over() {
        let tmp = tempfile::tempdir().unwrap();
        let esp = node(tmp.path(), "esp");
        let file = tmp.path().join("esp.backup");
        backup(&esp, &file, &mut quiet()).unwrap();
        let running = esp.open().unwrap();
        let err = restore(
            &esp,
            &RestoreOptions {
                from: file,
                replace: true,
                key: None,
            },
            &mut quiet(),
        )
        .unwrap_err();
        assert!(
            matches!(err, BackupError::DataDir(DataDirError::Locked(_))),
            "{err}"
        );
        drop(running);
    }
}
