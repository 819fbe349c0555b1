//! `Juniper.Postgres`: `postgres[<pid>]: [<major>-<minor>] <sql_error_code> <session_id> <type>: <message>`.

use super::common::{first_line, non_empty};
use super::{Parsed, Reject};
use nom::{
    bytes::complete::{tag, take_till1, take_while1},
    character::complete::{char, digit1},
    combinator::map_res,
    sequence::tuple,
    IResult,
};

/// One Postgres event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostgresEvent<'a> {
    /// The backend's process id.
    pub pid: i32,
    /// Message group number.
    pub group_id_major: i32,
    /// Line number within the group.
    pub group_id_minor: i32,
    /// SQLSTATE, e.g. `42701`.
    pub sql_error_code: &'a str,
    /// e.g. `530b5e00.1e0e`.
    pub session_id: &'a str,
    /// `LOG`, `ERROR`, `STATEMENT`, ...
    pub message_type: &'a str,
    /// The text after `<type>: `.
    pub message: Option<&'a str>,
}

fn int(i: &str) -> IResult<&str, i32> {
    map_res(digit1, str::parse)(i)
}

fn word(i: &str) -> IResult<&str, &str> {
    take_till1(|c| c == ' ')(i)
}

type Fields<'a> = (i32, i32, i32, &'a str, &'a str, &'a str);

fn fields(i: &str) -> IResult<&str, Fields<'_>> {
    let (i, (_, pid, _, major, _, minor, _, code, _, session, _, kind, _)) = tuple((
        tag("postgres["),
        int,
        tag("]: ["),
        int,
        char('-'),
        int,
        tag("] "),
        word,
        char(' '),
        word,
        char(' '),
        take_while1(|c: char| c.is_ascii_uppercase()),
        char(':'),
    ))(i)?;
    Ok((i, (pid, major, minor, code, session, kind)))
}

/// Parses the text after `<timestamp> <hostname> `.
pub fn parse(rest: &str) -> Parsed<PostgresEvent<'_>> {
    let line = first_line(rest);
    let (message, (pid, major, minor, code, session, kind)) =
        fields(line).map_err(|_| Reject::invalid("postgres prefix", line))?;
    Ok(PostgresEvent {
        pid,
        group_id_major: major,
        group_id_minor: minor,
        sql_error_code: code,
        session_id: session,
        message_type: kind,
        message: non_empty(message.trim()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vendor_examples() {
        let e = parse("postgres[7694]: [10-1] 42701 530b5e00.1e0e ERROR: column \"requests\" of relation \"sessiongroup\" already exists").unwrap();
        assert_eq!(
            e,
            PostgresEvent {
                pid: 7694,
                group_id_major: 10,
                group_id_minor: 1,
                sql_error_code: "42701",
                session_id: "530b5e00.1e0e",
                message_type: "ERROR",
                message: Some("column \"requests\" of relation \"sessiongroup\" already exists"),
            }
        );
        let e = parse("postgres[7694]: [10-2] 42701 530b5e00.1e0e STATEMENT: ALTER TABLE sessiongroup ADD COLUMN requests bigint DEFAULT 0;").unwrap();
        assert_eq!((e.group_id_minor, e.message_type), (2, "STATEMENT"));
        let e = parse("postgres[13931]: [743-1] 01000 5315d18a.366b WARNING: skipping \"pg_tablespace\" --- only superuser can vacuum it").unwrap();
        assert_eq!(
            (e.pid, e.group_id_major, e.sql_error_code),
            (13931, 743, "01000")
        );
        let e = parse("postgres[1]: [1-1] 00000 5315d18a.366b LOG:").unwrap();
        assert_eq!(e.message, None);
    }

    #[test]
    fn rejects() {
        for bad in [
            "postgres[abc]: [1-1] 00000 s LOG: x",
            "postgres[1]: [1] 00000 s LOG: x",
            "postgres[1]: [1-1] 00000 s log: x",
            "postgres[99999999999]: [1-1] 00000 s LOG: x",
            "postgres[1]: [1-1] 00000",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
