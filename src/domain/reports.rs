//! The arithmetic of the contact, feedback and booking reports, on plain rows
//! the store gathers. Every figure is defined here once:
//!
//! - cost of a row = total seconds × the channel's cost per minute ÷ 60, in
//!   cents, rounded half up (0 when the channel has no cost configured);
//! - minutes = seconds ÷ 60, rounded to 2 decimals;
//! - rates are fractions 0–1 rounded to 4 decimals, `null` when nothing to divide by;
//! - FCR rate = FCR contacts ÷ contacts;
//! - contacts per booking = contacts ÷ bookings created in the period (2 decimals);
//! - NPS = (promoters 9–10 − detractors 0–6) ÷ responses × 100, 1 decimal;
//! - mean effort = mean customer-effort score, 2 decimals;
//! - response rate = responses ÷ feedback requests;
//! - cancellation rate = cancelled ÷ bookings; no-show rate = no-shows ÷
//!   bookings whose customer came or missed it (checked in, in service,
//!   completed or no-show);
//! - lead time = minutes from a booking's creation to its start: mean and
//!   median (mean of the middle two for an even count), 1 decimal.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDateTime;
use serde::Serialize;
use utoipa::ToSchema;

use super::interactions::ContactChannel;

fn round_to(value: f64, decimals: i32) -> f64 {
    let scale = 10f64.powi(decimals);
    (value * scale).round() / scale
}

/// `part ÷ whole` as a fraction with 4 decimals; `None` when `whole` is 0.
pub fn rate(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| round_to(part as f64 / whole as f64, 4))
}

/// Cost in cents of `seconds` at `cents_per_minute`, rounded half up.
pub fn cost_cents(seconds: i64, cents_per_minute: i64) -> i64 {
    (seconds * cents_per_minute + 30).div_euclid(60)
}

pub fn minutes(seconds: i64) -> f64 {
    round_to(seconds as f64 / 60.0, 2)
}

/// One assisted contact in the report period.
#[derive(Debug, Clone)]
pub struct ContactLine {
    pub intent_code: String,
    pub channel: ContactChannel,
    pub seconds: i64,
    pub first_contact_resolution: bool,
}

/// Who an intent belongs to, for the report's labels.
#[derive(Debug, Clone)]
pub struct IntentLabel {
    pub name: String,
    pub owner: Option<String>,
}

/// One intent × channel line of the contact report.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ContactRow {
    pub intent: String,
    pub intent_name: String,
    /// The person or team accountable for removing the cause.
    pub owner: Option<String>,
    pub channel: ContactChannel,
    pub contacts: i64,
    pub total_seconds: i64,
    pub total_minutes: f64,
    /// As configured on the business; `null` when not configured (cost 0).
    pub cost_per_minute_cents: Option<i64>,
    pub estimated_cost_cents: i64,
    pub first_contact_resolutions: i64,
    pub fcr_rate: Option<f64>,
}

/// An intent's cost over every channel.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct IntentCost {
    pub intent: String,
    pub intent_name: String,
    pub owner: Option<String>,
    pub contacts: i64,
    pub estimated_cost_cents: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ContactTotals {
    pub contacts: i64,
    pub total_minutes: f64,
    pub estimated_cost_cents: i64,
    pub first_contact_resolutions: i64,
    pub fcr_rate: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ContactReport {
    /// Per intent × channel, ordered by intent code, then channel in the order
    /// phone, walk_in, chat, email, social, online.
    pub rows: Vec<ContactRow>,
    pub totals: ContactTotals,
    /// Bookings created in the period (at the location, when one is named).
    pub bookings: i64,
    pub contacts_per_booking: Option<f64>,
    /// The five costliest intents, costliest first (ties by code).
    pub top_intents_by_cost: Vec<IntentCost>,
}

/// How many intents `top_intents_by_cost` lists.
pub const TOP_INTENTS: usize = 5;

pub fn contact_report(
    lines: &[ContactLine],
    intents: &HashMap<String, IntentLabel>,
    costs: &HashMap<ContactChannel, i64>,
    bookings: i64,
) -> ContactReport {
    let rows = contact_rows(lines, intents, costs);
    let totals = contact_totals(&rows);
    let top_intents_by_cost = costliest_intents(&rows, intents);
    ContactReport {
        contacts_per_booking: (bookings > 0)
            .then(|| round_to(totals.contacts as f64 / bookings as f64, 2)),
        rows,
        totals,
        bookings,
        top_intents_by_cost,
    }
}

/// An intent's name and owner; an intent no longer configured goes by its code.
fn label_of(intents: &HashMap<String, IntentLabel>, code: &str) -> IntentLabel {
    intents.get(code).cloned().unwrap_or(IntentLabel {
        name: code.to_owned(),
        owner: None,
    })
}

/// The contacts grouped by intent and channel, each group costed.
fn contact_rows(
    lines: &[ContactLine],
    intents: &HashMap<String, IntentLabel>,
    costs: &HashMap<ContactChannel, i64>,
) -> Vec<ContactRow> {
    let mut groups: BTreeMap<(String, ContactChannel), (i64, i64, i64)> = BTreeMap::new();
    for line in lines {
        let entry = groups
            .entry((line.intent_code.clone(), line.channel))
            .or_default();
        entry.0 += 1;
        entry.1 += line.seconds;
        entry.2 += i64::from(line.first_contact_resolution);
    }
    groups
        .into_iter()
        .map(|((intent, channel), (contacts, seconds, fcr))| {
            let per_minute = costs.get(&channel).copied();
            let label = label_of(intents, &intent);
            ContactRow {
                intent,
                intent_name: label.name,
                owner: label.owner,
                channel,
                contacts,
                total_seconds: seconds,
                total_minutes: minutes(seconds),
                cost_per_minute_cents: per_minute,
                estimated_cost_cents: cost_cents(seconds, per_minute.unwrap_or(0)),
                first_contact_resolutions: fcr,
                fcr_rate: rate(fcr, contacts),
            }
        })
        .collect()
}

/// The rows added up; the cost is the sum of the rows' rounded costs.
fn contact_totals(rows: &[ContactRow]) -> ContactTotals {
    let contacts: i64 = rows.iter().map(|r| r.contacts).sum();
    let seconds: i64 = rows.iter().map(|r| r.total_seconds).sum();
    let fcr: i64 = rows.iter().map(|r| r.first_contact_resolutions).sum();
    let cost: i64 = rows.iter().map(|r| r.estimated_cost_cents).sum();
    ContactTotals {
        contacts,
        total_minutes: minutes(seconds),
        estimated_cost_cents: cost,
        first_contact_resolutions: fcr,
        fcr_rate: rate(fcr, contacts),
    }
}

/// The [`TOP_INTENTS`] intents that cost most over every channel, costliest
/// first, ties by code.
fn costliest_intents(
    rows: &[ContactRow],
    intents: &HashMap<String, IntentLabel>,
) -> Vec<IntentCost> {
    let mut by_intent: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    for row in rows {
        let entry = by_intent.entry(row.intent.clone()).or_default();
        entry.0 += row.contacts;
        entry.1 += row.estimated_cost_cents;
    }
    let mut top: Vec<IntentCost> = by_intent
        .into_iter()
        .map(|(intent, (contacts, cost))| {
            let label = label_of(intents, &intent);
            IntentCost {
                intent,
                intent_name: label.name,
                owner: label.owner,
                contacts,
                estimated_cost_cents: cost,
            }
        })
        .collect();
    top.sort_by(|a, b| {
        b.estimated_cost_cents
            .cmp(&a.estimated_cost_cents)
            .then_with(|| a.intent.cmp(&b.intent))
    });
    top.truncate(TOP_INTENTS);
    top
}

/// One feedback request (one completed visit) and its answer, if any.
#[derive(Debug, Clone)]
pub struct FeedbackLine {
    pub service_id: String,
    pub resource_ids: Vec<String>,
    /// The channel the booking came through.
    pub channel: String,
    /// `(nps, effort)` when the customer answered.
    pub response: Option<(i32, i32)>,
}

/// Satisfaction of one group of visits.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct FeedbackScores {
    pub requests: i64,
    pub responses: i64,
    pub response_rate: Option<f64>,
    pub promoters: i64,
    pub passives: i64,
    pub detractors: i64,
    /// −100 to 100; `null` without responses.
    pub nps: Option<f64>,
    /// 1 (easy) to 7 (hard); `null` without responses.
    pub mean_effort: Option<f64>,
}

/// Scores of the visits sharing a service, a resource or a channel.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct FeedbackGroup {
    /// A service id, a resource id or a channel.
    pub key: String,
    pub name: Option<String>,
    #[serde(flatten)]
    pub scores: FeedbackScores,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct FeedbackReport {
    pub overall: FeedbackScores,
    pub by_service: Vec<FeedbackGroup>,
    /// A visit with several resources counts for each of them.
    pub by_resource: Vec<FeedbackGroup>,
    pub by_channel: Vec<FeedbackGroup>,
}

/// NPS band of a 0–10 answer.
pub fn nps_band(score: i32) -> std::cmp::Ordering {
    match score {
        9..=10 => std::cmp::Ordering::Greater,
        7..=8 => std::cmp::Ordering::Equal,
        _ => std::cmp::Ordering::Less,
    }
}

pub fn feedback_scores<'a>(lines: impl IntoIterator<Item = &'a FeedbackLine>) -> FeedbackScores {
    let (mut requests, mut promoters, mut passives, mut detractors, mut effort_sum) =
        (0i64, 0i64, 0i64, 0i64, 0i64);
    for line in lines {
        requests += 1;
        if let Some((nps, effort)) = line.response {
            match nps_band(nps) {
                std::cmp::Ordering::Greater => promoters += 1,
                std::cmp::Ordering::Equal => passives += 1,
                std::cmp::Ordering::Less => detractors += 1,
            }
            effort_sum += i64::from(effort);
        }
    }
    let responses = promoters + passives + detractors;
    FeedbackScores {
        requests,
        responses,
        response_rate: rate(responses, requests),
        promoters,
        passives,
        detractors,
        nps: (responses > 0).then(|| {
            round_to(
                (promoters - detractors) as f64 * 100.0 / responses as f64,
                1,
            )
        }),
        mean_effort: (responses > 0).then(|| round_to(effort_sum as f64 / responses as f64, 2)),
    }
}

pub fn feedback_report(lines: &[FeedbackLine], names: &HashMap<String, String>) -> FeedbackReport {
    let group = |keys: &dyn Fn(&FeedbackLine) -> Vec<String>| -> Vec<FeedbackGroup> {
        let mut groups: BTreeMap<String, Vec<&FeedbackLine>> = BTreeMap::new();
        for line in lines {
            for key in keys(line) {
                groups.entry(key).or_default().push(line);
            }
        }
        groups
            .into_iter()
            .map(|(key, members)| FeedbackGroup {
                name: names.get(&key).cloned(),
                scores: feedback_scores(members),
                key,
            })
            .collect()
    };
    FeedbackReport {
        overall: feedback_scores(lines),
        by_service: group(&|l| vec![l.service_id.clone()]),
        by_resource: group(&|l| {
            let mut ids = l.resource_ids.clone();
            ids.sort();
            ids.dedup();
            ids
        }),
        by_channel: group(&|l| vec![l.channel.clone()]),
    }
}

/// One booking scheduled in the report period.
#[derive(Debug, Clone)]
pub struct BookingLine {
    pub channel: String,
    pub status: String,
    pub created_at: NaiveDateTime,
    pub starts_at: NaiveDateTime,
    /// The partner client that made it, if one did.
    pub client_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct LeadTime {
    pub mean_minutes: Option<f64>,
    pub median_minutes: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ChannelBookings {
    pub channel: String,
    pub bookings: i64,
    /// Status → bookings.
    pub by_status: BTreeMap<String, i64>,
    pub no_show_rate: Option<f64>,
    pub cancellation_rate: Option<f64>,
    pub lead_time: LeadTime,
}

/// The bookings one partner client made.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct PartnerBookings {
    #[schema(example = "cli_01JD3V6Q8M2X4Z7C9B1N5R3T6W")]
    pub client_id: String,
    pub bookings: i64,
    /// Status → bookings.
    pub by_status: BTreeMap<String, i64>,
    pub no_show_rate: Option<f64>,
    pub cancellation_rate: Option<f64>,
    pub lead_time: LeadTime,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct BookingReport {
    pub bookings: i64,
    pub by_status: BTreeMap<String, i64>,
    pub by_channel: Vec<ChannelBookings>,
    /// Bookings made through partner apps, by client (ordered by id).
    pub by_partner: Vec<PartnerBookings>,
    pub no_show_rate: Option<f64>,
    pub cancellation_rate: Option<f64>,
    pub lead_time: LeadTime,
}

fn lead_time<'a>(lines: impl IntoIterator<Item = &'a BookingLine>) -> LeadTime {
    let mut minutes: Vec<i64> = lines
        .into_iter()
        .map(|l| (l.starts_at - l.created_at).num_minutes())
        .collect();
    if minutes.is_empty() {
        return LeadTime {
            mean_minutes: None,
            median_minutes: None,
        };
    }
    minutes.sort_unstable();
    let n = minutes.len();
    let mean = minutes.iter().sum::<i64>() as f64 / n as f64;
    let median = if n % 2 == 1 {
        minutes[n / 2] as f64
    } else {
        (minutes[n / 2 - 1] + minutes[n / 2]) as f64 / 2.0
    };
    LeadTime {
        mean_minutes: Some(round_to(mean, 1)),
        median_minutes: Some(round_to(median, 1)),
    }
}

fn status_counts<'a>(lines: impl IntoIterator<Item = &'a BookingLine>) -> BTreeMap<String, i64> {
    let mut counts = BTreeMap::new();
    for line in lines {
        *counts.entry(line.status.clone()).or_insert(0) += 1;
    }
    counts
}

fn rates(counts: &BTreeMap<String, i64>) -> (Option<f64>, Option<f64>) {
    let get = |s: &str| counts.get(s).copied().unwrap_or(0);
    let total: i64 = counts.values().sum();
    let due = get("checked_in") + get("in_service") + get("completed") + get("no_show");
    (rate(get("no_show"), due), rate(get("cancelled"), total))
}

pub fn booking_report(lines: &[BookingLine]) -> BookingReport {
    let by_status = status_counts(lines);
    let (no_show_rate, cancellation_rate) = rates(&by_status);
    let mut channels: BTreeMap<String, Vec<&BookingLine>> = BTreeMap::new();
    for line in lines {
        channels.entry(line.channel.clone()).or_default().push(line);
    }
    let by_channel = channels
        .into_iter()
        .map(|(channel, members)| {
            let counts = status_counts(members.iter().copied());
            let (no_show_rate, cancellation_rate) = rates(&counts);
            ChannelBookings {
                channel,
                bookings: members.len() as i64,
                by_status: counts,
                no_show_rate,
                cancellation_rate,
                lead_time: lead_time(members.iter().copied()),
            }
        })
        .collect();
    let mut partners: BTreeMap<String, Vec<&BookingLine>> = BTreeMap::new();
    for line in lines {
        if let Some(client) = &line.client_id {
            partners.entry(client.clone()).or_default().push(line);
        }
    }
    let by_partner = partners
        .into_iter()
        .map(|(client_id, members)| {
            let counts = status_counts(members.iter().copied());
            let (no_show_rate, cancellation_rate) = rates(&counts);
            PartnerBookings {
                client_id,
                bookings: members.len() as i64,
                by_status: counts,
                no_show_rate,
                cancellation_rate,
                lead_time: lead_time(members.iter().copied()),
            }
        })
        .collect();
    BookingReport {
        bookings: lines.len() as i64,
        by_status,
        by_channel,
        by_partner,
        no_show_rate,
        cancellation_rate,
        lead_time: lead_time(lines),
    }
}

#[cfg(test)]
mod tests;
