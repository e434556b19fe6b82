//! `ombud users` and the first console admin: `ombud init` makes the first admin for the
//! controller's address with a setup link next to the bootstrap key, `users create` prints a
//! link for each new user, `users list` shows who is invited, and bad input names the flag.

use assert_cmd::Command;
use predicates::prelude::*;

fn ombud(dir: &std::path::Path) -> Command {
    let mut command = Command::cargo_bin("ombud").expect("binary");
    command
        .current_dir(dir)
        .env_remove("OMBUD_MASTER_KEY")
        .env_remove("OMBUD_MASTER_KEY_FILE")
        .env_remove("OMBUD_DATABASE_URL")
        .env_remove("OMBUD_POLICY")
        .env_remove("OMBUD_ADMIN_EMAIL")
        .env_remove("OMBUD_PUBLIC_URL")
        .env("OMBUD_DATA_DIR", dir.join("ombud-data"));
    command
}

fn link_in(stdout: &[u8]) -> String {
    let text = String::from_utf8_lossy(stdout);
    text.split_whitespace()
        .find(|w| w.contains("/console/setup?t="))
        .unwrap_or_else(|| panic!("no setup link in {text}"))
        .to_owned()
}

#[test]
fn init_makes_the_first_console_admin_and_users_create_invites_the_others() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let init = ombud(dir.path())
        .args([
            "init",
            "--admin-email",
            "root@example.fi",
            "--public-url",
            "https://privacy.example.com/",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("ombud_sk_").count(1))
        .stdout(predicate::str::contains(
            "The console's first admin is root@example.fi",
        ))
        .get_output()
        .stdout
        .clone();
    let link = link_in(&init);
    assert!(
        link.starts_with("https://privacy.example.com/console/setup?t="),
        "{link}"
    );

    let created = ombud(dir.path())
        .args([
            "users",
            "create",
            "--email",
            "dpo@example.fi",
            "--role",
            "dpo",
            "--public-url",
            "https://privacy.example.com",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("(dpo)"))
        .get_output()
        .stdout
        .clone();
    assert_ne!(link_in(&created), link);
    ombud(dir.path())
        .args(["users", "list"])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("admin     invited     root@example.fi").and(
                predicate::str::contains("dpo       invited     dpo@example.fi"),
            ),
        );

    let list = ombud(dir.path())
        .args(["users", "list"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let list = String::from_utf8_lossy(&list);
    let id = list
        .lines()
        .find(|l| l.contains("dpo@example.fi"))
        .and_then(|l| l.split_whitespace().next())
        .expect("the DPO's id")
        .to_owned();
    // A reset hands out a new link (the DPO had none set yet: still invited).
    let reset = ombud(dir.path())
        .args([
            "users",
            "reset",
            &id,
            "--public-url",
            "https://privacy.example.com",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("dpo@example.fi"))
        .get_output()
        .stdout
        .clone();
    assert_ne!(link_in(&reset), link_in(&created));

    // Disabled, the DPO is listed so and cannot be disabled twice.
    ombud(dir.path())
        .args(["users", "disable", &id])
        .assert()
        .success()
        .stdout(predicate::str::contains("disabled"));
    ombud(dir.path())
        .args(["users", "list"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "dpo       disabled    dpo@example.fi",
        ));
    ombud(dir.path())
        .args(["users", "disable", &id])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("disabled already"));
    ombud(dir.path())
        .args(["users", "disable", "not-an-id"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("`not-an-id` is not a user id"));

    // A second init keeps the admin it made.
    ombud(dir.path())
        .arg("init")
        .assert()
        .success()
        .stdout(predicate::str::contains("console/setup").not());

    for (args, says) in [
        (
            vec!["--email", "x@example.fi", "--role", "service"],
            "--role service: give admin, dpo, agent or auditor",
        ),
        (
            vec!["--email", "x@example.fi", "--role", "boss"],
            "--role boss: give admin, dpo, agent or auditor",
        ),
        (
            vec!["--email", "not an address", "--role", "dpo"],
            "--email: ",
        ),
        (
            vec!["--email", "DPO@example.fi", "--role", "agent"],
            "--email: A console user with this address exists already",
        ),
        (
            vec![
                "--email",
                "x@example.fi",
                "--role",
                "dpo",
                "--tenant",
                "nobody",
            ],
            "`nobody` is not a tenant id",
        ),
    ] {
        ombud(dir.path())
            .args(["users", "create"])
            .args(&args)
            .assert()
            .code(2)
            .stderr(predicate::str::contains(says));
    }
}
