//! `sources.toml`: which objects a worker processes, and as what.
//!
//! ```toml
//! [[source]]
//! bucket = "raw-bucket"
//! prefix = "jwas/prod/"      # optional; default: the whole bucket
//! log_type = "auto"          # optional: auto (default), access, audit, firewall, ...
//! id = "jwas-prod"           # optional: p_source_id
//! label = "JWAS production"  # optional: p_source_label
//! ```
//!
//! An object takes the source with the longest matching prefix in its bucket; an object
//! that matches none is logged, counted and its message deleted.

use crate::config::LogTypeChoice;
use crate::logtype::LogType;

/// One source.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Source {
    /// The bucket.
    pub bucket: String,
    /// Key prefix (empty: every key).
    pub prefix: String,
    /// `None`: each event routed by its tag.
    pub log_type: Option<LogType>,
    /// `p_source_id`.
    pub id: Option<String>,
    /// `p_source_label`.
    pub label: Option<String>,
}

/// `sources.toml` as written.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct SourcesFile {
    #[serde(default)]
    source: Vec<SourceEntry>,
}

/// One `[[source]]` entry as written.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct SourceEntry {
    bucket: String,
    #[serde(default)]
    prefix: String,
    #[serde(default, deserialize_with = "log_type_choice")]
    log_type: LogTypeChoice,
    id: Option<String>,
    label: Option<String>,
}

/// `auto` or a log type, through the one configuration vocabulary.
fn log_type_choice<'de, D: serde::Deserializer<'de>>(d: D) -> Result<LogTypeChoice, D::Error> {
    let s = <String as serde::Deserialize>::deserialize(d)?;
    s.parse().map_err(serde::de::Error::custom)
}

/// The sources a worker knows, or every object as `auto` without a source id.
#[derive(Clone, Debug, Default)]
pub struct Sources {
    /// `None`: no sources file, everything matches.
    list: Option<Vec<Source>>,
    /// Without a sources file: the log type of every object (`None`: auto).
    any_log_type: Option<LogType>,
}

impl Sources {
    /// Every object, `auto`, no source id or label.
    pub fn any() -> Sources {
        Sources::any_as(None)
    }

    /// Every object, as `log_type` (`None`: auto), no source id or label.
    pub fn any_as(log_type: Option<LogType>) -> Sources {
        Sources {
            list: None,
            any_log_type: log_type,
        }
    }

    /// Reads a sources file's text; the error names the line, column and field at fault.
    pub fn parse(text: &str) -> Result<Sources, String> {
        let file: SourcesFile = toml::from_str(text).map_err(|e| e.to_string())?;
        let list = file
            .source
            .into_iter()
            .map(|e| Source {
                bucket: e.bucket,
                prefix: e.prefix,
                log_type: e.log_type.0,
                id: e.id,
                label: e.label,
            })
            .collect();
        Ok(Sources {
            list: Some(list),
            any_log_type: None,
        })
    }

    /// The source of an object: the longest matching prefix in its bucket.
    pub fn find(&self, bucket: &str, key: &str) -> Option<Source> {
        let Some(list) = &self.list else {
            return Some(Source {
                bucket: bucket.to_owned(),
                log_type: self.any_log_type,
                ..Source::default()
            });
        };
        list.iter()
            .filter(|s| s.bucket == bucket && key.starts_with(&s.prefix))
            .max_by_key(|s| s.prefix.len())
            .cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn longest_prefix_wins_and_unmatched_is_none() {
        let s = Sources::parse(
            r#"
            [[source]]
            bucket = "raw"
            id = "all"

            [[source]]
            bucket = "raw"
            prefix = "fw/"
            log_type = "firewall"
            id = "fw"
            label = "Firewall"
            "#,
        )
        .unwrap();
        assert_eq!(s.find("raw", "fw/a.log").unwrap().id.as_deref(), Some("fw"));
        assert_eq!(
            s.find("raw", "fw/a.log").unwrap().log_type,
            Some(LogType::Firewall)
        );
        assert_eq!(s.find("raw", "x.log").unwrap().id.as_deref(), Some("all"));
        assert_eq!(s.find("raw", "x.log").unwrap().log_type, None);
        assert_eq!(s.find("other", "fw/a.log"), None);
        assert_eq!(Sources::any().find("b", "k").unwrap().id, None);
    }

    #[test]
    fn errors_name_the_entry() {
        for (text, says) in [
            ("[[source]]\nprefix = \"x\"", "missing field `bucket`"),
            (
                "[[source]]\nbucket = \"b\"\nlog_type = \"syslog\"",
                "line 3, column 12",
            ),
            (
                "[[source]]\nbucket = \"b\"\nlog_type = \"syslog\"",
                "\"syslog\" is not auto, access",
            ),
            (
                "[[source]]\nbucket = \"b\"\nlabl = \"x\"",
                "unknown field `labl`",
            ),
            ("[[sources]]\nbucket = \"b\"", "unknown field `sources`"),
            ("bucket = ", ""),
        ] {
            let e = Sources::parse(text).unwrap_err();
            assert!(e.contains(says), "{text}: {e}");
        }
    }
}
