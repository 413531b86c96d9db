//! Unit tests of the report arithmetic: costs, rates, NPS, effort and lead times.

use super::*;

#[test]
fn costs_round_half_up_to_the_cent() {
    assert_eq!(cost_cents(90, 50), 75);
    assert_eq!(cost_cents(1, 30), 1); // 0.5 cents
    assert_eq!(cost_cents(1, 29), 0); // 0.48 cents
    assert_eq!(cost_cents(600, 0), 0);
    assert_eq!(minutes(90), 1.5);
    assert_eq!(minutes(100), 1.67);
}

#[test]
fn rates_are_fractions_and_none_without_a_whole() {
    assert_eq!(rate(1, 3), Some(0.3333));
    assert_eq!(rate(0, 0), None);
}

fn line(intent: &str, channel: ContactChannel, seconds: i64, fcr: bool) -> ContactLine {
    ContactLine {
        intent_code: intent.into(),
        channel,
        seconds,
        first_contact_resolution: fcr,
    }
}

#[test]
fn the_contact_report_groups_by_intent_and_channel() {
    use ContactChannel::*;
    let lines = vec![
        line("billing", Phone, 300, true),
        line("billing", Phone, 180, false),
        line("billing", Chat, 600, true),
        line("reschedule", Phone, 120, true),
    ];
    let intents = HashMap::from([(
        "billing".to_owned(),
        IntentLabel {
            name: "Billing".into(),
            owner: Some("Finance".into()),
        },
    )]);
    let costs = HashMap::from([(Phone, 60), (Chat, 20)]);
    let report = contact_report(&lines, &intents, &costs, 3);
    assert_eq!(report.rows.len(), 3);
    let billing_phone = &report.rows[0];
    assert_eq!(
        (billing_phone.intent.as_str(), billing_phone.channel),
        ("billing", Phone)
    );
    assert_eq!(billing_phone.contacts, 2);
    assert_eq!(billing_phone.total_minutes, 8.0);
    assert_eq!(billing_phone.estimated_cost_cents, 480);
    assert_eq!(billing_phone.fcr_rate, Some(0.5));
    assert_eq!(billing_phone.owner.as_deref(), Some("Finance"));
    let billing_chat = &report.rows[1];
    assert_eq!(billing_chat.channel, Chat);
    assert_eq!(billing_chat.estimated_cost_cents, 200);
    let reschedule = &report.rows[2];
    assert_eq!(reschedule.intent_name, "reschedule");
    assert_eq!(reschedule.estimated_cost_cents, 120);
    assert_eq!(report.totals.contacts, 4);
    assert_eq!(report.totals.estimated_cost_cents, 800);
    assert_eq!(report.totals.fcr_rate, Some(0.75));
    assert_eq!(report.contacts_per_booking, Some(1.33));
    assert_eq!(
        report
            .top_intents_by_cost
            .iter()
            .map(|i| (i.intent.as_str(), i.estimated_cost_cents))
            .collect::<Vec<_>>(),
        vec![("billing", 680), ("reschedule", 120)]
    );
}

#[test]
fn unconfigured_channels_cost_nothing_and_no_bookings_means_no_ratio() {
    let report = contact_report(
        &[line("hours", ContactChannel::Social, 60, true)],
        &HashMap::new(),
        &HashMap::new(),
        0,
    );
    assert_eq!(report.rows[0].cost_per_minute_cents, None);
    assert_eq!(report.rows[0].estimated_cost_cents, 0);
    assert_eq!(report.contacts_per_booking, None);
}

fn answered(
    service: &str,
    resources: &[&str],
    channel: &str,
    r: Option<(i32, i32)>,
) -> FeedbackLine {
    FeedbackLine {
        service_id: service.into(),
        resource_ids: resources.iter().map(|s| s.to_string()).collect(),
        channel: channel.into(),
        response: r,
    }
}

#[test]
fn nps_is_promoters_minus_detractors_in_percent() {
    let lines = vec![
        answered("cut", &["ana"], "online", Some((10, 2))),
        answered("cut", &["ana"], "phone", Some((9, 1))),
        answered("cut", &["ben"], "online", Some((7, 3))),
        answered("dye", &["ben", "room"], "online", Some((3, 6))),
        answered("dye", &["ben", "room"], "phone", None),
    ];
    let names = HashMap::from([("cut".to_owned(), "Haircut".to_owned())]);
    let report = feedback_report(&lines, &names);
    let o = &report.overall;
    assert_eq!((o.requests, o.responses), (5, 4));
    assert_eq!((o.promoters, o.passives, o.detractors), (2, 1, 1));
    assert_eq!(o.nps, Some(25.0));
    assert_eq!(o.mean_effort, Some(3.0));
    assert_eq!(o.response_rate, Some(0.8));
    let cut = &report.by_service[0];
    assert_eq!(
        (cut.key.as_str(), cut.name.as_deref()),
        ("cut", Some("Haircut"))
    );
    assert_eq!(cut.scores.nps, Some(66.7));
    assert_eq!(cut.scores.mean_effort, Some(2.0));
    let dye = &report.by_service[1];
    assert_eq!(
        (dye.scores.nps, dye.scores.response_rate),
        (Some(-100.0), Some(0.5))
    );
    let keys: Vec<_> = report
        .by_resource
        .iter()
        .map(|g| (g.key.as_str(), g.scores.requests))
        .collect();
    assert_eq!(keys, vec![("ana", 2), ("ben", 3), ("room", 2)]);
    let online = report
        .by_channel
        .iter()
        .find(|g| g.key == "online")
        .unwrap();
    assert_eq!(online.scores.nps, Some(0.0));
}

#[test]
fn without_responses_scores_are_absent() {
    let report = feedback_report(
        &[answered("cut", &["ana"], "online", None)],
        &HashMap::new(),
    );
    assert_eq!(report.overall.nps, None);
    assert_eq!(report.overall.mean_effort, None);
    assert_eq!(report.overall.response_rate, Some(0.0));
}

fn booked(channel: &str, status: &str, lead_minutes: i64) -> BookingLine {
    let start = chrono::NaiveDate::from_ymd_opt(2026, 3, 10)
        .unwrap()
        .and_hms_opt(10, 0, 0)
        .unwrap();
    BookingLine {
        channel: channel.into(),
        status: status.into(),
        created_at: start - chrono::Duration::minutes(lead_minutes),
        starts_at: start,
        client_id: None,
    }
}

#[test]
fn booking_rates_and_lead_times() {
    let lines = vec![
        booked("online", "completed", 60),
        booked("online", "no_show", 120),
        booked("online", "cancelled", 30),
        booked("phone", "completed", 10),
        booked("phone", "confirmed", 20),
    ];
    let report = booking_report(&lines);
    assert_eq!(report.bookings, 5);
    assert_eq!(report.by_status["completed"], 2);
    // 1 no-show of 3 due (2 completed + 1 no-show).
    assert_eq!(report.no_show_rate, Some(0.3333));
    assert_eq!(report.cancellation_rate, Some(0.2));
    assert_eq!(report.lead_time.mean_minutes, Some(48.0));
    assert_eq!(report.lead_time.median_minutes, Some(30.0));
    let phone = &report.by_channel[1];
    assert_eq!((phone.channel.as_str(), phone.bookings), ("phone", 2));
    assert_eq!(phone.lead_time.median_minutes, Some(15.0));
    assert_eq!(phone.no_show_rate, Some(0.0));
    assert_eq!(phone.cancellation_rate, Some(0.0));
}

#[test]
fn partner_bookings_are_grouped_by_client() {
    let by = |client: &str, status: &str| BookingLine {
        client_id: Some(client.into()),
        ..booked("partner", status, 60)
    };
    let lines = vec![
        by("cli_b", "cancelled"),
        by("cli_a", "completed"),
        by("cli_b", "confirmed"),
        booked("online", "completed", 5),
    ];
    let report = booking_report(&lines);
    let partners: Vec<(&str, i64)> = report
        .by_partner
        .iter()
        .map(|p| (p.client_id.as_str(), p.bookings))
        .collect();
    assert_eq!(partners, vec![("cli_a", 1), ("cli_b", 2)]);
    assert_eq!(report.by_partner[1].cancellation_rate, Some(0.5));
    assert_eq!(report.by_partner[1].by_status["confirmed"], 1);
}

#[test]
fn an_empty_period_has_no_rates() {
    let report = booking_report(&[]);
    assert_eq!(report.bookings, 0);
    assert_eq!(report.no_show_rate, None);
    assert_eq!(report.lead_time.mean_minutes, None);
}
