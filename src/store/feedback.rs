//! Feedback: a request for every completed visit (created in the transaction
//! that completes it) and the customer's one answer to it.

use base64::Engine;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::json;

use super::bookings::Booking;
use super::events;
use crate::db::DbConnection;
use crate::error::AppError;
use crate::schema::{feedback, feedback_requests};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = feedback_requests)]
pub struct FeedbackRequest {
    pub id: String,
    pub business_id: String,
    pub booking_id: String,
    pub customer_id: String,
    /// The capability to answer without an account; sent to the customer by
    /// whoever consumes the `feedback.requested` event.
    pub token: String,
    pub created_at: NaiveDateTime,
    pub responded_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = feedback)]
pub struct Feedback {
    pub id: String,
    pub business_id: String,
    pub request_id: String,
    pub booking_id: String,
    pub customer_id: String,
    pub nps: i32,
    pub effort: i32,
    pub comment: Option<String>,
    pub created_at: NaiveDateTime,
}

fn new_token() -> String {
    let bytes: [u8; 24] = rand::random();
    format!(
        "fbt_{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

/// Asks the booking's customer for feedback, once per booking. Call it in the
/// transaction that completes the booking.
pub fn request_for_completed(
    conn: &mut DbConnection,
    booking: &Booking,
    at: NaiveDateTime,
) -> QueryResult<()> {
    let exists = feedback_requests::table
        .filter(feedback_requests::booking_id.eq(&booking.id))
        .count()
        .get_result::<i64>(conn)?
        > 0;
    if exists {
        return Ok(());
    }
    let request = FeedbackRequest {
        id: crate::ids::new_id("fbr"),
        business_id: booking.business_id.to_string(),
        booking_id: booking.id.to_string(),
        customer_id: booking.customer_id.to_string(),
        token: new_token(),
        created_at: at,
        responded_at: None,
    };
    diesel::insert_into(feedback_requests::table)
        .values(&request)
        .execute(conn)?;
    events::append(
        conn,
        &booking.business_id,
        "feedback.requested",
        &request.id,
        &json!({
            "feedback_request_id": request.id,
            "booking_id": booking.id,
            "customer_id": booking.customer_id,
            "token": request.token,
        }),
        at,
    )
}

/// The request a feedback token stands for (any business: the token says which).
pub fn request_by_token(conn: &mut DbConnection, token: &str) -> Result<FeedbackRequest, AppError> {
    feedback_requests::table
        .filter(feedback_requests::token.eq(token))
        .select(FeedbackRequest::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| AppError::not_found("feedback request"))
}

/// The request for a booking of this customer (404 for anyone else's booking,
/// and for a booking not completed yet).
pub fn request_for_booking(
    conn: &mut DbConnection,
    business: &str,
    booking_id: &str,
    customer_id: &str,
) -> Result<FeedbackRequest, AppError> {
    feedback_requests::table
        .filter(feedback_requests::business_id.eq(business))
        .filter(feedback_requests::booking_id.eq(booking_id))
        .filter(feedback_requests::customer_id.eq(customer_id))
        .select(FeedbackRequest::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| AppError::not_found("feedback request"))
}

/// A customer answering with their own bearer token.
#[derive(Debug, Clone)]
pub struct AnsweringCustomer {
    pub business_id: String,
    pub customer_id: String,
}

/// Which feedback request an answer is for.
#[derive(Debug, Clone)]
pub enum Answering {
    /// The request's token; with a customer token as well, only a request
    /// of that customer's.
    Token {
        token: String,
        customer: Option<AnsweringCustomer>,
    },
    /// A customer token naming one of their completed bookings.
    Booking {
        customer: AnsweringCustomer,
        booking_id: String,
    },
}

/// The request an answer is for (404 when there is none, or it is not the
/// answering customer's).
pub fn request_answered(
    conn: &mut DbConnection,
    answering: &Answering,
) -> Result<FeedbackRequest, AppError> {
    match answering {
        Answering::Token { token, customer } => {
            let request = request_by_token(conn, token)?;
            // A customer token only answers for its own visits.
            if let Some(c) = customer {
                if c.business_id != request.business_id || c.customer_id != request.customer_id {
                    return Err(AppError::not_found("feedback request"));
                }
            }
            Ok(request)
        }
        Answering::Booking {
            customer,
            booking_id,
        } => request_for_booking(
            conn,
            &customer.business_id,
            booking_id,
            &customer.customer_id,
        ),
    }
}

/// The answer to a request: once per booking (a second is 409
/// `feedback_already_given`), with its `feedback.received` event.
pub fn submit(
    conn: &mut DbConnection,
    request_id: &str,
    nps: i32,
    effort: i32,
    comment: Option<String>,
    at: NaiveDateTime,
) -> Result<Feedback, AppError> {
    super::with_retries(conn, |conn| {
        let request = feedback_requests::table
            .find(request_id)
            .select(FeedbackRequest::as_select())
            .first(conn)?;
        let given = feedback::table
            .filter(feedback::booking_id.eq(&request.booking_id))
            .select(feedback::id)
            .first::<String>(conn)
            .optional()?;
        if let Some(existing) = given {
            return Err(AppError::conflict(
                "feedback_already_given",
                "Feedback already given",
                "This visit has feedback already; thank you.",
            )
            .with("feedback_id", existing)
            .into());
        }
        let answer = Feedback {
            id: crate::ids::new_id("fbk"),
            business_id: request.business_id.clone(),
            request_id: request.id.clone(),
            booking_id: request.booking_id.clone(),
            customer_id: request.customer_id.clone(),
            nps,
            effort,
            comment: comment.clone(),
            created_at: at,
        };
        diesel::insert_into(feedback::table)
            .values(&answer)
            .execute(conn)?;
        diesel::update(feedback_requests::table.find(&request.id))
            .set(feedback_requests::responded_at.eq(Some(at)))
            .execute(conn)?;
        events::append(
            conn,
            &request.business_id,
            "feedback.received",
            &answer.id,
            &json!({
                "feedback_id": answer.id,
                "booking_id": answer.booking_id,
                "customer_id": answer.customer_id,
                "nps": nps,
                "effort": effort,
            }),
            at,
        )?;
        Ok(answer)
    })
}

pub fn find(conn: &mut DbConnection, business: &str, id: &str) -> Result<Feedback, AppError> {
    feedback::table
        .filter(feedback::business_id.eq(business))
        .filter(feedback::id.eq(id))
        .select(Feedback::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| AppError::not_found("feedback"))
}
