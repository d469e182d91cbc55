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

/// `whole` with four bytes changed at random, 2 000 times over (xorshift
/// from `seed`, so a failure repeats): each copy goes to `parse`, which
/// must not panic on peer bytes.
pub fn with_bytes_flipped(whole: &[u8], seed: u32, mut parse: impl FnMut(&[u8])) {
    let mut x = seed.max(1);
    for _ in 0..2000 {
        let mut b = whole.to_vec();
        for _ in 0..4 {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            let i = x as usize % b.len();
            b[i] = (x >> 24) as u8;
        }
        parse(&b);
    }
}
