//! HTTP: request heads (via `httparse`) and response heads, with no I/O, in
//! this file; the one-thread `poll(2)` server in [`server`]; basic
//! authentication in [`auth`]. The server feeds bytes in and writes bytes
//! out; what a request means is the application's ([`server::Handler`]).
//! May import `config` and `os`; never `collectors` or `metrics`.

use std::borrow::Cow;

/// Largest request head accepted; larger gets 431.
pub const MAX_HEAD_BYTES: usize = 8 * 1024;
/// Most header lines accepted; more gets 431.
pub const MAX_HEADERS: usize = 32;

/// A parsed request head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request<'a> {
    /// The method, such as `GET`.
    pub method: &'a str,
    /// The path without the query.
    pub path: &'a str,
    /// The raw query string (after `?`), possibly empty.
    pub query: &'a str,
    /// Whether the client may send another request on this connection.
    pub keep_alive: bool,
    /// Whether a body follows the head (which this server never reads).
    pub has_body: bool,
    /// The `Authorization` header's value, if any.
    pub authorization: Option<&'a [u8]>,
}

/// The outcome of looking at the bytes received so far.
#[derive(Debug, PartialEq, Eq)]
pub enum Parsed<'a> {
    /// The head is not complete yet.
    Partial,
    /// A complete head of `len` bytes.
    Complete {
        /// The request.
        request: Request<'a>,
        /// Bytes the head took; what follows is the next request (pipelining).
        len: usize,
    },
    /// The bytes are not an acceptable request: answer this status and close.
    Reject(Status),
}

/// Response statuses this server sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// 200
    Ok,
    /// 400
    BadRequest,
    /// 401
    Unauthorized,
    /// 403
    Forbidden,
    /// 404
    NotFound,
    /// 405
    MethodNotAllowed,
    /// 429
    TooManyRequests,
    /// 431
    HeaderFieldsTooLarge,
    /// 503
    ServiceUnavailable,
}

impl Status {
    /// The numeric code.
    pub fn code(self) -> u16 {
        match self {
            Status::Ok => 200,
            Status::BadRequest => 400,
            Status::Unauthorized => 401,
            Status::Forbidden => 403,
            Status::NotFound => 404,
            Status::MethodNotAllowed => 405,
            Status::TooManyRequests => 429,
            Status::HeaderFieldsTooLarge => 431,
            Status::ServiceUnavailable => 503,
        }
    }

    /// The reason phrase.
    pub fn reason(self) -> &'static str {
        match self {
            Status::Ok => "OK",
            Status::BadRequest => "Bad Request",
            Status::Unauthorized => "Unauthorized",
            Status::Forbidden => "Forbidden",
            Status::NotFound => "Not Found",
            Status::MethodNotAllowed => "Method Not Allowed",
            Status::TooManyRequests => "Too Many Requests",
            Status::HeaderFieldsTooLarge => "Request Header Fields Too Large",
            Status::ServiceUnavailable => "Service Unavailable",
        }
    }
}

/// Parses the head at the start of `buf`.
pub fn parse(buf: &[u8]) -> Parsed<'_> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    let len = match req.parse(buf) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) if buf.len() > MAX_HEAD_BYTES => {
            return Parsed::Reject(Status::HeaderFieldsTooLarge);
        }
        Ok(httparse::Status::Partial) => return Parsed::Partial,
        Err(httparse::Error::TooManyHeaders) => return Parsed::Reject(Status::HeaderFieldsTooLarge),
        Err(_) => return Parsed::Reject(Status::BadRequest),
    };
    if len > MAX_HEAD_BYTES {
        return Parsed::Reject(Status::HeaderFieldsTooLarge);
    }
    let (Some(method), Some(target), Some(version)) = (req.method, req.path, req.version) else {
        return Parsed::Reject(Status::BadRequest);
    };
    let mut keep_alive = version == 1;
    let mut close = false;
    let mut has_body = false;
    let mut authorization = None;
    for h in req.headers.iter() {
        if h.name.eq_ignore_ascii_case("connection") {
            for token in h.value.split(|&b| b == b',') {
                let token = token.trim_ascii();
                if token.eq_ignore_ascii_case(b"close") {
                    close = true;
                } else if token.eq_ignore_ascii_case(b"keep-alive") {
                    keep_alive = true;
                }
            }
        } else if h.name.eq_ignore_ascii_case("content-length") {
            match std::str::from_utf8(h.value).ok().and_then(|v| v.trim().parse::<u64>().ok()) {
                Some(n) => has_body |= n > 0,
                None => return Parsed::Reject(Status::BadRequest),
            }
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            has_body = true;
        } else if h.name.eq_ignore_ascii_case("authorization") {
            authorization = Some(h.value);
        }
    }
    // "close" wins wherever it stands (RFC 9112 9.6).
    let keep_alive = keep_alive && !close;
    let Some(target) = origin_form(target) else { return Parsed::Reject(Status::BadRequest) };
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    Parsed::Complete { request: Request { method, path, query, keep_alive, has_body, authorization }, len }
}

/// The origin form (`/path?query`) of a request target. The absolute form
/// (`http://host:9100/metrics`), which proxies send, is cut down to it;
/// anything else is not a target this server serves.
fn origin_form(target: &str) -> Option<&str> {
    if target.starts_with('/') {
        return Some(target);
    }
    let scheme_len = ["http://", "https://"]
        .iter()
        .find(|scheme| target.get(..scheme.len()).is_some_and(|t| t.eq_ignore_ascii_case(scheme)))?
        .len();
    let rest = &target[scheme_len..];
    match rest.find(['/', '?']) {
        Some(i) if rest[i..].starts_with('/') => Some(&rest[i..]),
        // "http://host" or "http://host?q" has the empty path, which is "/".
        _ => Some("/"),
    }
}

/// Writes a response head into `out`.
pub fn write_head(
    out: &mut Vec<u8>,
    status: Status,
    content_type: &str,
    content_length: usize,
    keep_alive: bool,
    extra: &[(&str, &str)],
) {
    use std::io::Write;
    // Writing into a Vec cannot fail.
    let _ = write!(
        out,
        "HTTP/1.1 {} {}\r\nContent-Type: {content_type}\r\nContent-Length: {content_length}\r\nConnection: {}\r\n",
        status.code(),
        status.reason(),
        if keep_alive { "keep-alive" } else { "close" }
    );
    for (name, value) in extra {
        let _ = write!(out, "{name}: {value}\r\n");
    }
    out.extend_from_slice(b"\r\n");
}

/// Iterates `key=value` pairs of a query string, percent-decoded.
pub fn query_pairs(query: &str) -> impl Iterator<Item = (Cow<'_, str>, Cow<'_, str>)> {
    query.split('&').filter(|p| !p.is_empty()).map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (percent_decode(k), percent_decode(v))
    })
}

/// Decodes `%XX` escapes and `+` as a space. Invalid escapes stay as they are.
pub fn percent_decode(s: &str) -> Cow<'_, str> {
    if !s.contains(['%', '+']) {
        return Cow::Borrowed(s);
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b'%' => match (bytes.get(i + 1).and_then(|&b| hex(b)), bytes.get(i + 2).and_then(|&b| hex(b))) {
                (Some(high), Some(low)) => {
                    out.push(high * 16 + low);
                    i += 3;
                }
                _ => {
                    out.push(b'%');
                    i += 1;
                }
            },
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    Cow::Owned(String::from_utf8_lossy(&out).into_owned())
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn complete(buf: &[u8]) -> (Request<'_>, usize) {
        match parse(buf) {
            Parsed::Complete { request, len } => (request, len),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn keep_alive_defaults_by_version() {
        let (r, len) = complete(b"GET /metrics?collect%5B%5D=load HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\n");
        assert_eq!((r.method, r.path, r.query, r.keep_alive), ("GET", "/metrics", "collect%5B%5D=load", true));
        assert_eq!(len, 53);
        assert!(!complete(b"GET / HTTP/1.0\r\n\r\n").0.keep_alive);
        assert!(complete(b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").0.keep_alive);
        assert!(!complete(b"GET / HTTP/1.1\r\nConnection: TE, close\r\n\r\n").0.keep_alive);
        assert!(!complete(b"GET / HTTP/1.1\r\nConnection: close, keep-alive\r\n\r\n").0.keep_alive);
        assert!(!complete(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n").0.keep_alive);
        assert!(complete(b"POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc").0.has_body);
    }

    #[test]
    fn absolute_form_targets_are_served() {
        let r = complete(b"GET http://192.0.2.1:9100/metrics?collect[]=load HTTP/1.1\r\n\r\n").0;
        assert_eq!((r.path, r.query), ("/metrics", "collect[]=load"));
        assert_eq!(complete(b"GET HTTP://router/ HTTP/1.1\r\n\r\n").0.path, "/");
        assert_eq!(complete(b"GET http://router HTTP/1.1\r\n\r\n").0.path, "/");
        assert_eq!(parse(b"GET ftp://router/metrics HTTP/1.1\r\n\r\n"), Parsed::Reject(Status::BadRequest));
        assert_eq!(parse(b"GET metrics HTTP/1.1\r\n\r\n"), Parsed::Reject(Status::BadRequest));
    }

    #[test]
    fn rejects() {
        assert_eq!(parse(b"GET / HTTP/1.1\r\nHost"), Parsed::Partial);
        assert_eq!(parse(b"\x00\x01garbage\r\n\r\n"), Parsed::Reject(Status::BadRequest));
        assert_eq!(parse(b"GET * HTTP/1.1\r\n\r\n"), Parsed::Reject(Status::BadRequest));
        assert_eq!(parse(b"GET / HTTP/1.1\r\nContent-Length: x\r\n\r\n"), Parsed::Reject(Status::BadRequest));
        let mut big = b"GET / HTTP/1.1\r\nX: ".to_vec();
        big.extend(std::iter::repeat_n(b'a', MAX_HEAD_BYTES));
        assert_eq!(parse(&big), Parsed::Reject(Status::HeaderFieldsTooLarge));
        let many: String = (0..40).map(|i| format!("H{i}: v\r\n")).collect();
        assert_eq!(
            parse(format!("GET / HTTP/1.1\r\n{many}\r\n").as_bytes()),
            Parsed::Reject(Status::HeaderFieldsTooLarge)
        );
    }

    #[test]
    fn query_decoding() {
        let pairs: Vec<_> = query_pairs("collect%5B%5D=netdev&collect[]=load&x&a=%zz+b")
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        assert_eq!(
            pairs,
            vec![
                ("collect[]".into(), "netdev".into()),
                ("collect[]".into(), "load".into()),
                ("x".into(), "".into()),
                ("a".into(), "%zz b".into())
            ]
        );
        assert_eq!(percent_decode("%4"), "%4");
        assert_eq!(percent_decode("%41"), "A");
    }
}

pub mod auth;
pub mod server;
