//! The `slotwise` binary as a user runs it: its subcommands' output and a real `serve`.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use slotwise::api::auth::{Role, TokenKeys};
use slotwise::config::Secret;

use crate::harness::postgres_server;

fn slotwise(dir: &Path, database_url: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_slotwise"));
    command
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", database_url)
        .env("SLOTWISE_DATA_DIR", dir.join("data"));
    command
}

fn stdout_of(command: &mut Command) -> String {
    let output = command.output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

fn scratch_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(slotwise::ids::new_id("cli"));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A `serve` child process killed on drop.
struct Served(Child);

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `serve` on a free port and returns the process, its base URL and the printed lines.
fn serve(mut command: Command) -> (Served, String, Vec<String>) {
    let mut child = command
        .env("SLOTWISE_BIND", "127.0.0.1:0")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let served = Served(child);
    let mut lines = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        let listening = line.starts_with("slotwise listening on ");
        lines.push(line);
        if listening {
            break;
        }
    }
    let last = lines.last().expect("serve printed nothing");
    let base = last
        .trim_start_matches("slotwise listening on ")
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();
    (served, base, lines)
}

fn token_after(lines: &[String], label: &str) -> String {
    lines
        .iter()
        .find(|l| l.starts_with(label))
        .and_then(|l| l.split_whitespace().last())
        .unwrap_or_else(|| panic!("no {label} line in {lines:?}"))
        .to_owned()
}

fn get(base: &str, path: &str, token: &str) -> (u16, serde_json::Value) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut reply = agent
        .get(format!("{base}{path}"))
        .header("Authorization", format!("Bearer {token}"))
        .call()
        .unwrap();
    let status = reply.status().as_u16();
    let text = reply.body_mut().read_to_string().unwrap();
    (status, serde_json::from_str(&text).unwrap_or_default())
}

#[test]
fn business_create_and_token_print_only_their_result() {
    let dir = scratch_dir();
    let url = format!("sqlite://{}", dir.join("cli.db").display());
    let id = stdout_of(slotwise(&dir, &url).args([
        "business",
        "create",
        "--name",
        "Salon",
        "--timezone",
        "Europe/Paris",
    ]));
    let id = id.strip_suffix('\n').expect("one line");
    assert!(
        id.starts_with("biz_") && !id.contains(char::is_whitespace),
        "{id:?}"
    );

    let bad_zone = slotwise(&dir, &url)
        .args([
            "business",
            "create",
            "--name",
            "Salon",
            "--timezone",
            "Paris",
        ])
        .output()
        .unwrap();
    assert!(!bad_zone.status.success() && bad_zone.stdout.is_empty());

    // Without SLOTWISE_JWT_SECRET a secret is generated once and reused.
    let first =
        stdout_of(slotwise(&dir, &url).args(["token", "--business", id, "--role", "agent"]));
    let second = stdout_of(slotwise(&dir, &url).args([
        "token",
        "--business",
        id,
        "--role",
        "desk",
        "--sub",
        "dana",
    ]));
    assert_eq!(first.lines().count(), 1);
    let hex = std::fs::read_to_string(dir.join("data/jwt-secret")).unwrap();
    let bytes: Vec<u8> = (0..hex.trim().len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect();
    assert_eq!(bytes.len(), 32);
    let keys = TokenKeys::hs256(&Secret::new(bytes), "slotwise", "slotwise-api");
    let agent = keys.verify(first.trim()).unwrap();
    assert_eq!((agent.role, agent.business.as_str()), (Role::Agent, id));
    assert_eq!(keys.verify(second.trim()).unwrap().sub, "dana");

    let bad_role = slotwise(&dir, &url)
        .args(["token", "--business", id, "--role", "owner"])
        .output()
        .unwrap();
    assert!(!bad_role.status.success());
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn demo_loads_once_and_openapi_check_catches_a_stale_document() {
    let dir = scratch_dir();
    let url = format!("sqlite://{}", dir.join("cli.db").display());
    assert_eq!(stdout_of(slotwise(&dir, &url).arg("demo")), "biz_demo\n");
    assert_eq!(stdout_of(slotwise(&dir, &url).arg("demo")), "biz_demo\n");

    let document = stdout_of(slotwise(&dir, &url).arg("openapi"));
    std::fs::create_dir_all(dir.join("openapi")).unwrap();
    std::fs::write(dir.join("openapi/openapi.json"), &document).unwrap();
    assert!(slotwise(&dir, &url)
        .args(["openapi", "--check"])
        .status()
        .unwrap()
        .success());
    std::fs::write(
        dir.join("openapi/openapi.json"),
        document.replace("slotwise", "slotwize"),
    )
    .unwrap();
    assert!(!slotwise(&dir, &url)
        .args(["openapi", "--check"])
        .status()
        .unwrap()
        .success());
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn serve_on_a_fresh_machine_creates_the_sqlite_database_and_loads_the_demo() {
    let dir = scratch_dir();
    // The default DATABASE_URL, relative to the working directory.
    let (_server, base, lines) = serve(slotwise(&dir, "sqlite://data/slotwise.db"));
    assert!(dir.join("data/slotwise.db").exists());
    assert!(lines.last().unwrap().contains("/docs"), "{lines:?}");
    let admin = token_after(&lines, "admin token");
    let agent = token_after(&lines, "agent token");
    let (status, services) = get(&base, "/v1/services", &agent);
    assert_eq!(status, 200);
    assert_eq!(services["data"].as_array().unwrap().len(), 4);
    let (_, resources) = get(&base, "/v1/resources", &admin);
    let kinds: Vec<&str> = resources["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.iter().filter(|k| **k == "staff").count(), 3);
    assert_eq!(kinds.iter().filter(|k| **k == "room").count(), 2);
    let (_, location) = get(&base, "/v1/locations/loc_demo_london", &admin);
    assert_eq!(location["timezone"], "Europe/London");
    let (_, hours) = get(&base, "/v1/resources/res_demo_ana/hours", &admin);
    assert!(!hours["intervals"].as_array().unwrap().is_empty());
}

#[test]
fn serve_without_the_demo_starts_empty() {
    let dir = scratch_dir();
    let mut command = slotwise(&dir, "sqlite://data/slotwise.db");
    command.env("SLOTWISE_DEMO", "false");
    let (_server, base, lines) = serve(command);
    assert_eq!(lines.len(), 1, "{lines:?}");
    let id = stdout_of(slotwise(&dir, "sqlite://data/slotwise.db").args([
        "business",
        "create",
        "--name",
        "B",
        "--timezone",
        "UTC",
    ]));
    let token = stdout_of(slotwise(&dir, "sqlite://data/slotwise.db").args([
        "token",
        "--business",
        id.trim(),
        "--role",
        "admin",
    ]));
    let (status, body) = get(&base, "/v1/services", token.trim());
    assert_eq!((status, body["data"].as_array().unwrap().len()), (200, 0));
}

#[test]
fn serve_runs_on_postgresql_with_database_url() {
    let Some(pg) = postgres_server() else { return };
    let name = format!("cli_{}", slotwise::ids::new_id("db").to_lowercase());
    pg.create_empty_database(&name);
    let dir = scratch_dir();
    let (_server, base, lines) = serve(slotwise(&dir, &pg.url(&name)));
    assert!(!dir.join("data/slotwise.db").exists());
    let (status, services) = get(&base, "/v1/services", &token_after(&lines, "agent token"));
    assert_eq!(
        (status, services["data"].as_array().unwrap().len()),
        (200, 4)
    );
    let (ready, _) = get(&base, "/readyz", "");
    assert_eq!(ready, 200);
    drop(_server);
    pg.drop_database(&name);
}

#[test]
fn business_create_takes_the_country_phone_numbers_are_read_in() {
    let dir = scratch_dir();
    let url = format!("sqlite://{}", dir.join("cli.db").display());
    let create = |extra: &[&str]| {
        let mut args = vec![
            "business",
            "create",
            "--name",
            "Salon",
            "--timezone",
            "Europe/Paris",
        ];
        args.extend_from_slice(extra);
        slotwise(&dir, &url).args(args).output().unwrap()
    };
    let bad = create(&["--country", "XX"]);
    assert!(!bad.status.success() && bad.stdout.is_empty());
    let set = create(&["--country", "us"]);
    assert!(
        set.status.success(),
        "{}",
        String::from_utf8_lossy(&set.stderr)
    );
    let from_zone = create(&[]);
    let id_of = |out: &std::process::Output| {
        String::from_utf8(out.stdout.clone())
            .unwrap()
            .trim()
            .to_owned()
    };
    let pool = slotwise::db::connect(&slotwise::db::DatabaseUrl::parse(&url), 1).unwrap();
    let mut conn = pool.get().unwrap();
    let mut settings =
        |id: &str| slotwise::store::businesses::contact_settings(&mut conn, id).unwrap();
    let us = settings(&id_of(&set));
    assert_eq!(
        (us.country.as_deref(), us.phone_country().as_deref()),
        (Some("US"), Some("US"))
    );
    let fr = settings(&id_of(&from_zone));
    assert_eq!(
        (fr.country.as_deref(), fr.phone_country().as_deref()),
        (None, Some("FR"))
    );
    drop(conn);
    let _ = std::fs::remove_dir_all(dir);
}
