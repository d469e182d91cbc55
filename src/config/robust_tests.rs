//! Pseudo-random garbage and mutated valid files: the parsers must return
//! (an error or a value), never panic, and errors must point into the file.

use super::*;

/// xorshift64*: deterministic, so a failure can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Pieces that exercise every syntax rule of both formats.
const PIECES: &[&str] = &[
    "config",
    "option",
    "list",
    "package",
    "helper",
    "server",
    "client",
    "c",
    "o",
    "l",
    "p",
    "enabled",
    "wan",
    "lan",
    "listen",
    "pool_start",
    "pool_end",
    "local_ip",
    "auth",
    "mppe",
    "mppe_bits",
    "routes",
    "route",
    "password",
    "username",
    "mtu",
    "1",
    "0",
    "yes",
    "128",
    "40",
    "10.0.0.1",
    "10.0.0.0/8",
    "0.0.0.0",
    "300.1.1.1",
    "/",
    "'",
    "\"",
    "\\",
    "#",
    ";",
    " ",
    "\t",
    "\n",
    "\r\n",
    "\\\n",
    "*",
    "-",
    "@",
    "é",
    "日",
    "\0",
    "\x7f",
    "x",
    "_",
    "require-128",
    "pap",
    "prefixes",
    "4294967296",
    "65535",
    "\\x",
    "\\^",
    "\\7",
    "''",
    "\"\"",
];

fn garbage(rng: &mut Rng) -> String {
    let n = rng.below(60);
    (0..n).map(|_| PIECES[rng.below(PIECES.len())]).collect()
}

/// Replaces, inserts or deletes a few characters of a valid file.
fn mutate(rng: &mut Rng, base: &str) -> String {
    let mut chars: Vec<char> = base.chars().collect();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(chars.len() + 1);
        let piece: Vec<char> = PIECES[rng.below(PIECES.len())].chars().collect();
        match rng.below(3) {
            0 if at < chars.len() => {
                chars.remove(at);
            }
            1 if at < chars.len() => {
                chars.splice(at..at + 1, piece);
            }
            _ => {
                chars.splice(at..at, piece);
            }
        }
    }
    chars.into_iter().collect()
}

fn check(text: &str) {
    let lines = text.split('\n').count();
    let errors = [
        uci::parse_uci("f", text).err(),
        parse("f", text).err(),
        parse_secrets("f", text).err(),
    ];
    for e in errors.into_iter().flatten() {
        let line = e.line().unwrap_or(0);
        assert!(
            (1..=lines).contains(&line),
            "line {line} of {lines}: {e} in {text:?}"
        );
        assert!(e.to_string().starts_with(&format!("f:{line}: ")), "{e}");
    }
}

const VALID: &str = "package pptp-passthrough\n\
    config helper 'passthrough'\n\toption enabled '1'\n\toption wan 'eth1'\n\tlist lan 'br-lan'\n\
    config server 'server'\n\toption enabled 1\n\toption local_ip 10.9.0.1\n\
    \toption pool_start 10.9.0.10\n\toption pool_end 10.9.0.20\n\tlist dns 1.1.1.1\n\
    config client 'office'\n\toption server \"vpn.example.com\"\n\toption username alice\n\
    \toption password 'hunter2'\n\toption routes prefixes\n\tlist route 10.0.0.0/8\n";

#[test]
fn valid_base_parses() {
    let c = parse("f", VALID).unwrap();
    assert!(c.helper.is_some() && c.server.is_some() && c.clients.len() == 1);
}

#[test]
fn random_garbage_never_panics() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for _ in 0..20_000 {
        check(&garbage(&mut rng));
    }
}

#[test]
fn random_bytes_never_panic() {
    let mut rng = Rng(42);
    for _ in 0..5_000 {
        let bytes: Vec<u8> = (0..rng.below(120)).map(|_| rng.next() as u8).collect();
        check(&String::from_utf8_lossy(&bytes));
    }
}

#[test]
fn mutated_valid_files_never_panic() {
    let mut rng = Rng(7);
    let secrets = "alice pptpd \"s e c\" 10.0.0.5\n* * 'x' -\nbob * \\x41\\101 *\n";
    for _ in 0..5_000 {
        check(&mutate(&mut rng, VALID));
        check(&mutate(&mut rng, DEFAULT_CONFIG));
        check(&mutate(&mut rng, secrets));
    }
}
