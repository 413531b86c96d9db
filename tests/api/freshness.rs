//! What the speed work must not cost: a catalog change made through one API
//! process is what another process's very next availability read answers
//! (nothing serves a stale copy of the catalog), and the log thread still
//! writes one line per request, all of them, before `serve` exits.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use slotwise::api::auth::Role;

use crate::harness::{TestApp, SECRET};
use crate::on_both_databases;
use crate::shop::open;

/// A second API process, the real binary, on the test app's database.
struct OtherProcess {
    child: Child,
    base: String,
}

impl OtherProcess {
    fn start(database_url: &str, data_dir: &Path) -> Self {
        let log = std::fs::File::create(data_dir.join("other.log")).unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_slotwise"))
            .args(["serve", "--bind", "127.0.0.1:0"])
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("DATABASE_URL", database_url)
            .env("SLOTWISE_DATA_DIR", data_dir)
            .env("SLOTWISE_JWT_SECRET", std::str::from_utf8(SECRET).unwrap())
            .env("SLOTWISE_DEMO", "false")
            .env("SLOTWISE_WORKERS", "1")
            .env("SLOTWISE_DB_POOL_SIZE", "2")
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let base = loop {
            let line = lines
                .next()
                .expect("serve exited before listening")
                .unwrap();
            if let Some(rest) = line.strip_prefix("slotwise listening on ") {
                break rest.split_whitespace().next().unwrap().to_owned();
            }
        };
        std::thread::spawn(move || lines.for_each(drop));
        Self { child, base }
    }

    /// SIGTERM, and wait for the process to finish.
    fn terminate(mut self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(60);
        while self.child.try_wait().unwrap().is_none() {
            assert!(Instant::now() < deadline, "serve ignored SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for OtherProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Every resource any slot of the answer offers.
fn offered(answer: &Value) -> Vec<String> {
    let mut ids: Vec<String> = answer["days"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|d| d["slots"].as_array().unwrap().iter())
        .flat_map(|s| s["choices"].as_array().unwrap().iter())
        .flat_map(|group| group.as_array().unwrap().iter())
        .map(|id| id.as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

on_both_databases! {
    fn a_catalog_change_through_one_process_is_seen_by_the_next_read_of_another(app: &TestApp) {
        let shop = open(app);
        let dir = tempdir_for(app);
        let other = OtherProcess::start(&app.database_url, &dir);
        let (admin, agent) = (app.token(Role::Admin), app.token(Role::Agent));
        let day = (chrono::Utc::now() + chrono::Duration::days(3)).date_naive();
        let path = format!("/v1/availability?service_id={}&from={day}&to={day}", shop.haircut);
        let read = || {
            let reply = app.request_at(&other.base, "GET", &path, Some(&agent), &[], None);
            assert_eq!(reply.status, 200, "{}", reply.text);
            reply.json()
        };
        let before = read();
        assert_eq!(offered(&before), {
            let mut both = vec![shop.ana.clone(), shop.ben.clone()];
            both.sort();
            both
        });

        // Ana stops working: the other process's next answer has no Ana.
        let reply = app.request(
            "PUT",
            &format!("/v1/resources/{}/hours", shop.ana),
            Some(&admin),
            &[],
            Some(&json!({"intervals": []}).to_string()),
        );
        assert_eq!(reply.status, 200, "{}", reply.text);
        assert_eq!(offered(&read()), vec![shop.ben.clone()]);

        // Ben is archived: the service has nobody left to deliver it.
        let reply = app.request(
            "DELETE",
            &format!("/v1/resources/{}", shop.ben),
            Some(&admin),
            &[],
            None,
        );
        assert!(reply.status == 204 || reply.status == 200, "{}", reply.text);
        assert!(offered(&read()).is_empty());

        // The service is paused: the other process says so at once.
        let reply = app.request(
            "POST",
            &format!("/v1/services/{}/pause", shop.haircut),
            Some(&admin),
            &[],
            Some(&json!({"reason": "Boiler repair"}).to_string()),
        );
        assert_eq!(reply.status, 200, "{}", reply.text);
        let paused = app.request_at(&other.base, "GET", &path, Some(&agent), &[], None);
        let problem = paused.problem(409, "paused");
        assert!(problem.to_string().contains("Boiler repair"), "{problem}");

        // Its log has one line per request it served, all of them, once it
        // has stopped (the log thread writes the last ones on the way out).
        other.terminate();
        let log = std::fs::read_to_string(dir.join("other.log")).unwrap();
        let served = log.lines().filter(|l| l.contains("served") && l.contains("/v1/availability")).count();
        assert_eq!(served, 4, "{log}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// A folder of the test's own for the other process's data and log.
fn tempdir_for(app: &TestApp) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "slotwise-freshness-{}-{}",
        app.business,
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
