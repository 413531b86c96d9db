//! Weekly opening hours in wall-clock time: parsing `HH:MM`, and the rule that a
//! resource's intervals on one day must not overlap.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Day of the week, ISO numbered (Monday = 1).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Weekday {
    Monday,
    Tuesday,
    Wednesday,
    Thursday,
    Friday,
    Saturday,
    Sunday,
}

impl Weekday {
    pub const ALL: [Weekday; 7] = [
        Weekday::Monday,
        Weekday::Tuesday,
        Weekday::Wednesday,
        Weekday::Thursday,
        Weekday::Friday,
        Weekday::Saturday,
        Weekday::Sunday,
    ];

    pub fn number(self) -> i32 {
        self as i32 + 1
    }

    pub fn from_number(n: i32) -> Option<Self> {
        Self::ALL.get((n - 1) as usize).copied()
    }

    pub fn from_chrono(day: chrono::Weekday) -> Self {
        Self::ALL[day.num_days_from_monday() as usize]
    }
}

/// One opening interval on a weekday, in minutes after local midnight
/// (`end_minute` may be 1440, i.e. `24:00`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WeeklyInterval {
    pub weekday: Weekday,
    pub start_minute: i32,
    pub end_minute: i32,
}

/// Parses `HH:MM` (00:00 to 24:00) into minutes after midnight.
pub fn parse_clock(text: &str) -> Option<i32> {
    let (h, m) = text.split_once(':')?;
    let two_digits = |part: &str| part.len() == 2 && part.bytes().all(|b| b.is_ascii_digit());
    if !two_digits(h) || !two_digits(m) {
        return None;
    }
    let hours: i32 = h.parse().ok()?;
    let minutes: i32 = m.parse().ok()?;
    if minutes >= 60 || hours > 24 || (hours == 24 && minutes != 0) {
        return None;
    }
    Some(hours * 60 + minutes)
}

/// Renders minutes after midnight as `HH:MM`.
pub fn format_clock(minute: i32) -> String {
    format!("{:02}:{:02}", minute / 60, minute % 60)
}

/// Indexes of intervals that overlap an earlier interval of the same day.
/// Touching intervals (09:00–12:00 and 12:00–17:00) do not overlap.
/// The union of minute intervals `[start, end)`: what a location is open
/// when any of its resources works. Sorted; touching intervals join.
pub fn union(mut intervals: Vec<(i32, i32)>) -> Vec<(i32, i32)> {
    intervals.sort_unstable();
    let mut joined: Vec<(i32, i32)> = Vec::new();
    for (start, end) in intervals {
        match joined.last_mut() {
            Some(last) if start <= last.1 => last.1 = last.1.max(end),
            _ => joined.push((start, end)),
        }
    }
    joined
}

pub fn overlapping(intervals: &[WeeklyInterval]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..intervals.len()).collect();
    order.sort_by_key(|&i| (intervals[i].weekday, intervals[i].start_minute, i));
    let mut bad = Vec::new();
    for pair in order.windows(2) {
        let (a, b) = (&intervals[pair[0]], &intervals[pair[1]]);
        if a.weekday == b.weekday && b.start_minute < a.end_minute {
            bad.push(pair[1]);
        }
    }
    bad.sort_unstable();
    bad
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_union_of_working_hours_joins_overlapping_and_touching_intervals() {
        assert_eq!(
            union(vec![
                (780, 1050),
                (540, 750),
                (600, 700),
                (1050, 1080),
                (1200, 1260)
            ]),
            vec![(540, 750), (780, 1080), (1200, 1260)]
        );
        assert!(union(Vec::new()).is_empty());
    }

    fn interval(weekday: Weekday, start: &str, end: &str) -> WeeklyInterval {
        WeeklyInterval {
            weekday,
            start_minute: parse_clock(start).unwrap(),
            end_minute: parse_clock(end).unwrap(),
        }
    }

    #[test]
    fn clock_times_parse_and_format() {
        assert_eq!(parse_clock("09:30"), Some(570));
        assert_eq!(parse_clock("24:00"), Some(1440));
        assert_eq!(format_clock(570), "09:30");
        for bad in ["9:30", "24:01", "12:60", "noon", "12-30", "-1:00"] {
            assert_eq!(parse_clock(bad), None, "{bad}");
        }
    }

    #[test]
    fn overlapping_intervals_on_one_day_are_found() {
        let hours = [
            interval(Weekday::Monday, "09:00", "12:00"),
            interval(Weekday::Monday, "12:00", "17:00"),
            interval(Weekday::Tuesday, "09:00", "12:00"),
            interval(Weekday::Monday, "16:00", "18:00"),
            interval(Weekday::Tuesday, "11:59", "13:00"),
        ];
        assert_eq!(overlapping(&hours), vec![3, 4]);
    }

    #[test]
    fn weekdays_number_from_monday() {
        assert_eq!(Weekday::Monday.number(), 1);
        assert_eq!(Weekday::from_number(7), Some(Weekday::Sunday));
        assert_eq!(
            Weekday::from_chrono(chrono::Weekday::Wed),
            Weekday::Wednesday
        );
    }
}
