//! Whether GRE is looked up at all: only while some call's public Call ID
//! is not its own (see [`Output::gre_lookup`]).

use super::{Output, Tracker};
use crate::nat::Change;

impl Tracker {
    /// Whether GRE must be looked up (see [`Output::gre_lookup`]): some
    /// call's public Call ID is not its own.
    pub fn looks_up_gre(&self) -> bool {
        !self.rewritten.is_empty()
    }

    /// Follow the changes from `from` on: a call whose public Call ID is
    /// not its own enters with its inbound elements and leaves with them;
    /// the lookup switches on with the first and off after the last, in
    /// the same output, so the same transaction as their elements.
    pub(super) fn follow_lookups(&mut self, out: &mut Output, from: usize) {
        let was = self.looks_up_gre();
        for c in out.changes.get(from..).unwrap_or_default() {
            match c {
                Change::Expect(m) | Change::Add(m) | Change::Promote(m)
                    if m.public_cid != m.lan_cid =>
                {
                    self.rewritten.insert((m.remote_ip(), m.public_cid));
                }
                Change::Remove(m) | Change::Unexpect(m) => {
                    self.rewritten.remove(&(m.remote_ip(), m.public_cid));
                }
                _ => {}
            }
        }
        let now = self.looks_up_gre();
        if now != was {
            out.gre_lookup = Some(now);
        }
    }
}
