//! Shared by the console tests: the binary run against a data directory and, for a real
//! `ombud serve`, one HTTP/1.1 request on a fresh connection and the address and bootstrap key
//! the server prints when it starts. Each test file uses some of them.
#![allow(dead_code)]

use std::io::{BufRead, Read, Write};

pub fn request(address: &str, method: &str, path: &str, key: &str, body: Option<&str>) -> String {
    let mut stream = std::net::TcpStream::connect(address).expect("connects");
    let body = body.unwrap_or("");
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {key}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("sends");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("reads");
    response
}

/// Reads the server's first lines up to the bootstrap admin key: (address, key).
pub fn banner(stdout: &mut impl BufRead) -> (String, String) {
    let mut printed = String::new();
    while !printed.contains("ombud_sk_") {
        let mut line = String::new();
        if stdout.read_line(&mut line).expect("reads") == 0 {
            break;
        }
        printed.push_str(&line);
    }
    let address = printed
        .split("http://")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .expect("address")
        .to_owned();
    let key = printed
        .split_whitespace()
        .find(|w| w.starts_with("ombud_sk_"))
        .expect("admin key")
        .to_owned();
    (address, key)
}

/// The binary run in `dir` as its data directory, with `master` as the master key and no
/// other store or policy from the environment.
pub fn console(dir: &std::path::Path, master: &str) -> assert_cmd::Command {
    let mut command = assert_cmd::Command::cargo_bin("ombud").expect("binary");
    command
        .current_dir(dir)
        .env("OMBUD_MASTER_KEY", master)
        .env_remove("OMBUD_DATABASE_URL")
        .env_remove("OMBUD_POLICY")
        .env("OMBUD_DATA_DIR", dir);
    command
}
