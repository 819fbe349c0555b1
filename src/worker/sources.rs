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

    /// Reads a sources file's text; the error names the entry and field at fault.
    pub fn parse(text: &str) -> Result<Sources, String> {
        let table: toml::Table = text.parse().map_err(|e| format!("{e}"))?;
        let mut list = Vec::new();
        if let Some(k) = table.keys().find(|k| k.as_str() != "source") {
            return Err(format!("unknown key {k:?} (expected [[source]] entries)"));
        }
        let entries = match table.get("source") {
            None => &Vec::new(),
            Some(toml::Value::Array(a)) => a,
            Some(_) => return Err("source must be [[source]] entries".into()),
        };
        for (i, e) in entries.iter().enumerate() {
            let n = i + 1;
            let t = e
                .as_table()
                .ok_or_else(|| format!("source {n}: not a table"))?;
            let text = |field: &str| -> Result<Option<String>, String> {
                match t.get(field) {
                    None => Ok(None),
                    Some(toml::Value::String(s)) => Ok(Some(s.clone())),
                    Some(_) => Err(format!("source {n}: {field} must be a string")),
                }
            };
            for k in t.keys() {
                if !["bucket", "prefix", "log_type", "id", "label"].contains(&k.as_str()) {
                    return Err(format!("source {n}: unknown field {k:?}"));
                }
            }
            let bucket =
                text("bucket")?.ok_or_else(|| format!("source {n}: bucket is required"))?;
            let log_type = match text("log_type")?.as_deref() {
                None | Some("auto") => None,
                Some(name) => Some(LogType::from_name(name).ok_or_else(|| {
                    format!("source {n}: log_type {name:?} is not auto, access, audit, firewall, mws, postgres or security")
                })?),
            };
            list.push(Source {
                bucket,
                prefix: text("prefix")?.unwrap_or_default(),
                log_type,
                id: text("id")?,
                label: text("label")?,
            });
        }
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
            ("[[source]]\nprefix = \"x\"", "source 1: bucket is required"),
            (
                "[[source]]\nbucket = \"b\"\nlog_type = \"syslog\"",
                "source 1: log_type",
            ),
            ("[[source]]\nbucket = \"b\"\nlabl = \"x\"", "unknown field"),
            ("[[sources]]\nbucket = \"b\"", "unknown key"),
            ("bucket = ", ""),
        ] {
            let e = Sources::parse(text).unwrap_err();
            assert!(e.contains(says), "{text}: {e}");
        }
    }
}
