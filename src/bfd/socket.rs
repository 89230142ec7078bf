//! UDP sockets for BFD single hop (RFC 5881 §4, §5): the receive sockets on
//! port 3784 that report the TTL / hop limit of each datagram, and the
//! per-session send sockets with TTL 255 and a source port from
//! 49152–65535. Plain socket2/libc helpers; the BFD service thread
//! ([`super::service`]) owns the sockets and calls these functions.

use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use std::io;
use std::mem::{size_of, MaybeUninit};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::os::fd::{AsRawFd, RawFd};

/// Destination port of single-hop BFD Control packets (RFC 5881 §4).
pub const CONTROL_PORT: u16 = 3784;
/// Source ports for BFD Control packets (RFC 5881 §4).
pub const SOURCE_PORTS: std::ops::RangeInclusive<u16> = 49152..=65535;
/// TTL / hop limit sent, and the only one accepted (RFC 5881 §5).
pub const SINGLE_HOP_TTL: u8 = 255;

/// Sets an integer socket option.
fn set_int_opt(
    fd: RawFd,
    level: libc::c_int,
    name: libc::c_int,
    value: libc::c_int,
) -> io::Result<()> {
    // SAFETY: `value` lives across the call and its exact size is passed.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            (&value as *const libc::c_int).cast(),
            size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// A non-blocking receive socket on `ip`:`port` that reports the received
/// TTL (IP_RECVTTL) or hop limit (IPV6_RECVHOPLIMIT). SO_REUSEADDR lets a
/// socket bound to one local address coexist with wildcard sockets (of this
/// or another process); the kernel delivers to the most specific one.
/// IP_FREEBIND allows binding an address that is not configured yet.
pub fn receive_socket(ip: IpAddr, port: u16) -> io::Result<UdpSocket> {
    let socket = Socket::new(
        Domain::for_address(SocketAddr::new(ip, port)),
        Type::DGRAM,
        Some(Protocol::UDP),
    )?;
    socket.set_reuse_address(true)?;
    if ip.is_ipv6() {
        socket.set_only_v6(true)?;
        set_int_opt(
            socket.as_raw_fd(),
            libc::IPPROTO_IPV6,
            libc::IPV6_RECVHOPLIMIT,
            1,
        )?;
        if !ip.is_unspecified() {
            socket.set_freebind_ipv6(true)?;
        }
    } else {
        set_int_opt(socket.as_raw_fd(), libc::IPPROTO_IP, libc::IP_RECVTTL, 1)?;
        if !ip.is_unspecified() {
            socket.set_freebind(true)?;
        }
    }
    socket.set_nonblocking(true)?;
    socket.bind(&SockAddr::from(SocketAddr::new(ip, port)))?;
    Ok(socket.into())
}

/// A non-blocking send socket for one session: bound to `local` (or the
/// unspecified address of the peer's family) and a free source port from
/// [`SOURCE_PORTS`], TTL / hop limit 255, optionally bound to `interface`.
pub fn send_socket(
    peer: IpAddr,
    local: Option<IpAddr>,
    interface: Option<&str>,
) -> io::Result<UdpSocket> {
    let domain = if peer.is_ipv6() {
        Domain::IPV6
    } else {
        Domain::IPV4
    };
    let socket = Socket::new(domain, Type::DGRAM, Some(Protocol::UDP))?;
    if peer.is_ipv6() {
        socket.set_only_v6(true)?;
        socket.set_unicast_hops_v6(u32::from(SINGLE_HOP_TTL))?;
        socket.set_multicast_hops_v6(u32::from(SINGLE_HOP_TTL))?;
    } else {
        socket.set_ttl(u32::from(SINGLE_HOP_TTL))?;
    }
    if let Some(name) = interface {
        socket.bind_device(Some(name.as_bytes()))?;
    }
    socket.set_nonblocking(true)?;
    let ip = local.unwrap_or(match peer {
        IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    });
    let span = u32::from(SOURCE_PORTS.end() - SOURCE_PORTS.start()) + 1;
    let start: u32 = rand::random::<u32>() % span;
    let mut last = io::Error::new(io::ErrorKind::AddrInUse, "no free BFD source port");
    for i in 0..span {
        let port = *SOURCE_PORTS.start() + ((start + i) % span) as u16;
        match socket.bind(&SockAddr::from(SocketAddr::new(ip, port))) {
            Ok(()) => return Ok(socket.into()),
            Err(e) if e.kind() == io::ErrorKind::AddrInUse => last = e,
            Err(e) => return Err(e),
        }
    }
    Err(last)
}

/// The scope id for a link-local IPv6 peer reached over `interface`.
pub fn scope_id(interface: Option<&str>) -> u32 {
    let Some(name) = interface else { return 0 };
    let Ok(c) = std::ffi::CString::new(name) else {
        return 0;
    };
    // SAFETY: `c` is a valid NUL-terminated string for the call's duration.
    unsafe { libc::if_nametoindex(c.as_ptr()) }
}

/// One received datagram's metadata.
#[derive(Debug, Clone, Copy)]
pub struct Received {
    /// Octets written to the buffer.
    pub len: usize,
    /// Source address.
    pub from: SocketAddr,
    /// TTL / hop limit from the control message, if the kernel gave one.
    pub ttl: Option<u8>,
}

/// `recvmsg` on a non-blocking socket, returning the TTL / hop limit from
/// the ancillary data. `WouldBlock` when nothing is queued.
pub fn recv_with_ttl(socket: &impl AsRawFd, buf: &mut [u8]) -> io::Result<Received> {
    let fd = socket.as_raw_fd();
    let mut addr = MaybeUninit::<libc::sockaddr_storage>::zeroed();
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    // Room for a few control messages of one int each.
    let mut control = [0u64; 16];
    // SAFETY: msghdr is plain data; every pointer set below outlives recvmsg.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_name = addr.as_mut_ptr().cast();
    msg.msg_namelen = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = std::mem::size_of_val(&control) as _;
    // SAFETY: `msg` points at live buffers of the stated sizes.
    let n = unsafe { libc::recvmsg(fd, &mut msg, 0) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    let mut ttl = None;
    // SAFETY: the CMSG macros walk the control buffer the kernel filled,
    // bounded by msg_controllen; each data read is checked for length.
    unsafe {
        let mut cmsg = libc::CMSG_FIRSTHDR(&msg);
        while !cmsg.is_null() {
            let c = &*cmsg;
            let is_ttl = (c.cmsg_level == libc::IPPROTO_IP && c.cmsg_type == libc::IP_TTL)
                || (c.cmsg_level == libc::IPPROTO_IPV6 && c.cmsg_type == libc::IPV6_HOPLIMIT);
            let data_len = c.cmsg_len as usize - libc::CMSG_LEN(0) as usize;
            if is_ttl && data_len >= size_of::<libc::c_int>() {
                let value = std::ptr::read_unaligned(libc::CMSG_DATA(cmsg).cast::<libc::c_int>());
                ttl = u8::try_from(value).ok();
            }
            cmsg = libc::CMSG_NXTHDR(&msg, cmsg);
        }
    }
    // SAFETY: the kernel wrote msg_namelen bytes of a sockaddr into `addr`.
    let from = unsafe { SockAddr::new(addr.assume_init(), msg.msg_namelen) }
        .as_socket()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "non-IP source address"))?;
    Ok(Received {
        len: n as usize,
        from,
        ttl,
    })
}
