//! The shape holds: the application knows no HTTP and reads no environment, and the console
//! reaches the HTTP crate only to serve. These are the invariants ARCHITECTURE.md names; a
//! change that breaks one fails here instead of drifting unnoticed.

use std::path::{Path, PathBuf};

fn crate_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(name)
}

/// Every `.rs` file below `dir`, with its text.
fn sources(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).expect("a source folder") {
            let path = entry.expect("an entry").path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).expect("a source file");
                found.push((path, text));
            }
        }
    }
    found
}

/// The names under `[dependencies]` of a manifest (not dev- or build-dependencies).
fn dependencies(manifest: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut inside = false;
    for line in manifest.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            inside = line == "[dependencies]";
        } else if inside && let Some((name, _)) = line.split_once('=') {
            names.push(name.trim().to_owned());
        }
    }
    names
}

#[test]
fn the_application_depends_on_no_http_crate() {
    let manifest =
        std::fs::read_to_string(crate_dir("app").join("Cargo.toml")).expect("the manifest");
    let names = dependencies(&manifest);
    assert!(names.iter().any(|n| n == "ombud-store"), "{names:?}");
    for http in [
        "axum",
        "hyper",
        "tower",
        "tower-http",
        "http",
        "reqwest",
        "ombud-server",
    ] {
        assert!(
            !names.iter().any(|n| n == http),
            "ombud-app must not depend on {http}"
        );
    }
}

#[test]
fn the_application_reads_no_environment_and_names_no_http_type() {
    for (path, text) in sources(&crate_dir("app").join("src")) {
        for banned in ["std::env", "env::var", "axum::", "StatusCode"] {
            assert!(
                !text.contains(banned),
                "{} mentions {banned}: the application is handed what it needs",
                path.display()
            );
        }
    }
}

#[test]
fn the_console_reaches_the_http_crate_only_to_serve() {
    let mut users = Vec::new();
    for (path, text) in sources(&crate_dir("cli").join("src")) {
        if text.contains("ombud_server") {
            users.push(
                path.file_name()
                    .expect("a name")
                    .to_string_lossy()
                    .into_owned(),
            );
        }
    }
    assert_eq!(users, ["serve_cmd.rs"]);
}
