//! Human booking references (`K7M-4QX`): short enough to read over the phone,
//! from characters that cannot be mistaken for one another.

use rand::Rng;

/// No 0/O, 1/I/L, 2/Z, 5/S, 8/B or U/V: each remaining glyph sounds and looks distinct.
const ALPHABET: &[u8] = b"ACDEFGHJKMNPQRTWXY34679";

/// A new reference: two groups of three characters.
pub fn new_reference() -> String {
    let mut rng = rand::rng();
    let mut code = String::with_capacity(7);
    for i in 0..6 {
        if i == 3 {
            code.push('-');
        }
        code.push(ALPHABET[rng.random_range(0..ALPHABET.len())] as char);
    }
    code
}

/// The canonical form of what someone typed or read out: upper case, spaces
/// and punctuation dropped, the dash restored.
pub fn normalise_reference(typed: &str) -> String {
    let compact: String = typed
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    if compact.len() == 6 {
        format!("{}-{}", &compact[..3], &compact[3..])
    } else {
        compact
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_have_two_groups_of_unambiguous_characters() {
        for _ in 0..1000 {
            let code = new_reference();
            assert_eq!(code.len(), 7);
            assert_eq!(&code[3..4], "-");
            assert!(code
                .bytes()
                .filter(|b| *b != b'-')
                .all(|b| ALPHABET.contains(&b)));
        }
    }

    #[test]
    fn typed_references_are_normalised() {
        assert_eq!(normalise_reference("k7m4qx"), "K7M-4QX");
        assert_eq!(normalise_reference(" K7M 4QX "), "K7M-4QX");
        assert_eq!(normalise_reference("K7M-4QX"), "K7M-4QX");
        assert_eq!(normalise_reference("K7"), "K7");
    }
}
