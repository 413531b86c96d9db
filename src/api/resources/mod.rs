//! `/v1/resources`: the staff, rooms and equipment that get booked, with their
//! weekly hours and time off. This file holds the routes and the checks a
//! create and an update share; each action has its own file.

pub mod create;
pub mod delete;
pub mod find;
pub mod hours;
pub mod time_off;
pub mod update;
pub mod views;

use actix_web::web;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::domain::catalog::ResourceKind;
use crate::error::FieldErrors;
use crate::store::stored::Stored;

pub fn routes(cfg: &mut web::ServiceConfig) {
    use self::{create::*, delete::*, find::*, hours::*, time_off::*, update::*};
    cfg.route("/v1/resources", web::get().to(list_resources))
        .route("/v1/resources", web::post().to(create_resource))
        .route("/v1/resources/{id}", web::get().to(get_resource))
        .route("/v1/resources/{id}", web::patch().to(update_resource))
        .route("/v1/resources/{id}", web::delete().to(delete_resource))
        .route("/v1/resources/{id}/hours", web::get().to(get_hours))
        .route("/v1/resources/{id}/hours", web::put().to(replace_hours))
        .route("/v1/resources/{id}/time-off", web::get().to(list_time_off))
        .route(
            "/v1/resources/{id}/time-off",
            web::post().to(create_time_off),
        )
        .route(
            "/v1/resources/{id}/time-off/{time_off_id}",
            web::delete().to(delete_time_off),
        );
}

/// The kind asked for; an unknown one is reported (and so never stored).
fn check_kind(errors: &mut FieldErrors, kind: &str) -> Stored<ResourceKind> {
    match ResourceKind::parse(kind) {
        Some(known) => known.into(),
        None => {
            errors.add("kind", "must be staff, room or equipment");
            Stored::Unknown(kind.to_owned())
        }
    }
}

fn check_capacity(errors: &mut FieldErrors, capacity: i64) -> i32 {
    if !(1..=10_000).contains(&capacity) {
        errors.add("capacity", "must be between 1 and 10000");
    }
    capacity.clamp(1, 10_000) as i32
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LocationFilter {
    /// Only objects of this location.
    pub location_id: Option<String>,
}
