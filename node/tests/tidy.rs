//! The node's layers, checked from its sources (in the spirit of
//! rust-analyzer's `tidy` tests).
//!
//! `node/src` has one folder per layer, lowest first:
//! `base` < `store` < `engine` < `views` < `net` < `ops` < `service` < `web` <
//! `server`. A module may use the core (`focal-core`), its own layer and the
//! layers below it; it never names a layer above it. `lib.rs` only declares
//! the layers, and the binary (`src/bin`) sits above them all. Test modules
//! (`#[cfg(test)] mod tests`) are left out: they may build fixtures with an
//! upper layer's functions without making the layers depend on each other.
//!
//! The core stays free of the runtime and the database: its manifest names
//! neither tokio nor rusqlite, and it never names the node.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    fs,
    path::{Path, PathBuf},
};

/// The node's layers, lowest first.
const LAYERS: &[&str] = &[
    "base", "store", "engine", "views", "net", "ops", "service", "web", "server",
];

#[test]
fn no_module_imports_from_a_layer_above_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    let mut strays = Vec::new();
    for entry in fs::read_dir(&src).expect("node/src") {
        let path = entry.expect("a directory entry").path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let layer = name.trim_end_matches(".rs");
        if name == "lib.rs" || name == "bin" {
            continue;
        }
        if !LAYERS.contains(&layer) {
            strays.push(name);
            continue;
        }
        rust_files(&path, &mut files);
    }
    assert!(
        strays.is_empty(),
        "node/src holds {strays:?} outside the layers {LAYERS:?}: put each module in the folder \
         of its layer"
    );
    assert!(
        files.len() >= 40,
        "only {} source files found under {}: is this the node's source tree?",
        files.len(),
        src.display()
    );
    let mut violations = Vec::new();
    for file in &files {
        let relative = file.strip_prefix(&src).unwrap();
        let layer = relative
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy()
            .trim_end_matches(".rs")
            .to_owned();
        let text = fs::read_to_string(file).expect("a source file");
        for found in upward_imports(&layer, &text) {
            violations.push(format!("{}: {found}", relative.display()));
        }
    }
    assert!(
        violations.is_empty(),
        "modules import from a layer above their own (layers, lowest first: {LAYERS:?}):\n{}",
        violations.join("\n")
    );
}

#[test]
fn the_core_has_no_runtime_and_no_database() {
    let core = Path::new(env!("CARGO_MANIFEST_DIR")).join("../core");
    let manifest = fs::read_to_string(core.join("Cargo.toml")).expect("core/Cargo.toml");
    for dependency in ["tokio", "rusqlite", "tonic", "focal-node"] {
        assert!(
            !manifest
                .lines()
                .any(|line| line.trim_start().starts_with(dependency)),
            "core/Cargo.toml depends on {dependency}: the core holds no runtime, database or \
             transport"
        );
    }
    let mut files = Vec::new();
    rust_files(&core.join("src"), &mut files);
    assert!(!files.is_empty(), "no sources under core/src");
    for file in files {
        let text = strip(&fs::read_to_string(&file).unwrap());
        for name in ["focal_node", "tokio::", "rusqlite::"] {
            assert!(
                !text.contains(name),
                "{} names {name}: the core is below the node",
                file.display()
            );
        }
    }
}

/// The checker itself: an upward import is found in each of the forms a
/// `use` takes, and comments and test modules are not read.
#[test]
fn the_checker_finds_upward_imports_in_every_form() {
    let source = r#"
        //! Mentions crate::server in a comment.
        use crate::{
            base::config::Config,
            engine::{writer::Writer, ingest},
        };
        fn f() { crate::net::sync::run(); }
        /// See [`crate::service::api`].
        fn g() {}
        #[cfg(test)]
        mod tests {
            use crate::ops::verify;
        }
    "#;
    assert_eq!(
        upward_imports("store", source),
        vec!["uses `engine` (layer 3)", "uses `net` (layer 5)"]
    );
    assert!(upward_imports("server", source).is_empty());
    assert!(upward_imports("engine", "use crate::{store, base};").is_empty());
    assert_eq!(
        upward_imports("base", "use crate::{\n    store::Store as S, roster};"),
        vec!["uses `store` (layer 2)"]
    );
    // A test module declared in a file of its own hides nothing after it.
    assert_eq!(
        upward_imports(
            "store",
            "#[cfg(test)]\nmod tests;\nfn f() { crate::server::run(); }\n"
        ),
        vec!["uses `server` (layer 9)"]
    );
}

/// The layers above `layer` that `source` names, in order, each once.
fn upward_imports(layer: &str, source: &str) -> Vec<String> {
    let own = LAYERS
        .iter()
        .position(|l| *l == layer)
        .expect("a known layer");
    let text = strip(source);
    let mut named = Vec::new();
    let mut rest = text.as_str();
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let (items, after) = group_items(group);
            named.extend(items);
            rest = after;
        } else {
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            named.push(rest[..end].to_owned());
        }
    }
    let mut above: Vec<usize> = named
        .iter()
        .filter_map(|name| LAYERS.iter().position(|l| l == name))
        .filter(|&index| index > own)
        .collect();
    above.sort_unstable();
    above.dedup();
    above
        .into_iter()
        .map(|index| format!("uses `{}` (layer {})", LAYERS[index], index + 1))
        .collect()
}

/// The first path segment of each top-level item of a `crate::{…}` group
/// (`text` starts after the `{`), and the text after the group.
fn group_items(text: &str) -> (Vec<String>, &str) {
    let mut items = Vec::new();
    let mut depth = 0usize;
    let mut start = true;
    for (i, c) in text.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => return (items, &text[i + 1..]),
            '}' => depth -= 1,
            ',' if depth == 0 => start = true,
            c if start && (c.is_ascii_alphabetic() || c == '_') => {
                start = false;
                let end = text[i..]
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .map_or(text.len(), |n| i + n);
                items.push(text[i..end].to_owned());
            }
            _ => {}
        }
    }
    (items, "")
}

/// The source without comments and without `#[cfg(test)]` modules.
fn strip(source: &str) -> String {
    let mut out = String::with_capacity(source.len());
    let mut lines = source.lines().peekable();
    while let Some(line) = lines.next() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("#[cfg(test)]")
            && lines
                .peek()
                .is_some_and(|next| next.trim_start().starts_with("mod "))
        {
            // `mod tests;` (a file of its own): only the declaration goes.
            if lines
                .peek()
                .is_some_and(|next| next.trim_end().ends_with(';'))
            {
                lines.next();
                continue;
            }
            // Skip the module: up to the line that closes its braces.
            let mut depth = 0i64;
            let mut opened = false;
            for line in lines.by_ref() {
                let code = line.split("//").next().unwrap_or("");
                depth += code.matches('{').count() as i64;
                depth -= code.matches('}').count() as i64;
                opened |= code.contains('{');
                if opened && depth <= 0 {
                    break;
                }
            }
            continue;
        }
        out.push_str(line.split("//").next().unwrap_or(""));
        out.push('\n');
    }
    out
}

fn rust_files(path: &Path, out: &mut Vec<PathBuf>) {
    if path.is_dir() {
        let mut entries: Vec<_> = fs::read_dir(path)
            .expect("a source directory")
            .map(|e| e.expect("a directory entry").path())
            .collect();
        entries.sort();
        for entry in entries {
            rust_files(&entry, out);
        }
    } else if path.extension().is_some_and(|e| e == "rs") {
        out.push(path.to_owned());
    }
}
