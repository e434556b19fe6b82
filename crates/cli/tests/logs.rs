//! The server's logs never contain personal data: a value is planted through every surface
//! that takes one (identities, records, lookups, bad requests) while the server logs JSON at
//! debug level, and the captured logs are searched for it.

mod common;

use common::{banner, request};
use std::io::{BufReader, Read};
use std::process::{Command, Stdio};

#[test]
fn planted_personal_data_never_reaches_the_logs() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let mut child = Command::new(env!("CARGO_BIN_EXE_ombud"))
        .args([
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--metrics-bind",
            "127.0.0.1:0",
            "--log-format",
            "json",
            "--jobs-every",
            "1",
        ])
        .current_dir(dir.path())
        .env("OMBUD_LOG", "debug")
        .env_remove("OMBUD_MASTER_KEY")
        .env_remove("OMBUD_DATABASE_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starts");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let (address, key) = banner(&mut stdout);

    let email = "planted.person@example.org";
    let name = "Plantedname Secretsson";
    let created = request(
        &address,
        "POST",
        "/api/v1/subjects",
        &key,
        Some(&format!(
            r#"{{"identities":[{{"kind":"email","value":"{email}"}}]}}"#
        )),
    );
    let id = created
        .split("\"id\":\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("subject id")
        .to_owned();
    request(
        &address,
        "PUT",
        &format!("/api/v1/subjects/{id}/records"),
        &key,
        Some(&format!(
            r#"{{"records":[{{"category":"user.name","value":"{name}"}}]}}"#
        )),
    );
    request(
        &address,
        "GET",
        &format!("/api/v1/subjects/{id}/records?purpose=invoicing"),
        &key,
        None,
    );
    request(
        &address,
        "GET",
        &format!("/api/v1/subjects?identity=email:{email}"),
        &key,
        None,
    );
    request(
        &address,
        "GET",
        &format!("/api/v1/check?identity=email:{email}&purpose=consent-marketing"),
        &key,
        None,
    );
    request(
        &address,
        "POST",
        "/api/v1/subjects",
        &key,
        Some(&format!(
            r#"{{"identities":[{{"kind":"email","value":"{email}"}}]}}"#
        )),
    );
    request(
        &address,
        "PUT",
        &format!("/api/v1/subjects/{id}/records"),
        &key,
        Some(&format!(
            r#"{{"records":[{{"category":"user.unknown","value":"{name}"}}]}}"#
        )),
    );
    request(
        &address,
        "PUT",
        &format!("/api/v1/subjects/{id}/records"),
        &key,
        Some(&format!(
            r#"{{"records":[{{"category":"user.name","value":{name}}}]}}"#
        )),
    );

    // A data-subject request: the code goes out by mail (an .eml file here) and is tried
    // wrong, then right; neither the code nor the address may reach the logs.
    let filed = request(
        &address,
        "POST",
        "/api/v1/requests",
        &key,
        Some(&format!(r#"{{"kind":"access","email":"{email}"}}"#)),
    );
    let request_id = filed
        .split("\"id\":\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("request id")
        .to_owned();
    let outbox = dir.path().join("ombud-data/outbox");
    let mut code = None;
    for _ in 0..100 {
        if let Some(mail) = std::fs::read_dir(&outbox)
            .into_iter()
            .flatten()
            .flatten()
            .find_map(|e| std::fs::read_to_string(e.path()).ok())
        {
            code = mail
                .lines()
                .find_map(|l| l.strip_prefix("Subject: Your confirmation code: "))
                .map(|c| c.trim().to_owned());
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let code = code.expect("the mailer wrote the code mail");
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for attempt in [wrong, code.as_str()] {
        request(
            &address,
            "POST",
            &format!("/api/v1/requests/{request_id}/verify"),
            &key,
            Some(&format!(r#"{{"code":"{attempt}"}}"#)),
        );
    }

    let _ = child.kill();
    let _ = child.wait();
    let mut logs = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut logs)
        .expect("logs");
    assert!(
        logs.contains("\"level\":\"INFO\""),
        "the server logged JSON: {logs}"
    );
    for planted in [email, "planted.person", name, "Secretsson"] {
        assert!(
            !logs.contains(planted),
            "`{planted}` is in the logs:\n{logs}"
        );
    }
    assert!(!logs.contains(&key), "the API key is in the logs");
    // Six digits also occur as the microseconds of a timestamp (after a dot); anywhere else
    // they are the code.
    let leaked = logs.match_indices(code.as_str()).any(|(at, _)| {
        let before = logs[..at].chars().next_back();
        let after = logs[at + code.len()..].chars().next();
        !before.is_some_and(|c| c.is_ascii_digit() || c == '.')
            && !after.is_some_and(|c| c.is_ascii_digit())
    });
    assert!(!leaked, "the code {code} is in the logs:\n{logs}");
}

/// Read by a person or a log collector from a file: no colour codes, the mailer named in
/// words, and one access line per request with the route template, status, duration and the
/// request id the response carries, never the path's ids or the query string.
#[test]
fn the_text_log_in_a_file_is_plain_and_has_an_access_line_per_request() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let mut child = Command::new(env!("CARGO_BIN_EXE_ombud"))
        .args(["serve", "--bind", "127.0.0.1:0", "--metrics-bind", "off"])
        .current_dir(dir.path())
        .env_remove("OMBUD_LOG")
        .env_remove("NO_COLOR")
        .env_remove("OMBUD_MASTER_KEY")
        .env_remove("OMBUD_DATABASE_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starts");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let (address, key) = banner(&mut stdout);
    let email = "access.line@example.org";
    let answer = request(
        &address,
        "GET",
        &format!("/api/v1/check?identity=email:{email}&purpose=consent-marketing"),
        &key,
        None,
    );
    let id = answer
        .lines()
        .find_map(|l| l.strip_prefix("x-request-id: "))
        .expect("the response carries its request id")
        .trim()
        .to_owned();
    child.kill().expect("stops");
    child.wait().expect("stopped");
    let mut logs = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut logs)
        .expect("reads");
    assert!(
        !logs.contains('\u{1b}'),
        "no colour codes in a file: {logs}"
    );
    assert!(
        !logs.contains("Mailer::"),
        "the mailer named in words: {logs}"
    );
    assert!(logs.contains(".eml files in"), "{logs}");
    let line = logs
        .lines()
        .find(|l| l.contains(&id))
        .unwrap_or_else(|| panic!("an access line with {id}: {logs}"));
    for part in [
        "ombud::access",
        "method=GET",
        "route=/api/v1/check",
        "status=",
        "duration_ms=",
    ] {
        assert!(line.contains(part), "{part} in {line}");
    }
    assert!(line.contains(" INFO "), "at info level: {line}");
    assert!(
        !logs.contains(email) && !logs.contains("identity="),
        "{logs}"
    );
}
