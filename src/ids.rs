//! Prefixed, opaque, time-ordered identifiers (`loc_01J…`), generated in the app
//! so inserts need no `RETURNING` on either backend.

use rand::Rng;

const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// A new id such as `res_01JD3V6Q8M2X4Z7C9B1N5R3T6W`: 48 bits of milliseconds
/// then 80 random bits, so ids sort by creation time and cursors can page by id.
pub fn new_id(prefix: &str) -> String {
    let millis = chrono::Utc::now().timestamp_millis().max(0) as u128;
    let random: u128 = rand::rng().random::<u128>() & ((1u128 << 80) - 1);
    let mut value = (millis << 80) | random;
    let mut encoded = [0u8; 26];
    for slot in encoded.iter_mut().rev() {
        *slot = CROCKFORD[(value & 31) as usize];
        value >>= 5;
    }
    let mut id = String::with_capacity(prefix.len() + 27);
    id.push_str(prefix);
    id.push('_');
    id.push_str(std::str::from_utf8(&encoded).expect("alphabet is ASCII"));
    id
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_carry_their_prefix_and_sort_by_creation() {
        let first = new_id("bkg");
        std::thread::sleep(std::time::Duration::from_millis(2));
        let second = new_id("bkg");
        assert!(first.starts_with("bkg_") && first.len() == 30);
        assert!(first < second);
    }

    #[test]
    fn ids_do_not_repeat() {
        let ids: std::collections::HashSet<_> = (0..10_000).map(|_| new_id("x")).collect();
        assert_eq!(ids.len(), 10_000);
    }
}
