//! The roles a token can carry and the door each one books through: who is
//! staff, who may override a rule, and which channel a change is recorded on.

use std::str::FromStr;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::catalog::Channel;

/// Who is calling, as far as permissions go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Manager,
    Agent,
    Desk,
    Customer,
    Partner,
}

impl Role {
    pub const ALL: [Role; 6] = [
        Role::Admin,
        Role::Manager,
        Role::Agent,
        Role::Desk,
        Role::Customer,
        Role::Partner,
    ];
    /// Staff who run the business day to day.
    pub const STAFF: &'static [Role] = &[Role::Admin, Role::Manager, Role::Agent, Role::Desk];
    /// Those who shape the catalog, hours and pauses.
    pub const MANAGERS: &'static [Role] = &[Role::Admin, Role::Manager];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Manager => "manager",
            Role::Agent => "agent",
            Role::Desk => "desk",
            Role::Customer => "customer",
            Role::Partner => "partner",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Role::ALL.into_iter().find(|r| r.as_str() == text)
    }

    pub fn is_staff(self) -> bool {
        Role::STAFF.contains(&self)
    }
}

impl FromStr for Role {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::parse(s).ok_or_else(|| {
            format!("unknown role {s:?}; expected one of admin, manager, agent, desk, customer, partner")
        })
    }
}

/// The door a caller books through, derived from the token and never taken
/// from a body: anonymous and customer → online; agent → phone; desk →
/// walk_in; partner → partner. Managers and admins booking for someone act
/// as the phone line does: an assisted booking.
pub fn door_of(role: Option<Role>) -> Channel {
    match role {
        None | Some(Role::Customer) => Channel::Online,
        Some(Role::Agent | Role::Manager | Role::Admin) => Channel::Phone,
        Some(Role::Desk) => Channel::WalkIn,
        Some(Role::Partner) => Channel::Partner,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_role_reads_back_from_its_word() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
        }
        assert_eq!(Role::parse("owner"), None);
        assert!("owner".parse::<Role>().unwrap_err().contains("owner"));
    }

    #[test]
    fn each_door_follows_from_the_role() {
        assert_eq!(door_of(None), Channel::Online);
        assert_eq!(door_of(Some(Role::Customer)), Channel::Online);
        assert_eq!(door_of(Some(Role::Agent)), Channel::Phone);
        assert_eq!(door_of(Some(Role::Admin)), Channel::Phone);
        assert_eq!(door_of(Some(Role::Desk)), Channel::WalkIn);
        assert_eq!(door_of(Some(Role::Partner)), Channel::Partner);
        assert!(Role::Desk.is_staff() && !Role::Partner.is_staff());
    }
}
