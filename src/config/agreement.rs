//! The declarations ([`super::vars`]), `.env.example` and docs/configuration.md agree: each
//! failure names the variable. `SUPACRON_WRITE_DOCS=1` rewrites the docs table from the
//! declarations instead of failing on it.

use std::collections::BTreeSet;
use std::path::PathBuf;

use super::docs::{self, HEADER};
use super::vars::{self, Var};

const BEGIN: &str = "<!-- variables: generated from src/config/vars.rs by `SUPACRON_WRITE_DOCS=1 cargo test -p supacron --lib config::agreement`; do not edit -->";
const END: &str = "<!-- end of variables -->";

/// Read by tests only (never by a function), listed in .env.example for the record.
const TEST_ONLY: &[&str] = &["SUPACRON_WRITE_DOCS"];

fn repo_file(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(name)
}

fn declared() -> BTreeSet<&'static str> {
    vars::ALL.iter().map(|var| var.name).collect()
}

#[test]
fn names_are_unique_and_shouted() {
    assert_eq!(
        declared().len(),
        vars::ALL.len(),
        "a variable is declared twice"
    );
    for var in vars::ALL {
        assert!(
            var.name
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_'),
            "{}",
            var.name
        );
        assert!(
            !var.doc.contains('|') && !var.doc.contains('\n'),
            "{}: one line, no `|`",
            var.name
        );
    }
}

/// Every declared variable is in `.env.example` (as `NAME=` or `# NAME=`), and
/// `.env.example` lists no other.
#[test]
fn env_example_lists_every_declared_variable_and_no_other() {
    let text = std::fs::read_to_string(repo_file(".env.example")).unwrap();
    let listed: BTreeSet<String> = text
        .lines()
        .map(|line| line.trim_start_matches('#').trim())
        .filter_map(|line| line.split_once('=').map(|(name, _)| name))
        .filter(|name| {
            !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
        })
        .map(str::to_string)
        .collect();
    for name in declared() {
        assert!(
            listed.contains(name),
            "{name} is declared in src/config/vars.rs but not listed in .env.example: add it with a comment"
        );
    }
    for name in &listed {
        assert!(
            declared().contains(name.as_str()) || TEST_ONLY.contains(&name.as_str()),
            "{name} is in .env.example but not declared in src/config/vars.rs"
        );
    }
}

/// docs/configuration.md's table is the declarations' table, row for row.
#[test]
fn docs_table_is_the_declarations() {
    let path = repo_file("docs/configuration.md");
    let text = std::fs::read_to_string(&path).unwrap();
    let (Some(begin), Some(end)) = (text.find(BEGIN), text.find(END)) else {
        panic!("docs/configuration.md lacks the markers of the generated table:\n{BEGIN}\n{END}");
    };
    let generated = docs::markdown_table();
    let current = &text[begin + BEGIN.len()..end];
    if std::env::var("SUPACRON_WRITE_DOCS").is_ok_and(|v| v == "1") {
        let rewritten = format!("{}{BEGIN}\n{generated}{}", &text[..begin], &text[end..]);
        std::fs::write(&path, rewritten).unwrap();
        return;
    }
    let rows: Vec<&str> = current
        .lines()
        .filter(|line| line.starts_with("| `"))
        .collect();
    let row_of = |name: &str| {
        let start = format!("| `{name}` |");
        rows.iter().find(|row| row.starts_with(&start)).copied()
    };
    for var in vars::ALL {
        let expected = docs::row(var);
        match row_of(var.name) {
            None => panic!(
                "docs/configuration.md has no row for {}; rewrite the table with SUPACRON_WRITE_DOCS=1",
                var.name
            ),
            Some(row) => assert_eq!(
                row, expected,
                "docs/configuration.md's row for {} differs from its declaration; rewrite the table with SUPACRON_WRITE_DOCS=1",
                var.name
            ),
        }
    }
    for row in &rows {
        let name = row
            .trim_start_matches("| `")
            .split('`')
            .next()
            .unwrap_or_default();
        assert!(
            Var::named(name).is_some(),
            "docs/configuration.md documents {name}, which is not declared in src/config/vars.rs"
        );
    }
    assert_eq!(
        current.trim(),
        generated.trim(),
        "docs/configuration.md's table is not in the declarations' order or its header is not\n{HEADER}"
    );
}
