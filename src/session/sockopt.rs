//! Socket options for BGP transport security: TCP MD5 signatures
//! (RFC 2385, Linux `TCP_MD5SIG`) and GTSM (RFC 5082: send with TTL/hop
//! limit 255, accept only ≥ 254 for single-hop sessions); and the kernel's
//! round-trip time estimate of a connection (`TCP_INFO`).
//!
//! Plain functions on file descriptors, called by the listener (`listen`),
//! the peer task's connect path (`peer`) and a connection's reader
//! (`conn`, for the RTT). Linux only; elsewhere they return `Unsupported`.

use std::io;
use std::net::IpAddr;
use std::os::fd::AsRawFd;
use std::time::Duration;

/// TTL / hop limit GTSM sends with (RFC 5082 §3).
pub const GTSM_TTL: u32 = 255;
/// The lowest TTL / hop limit accepted on a single-hop GTSM session (RFC 5082 §3).
pub const GTSM_MIN_TTL: u32 = 254;
/// Longest TCP MD5 key Linux accepts (`TCP_MD5SIG_MAXKEYLEN`).
pub const MD5_MAX_KEY_LEN: usize = 80;

/// `struct tcp_md5sig` of `<linux/tcp.h>`.
#[cfg(target_os = "linux")]
#[repr(C)]
struct TcpMd5Sig {
    addr: libc::sockaddr_storage,
    flags: u8,
    prefixlen: u8,
    keylen: u16,
    ifindex: libc::c_int,
    key: [u8; MD5_MAX_KEY_LEN],
}

fn setsockopt<T>(
    fd: &impl AsRawFd,
    level: libc::c_int,
    name: libc::c_int,
    val: &T,
) -> io::Result<()> {
    // SAFETY: `val` points to a live, properly sized value for the duration of the call.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (val as *const T).cast::<libc::c_void>(),
            std::mem::size_of::<T>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Installs (`Some(key)`) or removes (`None`) the TCP MD5 key for `peer` on
/// the socket: on a listening socket it applies to connections from `peer`,
/// on a connecting socket to the session with it. The socket's family must
/// match `peer`'s.
#[cfg(target_os = "linux")]
pub fn set_md5(fd: &impl AsRawFd, peer: IpAddr, key: Option<&str>) -> io::Result<()> {
    let key = key.map(str::as_bytes).unwrap_or_default();
    if key.len() > MD5_MAX_KEY_LEN {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("TCP MD5 key longer than {MD5_MAX_KEY_LEN} octets"),
        ));
    }
    // SAFETY: all-zero is a valid `sockaddr_storage` and a valid `TcpMd5Sig`.
    let mut sig: TcpMd5Sig = unsafe { std::mem::zeroed() };
    let sa = socket2::SockAddr::from(std::net::SocketAddr::new(peer, 0));
    // SAFETY: `SockAddr` wraps a `sockaddr_storage`; we copy `len` bytes of it.
    unsafe {
        std::ptr::copy_nonoverlapping(
            sa.as_ptr().cast::<u8>(),
            (&mut sig.addr as *mut libc::sockaddr_storage).cast::<u8>(),
            sa.len() as usize,
        );
    }
    sig.keylen = key.len() as u16;
    sig.key[..key.len()].copy_from_slice(key);
    setsockopt(fd, libc::IPPROTO_TCP, libc::TCP_MD5SIG, &sig)
}

/// TCP MD5 is only implemented for Linux.
#[cfg(not(target_os = "linux"))]
pub fn set_md5(_fd: &impl AsRawFd, _peer: IpAddr, _key: Option<&str>) -> io::Result<()> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "TCP MD5 needs Linux",
    ))
}

/// GTSM (RFC 5082): send with TTL / hop limit 255 and drop segments that
/// arrive with less than 254. `v6` selects the IPv6 options.
pub fn set_gtsm(fd: &impl AsRawFd, v6: bool) -> io::Result<()> {
    let ttl = GTSM_TTL as libc::c_int;
    let min = GTSM_MIN_TTL as libc::c_int;
    if v6 {
        setsockopt(fd, libc::IPPROTO_IPV6, libc::IPV6_UNICAST_HOPS, &ttl)?;
        setsockopt(fd, libc::IPPROTO_IPV6, libc::IPV6_MINHOPCOUNT, &min)
    } else {
        setsockopt(fd, libc::IPPROTO_IP, libc::IP_TTL, &ttl)?;
        setsockopt(fd, libc::IPPROTO_IP, libc::IP_MINTTL, &min)
    }
}

/// Sends with TTL / hop limit 255 without requiring it from the peer: set
/// on a listening socket so the SYN-ACK passes a GTSM peer's minimum.
pub fn set_ttl_255(fd: &impl AsRawFd, v6: bool) -> io::Result<()> {
    let ttl = GTSM_TTL as libc::c_int;
    if v6 {
        setsockopt(fd, libc::IPPROTO_IPV6, libc::IPV6_UNICAST_HOPS, &ttl)
    } else {
        setsockopt(fd, libc::IPPROTO_IP, libc::IP_TTL, &ttl)
    }
}

/// The kernel's round-trip time estimate of a TCP connection
/// (RFC 6298 as Linux keeps it, `struct tcp_info`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpRtt {
    /// Smoothed RTT (`tcpi_rtt`, SRTT).
    pub rtt: Duration,
    /// Its mean deviation (`tcpi_rttvar`, RTTVAR).
    pub rttvar: Duration,
}

/// Reads `TCP_INFO` of a connected TCP socket: its smoothed RTT and RTT
/// variance, which the kernel updates from every acknowledged segment
/// (microsecond resolution).
#[cfg(target_os = "linux")]
pub fn tcp_rtt(fd: &impl AsRawFd) -> io::Result<TcpRtt> {
    // SAFETY: all-zero is a valid `tcp_info`.
    let mut info: libc::tcp_info = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::tcp_info>() as libc::socklen_t;
    // SAFETY: `info` and `len` are valid for writes of the sizes given; the
    // kernel writes at most `len` bytes and says how many.
    let rc = unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_INFO,
            (&mut info as *mut libc::tcp_info).cast::<libc::c_void>(),
            &mut len,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    // `tcpi_rttvar` ends at this offset: an older kernel may fill less.
    let needed = std::mem::offset_of!(libc::tcp_info, tcpi_rttvar) + 4;
    if (len as usize) < needed {
        return Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "TCP_INFO without tcpi_rtt",
        ));
    }
    Ok(TcpRtt {
        rtt: Duration::from_micros(u64::from(info.tcpi_rtt)),
        rttvar: Duration::from_micros(u64::from(info.tcpi_rttvar)),
    })
}

/// `TCP_INFO` is only read on Linux.
#[cfg(not(target_os = "linux"))]
pub fn tcp_rtt(_fd: &impl AsRawFd) -> io::Result<TcpRtt> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "TCP_INFO needs Linux",
    ))
}

/// Reads an integer socket option (used by tests to check GTSM).
pub fn get_int(fd: &impl AsRawFd, level: libc::c_int, name: libc::c_int) -> io::Result<i32> {
    let mut v: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: `v` and `len` are valid for writes of the sizes given.
    let rc = unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (&mut v as *mut libc::c_int).cast::<libc::c_void>(),
            &mut len,
        )
    };
    if rc == 0 {
        Ok(v)
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use socket2::{Domain, Socket, Type};

    #[test]
    fn gtsm_sets_ttl_255_and_minimum_254_on_ipv4() -> io::Result<()> {
        let s = Socket::new(Domain::IPV4, Type::STREAM, None)?;
        set_gtsm(&s, false)?;
        assert_eq!(get_int(&s, libc::IPPROTO_IP, libc::IP_TTL)?, 255);
        assert_eq!(get_int(&s, libc::IPPROTO_IP, libc::IP_MINTTL)?, 254);
        Ok(())
    }

    #[test]
    fn gtsm_sets_hop_limit_255_and_minimum_254_on_ipv6() -> io::Result<()> {
        let Ok(s) = Socket::new(Domain::IPV6, Type::STREAM, None) else {
            return Ok(()); // no IPv6 in this sandbox
        };
        set_gtsm(&s, true)?;
        assert_eq!(
            get_int(&s, libc::IPPROTO_IPV6, libc::IPV6_UNICAST_HOPS)?,
            255
        );
        assert_eq!(
            get_int(&s, libc::IPPROTO_IPV6, libc::IPV6_MINHOPCOUNT)?,
            254
        );
        Ok(())
    }

    #[test]
    fn md5_key_is_accepted_by_the_kernel_and_can_be_removed() -> io::Result<()> {
        let s = Socket::new(Domain::IPV4, Type::STREAM, None)?;
        let peer: IpAddr = "127.0.0.2".parse().map_err(io::Error::other)?;
        set_md5(&s, peer, Some("s3cret"))?;
        set_md5(&s, peer, None)
    }

    #[test]
    fn tcp_info_gives_an_rtt_on_a_loopback_connection() -> io::Result<()> {
        use std::io::{Read, Write};
        let l = std::net::TcpListener::bind("127.0.0.1:0")?;
        let mut c = std::net::TcpStream::connect(l.local_addr()?)?;
        let (mut s, _) = l.accept()?;
        c.write_all(b"ping")?;
        let mut buf = [0u8; 4];
        s.read_exact(&mut buf)?;
        let r = tcp_rtt(&c)?;
        // Loopback: well under a second, and measured (the handshake gives
        // the first sample).
        assert!(r.rtt < Duration::from_secs(1), "{r:?}");
        assert!(r.rtt > Duration::ZERO || r.rttvar > Duration::ZERO, "{r:?}");
        Ok(())
    }

    #[test]
    fn tcp_info_on_a_udp_socket_is_an_error() -> io::Result<()> {
        let s = Socket::new(Domain::IPV4, Type::DGRAM, None)?;
        assert!(tcp_rtt(&s).is_err());
        Ok(())
    }

    #[test]
    fn md5_key_longer_than_80_octets_is_refused() -> io::Result<()> {
        let s = Socket::new(Domain::IPV4, Type::STREAM, None)?;
        let peer: IpAddr = "127.0.0.2".parse().map_err(io::Error::other)?;
        let err = set_md5(&s, peer, Some(&"k".repeat(81)))
            .err()
            .map(|e| e.kind());
        assert_eq!(err, Some(io::ErrorKind::InvalidInput));
        Ok(())
    }
}
