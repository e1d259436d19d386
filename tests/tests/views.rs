//! The network-wide views on a real network (a secretariat and three
//! members: ESP, NAM and the regional organization AU), seeded with invented
//! data through the real `focal` CLI: each view's content exactly, filters,
//! CSV headers, visibility, freshness, and a member's update reaching the
//! secretariat's views after sync.

use focal_tests::{
    TestNetwork, assert_fails_with, focal_at, focal_ok, json, records_on, single_node, wait_until,
};
use serde_json::{Value, json};

/// The day the views are judged on, so that the test does not depend on
/// the clock.
const AS_OF: &str = "2026-06-30";

/// `focal --json TYPE add ARGS…`; returns the new record's id.
fn add(conn: &str, kind: &str, args: &[&str]) -> String {
    let mut all = vec!["--json", kind, "add"];
    all.extend_from_slice(args);
    json(&focal_ok(conn, &all))["id"]
        .as_str()
        .expect("an id")
        .to_owned()
}

/// `focal --json view ARGS…`, judged on `AS_OF` unless ARGS say.
fn view(conn: &str, args: &[&str]) -> Value {
    let mut all = vec!["--json", "view"];
    all.extend_from_slice(args);
    if !args.contains(&"--as-of") {
        all.extend_from_slice(&["--as-of", AS_OF]);
    }
    json(&focal_ok(conn, &all))
}

/// The first line of `focal view ARGS… --csv`.
fn csv_header(conn: &str, args: &[&str]) -> String {
    let mut all = vec!["view"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--csv", "--as-of", AS_OF]);
    let output = focal_at(conn, &all);
    assert!(output.status.success(), "{output:?}");
    let out = String::from_utf8_lossy(&output.stdout);
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(out.contains("\r\n"), "CSV lines end with CRLF: {out:?}");
    // Standard output is the CSV alone; the freshness goes to stderr.
    assert!(!out.contains("As of"), "{out:?}");
    assert!(
        err.contains(&format!("As of {AS_OF}. Last entry seen from each member:")),
        "{err:?}"
    );
    out.split("\r\n").next().unwrap().to_owned()
}

fn strings(value: &Value, key: &str) -> Vec<String> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {value}"))
        .iter()
        .map(|v| v[key].as_str().unwrap().to_owned())
        .collect()
}

/// The ids of the meeting and decisions the secretariat seeds.
struct Seeded {
    meeting: String,
    /// D1 all members (overdue), D2 ESP, D3 secretariat (done), D4 NAM
    /// (overdue).
    decisions: [String; 4],
    nam_draft: String,
}

fn seed(net: &TestNetwork) -> Seeded {
    let sec = net.secretariat.conn();
    let esp = net.members[0].conn();
    let nam = net.members[1].conn();
    let au = net.members[2].conn();

    let meeting = add(
        &sec,
        "meeting",
        &[
            "--kind",
            "capital-annual",
            "--title",
            "Annual meeting 2026",
            "--start",
            "2026-04-20",
            "--end",
            "2026-04-21",
            "--city",
            "Windhoek",
        ],
    );
    let decision = |text: &str, responsible: &str, due: &str, status: &str| {
        add(
            &sec,
            "decision",
            &[
                "--meeting",
                &meeting,
                "--text",
                text,
                "--kind",
                "commitment",
                "--responsible",
                responsible,
                "--due",
                due,
                "--status",
                status,
            ],
        )
    };
    let decisions = [
        decision(
            "Members report on the financing of their NAPs.",
            "all-members",
            "2026-04-01",
            "open",
        ),
        decision(
            "ESP hosts a workshop on gender budgeting.",
            "ESP",
            "2026-12-31",
            "in-progress",
        ),
        decision(
            "The secretariat publishes the directory.",
            "secretariat",
            "2026-01-15",
            "done",
        ),
        decision(
            "NAM shares its early-warning guide.",
            "NAM",
            "2025-12-31",
            "open",
        ),
    ];

    // Profiles: region and kind come from them.
    add(
        &esp,
        "member",
        &["--name", "Spain", "--region", "western-europe-others"],
    );
    add(&nam, "member", &["--name", "Namibia", "--region", "africa"]);
    add(
        &au,
        "member",
        &["--name", "African Union", "--region", "africa"],
    );

    // Focal points (invented people).
    add(
        &esp,
        "focal-point",
        &[
            "--name",
            "Lucía Ejemplo",
            "--posting",
            "capital",
            "--designation",
            "primary",
            "--language",
            "es",
            "--language",
            "en",
            "--email",
            "lucia@example.org",
        ],
    );
    add(
        &esp,
        "focal-point",
        &[
            "--name",
            "Marta Prueba",
            "--posting",
            "new-york-mission",
            "--designation",
            "alternate",
            "--appointed",
            "2024-01-01",
        ],
    );
    add(
        &esp,
        "focal-point",
        &[
            "--name",
            "Old Person",
            "--posting",
            "capital",
            "--designation",
            "primary",
            "--appointed",
            "2019-01-01",
            "--ended",
            "2023-12-31",
        ],
    );
    add(
        &esp,
        "focal-point",
        &[
            "--name",
            "Carmen Reservada",
            "--posting",
            "capital",
            "--designation",
            "alternate",
            "--phone",
            "+34 600 000 000",
            "--visibility",
            "secretariat",
        ],
    );
    add(
        &nam,
        "focal-point",
        &[
            "--name",
            "Ndapewa Example",
            "--posting",
            "capital",
            "--designation",
            "primary",
            "--language",
            "en",
            "--language",
            "af",
        ],
    );
    add(
        &au,
        "focal-point",
        &[
            "--name",
            "Amina Example",
            "--posting",
            "regional-hq",
            "--designation",
            "primary",
        ],
    );

    // Plans.
    add(
        &esp,
        "nap",
        &[
            "--kind",
            "nap",
            "--title",
            "Third NAP of ESP",
            "--status",
            "in-force",
            "--generation",
            "3",
            "--start",
            "2023-01-01",
            "--end",
            "2027-12-31",
            "--lead-agency",
            "Ministry of Foreign Affairs (invented)",
            "--theme",
            "climate-change",
            "--theme",
            "participation-peace-processes",
            "--budget",
            r#"{"status":"allocated","amount":1500000,"currency":"EUR"}"#,
            "--monitoring",
            r#"{"described":true}"#,
            "--civil-society",
            r#"{"drafting":true}"#,
        ],
    );
    add(
        &esp,
        "nap",
        &[
            "--kind",
            "nap",
            "--title",
            "Second NAP of ESP",
            "--status",
            "expired",
            "--generation",
            "2",
            "--start",
            "2017-01-01",
            "--end",
            "2022-12-31",
        ],
    );
    add(
        &nam,
        "nap",
        &[
            "--kind",
            "nap",
            "--title",
            "First NAP of NAM",
            "--status",
            "in-force",
            "--generation",
            "1",
            "--start",
            "2019-01-01",
            "--end",
            "2024-12-31",
            "--budget",
            "unspecified",
        ],
    );
    let nam_draft = add(
        &nam,
        "nap",
        &[
            "--kind",
            "nap",
            "--title",
            "Second NAP of NAM",
            "--status",
            "draft",
            "--generation",
            "2",
            "--lead-agency",
            "Ministry of Gender Equality (invented)",
        ],
    );

    // Practices.
    add(
        &esp,
        "practice",
        &[
            "--kind",
            "best-practice",
            "--title",
            "Women mediators roster",
            "--theme",
            "participation-peace-processes",
            "--theme",
            "capacity-building",
        ],
    );
    add(
        &esp,
        "practice",
        &[
            "--kind",
            "lesson-learned",
            "--title",
            "Gender budgeting in the NAP",
            "--theme",
            "nap-design-monitoring-financing",
        ],
    );
    add(
        &nam,
        "practice",
        &[
            "--kind",
            "best-practice",
            "--title",
            "Community early warning",
            "--theme",
            "early-warning-preventive-diplomacy",
            "--theme",
            "participation-peace-processes",
        ],
    );
    add(
        &au,
        "practice",
        &[
            "--kind",
            "best-practice",
            "--title",
            "Continental results framework",
            "--theme",
            "nap-design-monitoring-financing",
        ],
    );

    // Funding.
    add(
        &esp,
        "funding",
        &[
            "--donor",
            "ESP",
            "--recipient",
            "NAM",
            "--channel",
            "bilateral",
            "--kind",
            "technical",
            "--amount",
            "250000",
            "--currency",
            "EUR",
            "--start",
            "2025-01-01",
            "--end",
            "2026-12-31",
            "--theme",
            "nap-design-monitoring-financing",
        ],
    );
    add(
        &esp,
        "funding",
        &[
            "--donor",
            "ESP",
            "--recipient",
            r#"{"kind":"civil-society","name":"Invented Women's Network","country":"NAM"}"#,
            "--channel",
            "direct-to-civil-society",
            "--kind",
            "financial",
            "--amount",
            "100000",
            "--currency",
            "EUR",
            "--theme",
            "civil-society-partnerships",
        ],
    );
    add(
        &nam,
        "funding",
        &[
            "--donor",
            r#"{"kind":"pooled-fund","name":"Invented Peace Fund"}"#,
            "--recipient",
            "NAM",
            "--channel",
            "pooled-fund",
            "--kind",
            "financial",
            "--amount",
            "50000",
            "--currency",
            "USD",
            "--start",
            "2024-01-01",
            "--end",
            "2025-12-31",
            "--theme",
            "crsv-justice",
        ],
    );

    // Follow-up: ESP reports twice on D1 (the dated report is the latest).
    add(
        &esp,
        "follow-up",
        &[
            "--decision",
            &decisions[0],
            "--year",
            "2025",
            "--status",
            "limited",
            "--text",
            "A first report is drafted.",
        ],
    );
    add(
        &esp,
        "follow-up",
        &[
            "--decision",
            &decisions[0],
            "--date",
            "2026-03-01",
            "--status",
            "met",
            "--text",
            "The report went to parliament.",
        ],
    );
    add(
        &esp,
        "follow-up",
        &[
            "--decision",
            &decisions[1],
            "--date",
            "2026-05-05",
            "--status",
            "limited",
            "--text",
            "Venue booked.",
        ],
    );
    add(
        &nam,
        "follow-up",
        &[
            "--decision",
            &decisions[0],
            "--year",
            "2026",
            "--status",
            "met",
            "--text",
            "Financing reported in the annual review.",
        ],
    );

    // The meeting.
    add(
        &esp,
        "registration",
        &[
            "--meeting",
            &meeting,
            "--delegate",
            "Lucía Ejemplo",
            "--delegate",
            "Pedro Ejemplo",
            "--minister-speaking",
            "true",
        ],
    );
    add(
        &nam,
        "registration",
        &["--meeting", &meeting, "--delegate", "Ndapewa Example"],
    );
    add(
        &esp,
        "statement",
        &[
            "--meeting",
            &meeting,
            "--speaker",
            "Minister Ejemplo",
            "--text",
            "Spain renews its commitment, with a budget.",
        ],
    );
    Seeded {
        meeting,
        decisions,
        nam_draft,
    }
}

#[test]
fn network_views_on_the_secretariat_and_a_member() {
    let net = TestNetwork::start(&["ESP", "NAM", "AU"], |_, _| {});
    let sec = net.secretariat.conn();
    let nam = net.members[1].conn();

    // Before anything is written, the secretariat knows the members from
    // the roster and says it has seen nothing from them.
    let fresh = view(&sec, &["directory"]);
    assert_eq!(fresh["freshness"]["as_of"], AS_OF);
    let members = &fresh["freshness"]["members"];
    assert_eq!(strings(members, "member"), ["AU", "ESP", "NAM", "SEC"]);
    assert_eq!(members[0]["entries"], 0);
    assert_eq!(members[0]["last_received"], "");
    let table = focal_ok(&sec, &["view", "directory", "--member", "AU"]);
    assert!(table.contains("AU       nothing seen"), "{table}");

    let seeded = seed(&net);
    wait_until("the secretariat to hold all 32 records", || {
        records_on(&sec).len() == 32
    });
    wait_until("NAM to hold the 31 records it may read", || {
        records_on(&nam).len() == 31
    });

    // Freshness: every member has been heard from.
    let directory = view(&sec, &["directory"]);
    for member in directory["freshness"]["members"].as_array().unwrap() {
        assert!(member["entries"].as_u64().unwrap() > 0, "{member}");
        assert_ne!(member["last_received"], "", "{member}");
    }
    let esp_logs = &directory["freshness"]["members"][1]["logs"];
    assert_eq!(strings(esp_logs, "audience"), ["network", "secretariat"]);
    assert_eq!(
        esp_logs[1]["seq"], 3,
        "ESP's secretariat entries: Carmen, and Lucía's and Carmen's contact details"
    );

    // --- Directory: current on AS_OF, by member, primary first, then name.
    let entries = &directory["entries"];
    assert_eq!(directory["total"], 5);
    assert_eq!(
        strings(entries, "person_name"),
        [
            "Amina Example",
            "Lucía Ejemplo",
            "Carmen Reservada",
            "Marta Prueba",
            "Ndapewa Example"
        ]
    );
    assert_eq!(
        strings(entries, "member"),
        ["AU", "ESP", "ESP", "ESP", "NAM"]
    );
    assert_eq!(
        strings(entries, "designation"),
        ["primary", "primary", "alternate", "alternate", "primary"]
    );
    assert_eq!(strings(entries, "region")[0], "africa");
    assert_eq!(entries[1]["languages"], json!(["es", "en"]));
    assert_eq!(entries[1]["email"], "lucia@example.org");
    assert_eq!(entries[2]["phone"], "+34 600 000 000");
    assert_eq!(entries[2]["visibility"], "secretariat");
    assert_eq!(entries[3]["posting"], "new-york-mission");
    assert_eq!(entries[1]["contact_withheld"], false);
    // A member's node shows only what it may read: no Carmen, no phone.
    let on_nam = view(&nam, &["directory"]);
    assert_eq!(
        strings(&on_nam["entries"], "person_name"),
        [
            "Amina Example",
            "Lucía Ejemplo",
            "Marta Prueba",
            "Ndapewa Example"
        ]
    );
    assert!(!focal_ok(&nam, &["view", "directory", "--csv"]).contains("+34"));
    // Contact details are narrower than the record: Lucía's record is on
    // NAM's node (it is a network record) without her contact, which travels
    // only to ESP's nodes and the secretariat's (see contact_details.rs):
    // NAM's clients see it without, in the views and in record reads alike;
    // ESP's own node and the secretariat's show it.
    let lucia = &on_nam["entries"][1];
    let lucia_id = lucia["id"].as_str().unwrap();
    let stored: String = rusqlite::Connection::open(net.members[1].dir.path.join("focal.db"))
        .unwrap()
        .query_row("SELECT json FROM records WHERE id = ?1", [lucia_id], |r| {
            r.get(0)
        })
        .unwrap();
    assert!(
        !stored.contains("lucia@example.org"),
        "the record has replicated to NAM without its contact: {stored}"
    );
    let read_on_nam = records_on(&nam);
    let read = read_on_nam.iter().find(|r| r["id"] == lucia_id).unwrap();
    assert!(read.get("contact").is_none(), "{read}");
    assert!(!focal_ok(&nam, &["show", lucia_id]).contains("lucia@example.org"));
    let read_on_sec = records_on(&sec);
    let read = read_on_sec.iter().find(|r| r["id"] == lucia_id).unwrap();
    assert_eq!(read["contact"]["email"], "lucia@example.org");
    assert_eq!(lucia["email"], "");
    assert_eq!(lucia["phone"], "");
    assert_eq!(lucia["contact_withheld"], true);
    assert_eq!(lucia["title"], "");
    assert_eq!(lucia["languages"], json!(["es", "en"]), "the rest is shown");
    let csv = focal_ok(&nam, &["view", "directory", "--csv", "--member", "ESP"]);
    assert!(!csv.contains("lucia@example.org"), "{csv}");
    let table = focal_ok(&nam, &["view", "directory", "--member", "ESP"]);
    assert!(table.contains("(withheld)"), "{table}");
    assert!(!table.contains("lucia@example.org"), "{table}");
    let on_esp = view(&net.members[0].conn(), &["directory", "--member", "ESP"]);
    assert_eq!(on_esp["entries"][0]["email"], "lucia@example.org");
    assert_eq!(on_esp["entries"][0]["contact_withheld"], false);
    // Filters.
    let by = |args: &[&str]| strings(&view(&sec, args)["entries"], "person_name");
    assert_eq!(
        by(&["directory", "--kind", "regional-organization"]),
        ["Amina Example"]
    );
    assert_eq!(
        by(&["directory", "--region", "africa"]),
        ["Amina Example", "Ndapewa Example"]
    );
    assert_eq!(
        by(&["directory", "--member", "ESP"]),
        ["Lucía Ejemplo", "Carmen Reservada", "Marta Prueba"]
    );
    // Serving at any time in 2023: Old Person yes, Marta (from 2024) no.
    assert_eq!(
        by(&["directory", "--period", "2023"]),
        [
            "Amina Example",
            "Lucía Ejemplo",
            "Old Person",
            "Carmen Reservada",
            "Ndapewa Example"
        ]
    );
    let csv = focal_ok(
        &sec,
        &[
            "view",
            "directory",
            "--member",
            "NAM",
            "--csv",
            "--as-of",
            AS_OF,
        ],
    );
    let lines: Vec<&str> = csv.split("\r\n").collect();
    assert_eq!(
        lines[0],
        "member,standing,region,designation,person_name,posting,languages,title,institution,\
         appointed,ended,email,phone,id"
    );
    assert!(
        lines[1].starts_with(
            "NAM,,africa,primary,Ndapewa Example,capital,en; af,,,,,,,NAM:focal-point:"
        ),
        "{csv}"
    );
    assert_eq!(
        lines.len(),
        3,
        "header, one row, and the final CRLF: {csv:?}"
    );

    // --- NAP tracker.
    let naps = view(&sec, &["naps"]);
    let rows = &naps["members"];
    assert_eq!(
        strings(rows, "member"),
        ["AU", "ESP", "NAM"],
        "the secretariat has no plan"
    );
    assert_eq!(strings(rows, "state"), ["none", "in-force", "drafting"]);
    assert_eq!(
        strings(rows, "kind"),
        ["regional-organization", "state", "state"]
    );
    let esp_row = &rows[1];
    assert_eq!(esp_row["title"], "Third NAP of ESP");
    assert_eq!(esp_row["generation"], 3);
    assert_eq!(esp_row["period_start"], "2023-01-01");
    assert_eq!(esp_row["period_end"], "2027-12-31");
    assert_eq!(
        esp_row["lead_agency"],
        "Ministry of Foreign Affairs (invented)"
    );
    assert_eq!(esp_row["budget"], "allocated");
    assert_eq!(esp_row["budget_amount"], 1_500_000.0);
    assert_eq!(esp_row["budget_currency"], "EUR");
    assert_eq!(esp_row["monitoring_described"], true);
    assert_eq!(esp_row["civil_society_involved"], true);
    assert_eq!(esp_row["plans"], 2);
    assert_eq!(rows[2]["plan_id"], seeded.nam_draft.as_str());
    assert_eq!(rows[2]["declared_status"], "draft");
    assert_eq!(rows[2]["monitoring_described"], Value::Null);
    assert_eq!(rows[0]["plan_id"], "");
    assert_eq!(
        naps["summary"],
        json!({"members": 3, "in_force": 1, "in_force_with_allocated_budget": 1, "adopted": 0,
               "expired": 0, "drafting": 1, "none": 1, "plan_filters": false})
    );
    let table = focal_ok(&sec, &["view", "naps", "--as-of", AS_OF]);
    assert!(
        table.starts_with(
            "NAP tracker: 3 members; 1 with a NAP in force, 1 of them with an allocated budget; \
             0 adopted, not yet in force; 0 expired; 1 drafting; 1 without a plan\n"
        ),
        "{table}"
    );
    // Judged by the period on as_of: ESP's third plan runs 2023-01-01 to
    // 2027-12-31. Its last day is in force, the next day it has expired
    // (and so has every plan of ESP).
    let state_of_esp = |as_of: &str| {
        let naps = view(&sec, &["naps", "--member", "ESP", "--as-of", as_of]);
        (
            naps["members"][0]["state"].as_str().unwrap().to_owned(),
            naps["members"][0]["title"].as_str().unwrap().to_owned(),
        )
    };
    assert_eq!(
        state_of_esp("2027-12-31"),
        ("in-force".to_owned(), "Third NAP of ESP".to_owned())
    );
    assert_eq!(
        state_of_esp("2028-01-01"),
        ("expired".to_owned(), "Third NAP of ESP".to_owned())
    );
    // The day before the third plan starts, the second (declared expired,
    // 2017-2022) was in force and the third adopted, not yet in force.
    assert_eq!(
        state_of_esp("2022-12-31"),
        ("in-force".to_owned(), "Second NAP of ESP".to_owned())
    );
    let before = view(&sec, &["naps", "--member", "ESP", "--as-of", "2016-12-31"]);
    assert_eq!(before["members"][0]["state"], "adopted");
    assert_eq!(before["summary"]["adopted"], 1);
    let later = view(&sec, &["naps", "--as-of", "2028-01-01"]);
    assert_eq!(
        strings(&later["members"], "state"),
        ["none", "expired", "drafting"]
    );
    assert_eq!(
        later["summary"],
        json!({"members": 3, "in_force": 0, "in_force_with_allocated_budget": 0, "adopted": 0,
               "expired": 1, "drafting": 1, "none": 1, "plan_filters": false})
    );
    // A period filter keeps NAM's draft, which has no period yet; the
    // counts are of plans matching the filters.
    let in_2026 = view(&sec, &["naps", "--period", "2026"]);
    assert_eq!(
        strings(&in_2026["members"], "state"),
        ["none", "in-force", "drafting"]
    );
    assert_eq!(in_2026["members"][2]["plans"], 1);
    assert_eq!(in_2026["summary"]["plan_filters"], true);
    let table = focal_ok(
        &sec,
        &["view", "naps", "--period", "2026", "--as-of", AS_OF],
    );
    assert!(
        table.starts_with("NAP tracker: 3 members (plans matching the filters);")
            && table.contains("; 1 without a plan matching the filters\n"),
        "{table}"
    );
    // NAM's first plan (2019-2024) is the only one of NAM in 2020.
    let in_2020 = view(&sec, &["naps", "--period", "2020", "--member", "NAM"]);
    assert_eq!(
        in_2020["members"][0]["plans"], 2,
        "the first plan and the draft"
    );
    // Two years earlier NAM's first plan was still in force; it lapsed at
    // the end of 2024 although it is still declared in force.
    let earlier = view(&sec, &["naps", "--as-of", "2024-06-30"]);
    assert_eq!(
        strings(&earlier["members"], "state"),
        ["none", "in-force", "in-force"]
    );
    assert_eq!(earlier["members"][2]["budget"], "unspecified");
    assert_eq!(earlier["summary"]["in_force"], 2);
    assert_eq!(earlier["summary"]["in_force_with_allocated_budget"], 1);
    let theme = view(&sec, &["naps", "--theme", "climate-change"]);
    assert_eq!(
        strings(&theme["members"], "state"),
        ["none", "in-force", "none"]
    );
    assert_eq!(theme["members"][1]["plans"], 1);
    let africa = view(&sec, &["naps", "--region", "africa"]);
    assert_eq!(strings(&africa["members"], "member"), ["AU", "NAM"]);

    // --- Practices.
    let practices = view(&sec, &["practices"]);
    assert_eq!(practices["total"], 4);
    assert_eq!(
        strings(&practices["practices"], "title"),
        [
            "Continental results framework",
            "Gender budgeting in the NAP",
            "Women mediators roster",
            "Community early warning"
        ]
    );
    assert_eq!(
        practices["practices"][2]["themes"],
        json!(["participation-peace-processes", "capacity-building"])
    );
    let by_theme: Vec<(String, u64)> = practices["by_theme"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["key"].as_str().unwrap().to_owned(),
                c["count"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(by_theme.len(), 14, "every theme, counted or not");
    let nonzero: Vec<_> = by_theme.iter().filter(|(_, n)| *n > 0).cloned().collect();
    assert_eq!(
        nonzero,
        [
            ("participation-peace-processes".to_owned(), 2),
            ("nap-design-monitoring-financing".to_owned(), 2),
            ("early-warning-preventive-diplomacy".to_owned(), 1),
            ("capacity-building".to_owned(), 1),
        ]
    );
    assert_eq!(
        practices["by_region"],
        json!([{"key": "africa", "count": 2}, {"key": "western-europe-others", "count": 2}])
    );
    let filtered = view(
        &sec,
        &["practices", "--theme", "nap-design-monitoring-financing"],
    );
    assert_eq!(strings(&filtered["practices"], "member"), ["AU", "ESP"]);
    let filtered = view(&sec, &["practices", "--region", "africa"]);
    assert_eq!(strings(&filtered["practices"], "member"), ["AU", "NAM"]);
    assert_eq!(
        filtered["by_region"],
        json!([{"key": "africa", "count": 2}])
    );
    assert_eq!(
        view(&sec, &["practices", "--period", "1990/2000"])["total"],
        0
    );

    // --- Funding.
    let funding = view(&sec, &["funding"]);
    let rows = &funding["commitments"];
    assert_eq!(funding["total"], 3);
    assert_eq!(
        strings(rows, "donor"),
        ["ESP", "ESP", "Invented Peace Fund"]
    );
    assert_eq!(
        strings(rows, "recipient"),
        ["Invented Women's Network", "NAM", "NAM"]
    );
    assert_eq!(rows[1]["amount"], 250_000.0);
    assert_eq!(
        rows[1]["themes"],
        json!(["nap-design-monitoring-financing"])
    );
    assert_eq!(
        funding["totals"],
        json!([{"currency": "EUR", "amount": 350000.0, "commitments": 2},
               {"currency": "USD", "amount": 50000.0, "commitments": 1}])
    );
    assert_eq!(
        funding["by_donor"],
        json!([
            {"party": "ESP", "commitments": 2,
             "totals": [{"currency": "EUR", "amount": 350000.0, "commitments": 2}]},
            {"party": "Invented Peace Fund", "commitments": 1,
             "totals": [{"currency": "USD", "amount": 50000.0, "commitments": 1}]},
        ])
    );
    assert_eq!(
        strings(&funding["by_recipient"], "party"),
        ["Invented Women's Network", "NAM"]
    );
    assert_eq!(funding["by_recipient"][1]["commitments"], 2);
    assert_eq!(
        strings(&funding["by_theme"], "party"),
        [
            "crsv-justice",
            "nap-design-monitoring-financing",
            "civil-society-partnerships"
        ]
    );
    assert_eq!(funding["unfunded_themes"].as_array().unwrap().len(), 11);
    assert_eq!(funding["unfunded_themes"][0], "gender-analysis");
    assert_eq!(funding["unfunded_members"], json!(["AU"]));
    assert_eq!(funding["unfunded_recipients"], json!(["AU", "ESP"]));
    assert_eq!(funding["commitments"][0]["recipient_country"], "NAM");
    // The civil-society organization works in NAM: it counts as NAM's.
    let to_nam = view(&sec, &["funding", "--member", "NAM"]);
    assert_eq!(
        strings(&to_nam["commitments"], "donor"),
        ["ESP", "ESP", "Invented Peace Fund"]
    );
    assert_eq!(to_nam["unfunded_recipients"], json!([]));
    let africa = view(&sec, &["funding", "--region", "africa"]);
    assert_eq!(africa["total"], 3);
    assert_eq!(africa["unfunded_recipients"], json!(["AU"]));
    assert_eq!(africa["unfunded_members"], json!(["AU"]));
    let weo = view(&sec, &["funding", "--region", "western-europe-others"]);
    assert_eq!(
        strings(&weo["commitments"], "recipient"),
        ["Invented Women's Network", "NAM"]
    );
    assert_eq!(weo["unfunded_recipients"], json!(["ESP"]));
    assert_eq!(weo["unfunded_members"], json!([]));
    let organizations = view(&sec, &["funding", "--kind", "regional-organization"]);
    assert_eq!(organizations["total"], 0);
    assert_eq!(organizations["totals"], json!([]));
    assert_eq!(organizations["unfunded_recipients"], json!(["AU"]));
    let states = view(&sec, &["funding", "--kind", "state"]);
    assert_eq!(states["total"], 3);
    assert_eq!(states["unfunded_recipients"], json!(["ESP"]));
    let in_2026 = view(&sec, &["funding", "--period", "2026"]);
    assert_eq!(strings(&in_2026["commitments"], "recipient"), ["NAM"]);
    assert_eq!(in_2026["commitments"][0]["donor"], "ESP");

    // --- Follow-up: overdue first (earliest due first), then by due date.
    let follow = view(&sec, &["follow-up"]);
    let decisions = &follow["decisions"];
    let [d1, d2, d3, d4] = &seeded.decisions;
    assert_eq!(
        strings(decisions, "id"),
        [d4.as_str(), d1.as_str(), d3.as_str(), d2.as_str()]
    );
    assert_eq!(
        decisions
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["overdue"].as_bool().unwrap())
            .collect::<Vec<_>>(),
        [true, true, false, false]
    );
    assert_eq!(
        strings(decisions, "responsible"),
        ["NAM", "all-members", "secretariat", "ESP"]
    );
    assert_eq!(
        strings(decisions, "due"),
        ["2025-12-31", "2026-04-01", "2026-01-15", "2026-12-31"]
    );
    assert_eq!(
        follow["summary"],
        json!({"decisions": 4, "overdue": 2, "open": 3})
    );
    let on_d1 = &decisions[1];
    assert_eq!(
        on_d1["text"],
        "Members report on the financing of their NAPs."
    );
    assert_eq!(on_d1["meeting_id"], seeded.meeting.as_str());
    assert_eq!(
        on_d1["meeting_title"],
        "Annual meeting 2026 (Windhoek, 2026-04-20)"
    );
    assert_eq!(strings(&on_d1["updates"], "member"), ["ESP", "NAM"]);
    assert_eq!(
        on_d1["updates"][0]["status"], "met",
        "the dated report is ESP's latest"
    );
    assert_eq!(on_d1["updates"][0]["when"], "2026-03-01");
    assert_eq!(
        on_d1["updates"][0]["text"],
        "The report went to parliament."
    );
    assert_eq!(on_d1["updates"][1]["when"], "2026");
    assert_eq!(on_d1["not_reported"], json!(["AU"]));
    assert_eq!(decisions[0]["not_reported"], json!(["NAM"]));
    assert_eq!(decisions[3]["not_reported"], json!([]));
    // ESP's view: what ESP is responsible for, all-members decisions, and
    // what ESP reported on; only ESP's updates.
    let esp_only = view(&sec, &["follow-up", "--member", "ESP"]);
    assert_eq!(
        strings(&esp_only["decisions"], "id"),
        [d1.as_str(), d2.as_str()]
    );
    assert_eq!(
        strings(&esp_only["decisions"][0]["updates"], "member"),
        ["ESP"]
    );
    assert_eq!(esp_only["decisions"][0]["not_reported"], json!([]));
    let due_2025 = view(&sec, &["follow-up", "--period", "2025"]);
    assert_eq!(strings(&due_2025["decisions"], "id"), [d4.as_str()]);
    // Overdue only after the due day: D4 is due 2025-12-31.
    let overdue_on = |as_of: &str| {
        let view = view(&sec, &["follow-up", "--member", "NAM", "--as-of", as_of]);
        let d = view["decisions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["id"] == d4.as_str())
            .cloned()
            .unwrap();
        (
            d["overdue"].as_bool().unwrap(),
            view["summary"]["overdue"].clone(),
        )
    };
    assert_eq!(overdue_on("2025-12-31"), (false, json!(0)));
    assert_eq!(overdue_on("2026-01-01"), (true, json!(1)));
    let table = focal_ok(&sec, &["view", "follow-up", "--as-of", AS_OF]);
    assert!(
        table.starts_with("Follow-up: 4 decisions, 3 open, 2 overdue\n\nOVERDUE  "),
        "{table}"
    );

    // --- A meeting.
    let meeting = view(&sec, &["meeting", &seeded.meeting]);
    assert_eq!(
        meeting["title"],
        "Annual meeting 2026 (Windhoek, 2026-04-20)"
    );
    assert_eq!(meeting["start"], "2026-04-20");
    assert_eq!(meeting["end"], "2026-04-21");
    assert_eq!(strings(&meeting["registrations"], "member"), ["ESP", "NAM"]);
    assert_eq!(
        meeting["registrations"][0]["delegates"],
        json!(["Lucía Ejemplo", "Pedro Ejemplo"])
    );
    assert_eq!(meeting["registrations"][0]["minister_speaking"], true);
    assert_eq!(
        meeting["registrations"][1]["minister_speaking"],
        Value::Null
    );
    assert_eq!(
        strings(&meeting["statements"], "speaker"),
        ["Minister Ejemplo"]
    );
    assert_eq!(meeting["statements"][0]["language"], "en");
    assert_eq!(
        meeting["summary"],
        json!({"registered_members": 2, "delegates": 3, "ministers_speaking": 1, "statements": 1,
               "registrations": 2})
    );
    assert_eq!(meeting["not_registered"], json!(["AU"]));
    let africa = view(&sec, &["meeting", &seeded.meeting, "--region", "africa"]);
    assert_eq!(strings(&africa["registrations"], "member"), ["NAM"]);
    assert_eq!(africa["statements"], json!([]));
    // The rows stop at the limit; the counts do not.
    let one = view(&sec, &["meeting", &seeded.meeting, "--limit", "1"]);
    assert_eq!(strings(&one["registrations"], "member"), ["ESP"]);
    assert_eq!(one["summary"]["registrations"], 2);
    assert_eq!(one["summary"]["delegates"], 3);
    assert_eq!(one["not_registered"], json!(["AU"]));

    // --- CSV headers of every view.
    assert_eq!(
        csv_header(&sec, &["naps"]),
        "member,standing,region,kind,state,generation,period_start,period_end,lead_agency,\
         budget,budget_amount,budget_currency,monitoring_described,civil_society_involved,plans,\
         plan_id,title"
    );
    assert_eq!(
        csv_header(&sec, &["practices"]),
        "member,standing,region,kind,themes,title,created,id"
    );
    assert_eq!(
        csv_header(&sec, &["funding"]),
        "donor,recipient,amount,currency,kind,channel,themes,period_start,period_end,title,owner,id"
    );
    assert_eq!(
        csv_header(&sec, &["follow-up"]),
        "overdue,due,status,responsible,decision,meeting_id,updates,not_reported,id"
    );
    assert_eq!(
        csv_header(&sec, &["meeting", &seeded.meeting]),
        "record,member,standing,delegates,minister_speaking,speaker,language,text,link,id"
    );
    // RFC 4180 quoting: the civil-society organization's name has no comma,
    // the statement's text has one.
    let csv = focal_ok(&sec, &["view", "meeting", &seeded.meeting, "--csv"]);
    assert!(
        csv.contains(",\"Spain renews its commitment, with a budget.\","),
        "{csv}"
    );
    let csv = focal_ok(&sec, &["view", "naps", "--csv", "--as-of", AS_OF]);
    assert!(csv.contains("\r\nESP,,western-europe-others,state,in-force,3,2023-01-01,2027-12-31,Ministry of Foreign Affairs (invented),allocated,1500000,EUR,yes,yes,2,ESP:nap:"), "{csv}");

    // --- A member's update reaches the secretariat's views after sync.
    focal_ok(
        &nam,
        &[
            "edit",
            &seeded.nam_draft,
            "--status",
            "in-force",
            "--start",
            "2025-01-01",
            "--end",
            "2029-12-31",
            "--budget",
            r#"{"status":"allocated","amount":2000000,"currency":"NAD"}"#,
        ],
    );
    wait_until(
        "NAM's plan in force in the secretariat's NAP tracker",
        || view(&sec, &["naps"])["members"][2]["state"] == "in-force",
    );
    let naps = view(&sec, &["naps"]);
    assert_eq!(naps["members"][2]["budget_currency"], "NAD");
    assert_eq!(
        naps["summary"],
        json!({"members": 3, "in_force": 2, "in_force_with_allocated_budget": 2, "adopted": 0,
               "expired": 0, "drafting": 0, "none": 1, "plan_filters": false})
    );

    // --- A deleted record is not counted.
    let gone = add(
        &nam,
        "practice",
        &[
            "--kind",
            "best-practice",
            "--title",
            "Withdrawn practice",
            "--theme",
            "crsv-justice",
        ],
    );
    wait_until("the secretariat to count NAM's new practice", || {
        view(&sec, &["practices"])["total"] == 5
    });
    focal_ok(&nam, &["delete", &gone]);
    wait_until("the deletion to reach the secretariat", || {
        records_on(&sec)
            .iter()
            .any(|r| r["id"] == gone.as_str() && r["deleted"] == true)
    });
    let practices = view(&sec, &["practices"]);
    assert_eq!(practices["total"], 4);
    assert!(!strings(&practices["practices"], "id").contains(&gone));
    let crsv = view(&sec, &["practices", "--theme", "crsv-justice"]);
    assert_eq!(crsv["total"], 0);

    // --- Members not in good standing: AU suspended, ESP removed. They
    // drop out of the counts and gap lists, and their rows are marked.
    focal_ok(&sec, &["admin", "member", "suspend", "AU"]);
    focal_ok(&sec, &["admin", "member", "remove", "ESP"]);
    wait_until("the secretariat's views to see the new standings", || {
        let naps = view(&sec, &["naps"]);
        strings(&naps["members"], "standing") == ["suspended", "removed", ""]
    });
    let naps = view(&sec, &["naps"]);
    assert_eq!(strings(&naps["members"], "member"), ["AU", "ESP", "NAM"]);
    assert_eq!(
        naps["summary"],
        json!({"members": 1, "in_force": 1, "in_force_with_allocated_budget": 1, "adopted": 0,
               "expired": 0, "drafting": 0, "none": 0, "plan_filters": false})
    );
    let csv = focal_ok(&sec, &["view", "naps", "--csv", "--as-of", AS_OF]);
    assert!(csv.contains("\r\nAU,suspended,africa,"), "{csv}");
    let directory = view(&sec, &["directory"]);
    assert_eq!(
        strings(&directory["entries"], "standing"),
        ["suspended", "removed", "removed", "removed", ""]
    );
    let funding = view(&sec, &["funding"]);
    assert_eq!(funding["total"], 3, "their commitments still count");
    assert_eq!(funding["unfunded_recipients"], json!([]));
    assert_eq!(funding["unfunded_members"], json!([]));
    let follow = view(&sec, &["follow-up"]);
    let on_d1 = follow["decisions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"] == d1.as_str())
        .cloned()
        .unwrap();
    assert_eq!(on_d1["not_reported"], json!([]), "AU is suspended");
    assert_eq!(strings(&on_d1["updates"], "standing"), ["removed", ""]);
    let on_d2 = follow["decisions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"] == d2.as_str())
        .cloned()
        .unwrap();
    assert_eq!(on_d2["not_reported"], json!([]));
    let meeting = view(&sec, &["meeting", &seeded.meeting]);
    assert_eq!(meeting["not_registered"], json!([]));
    assert_eq!(
        strings(&meeting["registrations"], "standing"),
        ["removed", ""]
    );
    assert_eq!(meeting["statements"][0]["standing"], "removed");
    let table = focal_ok(&sec, &["view", "meeting", &seeded.meeting]);
    assert!(table.contains("ESP (removed)"), "{table}");
    let practices = view(&sec, &["practices", "--member", "AU"]);
    assert_eq!(practices["practices"][0]["standing"], "suspended");
}

#[test]
fn bad_view_input_is_refused_with_what_was_wrong() {
    let node = single_node("ESP");
    let conn = &node.conn;
    let fails = |args: &[&str], needle: &str| {
        let mut all = vec!["view"];
        all.extend_from_slice(args);
        assert_fails_with(&focal_at(conn, &all), needle);
    };
    fails(
        &["naps", "--member", "XYZ"],
        "member XYZ is not in the network as this node knows it (members: ESP)",
    );
    fails(&["directory", "--member", "Spain"], "member `Spain`:");
    fails(
        &["practices", "--region", "mars"],
        "region `mars` is not a region; use one of: africa",
    );
    fails(
        &["funding", "--kind", "country"],
        "kind `country` is not a kind of member",
    );
    fails(
        &["naps", "--theme", "peace"],
        "theme `peace` is not a theme; use one of:",
    );
    fails(
        &["follow-up", "--period", "2024-13-01/"],
        "period `2024-13-01/`: \"2024-13-01\" is not a date: there is no month 13",
    );
    fails(
        &["naps", "--period", "2025/2024"],
        "it ends (2024-12-31) before it starts (2025-01-01)",
    );
    fails(
        &["directory", "--as-of", "tomorrow"],
        "as-of: \"tomorrow\" is not a date",
    );
    fails(
        &["meeting", "SEC:meeting:aaaaaaaaaaaa"],
        "no meeting SEC:meeting:aaaaaaaaaaaa on this node",
    );
    fails(
        &["meeting", "ESP:practice:aaaaaaaaaaaa"],
        "is the id of a practice; a meeting id is needed",
    );
    assert_fails_with(
        &focal_at(conn, &["--json", "view", "naps", "--csv"]),
        "--json and --csv cannot be used together",
    );

    // The same refusals over gRPC carry their codes.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let client = focal_tests::client_for(conn).await;
        let mut api = focal_proto::v1::view_service_client::ViewServiceClient::with_interceptor(
            client.channel(),
            client.token(),
        );
        let err = api
            .directory(focal_proto::v1::ViewRequest {
                theme: "climate-change".into(),
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(err.code(), tonic::Code::InvalidArgument);
        assert!(
            err.message().starts_with("the directory has no themes"),
            "{}",
            err.message()
        );
        let err = api
            .nap_tracker(focal_proto::v1::ViewRequest {
                member: "FRA".into(),
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(err.code(), tonic::Code::NotFound);
        let err = api
            .meeting(focal_proto::v1::MeetingViewRequest {
                meeting_id: "SEC:meeting:aaaaaaaaaaaa".into(),
                filter: None,
            })
            .await
            .unwrap_err();
        assert_eq!(err.code(), tonic::Code::NotFound);
        // Without a token, nothing.
        let anonymous =
            focal_proto::v1::view_service_client::ViewServiceClient::new(client.channel())
                .directory(focal_proto::v1::ViewRequest::default())
                .await
                .unwrap_err();
        assert_eq!(anonymous.code(), tonic::Code::Unauthenticated);
    });
}
