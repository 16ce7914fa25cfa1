//! A client socket with a small receive buffer that the kernel will not grow: a client
//! that reads slowly then holds the server's writes back after a few kilobytes, as a
//! phone on a poor network does. std has no call for a socket's buffer size, so this
//! file declares `setsockopt` itself (std links the C library already); its one
//! `unsafe` call stays here.

use std::io;
use std::net::{SocketAddr, TcpStream};

const SOL_SOCKET: i32 = 1;
const SO_RCVBUF: i32 = 8;

/// Connects to `address` with a receive buffer of about `bytes` (socket(7): setting
/// it also stops the kernel from growing it).
pub fn connect_with_receive_buffer(address: SocketAddr, bytes: i32) -> TcpStream {
    let socket = TcpStream::connect(address).expect("connect to the test server");
    set_receive_buffer(&socket, bytes);
    socket
}

#[allow(unsafe_code)]
fn set_receive_buffer(socket: &TcpStream, bytes: i32) {
    use std::os::fd::AsRawFd;
    unsafe extern "C" {
        fn setsockopt(fd: i32, level: i32, name: i32, value: *const i32, length: u32) -> i32;
    }
    // SAFETY: the value is a live `i32` and the length says so; the descriptor is open
    // for the whole call (we borrow `socket`).
    let result = unsafe {
        setsockopt(
            socket.as_raw_fd(),
            SOL_SOCKET,
            SO_RCVBUF,
            &bytes,
            std::mem::size_of::<i32>() as u32,
        )
    };
    assert_eq!(result, 0, "setsockopt: {}", io::Error::last_os_error());
}
