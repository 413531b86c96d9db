//! The `slotwise` command line: serve the API, migrate, mint dev tokens, seed the demo.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use slotwise::api::auth::{Role, TokenKeys};
use slotwise::api::openapi::ApiDoc;
use slotwise::app::{open_database, Application};
use slotwise::config::Settings;
use slotwise::store::{self, businesses::Business};
use slotwise::{demo, domain, ids, telemetry};

#[derive(Parser)]
#[command(
    name = "slotwise",
    version,
    about = "One appointment booking API for every channel."
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the HTTP API (the default).
    Serve {
        /// Address to listen on.
        #[arg(long, env = "SLOTWISE_BIND", default_value = slotwise::config::DEFAULT_BIND)]
        bind: String,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// Manage businesses (tenants).
    Business {
        #[command(subcommand)]
        command: BusinessCommand,
    },
    /// Print a signed JWT for development and scripts.
    Token {
        #[arg(long)]
        business: String,
        /// admin, manager, agent, desk, customer or partner.
        #[arg(long)]
        role: Role,
        /// Subject (user, customer or client id); defaults to `dev-<role>`.
        #[arg(long)]
        sub: Option<String>,
        /// Space-separated scopes (for partner tokens).
        #[arg(long, default_value = "")]
        scope: String,
        #[arg(long, default_value_t = 60 * 24)]
        ttl_minutes: i64,
    },
    /// Load the demo business (idempotent) and print its id.
    Demo,
    /// Print the OpenAPI document, or check the committed one.
    Openapi {
        /// Exit non-zero when openapi/openapi.json differs from the code.
        #[arg(long)]
        check: bool,
    },
}

#[derive(Subcommand)]
enum BusinessCommand {
    /// Create a business and print its id.
    Create {
        #[arg(long)]
        name: String,
        /// IANA time zone, e.g. Europe/London.
        #[arg(long)]
        timezone: String,
        /// ISO 3166-1 alpha-2 country national phone numbers are read in
        /// (default: the time zone's country).
        #[arg(long)]
        country: Option<String>,
        /// Public URL name (`/book/SLUG`); default: made from the name.
        #[arg(long)]
        slug: Option<String>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("slotwise: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<(), String> {
    let mut settings = Settings::from_env()?;
    match cli.command.unwrap_or(Command::Serve {
        bind: settings.bind.clone(),
    }) {
        Command::Serve { bind } => {
            settings.bind = bind;
            serve(settings)
        }
        Command::Migrate => {
            open_database(&settings)?;
            println!("migrations applied");
            Ok(())
        }
        Command::Business {
            command:
                BusinessCommand::Create {
                    name,
                    timezone,
                    country,
                    slug,
                },
        } => create_business(&settings, name, timezone, country, slug),
        Command::Token {
            business,
            role,
            sub,
            scope,
            ttl_minutes,
        } => {
            if ttl_minutes <= 0 {
                return Err("--ttl-minutes must be positive".into());
            }
            let keys = token_keys(&settings)?;
            let sub = sub.unwrap_or_else(|| format!("dev-{}", role.as_str()));
            println!("{}", keys.mint(&business, role, &sub, &scope, ttl_minutes)?);
            Ok(())
        }
        Command::Demo => {
            let pool = open_database(&settings)?;
            let mut conn = pool.get().map_err(|e| e.to_string())?;
            println!("{}", demo::load(&mut conn).map_err(|e| e.to_string())?);
            Ok(())
        }
        Command::Openapi { check } => openapi(check),
    }
}

/// `slotwise business create`: checks what it can before opening the
/// database, then takes the slug asked for or a free one made from the name.
fn create_business(
    settings: &Settings,
    name: String,
    timezone: String,
    country: Option<String>,
    slug: Option<String>,
) -> Result<(), String> {
    domain::catalog::parse_time_zone(&timezone)?;
    let country = country
        .map(|c| domain::contact::parse_country(&c).map_err(|e| format!("--country: {e}")))
        .transpose()?;
    if name.trim().is_empty() {
        return Err("--name must not be empty".into());
    }
    let pool = open_database(settings)?;
    let mut conn = pool.get().map_err(|e| e.to_string())?;
    let slug = slug
        .map(|s| domain::catalog::parse_slug(&s).map_err(|e| format!("--slug: {e}")))
        .transpose()?;
    let slug = match slug {
        Some(slug) => slug,
        None => store::businesses::free_slug_for(&mut conn, &name).map_err(|e| e.to_string())?,
    };
    let business = Business {
        id: ids::new_id("biz"),
        name: name.trim().to_owned(),
        timezone,
        created_at: store::now(),
        slug: Some(slug),
    };
    store::businesses::create(&mut conn, &business, country).map_err(|e| e.to_string())?;
    println!("{}", business.id);
    Ok(())
}

/// `slotwise openapi`: prints the document, or with `--check` fails when
/// the committed one differs from the code.
fn openapi(check: bool) -> Result<(), String> {
    let generated = ApiDoc::json();
    if !check {
        print!("{generated}");
        return Ok(());
    }
    let committed = std::fs::read_to_string("openapi/openapi.json")
        .map_err(|e| format!("cannot read openapi/openapi.json: {e}"))?;
    if committed == generated {
        Ok(())
    } else {
        Err("openapi/openapi.json differs from the code; run `slotwise openapi > openapi/openapi.json`".into())
    }
}

fn token_keys(settings: &Settings) -> Result<TokenKeys, String> {
    let secret = settings.resolve_jwt_secret()?;
    let keys = TokenKeys::hs256(&secret, &settings.jwt_issuer, &settings.jwt_audience);
    let keys = match &settings.jwt_es256_key_file {
        None => keys,
        Some(path) => {
            let pem = std::fs::read(path)
                .map_err(|e| format!("SLOTWISE_JWT_ES256_KEY_FILE {}: {e}", path.display()))?;
            keys.with_es256_pem(&pem)?
        }
    };
    match &settings.staff_idp {
        None => Ok(keys),
        Some(idp) => {
            // Read once at start: a provider that rotates its keys needs a
            // restart here (noted in the README).
            let jwks = ureq::get(&idp.jwks_url)
                .call()
                .and_then(|mut r| r.body_mut().read_to_string())
                .map_err(|e| format!("SLOTWISE_STAFF_JWKS_URL {}: {e}", idp.jwks_url))?;
            keys.with_staff_idp(&jwks, &idp.issuer, &idp.audience)
        }
    }
}

fn serve(settings: Settings) -> Result<(), String> {
    telemetry::init_logging(settings.log_format_json);
    let served = serve_logging(settings);
    // Log lines are written by a thread of their own: let it finish.
    telemetry::flush_logs();
    served
}

fn serve_logging(settings: Settings) -> Result<(), String> {
    let pool = open_database(&settings)?;
    let keys = token_keys(&settings)?;
    if settings.demo {
        let mut conn = pool.get().map_err(|e| e.to_string())?;
        let business = demo::load(&mut conn).map_err(|e| e.to_string())?;
        let admin = keys.mint(&business, Role::Admin, "demo-admin", "", 60 * 24)?;
        let agent = keys.mint(&business, Role::Agent, "demo-agent", "", 60 * 24)?;
        println!("demo business {business} is loaded (SLOTWISE_DEMO=false turns this off)");
        println!("admin token (24 h): {admin}");
        println!("agent token (24 h): {agent}");
    }
    let app = Application::build(&settings, pool, keys)?;
    let address = display_addr(&settings.bind, app.port());
    println!("slotwise listening on http://{address}  docs: http://{address}/docs");
    actix_web::rt::System::new()
        .block_on(app.run())
        .map_err(|e| e.to_string())
}

fn display_addr(bind: &str, port: u16) -> String {
    let host = bind.rsplit_once(':').map(|(h, _)| h).unwrap_or(bind);
    let host = if host == "0.0.0.0" || host.is_empty() {
        "127.0.0.1"
    } else {
        host
    };
    format!("{host}:{port}")
}
