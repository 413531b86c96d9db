//! Builds the running service from settings: database, keys, HTTP server.
//! Tests build the very same application on port 0.

use std::net::TcpListener;

use actix_web::dev::Server;
use actix_web::{middleware, web, App, HttpServer};

use crate::api::{self, auth::TokenKeys};
use crate::config::Settings;
use crate::db::{self, DatabaseUrl, DbPool};
use crate::telemetry::{self, Metrics};

/// Opens the pool for the configured database and applies pending migrations.
pub fn open_database(settings: &Settings) -> Result<DbPool, String> {
    let url = DatabaseUrl::parse(&settings.database_url);
    let pool = db::connect(&url, settings.pool_size)?;
    let mut conn = pool
        .get()
        .map_err(|e| format!("cannot connect to the database: {e}"))?;
    db::migrate(&mut conn)?;
    Ok(pool)
}

/// CORS for browsers on other origins (the widget on the business's own
/// site): bearer tokens only, so never credentials; the headers a client
/// follows up with are exposed.
fn cors(origins: Option<&[String]>) -> actix_cors::Cors {
    use actix_web::http::header;
    let mut cors = actix_cors::Cors::default()
        .allow_any_method()
        .allow_any_header()
        .expose_headers([
            header::ETAG,
            header::LOCATION,
            header::LINK,
            header::RETRY_AFTER,
            // The widget's hold countdown reads the server's clock from it.
            header::DATE,
            header::HeaderName::from_static("idempotent-replayed"),
        ])
        .max_age(600);
    match origins {
        None => cors = cors.allow_any_origin().send_wildcard(),
        Some(list) => {
            for origin in list {
                cors = cors.allowed_origin(origin);
            }
        }
    }
    cors
}

/// A bound, not yet running, HTTP server.
pub struct Application {
    port: u16,
    server: Server,
    pool: web::Data<DbPool>,
    notify: crate::config::NotifySettings,
    senders: std::sync::Arc<crate::workers::senders::Senders>,
}

/// What every worker's handlers share: the pool, the keys, the limits and
/// the counters, built once from the settings.
#[derive(Clone)]
struct Shared {
    pool: web::Data<DbPool>,
    strangers: web::Data<api::strangers::StrangerLimits>,
    partner_limits: web::Data<api::oauth::PartnerLimits>,
    keys: web::Data<TokenKeys>,
    metrics: web::Data<Metrics>,
    booking_settings: web::Data<api::BookingSettings>,
    contact_rules: web::Data<api::ContactRules>,
    known_businesses: web::Data<api::auth::KnownBusinesses>,
    notify: web::Data<crate::config::NotifySettings>,
    client_limits: web::Data<crate::config::ClientLimits>,
}

impl Shared {
    fn new(settings: &Settings, pool: DbPool, keys: TokenKeys) -> Self {
        Self {
            pool: web::Data::new(pool),
            strangers: web::Data::new(api::strangers::StrangerLimits::new(settings.online.clone())),
            partner_limits: web::Data::new(api::oauth::PartnerLimits::new(&settings.online)),
            keys: web::Data::new(keys),
            metrics: web::Data::new(Metrics::default()),
            booking_settings: web::Data::new(api::BookingSettings {
                hold_ttl: chrono::Duration::minutes(settings.hold_minutes.clamp(1, 24 * 60)),
            }),
            contact_rules: web::Data::new(api::ContactRules {
                fcr_window: chrono::Duration::days(settings.fcr_window_days.clamp(1, 366)),
            }),
            known_businesses: web::Data::new(api::auth::KnownBusinesses::default()),
            notify: web::Data::new(settings.notify.clone()),
            client_limits: web::Data::new(settings.clients.clone()),
        }
    }
}

impl Application {
    /// Binds `settings.bind` (port 0 picks a free port) and prepares the server.
    pub fn build(settings: &Settings, pool: DbPool, keys: TokenKeys) -> Result<Self, String> {
        let listener = TcpListener::bind(&settings.bind)
            .map_err(|e| format!("cannot bind {}: {e}", settings.bind))?;
        let port = listener.local_addr().map_err(|e| e.to_string())?.port();
        let shared = Shared::new(settings, pool, keys);
        let sweep_pool = shared.pool.clone();
        let senders = std::sync::Arc::new(crate::workers::senders::Senders::from_settings(
            &settings.notify,
        )?);
        let cors_origins = settings.online.cors_origins.clone();
        let connections = api::slow_clients::ConnectionCounts::new(
            &settings.clients,
            settings.online.trusted_proxies.clone(),
        );
        let server = HttpServer::new(move || {
            App::new()
                .app_data(shared.pool.clone())
                .app_data(shared.strangers.clone())
                .app_data(shared.partner_limits.clone())
                .app_data(shared.keys.clone())
                .app_data(shared.metrics.clone())
                .app_data(shared.booking_settings.clone())
                .app_data(shared.contact_rules.clone())
                .app_data(shared.known_businesses.clone())
                .app_data(shared.notify.clone())
                .app_data(shared.client_limits.clone())
                .wrap(middleware::from_fn(api::methods::answer_methods))
                .wrap(middleware::from_fn(
                    api::idempotency::honour_idempotency_keys,
                ))
                .wrap(middleware::from_fn(
                    api::text_input::refuse_control_characters,
                ))
                .wrap(middleware::from_fn(api::strangers::limit_strangers))
                .wrap(middleware::from_fn(api::oauth::limit_partners))
                .wrap(middleware::from_fn(api::auth::verify_callers))
                .wrap(middleware::from_fn(
                    api::slow_clients::hold_clients_to_limits,
                ))
                .wrap(middleware::from_fn(telemetry::observe_requests))
                // Outermost, so every answer (a 429 too) is readable by the widget.
                .wrap(cors(cors_origins.as_deref()))
                .configure(api::routes)
        })
        .on_connect(move |connection, data| {
            if let Some(counts) = &connections {
                counts.on_connect(connection, data);
            }
        })
        .workers(settings.workers.max(1))
        .listen(listener)
        .map_err(|e| e.to_string())?
        .run();
        Ok(Self {
            port,
            server,
            pool: sweep_pool,
            notify: settings.notify.clone(),
            senders,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops the server (and with it `run`'s workers) from elsewhere.
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    /// Serves until the process is told to stop, with the background workers.
    pub async fn run(self) -> std::io::Result<()> {
        actix_web::rt::spawn(crate::workers::sweep_lapsed_holds(
            self.pool.clone(),
            std::time::Duration::from_secs(30),
        ));
        actix_web::rt::spawn(crate::workers::prune_idempotency_records(
            self.pool.clone(),
            std::time::Duration::from_secs(60 * 60),
        ));
        let every = std::time::Duration::from_millis(self.notify.poll_interval_ms);
        actix_web::rt::spawn(crate::workers::deliver_webhooks(
            self.pool.clone(),
            std::sync::Arc::new(crate::workers::webhooks::Outbound::new(
                self.notify.webhook_allow_private,
            )),
            every,
        ));
        actix_web::rt::spawn(crate::workers::send_notifications(
            self.pool.clone(),
            self.senders.clone(),
            every,
        ));
        self.server.await
    }

    /// Hands the server to the caller (tests run it on their own runtime).
    pub fn into_server(self) -> Server {
        self.server
    }
}
