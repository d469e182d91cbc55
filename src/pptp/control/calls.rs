//! The calls of one control connection (RFC 2637 §3.2) and their states.

use std::time::Instant;

/// Where a call stands (§3.2.4.1, §3.2.4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CallState {
    /// PNS: Outgoing-Call-Request sent, waiting for the reply.
    WaitReply,
    /// PAC: Outgoing-Call-Request received, waiting for the caller to
    /// accept or reject it (the RFC's wait_cs_ans).
    WaitAnswer,
    /// Both ends know both Call IDs; data flows.
    Established,
    /// PNS: Call-Clear-Request sent, waiting for Call-Disconnect-Notify.
    WaitDisconnect,
}

/// A snapshot of one call, for status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CallInfo {
    /// Our Call ID; `None` on a PAC call not yet accepted.
    pub call_id: Option<u16>,
    /// The peer's Call ID; `None` on a PNS call not yet answered.
    pub peer_call_id: Option<u16>,
    pub state: CallState,
}

#[derive(Debug, Clone)]
pub(super) struct Call {
    pub info: CallInfo,
    /// When the call gives up waiting (§3.2.1: one minute by default).
    pub deadline: Option<Instant>,
    /// PAC: the PNS's receive window and processing delay from its
    /// Outgoing-Call-Request (§2.7), reported in `CallUp`.
    pub peer_recv_window: u16,
    pub peer_processing_delay: u16,
}

/// The call table: few entries, so a plain list.
#[derive(Debug, Clone, Default)]
pub(super) struct Calls {
    list: Vec<Call>,
}

impl Calls {
    pub fn len(&self) -> usize {
        self.list.len()
    }

    pub fn push(&mut self, call: Call) {
        self.list.push(call);
    }

    pub fn infos(&self) -> impl Iterator<Item = CallInfo> + '_ {
        self.list.iter().map(|c| c.info)
    }

    /// Position of the call we know as `id`.
    pub fn by_ours(&self, id: u16) -> Option<usize> {
        self.list.iter().position(|c| c.info.call_id == Some(id))
    }

    /// Position of the call the peer knows as `id`.
    pub fn by_peer(&self, id: u16) -> Option<usize> {
        self.list
            .iter()
            .position(|c| c.info.peer_call_id == Some(id))
    }

    pub fn get(&self, i: usize) -> Option<&Call> {
        self.list.get(i)
    }

    pub fn get_mut(&mut self, i: usize) -> Option<&mut Call> {
        self.list.get_mut(i)
    }

    pub fn remove(&mut self, i: usize) -> Option<Call> {
        (i < self.list.len()).then(|| self.list.remove(i))
    }

    /// Remove and return the calls whose deadline has passed.
    pub fn take_expired(&mut self, now: Instant) -> Vec<Call> {
        let (expired, keep) = std::mem::take(&mut self.list)
            .into_iter()
            .partition(|c| c.deadline.is_some_and(|d| d <= now));
        self.list = keep;
        expired
    }

    pub fn take_all(&mut self) -> Vec<Call> {
        std::mem::take(&mut self.list)
    }

    pub fn next_deadline(&self) -> Option<Instant> {
        self.list.iter().filter_map(|c| c.deadline).min()
    }
}
