//! Every record type through every flag of the real `focal` CLI against real
//! nodes (the field table of `focal_client::fields` against the node's
//! schema), and every kind of invalid input refused with the node's own
//! message, storing nothing.
//!
//! All people, organizations and documents here are invented.

/// The `focal` CLI's flag table, the binary's own module, checked here
/// against the node's schema.
#[allow(dead_code)]
#[path = "../../client/src/cli/fields.rs"]
mod fields;

use fields::{FieldKind, FieldSpec, RECORD_SPECS};
use focal_node::records::{RecordType, Theme};
use focal_tests::{
    SingleNode, assert_fails_with, entry_count, focal_at, focal_ok, json, single_node,
};
use serde_json::Value;

fn fixture(member: &str) -> SingleNode {
    single_node(member)
}

/// Valid values for `focal KIND add --FLAG …`: one value, or several for a
/// repeatable flag. Record ids only need the right form: the node does not
/// look referenced records up.
fn sample(kind: &str, flag: &str) -> Vec<&'static str> {
    let one = |value: &'static str| vec![value];
    match (kind, flag) {
        ("member", "name") => one("Kingdom of Example"),
        ("member", "kind") => one("state"),
        ("member", "region") => one("western-europe-others"),
        ("member", "joined") => one("2013-09-23"),
        ("member", "founding-member") => one("true"),
        ("member", "chair-year") => vec!["2016", "2024"],

        ("focal-point", "name") => one("Ana Ejemplo"),
        ("focal-point", "title") => one("Director for Multilateral Affairs"),
        ("focal-point", "institution") => one("Ministry of Foreign Affairs (example)"),
        ("focal-point", "role") => one("Coordinates the yearly NAP report."),
        ("focal-point", "posting") => one("capital"),
        ("focal-point", "designation") => one("primary"),
        ("focal-point", "language") => vec!["es", "en"],
        ("focal-point", "appointed") => one("2022-03-01"),
        ("focal-point", "ended") => one("2024-02-29"),
        ("focal-point", "email") => one("a.ejemplo@example.org"),
        ("focal-point", "phone") => one("+34 600 000 000"),

        ("nap", "kind") => one("nap"),
        ("nap", "title") => one("Third Example National Action Plan"),
        ("nap", "status") => one("in-force"),
        ("nap", "generation") => one("3"),
        ("nap", "adopted") => one("2023-03-08"),
        ("nap", "start") => one("2023-01-01"),
        ("nap", "end") => one("2027-12-31"),
        ("nap", "supersedes") => one("ESP:nap:aaaaaaaaaaa2"),
        ("nap", "lead-agency") => one("Ministry of Foreign Affairs (example)"),
        ("nap", "lead-agency-category") => one("foreign-affairs"),
        ("nap", "pillar") => vec!["participation", "protection"],
        ("nap", "dominant-pillar") => one("participation"),
        ("nap", "theme") => vec!["climate-change", "participation-peace-processes"],
        ("nap", "budget") => one(r#"{"status":"allocated","amount":2500000,"currency":"EUR"}"#),
        ("nap", "monitoring") => one(
            r#"{"described":true,"framework":"Annual report to parliament.","indicators":["Share of women among mediators"]}"#,
        ),
        ("nap", "civil-society") => {
            one(r#"{"drafting":true,"implementation":true,"monitoring":false}"#)
        }
        ("nap", "document") => vec![
            "https://example.org/nap3-es.pdf",
            "https://example.org/nap3-en.pdf",
        ],

        ("practice", "kind") => one("best-practice"),
        ("practice", "title") => one("Women mediators' roster"),
        ("practice", "summary") => one("A national roster of trained women mediators."),
        ("practice", "theme") => vec!["participation-peace-processes", "capacity-building"],
        ("practice", "pillar") => one("participation"),
        ("practice", "related-nap") => one("ESP:nap:abcdefghijk2"),
        ("practice", "presented-at") => one("SEC:meeting:abcdefghijk3"),
        ("practice", "contact") => one("ESP:focal-point:abcdefghijk4"),
        ("practice", "evidence-link") => one("https://example.org/roster-evaluation"),

        ("funding", "title") => one("Women mediators programme"),
        ("funding", "donor") => one(r#""ESP""#),
        ("funding", "recipient") => one(
            r#"{"kind":"civil-society","name":"Example Women's Peace Collective","country":"NAM"}"#,
        ),
        ("funding", "channel") => one("direct-to-civil-society"),
        ("funding", "kind") => one("financial"),
        ("funding", "amount") => one("250000.5"),
        ("funding", "currency") => one("EUR"),
        ("funding", "start") => one("2023-01-01"),
        ("funding", "end") => one("2025-12-31"),
        ("funding", "theme") => one("participation-peace-processes"),
        ("funding", "local-share") => one("40"),
        ("funding", "linked-nap") => one("NAM:nap:abcdefghijk2"),
        ("funding", "progress") => one(r#"[{"year":2024,"progress":"met"}]"#),
        ("funding", "notes") => one("Renewable once."),

        ("partnership", "organization") => one("Example Women's Network"),
        ("partnership", "organization-type") => one("womens-organization"),
        ("partnership", "scope") => one("national"),
        ("partnership", "role") => vec!["drafting", "shadow-reporting"],
        ("partnership", "notes") => one("Partner since 2017."),

        ("meeting", "kind") => one("capital-annual"),
        ("meeting", "title") => one("Annual meeting of the network (example)"),
        ("meeting", "theme") => one("Women in peace processes"),
        ("meeting", "host") => one("NAM"),
        ("meeting", "chair") => one("NAM"),
        ("meeting", "co-chair") => vec!["ESP", "AU"],
        ("meeting", "start") => one("2024-04-16"),
        ("meeting", "end") => one("2024-04-17"),
        ("meeting", "city") => one("Example City"),
        ("meeting", "agenda") => one(r#"["Opening",{"title":"Round table"}]"#),
        ("meeting", "working-groups") => one(r#"[{"name":"Financing","lead":"ESP"}]"#),
        ("meeting", "outcomes") => one(
            r#"[{"kind":"joint-communique","un_symbol":"S/2024/123","links":{"en":"https://example.org/communique-en.pdf"}}]"#,
        ),

        ("registration", "meeting") => one("SEC:meeting:abcdefghijk2"),
        ("registration", "delegate") => vec!["Ana Ejemplo", "Luis Ejemplo"],
        ("registration", "minister-speaking") => one("yes"),

        ("statement", "meeting") => one("SEC:meeting:abcdefghijk2"),
        ("statement", "speaker") => one("Minister of Foreign Affairs (example)"),
        ("statement", "language") => one("es"),
        ("statement", "text") => one("Thank you, Chair."),
        ("statement", "link") => one("https://example.org/statement"),

        ("decision", "meeting") => one("SEC:meeting:abcdefghijk2"),
        ("decision", "text") => one("Members will report on NAP financing."),
        ("decision", "kind") => one("commitment"),
        ("decision", "responsible") => one("all-members"),
        ("decision", "due") => one("2025-04-30"),
        ("decision", "status") => one("in-progress"),

        ("follow-up", "decision") => one("SEC:decision:abcdefghijk3"),
        ("follow-up", "year") => one("2024"),
        ("follow-up", "date") => one("2025-01-15"),
        ("follow-up", "status") => one("met"),
        ("follow-up", "text") => one("Financing chapter added to the annual report."),
        ("follow-up", "link") => one("https://example.org/report-2024"),

        _ => panic!(
            "no sample value for `focal {kind} add --{flag}`: add a valid one to sample() in \
             tests/tests/record_types.rs"
        ),
    }
}

/// The field `focal edit ID --FLAG VALUE` changes, per record type.
fn edit_sample(kind: &str) -> (&'static str, &'static str) {
    match kind {
        "member" => ("joined", "2014-05-01"),
        "focal-point" => ("title", "Deputy Director for Multilateral Affairs"),
        "nap" => ("status", "under-review"),
        "practice" => ("summary", "A roster of 120 trained women mediators."),
        "funding" => ("amount", "300000"),
        "partnership" => ("scope", "regional"),
        "meeting" => ("city", "Another Example City"),
        "registration" => ("minister-speaking", "false"),
        "statement" => ("speaker", "Deputy Minister of Foreign Affairs (example)"),
        "decision" => ("status", "done"),
        "follow-up" => ("status", "exceeded"),
        _ => panic!(
            "no edit sample for record type `{kind}`: add one to edit_sample() in \
             tests/tests/record_types.rs"
        ),
    }
}

/// The value at a dotted path (`period.start`).
fn at_path<'a>(value: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(value, |value, key| value.get(key))
}

/// Every scalar of a JSON value, as text.
fn leaves(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Null => {}
        Value::String(text) => out.push(text.clone()),
        Value::Bool(_) | Value::Number(_) => out.push(value.to_string()),
        Value::Array(items) => items.iter().for_each(|item| leaves(item, out)),
        Value::Object(map) => map.values().for_each(|item| leaves(item, out)),
    }
}

/// Asserts that `focal KIND … --FLAG VALUES…` arrived in `record` at the
/// field's path, in the form the flag's kind implies.
#[track_caller]
fn assert_arrived(kind: &str, field: &FieldSpec, values: &[&str], record: &Value) {
    let flag = field.flag;
    let path = field.path;
    let stored = at_path(record, path)
        .filter(|value| !value.is_null())
        .unwrap_or_else(|| {
            panic!("`focal {kind} … --{flag}` stored nothing at `{path}`; the record:\n{record:#}")
        });
    let what = format!("`focal {kind} … --{flag} {values:?}` stored {stored} at `{path}`");
    let last = *values.last().unwrap();
    let text = stored.to_string();
    match field.kind {
        FieldKind::Text => assert!(text.contains(last), "{what}"),
        FieldKind::Date => assert_eq!(stored.as_str(), Some(last), "{what}"),
        FieldKind::LText => {
            assert_eq!(stored["en"]["text"].as_str(), Some(last), "{what}");
            assert_eq!(stored["en"]["original"], true, "{what}");
        }
        FieldKind::Int => assert_eq!(stored.as_i64(), Some(last.parse().unwrap()), "{what}"),
        FieldKind::Number => {
            assert_eq!(
                stored.as_f64(),
                Some(last.parse::<f64>().unwrap()),
                "{what}"
            );
        }
        FieldKind::Bool => {
            let expected = matches!(last, "true" | "yes");
            assert_eq!(stored.as_bool(), Some(expected), "{what}");
        }
        FieldKind::List => {
            let items = stored
                .as_array()
                .unwrap_or_else(|| panic!("{what}: not a list"));
            assert_eq!(items.len(), values.len(), "{what}");
            for (item, value) in items.iter().zip(values) {
                assert!(item.to_string().contains(value), "{what}");
            }
        }
        FieldKind::Json => {
            let mut given = Vec::new();
            leaves(&json(last), &mut given);
            let mut kept = Vec::new();
            leaves(stored, &mut kept);
            for leaf in given {
                assert!(kept.contains(&leaf), "{what}: {leaf:?} is missing");
            }
        }
    }
}

/// `focal --json <type> list [--include-deleted]`, as an array.
fn list_type(conn: &str, kind: &str, include_deleted: bool) -> Vec<Value> {
    let mut args = vec!["--json", kind, "list"];
    if include_deleted {
        args.push("--include-deleted");
    }
    match json(&focal_ok(conn, &args)) {
        Value::Array(items) => items,
        other => panic!("`focal {args:?}` printed {other}, not a list"),
    }
}

/// The record without `key` and without `updated`.
fn without(record: &Value, key: &str) -> Value {
    let mut record = record.clone();
    let map = record.as_object_mut().unwrap();
    map.remove(key);
    map.remove("updated");
    record
}

#[test]
fn every_record_type_through_every_flag() {
    // The CLI offers every record type the node knows, and no other.
    for kind in RecordType::ALL {
        assert!(
            RECORD_SPECS.iter().any(|spec| spec.name == kind.as_str()),
            "the node knows record type `{kind}`, but RECORD_SPECS does not offer it"
        );
    }
    let sec = fixture("SEC");
    let esp = fixture("ESP");

    for spec in RECORD_SPECS {
        let name = spec.name;
        let kind = RecordType::parse(name).unwrap_or_else(|| {
            panic!("RECORD_SPECS offers `{name}`, a type the node does not know")
        });
        let f = if kind.secretariat_only() { &sec } else { &esp };
        let conn = f.conn.as_str();

        // Create, passing every flag.
        let flags: Vec<String> = spec
            .fields
            .iter()
            .map(|field| format!("--{}", field.flag))
            .collect();
        let samples: Vec<Vec<&str>> = spec
            .fields
            .iter()
            .map(|field| sample(name, field.flag))
            .collect();
        let mut args = vec!["--json", name, "add"];
        for (flag, values) in flags.iter().zip(&samples) {
            for value in values {
                args.extend([flag.as_str(), value]);
            }
        }
        let out = focal_at(conn, &args);
        assert!(
            out.status.success(),
            "`focal {}` failed:\n{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
        let created = json(&String::from_utf8_lossy(&out.stdout));
        let id = created["id"].as_str().unwrap().to_owned();
        assert!(id.starts_with(&format!("{}:{name}:", f.dir.member)), "{id}");

        // Every flag's value is in the stored record, at its path.
        let shown = json(&focal_ok(conn, &["--json", "show", &id]));
        assert_eq!(shown, created, "show differs from what create answered");
        assert_eq!(shown["type"], name);
        assert_eq!(shown["owner"], f.dir.member.as_str());
        assert_eq!(shown["deleted"], false);
        assert_eq!(
            shown["schema"], 1,
            "a created record carries its shape's version"
        );
        for (field, values) in spec.fields.iter().zip(&samples) {
            assert_arrived(name, field, values, &shown);
        }

        // Listed, as JSON and as a table.
        let listed = list_type(conn, name, false);
        assert_eq!(listed, vec![shown.clone()], "`focal --json {name} list`");
        let table = focal_ok(conn, &[name, "list"]);
        assert!(table.starts_with("ID") && table.contains(&id), "{table}");

        // One field changed by `focal edit`, the others as they were.
        let (flag, value) = edit_sample(name);
        let field = spec
            .fields
            .iter()
            .find(|field| field.flag == flag)
            .unwrap_or_else(|| panic!("edit_sample() names --{flag}, which {name} does not have"));
        let flag = format!("--{flag}");
        let out = focal_ok(conn, &["edit", &id, &flag, value]);
        assert!(out.starts_with(&format!("Updated {id} ({name})")), "{out}");
        let edited = json(&focal_ok(conn, &["--json", "show", &id]));
        assert_arrived(name, field, &[value], &edited);
        assert_ne!(
            at_path(&edited, field.path),
            at_path(&shown, field.path),
            "`focal edit {id} {flag} {value}` changed nothing"
        );
        let top = field.path.split('.').next().unwrap();
        assert_eq!(
            without(&edited, top),
            without(&shown, top),
            "`focal edit {id} {flag} {value}` changed other fields"
        );
        assert_ne!(edited["updated"], shown["updated"]);
        // The envelope, the shape's version included, is the node's.
        let out = focal_at(conn, &["edit", &id, "--patch", r#"{"schema":9}"#]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && stderr.contains("`schema` is set by the node"),
            "an edit of {name}'s `schema` should be refused: {stderr}"
        );
        assert_eq!(json(&focal_ok(conn, &["--json", "show", &id]))["schema"], 1);
        let history = json(&focal_ok(conn, &["--json", "history", &id]));
        let history = history.as_array().unwrap();
        // A focal point's also lists the creation of its contact details
        // (their own entry, in the secretariat log: contact_details.rs).
        let created = if name == "focal-point" { 2 } else { 1 };
        assert_eq!(history.len(), created + 1, "{history:?}");
        assert_eq!(history[created]["action"], "update");
        for changed in history[created]["fields"].as_array().unwrap() {
            assert!(
                changed.as_str().unwrap().starts_with(top),
                "the edit of {top} also changed {changed}"
            );
        }

        // Deleted: gone from `list`, there with --include-deleted.
        let out = focal_ok(conn, &["delete", &id]);
        assert!(out.starts_with(&format!("Deleted {id}")), "{out}");
        assert_eq!(list_type(conn, name, false), Vec::<Value>::new());
        let table = focal_ok(conn, &[name, "list"]);
        assert!(!table.contains(&id), "{table}");
        let all = list_type(conn, name, true);
        assert_eq!(all.len(), 1, "{all:?}");
        assert_eq!(all[0]["id"], id.as_str());
        assert_eq!(all[0]["deleted"], true);
        let table = focal_ok(conn, &[name, "list", "--include-deleted"]);
        assert!(
            table.contains(&id) && table.contains("(deleted)"),
            "{table}"
        );
    }

    // Each record: a create, an update and a tombstone, all verifying.
    for (f, secretariat) in [(&sec, true), (&esp, false)] {
        let records = RECORD_SPECS
            .iter()
            .filter(|spec| {
                RecordType::parse(spec.name).is_some_and(|k| k.secretariat_only() == secretariat)
            })
            .count();
        // The focal point's contact details are a companion record in the
        // secretariat log (see contact_details.rs): created and tombstoned
        // with it.
        let companions = usize::from(!secretariat);
        let entries = 3 * records + 2 * companions;
        assert_eq!(entry_count(&f.dir), entries as i64);
        let out = f.dir.verify();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "verify of {} failed:\n{stdout}{}",
            f.dir.member,
            String::from_utf8_lossy(&out.stderr)
        );
        let expected = format!(
            "OK: {entries} entries in {} logs verified, {} records rebuilt",
            1 + companions,
            records + companions
        );
        assert!(stdout.contains(&expected), "{stdout}");
    }
}

#[test]
fn invalid_input_of_each_kind_is_refused_with_its_message() {
    let f = fixture("ESP");
    // Something stored already, so "unchanged" is not "empty".
    focal_ok(
        &f.conn,
        &[
            "practice",
            "add",
            "--kind",
            "best-practice",
            "--title",
            "Baseline practice",
            "--theme",
            "peacekeeping",
        ],
    );
    let themes: Vec<&str> = Theme::ALL.iter().map(|theme| theme.as_str()).collect();
    let unknown_theme = format!(
        "invalid practice: themes[0]: \"climate\" is not a theme; use one of: {}",
        themes.join(", ")
    );
    let practice = [
        "practice",
        "add",
        "--title",
        "Invented practice",
        "--theme",
        "peacekeeping",
    ];
    let with_practice = |more: &[&'static str]| -> Vec<&'static str> {
        practice
            .iter()
            .copied()
            .chain(more.iter().copied())
            .collect()
    };
    let funding = [
        "funding",
        "add",
        "--recipient",
        r#""NAM""#,
        "--channel",
        "bilateral",
        "--kind",
        "financial",
    ];
    let with_funding = |more: &[&'static str]| -> Vec<&'static str> {
        funding
            .iter()
            .copied()
            .chain(more.iter().copied())
            .collect()
    };
    let cases: Vec<(&str, Vec<&str>, &str)> = vec![
        (
            "missing required field",
            vec!["focal-point", "add", "--name", "Ana Ejemplo"],
            "invalid focal-point: posting: is required",
        ),
        (
            "bad member code",
            with_funding(&["--donor", r#""SPAIN""#]),
            "invalid funding: donor.code: `SPAIN` is not a member code: use an ISO 3166-1 alpha-3 \
             country code (ESP, NAM, JPN)",
        ),
        (
            "bad date",
            vec![
                "member",
                "add",
                "--name",
                "Kingdom of Example",
                "--joined",
                "2023-02-30",
            ],
            "invalid member: joined: \"2023-02-30\" is not a date: February 2023 has 28 days",
        ),
        (
            "end before start",
            vec![
                "nap",
                "add",
                "--kind",
                "nap",
                "--title",
                "Invented plan",
                "--status",
                "draft",
                "--start",
                "2024-01-01",
                "--end",
                "2020-01-01",
            ],
            "invalid nap: period.end: period.end 2020-01-01 is before period.start 2024-01-01",
        ),
        (
            "unknown enumeration value",
            vec![
                "practice",
                "add",
                "--title",
                "Invented practice",
                "--theme",
                "climate",
            ],
            &unknown_theme,
        ),
        (
            "bad language tag",
            with_practice(&["--lang", "english"]),
            "invalid practice: title: plain text needs the node's default language, but \
             \"english\" is not a language tag; give the text as {\"en\": \"…\"}",
        ),
        (
            "two originals",
            vec![
                "practice",
                "add",
                "--from-json",
                r#"{"title":{"en":{"text":"Roster","original":true},"fr":{"text":"Liste","original":true}},"themes":["peacekeeping"]}"#,
            ],
            "invalid practice: title: en, fr are all marked as the original; exactly one language \
             is the original",
        ),
        (
            "bad currency",
            with_funding(&[
                "--donor",
                r#""ESP""#,
                "--amount",
                "100",
                "--currency",
                "EURO",
            ]),
            "invalid funding: currency: \"EURO\" is not an ISO 4217 currency code (e.g. EUR, USD, NAD)",
        ),
        (
            "negative amount",
            // `--amount -100` is refused by the argument parser before the
            // node sees it; `=` passes the value through.
            with_funding(&["--donor", r#""ESP""#, "--amount=-100", "--currency", "EUR"]),
            "invalid funding: amount: -100 is negative; an amount is zero or more",
        ),
        (
            "unknown field",
            with_practice(&["--from-json", r#"{"colour":"red"}"#]),
            "invalid practice: colour: unknown field; the fields here are: member, kind, title",
        ),
        (
            "envelope key",
            with_practice(&["--from-json", r#"{"owner":"FRA"}"#]),
            "invalid practice: owner: `owner` is set by the node; leave it out of the fields",
        ),
        (
            "the shape's version",
            with_practice(&["--from-json", r#"{"schema":9}"#]),
            "invalid practice: schema: `schema` is set by the node; leave it out of the fields",
        ),
        (
            "malformed record reference",
            vec!["registration", "add", "--meeting", "SEC:meeting:ABC"],
            "invalid registration: meeting: \"SEC:meeting:ABC\" is not a record id; ids look like \
             SEC:meeting:3kq7x2m7w4ab",
        ),
        (
            "reference to a record of another type",
            with_practice(&["--related-nap", "ESP:practice:abcdefghijk2"]),
            "invalid practice: related_nap: \"ESP:practice:abcdefghijk2\" is the id of a practice; \
             a nap id is needed here",
        ),
        (
            "meeting on a member node",
            vec![
                "meeting",
                "add",
                "--kind",
                "virtual",
                "--title",
                "Invented meeting",
                "--start",
                "2024-01-01",
            ],
            "only the secretariat's node may create meeting records",
        ),
        (
            "decision on a member node",
            vec![
                "decision",
                "add",
                "--meeting",
                "SEC:meeting:abcdefghijk2",
                "--text",
                "x",
                "--kind",
                "commitment",
                "--responsible",
                "all-members",
            ],
            "only the secretariat's node may create decision records",
        ),
    ];

    let all = ["--json", "list", "--include-deleted"];
    for (what, args, needle) in &cases {
        let entries = entry_count(&f.dir);
        let listed = focal_ok(&f.conn, &all);
        let out = focal_at(&f.conn, args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && stderr.contains(needle),
            "{what}: `focal {}` should fail mentioning\n  {needle}\nit exited with {} and said:\n{stderr}",
            args.join(" "),
            out.status
        );
        assert_fails_with(&out, needle);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{what}: `focal {}` should fail as refused by the node",
            args.join(" ")
        );
        assert_eq!(entry_count(&f.dir), entries, "{what}: an entry was stored");
        assert_eq!(focal_ok(&f.conn, &all), listed, "{what}: the list changed");
    }
    assert_eq!(entry_count(&f.dir), 1);
    let out = f.dir.verify();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
