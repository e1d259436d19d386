//! The data directory: everything one node keeps on disk.
//!
//! ```text
//! DATA/
//!   node.key          the node's ed25519 key (PKCS#8 PEM, mode 0600)
//!   focal.toml        operator settings (see `config`)
//!   focal.db          SQLite database (+ -wal, -shm while running)
//!   focal-node.lock   held (flock) by the running node
//!   focal-node.addr   the address the running node listens on
//! ```
//!
//! `init` creates a directory from nothing and refuses to replace a key.
//! `open` checks everything a running node needs and explains what is wrong.

use std::{
    fs::{self, File, OpenOptions},
    io::{self, Write},
    net::SocketAddr,
    os::unix::fs::{DirBuilderExt, OpenOptionsExt},
    path::{Path, PathBuf},
};

use crate::{
    base::config::{CONFIG_FILE, Config, ConfigError},
    identity::{KeyError, NodeKey},
    member::MemberCode,
    store::{DATABASE_FILE, Store, StoreError, StoreOptions},
};

/// File name of the node key.
pub const KEY_FILE: &str = "node.key";
/// File name of the next node key while a rotation is in progress.
pub const NEXT_KEY_FILE: &str = "node.key.new";
/// File name of the lock a running node holds.
pub const LOCK_FILE: &str = "focal-node.lock";
/// File name where a running node writes its listening address.
pub const ADDR_FILE: &str = "focal-node.addr";

/// Metadata key of the member code in the database.
pub const META_MEMBER: &str = "member";
/// Metadata key of the node's public key in the database.
pub const META_NODE_KEY: &str = "node_key";

/// Why a data directory could not be initialised or opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DataDirError {
    /// The directory does not exist.
    #[error(
        "data directory {0} does not exist; create a node there with \
         `focal-node init --data {0} --member CODE`"
    )]
    Missing(PathBuf),
    /// The path exists but is not a directory.
    #[error("data directory {0} is not a directory")]
    NotADirectory(PathBuf),
    /// The directory cannot be read or written.
    #[error("data directory {path} is not usable: {source}")]
    Unreadable {
        /// The directory.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// Another process runs a node on this directory.
    #[error(
        "data directory {0} is in use by another focal-node process; stop it first \
         (two nodes must never share one key and database)"
    )]
    Locked(PathBuf),
    /// The key file is missing, unsafe or malformed.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// The configuration is missing or invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The database cannot be used.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The database belongs to a different key than `node.key`.
    #[error(
        "database {db} belongs to node key {recorded}, but {key} holds key {found}; \
         the key file and the database must come from the same `init`"
    )]
    KeyMismatch {
        /// The database file.
        db: PathBuf,
        /// The key file.
        key: PathBuf,
        /// The key the database records.
        recorded: String,
        /// The key in the key file.
        found: String,
    },
    /// The member code recorded in the database is not valid.
    #[error("database {db}: recorded member code is invalid: {source}")]
    BadMember {
        /// The database file.
        db: PathBuf,
        /// Why.
        source: crate::member::InvalidMemberCode,
    },
    /// The database is a file made by `focal-node backup`, copied in by
    /// hand: a node run from it would sign again sequence numbers its peers
    /// already hold (equivocation). `restore` checks it and fences the node.
    #[error(
        "{db} is a backup file made by `focal-node backup` (taken at {taken_at}), not a node's \
         live database: a node run from it could sign again sequence numbers the network \
         already holds (equivocation). Restore it instead; restore checks it and keeps the \
         node from signing until it has its own later entries back from its peers: \
         `focal-node restore --from {db} --data {dir} --replace` (the file is kept: it is moved \
         aside to focal.db.before-restore-TIMESTAMP). Nothing was changed"
    )]
    BackupFile {
        /// The database file.
        db: PathBuf,
        /// The data directory.
        dir: PathBuf,
        /// When the backup was taken, as it says.
        taken_at: String,
    },
    /// Any other file operation failed.
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

/// A data directory's paths.
#[derive(Debug, Clone)]
pub struct DataDir {
    root: PathBuf,
}

/// What `init` did.
#[derive(Debug)]
pub struct InitReport {
    /// The new node's key.
    pub node_id: crate::identity::NodeId,
    /// Whether `focal.toml` was written (it is kept if present).
    pub wrote_config: bool,
}

/// Everything a running node needs from its data directory, checked.
#[derive(Debug)]
pub struct OpenDataDir {
    /// The paths.
    pub dir: DataDir,
    /// The settings.
    pub config: Config,
    /// The node key.
    pub key: NodeKey,
    /// The member this node belongs to.
    pub member: MemberCode,
    /// The open database.
    pub store: Store,
    /// Held for as long as the node runs; dropping it releases the directory.
    pub lock: DirLock,
}

/// A database opened by an operator command: migrated and writable, or a
/// plain read-only connection that changes nothing (for `verify`).
#[derive(Debug)]
pub enum DatabaseHandle {
    /// Writable, migrated.
    Store(Store),
    /// Read-only, as found.
    Reader(rusqlite::Connection),
}

impl DatabaseHandle {
    /// The connection.
    pub fn conn(&self) -> &rusqlite::Connection {
        match self {
            Self::Store(store) => store.conn(),
            Self::Reader(conn) => conn,
        }
    }
}

/// An exclusive lock on a data directory (an OS file lock, released by the
/// kernel even if the process dies).
#[derive(Debug)]
pub struct DirLock {
    _file: File,
}

impl DataDir {
    /// The directory at `root` (nothing is checked yet).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The directory itself.
    pub fn root(&self) -> &Path {
        &self.root
    }
    /// `node.key`.
    pub fn key_path(&self) -> PathBuf {
        self.root.join(KEY_FILE)
    }
    /// `focal.toml`.
    pub fn config_path(&self) -> PathBuf {
        self.root.join(CONFIG_FILE)
    }
    /// `focal.db`.
    pub fn database_path(&self) -> PathBuf {
        self.root.join(DATABASE_FILE)
    }
    /// `focal-node.addr`.
    pub fn addr_path(&self) -> PathBuf {
        self.root.join(ADDR_FILE)
    }

    /// Whether a node has been initialised here.
    pub fn is_initialised(&self) -> bool {
        self.key_path().exists()
    }

    /// Creates a new node here: directory (mode 0700), key, configuration and
    /// database. Refuses if a key already exists.
    pub fn init(&self, member: &MemberCode) -> Result<InitReport, DataDirError> {
        match fs::metadata(&self.root) {
            Ok(meta) if !meta.is_dir() => {
                return Err(DataDirError::NotADirectory(self.root.clone()));
            }
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                fs::DirBuilder::new()
                    .recursive(true)
                    .mode(0o700)
                    .create(&self.root)
                    .map_err(|source| DataDirError::Io {
                        action: "create directory",
                        path: self.root.clone(),
                        source,
                    })?;
            }
            Err(source) => {
                return Err(DataDirError::Unreadable {
                    path: self.root.clone(),
                    source,
                });
            }
        }
        let _lock = self.lock()?;
        if self.key_path().exists() {
            return Err(KeyError::AlreadyExists(self.key_path()).into());
        }
        // A database that holds signed entries is a node's data without its
        // key (an interrupted restore, a lost key file): never overwrite its
        // identity.
        let held: i64 = rusqlite::Connection::open_with_flags(
            self.database_path(),
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .and_then(|c| c.query_row("SELECT count(*) FROM log_entries", [], |r| r.get(0)))
        .unwrap_or(0);
        if held > 0 {
            return Err(DataDirError::Io {
                action: "initialise over the data of another node in",
                path: self.database_path(),
                source: io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    format!(
                        "it holds {held} signed entries but there is no node.key; put the node's \
                         key back (or `focal-node restore --key FILE`), or move the database away"
                    ),
                ),
            });
        }
        let key = NodeKey::generate()?;
        let wrote_config = !self.config_path().exists();
        if wrote_config {
            write_new_file(&self.config_path(), Config::template().as_bytes(), 0o644)?;
        }
        // The database is created before the key: a crash in between leaves no
        // key, so `init` can simply run again. It is created here, private to
        // the owner, so that SQLite's -wal and -shm files inherit that mode.
        if !self.database_path().exists() {
            write_new_file(&self.database_path(), b"", 0o600)?;
        }
        let store = Store::open(
            &self.database_path(),
            &StoreOptions {
                busy_timeout_ms: 5_000,
                create: true,
            },
        )?;
        store.set_meta(META_MEMBER, member.as_str())?;
        store.set_meta(META_NODE_KEY, &key.id().to_string())?;
        store.close()?;
        key.create_file(&self.key_path())?;
        self.sync_dir()?;
        Ok(InitReport {
            node_id: key.id(),
            wrote_config,
        })
    }

    /// Takes the directory's exclusive lock.
    pub fn lock(&self) -> Result<DirLock, DataDirError> {
        let path = self.root.join(LOCK_FILE);
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(&path)
            .map_err(|source| DataDirError::Io {
                action: "open lock file",
                path: path.clone(),
                source,
            })?;
        match file.try_lock() {
            Ok(()) => Ok(DirLock { _file: file }),
            Err(fs::TryLockError::WouldBlock) => Err(DataDirError::Locked(self.root.clone())),
            Err(fs::TryLockError::Error(source)) => Err(DataDirError::Io {
                action: "lock",
                path,
                source,
            }),
        }
    }

    /// Checks the directory and opens everything a running node needs.
    pub fn open(&self) -> Result<OpenDataDir, DataDirError> {
        self.check_exists()?;
        let config = Config::load(&self.config_path())?;
        let lock = self.lock()?;
        let key = NodeKey::load_file(&self.key_path())?;
        let db = self.database_path();
        if !db.exists() {
            return Err(StoreError::MissingMeta {
                path: db,
                key: META_NODE_KEY,
            }
            .into());
        }
        self.refuse_backup_file(&db)?;
        let store = open_existing(&db, &config)?;
        let key = self.finish_rotation(&store, key)?;
        let recorded = store.required_meta(META_NODE_KEY)?;
        if recorded != key.id().to_string() {
            return Err(DataDirError::KeyMismatch {
                db,
                key: self.key_path(),
                recorded,
                found: key.id().to_string(),
            });
        }
        let member = store
            .required_meta(META_MEMBER)?
            .parse()
            .map_err(|source| DataDirError::BadMember {
                db: db.clone(),
                source,
            })?;
        Ok(OpenDataDir {
            dir: self.clone(),
            config,
            key,
            member,
            store,
            lock,
        })
    }

    /// Where the next key is written during `focal-node key rotate`.
    pub fn next_key_path(&self) -> PathBuf {
        self.root.join(NEXT_KEY_FILE)
    }

    /// Where a key retired by a rotation is kept (until the operator
    /// destroys it).
    pub fn retired_key_path(&self, key: &crate::identity::NodeId) -> PathBuf {
        self.root
            .join(format!("node.key.retired-{}", &key.to_string()[..16]))
    }

    /// Makes the directory's entries (created, renamed files) durable.
    pub fn sync_dir(&self) -> Result<(), DataDirError> {
        File::open(&self.root)
            .and_then(|d| d.sync_all())
            .map_err(|source| DataDirError::Io {
                action: "sync",
                path: self.root.clone(),
                source,
            })
    }

    /// Completes or undoes a key rotation that a crash interrupted, so that
    /// `node.key` and the database agree again. The database's `node_key` is
    /// the point of no return: once it names the next key, the rotation is
    /// finished (old key retired, next key in place); before that, the next
    /// key file is removed, unless the old key already signed its hand-over
    /// into the roster (the secretariat's rotation), which is then finished.
    pub fn finish_rotation(&self, store: &Store, key: NodeKey) -> Result<NodeKey, DataDirError> {
        let next_path = self.next_key_path();
        if !next_path.exists() {
            return Ok(key);
        }
        let next = NodeKey::load_file(&next_path)?;
        let io = |action: &'static str, path: PathBuf| {
            move |source| DataDirError::Io {
                action,
                path,
                source,
            }
        };
        let recorded = store.required_meta(META_NODE_KEY)?;
        if recorded == key.id().to_string() {
            let signed =
                crate::store::documents::load_document(store.conn(), crate::roster::ROSTER_ID)
                    .ok()
                    .flatten()
                    .and_then(|(doc, _)| {
                        let json = crate::doc::to_json(&doc);
                        let text = json
                            .get("handovers")?
                            .get(key.id().to_string())?
                            .as_str()?
                            .to_owned();
                        crate::handover::Handover::from_hex(&text).ok()
                    })
                    .is_some_and(|h| h.to == next.id());
            if !signed {
                tracing::warn!(path = %next_path.display(), "removed the key of an unfinished rotation");
                fs::remove_file(&next_path).map_err(io("remove", next_path.clone()))?;
                return Ok(key);
            }
            store.set_meta(META_NODE_KEY, &next.id().to_string())?;
        } else if recorded != next.id().to_string() {
            return Ok(key);
        }
        // `node.key` exists at every instant: the old key is linked to its
        // retired name, then the next key replaces `node.key` atomically.
        let retired = self.retired_key_path(&key.id());
        match fs::hard_link(self.key_path(), &retired) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(io("link", retired.clone())(e)),
        }
        fs::rename(&next_path, self.key_path()).map_err(io("rename", next_path.clone()))?;
        self.sync_dir()?;
        tracing::info!(old = %key.id(), new = %next.id(), "finished the key rotation");
        Ok(next)
    }

    /// Opens the database without the directory lock, for operator commands
    /// that may run beside a running node (tokens, verify). Returns the
    /// configuration, the store, and the node key and member it records.
    pub fn open_database(
        &self,
        read_only: bool,
    ) -> Result<(Config, DatabaseHandle, crate::identity::NodeId, MemberCode), DataDirError> {
        if !read_only {
            let (config, store, key, member) = self.open_store()?;
            return Ok((config, DatabaseHandle::Store(store), key, member));
        }
        let (config, db) = self.database_to_open()?;
        let conn = Store::open_reader(&db, config.storage.busy_timeout_ms)?;
        let (key, member) = recorded_identity(&conn, &db)?;
        Ok((config, DatabaseHandle::Reader(conn), key, member))
    }

    /// [`DataDir::open_database`], writable and migrated.
    pub fn open_store(
        &self,
    ) -> Result<(Config, Store, crate::identity::NodeId, MemberCode), DataDirError> {
        let (config, db) = self.database_to_open()?;
        let store = open_existing(&db, &config)?;
        let (key, member) = recorded_identity(store.conn(), &db)?;
        Ok((config, store, key, member))
    }

    /// The configuration and the database file an operator command opens,
    /// once the directory, the file and its not being a backup are checked.
    fn database_to_open(&self) -> Result<(Config, PathBuf), DataDirError> {
        self.check_exists()?;
        let config = Config::load(&self.config_path())?;
        let db = self.database_path();
        if !db.exists() {
            return Err(StoreError::MissingMeta {
                path: db,
                key: META_NODE_KEY,
            }
            .into());
        }
        self.refuse_backup_file(&db)?;
        Ok((config, db))
    }

    /// Refuses a database that is a backup file (it has the table
    /// `focal-node backup` describes it in, which `restore` drops), before
    /// anything opens it for writing: the file stays as it was. Every backup
    /// any version of `focal-node backup` wrote has that table. A file that
    /// cannot be read here is left to [`Store::open`] to report.
    fn refuse_backup_file(&self, db: &Path) -> Result<(), DataDirError> {
        let Ok(conn) = rusqlite::Connection::open_with_flags(
            db,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        ) else {
            return Ok(());
        };
        let described: Option<String> = conn
            .query_row(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name = ?1",
                [crate::store::db::BACKUP_TABLE],
                |r| r.get(0),
            )
            .ok();
        if described.is_none() {
            return Ok(());
        }
        let taken_at = conn
            .query_row(
                &format!(
                    "SELECT value FROM {} WHERE key = 'taken_at'",
                    crate::store::db::BACKUP_TABLE
                ),
                [],
                |r| r.get(0),
            )
            .unwrap_or_else(|_| "an unknown time".to_owned());
        Err(DataDirError::BackupFile {
            db: db.to_owned(),
            dir: self.root.clone(),
            taken_at,
        })
    }

    fn check_exists(&self) -> Result<(), DataDirError> {
        let meta = fs::metadata(&self.root).map_err(|source| {
            if source.kind() == io::ErrorKind::NotFound {
                DataDirError::Missing(self.root.clone())
            } else {
                DataDirError::Unreadable {
                    path: self.root.clone(),
                    source,
                }
            }
        })?;
        if !meta.is_dir() {
            return Err(DataDirError::NotADirectory(self.root.clone()));
        }
        fs::read_dir(&self.root).map_err(|source| DataDirError::Unreadable {
            path: self.root.clone(),
            source,
        })?;
        Ok(())
    }

    /// Records the address the node listens on (atomically: write, rename).
    pub fn write_addr(&self, addr: SocketAddr) -> Result<(), DataDirError> {
        let tmp = self.root.join(format!("{ADDR_FILE}.tmp"));
        let _ = fs::remove_file(&tmp);
        write_new_file(&tmp, format!("{addr}\n").as_bytes(), 0o644)?;
        fs::rename(&tmp, self.addr_path()).map_err(|source| DataDirError::Io {
            action: "rename",
            path: tmp,
            source,
        })
    }

    /// Removes the address file (the node is no longer listening).
    pub fn clear_addr(&self) {
        let _ = fs::remove_file(self.addr_path());
    }
}

/// Opens (and migrates) the database file of an initialised directory.
fn open_existing(db: &Path, config: &Config) -> Result<Store, DataDirError> {
    Ok(Store::open(
        db,
        &StoreOptions {
            busy_timeout_ms: config.storage.busy_timeout_ms,
            create: false,
        },
    )?)
}

/// The node key and member a database records (`init` writes both).
fn recorded_identity(
    conn: &rusqlite::Connection,
    db: &Path,
) -> Result<(crate::identity::NodeId, MemberCode), DataDirError> {
    let meta = |key: &'static str| -> Result<String, DataDirError> {
        conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .map_err(|_| {
                DataDirError::Store(StoreError::MissingMeta {
                    path: db.to_owned(),
                    key,
                })
            })
    };
    let node_id = crate::identity::NodeId::from_hex(&meta(META_NODE_KEY)?).ok_or_else(|| {
        DataDirError::Store(StoreError::MissingMeta {
            path: db.to_owned(),
            key: META_NODE_KEY,
        })
    })?;
    let member = meta(META_MEMBER)?
        .parse()
        .map_err(|source| DataDirError::BadMember {
            db: db.to_owned(),
            source,
        })?;
    Ok((node_id, member))
}

fn write_new_file(path: &Path, bytes: &[u8], mode: u32) -> Result<(), DataDirError> {
    let io_err = |source| DataDirError::Io {
        action: "write",
        path: path.to_owned(),
        source,
    };
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(io_err)?;
    file.write_all(bytes).map_err(io_err)?;
    file.sync_all().map_err(io_err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn init_then_open() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = DataDir::new(tmp.path().join("esp"));
        let member: MemberCode = "ESP".parse().unwrap();
        let report = dir.init(&member).unwrap();
        assert!(report.wrote_config);
        let open = dir.open().unwrap();
        assert_eq!(open.member, member);
        assert_eq!(open.key.id(), report.node_id);
        // The lock is exclusive while the node runs.
        assert!(matches!(dir.open().unwrap_err(), DataDirError::Locked(_)));
        drop(open);
        assert!(matches!(
            dir.init(&member).unwrap_err(),
            DataDirError::Key(KeyError::AlreadyExists(_))
        ));
    }

    #[test]
    fn missing_and_not_a_directory() {
        let tmp = tempfile::tempdir().unwrap();
        let missing = DataDir::new(tmp.path().join("nope"));
        assert!(matches!(
            missing.open().unwrap_err(),
            DataDirError::Missing(_)
        ));
        let file = tmp.path().join("file");
        fs::write(&file, "x").unwrap();
        assert!(matches!(
            DataDir::new(&file).open().unwrap_err(),
            DataDirError::NotADirectory(_)
        ));
    }
}
