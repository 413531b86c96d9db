//! `/v1/clients`: the partner apps a business lets in (admin only). Each
//! client gets a `cli_…` id and a secret shown once (kept as an Argon2id
//! hash), the scopes it may ask for, and can be disabled, which stops its
//! live access tokens at once (see `auth::verify_callers`).

use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::{Principal, Role};
use super::caller::optional_body;
use super::catalog::{check_name, instant, optional_instant};
use super::{blocking, created, if_match, page_response, versioned, PageQuery};
use crate::db::DbPool;
use crate::domain::partners::{check_scopes, hash_secret, new_client_secret, scope_text};
use crate::error::{AppError, FieldErrors};
use crate::store::clients::{ClientChanges, NewClient, PartnerClient};
use crate::store::{self};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/clients", web::get().to(list_clients))
        .route("/v1/clients", web::post().to(create_client))
        .route("/v1/clients/{id}", web::get().to(get_client))
        .route("/v1/clients/{id}", web::patch().to(update_client))
        .route(
            "/v1/clients/{id}/rotate-secret",
            web::post().to(rotate_client_secret),
        );
}

/// How long a replaced secret keeps working unless the rotation says otherwise.
pub const DEFAULT_ROTATION_OVERLAP_MINUTES: i64 = 24 * 60;
/// The longest overlap a rotation may ask for: a week.
pub const MAX_ROTATION_OVERLAP_MINUTES: i64 = 7 * 24 * 60;

/// A partner client; never its secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClientView {
    #[schema(example = "cli_01JD3V6Q8M2X4Z7C9B1N5R3T6W")]
    pub client_id: String,
    #[schema(example = "BookNow marketplace")]
    pub name: String,
    /// What the client may ask for at `POST /v1/oauth/token`.
    #[schema(example = json!(["catalog:read", "availability:read", "bookings:read", "bookings:write"]))]
    pub scopes: Vec<String>,
    /// A disabled client gets no tokens, and the tokens it has stop working.
    pub disabled: bool,
    /// After a rotation, the previous secret works until then.
    #[schema(format = DateTime)]
    pub previous_secret_until: Option<String>,
    pub version: i32,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
}

impl From<&PartnerClient> for ClientView {
    fn from(c: &PartnerClient) -> Self {
        Self {
            client_id: c.id.clone(),
            name: c.name.clone(),
            scopes: c.scope_list(),
            disabled: c.disabled,
            previous_secret_until: optional_instant(c.previous_secret_until),
            version: c.version,
            created_at: instant(c.created_at),
            updated_at: instant(c.updated_at),
        }
    }
}

/// A client with its secret: the only time the secret is shown.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClientWithSecret {
    #[serde(flatten)]
    pub client: ClientView,
    #[schema(example = "cs_Yk3v0cM1kq8o5V0i3s1m9Jx2Qb7n4Lw6Rt8Zp0Ae2Hg")]
    pub client_secret: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateClient {
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    /// Some of `catalog:read`, `availability:read`, `bookings:read`,
    /// `bookings:read:all`, `bookings:write`, `customers:read`,
    /// `events:read`, `webhooks:manage`.
    pub scopes: Vec<String>,
}

impl CreateClient {
    /// The client as registered, every bad field reported at once.
    fn read(self) -> Result<NewClient, AppError> {
        let mut errors = FieldErrors::default();
        let name = check_name(&mut errors, "name", &self.name);
        let scopes = checked_scopes(&mut errors, &self.scopes);
        errors.finish()?;
        Ok(NewClient { name, scopes })
    }
}

fn checked_scopes(errors: &mut FieldErrors, scopes: &[String]) -> String {
    match check_scopes(scopes) {
        Ok(list) if list.is_empty() => {
            errors.add("scopes", "grant at least one scope");
            String::new()
        }
        Ok(list) => scope_text(&list),
        Err(message) => {
            errors.add("scopes", message);
            String::new()
        }
    }
}

/// List the business's partner clients (admin).
#[utoipa::path(
    get, path = "/v1/clients", tag = "partners",
    params(PageQuery),
    responses(
        (status = 200, body = super::Page<ClientView>, headers(("Link" = String, description = "rel=\"next\" page"))),
        (status = 400, response = crate::error::BadRequest),
        (status = 401, response = crate::error::Unauthenticated),
        (status = 403, response = crate::error::Forbidden),
    ),
    security(("bearer" = []))
)]
pub async fn list_clients(
    req: HttpRequest,
    principal: Principal,
    pool: web::Data<DbPool>,
    page: super::PageParams,
) -> Result<HttpResponse, AppError> {
    principal.require(&[Role::Admin])?;
    let page = page.validate()?;
    let request = page.clone();
    let rows = blocking(&pool, move |conn| {
        store::clients::list(conn, &principal.business_id, &request)
    })
    .await?;
    Ok(page_response(
        &req,
        rows,
        &page,
        |c| &c.id,
        |c| ClientView::from(&c),
    ))
}

/// Register a partner app (admin). The answer carries `client_secret`,
/// shown this once; slotwise keeps only its hash.
#[utoipa::path(
    post, path = "/v1/clients", tag = "partners",
    request_body = CreateClient,
    responses(
        (status = 201, body = ClientWithSecret, headers(("Location" = String), ("ETag" = String))),
        (status = 400, response = crate::error::BadRequest),
        (status = 401, response = crate::error::Unauthenticated),
        (status = 403, response = crate::error::Forbidden),
        (status = 422, response = crate::error::ValidationFailed),
    ),
    security(("bearer" = []))
)]
pub async fn create_client(
    principal: Principal,
    pool: web::Data<DbPool>,
    body: super::input::Json<CreateClient>,
) -> Result<HttpResponse, AppError> {
    principal.require(&[Role::Admin])?;
    let new = body.into_inner().read()?;
    let secret = new_client_secret();
    let shown = secret.clone();
    let client = blocking(&pool, move |conn| {
        store::clients::register(conn, &principal.business_id, new, &secret, store::now())
    })
    .await?;
    Ok(created(
        format!("/v1/clients/{}", client.id),
        client.version,
        &ClientWithSecret {
            client: ClientView::from(&client),
            client_secret: shown,
        },
    ))
}

/// Get one partner client (admin); never its secret.
#[utoipa::path(
    get, path = "/v1/clients/{id}", tag = "partners",
    params(("id" = String, Path, description = "Client id")),
    responses(
        (status = 200, body = ClientView, headers(("ETag" = String))),
        (status = 401, response = crate::error::Unauthenticated),
        (status = 403, response = crate::error::Forbidden),
        (status = 404, response = crate::error::NotFound),
    ),
    security(("bearer" = []))
)]
pub async fn get_client(
    principal: Principal,
    pool: web::Data<DbPool>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    principal.require(&[Role::Admin])?;
    let client = blocking(&pool, move |conn| {
        store::clients::find(conn, &principal.business_id, &id)
    })
    .await?;
    Ok(versioned(client.version, &ClientView::from(&client)))
}

/// PATCH body; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateClient {
    #[schema(min_length = 1, max_length = 200)]
    pub name: Option<String>,
    /// Replaces the scopes; live tokens lose the ones taken away at once.
    pub scopes: Option<Vec<String>>,
    /// `true` refuses the client's tokens from the next request on.
    pub disabled: Option<bool>,
}

/// Rename a client, change its scopes, disable or enable it (admin), under `If-Match`.
#[utoipa::path(
    patch, path = "/v1/clients/{id}", tag = "partners",
    params(
        ("id" = String, Path, description = "Client id"),
        ("If-Match" = Option<String>, Header, description = "ETag of the version being changed"),
    ),
    request_body = UpdateClient,
    responses(
        (status = 200, body = ClientView, headers(("ETag" = String))),
        (status = 400, response = crate::error::BadRequest),
        (status = 401, response = crate::error::Unauthenticated),
        (status = 403, response = crate::error::Forbidden),
        (status = 404, response = crate::error::NotFound),
        (status = 412, response = crate::error::VersionMismatch),
        (status = 422, response = crate::error::ValidationFailed),
    ),
    security(("bearer" = []))
)]
pub async fn update_client(
    req: HttpRequest,
    principal: Principal,
    pool: web::Data<DbPool>,
    id: web::Path<String>,
    body: super::input::Json<UpdateClient>,
) -> Result<HttpResponse, AppError> {
    principal.require(&[Role::Admin])?;
    let expected = if_match(req.headers())?;
    let body = body.into_inner();
    let mut errors = FieldErrors::default();
    let changes = ClientChanges {
        name: body.name.map(|n| check_name(&mut errors, "name", &n)),
        scopes: body.scopes.map(|s| checked_scopes(&mut errors, &s)),
        disabled: body.disabled,
    };
    errors.finish()?;
    let client = blocking(&pool, move |conn| {
        store::clients::update(
            conn,
            &principal.business_id,
            &id,
            changes,
            expected,
            store::now(),
        )
    })
    .await?;
    Ok(versioned(client.version, &ClientView::from(&client)))
}

/// Body of a rotation; optional.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateSecret {
    /// How long the previous secret keeps working, 0 to 10080 minutes
    /// (default 1440: a day to roll the new one out).
    #[schema(minimum = 0, maximum = 10080)]
    pub overlap_minutes: Option<i64>,
}

/// Issue a new secret (admin); the previous one keeps working for the
/// overlap, so the partner can switch without an outage.
#[utoipa::path(
    post, path = "/v1/clients/{id}/rotate-secret", tag = "partners",
    params(("id" = String, Path, description = "Client id")),
    request_body(content = Option<RotateSecret>, description = "Optional overlap"),
    responses(
        (status = 200, body = ClientWithSecret, headers(("ETag" = String))),
        (status = 400, response = crate::error::BadRequest),
        (status = 401, response = crate::error::Unauthenticated),
        (status = 403, response = crate::error::Forbidden),
        (status = 404, response = crate::error::NotFound),
        (status = 422, response = crate::error::ValidationFailed),
    ),
    security(("bearer" = []))
)]
pub async fn rotate_client_secret(
    principal: Principal,
    pool: web::Data<DbPool>,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    principal.require(&[Role::Admin])?;
    let body: RotateSecret = optional_body(&body)?;
    let overlap = body
        .overlap_minutes
        .unwrap_or(DEFAULT_ROTATION_OVERLAP_MINUTES);
    if !(0..=MAX_ROTATION_OVERLAP_MINUTES).contains(&overlap) {
        return Err(AppError::invalid_field(
            "overlap_minutes",
            format!("must be between 0 and {MAX_ROTATION_OVERLAP_MINUTES}"),
        ));
    }
    let secret = new_client_secret();
    let shown = secret.clone();
    let client = blocking(&pool, move |conn| {
        let now = store::now();
        let hash = hash_secret(&secret).map_err(AppError::internal)?;
        store::clients::rotate_secret(
            conn,
            &principal.business_id,
            &id,
            &hash,
            now + chrono::Duration::minutes(overlap),
            now,
        )
    })
    .await?;
    Ok(versioned(
        client.version,
        &ClientWithSecret {
            client: ClientView::from(&client),
            client_secret: shown,
        },
    ))
}
