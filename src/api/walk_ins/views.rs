//! How a ticket and the board read in answers: the ticket with its place and
//! estimate, and the board's lines in serve order.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::Serialize;
use utoipa::ToSchema;

use crate::api::availability::utc_text;
use crate::domain::queue::{describe, EstimateReason, TicketStatus};
use crate::error::AppError;
use crate::store::bookings::Booking;
use crate::store::queue::{Board, QueuedTicket, Ticket};

/// A ticket as the desk and its holder see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct TicketView {
    #[schema(example = "qtk_01JD3V6Q8M2X4Z7C9B1N5R3T6W")]
    pub id: String,
    /// What the desk calls out.
    #[schema(example = "A014")]
    pub code: String,
    pub status: TicketStatus,
    /// 1 for the next to be served; absent once served or gone.
    pub position: Option<u32>,
    pub location_id: String,
    pub service_id: String,
    pub customer_id: Option<String>,
    pub customer_name: String,
    pub party_size: i32,
    pub resource_id: Option<String>,
    /// The booking made when seated.
    pub booking_id: Option<String>,
    /// The estimated start as a range; absent when nothing can take them
    /// before the end of the day, or once they are served.
    #[schema(format = DateTime)]
    pub estimated_start_earliest: Option<String>,
    #[schema(format = DateTime)]
    pub estimated_start_latest: Option<String>,
    /// Why, in words: "2 ahead · 0 of 2 free now; first from 10:40".
    pub estimate_reason: Option<String>,
    /// The same reasons, as numbers.
    pub estimate: Option<EstimateReason>,
    /// The resources the estimate expects to take them.
    pub expected_resource_ids: Vec<String>,
    pub cancel_reason: Option<String>,
    pub version: i32,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub called_at: Option<String>,
    #[schema(format = DateTime)]
    pub updated_at: String,
    /// On creation only: a token for `GET /v1/queue-tickets/{id}` and the
    /// page at `page_url`, for the customer to follow their place.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ticket_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "/queue/qtk_01JD3V6Q8M2X4Z7C9B1N5R3T6W#token=…")]
    pub page_url: Option<String>,
}

pub(super) fn ticket_view(
    ticket: Ticket,
    entry: Option<&QueuedTicket>,
    tz: Tz,
) -> Result<TicketView, AppError> {
    let status = ticket.status()?;
    let estimate = entry.map(|e| &e.estimate);
    Ok(TicketView {
        status,
        position: entry.map(|e| e.position),
        estimated_start_earliest: estimate.and_then(|e| e.earliest).map(utc_text),
        estimated_start_latest: estimate.and_then(|e| e.latest).map(utc_text),
        estimate_reason: estimate.map(|e| describe(e, tz)),
        estimate: estimate.map(|e| e.reason.clone()),
        expected_resource_ids: estimate.map(|e| e.resource_ids.clone()).unwrap_or_default(),
        id: ticket.id,
        code: ticket.code,
        location_id: ticket.location_id,
        service_id: ticket.service_id,
        customer_id: ticket.customer_id,
        customer_name: ticket.customer_name,
        party_size: ticket.party_size,
        resource_id: ticket.resource_id,
        booking_id: ticket.booking_id,
        cancel_reason: ticket.cancel_reason,
        version: ticket.version,
        created_at: utc_text(ticket.created_at.and_utc()),
        called_at: ticket.called_at.map(|t| utc_text(t.and_utc())),
        updated_at: utc_text(ticket.updated_at.and_utc()),
        ticket_token: None,
        page_url: None,
    })
}

/// One line of the board, in serve order.
#[derive(Debug, Serialize, ToSchema)]
pub struct BoardEntry {
    pub kind: BoardEntryKind,
    /// Tickets: their id, code and position.
    pub ticket_id: Option<String>,
    #[schema(example = "A014")]
    pub code: Option<String>,
    pub position: Option<u32>,
    /// Appointments and people in service: the booking.
    pub booking_id: Option<String>,
    pub reference: Option<String>,
    pub customer_name: String,
    pub service_id: String,
    pub party_size: i32,
    /// In service / arrived: the booked resources; tickets: where the
    /// estimate expects them (or the one they asked for).
    pub resource_ids: Vec<String>,
    /// In service: since when; arrived: the appointment's time.
    #[schema(format = DateTime)]
    pub booked_start: Option<String>,
    /// In service: when it is due to end.
    #[schema(format = DateTime)]
    pub booked_end: Option<String>,
    #[schema(format = DateTime)]
    pub estimated_start_earliest: Option<String>,
    #[schema(format = DateTime)]
    pub estimated_start_latest: Option<String>,
    pub estimate_reason: Option<String>,
    pub version: i32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BoardEntryKind {
    InService,
    /// A checked-in appointment.
    Arrived,
    Called,
    Waiting,
}

/// A location's queue: who is in service, then everyone waiting — arrived
/// appointments and tickets together — in the order they are expected to be served.
#[derive(Debug, Serialize, ToSchema)]
pub struct QueueBoard {
    pub location_id: String,
    pub timezone: String,
    #[schema(format = DateTime)]
    pub as_of: String,
    pub entries: Vec<BoardEntry>,
    /// Tickets waiting or called.
    pub waiting_count: u32,
}

pub(super) fn board_view(board: Board) -> QueueBoard {
    let mut entries: Vec<BoardEntry> = board
        .in_service
        .iter()
        .map(|(b, name)| BoardEntry::of_booking(BoardEntryKind::InService, b, name, None))
        .collect();
    let arrived = board.arrived.iter().map(|a| {
        let kind = BoardEntryKind::Arrived;
        let entry = BoardEntry::of_booking(kind, &a.booking, &a.customer_name, Some(a.estimate));
        (Some(a.estimate.0), 0, entry)
    });
    let queued = board
        .tickets
        .iter()
        .map(|q| (q.estimate.earliest, 1, BoardEntry::of_ticket(q, board.tz)));
    let mut waiting: Vec<(Option<DateTime<Utc>>, u8, BoardEntry)> = arrived.chain(queued).collect();
    // Soonest expected first; nothing expected today goes last; on a tie an
    // appointment goes before a walk-in.
    waiting.sort_by_key(|(at, kind, _)| (at.is_none(), *at, *kind));
    entries.extend(waiting.into_iter().map(|(_, _, e)| e));
    QueueBoard {
        location_id: board.location.id.clone(),
        timezone: board.tz.name().to_owned(),
        as_of: utc_text(board.as_of),
        waiting_count: board.tickets.len() as u32,
        entries,
    }
}

impl BoardEntry {
    /// A booking on the board: in service, or arrived and expected to start
    /// within `estimate`.
    fn of_booking(
        kind: BoardEntryKind,
        b: &Booking,
        customer_name: &str,
        estimate: Option<(DateTime<Utc>, DateTime<Utc>)>,
    ) -> Self {
        BoardEntry {
            kind,
            ticket_id: None,
            code: None,
            position: None,
            booking_id: Some(b.id.to_string()),
            reference: Some(b.reference.clone()),
            customer_name: customer_name.to_owned(),
            service_id: b.service_id.to_string(),
            party_size: 1,
            resource_ids: b.resources(),
            booked_start: Some(utc_text(b.starts_at.and_utc())),
            booked_end: Some(utc_text(b.ends_at.and_utc())),
            estimated_start_earliest: estimate.map(|e| utc_text(e.0)),
            estimated_start_latest: estimate.map(|e| utc_text(e.1)),
            estimate_reason: estimate.map(|_| "appointment".into()),
            version: b.version,
        }
    }

    /// A queued walk-in: waiting or called, with its place and estimate.
    fn of_ticket(q: &QueuedTicket, tz: Tz) -> Self {
        let (t, e) = (&q.ticket, &q.estimate);
        BoardEntry {
            kind: if t.status == TicketStatus::Called.as_str() {
                BoardEntryKind::Called
            } else {
                BoardEntryKind::Waiting
            },
            ticket_id: Some(t.id.clone()),
            code: Some(t.code.clone()),
            position: Some(q.position),
            booking_id: None,
            reference: None,
            customer_name: t.customer_name.clone(),
            service_id: t.service_id.clone(),
            party_size: t.party_size,
            resource_ids: if e.resource_ids.is_empty() {
                t.resource_id.iter().cloned().collect()
            } else {
                e.resource_ids.clone()
            },
            booked_start: None,
            booked_end: None,
            estimated_start_earliest: e.earliest.map(utc_text),
            estimated_start_latest: e.latest.map(utc_text),
            estimate_reason: Some(describe(e, tz)),
            version: t.version,
        }
    }
}
