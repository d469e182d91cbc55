//! The PPP option-negotiation automaton (RFC 1661 §4).
