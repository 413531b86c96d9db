//! Unversioned operational endpoints: liveness, readiness, metrics and the API docs.

use actix_web::{web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use super::openapi::ApiDoc;
use crate::db::DbPool;
use crate::telemetry::Metrics;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(healthz))
        .route("/readyz", web::get().to(readyz))
        .route("/metrics", web::get().to(metrics))
        .route("/openapi.json", web::get().to(openapi_json))
        .route("/docs", web::get().to(docs))
        .service(swagger_ui());
}

#[derive(Serialize, ToSchema)]
pub struct Health {
    /// `ok`, or `unavailable` when a dependency is down.
    pub status: String,
    /// Why `unavailable`: `database_unreachable`, or `writes_refused` when the
    /// database answers but will not store anything (full, read-only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Liveness: the process is up and serving.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, body = Health)))]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Health {
        status: "ok".into(),
        reason: None,
    })
}

/// Readiness: the database answers a query and would take a write. A load
/// balancer should send no traffic here while it is 503: with the database
/// full or read-only every booking would fail, though reads still work.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "operations",
    responses(
        (status = 200, body = Health),
        (status = 503, body = Health, description = "Database unreachable, or refusing writes (full, read-only)")
    )
)]
pub async fn readyz(pool: web::Data<DbPool>) -> HttpResponse {
    let pool = pool.clone();
    let refusal = web::block(move || -> Option<&'static str> {
        let Ok(mut conn) = pool.get_timeout(std::time::Duration::from_secs(2)) else {
            return Some("database_unreachable");
        };
        // The probe's first statement is also the reachability check.
        match crate::db::probe_writes(&mut conn) {
            Ok(crate::db::WriteProbe::Accepted) => None,
            Ok(crate::db::WriteProbe::Refused(why)) => {
                tracing::warn!(%why, "not ready: the database refuses writes");
                Some("writes_refused")
            }
            Err(_) => Some("database_unreachable"),
        }
    })
    .await
    .unwrap_or(Some("database_unreachable"));
    match refusal {
        None => HttpResponse::Ok().json(Health {
            status: "ok".into(),
            reason: None,
        }),
        Some(reason) => HttpResponse::ServiceUnavailable().json(Health {
            status: "unavailable".into(),
            reason: Some(reason.into()),
        }),
    }
}

/// Prometheus metrics: request counts and latency histograms by route and status.
#[utoipa::path(get, path = "/metrics", tag = "operations", responses((status = 200, body = String, content_type = "text/plain")))]
pub async fn metrics(metrics: web::Data<Metrics>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(metrics.render())
}

/// This OpenAPI document.
#[utoipa::path(get, path = "/openapi.json", tag = "operations", responses((status = 200, description = "OpenAPI 3.1 document")))]
pub async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(ApiDoc::json())
}

/// `/docs` → `/docs/`, where Swagger UI (served from the binary) reads `/openapi.json`.
pub async fn docs() -> HttpResponse {
    HttpResponse::PermanentRedirect()
        .insert_header((actix_web::http::header::LOCATION, "/docs/"))
        .finish()
}

/// The interactive reference: Swagger UI's files come from the vendored crate,
/// so the page works with no internet and loads no script from elsewhere.
pub fn swagger_ui() -> utoipa_swagger_ui::SwaggerUi {
    utoipa_swagger_ui::SwaggerUi::new("/docs/{_:.*}")
        .config(utoipa_swagger_ui::Config::from("/openapi.json").try_it_out_enabled(true))
}
