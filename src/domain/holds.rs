//! A hold's life: `active` while it keeps its slot, then `booked` (it became
//! a booking), `released` (given back) or `expired` (its minutes ran out).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum HoldStatus {
    Active,
    Booked,
    Released,
    Expired,
}

impl HoldStatus {
    pub const ALL: [HoldStatus; 4] = [
        HoldStatus::Active,
        HoldStatus::Booked,
        HoldStatus::Released,
        HoldStatus::Expired,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            HoldStatus::Active => "active",
            HoldStatus::Booked => "booked",
            HoldStatus::Released => "released",
            HoldStatus::Expired => "expired",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_reads_back_from_its_word() {
        for status in HoldStatus::ALL {
            assert_eq!(HoldStatus::parse(status.as_str()), Some(status));
        }
        assert_eq!(HoldStatus::parse("Active"), None);
    }
}
