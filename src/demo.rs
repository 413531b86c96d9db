//! The demo business loaded into a new database so a first run has something to book.

use chrono::NaiveDateTime;

use crate::db::{write_transaction, DbConnection};
use crate::domain::catalog::ResourceKind;
use crate::error::AppError;
use crate::store::services::{Service, ServiceRow};
use crate::store::{
    self, businesses::Business, locations::Location, resources::HoursRow, resources::Resource,
};

pub const DEMO_BUSINESS_ID: &str = "biz_demo";
/// The demo's public slug: its booking page is `/book/northside`.
pub const DEMO_SLUG: &str = "northside";
const LOCATION_ID: &str = "loc_demo_london";

/// Loads the demo business unless it is there already; returns its id.
pub fn load(conn: &mut DbConnection) -> Result<String, AppError> {
    if store::businesses::find(conn, DEMO_BUSINESS_ID)?.is_some() {
        return Ok(DEMO_BUSINESS_ID.to_owned());
    }
    write_transaction(conn, |conn| {
        let now = store::now();
        add_business(conn, now)?;
        add_staff_and_rooms(conn, now)?;
        add_services(conn, now)?;
        Ok(DEMO_BUSINESS_ID.to_owned())
    })
}

/// The business and its one location, in London.
fn add_business(conn: &mut DbConnection, now: NaiveDateTime) -> Result<(), AppError> {
    store::businesses::insert(
        conn,
        &Business {
            id: DEMO_BUSINESS_ID.into(),
            name: "Northside Clinic & Salon (demo)".into(),
            timezone: "Europe/London".into(),
            created_at: now,
            slug: Some(DEMO_SLUG.into()),
        },
    )?;
    store::locations::insert(
        conn,
        &Location {
            id: LOCATION_ID.into(),
            business_id: DEMO_BUSINESS_ID.into(),
            name: "Northside, London".into(),
            address: Some("12 Example Street, London N1 9XX".into()),
            phone: Some("+44 20 7946 0018".into()),
            email: Some("hello@northside.example".into()),
            timezone: "Europe/London".into(),
            paused_at: None,
            pause_reason: None,
            paused_until: None,
            archived_at: None,
            version: 1,
            created_at: now,
            updated_at: now,
        },
    )?;
    Ok(())
}

/// Three people and two rooms, each open the same week.
fn add_staff_and_rooms(conn: &mut DbConnection, now: NaiveDateTime) -> Result<(), AppError> {
    let resources = [
        ("res_demo_ana", "Ana (stylist)", ResourceKind::Staff, 1),
        ("res_demo_ben", "Ben (stylist)", ResourceKind::Staff, 1),
        (
            "res_demo_chloe",
            "Chloe (therapist)",
            ResourceKind::Staff,
            1,
        ),
        ("res_demo_room_1", "Treatment room 1", ResourceKind::Room, 1),
        ("res_demo_studio", "Studio", ResourceKind::Room, 8),
    ];
    for (id, name, kind, capacity) in resources {
        store::resources::insert(
            conn,
            &Resource {
                id: id.into(),
                business_id: DEMO_BUSINESS_ID.into(),
                location_id: LOCATION_ID.into(),
                name: name.into(),
                kind: kind.into(),
                capacity,
                paused_at: None,
                pause_reason: None,
                paused_until: None,
                archived_at: None,
                version: 1,
                created_at: now,
                updated_at: now,
            },
        )?;
        store::resources::replace_hours_within(conn, DEMO_BUSINESS_ID, id, &week_of(id))?;
    }
    Ok(())
}

/// A resource's opening hours: Monday to Friday 09:00–17:30 with a lunch
/// break, Saturday 10:00–16:00.
fn week_of(id: &str) -> Vec<HoursRow> {
    let mut week = Vec::new();
    for weekday in 1..=5 {
        week.push((weekday, 9 * 60, 12 * 60 + 30));
        week.push((weekday, 13 * 60 + 30, 17 * 60 + 30));
    }
    week.push((6, 10 * 60, 16 * 60));
    week.into_iter()
        .map(|(weekday, start_minute, end_minute)| HoursRow {
            id: format!("hrs_{id}_{weekday}_{start_minute}"),
            business_id: DEMO_BUSINESS_ID.into(),
            resource_id: id.into(),
            weekday,
            start_minute,
            end_minute,
        })
        .collect()
}

/// A haircut, a facial (therapist and room), a phone consultation and a
/// class of eight.
fn add_services(conn: &mut DbConnection, now: NaiveDateTime) -> Result<(), AppError> {
    let services: [DemoService; 4] = [
        (
            "svc_demo_haircut",
            "Haircut",
            30,
            10,
            1,
            vec![vec!["res_demo_ana", "res_demo_ben"]],
            "online,partner,phone,walk_in",
        ),
        (
            "svc_demo_facial",
            "Facial treatment",
            60,
            15,
            1,
            vec![vec!["res_demo_chloe"], vec!["res_demo_room_1"]],
            "online,partner,phone,walk_in",
        ),
        (
            "svc_demo_consult",
            "Phone consultation",
            20,
            0,
            1,
            vec![vec!["res_demo_chloe"]],
            "phone",
        ),
        (
            "svc_demo_class",
            "Skin-care class",
            60,
            0,
            8,
            vec![vec!["res_demo_studio"]],
            "online,phone",
        ),
    ];
    for service in services {
        store::services::insert_within(conn, &demo_service(service, now))?;
    }
    Ok(())
}

// (id, name, minutes, buffer after, seats, requirement groups, channels)
type DemoService<'a> = (&'a str, &'a str, i32, i32, i32, Vec<Vec<&'a str>>, &'a str);

/// A demo service with the policy a salon would choose: an hour's notice,
/// sixty days ahead, cancel a day and move twelve hours before.
fn demo_service(service: DemoService<'_>, now: NaiveDateTime) -> Service {
    let (id, name, duration, buffer_after, capacity, groups, channels) = service;
    Service {
        row: ServiceRow {
            id: id.into(),
            business_id: DEMO_BUSINESS_ID.into(),
            location_id: LOCATION_ID.into(),
            name: name.into(),
            description: None,
            duration_minutes: duration,
            buffer_before_minutes: 0,
            buffer_after_minutes: buffer_after,
            slot_step_minutes: if duration >= 60 { 30 } else { 15 },
            capacity,
            price_cents: Some(i64::from(duration) * 100),
            currency: Some("GBP".into()),
            min_notice_minutes: 60,
            max_advance_minutes: 60 * 24 * 60,
            cancel_cutoff_minutes: 24 * 60,
            reschedule_cutoff_minutes: 12 * 60,
            channels: channels.into(),
            paused_at: None,
            pause_reason: None,
            paused_until: None,
            archived_at: None,
            version: 1,
            created_at: now,
            updated_at: now,
            // A day before and two hours before, as a salon would.
            reminders: "1440,120".into(),
        },
        requirements: groups
            .iter()
            .map(|g| g.iter().map(|s| s.to_string()).collect())
            .collect(),
    }
}
