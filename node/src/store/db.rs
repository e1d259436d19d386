//! The node's SQLite database: opening, numbered migrations, and clean close.
//!
//! Invariants:
//! - The database runs in WAL mode with `synchronous = FULL`: a transaction
//!   that has committed is on disk, so an acknowledged write survives a crash
//!   or power loss.
//! - `PRAGMA application_id` marks the file as Focal's and `PRAGMA
//!   user_version` is the number of migrations applied. A file from a newer
//!   Focal (more migrations than this binary knows) is refused untouched.
//! - Each migration runs in its own transaction together with the bump of
//!   `user_version`, so a crash mid-migration leaves the previous version.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags, OptionalExtension, params};

/// `application_id` of a Focal database: ASCII "FCAL".
pub const APPLICATION_ID: i32 = 0x4643_414c;

/// The file name of the database inside the data directory.
pub const DATABASE_FILE: &str = "focal.db";

/// The table a backup describes itself in (`ops::backup`); a node refuses
/// to run on a file that has it.
pub const BACKUP_TABLE: &str = "focal_backup";

/// The `WHEN` clause of both of an update's triggers in
/// [`tally_triggers`]: the update touches a record of type `kind` and
/// changes what its summary counts.
macro_rules! counted_change {
    ($kind:literal, $unchanged:literal) => {
        concat!(
            "WHEN (OLD.type = '",
            $kind,
            "' OR NEW.type = '",
            $kind,
            "')
              AND NOT (OLD.type IS NEW.type AND OLD.owner IS NEW.owner
                       AND OLD.visibility IS NEW.visibility AND OLD.deleted IS NEW.deleted
                       AND ",
            $unchanged,
            ")"
        )
    };
}

/// The four triggers that keep a summary of migration 10 (`table`) for
/// the records of type `kind`: a record's contributions are added after it
/// is inserted, taken away before it is deleted, and, when an update
/// changes what the summary counts (anything but `unchanged`, a condition
/// on `OLD` and `NEW`, besides the type, owner, visibility and deletion),
/// taken away before it and added after it. `add` names the macro of the
/// statement adding a row's contributions (`NEW` or `OLD`) times a sign
/// (`+` or `-`); the macro
/// writes both triggers of an update from the same condition, so that
/// they cannot disagree.
macro_rules! tally_triggers {
    ($table:literal, $kind:literal, $unchanged:literal, $add:ident) => {
        concat!(
            "CREATE TRIGGER ",
            $table,
            "_insert AFTER INSERT ON records
             WHEN NEW.type = '",
            $kind,
            "' BEGIN
             ",
            $add!("+", "NEW"),
            "
             END;
             CREATE TRIGGER ",
            $table,
            "_before_update BEFORE UPDATE ON records ",
            counted_change!($kind, $unchanged),
            " BEGIN
             ",
            $add!("-", "OLD"),
            "
             END;
             CREATE TRIGGER ",
            $table,
            "_after_update AFTER UPDATE ON records ",
            counted_change!($kind, $unchanged),
            " BEGIN
             ",
            $add!("+", "NEW"),
            "
             DELETE FROM ",
            $table,
            " WHERE n = 0;
             END;
             CREATE TRIGGER ",
            $table,
            "_delete BEFORE DELETE ON records
             WHEN OLD.type = '",
            $kind,
            "' BEGIN
             ",
            $add!("-", "OLD"),
            "
             DELETE FROM ",
            $table,
            " WHERE n = 0;
             END;
"
        )
    };
}
/// Adds the contributions of `$row` (`NEW` or `OLD`) to `practice_tally`,
/// times `$sign` (`+` or `-`).
macro_rules! practice_tally_add {
    ($sign:literal, $row:literal) => {
        concat!(
            "INSERT INTO practice_tally (among, owner, visibility, theme, n)
             SELECT among, owner, visibility, theme, ",
            $sign,
            "1 FROM practice_contributions
              WHERE id = ",
            $row,
            ".id
             ON CONFLICT DO UPDATE SET n = n + excluded.n;"
        )
    };
}

/// Adds the contributions of `$row` to `funding_tally`, times `$sign`.
macro_rules! funding_tally_add {
    ($sign:literal, $row:literal) => {
        concat!(
            "INSERT INTO funding_tally (among, dim, value, currency, visibility, owner, n, milli)
             SELECT among, dim, value, currency, visibility, owner, ",
            $sign,
            "1, ",
            $sign,
            "milli
               FROM funding_contributions WHERE id = ",
            $row,
            ".id
             ON CONFLICT DO UPDATE SET n = n + excluded.n, milli = milli + excluded.milli;"
        )
    };
}

/// The migrations, in order: `MIGRATIONS[i]` brings the schema from version
/// `i` to `i + 1`. Never edit one that has been released; add a new one.
const MIGRATIONS: &[&str] = &[
    // 1: node metadata.
    "CREATE TABLE meta (
         key   TEXT PRIMARY KEY NOT NULL,
         value TEXT NOT NULL
     ) STRICT;",
    // 2: the signed log, documents, their JSON projections, client tokens.
    "CREATE TABLE log_entries (
         id        INTEGER PRIMARY KEY,
         origin    BLOB NOT NULL,
         audience  INTEGER NOT NULL,
         seq       INTEGER NOT NULL,
         hash      BLOB NOT NULL UNIQUE,
         doc_id    TEXT NOT NULL,
         entry     BLOB NOT NULL,
         stored_at INTEGER NOT NULL,
         UNIQUE (origin, audience, seq)
     ) STRICT;
     CREATE INDEX log_entries_doc ON log_entries (doc_id, id);

     -- A document is its latest snapshot (Automerge save()) plus the changes
     -- made since, in doc_changes; `pending` counts those.
     CREATE TABLE documents (
         doc_id   TEXT PRIMARY KEY NOT NULL,
         snapshot BLOB NOT NULL,
         pending  INTEGER NOT NULL
     ) STRICT;
     CREATE TABLE doc_changes (
         doc_id TEXT NOT NULL,
         n      INTEGER NOT NULL,
         change BLOB NOT NULL,
         PRIMARY KEY (doc_id, n)
     ) STRICT;

     -- The JSON projection of every document, for queries.
     CREATE TABLE records (
         id         TEXT PRIMARY KEY NOT NULL,
         type       TEXT NOT NULL,
         owner      TEXT NOT NULL,
         visibility TEXT NOT NULL,
         deleted    INTEGER NOT NULL,
         created    TEXT NOT NULL,
         updated    TEXT NOT NULL,
         title      TEXT NOT NULL,
         search     TEXT NOT NULL,
         heads      TEXT NOT NULL,
         json       TEXT NOT NULL
     ) STRICT;
     CREATE INDEX records_type ON records (type, updated);
     CREATE INDEX records_owner ON records (owner, type);

     -- Client bearer tokens, stored as SHA-256 hashes.
     CREATE TABLE tokens (
         id      INTEGER PRIMARY KEY,
         name    TEXT NOT NULL,
         hash    BLOB NOT NULL UNIQUE,
         created TEXT NOT NULL,
         revoked TEXT
     ) STRICT;
     CREATE UNIQUE INDEX tokens_active_name ON tokens (name) WHERE revoked IS NULL;",
    // 3: federation: the network this node is in, equivocation evidence and
    // the keys quarantined for it, entries refused from peers.
    "CREATE TABLE equivocations (
         id          INTEGER PRIMARY KEY,
         origin      BLOB NOT NULL,
         audience    INTEGER NOT NULL,
         seq         INTEGER NOT NULL,
         stored_hash BLOB NOT NULL,
         other_entry BLOB NOT NULL,
         detected_at TEXT NOT NULL
     ) STRICT;
     CREATE TABLE quarantine (
         origin TEXT PRIMARY KEY NOT NULL,
         reason TEXT NOT NULL,
         since  TEXT NOT NULL
     ) STRICT;
     CREATE TABLE rejections (
         id       INTEGER PRIMARY KEY,
         peer     TEXT NOT NULL,
         origin   TEXT NOT NULL,
         seq      INTEGER NOT NULL,
         reason   TEXT NOT NULL,
         at       TEXT NOT NULL
     ) STRICT;",
    // 4: key cut-offs: entries beyond a rotated or revoked key's last valid
    // entry (kept as evidence, never relayed), and every change taken out
    // of a document because of them, with the reason.
    "CREATE TABLE revoked_entries (
         origin     BLOB NOT NULL,
         audience   INTEGER NOT NULL,
         seq        INTEGER NOT NULL,
         doc_id     TEXT NOT NULL,
         entry      BLOB NOT NULL,
         dropped_at TEXT NOT NULL,
         PRIMARY KEY (origin, audience, seq)
     ) STRICT;
     CREATE TABLE dropped_changes (
         doc_id     TEXT NOT NULL,
         hash       BLOB NOT NULL,
         origin     BLOB NOT NULL,
         audience   INTEGER NOT NULL,
         seq        INTEGER NOT NULL,
         reason     TEXT NOT NULL,
         dropped_at TEXT NOT NULL,
         PRIMARY KEY (doc_id, hash)
     ) STRICT;",
    // 5: token roles. Every token could do everything before; existing
    // tokens become editors (records, not the network's administration),
    // so an operator creates an admin token for `focal admin`.
    "ALTER TABLE tokens ADD COLUMN role TEXT NOT NULL DEFAULT 'editor'
         CHECK (role IN ('reader', 'editor', 'admin'));",
    // 6: refusals bounded on disk: a count per peer and reason, and the
    // recent ones (a ring, pruned by the writer) with their kind, record and
    // evidence. Older rows are counted as `legacy` and cut to the ring.
    "ALTER TABLE rejections ADD COLUMN kind TEXT NOT NULL DEFAULT 'legacy';
     ALTER TABLE rejections ADD COLUMN doc TEXT NOT NULL DEFAULT '';
     ALTER TABLE rejections ADD COLUMN evidence BLOB;
     CREATE TABLE refusal_counts (
         peer     TEXT NOT NULL,
         reason   TEXT NOT NULL,
         count    INTEGER NOT NULL,
         first_at TEXT NOT NULL,
         last_at  TEXT NOT NULL,
         PRIMARY KEY (peer, reason)
     ) STRICT, WITHOUT ROWID;
     INSERT INTO refusal_counts (peer, reason, count, first_at, last_at)
         SELECT peer, 'legacy', count(*), min(at), max(at) FROM rejections GROUP BY peer;
     DELETE FROM rejections WHERE id <= (SELECT max(id) FROM rejections) - 256;",
    // 7: idempotent creates: the request ids clients sent with creates, a
    // fingerprint of each request and the record it made (kept 7 days).
    "CREATE TABLE create_requests (
         request_id  TEXT PRIMARY KEY NOT NULL,
         fingerprint BLOB NOT NULL,
         record_id   TEXT NOT NULL,
         at          INTEGER NOT NULL
     ) STRICT;
     CREATE INDEX create_requests_at ON create_requests (at);",
    // 8: an index for every order the API lists in, so that each page of a
    // listing or a view starts where the previous one ended (keyset
    // pagination) by a seek instead of a sort of every match: the record
    // list (by last change: all, by type, by owner), the export (by
    // creation), and each view's rows (partial indexes, over the JSON
    // expressions the views sort by; `views::*` name them with INDEXED BY,
    // so a query that could not use its index fails instead of sorting; the
    // NAP tracker's rows are the members, its plans found by
    // `records_owner`). `records_type` (type, updated) is covered by
    // `records_type_updated`.
    "DROP INDEX records_type;
     CREATE INDEX records_updated ON records (updated, id);
     CREATE INDEX records_type_updated ON records (type, updated, id);
     CREATE INDEX records_owner_updated ON records (owner, updated, id);
     CREATE INDEX records_owner_created ON records (owner, created, id);
     CREATE INDEX records_directory ON records (
         owner,
         CASE json_extract(json, '$.designation') WHEN 'primary' THEN 0
             WHEN 'alternate' THEN 1 ELSE 2 END,
         coalesce(json_extract(json, '$.person_name'), ''),
         id) WHERE type = 'focal-point';
     CREATE INDEX records_practices ON records (owner, title, id) WHERE type = 'practice';
     CREATE INDEX records_funding ON records (
         coalesce(json_extract(json, '$.donor.code'), json_extract(json, '$.donor.name'), ''),
         coalesce(json_extract(json, '$.recipient.code'), json_extract(json, '$.recipient.name'),
                  ''),
         id) WHERE type = 'funding';
     CREATE INDEX records_decisions ON records (json_extract(json, '$.due'), id)
         WHERE type = 'decision';
     CREATE INDEX records_follow_ups ON records (json_extract(json, '$.decision'), owner)
         WHERE type = 'follow-up';
     CREATE INDEX records_registrations ON records (json_extract(json, '$.meeting'), owner, id)
         WHERE type = 'registration';
     CREATE INDEX records_statements ON records (
         json_extract(json, '$.meeting'), owner, created, id) WHERE type = 'statement';",
    // 9: proven forks (see `fork`): for each log, the first position where
    // its key signed two different entries, and both entries (the proof,
    // which travels to peers). The log stands up to the entry before it.
    "CREATE TABLE forks (
         origin    BLOB NOT NULL,
         audience  INTEGER NOT NULL,
         seq       INTEGER NOT NULL,
         first     BLOB NOT NULL,
         second    BLOB NOT NULL,
         peer      TEXT NOT NULL,
         proven_at TEXT NOT NULL,
         PRIMARY KEY (origin, audience)
     ) STRICT;
     -- Entries of a forked log of this member's own keys, beyond the fork,
     -- that this node never held in its log (the other branches, fetched
     -- from peers): what people typed there is written again under the
     -- member's new key (`focal-node recover-branch`).
     CREATE TABLE fork_entries (
         hash     BLOB PRIMARY KEY NOT NULL,
         origin   BLOB NOT NULL,
         audience INTEGER NOT NULL,
         seq      INTEGER NOT NULL,
         prev     BLOB NOT NULL,
         entry    BLOB NOT NULL,
         kept_at  TEXT NOT NULL
     ) STRICT;
     CREATE INDEX fork_entries_position ON fork_entries (origin, audience, seq);",
    // 10: view summaries (`views::practices`, `views::funding`,
    // `views::follow_up`): counts and sums of the practices and funding
    // views, and the follow-ups and practice themes read out of their JSON,
    // kept by triggers on `records` in the transaction that changes the
    // record, so that a view sums a few thousand summary rows instead of
    // reading every matching record's JSON. What a record adds is defined
    // once, by a view (`*_contributions`, `*_source`): the triggers add a record's contributions after
    // it is written and take them away before it is changed or removed, the
    // migration sums them over the records already stored, and `verify`
    // sums them again and compares. A row whose count falls to zero is
    // removed. Whatever a record holds (a peer's record is not validated
    // here), its contributions read without error: values of the wrong JSON
    // type count as absent.
    //
    // Practices: per theme filter (`among`: '' for none, else a theme the
    // practice has), member, visibility and theme ('' counts practices),
    // the number of practices.
    concat!(
        "CREATE TABLE practice_tally (
         among      TEXT NOT NULL,
         owner      TEXT NOT NULL,
         visibility TEXT NOT NULL,
         theme      TEXT NOT NULL,
         n          INTEGER NOT NULL,
         PRIMARY KEY (among, owner, visibility, theme)
     ) STRICT, WITHOUT ROWID;
     CREATE INDEX practice_tally_empty ON practice_tally (among) WHERE n = 0;
     -- A live record's themes: each distinct non-empty text of its
     -- `themes` list (a record's theme counts once, and only a list counts).
     CREATE VIEW record_themes (id, theme) AS
         SELECT r.id, t.value
           FROM records AS r, json_each(r.json, '$.themes') AS t
          WHERE r.deleted = 0 AND json_type(r.json, '$.themes') = 'array'
            AND t.type = 'text' AND t.value <> ''
            AND NOT EXISTS (SELECT 1 FROM json_each(r.json, '$.themes') AS p
                             WHERE p.key < t.key AND p.value = t.value);
     -- The same, and '' for the record itself (no theme filter; its count).
     CREATE VIEW record_theme_keys (id, theme) AS
         SELECT r.id, '' FROM records AS r WHERE r.deleted = 0
         UNION ALL
         SELECT id, theme FROM record_themes;
     CREATE VIEW practice_contributions (id, among, owner, visibility, theme) AS
         SELECT r.id, a.theme, r.owner, r.visibility, t.theme
           FROM records AS r
           JOIN record_theme_keys AS a ON a.id = r.id
           JOIN record_theme_keys AS t ON t.id = r.id
          WHERE r.type = 'practice' AND r.deleted = 0;

     -- Funding: per theme filter (`among`), dimension (`all`, `donor`,
     -- `recipient`, `country`, `theme`), its value, currency ('' for a
     -- commitment without an amount that counts), visibility and `owner`
     -- (for records not visible to the whole network; '' for those that
     -- are, so that they sum over every member), the number of commitments
     -- and the sum of their amounts in thousandths. An amount counts when
     -- it is a JSON number between -10^15 and 10^15 and its currency a
     -- non-empty text (`views::funding::countable`).
     CREATE TABLE funding_tally (
         among      TEXT NOT NULL,
         dim        TEXT NOT NULL,
         value      TEXT NOT NULL,
         currency   TEXT NOT NULL,
         visibility TEXT NOT NULL,
         owner      TEXT NOT NULL,
         n          INTEGER NOT NULL,
         milli      REAL NOT NULL,
         PRIMARY KEY (among, dim, value, currency, visibility, owner)
     ) STRICT, WITHOUT ROWID;
     CREATE INDEX funding_tally_empty ON funding_tally (among) WHERE n = 0;
     CREATE VIEW funding_facts (id, visibility, owner, currency, milli, json) AS
         SELECT id, visibility, owner,
                CASE WHEN countable THEN currency ELSE '' END,
                CASE WHEN countable THEN round(amount * 1000) ELSE 0.0 END,
                json
           FROM (SELECT r.id, r.visibility, r.json,
                        CASE r.visibility WHEN 'network' THEN '' ELSE r.owner END AS owner,
                        json_extract(r.json, '$.currency') AS currency,
                        json_extract(r.json, '$.amount') AS amount,
                        json_type(r.json, '$.amount') IN ('integer', 'real')
                        AND json_extract(r.json, '$.amount') BETWEEN -1e15 AND 1e15
                        AND json_type(r.json, '$.currency') = 'text'
                        AND json_extract(r.json, '$.currency') <> '' AS countable
                   FROM records AS r
                  WHERE r.type = 'funding' AND r.deleted = 0);
     CREATE VIEW funding_dims (id, dim, value) AS
         SELECT f.id, 'all', '' FROM funding_facts AS f
         UNION ALL
         SELECT f.id, 'donor', CASE WHEN json_type(f.json, '$.donor.code') = 'text'
                                    THEN json_extract(f.json, '$.donor.code')
                                    WHEN json_type(f.json, '$.donor.name') = 'text'
                                    THEN json_extract(f.json, '$.donor.name') ELSE '' END
           FROM funding_facts AS f
         UNION ALL
         SELECT f.id, 'recipient', CASE WHEN json_type(f.json, '$.recipient.code') = 'text'
                                        THEN json_extract(f.json, '$.recipient.code')
                                        WHEN json_type(f.json, '$.recipient.name') = 'text'
                                        THEN json_extract(f.json, '$.recipient.name') ELSE '' END
           FROM funding_facts AS f
         UNION ALL
         SELECT f.id, 'country', json_extract(f.json, '$.recipient.country')
           FROM funding_facts AS f
          WHERE json_type(f.json, '$.recipient.country') = 'text'
         UNION ALL
         SELECT DISTINCT f.id, 'theme', t.value
           FROM funding_facts AS f, json_each(f.json, '$.themes') AS t
          WHERE json_type(f.json, '$.themes') = 'array' AND t.type = 'text' AND t.value <> '';
     CREATE VIEW funding_contributions
         (id, among, dim, value, currency, visibility, owner, milli) AS
         SELECT f.id, a.theme, d.dim, d.value, f.currency, f.visibility, f.owner, f.milli
           FROM funding_facts AS f
           JOIN record_theme_keys AS a ON a.id = f.id
           JOIN funding_dims AS d ON d.id = f.id;

     -- The triggers of the summaries (`tally_triggers!`).
",
        tally_triggers!(
            "practice_tally",
            "practice",
            "json_extract(OLD.json, '$.themes') IS json_extract(NEW.json, '$.themes')",
            practice_tally_add
        ),
        tally_triggers!(
            "funding_tally",
            "funding",
            "json_extract(OLD.json, '$.donor', '$.recipient', '$.amount', '$.currency', '$.themes')
         IS json_extract(NEW.json, '$.donor', '$.recipient', '$.amount', '$.currency', '$.themes')",
            funding_tally_add
        ),
        "
     INSERT INTO practice_tally (among, owner, visibility, theme, n)
         SELECT among, owner, visibility, theme, count(*) FROM practice_contributions
          GROUP BY among, owner, visibility, theme;
     INSERT INTO funding_tally (among, dim, value, currency, visibility, owner, n, milli)
         SELECT among, dim, value, currency, visibility, owner, count(*), sum(milli)
           FROM funding_contributions
          GROUP BY among, dim, value, currency, visibility, owner;

     -- Follow-ups as the follow-up view reads them (`views::follow_up`),
     -- each read out of its JSON once, when it is written: per decision and
     -- member, the latest first. `latest` is the day that orders a member's
     -- updates (its date; a year-only update counts as the year's last
     -- day; else the day it was written); `text` is the original text
     -- (else the first language's). Values of the wrong JSON type count
     -- as absent; a follow-up that names no decision has no row.
     -- Stored in the order it is read (a decision's updates, by member,
     -- the latest first), so that a page's updates are read in a run.
     CREATE TABLE follow_up_facts (
         id         TEXT NOT NULL,
         decision   TEXT NOT NULL,
         owner      TEXT NOT NULL,
         visibility TEXT NOT NULL,
         latest     TEXT NOT NULL,
         updated    TEXT NOT NULL,
         status     TEXT,
         date       TEXT,
         year       INTEGER,
         text       TEXT,
         PRIMARY KEY (decision, owner, latest DESC, updated DESC, id DESC)
     ) STRICT, WITHOUT ROWID;
     CREATE UNIQUE INDEX follow_up_facts_id ON follow_up_facts (id);
     CREATE VIEW follow_up_source
         (id, decision, owner, visibility, latest, updated, status, date, year, text) AS
         SELECT r.id, json_extract(r.json, '$.decision'), r.owner, r.visibility,
                coalesce(CASE WHEN json_type(r.json, '$.date') = 'text'
                              THEN json_extract(r.json, '$.date') END,
                         CASE WHEN json_type(r.json, '$.year') = 'integer'
                              THEN json_extract(r.json, '$.year') || '-12-31' END,
                         substr(r.updated, 1, 10)),
                r.updated,
                CASE WHEN json_type(r.json, '$.status') = 'text'
                     THEN json_extract(r.json, '$.status') END,
                CASE WHEN json_type(r.json, '$.date') = 'text'
                     THEN json_extract(r.json, '$.date') END,
                CASE WHEN json_type(r.json, '$.year') = 'integer'
                     THEN json_extract(r.json, '$.year') END,
                coalesce(
                    (SELECT json_extract(e.value, '$.text') FROM json_each(r.json, '$.text') AS e
                      WHERE json_type(r.json, '$.text') = 'object'
                        AND json_type(e.value, '$.text') = 'text'
                        AND json_type(e.value, '$.original') = 'true'
                      ORDER BY e.key LIMIT 1),
                    (SELECT json_extract(e.value, '$.text') FROM json_each(r.json, '$.text') AS e
                      WHERE json_type(r.json, '$.text') = 'object'
                        AND json_type(e.value, '$.text') = 'text'
                      ORDER BY e.key LIMIT 1))
           FROM records AS r
          WHERE r.type = 'follow-up' AND r.deleted = 0
            AND json_type(r.json, '$.decision') = 'text';
     CREATE TRIGGER records_follow_up_insert AFTER INSERT ON records
     WHEN NEW.type = 'follow-up' BEGIN
         INSERT INTO follow_up_facts SELECT * FROM follow_up_source WHERE id = NEW.id;
     END;
     CREATE TRIGGER records_follow_up_update AFTER UPDATE ON records
     WHEN OLD.type = 'follow-up' OR NEW.type = 'follow-up' BEGIN
         DELETE FROM follow_up_facts WHERE id = OLD.id;
         INSERT INTO follow_up_facts SELECT * FROM follow_up_source WHERE id = NEW.id;
     END;
     CREATE TRIGGER records_follow_up_delete AFTER DELETE ON records
     WHEN OLD.type = 'follow-up' BEGIN
         DELETE FROM follow_up_facts WHERE id = OLD.id;
     END;
     INSERT INTO follow_up_facts SELECT * FROM follow_up_source;

     -- The practices view's rows with a theme filter, in its order (the
     -- member, the title, the id): one row per live practice and distinct
     -- theme it names (a non-empty text).
     CREATE TABLE practice_themes (
         theme      TEXT NOT NULL,
         by_owner   TEXT NOT NULL,
         by_title   TEXT NOT NULL,
         record_id  TEXT NOT NULL,
         PRIMARY KEY (theme, by_owner, by_title, record_id)
     ) STRICT, WITHOUT ROWID;
     CREATE INDEX practice_themes_record ON practice_themes (record_id);
     CREATE VIEW practice_theme_source (theme, by_owner, by_title, record_id) AS
         SELECT t.theme, r.owner, r.title, r.id
           FROM records AS r JOIN record_themes AS t ON t.id = r.id
          WHERE r.type = 'practice' AND r.deleted = 0;
     CREATE TRIGGER practice_themes_insert AFTER INSERT ON records
     WHEN NEW.type = 'practice' BEGIN
         INSERT INTO practice_themes SELECT * FROM practice_theme_source WHERE record_id = NEW.id;
     END;
     CREATE TRIGGER practice_themes_update AFTER UPDATE ON records
     WHEN (OLD.type = 'practice' OR NEW.type = 'practice')
      AND NOT (OLD.type IS NEW.type AND OLD.owner IS NEW.owner AND OLD.title IS NEW.title
               AND OLD.deleted IS NEW.deleted
               AND json_extract(OLD.json, '$.themes') IS json_extract(NEW.json, '$.themes'))
     BEGIN
         DELETE FROM practice_themes WHERE record_id = OLD.id;
         INSERT INTO practice_themes SELECT * FROM practice_theme_source WHERE record_id = NEW.id;
     END;
     CREATE TRIGGER practice_themes_delete AFTER DELETE ON records
     WHEN OLD.type = 'practice' BEGIN
         DELETE FROM practice_themes WHERE record_id = OLD.id;
     END;
     INSERT INTO practice_themes SELECT * FROM practice_theme_source;

     -- The funding view's member filters (a selected member gives,
     -- receives, or is the country of a civil-society recipient) read the
     -- matching commitments through these.
     CREATE INDEX records_funding_donor ON records (json_extract(json, '$.donor.code'))
         WHERE type = 'funding';
     CREATE INDEX records_funding_recipient ON records (json_extract(json, '$.recipient.code'))
         WHERE type = 'funding';
     CREATE INDEX records_funding_country ON records (json_extract(json, '$.recipient.country'))
         WHERE type = 'funding';"
    ),
    // 11: the web app's people and their sessions (`store/users.rs`).
    // Passwords as argon2id PHC strings; the one-time set-up secret and
    // each session's cookie secret as SHA-256 hashes, never in clear.
    // Times are Unix seconds.
    "CREATE TABLE users (
         id              INTEGER PRIMARY KEY,
         name            TEXT NOT NULL UNIQUE,
         role            TEXT NOT NULL CHECK (role IN ('reader', 'editor', 'admin')),
         password        TEXT,
         setup_hash      BLOB UNIQUE,
         setup_expires   INTEGER,
         created         INTEGER NOT NULL,
         disabled        INTEGER,
         password_set    INTEGER
     ) STRICT;
     CREATE TABLE web_sessions (
         hash       BLOB PRIMARY KEY,
         user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
         csrf       TEXT NOT NULL,
         created    INTEGER NOT NULL,
         last_seen  INTEGER NOT NULL,
         address    TEXT NOT NULL
     ) STRICT, WITHOUT ROWID;
     CREATE INDEX web_sessions_user ON web_sessions (user_id);",
    // 12: the record list's filters without reading every record
    // (`Reader::list`), kept by triggers on `records` like migration 10's
    // summaries (`ops::verify` checks them against the records):
    // - `record_counts`: the live records per type and member, for the
    //   total of a listing without a theme, status or search filter;
    // - `record_theme_rows`: each live record's distinct themes (as
    //   `record_themes` reads them, for every type), in the listing's order,
    //   for the theme filter;
    // - `record_text`: an FTS5 trigram index of each record's title and
    //   search text, for the search filter (a case-insensitive substring of
    //   three characters or more), each cut to its first 16,384 characters
    //   (`query::INDEXED_TEXT_CHARS`): indexing costs about 3 s a megabyte
    //   of varied text, on the writer, and a record may hold 4 MB. Its rowids are `record_keys.n`, an
    //   INTEGER PRIMARY KEY that `VACUUM INTO` (backups) keeps, unlike the
    //   rowids of `records`.
    "CREATE TABLE record_counts (
         type  TEXT NOT NULL,
         owner TEXT NOT NULL,
         n     INTEGER NOT NULL,
         PRIMARY KEY (type, owner)
     ) STRICT, WITHOUT ROWID;
     CREATE VIEW record_count_contributions (id, type, owner) AS
         SELECT id, type, owner FROM records WHERE deleted = 0;
     CREATE TRIGGER record_counts_insert AFTER INSERT ON records WHEN NEW.deleted = 0 BEGIN
         INSERT INTO record_counts (type, owner, n) VALUES (NEW.type, NEW.owner, 1)
             ON CONFLICT (type, owner) DO UPDATE SET n = n + 1;
     END;
     CREATE TRIGGER record_counts_update AFTER UPDATE ON records
     WHEN OLD.type IS NOT NEW.type OR OLD.owner IS NOT NEW.owner
       OR OLD.deleted IS NOT NEW.deleted BEGIN
         UPDATE record_counts SET n = n - 1
          WHERE OLD.deleted = 0 AND type = OLD.type AND owner = OLD.owner;
         DELETE FROM record_counts WHERE type = OLD.type AND owner = OLD.owner AND n = 0;
         INSERT INTO record_counts (type, owner, n)
             SELECT NEW.type, NEW.owner, 1 WHERE NEW.deleted = 0
             ON CONFLICT (type, owner) DO UPDATE SET n = n + 1;
     END;
     CREATE TRIGGER record_counts_delete AFTER DELETE ON records WHEN OLD.deleted = 0 BEGIN
         UPDATE record_counts SET n = n - 1 WHERE type = OLD.type AND owner = OLD.owner;
         DELETE FROM record_counts WHERE type = OLD.type AND owner = OLD.owner AND n = 0;
     END;
     INSERT INTO record_counts (type, owner, n)
         SELECT type, owner, count(*) FROM record_count_contributions GROUP BY type, owner;

     CREATE TABLE record_theme_rows (
         theme   TEXT NOT NULL,
         type    TEXT NOT NULL,
         updated TEXT NOT NULL,
         id      TEXT NOT NULL,
         owner   TEXT NOT NULL,
         PRIMARY KEY (theme, type, updated, id)
     ) STRICT, WITHOUT ROWID;
     CREATE INDEX record_theme_rows_any ON record_theme_rows (theme, updated, id);
     CREATE INDEX record_theme_rows_record ON record_theme_rows (id);
     CREATE VIEW record_theme_row_source (theme, type, updated, id, owner) AS
         SELECT t.theme, r.type, r.updated, r.id, r.owner
           FROM records AS r JOIN record_themes AS t ON t.id = r.id;
     CREATE TRIGGER record_theme_rows_insert AFTER INSERT ON records
     WHEN json_type(NEW.json, '$.themes') = 'array' BEGIN
         INSERT INTO record_theme_rows SELECT * FROM record_theme_row_source WHERE id = NEW.id;
     END;
     CREATE TRIGGER record_theme_rows_update AFTER UPDATE ON records
     WHEN NOT (OLD.type IS NEW.type AND OLD.owner IS NEW.owner AND OLD.updated IS NEW.updated
               AND OLD.deleted IS NEW.deleted
               AND json_extract(OLD.json, '$.themes') IS json_extract(NEW.json, '$.themes'))
     BEGIN
         DELETE FROM record_theme_rows WHERE id = OLD.id;
         INSERT INTO record_theme_rows SELECT * FROM record_theme_row_source WHERE id = NEW.id;
     END;
     CREATE TRIGGER record_theme_rows_delete AFTER DELETE ON records BEGIN
         DELETE FROM record_theme_rows WHERE id = OLD.id;
     END;
     INSERT INTO record_theme_rows SELECT * FROM record_theme_row_source;

     CREATE TABLE record_keys (
         n  INTEGER PRIMARY KEY,
         id TEXT NOT NULL UNIQUE
     ) STRICT;
     CREATE VIRTUAL TABLE record_text USING fts5 (
         title, search, content = '', contentless_delete = 1, tokenize = 'trigram');
     CREATE TRIGGER record_text_insert AFTER INSERT ON records BEGIN
         INSERT OR IGNORE INTO record_keys (id) VALUES (NEW.id);
         INSERT INTO record_text (rowid, title, search)
             VALUES ((SELECT n FROM record_keys WHERE id = NEW.id),
                     substr(NEW.title, 1, 16384), substr(NEW.search, 1, 16384));
     END;
     CREATE TRIGGER record_text_update AFTER UPDATE ON records
     WHEN OLD.title IS NOT NEW.title OR OLD.search IS NOT NEW.search BEGIN
         DELETE FROM record_text WHERE rowid = (SELECT n FROM record_keys WHERE id = OLD.id);
         INSERT INTO record_text (rowid, title, search)
             VALUES ((SELECT n FROM record_keys WHERE id = NEW.id),
                     substr(NEW.title, 1, 16384), substr(NEW.search, 1, 16384));
     END;
     CREATE TRIGGER record_text_delete AFTER DELETE ON records BEGIN
         DELETE FROM record_text WHERE rowid = (SELECT n FROM record_keys WHERE id = OLD.id);
         DELETE FROM record_keys WHERE id = OLD.id;
     END;
     INSERT INTO record_keys (id) SELECT id FROM records ORDER BY rowid;
     INSERT INTO record_text (rowid, title, search)
         SELECT k.n, substr(r.title, 1, 16384), substr(r.search, 1, 16384)
           FROM records AS r JOIN record_keys AS k ON k.id = r.id;",
];

/// The schema version this binary writes.
pub const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

/// Why the database could not be opened or used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database was written by a newer Focal.
    #[error(
        "database {path} has schema version {found}, but this focal-node ({version}) only knows \
         versions up to {known}: it was written by a newer version of Focal. Run that version \
         (or newer); the file has been left untouched"
    )]
    NewerSchema {
        /// The database file.
        path: PathBuf,
        /// Its schema version.
        found: u32,
        /// The newest this binary knows.
        known: u32,
        /// This binary's version.
        version: &'static str,
    },
    /// The file is a SQLite database, but not Focal's.
    #[error("{path} is not a Focal database (application_id {found:#x}); refusing to touch it")]
    Foreign {
        /// The database file.
        path: PathBuf,
        /// Its application id.
        found: i32,
    },
    /// A required metadata entry is missing.
    #[error("database {path} has no `{key}` entry; it was not made by `focal-node init`")]
    MissingMeta {
        /// The database file.
        path: PathBuf,
        /// The missing key.
        key: &'static str,
    },
    /// SQLite failed.
    #[error("database {path}: {source}")]
    Sqlite {
        /// The database file.
        path: PathBuf,
        /// The underlying error.
        source: rusqlite::Error,
    },
}

/// How to open the database.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// Milliseconds to wait for a lock held by another connection.
    pub busy_timeout_ms: u64,
    /// Create the file if it does not exist (only `init` does).
    pub create: bool,
}

/// An open Focal database.
#[derive(Debug)]
pub struct Store {
    conn: Connection,
    path: PathBuf,
    busy_timeout_ms: u64,
}

impl Store {
    /// Opens (and with `create`, creates) the database, then runs any pending
    /// migrations.
    pub fn open(path: &Path, options: &StoreOptions) -> Result<Self, StoreError> {
        let sqlite = |source| StoreError::Sqlite {
            path: path.to_owned(),
            source,
        };
        let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        if options.create {
            flags |= OpenFlags::SQLITE_OPEN_CREATE;
        }
        let conn = Connection::open_with_flags(path, flags).map_err(sqlite)?;
        conn.busy_timeout(std::time::Duration::from_millis(options.busy_timeout_ms))
            .map_err(sqlite)?;
        // Reading the header first makes a non-database file fail here, before
        // any pragma writes to it.
        let app_id: i32 = conn
            .query_row("PRAGMA application_id", [], |r| r.get(0))
            .map_err(sqlite)?;
        let found: u32 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(sqlite)?;
        let fresh = app_id == 0 && found == 0;
        if !fresh && app_id != APPLICATION_ID {
            return Err(StoreError::Foreign {
                path: path.to_owned(),
                found: app_id,
            });
        }
        check_not_newer(path, found)?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = FULL;
             PRAGMA foreign_keys = ON;
             PRAGMA journal_size_limit = 16777216;",
        )
        .map_err(sqlite)?;
        let mut store = Self {
            conn,
            path: path.to_owned(),
            busy_timeout_ms: options.busy_timeout_ms,
        };
        store.migrate(found)?;
        Ok(store)
    }

    fn migrate(&mut self, from: u32) -> Result<(), StoreError> {
        for (index, sql) in MIGRATIONS.iter().enumerate().skip(from as usize) {
            let version = index as u32 + 1;
            let tx = self
                .conn
                .transaction()
                .map_err(|source| StoreError::Sqlite {
                    path: self.path.clone(),
                    source,
                })?;
            tx.execute_batch(sql)
                .and_then(|()| {
                    tx.execute_batch(&format!(
                        "PRAGMA application_id = {APPLICATION_ID}; PRAGMA user_version = {version};"
                    ))
                })
                .and_then(|()| tx.commit())
                .map_err(|source| StoreError::Sqlite {
                    path: self.path.clone(),
                    source,
                })?;
            tracing::info!(version, "database migrated");
        }
        Ok(())
    }

    fn sqlite(&self) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
        |source| StoreError::Sqlite {
            path: self.path.clone(),
            source,
        }
    }

    /// The schema version of the open database.
    pub fn schema_version(&self) -> Result<u32, StoreError> {
        self.conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(self.sqlite())
    }

    /// Reads a metadata value.
    pub fn meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        self.conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()
            .map_err(self.sqlite())
    }

    /// Reads a metadata value that `init` always writes.
    pub fn required_meta(&self, key: &'static str) -> Result<String, StoreError> {
        self.meta(key)?.ok_or_else(|| StoreError::MissingMeta {
            path: self.path.clone(),
            key,
        })
    }

    /// Writes a metadata value (durably).
    pub fn set_meta(&self, key: &str, value: &str) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT INTO meta (key, value) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                params![key, value],
            )
            .map(drop)
            .map_err(self.sqlite())
    }

    /// Removes a metadata value (durably).
    pub fn delete_meta(&self, key: &str) -> Result<(), StoreError> {
        self.conn
            .execute("DELETE FROM meta WHERE key = ?1", [key])
            .map(drop)
            .map_err(self.sqlite())
    }

    /// The connection, for the modules that own tables (log, documents,
    /// projections, tokens).
    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    /// The connection, mutably (for transactions).
    pub fn conn_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }

    /// Opens another connection to an existing database for reading only.
    pub fn open_reader(path: &Path, busy_timeout_ms: u64) -> Result<Connection, StoreError> {
        let sqlite = |source| StoreError::Sqlite {
            path: path.to_owned(),
            source,
        };
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(sqlite)?;
        conn.busy_timeout(std::time::Duration::from_millis(busy_timeout_ms))
            .map_err(sqlite)?;
        conn.execute_batch("PRAGMA mmap_size = 268435456;")
            .map_err(sqlite)?;
        let found: u32 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(sqlite)?;
        check_not_newer(path, found)?;
        Ok(conn)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Milliseconds a statement waits for a lock held by another connection.
    pub fn busy_timeout_ms(&self) -> u64 {
        self.busy_timeout_ms
    }

    /// Checkpoints the write-ahead log into the main file and closes the
    /// database, so that a stopped node leaves one self-contained file.
    pub fn close(self) -> Result<(), StoreError> {
        let path = self.path.clone();
        self.conn
            .execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
            .map_err(self.sqlite())?;
        self.conn
            .close()
            .map_err(|(_, source)| StoreError::Sqlite { path, source })
    }
}

/// Refuses a database written by a newer Focal (more migrations than ours).
fn check_not_newer(path: &Path, found: u32) -> Result<(), StoreError> {
    if found > SCHEMA_VERSION {
        return Err(StoreError::NewerSchema {
            path: path.to_owned(),
            found,
            known: SCHEMA_VERSION,
            version: env!("CARGO_PKG_VERSION"),
        });
    }
    Ok(())
}

/// A new database in a temporary directory, for unit tests: the directory
/// (removed when dropped), the database's path, and the store.
#[cfg(test)]
pub(crate) fn temp_store() -> (tempfile::TempDir, PathBuf, Store) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("focal.db");
    let store = Store::open(
        &path,
        &StoreOptions {
            busy_timeout_ms: 1000,
            create: true,
        },
    )
    .expect("a new database");
    (dir, path, store)
}

#[cfg(test)]
mod tests {

    /// The triggers of migration 10 read one record's contributions on
    /// every write: by its id, never by a scan of the records.
    #[test]
    fn the_summaries_triggers_read_one_record_by_its_id() {
        let (_dir, _path, store) = temp_store();
        for query in [
            "SELECT * FROM practice_contributions WHERE id = ?1",
            "SELECT * FROM funding_contributions WHERE id = ?1",
            "SELECT * FROM follow_up_source WHERE id = ?1",
            "SELECT * FROM practice_theme_source WHERE record_id = ?1",
        ] {
            let plan: Vec<String> = store
                .conn()
                .prepare(&format!("EXPLAIN QUERY PLAN {query}"))
                .unwrap()
                .query_map(["ESP:practice:aaaaaaaaaaaa"], |r| r.get(3))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            let records: Vec<&String> = plan
                .iter()
                .filter(|step| step.contains(" r ") || step.ends_with(" r"))
                .collect();
            assert!(!records.is_empty(), "{query}: {plan:?}");
            assert!(
                records.iter().all(|step| step
                    .starts_with("SEARCH r USING INDEX sqlite_autoindex_records_1 (id=?)")),
                "{query} reads records otherwise than by id: {plan:?}"
            );
        }
    }

    use super::*;

    #[test]
    fn the_text_index_holds_the_first_indexed_text_chars_of_each_text() {
        let twelve = MIGRATIONS[11];
        assert!(twelve.contains("CREATE VIRTUAL TABLE record_text"));
        let cut = format!(", 1, {})", crate::store::query::INDEXED_TEXT_CHARS);
        // Both triggers' inserts and the migration's: title and search.
        assert_eq!(twelve.matches(&cut).count(), 6, "{twelve}");
    }

    fn options(create: bool) -> StoreOptions {
        StoreOptions {
            busy_timeout_ms: 1000,
            create,
        }
    }

    #[test]
    fn migrates_and_reopens() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(DATABASE_FILE);
        let store = Store::open(&path, &options(true)).unwrap();
        assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
        store.set_meta("member", "ESP").unwrap();
        store.close().unwrap();
        let store = Store::open(&path, &options(false)).unwrap();
        assert_eq!(store.meta("member").unwrap().as_deref(), Some("ESP"));
    }

    #[test]
    fn refuses_a_newer_schema_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(DATABASE_FILE);
        Store::open(&path, &options(true)).unwrap().close().unwrap();
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(&format!("PRAGMA user_version = {};", SCHEMA_VERSION + 7))
            .unwrap();
        drop(conn);
        let err = Store::open(&path, &options(false)).unwrap_err();
        assert!(matches!(err, StoreError::NewerSchema { .. }), "{err}");
        assert!(err.to_string().contains("newer version of Focal"));
    }

    #[test]
    fn refuses_foreign_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("other.db");
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch("PRAGMA application_id = 42; CREATE TABLE t (x);")
            .unwrap();
        drop(conn);
        let err = Store::open(&path, &options(false)).unwrap_err();
        assert!(matches!(err, StoreError::Foreign { .. }), "{err}");

        let text = dir.path().join("text.db");
        std::fs::write(&text, "this is not a database at all, just some text").unwrap();
        assert!(Store::open(&text, &options(false)).is_err());
    }
}
