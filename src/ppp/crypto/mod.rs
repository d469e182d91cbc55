//! MS-CHAP, CHAP-MD5 and MPPE cryptography (RFC 1994, 2433, 2759, 3078, 3079).
