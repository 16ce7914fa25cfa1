//! Raising this process's limit on open files to what it is allowed.
//!
//! # Why
//!
//! Every stream holds a socket, and a socket is a file descriptor: the soft
//! `RLIMIT_NOFILE` caps how many streams can exist at all (past it, `accept()` fails
//! with `EMFILE`). A login shell usually starts with a soft limit of 1,024 and a much
//! larger *hard* limit (20,000 to 1,048,576), the most an unprivileged process may
//! raise itself to. The soft limit is that low for old programs that keep descriptors
//! in a `select()` set (which cannot hold one above 1,023); this server never calls
//! `select`, so it raises the soft limit to the hard one at start, as Go's runtime
//! (since 1.19), nginx's `worker_rlimit_nofile` and many servers do. See
//! getrlimit(2) and <https://0pointer.net/blog/file-descriptor-limits.html>.
//!
//! The raise happens before the default `--max-clients` is computed from the limits
//! (`limits.rs`), so a stock shell gets a useful cap.
//!
//! # How
//!
//! std has no wrapper for `getrlimit`/`setrlimit`, so this file declares the C
//! library's own (std links the C library already); its two `unsafe` calls stay here.

#[cfg(all(
    target_os = "linux",
    any(
        target_arch = "x86_64",
        target_arch = "aarch64",
        target_arch = "riscv64"
    )
))]
#[allow(unsafe_code)]
mod ffi {
    /// From `include/uapi/asm-generic/resource.h` (the value on these architectures;
    /// MIPS and SPARC number it differently, and are left out above).
    pub const RLIMIT_NOFILE: i32 = 7;
    /// `RLIM_INFINITY`: no limit.
    pub const RLIM_INFINITY: u64 = u64::MAX;

    /// `struct rlimit` of `<sys/resource.h>`: `rlim_t` is an `unsigned long`, 64 bits
    /// on the 64-bit architectures above.
    #[repr(C)]
    pub struct Rlimit {
        pub soft: u64,
        pub hard: u64,
    }

    unsafe extern "C" {
        /// `int getrlimit(int resource, struct rlimit *rlim)`.
        pub fn getrlimit(resource: i32, rlim: *mut Rlimit) -> i32;
        /// `int setrlimit(int resource, const struct rlimit *rlim)`.
        pub fn setrlimit(resource: i32, rlim: *const Rlimit) -> i32;
    }
}

/// What [`raise_to_hard_limit`] did, for the start-up log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Raise {
    /// The soft limit went from `from` to `to`.
    Raised { from: u64, to: u64 },
    /// The soft limit was already as high as allowed.
    AlreadyAtHard(u64),
    /// The limit could not be read or changed (not Linux, or the kernel said no).
    NotRaised(String),
}

/// Raises the soft limit on open files to the hard limit (or, when the hard limit is
/// "unlimited", to the kernel's `fs.nr_open`, the most a process may ever hold).
#[cfg(all(
    target_os = "linux",
    any(
        target_arch = "x86_64",
        target_arch = "aarch64",
        target_arch = "riscv64"
    )
))]
pub fn raise_to_hard_limit() -> Raise {
    let mut limit = ffi::Rlimit { soft: 0, hard: 0 };
    // SAFETY: the kernel writes one `struct rlimit` into `limit`, which is ours and
    // lives until the call returns.
    #[allow(unsafe_code)]
    let result = unsafe { ffi::getrlimit(ffi::RLIMIT_NOFILE, &mut limit) };
    if result != 0 {
        return Raise::NotRaised(std::io::Error::last_os_error().to_string());
    }
    // An "unlimited" hard limit cannot be the soft one for open files: the kernel
    // refuses anything above fs.nr_open (setrlimit(2), EPERM).
    let target = if limit.hard == ffi::RLIM_INFINITY {
        match nr_open() {
            Some(nr_open) => nr_open,
            None => return Raise::NotRaised("fs.nr_open cannot be read".into()),
        }
    } else {
        limit.hard
    };
    if limit.soft >= target {
        return Raise::AlreadyAtHard(limit.soft);
    }
    let raised = ffi::Rlimit {
        soft: target,
        hard: limit.hard,
    };
    // SAFETY: the kernel reads one `struct rlimit` from `raised`, which lives until
    // the call returns.
    #[allow(unsafe_code)]
    let result = unsafe { ffi::setrlimit(ffi::RLIMIT_NOFILE, &raised) };
    if result != 0 {
        return Raise::NotRaised(std::io::Error::last_os_error().to_string());
    }
    Raise::Raised {
        from: limit.soft,
        to: target,
    }
}

/// Elsewhere the limit is left as it is.
#[cfg(not(all(
    target_os = "linux",
    any(
        target_arch = "x86_64",
        target_arch = "aarch64",
        target_arch = "riscv64"
    )
)))]
pub fn raise_to_hard_limit() -> Raise {
    Raise::NotRaised("not supported on this system".into())
}

/// `/proc/sys/fs/nr_open`: the most descriptors the kernel lets one process have.
#[cfg(target_os = "linux")]
fn nr_open() -> Option<u64> {
    std::fs::read_to_string("/proc/sys/fs/nr_open")
        .ok()?
        .trim()
        .parse()
        .ok()
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn after_a_raise_the_soft_limit_is_the_hard_one() {
        // The test process's own limit: raising it harms nothing else, and the second
        // call must find nothing left to do.
        match raise_to_hard_limit() {
            Raise::Raised { from, to } => assert!(to > from, "{from} -> {to}"),
            Raise::AlreadyAtHard(_) => {}
            Raise::NotRaised(why) => panic!("could not raise: {why}"),
        }
        let again = raise_to_hard_limit();
        assert!(matches!(again, Raise::AlreadyAtHard(_)), "{again:?}");
        let soft = crate::limits::open_files_soft_limit().expect("a soft limit");
        let Raise::AlreadyAtHard(reported) = again else {
            unreachable!()
        };
        assert_eq!(soft as u64, reported);
    }
}
