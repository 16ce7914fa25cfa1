//! The RESP reader's fuzz property (`tests/support/resp_check.rs`) on a seeded set of
//! inputs, so `make test` checks it without a fuzzer: replies of every type, each of
//! their prefixes, and single-byte changes.

mod support;

use support::resp_check::check_resp;

const REPLIES: &[&[u8]] = &[
    b"+OK\r\n",
    b"-ERR no such key\r\n",
    b":0\r\n",
    b":-9223372036854775808\r\n",
    b"$-1\r\n",
    b"$0\r\n\r\n",
    b"$4\r\na\r\nb\r\n",
    b"*-1\r\n",
    b"*0\r\n",
    b"*1\r\n*2\r\n$7\r\nsse:log\r\n*1\r\n*2\r\n$3\r\n1-0\r\n*2\r\n$4\r\ndata\r\n$2\r\nhi\r\n",
    b"*3\r\n:1\r\n+two\r\n$-1\r\n",
];

#[test]
fn replies_of_every_type_and_every_damaged_copy_hold_the_property() {
    for reply in REPLIES {
        check_resp(reply);
        for cut in 0..reply.len() {
            check_resp(&reply[..cut]);
        }
        for index in 0..reply.len() {
            for flip in [0x01u8, 0x20, 0x80] {
                let mut damaged = reply.to_vec();
                damaged[index] ^= flip;
                check_resp(&damaged);
            }
        }
    }
}
