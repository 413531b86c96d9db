//! `/v1/feedback`: the customer's answer after a completed visit — NPS,
//! customer effort and a comment — once per visit.

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use utoipa::ToSchema;

use super::auth::{MaybePrincipal, Principal, Role};
use super::blocking;
use super::catalog::check_optional_text;
use super::customers::{feedback_view, FeedbackView};
use crate::db::DbPool;
use crate::error::{AppError, FieldErrors};
use crate::store::feedback::{Answering, AnsweringCustomer};
use crate::store::{self};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/feedback", web::post().to(submit_feedback))
        .route("/v1/feedback/{id}", web::get().to(get_feedback));
}

/// An answer, with the feedback token from the request (no account needed),
/// or with a customer bearer token and the booking it is about.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubmitFeedback {
    /// The token of the feedback request (from the `feedback.requested` event).
    pub token: Option<String>,
    /// With a customer bearer token: the completed booking.
    pub booking_id: Option<String>,
    /// How likely to recommend us, 0 (not at all) to 10 (extremely).
    #[schema(minimum = 0, maximum = 10)]
    pub nps: i64,
    /// How easy it was, 1 (very easy) to 7 (very hard).
    #[schema(minimum = 1, maximum = 7)]
    pub effort: i64,
    #[schema(max_length = 2000)]
    pub comment: Option<String>,
}

/// An answer read and checked, and which request it is for.
struct Answer {
    about: Answering,
    nps: i32,
    effort: i32,
    comment: Option<String>,
}

/// The customer answering with their bearer token, if any; staff and
/// partners may not answer at all (403).
fn answering_customer(maybe: MaybePrincipal) -> Result<Option<AnsweringCustomer>, AppError> {
    match maybe.0 {
        Some(p) if p.role == Role::Customer => Ok(Some(AnsweringCustomer {
            business_id: p.business_id,
            customer_id: p.subject,
        })),
        Some(_) => Err(AppError::forbidden(
            "Feedback is the customer's to give; staff and partners may not.",
        )),
        None => Ok(None),
    }
}

impl SubmitFeedback {
    /// Reads the answer: 401 when nothing says who answers, then every bad
    /// field at once.
    fn read(self, customer: Option<AnsweringCustomer>) -> Result<Answer, AppError> {
        let present = |v: Option<String>| v.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let (token, booking_id) = (present(self.token), present(self.booking_id));
        if token.is_none() && customer.is_none() {
            return Err(AppError::unauthenticated(
                "Send the feedback token, or a customer bearer token with booking_id.",
            ));
        }
        let mut errors = FieldErrors::default();
        errors.check(
            (0..=10).contains(&self.nps),
            "nps",
            "must be between 0 and 10",
        );
        errors.check(
            (1..=7).contains(&self.effort),
            "effort",
            "must be between 1 and 7",
        );
        errors.check(
            token.is_some() || booking_id.is_some(),
            "booking_id",
            "say which booking the feedback is about",
        );
        let comment = check_optional_text(&mut errors, "comment", self.comment, 2000);
        errors.finish()?;
        let about = match (token, customer, booking_id) {
            (Some(token), customer, _) => Answering::Token { token, customer },
            (None, Some(customer), Some(booking_id)) => Answering::Booking {
                customer,
                booking_id,
            },
            // Refused above: neither a token nor a customer is 401, a
            // customer without a booking a field error.
            _ => return Err(AppError::unauthenticated("Send the feedback token.")),
        };
        Ok(Answer {
            about,
            nps: self.nps as i32,
            effort: self.effort as i32,
            comment,
        })
    }
}

/// Answer a feedback request: once per booking (a second answer is 409
/// `feedback_already_given`). Staff and partner tokens may not answer (403);
/// without a feedback token or a customer token the call is 401.
#[utoipa::path(
    post, path = "/v1/feedback", tag = "feedback",
    request_body = SubmitFeedback,
    responses(
        (status = 201, body = FeedbackView, headers(("Location" = String))),
        (status = 400, response = crate::error::BadRequest),
        (status = 401, response = crate::error::Unauthenticated),
        (status = 403, response = crate::error::Forbidden),
        (status = 404, response = crate::error::NotFound),
        (status = 409, response = crate::error::Conflict),
        (status = 422, response = crate::error::ValidationFailed),
    ),
    security((), ("bearer" = []))
)]
pub async fn submit_feedback(
    maybe: MaybePrincipal,
    pool: web::Data<DbPool>,
    body: super::input::Json<SubmitFeedback>,
) -> Result<HttpResponse, AppError> {
    let customer = answering_customer(maybe)?;
    let answer = body.into_inner().read(customer)?;
    let given = blocking(&pool, move |conn| {
        let request = store::feedback::request_answered(conn, &answer.about)?;
        let (nps, effort, comment) = (answer.nps, answer.effort, answer.comment);
        store::feedback::submit(conn, &request.id, nps, effort, comment, store::now())
    })
    .await?;
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/v1/feedback/{}", given.id)))
        .json(feedback_view(given)))
}

/// Read one answer (staff; a customer token: its own).
#[utoipa::path(
    get, path = "/v1/feedback/{id}", tag = "feedback",
    params(("id" = String, Path, description = "Feedback id")),
    responses(
        (status = 200, body = FeedbackView),
        (status = 401, response = crate::error::Unauthenticated),
        (status = 403, response = crate::error::Forbidden),
        (status = 404, response = crate::error::NotFound),
    ),
    security(("bearer" = []))
)]
pub async fn get_feedback(
    principal: Principal,
    pool: web::Data<DbPool>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    if principal.role != Role::Customer {
        principal.require(Principal::STAFF)?;
    }
    let answer = blocking(&pool, move |conn| {
        let answer = store::feedback::find(conn, &principal.business_id, &id)?;
        if principal.role == Role::Customer && answer.customer_id != principal.subject {
            return Err(AppError::not_found("feedback"));
        }
        Ok(answer)
    })
    .await?;
    Ok(HttpResponse::Ok().json(feedback_view(answer)))
}
