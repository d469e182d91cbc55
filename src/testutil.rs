//! Helpers shared by the unit tests of several layers.

/// Hex digits to bytes; spaces, newlines and `#` comments between, so a
/// message's expected bytes can be written field by field.
pub fn hex(s: &str) -> Vec<u8> {
    let digits: String = s
        .lines()
        .map(|l| l.split('#').next().unwrap_or(""))
        .collect::<String>()
        .split_whitespace()
        .collect();
    assert!(digits.len() % 2 == 0, "odd number of hex digits: {digits}");
    (0..digits.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&digits[i..i + 2], 16).unwrap())
        .collect()
}
