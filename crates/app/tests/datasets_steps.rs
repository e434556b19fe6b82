//! An erasure across two databases is two steps: when the second fails, the first stays done
//! and recorded, the request stays open, nothing of the second is half-written; fulfilling
//! again finishes the second and does not change the first twice. The deadline watcher does
//! that on its own: a minute after the failure, then after two, four… up to an hour.

mod common;

use common::{file, fixture};
use jiff::Timestamp;
use ombud_app::rights::DeskError;
use ombud_connect::native;
use ombud_core::requests::RequestKind;
use ombud_store::Actor;

fn dataset(key: &str, url_file: &std::path::Path) -> ombud_connect::Dataset {
    let text = format!(
        r#"key = "{key}"
name = "{key}"
purposes = ["service-delivery"]

[connection]
kind = "sqlite"
url_file = "{}"

[[collections]]
name = "people"

[[collections.fields]]
name = "id"
categories = ["system.operations"]
primary_key = true

[[collections.fields]]
name = "email"
categories = ["user.contact.email"]
identity = "email"
read_only = true

[[collections.fields]]
name = "nickname"
categories = ["user.name"]
masking = "hmac"
"#,
        url_file.display()
    );
    native::parse("x.toml", &text).expect("dataset").0
}

fn nicknames(path: &std::path::Path) -> Vec<Option<String>> {
    rusqlite::Connection::open(path)
        .expect("opens")
        .prepare("SELECT nickname FROM people ORDER BY id")
        .expect("select")
        .query_map([], |r| r.get(0))
        .expect("rows")
        .collect::<Result<_, _>>()
        .expect("rows")
}

#[test]
fn a_failed_database_leaves_the_others_done_and_a_retry_finishes_without_repeating_them() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let first = dir.path().join("first.db");
    let second = dir.path().join("second.db");
    rusqlite::Connection::open(&first)
        .expect("creates")
        .execute_batch(
            "CREATE TABLE people (id INTEGER PRIMARY KEY, email TEXT, nickname TEXT);
             INSERT INTO people VALUES (1, 'ana@example.com', 'Anski'), (2, 'bo@example.com', 'Bobo');",
        )
        .expect("seeds");
    // The second refuses the masked value until it is repaired.
    rusqlite::Connection::open(&second)
        .expect("creates")
        .execute_batch(
            "CREATE TABLE people (id INTEGER PRIMARY KEY, email TEXT, nickname TEXT CHECK (length(nickname) < 10));
             INSERT INTO people VALUES (1, 'ana@example.com', 'Ana B');",
        )
        .expect("seeds");
    for (name, path) in [("first.url", &first), ("second.url", &second)] {
        std::fs::write(dir.path().join(name), format!("{}\n", path.display())).expect("url");
    }
    let f = fixture(
        dir.path(),
        vec![
            dataset("a_first", &dir.path().join("first.url")),
            dataset("b_second", &dir.path().join("second.url")),
        ],
    );
    let (desk, store, operator) = (&f.desk, &f.store, f.operator);
    let now = Timestamp::now();
    let id = file(
        desk,
        operator,
        RequestKind::Erasure,
        "ana@example.com",
        None,
    );

    let failed = desk.fulfil(operator, id, &Actor::Cli, now);
    assert!(
        matches!(failed, Err(DeskError::Unavailable(_))),
        "{failed:?}"
    );
    let masked_once = nicknames(&first);
    assert_eq!(
        masked_once[0].as_deref().map(str::len),
        Some(64),
        "the first database is done"
    );
    assert_eq!(masked_once[1].as_deref(), Some("Bobo"));
    assert_eq!(
        nicknames(&second),
        [Some("Ana B".to_owned())],
        "nothing half-written in the second"
    );
    assert!(
        store
            .request(operator, id)
            .expect("reads")
            .expect("request")
            .status
            .is_open()
    );

    let waiting = |at: Timestamp| {
        let request = store
            .request(operator, id)
            .expect("reads")
            .expect("request");
        assert_eq!(request.status.as_str(), "in_progress", "at {at}");
        let outcome: serde_json::Value =
            serde_json::from_str(request.outcome.as_deref().expect("an outcome")).expect("json");
        outcome["waiting"].clone()
    };
    let first_wait = waiting(now);
    assert_eq!(first_wait["attempts"], 1);
    assert_eq!(
        first_wait["next_try"],
        serde_json::json!(
            now.checked_add(jiff::SignedDuration::from_mins(1))
                .expect("t")
        )
    );
    let reason = first_wait["reason"].as_str().expect("a reason");
    assert!(reason.contains("`b_second`"), "{reason}");
    assert!(
        !reason.contains("CHECK") && !reason.contains("nickname"),
        "the database's own words (which may quote a value) stay out of the store: {reason}"
    );

    // The watcher leaves it until its next try, then tries and finds it still broken.
    let minute = jiff::SignedDuration::from_mins(1);
    let (done, still) = desk
        .retry_waiting(now.checked_add(minute / 2).expect("t"))
        .expect("round");
    assert!(done.is_empty() && still.is_empty(), "not yet");
    let second_try = now.checked_add(minute).expect("t");
    let (done, still) = desk.retry_waiting(second_try).expect("round");
    assert_eq!((done.len(), still.as_slice()), (0, &[id][..]));
    let second_wait = waiting(second_try);
    assert_eq!(second_wait["attempts"], 2);
    assert_eq!(second_wait["since"], first_wait["since"]);
    let third_try = second_try.checked_add(minute * 2).expect("t");
    assert_eq!(
        second_wait["next_try"],
        serde_json::json!(third_try),
        "the pause doubles"
    );
    assert_eq!(nicknames(&second), [Some("Ana B".to_owned())]);

    // Repaired: the constraint goes (the table rebuilt without it).
    rusqlite::Connection::open(&second)
        .expect("opens")
        .execute_batch(
            "CREATE TABLE people_new (id INTEGER PRIMARY KEY, email TEXT, nickname TEXT);
             INSERT INTO people_new SELECT * FROM people; DROP TABLE people;
             ALTER TABLE people_new RENAME TO people;",
        )
        .expect("repairs");
    let (done, still) = desk.retry_waiting(third_try).expect("round");
    assert_eq!((done.as_slice(), still.len()), (&[id][..], 0));
    let finished = store
        .request(operator, id)
        .expect("reads")
        .expect("request");
    assert_eq!(finished.status.as_str(), "fulfilled");
    assert!(
        !finished
            .outcome
            .as_deref()
            .unwrap_or_default()
            .contains("waiting"),
        "{:?}",
        finished.outcome
    );
    assert!(desk.retry_waiting(third_try).expect("round").0.is_empty());
    assert_eq!(
        nicknames(&first),
        masked_once,
        "the first database is not masked twice"
    );
    assert_eq!(nicknames(&second)[0].as_deref().map(str::len), Some(64));
}
