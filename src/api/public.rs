//! The online door for strangers: a business's public profile found by its
//! slug, and the booking page, widget and manage page the binary serves
//! itself (assets embedded at build time; nothing is fetched at run time).

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use super::blocking;
use crate::db::DbPool;
use crate::domain::hours::{format_clock, Weekday};
use crate::error::AppError;
use crate::store::public::{self, PublicLocation, PublicProfile, PublicService};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/public/businesses/{slug}", web::get().to(get_profile))
        .route("/book/{slug}", web::get().to(booking_page))
        .route("/manage", web::get().to(manage_page))
        .route("/feedback", web::get().to(feedback_page))
        .route("/widget.js", web::get().to(widget_script));
}

const WIDGET_JS: &str = include_str!("../../assets/widget.js");
const BOOK_HTML: &str = include_str!("../../assets/book.html");
const MANAGE_HTML: &str = include_str!("../../assets/manage.html");
const FEEDBACK_HTML: &str = include_str!("../../assets/feedback.html");

/// Opening hours of one weekday: the union of the hours its resources work.
#[derive(Debug, Serialize, ToSchema)]
pub struct OpeningHours {
    pub weekday: Weekday,
    #[schema(example = "09:00")]
    pub start: String,
    #[schema(example = "17:30")]
    pub end: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PublicLocationView {
    pub id: String,
    pub name: String,
    pub address: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub timezone: String,
    /// Paused: nothing here can be booked until it resumes, for `pause_reason`.
    pub paused: bool,
    pub pause_reason: Option<String>,
    /// Open hours by weekday, local wall-clock time; days without hours are absent.
    pub hours: Vec<OpeningHours>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PublicServiceView {
    pub id: String,
    pub location_id: String,
    pub name: String,
    pub description: Option<String>,
    pub duration_minutes: i32,
    pub price_cents: Option<i64>,
    pub currency: Option<String>,
    pub paused: bool,
    pub pause_reason: Option<String>,
}

/// What a stranger may see of a business.
#[derive(Debug, Serialize, ToSchema)]
pub struct PublicProfileView {
    #[schema(example = "northside")]
    pub slug: String,
    pub name: String,
    /// The first location's contact details, for "call us" messages.
    pub phone: Option<String>,
    pub email: Option<String>,
    /// The first location's zone.
    pub timezone: Option<String>,
    /// The hosted booking page, relative to this API.
    #[schema(example = "/book/northside")]
    pub booking_url: String,
    pub locations: Vec<PublicLocationView>,
    /// Services open to online booking.
    pub services: Vec<PublicServiceView>,
}

fn location_view(location: PublicLocation) -> PublicLocationView {
    let hours = location
        .hours
        .into_iter()
        .filter_map(|(weekday, intervals)| Weekday::from_number(weekday).map(|d| (d, intervals)))
        .flat_map(|(weekday, intervals)| {
            intervals.into_iter().map(move |(start, end)| OpeningHours {
                weekday,
                start: format_clock(start),
                end: format_clock(end),
            })
        })
        .collect();
    PublicLocationView {
        id: location.id,
        name: location.name,
        address: location.address,
        phone: location.phone,
        email: location.email,
        timezone: location.timezone,
        paused: location.paused_at.is_some(),
        pause_reason: location.pause_reason,
        hours,
    }
}

fn service_view(service: PublicService) -> PublicServiceView {
    PublicServiceView {
        id: service.id,
        location_id: service.location_id,
        name: service.name,
        description: service.description,
        duration_minutes: service.duration_minutes,
        price_cents: service.price_cents,
        currency: service.currency,
        paused: service.paused_at.is_some(),
        pause_reason: service.pause_reason,
    }
}

fn profile_view(slug: String, profile: PublicProfile) -> PublicProfileView {
    let first = profile.locations.first();
    PublicProfileView {
        phone: first.and_then(|l| l.phone.clone()),
        email: first.and_then(|l| l.email.clone()),
        timezone: first.map(|l| l.timezone.clone()),
        booking_url: format!("/book/{slug}"),
        slug,
        name: profile.business.name,
        locations: profile.locations.into_iter().map(location_view).collect(),
        services: profile.services.into_iter().map(service_view).collect(),
    }
}

/// A business's public profile: all a booking widget needs to start.
///
/// Anyone may call it. It carries the business's name and contact details,
/// its locations with opening hours and pause state, and the services open
/// to online booking; never staff or customer data.
#[utoipa::path(
    get, path = "/v1/public/businesses/{slug}", tag = "online",
    params(("slug" = String, Path, description = "The business's public slug")),
    responses(
        (status = 200, body = PublicProfileView),
        (status = 404, response = crate::error::NotFound),
        (status = 429, response = crate::error::TooManyRequests),
    ),
    security(())
)]
pub async fn get_profile(
    pool: web::Data<DbPool>,
    slug: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let slug = slug.into_inner();
    let lookup = slug.clone();
    let profile = blocking(&pool, move |conn| public::profile(conn, &lookup)).await?;
    Ok(HttpResponse::Ok().json(profile_view(slug, profile)))
}

/// `&`, `<`, `>`, `"` and `'` as entities, for text put into the page.
fn html_escape(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '&' => "&amp;".to_owned(),
            '<' => "&lt;".to_owned(),
            '>' => "&gt;".to_owned(),
            '"' => "&quot;".to_owned(),
            '\'' => "&#39;".to_owned(),
            c => c.to_string(),
        })
        .collect()
}

fn page(html: String) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(html)
}

/// The hosted booking page of a business; the widget inside it reads the
/// profile and says so itself when the slug names nobody.
pub async fn booking_page(slug: web::Path<String>) -> HttpResponse {
    page(BOOK_HTML.replace("__SLUG__", &html_escape(&slug)))
}

/// The page a `manage_token` opens (`/manage#token=…&booking=…`).
pub async fn manage_page() -> HttpResponse {
    page(MANAGE_HTML.to_owned())
}

/// The survey page a feedback link opens (`/feedback#token=fbt_…`, sent after
/// a completed visit). Served by the API itself so the link works without a
/// separate website; the token stays in the fragment, never in a server log.
pub async fn feedback_page() -> HttpResponse {
    page(FEEDBACK_HTML.to_owned())
}

/// The embeddable widget: `<script src="…/widget.js" data-business="slug">`.
pub async fn widget_script() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/javascript; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .body(WIDGET_JS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_put_into_a_page_cannot_open_markup() {
        assert_eq!(
            html_escape(r#"<script>"a"&'b'</script>"#),
            "&lt;script&gt;&quot;a&quot;&amp;&#39;b&#39;&lt;/script&gt;"
        );
    }
}
