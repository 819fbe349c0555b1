//! What every line shares: `<Mmm> <d> <HH:MM:SS> <hostname> `, brackets, numbers.

use super::{Parsed, Reject};
use nom::{
    bytes::complete::{tag, take_till1, take_while_m_n},
    character::complete::char,
    combinator::{map_res, opt},
    sequence::tuple,
    IResult,
};

/// A syslog timestamp without a year: month 1-12, day as written (1-99, checked later).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SyslogTime {
    /// 1 = January.
    pub month: u8,
    /// As written; an impossible day (`Feb 30`) is rejected by year inference.
    pub day: u8,
    /// 0-23 as written (checked later).
    pub hour: u8,
    /// 0-59 as written (checked later).
    pub minute: u8,
    /// 0-59 as written (checked later).
    pub second: u8,
}

/// The common start of every line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header<'a> {
    /// Timestamp without year.
    pub time: SyslogTime,
    /// The appliance's host name.
    pub hostname: &'a str,
    /// Everything after `<hostname> ` (for Access: including the following lines).
    pub rest: &'a str,
}

/// The month (1-12) of a syslog month name, case-sensitive as syslog writes it. Matched on
/// the three bytes as one number: it runs for every line start, twice.
fn month_number(m: &[u8]) -> Option<u8> {
    let &[a, b, c] = m else {
        return None;
    };
    Some(match [a, b, c] {
        [b'J', b'a', b'n'] => 1,
        [b'F', b'e', b'b'] => 2,
        [b'M', b'a', b'r'] => 3,
        [b'A', b'p', b'r'] => 4,
        [b'M', b'a', b'y'] => 5,
        [b'J', b'u', b'n'] => 6,
        [b'J', b'u', b'l'] => 7,
        [b'A', b'u', b'g'] => 8,
        [b'S', b'e', b'p'] => 9,
        [b'O', b'c', b't'] => 10,
        [b'N', b'o', b'v'] => 11,
        [b'D', b'e', b'c'] => 12,
        _ => return None,
    })
}

fn two_digits(i: &str) -> IResult<&str, u8> {
    map_res(
        take_while_m_n(2, 2, |c: char| c.is_ascii_digit()),
        str::parse,
    )(i)
}

fn month(i: &str) -> IResult<&str, u8> {
    map_res(
        take_while_m_n(3, 3, |c: char| c.is_ascii_alphabetic()),
        |m: &str| month_number(m.as_bytes()).ok_or(()),
    )(i)
}

fn day(i: &str) -> IResult<&str, u8> {
    let (i, _) = opt(char(' '))(i)?;
    map_res(
        take_while_m_n(1, 2, |c: char| c.is_ascii_digit()),
        str::parse,
    )(i)
}

fn syslog_time(i: &str) -> IResult<&str, SyslogTime> {
    let (i, (month, _, day, _, hour, _, minute, _, second)) = tuple((
        month,
        char(' '),
        day,
        char(' '),
        two_digits,
        char(':'),
        two_digits,
        char(':'),
        two_digits,
    ))(i)?;
    Ok((
        i,
        SyslogTime {
            month,
            day,
            hour,
            minute,
            second,
        },
    ))
}

fn header_parser(i: &str) -> IResult<&str, (SyslogTime, &str)> {
    let (i, (time, _, hostname, _)) = tuple((
        syslog_time,
        char(' '),
        take_till1(|c: char| c == ' ' || c == '\n'),
        tag(" "),
    ))(i)?;
    Ok((i, (time, hostname)))
}

/// Parses `<Mmm> <d> <HH:MM:SS> <hostname> `; `None` when the text does not start so.
/// This is the grammar of a line start; [`fast_header`] gives the same result on the lines
/// the pipeline sees.
pub fn header(text: &str) -> Option<Header<'_>> {
    let (rest, (time, hostname)) = header_parser(text).ok()?;
    Some(Header {
        time,
        hostname,
        rest,
    })
}

/// [`header`] for a line that [`is_event_start`] accepted, without nom: the pipeline's hot
/// path (a property test checks the two agree on such lines).
pub fn fast_header(text: &str) -> Option<Header<'_>> {
    let b = text.as_bytes();
    if !is_event_start(b) {
        return header(text);
    }
    let month = month_number(&b[..3])?;
    let digit = |c: u8| c.wrapping_sub(b'0');
    // `Mmm d `, `Mmm dd ` or `Mmm  d `.
    let (day, t) = if b[5] == b' ' {
        (digit(b[4]), 6)
    } else if b[4] == b' ' {
        (digit(b[5]), 7)
    } else {
        (digit(b[4]) * 10 + digit(b[5]), 7)
    };
    let two = |i: usize| digit(b[i]) * 10 + digit(b[i + 1]);
    let time = SyslogTime {
        month,
        day,
        hour: two(t),
        minute: two(t + 3),
        second: two(t + 6),
    };
    let host_start = t + 9;
    let host_len = b[host_start..]
        .iter()
        .position(|&c| c == b' ' || c == b'\n')?;
    let host_end = host_start + host_len;
    if host_len == 0 || b[host_end] != b' ' {
        return None;
    }
    Some(Header {
        time,
        hostname: &text[host_start..host_end],
        rest: &text[host_end + 1..],
    })
}

/// The position of the first `byte` (ASCII) in `s`.
#[inline]
pub fn find_byte(s: &str, byte: u8) -> Option<usize> {
    memchr::memchr(byte, s.as_bytes())
}

/// `s` split around the first `byte` (ASCII), which is dropped.
#[inline]
pub fn split_byte(s: &str, byte: u8) -> Option<(&str, &str)> {
    let i = find_byte(s, byte)?;
    Some((&s[..i], &s[i + 1..]))
}

/// Whether a line starts with a syslog timestamp (`Mmm d HH:MM:SS ` or `Mmm dd ...`, the
/// day possibly space-padded): the test that decides where events begin. Only the shape is
/// checked here; values are checked when the event is parsed.
pub fn is_event_start(line: &[u8]) -> bool {
    if line.len() < 16 || month_number(&line[..3]).is_none() || line[3] != b' ' {
        return false;
    }
    let d = &line[4..];
    let t = if d[0].is_ascii_digit() && d[1] == b' ' {
        &d[2..]
    } else if (d[0].is_ascii_digit() || d[0] == b' ') && d[1].is_ascii_digit() && d[2] == b' ' {
        &d[3..]
    } else {
        return false;
    };
    t.len() >= 9
        && t[0].is_ascii_digit()
        && t[1].is_ascii_digit()
        && t[2] == b':'
        && t[3].is_ascii_digit()
        && t[4].is_ascii_digit()
        && t[5] == b':'
        && t[6].is_ascii_digit()
        && t[7].is_ascii_digit()
        && t[8] == b' '
}

/// `[content]` at the start of `s` → `(content, rest)`.
pub fn bracket(s: &str) -> Option<(&str, &str)> {
    crate::logtype::bracket(s)
}

/// Whether a bracket's content is a log level (upper-case letters).
pub fn is_level(s: &str) -> bool {
    crate::logtype::is_level(s)
}

/// The first line of an event's text (without `\r`).
pub fn first_line(text: &str) -> &str {
    let line = match memchr::memchr(b'\n', text.as_bytes()) {
        Some(n) => &text[..n],
        None => text,
    };
    line.strip_suffix('\r').unwrap_or(line)
}

/// The value, or `None` when empty: absent values are null, never empty strings.
pub fn non_empty(s: &str) -> Option<&str> {
    (!s.is_empty()).then_some(s)
}

/// Parses a number field, rejecting the event with the field's name when it is not one.
pub fn number<T: std::str::FromStr>(field: &str, value: &str) -> Parsed<T> {
    value.parse().map_err(|_| Reject::invalid(field, value))
}

/// Optional number: empty is `None`.
pub fn opt_number<T: std::str::FromStr>(field: &str, value: Option<&str>) -> Parsed<Option<T>> {
    match value {
        None | Some("") => Ok(None),
        Some(v) => number(field, v).map(Some),
    }
}

/// At most `max` bytes of `s`, cut at a character boundary.
pub fn clip(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn month_names() {
        let names = [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ];
        for (i, name) in names.iter().enumerate() {
            assert_eq!(month_number(name.as_bytes()), Some(i as u8 + 1), "{name}");
            assert_eq!(month_number(name.to_uppercase().as_bytes()), None, "{name}");
        }
        for other in ["", "Ja", "Janu", "jan", "Jam", "MaY", "Dez"] {
            assert_eq!(month_number(other.as_bytes()), None, "{other}");
        }
    }

    #[test]
    fn headers() {
        let h = header("Mar  4 16:18:00 webappsecure postgres[1]: x").unwrap();
        assert_eq!(
            h.time,
            SyslogTime {
                month: 3,
                day: 4,
                hour: 16,
                minute: 18,
                second: 0
            }
        );
        assert_eq!(h.hostname, "webappsecure");
        assert_eq!(h.rest, "postgres[1]: x");
        let h = header("Mar 4 16:18:00 h x").unwrap();
        assert_eq!(h.time.day, 4);
        let h = header("Dec 31 23:59:59 h [x]").unwrap();
        assert_eq!((h.time.month, h.time.day), (12, 31));
        for bad in [
            "",
            "Mar",
            "Foo 19 18:42:38 h x",
            "Mar 19 18:42 h x",
            "Mar 19 18:42:38",
            "Mar 19 18:42:38 h",
            "Mar 123 18:42:38 h x",
            "mar 19 18:42:38 h x",
        ] {
            assert!(header(bad).is_none(), "{bad:?}");
        }
    }

    /// The hand-written header parser agrees with the nom grammar on every line start.
    #[test]
    fn fast_header_is_the_grammar() {
        let mut rng = crate::testing::Rng(3);
        let mut next = move || rng.next() as usize;
        let alphabet = b"Mar 0123456789: \nxJanDec-.\t\xc3\xa9";
        let mut checked = 0;
        for _ in 0..200_000 {
            let mut line = match next() % 4 {
                0 => b"Mar  4 16:18:00 h x".to_vec(),
                1 => b"Dec 31 23:59:59 host.name rest".to_vec(),
                2 => b"Jan 1 00:00:00 jwas [x]".to_vec(),
                _ => b"Feb 29 99:99:99 a  b".to_vec(),
            };
            for _ in 0..next() % 3 {
                let at = next() % line.len();
                line[at] = alphabet[next() % alphabet.len()];
            }
            if next() % 3 == 0 {
                line.truncate(next() % (line.len() + 1));
            }
            let Ok(text) = std::str::from_utf8(&line) else {
                continue;
            };
            checked += usize::from(is_event_start(&line));
            assert_eq!(fast_header(text), header(text), "{text:?}");
        }
        assert!(checked > 10_000, "{checked}");
    }

    #[test]
    fn event_starts() {
        for good in [
            "Mar  4 16:18:00 h x",
            "Mar 4 16:18:00 h x",
            "Oct 13 16:33:13 jwas1 [",
        ] {
            assert!(is_event_start(good.as_bytes()), "{good}");
        }
        for bad in [
            "GET / HTTP/1.1",
            "",
            "Mar  4 16:18:0 h",
            "host: x",
            "Mar 444 16:18:00 h",
        ] {
            assert!(!is_event_start(bad.as_bytes()), "{bad}");
        }
    }

    #[test]
    fn clips_at_char_boundary() {
        assert_eq!(clip("héllo", 2), "h");
        assert_eq!(clip("abc", 5), "abc");
    }
}
