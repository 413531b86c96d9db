//! How a resource reads in answers.

use serde::Serialize;
use utoipa::ToSchema;

use crate::api::catalog::{instant, optional_instant, pause_view, PauseView};
use crate::domain::catalog::ResourceKind;
use crate::store::resources::Resource;

/// Something that gets booked: a person, a room or a piece of equipment.
#[derive(Debug, Serialize, ToSchema)]
pub struct ResourceView {
    #[schema(example = "res_01JD3V6Q8M2X4Z7C9B1N5R3T6W")]
    pub id: String,
    pub location_id: String,
    pub name: String,
    pub kind: ResourceKind,
    /// How many bookings it can take at once (1 for a person).
    pub capacity: i32,
    pub paused: Option<PauseView>,
    #[schema(format = DateTime)]
    pub archived_at: Option<String>,
    pub version: i32,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
}

impl From<Resource> for ResourceView {
    fn from(r: Resource) -> Self {
        Self {
            id: r.id,
            location_id: r.location_id,
            name: r.name,
            kind: r.kind.or(ResourceKind::Staff),
            capacity: r.capacity,
            paused: pause_view(r.paused_at, r.pause_reason, r.paused_until),
            archived_at: optional_instant(r.archived_at),
            version: r.version,
            created_at: instant(r.created_at),
            updated_at: instant(r.updated_at),
        }
    }
}
