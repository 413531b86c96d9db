//! Test harness: builds the real application on a free port over a fresh
//! database (SQLite file, or a new PostgreSQL database cloned from a migrated
//! template) and talks to it over HTTP.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::Connection;
use serde_json::Value;
use slotwise::api::auth::{Role, TokenKeys};
use slotwise::app::Application;
use slotwise::config::{Secret, Settings};
use slotwise::db::{self, DatabaseUrl, DbPool};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A response, read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub text: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Asserts an RFC 9457 problem with this status and code, and returns its body.
    pub fn problem(&self, status: u16, code: &str) -> Value {
        assert_eq!(
            self.status, status,
            "unexpected status; body: {}",
            self.text
        );
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json"),
            "{}",
            self.text
        );
        let body = self.json();
        assert_eq!(body["code"], code, "{}", self.text);
        assert_eq!(body["status"], status);
        assert!(
            body["type"].is_string() && body["title"].is_string() && body["detail"].is_string()
        );
        body
    }
}

pub struct TestApp {
    pub backend: Backend,
    pub database_url: String,
    pub base: String,
    pub pool: DbPool,
    pub business: String,
    keys: TokenKeys,
    agent: ureq::Agent,
    server: Option<RunningServer>,
    cleanup: Cleanup,
}

pub enum Cleanup {
    SqliteDir(PathBuf),
    PostgresDatabase(String),
    /// Whoever made the database removes it (a private cluster drops it whole).
    Nothing,
}

/// The signing secret of every test server (also what spawned binaries get).
pub const SECRET: &[u8] = b"test-secret-of-at-least-32-bytes-long!!";

/// Token keys that test servers accept.
pub fn test_keys() -> TokenKeys {
    TokenKeys::hs256(&Secret::new(SECRET.to_vec()), "slotwise", "slotwise-api")
}

impl TestApp {
    /// A running app on `backend`, or `None` when PostgreSQL is not available
    /// here (and `SLOTWISE_TEST_REQUIRE_PG` does not demand it).
    pub fn start(backend: Backend) -> Option<TestApp> {
        let (url, cleanup) = match backend {
            Backend::Sqlite => {
                let dir = std::env::temp_dir()
                    .join(format!("slotwise-test-{}", slotwise::ids::new_id("db")));
                std::fs::create_dir_all(&dir).unwrap();
                (
                    format!("sqlite://{}", dir.join("test.db").display()),
                    Cleanup::SqliteDir(dir),
                )
            }
            Backend::Postgres => {
                let server = postgres_server()?;
                let name = format!("t_{}", slotwise::ids::new_id("db").to_lowercase());
                server.create_database(&name);
                (server.url(&name), Cleanup::PostgresDatabase(name))
            }
        };
        Some(Self::on(backend, url, cleanup))
    }

    /// A running app over the database at `url` (migrated here), with a new business.
    pub fn on(backend: Backend, url: String, cleanup: Cleanup) -> TestApp {
        let pool = db::connect(&DatabaseUrl::parse(&url), 20).expect("pool");
        db::migrate(&mut pool.get().unwrap()).expect("migrations");
        let business = create_business(&pool, "Test business", "Europe/London");
        let keys = test_keys();
        let settings = test_settings(url.clone());
        let server = serve_with(settings, pool.clone(), keys.clone());
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .max_idle_connections_per_host(64)
            .build()
            .into();
        TestApp {
            backend,
            database_url: url,
            base: server.base.clone(),
            pool,
            business,
            keys,
            agent,
            server: Some(server),
            cleanup,
        }
    }

    /// A token for `role` in the app's own business.
    pub fn token(&self, role: Role) -> String {
        self.token_for(&self.business, role)
    }

    pub fn token_for(&self, business: &str, role: Role) -> String {
        self.keys
            .mint(business, role, &format!("test-{}", role.as_str()), "", 30)
            .unwrap()
    }

    pub fn token_with(&self, role: Role, sub: &str, scope: &str, ttl_minutes: i64) -> String {
        self.keys
            .mint(&self.business, role, sub, scope, ttl_minutes)
            .unwrap()
    }

    /// Another tenant in the same database.
    pub fn other_business(&self) -> String {
        create_business(&self.pool, "Other business", "America/New_York")
    }

    pub fn request(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> Reply {
        self.request_at(&self.base, method, path, token, headers, body)
    }

    /// As `request`, against another server (a second API process on the same database).
    pub fn request_at(
        &self,
        base: &str,
        method: &str,
        path: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> Reply {
        let url = format!("{base}{path}");
        let mut builder = ureq::http::Request::builder().method(method).uri(&url);
        if let Some(token) = token {
            builder = builder.header("Authorization", format!("Bearer {token}"));
        }
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        if body.is_some()
            && !headers
                .iter()
                .any(|(n, _)| n.eq_ignore_ascii_case("content-type"))
        {
            builder = builder.header("Content-Type", "application/json");
        }
        let request = builder.body(body.unwrap_or("").to_owned()).unwrap();
        let mut response = self
            .agent
            .run(request)
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
            .collect();
        let text = response.body_mut().read_to_string().unwrap_or_default();
        Reply {
            status,
            headers,
            text,
        }
    }

    pub fn get(&self, path: &str, token: &str) -> Reply {
        self.request("GET", path, Some(token), &[], None)
    }

    pub fn post(&self, path: &str, token: &str, body: &Value) -> Reply {
        self.request("POST", path, Some(token), &[], Some(&body.to_string()))
    }

    pub fn patch(&self, path: &str, token: &str, body: &Value) -> Reply {
        self.request("PATCH", path, Some(token), &[], Some(&body.to_string()))
    }

    pub fn put(&self, path: &str, token: &str, body: &Value) -> Reply {
        self.request("PUT", path, Some(token), &[], Some(&body.to_string()))
    }

    pub fn delete(&self, path: &str, token: &str) -> Reply {
        self.request("DELETE", path, Some(token), &[], None)
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // Stop serving before the database goes away.
        drop(self.server.take());
        match &self.cleanup {
            Cleanup::SqliteDir(dir) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Cleanup::PostgresDatabase(name) => {
                if let Some(server) = postgres_server() {
                    server.drop_database(name);
                }
            }
            Cleanup::Nothing => {}
        }
    }
}

/// The application running on its own thread and runtime; stopped on drop.
pub struct RunningServer {
    pub base: String,
    handle: Option<actix_web::dev::ServerHandle>,
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        if let Some(handle) = self.handle.take() {
            actix_web::rt::System::new().block_on(handle.stop(false));
        }
    }
}

/// Serves the application over `pool` on a free port.
pub fn serve(pool: DbPool) -> RunningServer {
    serve_with(test_settings("unused".into()), pool, test_keys())
}

/// Serves the application over `pool` with these online-door settings
/// (CORS origins, limits on strangers).
pub fn serve_online(pool: DbPool, online: slotwise::config::OnlineSettings) -> RunningServer {
    let mut settings = test_settings("unused".into());
    settings.online = online;
    serve_with(settings, pool, test_keys())
}

/// Serves the application over `pool` with these limits on what one client
/// may hold (body deadline, connections per address).
pub fn serve_clients(pool: DbPool, clients: slotwise::config::ClientLimits) -> RunningServer {
    let mut settings = test_settings("unused".into());
    settings.clients = clients;
    serve_with(settings, pool, test_keys())
}

/// Serves the application over `pool` signing and verifying with `keys`.
pub fn serve_with_keys(pool: DbPool, keys: TokenKeys) -> RunningServer {
    serve_with(test_settings("unused".into()), pool, keys)
}

/// Serves the application over `pool` with these notification settings
/// (whether webhooks may reach private addresses, senders).
pub fn serve_notify(pool: DbPool, notify: slotwise::config::NotifySettings) -> RunningServer {
    let mut settings = test_settings("unused".into());
    settings.notify = notify;
    serve_with(settings, pool, test_keys())
}

/// Serves the application over `pool` as `slotwise serve` does, with its
/// background workers (hold sweeper, webhook delivery, notifications).
pub fn serve_with_workers(pool: DbPool, notify: slotwise::config::NotifySettings) -> RunningServer {
    let mut settings = test_settings("unused".into());
    settings.notify = notify;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let app = Application::build(&settings, pool, test_keys()).expect("app builds");
            tx.send((app.port(), app.handle())).unwrap();
            let _ = app.run().await;
        })
        // The system ends here, and the workers it ran with it.
    });
    let (port, handle) = rx.recv().expect("server started");
    RunningServer {
        base: format!("http://127.0.0.1:{port}"),
        handle: Some(handle),
    }
}

fn test_settings(database_url: String) -> Settings {
    Settings {
        pool_size: 20,
        ..Settings::on_loopback(database_url, SECRET)
    }
}

fn serve_with(settings: Settings, pool: DbPool, keys: TokenKeys) -> RunningServer {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let app = Application::build(&settings, pool, keys).expect("app builds");
            let port = app.port();
            let server = app.into_server();
            tx.send((port, server.handle())).unwrap();
            let _ = server.await;
        })
    });
    let (port, handle) = rx.recv().expect("server started");
    RunningServer {
        base: format!("http://127.0.0.1:{port}"),
        handle: Some(handle),
    }
}

fn create_business(pool: &DbPool, name: &str, timezone: &str) -> String {
    let business = slotwise::store::businesses::Business {
        id: slotwise::ids::new_id("biz"),
        name: name.into(),
        timezone: timezone.into(),
        created_at: slotwise::store::now(),
        slug: Some(
            slotwise::ids::new_id("shop")
                .to_lowercase()
                .replace('_', "-"),
        ),
    };
    slotwise::store::businesses::insert(&mut pool.get().unwrap(), &business).unwrap();
    business.id
}

/// A PostgreSQL server for the whole test process: the one named by
/// `SLOTWISE_TEST_PG_URL`, or a throwaway cluster started here on loopback.
pub struct PgServer {
    /// URL without the database name, e.g. `postgres://postgres@127.0.0.1:5432`.
    root: String,
    create_lock: Mutex<()>,
}

impl PgServer {
    pub fn url(&self, database: &str) -> String {
        format!("{}/{}", self.root, database)
    }

    fn admin(&self) -> diesel::PgConnection {
        diesel::PgConnection::establish(&self.url("postgres"))
            .expect("connect to the postgres database")
    }

    pub fn create_database(&self, name: &str) {
        // One at a time: CREATE DATABASE … TEMPLATE fails while the template is being copied by another.
        let _guard = self.create_lock.lock().unwrap_or_else(|p| p.into_inner());
        self.admin()
            .batch_execute(&format!(
                "CREATE DATABASE {name} TEMPLATE {}",
                template_name()
            ))
            .expect("create test database");
    }

    /// A database with no tables, for tests that migrate it themselves.
    pub fn create_empty_database(&self, name: &str) {
        self.admin()
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .expect("create database");
    }

    pub fn drop_database(&self, name: &str) {
        let _ = self
            .admin()
            .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
    }
}

/// Per test process, so two test runs can share one server.
fn template_name() -> String {
    format!("slotwise_template_{}", std::process::id())
}

static PG: OnceLock<Option<PgServer>> = OnceLock::new();

/// The shared PostgreSQL server, or `None` to skip PostgreSQL tests on a machine without it.
pub fn postgres_server() -> Option<&'static PgServer> {
    PG.get_or_init(|| {
        let root = match std::env::var("SLOTWISE_TEST_PG_URL") {
            Ok(url) if !url.is_empty() => Some(url.trim_end_matches('/').to_owned()),
            _ => start_cluster(),
        };
        let required =
            std::env::var("SLOTWISE_TEST_REQUIRE_PG").is_ok_and(|v| v == "1" || v == "true");
        let Some(root) = root else {
            assert!(
                !required,
                "SLOTWISE_TEST_REQUIRE_PG is set but no PostgreSQL server could be started"
            );
            eprintln!("PostgreSQL server binaries not found: PostgreSQL tests are skipped");
            return None;
        };
        let server = PgServer {
            root,
            create_lock: Mutex::new(()),
        };
        let mut admin = server.admin();
        let template_name = template_name();
        admin
            .batch_execute(&format!(
                "DROP DATABASE IF EXISTS {template_name} WITH (FORCE)"
            ))
            .expect("drop old template database");
        admin
            .batch_execute(&format!("CREATE DATABASE {template_name}"))
            .expect("create template database");
        let mut template = DbConnectionFor::pg(&server.url(&template_name));
        db::migrate(&mut template).expect("migrate template");
        drop(template);
        Some(server)
    })
    .as_ref()
}

struct DbConnectionFor;

impl DbConnectionFor {
    fn pg(url: &str) -> db::DbConnection {
        db::DbConnection::Postgresql(diesel::PgConnection::establish(url).expect("connect"))
    }
}

fn postgres_bindir() -> Option<PathBuf> {
    let from_pg_config = Command::new("pg_config")
        .arg("--bindir")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    let candidates = from_pg_config.into_iter().chain(
        std::fs::read_dir("/usr/lib/postgresql")
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path().join("bin")),
    );
    candidates
        .into_iter()
        .find(|dir| dir.join("initdb").exists() && dir.join("postgres").exists())
}

/// Starts a private cluster in a temporary directory on a free loopback port.
/// A watchdog shell stops it and removes the directory when this process exits.
fn start_cluster() -> Option<String> {
    let bindir = postgres_bindir()?;
    let as_root = Command::new("id")
        .arg("-u")
        .output()
        .ok()
        .is_some_and(|o| o.stdout.starts_with(b"0\n"));
    let dir = std::env::temp_dir().join(format!("slotwise-pg-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).ok()?;
    let port = TcpListener::bind("127.0.0.1:0")
        .ok()?
        .local_addr()
        .ok()?
        .port();
    let data = dir.join("data");
    let wrap = |program: &str| -> Command {
        if as_root {
            // PostgreSQL refuses to run as root.
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--", program]);
            c
        } else {
            Command::new(program)
        }
    };
    if as_root {
        Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(&dir)
            .status()
            .ok()?;
    }
    let initdb = wrap(bindir.join("initdb").to_str()?)
        .args([
            "-D",
            data.to_str()?,
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .ok()?;
    if !initdb.success() {
        eprintln!("initdb failed in {}", dir.display());
        return None;
    }
    let script = format!(
        "{postgres} -D {data} -p {port} -k {dir} -c listen_addresses=127.0.0.1 -c fsync=off \
         -c synchronous_commit=off -c full_page_writes=off -c max_connections=400 >{dir}/log 2>&1 & \
         pg=$!; while [ -d /proc/{parent} ]; do sleep 1; done; kill -INT $pg; wait $pg; rm -rf {dir}",
        postgres = bindir.join("postgres").display(),
        data = data.display(),
        dir = dir.display(),
        parent = std::process::id(),
    );
    let mut watchdog = if as_root {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--", "sh", "-c", &script]);
        c
    } else {
        let mut c = Command::new("sh");
        c.args(["-c", &script]);
        c
    };
    watchdog
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let root = format!("postgres://postgres@127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if diesel::PgConnection::establish(&format!("{root}/postgres")).is_ok() {
            return Some(root);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    eprintln!("PostgreSQL did not start; see {}/log", dir.display());
    None
}

/// Declares each test once and runs it on SQLite and on PostgreSQL.
#[macro_export]
macro_rules! on_both_databases {
    ($(fn $name:ident($app:ident: &TestApp) $body:block)*) => {
        $(
            mod $name {
                #[allow(unused_imports)]
                use super::*;

                fn scenario($app: &$crate::harness::TestApp) $body

                #[test]
                fn sqlite() {
                    let app = $crate::harness::TestApp::start($crate::harness::Backend::Sqlite).expect("sqlite app");
                    scenario(&app);
                }

                #[test]
                fn postgres() {
                    if let Some(app) = $crate::harness::TestApp::start($crate::harness::Backend::Postgres) {
                        scenario(&app);
                    }
                }
            }
        )*
    };
}

/// A connection of its own, outside every pool: what a second process, or
/// the same one after a restart, would read.
pub fn fresh_connection(database_url: &str) -> db::DbConnection {
    match DatabaseUrl::parse(database_url) {
        DatabaseUrl::Postgres(url) => {
            db::DbConnection::Postgresql(diesel::PgConnection::establish(&url).expect("connect"))
        }
        DatabaseUrl::Sqlite(path) => {
            db::DbConnection::Sqlite(diesel::SqliteConnection::establish(&path).expect("open"))
        }
    }
}

/// Runs `n` calls at once (released together by a barrier) and returns their replies.
pub fn race<T: Send>(n: usize, call: impl Fn(usize) -> T + Sync) -> Vec<T> {
    let barrier = std::sync::Barrier::new(n);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..n)
            .map(|i| {
                let (barrier, call) = (&barrier, &call);
                scope.spawn(move || {
                    barrier.wait();
                    call(i)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

type Occupancy = (
    String,
    String,
    chrono::NaiveDateTime,
    chrono::NaiveDateTime,
    bool,
    chrono::NaiveDateTime,
);

/// No resource ever holds more than it can: on a capacity-1 resource, two
/// active occupancies overlap only when both are seats of the same session.
pub fn assert_no_overlap(conn: &mut db::DbConnection) {
    use diesel::prelude::*;
    use slotwise::schema::allocations;
    let mut rows: Vec<Occupancy> = allocations::table
        .filter(allocations::active.eq(true))
        .select((
            allocations::resource_id,
            allocations::service_id,
            allocations::starts_at,
            allocations::ends_at,
            allocations::seat,
            allocations::session_start,
        ))
        .load(conn)
        .unwrap();
    // Sorted by resource and start, an overlap shows between neighbours
    // (or with a longer earlier occupancy, which `reach` remembers).
    rows.sort_by(|a, b| (&a.0, a.2).cmp(&(&b.0, b.2)));
    for (i, a) in rows.iter().enumerate() {
        for b in rows[i + 1..].iter().take_while(|b| b.0 == a.0 && b.2 < a.3) {
            let same_session = a.4 && b.4 && a.1 == b.1 && a.5 == b.5;
            assert!(same_session, "double booked: {a:?} and {b:?}");
        }
    }
}

/// A PostgreSQL cluster of one test's own, which the test may kill with
/// SIGKILL and start again (crash recovery), unlike the shared one.
pub struct PrivateCluster {
    bindir: PathBuf,
    dir: PathBuf,
    port: u16,
    as_root: bool,
    child: Mutex<Option<std::process::Child>>,
}

impl PrivateCluster {
    /// `None` where PostgreSQL's binaries are not installed (and not required).
    pub fn start() -> Option<PrivateCluster> {
        let required =
            std::env::var("SLOTWISE_TEST_REQUIRE_PG").is_ok_and(|v| v == "1" || v == "true");
        let Some(bindir) = postgres_bindir() else {
            assert!(
                !required,
                "SLOTWISE_TEST_REQUIRE_PG is set but initdb is missing"
            );
            eprintln!("PostgreSQL server binaries not found: test skipped");
            return None;
        };
        let as_root = Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| o.stdout.starts_with(b"0\n"));
        let dir = std::env::temp_dir().join(format!(
            "slotwise-pg-private-{}",
            slotwise::ids::new_id("pg").to_lowercase()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let cluster = PrivateCluster {
            bindir,
            dir,
            port,
            as_root,
            child: Mutex::new(None),
        };
        if as_root {
            let chown = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&cluster.dir)
                .status()
                .unwrap();
            assert!(chown.success());
        }
        let initdb = cluster
            .as_postgres(&cluster.bindir.join("initdb"))
            .arg("-D")
            .arg(cluster.dir.join("data"))
            .args(["-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(
            initdb.success(),
            "initdb failed in {}",
            cluster.dir.display()
        );
        cluster.launch();
        Some(cluster)
    }

    fn as_postgres(&self, program: &std::path::Path) -> Command {
        if self.as_root {
            // PostgreSQL refuses to run as root.
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(program);
            c
        } else {
            Command::new(program)
        }
    }

    /// Starts the postmaster and waits until it accepts connections. Commits
    /// are synchronous here, so a killed server keeps every acknowledged one
    /// (fsync stays off: the machine itself does not crash in these tests).
    fn launch(&self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("log"))
            .unwrap();
        let child = self
            .as_postgres(&self.bindir.join("postgres"))
            .arg("-D")
            .arg(self.dir.join("data"))
            .args(["-p", &self.port.to_string(), "-k"])
            .arg(&self.dir)
            .args([
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=on",
            ])
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        *self.child.lock().unwrap() = Some(child);
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if diesel::PgConnection::establish(&self.url("postgres")).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let log = std::fs::read_to_string(self.dir.join("log")).unwrap_or_default();
        panic!("PostgreSQL did not start; its log:\n{log}");
    }

    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    pub fn create_database(&self, name: &str) {
        diesel::PgConnection::establish(&self.url("postgres"))
            .unwrap()
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .unwrap();
    }

    /// SIGKILL to the postmaster and every backend, as a crash would: nothing
    /// is flushed or shut down cleanly.
    pub fn kill(&self) {
        let pid_file = self.dir.join("data").join("postmaster.pid");
        let postmaster = std::fs::read_to_string(&pid_file)
            .ok()
            .and_then(|text| text.lines().next().map(|l| l.trim().to_owned()));
        let deadline = Instant::now() + Duration::from_secs(20);
        if let Some(postmaster) = postmaster {
            // The postmaster first, so it cannot start replacements; then
            // every backend, until none is left.
            loop {
                let mut victims = vec![postmaster.clone()];
                victims.extend(children_of(&postmaster));
                victims.retain(|pid| std::path::Path::new(&format!("/proc/{pid}")).exists());
                if victims.is_empty() || Instant::now() > deadline {
                    break;
                }
                for pid in &victims {
                    let _ = Command::new("kill")
                        .args(["-9", pid])
                        .stderr(Stdio::null())
                        .status();
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        if let Some(mut child) = self.child.lock().unwrap().take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        while Instant::now() < deadline
            && std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok()
        {
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Starts the killed cluster again; PostgreSQL replays its WAL first.
    pub fn restart(&self) {
        self.launch();
    }
}

impl Drop for PrivateCluster {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Process ids whose parent is `parent` (from /proc).
fn children_of(parent: &str) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| {
            let pid = entry.file_name().to_string_lossy().into_owned();
            let stat = std::fs::read_to_string(entry.path().join("stat")).ok()?;
            // The command name may hold spaces; the parent id follows its ')'.
            let after_name = stat.rsplit_once(')')?.1;
            let ppid = after_name.split_whitespace().nth(1)?;
            (ppid == parent).then_some(pid)
        })
        .collect()
}

/// Rows of `sql` (a table, optionally with a `WHERE`), counted on the app's own pool.
pub fn count(app: &TestApp, sql: &str) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    use diesel::RunQueryDsl;
    diesel::sql_query(format!("SELECT COUNT(*) AS n FROM {sql}"))
        .get_result::<Count>(&mut app.pool.get().unwrap())
        .unwrap()
        .n
}
