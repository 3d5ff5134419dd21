//! Netlink framing, written once: message headers, attributes, alignment and
//! the requests built from them. Pure functions over bytes in the host's
//! byte order, as netlink's is. [`super::nl80211`] decodes the payloads; the
//! socket lives in `os::netlink`.
//!
//! Every length read from the wire is checked against what is left before
//! it is used, and a walk's step is that length aligned, at least one
//! header and at most what is left: a malformed reply ends in
//! [`DecodeError::Truncated`] and never in a loop that makes no progress (a
//! length near `u32::MAX`, aligned unchecked, wraps to a step of 0 on a
//! 32-bit router).

use std::fmt;

/// Length of `struct nlmsghdr`.
pub const NLMSG_HDRLEN: usize = 16;
/// Length of `struct genlmsghdr`.
pub const GENL_HDRLEN: usize = 4;
/// Length of `struct nlattr`.
pub const NLA_HDRLEN: usize = 4;

/// Message type: an error, or an acknowledgement when the errno is 0.
pub const NLMSG_ERROR: u16 = 2;
/// Message type: the end of a multipart dump.
pub const NLMSG_DONE: u16 = 3;
/// Message types below this are netlink's own; families start here.
pub const NLMSG_MIN_TYPE: u16 = 0x10;

/// Flag: a request.
pub const NLM_F_REQUEST: u16 = 0x1;
/// Flag: one part of a multipart reply.
pub const NLM_F_MULTI: u16 = 0x2;
/// Flag: dump every object (`NLM_F_ROOT | NLM_F_MATCH`).
pub const NLM_F_DUMP: u16 = 0x300;

/// The attribute type bits (the top two are the nested and byte-order flags).
const NLA_TYPE_MASK: u16 = 0x3fff;

/// Rounds a length up to netlink's 4-byte alignment (`NLMSG_ALIGN`,
/// `NLA_ALIGN`); `None` when that overflows.
pub fn align(len: usize) -> Option<usize> {
    len.checked_add(3).map(|n| n & !3)
}

/// Why a reply could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// A length field points past the end of the buffer.
    Truncated {
        /// Byte offset, from the start of the reply, of the bad header.
        offset: usize,
    },
    /// The kernel answered with an error (a positive errno).
    Kernel(i32),
    /// The reply lacks something it must have.
    Missing(&'static str),
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Truncated { offset } => write!(f, "netlink message truncated at byte {offset}"),
            DecodeError::Kernel(errno) => write!(f, "kernel error: {}", std::io::Error::from_raw_os_error(*errno)),
            DecodeError::Missing(what) => write!(f, "reply has no {what}"),
        }
    }
}

impl std::error::Error for DecodeError {}

/// A `struct nlmsghdr`, decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Length of the message, header included.
    pub len: usize,
    /// Message type.
    pub ty: u16,
    /// Flags.
    pub flags: u16,
}

impl Header {
    /// Decodes the header at the start of `buf`, if 16 bytes are there.
    pub fn read(buf: &[u8]) -> Option<Header> {
        let h = buf.get(..NLMSG_HDRLEN)?;
        Some(Header {
            len: u32::from_ne_bytes([h[0], h[1], h[2], h[3]]) as usize,
            ty: u16::from_ne_bytes([h[4], h[5]]),
            flags: u16::from_ne_bytes([h[6], h[7]]),
        })
    }

    /// Whether this message ends a reply: `NLMSG_DONE`, an error or
    /// acknowledgement, or a data message that is not part of a dump.
    pub fn ends_reply(&self) -> bool {
        matches!(self.ty, NLMSG_ERROR | NLMSG_DONE) || (self.ty >= NLMSG_MIN_TYPE && self.flags & NLM_F_MULTI == 0)
    }
}

/// One message of a reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Message<'a> {
    /// Byte offset of the message in the reply.
    pub offset: usize,
    /// Its header.
    pub header: Header,
    /// The bytes after the header.
    pub body: &'a [u8],
}

/// Iterates the messages of a reply; see [`messages`].
pub struct Messages<'a> {
    buf: &'a [u8],
    pos: usize,
}

/// The messages in `buf`, in order. A header whose length is shorter than a
/// header or longer than what is left yields [`DecodeError::Truncated`] and
/// ends the walk; fewer than 16 trailing bytes are padding.
pub fn messages(buf: &[u8]) -> Messages<'_> {
    Messages { buf, pos: 0 }
}

impl<'a> Iterator for Messages<'a> {
    type Item = Result<Message<'a>, DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        let rest = self.buf.get(self.pos..)?;
        let header = Header::read(rest)?;
        let offset = self.pos;
        if header.len < NLMSG_HDRLEN || header.len > rest.len() {
            self.pos = self.buf.len();
            return Some(Err(DecodeError::Truncated { offset }));
        }
        // len <= rest.len(), so aligning cannot overflow; the last message may
        // lack its padding, hence the min.
        self.pos += align(header.len).unwrap_or(header.len).min(rest.len());
        Some(Ok(Message { offset, header, body: &rest[NLMSG_HDRLEN..header.len] }))
    }
}

/// Iterates attributes; see [`attrs`].
pub struct Attrs<'a> {
    buf: &'a [u8],
    pos: usize,
    base: usize,
}

/// The attributes in `buf`, which starts at byte `base` of the reply (so
/// errors, nested ones included, name offsets in the reply). Yields each
/// attribute's type (flags masked off), its payload and the payload's offset
/// in the reply, for decoding nested attributes.
pub fn attrs(buf: &[u8], base: usize) -> Attrs<'_> {
    Attrs { buf, pos: 0, base }
}

/// One attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attr<'a> {
    /// Its type, with the nested and byte-order flags masked off.
    pub ty: u16,
    /// Its payload.
    pub payload: &'a [u8],
    /// The payload's offset in the reply.
    pub offset: usize,
}

impl<'a> Iterator for Attrs<'a> {
    type Item = Result<Attr<'a>, DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        let rest = self.buf.get(self.pos..)?;
        if rest.len() < NLA_HDRLEN {
            return None; // trailing padding
        }
        let len = usize::from(u16::from_ne_bytes([rest[0], rest[1]]));
        let ty = u16::from_ne_bytes([rest[2], rest[3]]) & NLA_TYPE_MASK;
        let offset = self.base + self.pos;
        if len < NLA_HDRLEN || len > rest.len() {
            self.pos = self.buf.len();
            return Some(Err(DecodeError::Truncated { offset }));
        }
        // len is at most 65535, so aligning cannot overflow.
        self.pos += align(len).unwrap_or(len).min(rest.len());
        Some(Ok(Attr { ty, payload: &rest[NLA_HDRLEN..len], offset: offset + NLA_HDRLEN }))
    }
}

/// The body of a generic netlink data message: the attributes after the
/// `genlmsghdr`, with their offset in the reply.
pub fn genl_attrs<'a>(message: &Message<'a>) -> Result<Attrs<'a>, DecodeError> {
    let attributes = message.body.get(GENL_HDRLEN..).ok_or(DecodeError::Truncated { offset: message.offset })?;
    Ok(attrs(attributes, message.offset + NLMSG_HDRLEN + GENL_HDRLEN))
}

/// The errno of an `NLMSG_ERROR` body (0 for an acknowledgement).
pub fn error_code(message: &Message<'_>) -> Result<i32, DecodeError> {
    let b = message.body.get(..4).ok_or(DecodeError::Truncated { offset: message.offset })?;
    Ok(i32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
}

/// Appends one attribute, padded to alignment.
pub fn push_attr(out: &mut Vec<u8>, ty: u16, payload: &[u8]) {
    let len = NLA_HDRLEN + payload.len();
    out.extend_from_slice(&(len as u16).to_ne_bytes());
    out.extend_from_slice(&ty.to_ne_bytes());
    out.extend_from_slice(payload);
    out.resize(out.len() + (align(len).unwrap_or(len) - len), 0);
}

/// Builds one generic netlink request: header, `genlmsghdr` (version 1) and
/// attributes. `NLM_F_REQUEST` is always set.
pub fn genl_request(family: u16, flags: u16, seq: u32, cmd: u8, attributes: &[(u16, &[u8])]) -> Vec<u8> {
    let mut body = vec![cmd, 1, 0, 0];
    for (ty, payload) in attributes {
        push_attr(&mut body, *ty, payload);
    }
    let mut msg = Vec::with_capacity(NLMSG_HDRLEN + body.len());
    msg.extend_from_slice(&((NLMSG_HDRLEN + body.len()) as u32).to_ne_bytes());
    msg.extend_from_slice(&family.to_ne_bytes());
    msg.extend_from_slice(&(flags | NLM_F_REQUEST).to_ne_bytes());
    msg.extend_from_slice(&seq.to_ne_bytes());
    msg.extend_from_slice(&0u32.to_ne_bytes());
    msg.extend_from_slice(&body);
    msg
}

/// A bare `nlmsghdr` with the given length, type and flags (for tests).
#[cfg(test)]
pub(crate) fn header(len: u32, ty: u16, flags: u16) -> Vec<u8> {
    let mut h = Vec::new();
    h.extend_from_slice(&len.to_ne_bytes());
    h.extend_from_slice(&ty.to_ne_bytes());
    h.extend_from_slice(&flags.to_ne_bytes());
    h.extend_from_slice(&[0; 8]);
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn align_rounds_up_and_never_wraps() {
        assert_eq!(align(0), Some(0));
        assert_eq!(align(5), Some(8));
        assert_eq!(align(8), Some(8));
        assert_eq!(align(usize::MAX - 1), None);
    }

    #[test]
    fn a_length_near_u32_max_ends_the_walk() {
        // On a 32-bit router, (len + 3) & !3 wraps to 0 for this length; the
        // walk must still end, with an error.
        let mut buf = header(u32::MAX - 1, NLMSG_MIN_TYPE, NLM_F_MULTI);
        buf.extend(header(16, NLMSG_DONE, 0));
        let all: Vec<_> = messages(&buf).collect();
        assert_eq!(all, vec![Err(DecodeError::Truncated { offset: 0 })]);
    }

    #[test]
    fn messages_walk_in_order_and_flag_the_end() {
        let mut buf = genl_request(0x22, NLM_F_MULTI, 1, 5, &[(4, b"wlan0\0")]);
        buf.extend(header(16, NLMSG_DONE, NLM_F_MULTI));
        let all: Vec<_> = messages(&buf).map(Result::unwrap).collect();
        assert_eq!(all.len(), 2);
        assert!(!all[0].header.ends_reply() && all[1].header.ends_reply());
        assert_eq!(all[1].offset, align(all[0].header.len).unwrap());
        let a: Vec<_> = genl_attrs(&all[0]).unwrap().map(Result::unwrap).collect();
        assert_eq!((a[0].ty, a[0].payload, a[0].offset), (4, &b"wlan0\0"[..], NLMSG_HDRLEN + GENL_HDRLEN + NLA_HDRLEN));
    }

    #[test]
    fn nested_errors_name_their_own_offset() {
        let mut inner = Vec::new();
        push_attr(&mut inner, 1, &[1, 2, 3, 4]);
        push_attr(&mut inner, 2, &[5, 6, 7, 8]);
        inner[NLA_HDRLEN + 4] = 200; // the second nested attribute claims 200 bytes
        let msg = genl_request(0x22, 0, 1, 17, &[(6, &[0; 8]), (21, &inner)]);
        let m = messages(&msg).next().unwrap().unwrap();
        let outer: Vec<_> = genl_attrs(&m).unwrap().map(Result::unwrap).collect();
        let nested = &outer[1];
        let err = attrs(nested.payload, nested.offset).find_map(Result::err).unwrap();
        assert_eq!(err, DecodeError::Truncated { offset: nested.offset + 8 });
        assert_ne!(err, DecodeError::Truncated { offset: m.offset });
    }

    #[test]
    fn short_headers_and_bodies_are_truncation() {
        let buf = header(8, NLMSG_MIN_TYPE, 0);
        assert_eq!(messages(&buf).next(), Some(Err(DecodeError::Truncated { offset: 0 })));
        let buf = header(16, NLMSG_MIN_TYPE, 0);
        let m = messages(&buf).next().unwrap().unwrap();
        assert!(genl_attrs(&m).is_err());
        assert!(error_code(&m).is_err());
        assert_eq!(messages(&[0u8; 15]).count(), 0);
    }
}
