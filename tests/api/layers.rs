//! The layers keep to their rooms: the store, the domain rules, the
//! database plumbing and the background workers never reach up into the
//! HTTP layer or the booking path above them, the booking path knows no
//! HTTP, and the domain rules stay free of actix and diesel. Read from the
//! source itself, so a stray `use` fails here rather than in review.

use std::path::{Path, PathBuf};

/// Every `.rs` file under `dir`.
fn sources(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            found.extend(sources(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
    found.sort();
    found
}

/// `file:line: text` for each line of code (not a comment) under `room`
/// that mentions one of `forbidden`.
fn trespasses(room: &str, forbidden: &[&str]) -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src").join(room);
    let mut found = Vec::new();
    for file in sources(&root) {
        let text = std::fs::read_to_string(&file).unwrap();
        for (n, line) in text.lines().enumerate() {
            let code = line.trim_start();
            if code.starts_with("//") {
                continue;
            }
            if forbidden.iter().any(|f| code.contains(f)) {
                found.push(format!("{}:{}: {code}", file.display(), n + 1));
            }
        }
    }
    found
}

#[test]
fn store_domain_db_and_workers_never_import_the_http_layer() {
    for room in ["store", "domain", "db", "workers"] {
        // `db` and the workers run on actix's runtime (its timers, its
        // blocking pool); they use nothing of its HTTP side.
        let forbidden: &[&str] = if room == "db" || room == "workers" {
            &["crate::api", "HttpRequest", "HttpResponse"]
        } else {
            &["crate::api", "actix_web::"]
        };
        let found = trespasses(room, forbidden);
        assert!(
            found.is_empty(),
            "src/{room} reaches into the HTTP layer:\n{}",
            found.join("\n")
        );
    }
}

#[test]
fn the_booking_path_knows_no_http() {
    // Every door calls it: the handlers, and later the workers and partner
    // imports, so it speaks in requesters and requests, not tokens.
    let found = trespasses("booking", &["crate::api", "actix", "Principal"]);
    assert!(
        found.is_empty(),
        "src/booking reaches into the HTTP layer:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_store_and_the_domain_sit_below_the_booking_path() {
    for room in ["store", "domain", "db"] {
        let found = trespasses(room, &["crate::booking"]);
        assert!(
            found.is_empty(),
            "src/{room} calls up into the booking path:\n{}",
            found.join("\n")
        );
    }
}

#[test]
fn domain_rules_are_free_of_actix_and_diesel() {
    let found = trespasses("domain", &["actix", "diesel", "crate::store", "crate::db"]);
    assert!(
        found.is_empty(),
        "src/domain does I/O:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_http_layer_leaves_sql_to_the_store() {
    let found = trespasses("api", &["diesel"]);
    assert!(
        found.is_empty(),
        "src/api runs queries of its own:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_check_itself_sees_a_trespass() {
    // The API layer does import actix: were the scan blind, this would be empty.
    assert!(!trespasses("api", &["actix_web::"]).is_empty());
}
