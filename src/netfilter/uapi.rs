//! The kernel's nf_tables numbers (linux/netfilter/nf_tables.h,
//! nfnetlink.h, netfilter.h) that the helper's own netlink messages use:
//! one place for the element batches (`nlmsg`), the rules and chains it
//! writes (`rulemsg`), the ruleset it reads (`rulesetmsg`) and the
//! verdicts of its queue (`nfqmsg`). Attribute
//! types are the kernel's enums, in the order of their declaration.

/// The nf_tables subsystem (NFNL_SUBSYS_NFTABLES).
pub const NFNL_SUBSYS_NFTABLES: u16 = 10;
/// NLM_F_APPEND: a new rule goes at the end of its chain.
pub const NLM_F_APPEND: u16 = 0x800;

/// Families: every one (a dump of all), `inet` (fw4's tables), `ip` (the
/// helper's own).
pub const NFPROTO_UNSPEC: u8 = 0;
pub const NFPROTO_INET: u8 = 1;
pub const NFPROTO_IPV4: u8 = 2;

// enum nf_tables_msg_types.
pub const NFT_MSG_NEWTABLE: u16 = 0;
pub const NFT_MSG_GETTABLE: u16 = 1;
pub const NFT_MSG_NEWCHAIN: u16 = 3;
pub const NFT_MSG_GETCHAIN: u16 = 4;
pub const NFT_MSG_DELCHAIN: u16 = 5;
pub const NFT_MSG_NEWRULE: u16 = 6;
pub const NFT_MSG_GETRULE: u16 = 7;
pub const NFT_MSG_DELRULE: u16 = 8;
pub const NFT_MSG_NEWSETELEM: u16 = 12;
pub const NFT_MSG_GETSETELEM: u16 = 13;
pub const NFT_MSG_DELSETELEM: u16 = 14;
pub const NFT_MSG_NEWOBJ: u16 = 18;
pub const NFT_MSG_GETOBJ: u16 = 19;

// enum nft_list_attributes, nft_table_attributes.
pub const NFTA_LIST_ELEM: u16 = 1;
pub const NFTA_TABLE_NAME: u16 = 1;

// enum nft_chain_attributes, nft_hook_attributes.
pub const NFTA_CHAIN_TABLE: u16 = 1;
pub const NFTA_CHAIN_NAME: u16 = 3;
pub const NFTA_CHAIN_HOOK: u16 = 4;
pub const NFTA_CHAIN_POLICY: u16 = 5;
pub const NFTA_CHAIN_TYPE: u16 = 7;
pub const NFTA_HOOK_HOOKNUM: u16 = 1;
pub const NFTA_HOOK_PRIORITY: u16 = 2;
/// enum nf_inet_hooks.
pub const NF_INET_FORWARD: u32 = 2;
/// NF_IP_PRI_MANGLE, negative in an unsigned field.
pub const PRIORITY_MANGLE: u32 = -150i32 as u32;
// Verdicts (netfilter.h): a chain's policy, a queued packet's fate.
pub const NF_DROP: u32 = 0;
pub const NF_ACCEPT: u32 = 1;
/// Accept, and run none of the hook's later chains (the packet goes on to
/// the next hook, as after the last chain's accept).
pub const NF_STOP: u32 = 5;

// enum nft_rule_attributes, nft_expr_attributes.
pub const NFTA_RULE_TABLE: u16 = 1;
pub const NFTA_RULE_CHAIN: u16 = 2;
pub const NFTA_RULE_EXPRESSIONS: u16 = 4;
pub const NFTA_RULE_USERDATA: u16 = 7;
pub const NFTA_EXPR_NAME: u16 = 1;
pub const NFTA_EXPR_DATA: u16 = 2;

// enum nft_payload_attributes, nft_cmp_attributes,
// nft_immediate_attributes, nft_target_attributes.
pub const NFTA_PAYLOAD_DREG: u16 = 1;
pub const NFTA_PAYLOAD_BASE: u16 = 2;
pub const NFTA_PAYLOAD_OFFSET: u16 = 3;
pub const NFTA_PAYLOAD_LEN: u16 = 4;
pub const NFTA_CMP_SREG: u16 = 1;
pub const NFTA_CMP_OP: u16 = 2;
pub const NFTA_CMP_DATA: u16 = 3;
pub const NFTA_IMMEDIATE_DREG: u16 = 1;
pub const NFTA_IMMEDIATE_DATA: u16 = 2;
pub const NFTA_TARGET_NAME: u16 = 1;
pub const NFTA_TARGET_REV: u16 = 2;
pub const NFTA_TARGET_INFO: u16 = 3;

// enum nft_data_attributes, nft_verdict_attributes.
pub const NFTA_DATA_VALUE: u16 = 1;
pub const NFTA_DATA_VERDICT: u16 = 2;
pub const NFTA_VERDICT_CODE: u16 = 1;
pub const NFTA_VERDICT_CHAIN: u16 = 2;

// enum nft_registers, nft_payload_bases, nft_cmp_ops.
pub const NFT_REG_VERDICT: u32 = 0;
pub const NFT_REG_1: u32 = 1;
pub const NFT_PAYLOAD_NETWORK_HEADER: u32 = 1;
pub const NFT_CMP_EQ: u32 = 0;
/// enum nft_verdicts: `goto`, negative in an unsigned field.
pub const NFT_GOTO: u32 = -4i32 as u32;

// enum nft_set_elem_list_attributes, nft_set_elem_attributes.
pub const NFTA_SET_ELEM_LIST_TABLE: u16 = 1;
pub const NFTA_SET_ELEM_LIST_SET: u16 = 2;
pub const NFTA_SET_ELEM_LIST_ELEMENTS: u16 = 3;
pub const NFTA_SET_ELEM_KEY: u16 = 1;
pub const NFTA_SET_ELEM_DATA: u16 = 2;
pub const NFTA_SET_ELEM_TIMEOUT: u16 = 4;
pub const NFTA_SET_ELEM_EXPIRATION: u16 = 5;
pub const NFTA_SET_ELEM_USERDATA: u16 = 6;

// enum nft_object_attributes, nft_ct_helper_attributes; NFT_OBJECT_*.
pub const NFTA_OBJ_TABLE: u16 = 1;
pub const NFTA_OBJ_NAME: u16 = 2;
pub const NFTA_OBJ_TYPE: u16 = 3;
pub const NFTA_OBJ_DATA: u16 = 4;
pub const NFTA_CT_HELPER_NAME: u16 = 1;
pub const NFT_OBJECT_CT_HELPER: u32 = 3;
