//! The layer rules of ARCHITECTURE.md, checked on the source: which module may import which,
//! the size cap on files, and that only the command line reads the environment. A change that
//! breaks a rule fails here with the file and the import that broke it.

use std::path::{Path, PathBuf};

use crate::util::root;

/// Each layer and the crate modules its code (outside `#[cfg(test)]`) may import.
const ALLOWED: &[(&str, &[&str])] = &[
    ("email", &[]),
    ("text", &["email"]),
    ("models", &[]),
    ("classify", &["text", "models"]),
    ("summarize", &["text", "models"]),
    ("store", &[]),
    ("replies", &["summarize"]),
    (
        "pipeline",
        &[
            "email",
            "text",
            "models",
            "classify",
            "summarize",
            "replies",
            "store",
        ],
    ),
    (
        "learn",
        &["pipeline", "classify", "summarize", "models", "email"],
    ),
    ("http", &["pipeline"]),
    ("desk", &["pipeline", "store"]),
];

/// What the command line may use of the library: the pipeline, the learning layer, the model
/// store (for the `models`, `embed`, `generate` and `bench` commands), the HTTP API, the desk
/// and the store (opening it, exporting, `desk user`).
const CLI_ALLOWED: &[&str] = &["pipeline", "learn", "models", "http", "desk", "store"];

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// The file without its test module (tests may reach anywhere) and without comment lines.
fn code(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(i) => &text[..i],
        None => &text[..],
    };
    text.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The crate modules `code` names through `prefix` (`crate::` or `mailroom::`).
fn imports(code: &str, prefix: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(i) = rest.find(prefix) {
        let after = &rest[i + prefix.len()..];
        let name: String = after
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        let boundary = i == 0 || !rest[..i].ends_with(|c: char| c.is_alphanumeric() || c == '_');
        if boundary && !name.is_empty() && !out.contains(&name) {
            out.push(name);
        }
        rest = after;
    }
    out
}

#[test]
fn layers_import_only_what_the_architecture_allows() {
    let src = root().join("src");
    let mut broken = Vec::new();
    for (layer, allowed) in ALLOWED {
        for file in rust_files(&src.join(layer)) {
            for m in imports(&code(&file), "crate::") {
                let fine = m == *layer
                    || allowed.contains(&m.as_str())
                    || matches!(m.as_str(), "VERSION" | "Error" | "Result");
                if !fine {
                    broken.push(format!("{}: crate::{m}", file.display()));
                }
            }
        }
    }
    let mut cli_files = rust_files(&src.join("cli"));
    cli_files.push(src.join("main.rs"));
    for file in cli_files {
        for m in imports(&code(&file), "mailroom::") {
            if !CLI_ALLOWED.contains(&m.as_str()) && m != "VERSION" {
                broken.push(format!("{}: mailroom::{m}", file.display()));
            }
        }
    }
    assert!(
        broken.is_empty(),
        "imports against the layer rules:\n{}",
        broken.join("\n")
    );
}

#[test]
fn no_source_file_is_over_800_lines() {
    let long: Vec<String> = rust_files(&root().join("src"))
        .into_iter()
        .filter_map(|f| {
            let n = std::fs::read_to_string(&f).unwrap().lines().count();
            (n > 800).then(|| format!("{} ({n} lines)", f.display()))
        })
        .collect();
    assert!(long.is_empty(), "split these files: {long:?}");
}

#[test]
fn only_the_command_line_reads_the_environment() {
    let src = root().join("src");
    let readers: Vec<String> = rust_files(&src)
        .into_iter()
        .filter(|f| !f.starts_with(src.join("cli")) && !f.ends_with("main.rs"))
        .filter(|f| {
            let c = code(f);
            c.contains("std::env::var")
                || c.contains("env::var_os")
                || c.contains("env!(\"CARGO_MANIFEST_DIR")
        })
        .map(|f| f.display().to_string())
        .collect();
    assert!(
        readers.is_empty(),
        "library code reads the environment: {readers:?}"
    );
}
