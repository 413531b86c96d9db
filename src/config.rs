//! Runtime configuration, read from environment variables with safe defaults.

use std::fmt;
use std::path::PathBuf;

/// A secret that never prints.
#[derive(Clone)]
pub struct Secret(Vec<u8>);

impl Secret {
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Everything the service reads from its environment; see the README table.
#[derive(Debug, Clone)]
pub struct Settings {
    pub database_url: String,
    pub bind: String,
    pub data_dir: PathBuf,
    /// `SLOTWISE_JWT_SECRET`; when unset, one is generated and kept in `data_dir`.
    pub jwt_secret: Option<Secret>,
    pub jwt_issuer: String,
    pub jwt_audience: String,
    /// `SLOTWISE_JWT_ES256_KEY_FILE`: a P-256 private key (PEM); when set, tokens
    /// are signed ES256 and its public key is served at `/.well-known/jwks.json`.
    pub jwt_es256_key_file: Option<PathBuf>,
    /// `SLOTWISE_STAFF_JWKS_URL`, `SLOTWISE_STAFF_ISSUER`, `SLOTWISE_STAFF_AUDIENCE`: staff
    /// may log in with tokens of this external identity provider.
    pub staff_idp: Option<StaffIdentityProvider>,
    pub demo: bool,
    pub pool_size: u32,
    pub workers: usize,
    pub log_format_json: bool,
    /// How long a hold blocks its slot.
    pub hold_minutes: i64,
    /// First-contact resolution looks this many days back for a repeat contact.
    pub fcr_window_days: i64,
    /// CORS and the limits put on strangers (anonymous callers).
    pub online: OnlineSettings,
    /// Webhook delivery and customer notifications.
    pub notify: NotifySettings,
    /// How long a body may take and how many connections one address may keep.
    pub clients: ClientLimits,
}

/// What one client may hold of the server: time to send a body, open
/// connections. Without these, a trickled body or a pile of idle sockets
/// from one address kept descriptors until nobody else could connect.
#[derive(Debug, Clone)]
pub struct ClientLimits {
    /// `SLOTWISE_BODY_TIMEOUT_SECS`: a request's body must arrive within this
    /// many seconds of its head, else 408 `request_timeout`; 0 turns it off.
    pub body_timeout_secs: u64,
    /// `SLOTWISE_CONNECTIONS_PER_ADDRESS`: open connections one peer address
    /// may keep (trusted proxies excepted); over it, 429; 0 turns it off.
    pub connections_per_address: u32,
}

impl Default for ClientLimits {
    fn default() -> Self {
        Self {
            body_timeout_secs: 10,
            connections_per_address: 64,
        }
    }
}

impl ClientLimits {
    fn from_env() -> Result<Self, String> {
        let defaults = Self::default();
        Ok(Self {
            body_timeout_secs: env_number(
                "SLOTWISE_BODY_TIMEOUT_SECS",
                defaults.body_timeout_secs,
            )?
            .min(3600),
            connections_per_address: env_number(
                "SLOTWISE_CONNECTIONS_PER_ADDRESS",
                defaults.connections_per_address,
            )?,
        })
    }
}

/// An external identity provider for staff logins, its issuer and audience pinned.
#[derive(Debug, Clone)]
pub struct StaffIdentityProvider {
    pub jwks_url: String,
    pub issuer: String,
    pub audience: String,
}

/// How slotwise tells people: where webhooks may go, and the senders of
/// customer notifications (none configured: recorded as skipped).
#[derive(Debug, Clone)]
pub struct NotifySettings {
    /// `SLOTWISE_WEBHOOK_ALLOW_PRIVATE`: let webhooks reach loopback and private addresses.
    pub webhook_allow_private: bool,
    /// `SLOTWISE_SMTP_URL`, e.g. `smtp://localhost:25` or `smtps://user:pass@mail.example.com`.
    pub smtp_url: Option<String>,
    /// `SLOTWISE_EMAIL_FROM`: the sender of customer email.
    pub email_from: String,
    /// `SLOTWISE_TEXT_URL`: the HTTP adapter for SMS and WhatsApp.
    pub text_url: Option<String>,
    /// `SLOTWISE_TEXT_TOKEN`: bearer token for that adapter.
    pub text_token: Option<String>,
    /// `SLOTWISE_PUBLIC_URL`: where customers reach slotwise's pages (survey links).
    pub public_url: String,
    /// `SLOTWISE_WORKER_INTERVAL_MS`: how often the delivery workers look for due work.
    pub poll_interval_ms: u64,
}

impl Default for NotifySettings {
    fn default() -> Self {
        Self {
            webhook_allow_private: false,
            smtp_url: None,
            email_from: "slotwise <no-reply@localhost>".into(),
            text_url: None,
            text_token: None,
            public_url: format!("http://{DEFAULT_BIND}"),
            poll_interval_ms: 250,
        }
    }
}

impl NotifySettings {
    fn from_env(bind: &str) -> Result<Self, String> {
        let defaults = Self::default();
        Ok(Self {
            webhook_allow_private: env_flag("SLOTWISE_WEBHOOK_ALLOW_PRIVATE", false)?,
            smtp_url: env("SLOTWISE_SMTP_URL"),
            email_from: env("SLOTWISE_EMAIL_FROM").unwrap_or(defaults.email_from),
            text_url: env("SLOTWISE_TEXT_URL"),
            text_token: env("SLOTWISE_TEXT_TOKEN"),
            public_url: env("SLOTWISE_PUBLIC_URL").unwrap_or_else(|| format!("http://{bind}")),
            poll_interval_ms: env_number("SLOTWISE_WORKER_INTERVAL_MS", defaults.poll_interval_ms)?
                .clamp(10, 60_000),
        })
    }
}

/// The online door's settings: who may call from a browser, how much a
/// stranger (a caller without a valid token) may ask for, and how much each
/// partner client may.
#[derive(Debug, Clone)]
pub struct OnlineSettings {
    /// `SLOTWISE_CORS_ORIGINS`: `None` allows any origin (the default, `*`).
    pub cors_origins: Option<Vec<String>>,
    /// `SLOTWISE_TRUSTED_PROXIES`: peers whose `X-Forwarded-For` names the client.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// `SLOTWISE_ANON_REQUESTS_PER_MINUTE`: sustained rate per client address; 0 turns it off.
    pub anonymous_per_minute: u32,
    /// `SLOTWISE_ANON_BURST`: requests a quiet address may send at once.
    pub anonymous_burst: u32,
    /// `SLOTWISE_HOLDS_PER_ADDRESS`: live holds one address may keep per business; 0 turns it off.
    pub holds_per_address: u32,
    /// `SLOTWISE_PARTNER_REQUESTS_PER_MINUTE`: sustained rate per partner client; 0 turns it off.
    pub partner_per_minute: u32,
    /// `SLOTWISE_PARTNER_BURST`: requests a quiet partner client may send at once.
    pub partner_burst: u32,
    /// `SLOTWISE_PARTNER_REQUESTS_PER_DAY`: a partner client's quota per UTC day; 0: none.
    pub partner_per_day: u32,
}

impl Default for OnlineSettings {
    fn default() -> Self {
        Self {
            cors_origins: None,
            trusted_proxies: Vec::new(),
            anonymous_per_minute: 120,
            anonymous_burst: 40,
            holds_per_address: 3,
            partner_per_minute: 600,
            partner_burst: 100,
            partner_per_day: 0,
        }
    }
}

impl OnlineSettings {
    fn from_env() -> Result<Self, String> {
        let defaults = Self::default();
        let cors_origins = match env("SLOTWISE_CORS_ORIGINS") {
            None => None,
            Some(v) if v.trim() == "*" => None,
            Some(v) => Some(
                v.split(',')
                    .map(|o| o.trim().trim_end_matches('/').to_owned())
                    .filter(|o| !o.is_empty())
                    .collect(),
            ),
        };
        let trusted_proxies = match env("SLOTWISE_TRUSTED_PROXIES") {
            None => Vec::new(),
            Some(v) => v
                .split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(|p| {
                    p.parse().map_err(|_| {
                        format!("SLOTWISE_TRUSTED_PROXIES: {p:?} is not an IP address")
                    })
                })
                .collect::<Result<_, _>>()?,
        };
        Ok(Self {
            cors_origins,
            trusted_proxies,
            anonymous_per_minute: env_number(
                "SLOTWISE_ANON_REQUESTS_PER_MINUTE",
                defaults.anonymous_per_minute,
            )?,
            anonymous_burst: env_number("SLOTWISE_ANON_BURST", defaults.anonymous_burst)?,
            holds_per_address: env_number(
                "SLOTWISE_HOLDS_PER_ADDRESS",
                defaults.holds_per_address,
            )?,
            partner_per_minute: env_number(
                "SLOTWISE_PARTNER_REQUESTS_PER_MINUTE",
                defaults.partner_per_minute,
            )?,
            partner_burst: env_number("SLOTWISE_PARTNER_BURST", defaults.partner_burst)?,
            partner_per_day: env_number(
                "SLOTWISE_PARTNER_REQUESTS_PER_DAY",
                defaults.partner_per_day,
            )?,
        })
    }
}

pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/slotwise.db";
pub const DEFAULT_BIND: &str = "127.0.0.1:8080";

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn env_flag(name: &str, default: bool) -> Result<bool, String> {
    match env(name).map(|v| v.to_ascii_lowercase()) {
        None => Ok(default),
        Some(v) if ["1", "true", "yes", "on"].contains(&v.as_str()) => Ok(true),
        Some(v) if ["0", "false", "no", "off"].contains(&v.as_str()) => Ok(false),
        Some(v) => Err(format!("{name}: expected true or false, got {v:?}")),
    }
}

fn env_number<T: std::str::FromStr>(name: &str, default: T) -> Result<T, String> {
    match env(name) {
        None => Ok(default),
        Some(v) => v
            .parse()
            .map_err(|_| format!("{name}: expected a number, got {v:?}")),
    }
}

impl Settings {
    /// A server for tests and benchmarks: a free loopback port, `secret` as
    /// the signing key, webhooks allowed to reach the loopback receivers they
    /// run, and no limits on strangers or on connections per address (one
    /// address sends all the load; the limits have tests of their own).
    pub fn on_loopback(database_url: String, secret: &[u8]) -> Self {
        Self {
            database_url,
            bind: "127.0.0.1:0".into(),
            data_dir: std::env::temp_dir(),
            jwt_secret: Some(Secret::new(secret.to_vec())),
            jwt_issuer: "slotwise".into(),
            jwt_audience: "slotwise-api".into(),
            jwt_es256_key_file: None,
            staff_idp: None,
            demo: false,
            pool_size: 16,
            workers: 2,
            log_format_json: false,
            hold_minutes: 10,
            fcr_window_days: 7,
            notify: NotifySettings {
                webhook_allow_private: true,
                ..Default::default()
            },
            online: OnlineSettings {
                anonymous_per_minute: 0,
                holds_per_address: 0,
                ..Default::default()
            },
            clients: ClientLimits {
                connections_per_address: 0,
                ..Default::default()
            },
        }
    }

    pub fn from_env() -> Result<Self, String> {
        let workers_default = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2);
        Ok(Self {
            database_url: env("DATABASE_URL").unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned()),
            bind: env("SLOTWISE_BIND").unwrap_or_else(|| DEFAULT_BIND.to_owned()),
            data_dir: PathBuf::from(env("SLOTWISE_DATA_DIR").unwrap_or_else(|| "data".to_owned())),
            jwt_secret: env("SLOTWISE_JWT_SECRET").map(|s| Secret::new(s.into_bytes())),
            jwt_issuer: env("SLOTWISE_JWT_ISSUER").unwrap_or_else(|| "slotwise".to_owned()),
            jwt_audience: env("SLOTWISE_JWT_AUDIENCE").unwrap_or_else(|| "slotwise-api".to_owned()),
            jwt_es256_key_file: env("SLOTWISE_JWT_ES256_KEY_FILE").map(PathBuf::from),
            staff_idp: match (
                env("SLOTWISE_STAFF_JWKS_URL"),
                env("SLOTWISE_STAFF_ISSUER"),
                env("SLOTWISE_STAFF_AUDIENCE"),
            ) {
                (None, None, None) => None,
                (Some(jwks_url), Some(issuer), Some(audience)) => Some(StaffIdentityProvider {
                    jwks_url,
                    issuer,
                    audience,
                }),
                _ => {
                    return Err("SLOTWISE_STAFF_JWKS_URL, SLOTWISE_STAFF_ISSUER and \
                                SLOTWISE_STAFF_AUDIENCE go together: set all three or none"
                        .into())
                }
            },
            demo: env_flag("SLOTWISE_DEMO", true)?,
            pool_size: env_number("SLOTWISE_DB_POOL_SIZE", 16)?,
            workers: env_number("SLOTWISE_WORKERS", workers_default)?,
            log_format_json: env("SLOTWISE_LOG_FORMAT").is_some_and(|v| v == "json"),
            hold_minutes: env_number("SLOTWISE_HOLD_MINUTES", 10)?,
            fcr_window_days: env_number(
                "SLOTWISE_FCR_WINDOW_DAYS",
                crate::domain::interactions::DEFAULT_FCR_WINDOW_DAYS,
            )?,
            online: OnlineSettings::from_env()?,
            clients: ClientLimits::from_env()?,
            notify: NotifySettings::from_env(
                &env("SLOTWISE_BIND").unwrap_or_else(|| DEFAULT_BIND.to_owned()),
            )?,
        })
    }

    /// The JWT signing secret: the configured one, else one generated once and
    /// kept in `data_dir/jwt-secret` so `token` and `serve` agree.
    pub fn resolve_jwt_secret(&self) -> Result<Secret, String> {
        if let Some(secret) = &self.jwt_secret {
            if secret.expose().len() < 32 {
                return Err("SLOTWISE_JWT_SECRET must be at least 32 bytes".into());
            }
            return Ok(secret.clone());
        }
        let path = self.data_dir.join("jwt-secret");
        if let Ok(existing) = std::fs::read_to_string(&path) {
            let bytes = hex_decode(existing.trim())
                .ok_or_else(|| format!("{} is not a hex secret", path.display()))?;
            return Ok(Secret::new(bytes));
        }
        std::fs::create_dir_all(&self.data_dir)
            .map_err(|e| format!("cannot create {}: {e}", self.data_dir.display()))?;
        let bytes: [u8; 32] = rand::random();
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        match write_private(&path, &hex) {
            Ok(()) => Ok(Secret::new(bytes.to_vec())),
            // Another process (say `token` beside a starting `serve`) won the race: use its secret.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => self.resolve_jwt_secret(),
            Err(e) => Err(format!("cannot write {}: {e}", path.display())),
        }
    }
}

fn hex_decode(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok())
        .collect()
}

/// Writes `contents` to `path` only if `path` does not exist yet, atomically:
/// the file appears complete or not at all (written aside, then hard-linked).
fn write_private(path: &std::path::Path, contents: &str) -> std::io::Result<()> {
    let aside = path.with_extension(format!("tmp{}", std::process::id()));
    {
        use std::io::Write;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&aside)?;
        file.write_all(contents.as_bytes())?;
        file.sync_all()?;
    }
    let linked = std::fs::hard_link(&aside, path);
    let _ = std::fs::remove_file(&aside);
    linked
}
