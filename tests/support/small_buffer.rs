//! A client socket with a small receive buffer that the kernel will not grow: a client
//! that reads slowly then holds the server's writes back after a few kilobytes, as a
//! phone on a poor network does. std has no call for a socket's buffer size, and the
//! size must be set *before* `connect` (the window the client offers, and its scale,
//! are agreed in the handshake: a buffer shrunk afterwards makes the kernel drop what
//! the server already sent into the larger window, and retransmit it again and
//! again). So this file makes the socket itself with the C library's `socket`,
//! `setsockopt` and `connect` (std links the C library already); its `unsafe` calls
//! stay here. IPv4 only, which is all the tests and the bench use.

use std::io;
use std::net::{SocketAddr, TcpStream};
use std::os::fd::{FromRawFd, OwnedFd};

const AF_INET: i32 = 2;
const SOCK_STREAM: i32 = 1;
const SOCK_CLOEXEC: i32 = 0o2_000_000;
const SOL_SOCKET: i32 = 1;
const SO_RCVBUF: i32 = 8;

/// `struct sockaddr_in` (netinet/in.h): port and address in network byte order.
#[repr(C)]
struct SockaddrIn {
    family: u16,
    port: u16,
    address: u32,
    zero: [u8; 8],
}

unsafe extern "C" {
    fn socket(domain: i32, kind: i32, protocol: i32) -> i32;
    fn setsockopt(fd: i32, level: i32, name: i32, value: *const i32, length: u32) -> i32;
    fn connect(fd: i32, address: *const SockaddrIn, length: u32) -> i32;
}

/// Connects to `address` (IPv4) with a receive buffer of about `bytes` (socket(7):
/// setting it also stops the kernel from growing it).
#[allow(unsafe_code)]
pub fn connect_with_receive_buffer(address: SocketAddr, bytes: i32) -> TcpStream {
    let SocketAddr::V4(address) = address else {
        panic!("IPv4 only: {address}");
    };
    // SAFETY: plain integer arguments; the result is checked before use.
    let fd = unsafe { socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0) };
    assert!(fd >= 0, "socket: {}", io::Error::last_os_error());
    // SAFETY: `fd` is a descriptor we just opened and own from here on.
    let owned = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: the value is a live `i32` and the length says so; the descriptor is open.
    let result = unsafe {
        setsockopt(
            fd,
            SOL_SOCKET,
            SO_RCVBUF,
            &bytes,
            std::mem::size_of::<i32>() as u32,
        )
    };
    assert_eq!(result, 0, "setsockopt: {}", io::Error::last_os_error());
    let peer = SockaddrIn {
        family: AF_INET as u16,
        port: address.port().to_be(),
        address: u32::from(*address.ip()).to_be(),
        zero: [0; 8],
    };
    // SAFETY: `peer` is a live `sockaddr_in` and the length says so; the descriptor is
    // open (we own it in `owned`).
    let result = unsafe { connect(fd, &peer, std::mem::size_of::<SockaddrIn>() as u32) };
    assert_eq!(result, 0, "connect: {}", io::Error::last_os_error());
    TcpStream::from(owned)
}
