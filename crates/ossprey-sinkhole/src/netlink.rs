//! The few netlink messages the sealed network needs, built by hand.
//!
//! `configure` must not depend on `ip` or `nft` being installed where the sandbox runs,
//! and a netlink crate would bring a large dependency tree for four messages. The
//! messages are plain bytes: a `nlmsghdr`, a fixed family header, then attributes
//! (type-length-value, 4-byte aligned, nestable). Building them is safe code; the socket
//! calls go through `nix`.
//!
//! Two conventions that are easy to get wrong and are the reason for the separate
//! `attr_u32`/`attr_be32` helpers: rtnetlink integers are host-endian, nftables
//! integers are big-endian (network order).
//!
//! This module must never be used outside a network namespace the caller made: every
//! message changes the namespace the calling thread is in.

use std::os::fd::{AsFd, AsRawFd, OwnedFd};

use nix::errno::Errno;
use nix::sys::socket::{
    AddressFamily, MsgFlags, NetlinkAddr, SockFlag, SockProtocol, SockType, bind, recv, sendto,
    setsockopt, socket, sockopt,
};
use nix::sys::time::TimeVal;

use crate::error::SinkholeError;

const NLMSG_HDRLEN: usize = 16;
const NLMSG_ERROR: u16 = 2;
const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_ACK: u16 = 0x4;
const NLM_F_EXCL: u16 = 0x200;
const NLM_F_CREATE: u16 = 0x400;
const NLM_F_APPEND: u16 = 0x800;
const NLA_F_NESTED: u16 = 0x8000;

const RTM_NEWLINK: u16 = 16;
const RTM_NEWROUTE: u16 = 24;
const IFF_UP: u32 = 0x1;
const RT_TABLE_LOCAL: u8 = 255;
const RTPROT_BOOT: u8 = 3;
const RT_SCOPE_HOST: u8 = 254;
const RTN_LOCAL: u8 = 2;
const RTA_OIF: u16 = 4;
const RTA_TABLE: u16 = 15;

const NFNL_SUBSYS_NFTABLES: u16 = 10;
const NFNL_MSG_BATCH_BEGIN: u16 = 0x10;
const NFNL_MSG_BATCH_END: u16 = 0x11;
const NFT_MSG_NEWTABLE: u16 = 0;
const NFT_MSG_NEWCHAIN: u16 = 3;
const NFT_MSG_NEWRULE: u16 = 6;
const NFPROTO_INET: u8 = 1;
const NFPROTO_IPV4: u8 = 2;
const NFPROTO_IPV6: u8 = 10;
const NF_INET_LOCAL_OUT: u32 = 3;
const NF_ACCEPT: u32 = 1;
const NFT_REG_1: u32 = 1;
const NFT_META_NFPROTO: u32 = 15;
const NFT_META_L4PROTO: u32 = 16;
const NFT_PAYLOAD_NETWORK_HEADER: u32 = 1;
const NFT_CMP_EQ: u32 = 0;
const NFT_CMP_NEQ: u32 = 1;
const NF_NAT_RANGE_PROTO_SPECIFIED: u32 = 0x2;

/// Name of the nftables table `configure` creates (visible with `nft list ruleset`
/// from inside the namespace, which helps when debugging a sandbox).
pub const NFT_TABLE: &str = "ossprey_sinkhole";
const NFT_CHAIN: &str = "redirect_out";

/// One netlink message under construction.
struct Message {
    buf: Vec<u8>,
    nests: Vec<usize>,
}

impl Message {
    fn new(msg_type: u16, flags: u16, seq: u32) -> Self {
        let mut buf = Vec::with_capacity(256);
        buf.extend_from_slice(&0u32.to_ne_bytes()); // length, patched in `finish`
        buf.extend_from_slice(&msg_type.to_ne_bytes());
        buf.extend_from_slice(&flags.to_ne_bytes());
        buf.extend_from_slice(&seq.to_ne_bytes());
        buf.extend_from_slice(&0u32.to_ne_bytes()); // port id: the kernel fills it in
        Self {
            buf,
            nests: Vec::new(),
        }
    }

    /// An nftables message: the `nfgenmsg` family header follows `nlmsghdr`.
    fn nft(msg_type: u16, flags: u16, seq: u32, family: u8, res_id: u16) -> Self {
        let mut m = Self::new(msg_type, flags, seq);
        m.raw(&[family, 0]); // family, NFNETLINK_V0
        m.raw(&res_id.to_be_bytes());
        m
    }

    fn raw(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    fn pad(&mut self) {
        while !self.buf.len().is_multiple_of(4) {
            self.buf.push(0);
        }
    }

    fn attr(&mut self, kind: u16, value: &[u8]) {
        let len = u16::try_from(4 + value.len()).expect("netlink attributes here are tiny");
        self.raw(&len.to_ne_bytes());
        self.raw(&kind.to_ne_bytes());
        self.raw(value);
        self.pad();
    }

    fn attr_str(&mut self, kind: u16, value: &str) {
        let mut bytes = value.as_bytes().to_vec();
        bytes.push(0);
        self.attr(kind, &bytes);
    }

    fn attr_u32(&mut self, kind: u16, value: u32) {
        self.attr(kind, &value.to_ne_bytes());
    }

    fn attr_be32(&mut self, kind: u16, value: u32) {
        self.attr(kind, &value.to_be_bytes());
    }

    fn nest_begin(&mut self, kind: u16) {
        self.nests.push(self.buf.len());
        self.raw(&0u16.to_ne_bytes());
        self.raw(&(kind | NLA_F_NESTED).to_ne_bytes());
    }

    fn nest_end(&mut self) {
        let start = self.nests.pop().expect("nest_end without nest_begin");
        let len = u16::try_from(self.buf.len() - start).expect("netlink nests here are tiny");
        self.buf[start..start + 2].copy_from_slice(&len.to_ne_bytes());
    }

    fn finish(mut self) -> Vec<u8> {
        assert!(self.nests.is_empty(), "unclosed netlink nest");
        let len = u32::try_from(self.buf.len()).expect("netlink messages here are tiny");
        self.buf[0..4].copy_from_slice(&len.to_ne_bytes());
        self.buf
    }
}

/// A netlink socket of one protocol, bound to the kernel.
struct NetlinkSocket {
    fd: OwnedFd,
}

impl NetlinkSocket {
    fn open(protocol: SockProtocol) -> Result<Self, SinkholeError> {
        let fd = socket(
            AddressFamily::Netlink,
            SockType::Raw,
            SockFlag::SOCK_CLOEXEC,
            protocol,
        )
        .map_err(|e| SinkholeError::sys("open a netlink socket", e))?;
        bind(fd.as_raw_fd(), &NetlinkAddr::new(0, 0))
            .map_err(|e| SinkholeError::sys("bind a netlink socket", e))?;
        // An answer that never comes must not hang the sandbox's setup.
        setsockopt(&fd.as_fd(), sockopt::ReceiveTimeout, &TimeVal::new(2, 0))
            .map_err(|e| SinkholeError::sys("set a netlink receive timeout", e))?;
        Ok(Self { fd })
    }

    /// Sends `request` (one message or a batch) and waits for `acks` positive
    /// acknowledgements; the first error the kernel reports is returned with `what`.
    fn transact(
        &self,
        what: &'static str,
        request: &[u8],
        acks: usize,
    ) -> Result<(), SinkholeError> {
        let sent = sendto(
            self.fd.as_raw_fd(),
            request,
            &NetlinkAddr::new(0, 0),
            MsgFlags::empty(),
        )
        .map_err(|e| SinkholeError::sys(what, e))?;
        if sent != request.len() {
            return Err(SinkholeError::Netlink {
                what,
                errno: Errno::EMSGSIZE,
            });
        }
        let mut seen = 0;
        let mut buf = vec![0u8; 32 * 1024];
        while seen < acks {
            let n = recv(self.fd.as_raw_fd(), &mut buf, MsgFlags::empty())
                .map_err(|e| SinkholeError::sys(what, e))?;
            let mut rest = &buf[..n];
            while rest.len() >= NLMSG_HDRLEN {
                let len = u32::from_ne_bytes(rest[0..4].try_into().expect("4 bytes")) as usize;
                let kind = u16::from_ne_bytes(rest[4..6].try_into().expect("2 bytes"));
                if len < NLMSG_HDRLEN || len > rest.len() {
                    return Err(SinkholeError::Netlink {
                        what,
                        errno: Errno::EBADMSG,
                    });
                }
                if kind == NLMSG_ERROR {
                    let code = rest
                        .get(NLMSG_HDRLEN..NLMSG_HDRLEN + 4)
                        .map(|b| i32::from_ne_bytes(b.try_into().expect("4 bytes")))
                        .ok_or(SinkholeError::Netlink {
                            what,
                            errno: Errno::EBADMSG,
                        })?;
                    if code != 0 {
                        return Err(SinkholeError::Netlink {
                            what,
                            errno: Errno::from_raw(-code),
                        });
                    }
                    seen += 1;
                }
                let aligned = (len + 3) & !3;
                rest = &rest[aligned.min(rest.len())..];
            }
        }
        Ok(())
    }
}

/// `ip link set lo up`.
pub fn link_up(ifindex: u32) -> Result<(), SinkholeError> {
    let sock = NetlinkSocket::open(SockProtocol::NetlinkRoute)?;
    let mut m = Message::new(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, 1);
    // struct ifinfomsg: family, pad, type, index, flags, change
    m.raw(&[libc::AF_UNSPEC as u8, 0]);
    m.raw(&0u16.to_ne_bytes());
    m.raw(&i32::try_from(ifindex).unwrap_or(i32::MAX).to_ne_bytes());
    m.raw(&IFF_UP.to_ne_bytes());
    m.raw(&IFF_UP.to_ne_bytes());
    sock.transact("bring the loopback interface up", &m.finish(), 1)
}

/// `ip route add local default dev lo` (table local): every IPv4 address becomes an
/// address of this namespace, so packets to anywhere are delivered locally instead of
/// failing with "network unreachable", and the sinkhole can answer for all of them.
pub fn route_local_default(ifindex: u32) -> Result<(), SinkholeError> {
    let sock = NetlinkSocket::open(SockProtocol::NetlinkRoute)?;
    let mut m = Message::new(
        RTM_NEWROUTE,
        NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
        1,
    );
    // struct rtmsg: family, dst_len, src_len, tos, table, protocol, scope, type, flags
    m.raw(&[
        libc::AF_INET as u8,
        0,
        0,
        0,
        RT_TABLE_LOCAL,
        RTPROT_BOOT,
        RT_SCOPE_HOST,
        RTN_LOCAL,
    ]);
    m.raw(&0u32.to_ne_bytes());
    m.attr_u32(RTA_TABLE, u32::from(RT_TABLE_LOCAL));
    m.attr_u32(RTA_OIF, ifindex);
    sock.transact("add the local default route", &m.finish(), 1)
}

/// Expression builders for one nftables rule.
struct Rule<'a>(&'a mut Message);

impl Rule<'_> {
    const NFTA_LIST_ELEM: u16 = 1;
    const NFTA_EXPR_NAME: u16 = 1;
    const NFTA_EXPR_DATA: u16 = 2;
    const NFTA_DATA_VALUE: u16 = 1;

    fn expr(&mut self, name: &str, attrs: impl FnOnce(&mut Message)) {
        self.0.nest_begin(Self::NFTA_LIST_ELEM);
        self.0.attr_str(Self::NFTA_EXPR_NAME, name);
        self.0.nest_begin(Self::NFTA_EXPR_DATA);
        attrs(self.0);
        self.0.nest_end();
        self.0.nest_end();
    }

    fn data(m: &mut Message, kind: u16, value: &[u8]) {
        m.nest_begin(kind);
        m.attr(Self::NFTA_DATA_VALUE, value);
        m.nest_end();
    }

    /// `meta KEY == value`
    fn meta_eq(&mut self, key: u32, value: &[u8]) {
        self.expr("meta", |m| {
            m.attr_be32(1, NFT_REG_1); // NFTA_META_DREG
            m.attr_be32(2, key); // NFTA_META_KEY
        });
        self.cmp(NFT_CMP_EQ, value);
    }

    fn cmp(&mut self, op: u32, value: &[u8]) {
        self.expr("cmp", |m| {
            m.attr_be32(1, NFT_REG_1); // NFTA_CMP_SREG
            m.attr_be32(2, op); // NFTA_CMP_OP
            Self::data(m, 3, value); // NFTA_CMP_DATA
        });
    }

    fn load_network_header(&mut self, offset: u32, len: u32) {
        self.expr("payload", |m| {
            m.attr_be32(1, NFT_REG_1); // NFTA_PAYLOAD_DREG
            m.attr_be32(2, NFT_PAYLOAD_NETWORK_HEADER); // NFTA_PAYLOAD_BASE
            m.attr_be32(3, offset); // NFTA_PAYLOAD_OFFSET
            m.attr_be32(4, len); // NFTA_PAYLOAD_LEN
        });
    }

    fn mask(&mut self, mask: &[u8]) {
        let zero = vec![0u8; mask.len()];
        self.expr("bitwise", |m| {
            m.attr_be32(1, NFT_REG_1); // NFTA_BITWISE_SREG
            m.attr_be32(2, NFT_REG_1); // NFTA_BITWISE_DREG
            m.attr_be32(3, u32::try_from(mask.len()).unwrap_or(0)); // NFTA_BITWISE_LEN
            Self::data(m, 4, mask); // NFTA_BITWISE_MASK
            Self::data(m, 5, &zero); // NFTA_BITWISE_XOR
        });
    }

    fn redirect_to(&mut self, port: u16) {
        self.expr("immediate", |m| {
            m.attr_be32(1, NFT_REG_1); // NFTA_IMMEDIATE_DREG
            Self::data(m, 2, &port.to_be_bytes()); // NFTA_IMMEDIATE_DATA
        });
        self.expr("redir", |m| {
            m.attr_be32(1, NFT_REG_1); // NFTA_REDIR_REG_PROTO_MIN
            m.attr_be32(2, NFT_REG_1); // NFTA_REDIR_REG_PROTO_MAX
            m.attr_be32(3, NF_NAT_RANGE_PROTO_SPECIFIED); // NFTA_REDIR_FLAGS
        });
    }
}

fn nft_type(msg: u16) -> u16 {
    (NFNL_SUBSYS_NFTABLES << 8) | msg
}

/// Installs, in one atomic nftables batch:
///
/// ```text
/// table inet ossprey_sinkhole {
///   chain redirect_out {
///     type nat hook output priority -100; policy accept;
///     meta nfproto ipv4 meta l4proto tcp ip daddr & 255.0.0.0 != 127.0.0.0 redirect to :PORT
///     meta nfproto ipv6 meta l4proto tcp ip6 daddr != ::1 redirect to :PORT   (if ipv6)
///   }
/// }
/// ```
///
/// Loopback stays loopback so a package can still talk to servers it starts itself.
pub fn install_tcp_redirect(port: u16, ipv6: bool) -> Result<(), SinkholeError> {
    let sock = NetlinkSocket::open(SockProtocol::NetlinkNetFilter)?;
    let mut batch = Message::nft(
        NFNL_MSG_BATCH_BEGIN,
        NLM_F_REQUEST,
        1,
        libc::AF_UNSPEC as u8,
        NFNL_SUBSYS_NFTABLES,
    )
    .finish();

    let mut table = Message::nft(
        nft_type(NFT_MSG_NEWTABLE),
        NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE,
        2,
        NFPROTO_INET,
        0,
    );
    table.attr_str(1, NFT_TABLE); // NFTA_TABLE_NAME
    table.attr_be32(2, 0); // NFTA_TABLE_FLAGS
    batch.extend(table.finish());

    let mut chain = Message::nft(
        nft_type(NFT_MSG_NEWCHAIN),
        NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE,
        3,
        NFPROTO_INET,
        0,
    );
    chain.attr_str(1, NFT_TABLE); // NFTA_CHAIN_TABLE
    chain.attr_str(3, NFT_CHAIN); // NFTA_CHAIN_NAME
    chain.nest_begin(4); // NFTA_CHAIN_HOOK
    chain.attr_be32(1, NF_INET_LOCAL_OUT); // NFTA_HOOK_HOOKNUM
    chain.attr_be32(2, (-100i32).cast_unsigned()); // NFTA_HOOK_PRIORITY: before conntrack's nat
    chain.nest_end();
    chain.attr_be32(5, NF_ACCEPT); // NFTA_CHAIN_POLICY
    chain.attr_str(7, "nat"); // NFTA_CHAIN_TYPE
    batch.extend(chain.finish());

    let mut rules = vec![(
        NFPROTO_IPV4,
        16u32,
        vec![255u8, 0, 0, 0],
        vec![127u8, 0, 0, 0],
    )];
    if ipv6 {
        rules.push((
            NFPROTO_IPV6,
            24,
            vec![0xff; 16],
            std::net::Ipv6Addr::LOCALHOST.octets().to_vec(),
        ));
    }
    let mut seq = 4;
    for (nfproto, daddr_offset, mask, loopback) in &rules {
        let mut rule = Message::nft(
            nft_type(NFT_MSG_NEWRULE),
            NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_APPEND,
            seq,
            NFPROTO_INET,
            0,
        );
        seq += 1;
        rule.attr_str(1, NFT_TABLE); // NFTA_RULE_TABLE
        rule.attr_str(2, NFT_CHAIN); // NFTA_RULE_CHAIN
        rule.nest_begin(4); // NFTA_RULE_EXPRESSIONS
        {
            let mut r = Rule(&mut rule);
            r.meta_eq(NFT_META_NFPROTO, &[*nfproto]);
            r.meta_eq(NFT_META_L4PROTO, &[libc::IPPROTO_TCP as u8]);
            r.load_network_header(*daddr_offset, u32::try_from(mask.len()).unwrap_or(0));
            r.mask(mask);
            r.cmp(NFT_CMP_NEQ, loopback);
            r.redirect_to(port);
        }
        rule.nest_end();
        batch.extend(rule.finish());
    }

    batch.extend(
        Message::nft(
            NFNL_MSG_BATCH_END,
            NLM_F_REQUEST,
            seq,
            libc::AF_UNSPEC as u8,
            NFNL_SUBSYS_NFTABLES,
        )
        .finish(),
    );
    sock.transact("install the nftables TCP redirect", &batch, 2 + rules.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_are_padded_and_nests_carry_their_length() {
        let mut m = Message::new(1, 0, 7);
        m.nest_begin(4);
        m.attr_str(1, "lo"); // 4 + 3 bytes, padded to 8
        m.attr_be32(2, 1);
        m.nest_end();
        let bytes = m.finish();
        assert_eq!(bytes.len(), 16 + 4 + 8 + 8);
        assert_eq!(u32::from_ne_bytes(bytes[0..4].try_into().unwrap()), 36);
        assert_eq!(u16::from_ne_bytes(bytes[16..18].try_into().unwrap()), 20);
        assert_eq!(
            u16::from_ne_bytes(bytes[18..20].try_into().unwrap()),
            4 | NLA_F_NESTED
        );
        assert_eq!(&bytes[24..27], b"lo\0");
        assert_eq!(&bytes[32..36], &1u32.to_be_bytes());
    }
}
