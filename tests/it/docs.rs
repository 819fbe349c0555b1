//! The documentation against the binary: every `--flag` that README.md or docs/ gives to a
//! `jwas` command (in code blocks and in inline code that starts with `jwas <command>`)
//! exists in that command's `--help`. The command reference is `--help`, not a copy.

use crate::support::*;
use std::collections::BTreeMap;

const COMMANDS: [&str; 6] = ["parse", "schema", "gen", "worker", "enqueue", "compact"];

/// The command lines of a Markdown text: code-block lines (with `\` continuations
/// joined) and inline code spans.
fn command_lines(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_block = false;
    let mut pending = String::new();
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            in_block = !in_block;
            continue;
        }
        if in_block {
            pending.push_str(line.trim_end_matches('\\'));
            pending.push(' ');
            if !line.ends_with('\\') {
                out.push(std::mem::take(&mut pending));
            }
        } else {
            out.extend(line.split('`').skip(1).step_by(2).map(str::to_owned));
        }
    }
    out
}

/// (command, flag) pairs: the flags after `jwas <command>` up to a shell separator.
fn flags_used(line: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let words: Vec<&str> = line.split_whitespace().collect();
    for (i, w) in words.iter().enumerate() {
        // `jwas parse`, `target/debug/jwas parse`, `cargo run -- parse`.
        let cargo_run = *w == "--" && words[..i].contains(&"cargo") && words[..i].contains(&"run");
        let is_jwas = *w == "jwas" || w.ends_with("/jwas") || cargo_run;
        let Some(cmd) = words.get(i + 1).filter(|c| is_jwas && COMMANDS.contains(c)) else {
            continue;
        };
        for w in &words[i + 2..] {
            if ["|", "&&", ";", "||", ">", "2>"].contains(w) || *w == "jwas" {
                break;
            }
            if let Some(flag) = w.strip_prefix("--") {
                let name: String = flag
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                    .collect();
                if !name.is_empty() {
                    out.push((cmd.to_string(), format!("--{name}")));
                }
            }
        }
    }
    out
}

#[test]
fn every_flag_the_docs_use_exists() {
    let help: BTreeMap<&str, String> = COMMANDS
        .iter()
        .map(|c| (*c, jwas_ok(&[c, "--help"], 0).0))
        .collect();
    let mut docs = vec![root().join("README.md")];
    if let Ok(dir) = std::fs::read_dir(root().join("docs")) {
        docs.extend(
            dir.flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "md")),
        );
    }
    let mut checked = 0;
    let mut missing = Vec::new();
    for doc in &docs {
        let text = std::fs::read_to_string(doc).unwrap();
        for line in command_lines(&text) {
            for (cmd, flag) in flags_used(&line) {
                checked += 1;
                let known = help[cmd.as_str()].match_indices(&flag).any(|(i, _)| {
                    let next = help[cmd.as_str()][i + flag.len()..].chars().next();
                    !next.is_some_and(|c| c.is_ascii_alphanumeric() || c == '-')
                });
                if !known && flag != "--help" {
                    missing.push(format!("{}: jwas {cmd} {flag}", doc.display()));
                }
            }
        }
    }
    assert!(checked > 20, "only {checked} flags found in the docs");
    assert!(
        missing.is_empty(),
        "flags the docs use but --help lacks:\n{}",
        missing.join("\n")
    );
}

#[test]
fn flags_are_read_from_commands_only() {
    let used = flags_used(
        "cargo run -- parse x --partition day ; jwas parse a --out b --threads=2 | head --lines 3",
    );
    assert_eq!(
        used,
        [
            ("parse".to_owned(), "--partition".to_owned()),
            ("parse".to_owned(), "--out".to_owned()),
            ("parse".to_owned(), "--threads".to_owned())
        ]
    );
    let lines = command_lines("text `jwas compact out --dry-run` and\n```\njwas worker --queue-url q \\\n  --out o\n```\n");
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert_eq!(flags_used(&lines[1]).len(), 2);
}
