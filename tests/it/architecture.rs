//! The house plan, checked: layers point one way. Every `crate::<module>` a file of `src/`
//! names is an edge from the file's top-level module to that module; an edge to a module of a
//! higher layer is a violation. The violations that exist today are listed with the issue that
//! removes them; a new one fails the test, and so does a listed one that is gone (strike it from
//! the list, so that it cannot come back unnoticed).
//!
//! Layers, lowest first (ARCHITECTURE.md):
//! 0 `domain`, `crypto` — the types everything speaks, pure helpers;
//! 1 `normalize`, `tls`, `cache`;
//! 2 `dedup`, `rules`, `store`;
//! 3 `config` (the settings, made of the lower layers' own), `publish`;
//! 4 `service`;
//! 5 `api`, `import`, `sim`;
//! 6 `app`, `cli`, `demo`, `telemetry`, `main` — wiring, logs, the command line, the whole loop
//!   on one machine.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

const LAYERS: [(&str, u8); 19] = [
    ("domain", 0),
    ("crypto", 0),
    ("normalize", 1),
    ("tls", 1),
    ("cache", 1),
    ("dedup", 2),
    ("rules", 2),
    ("store", 2),
    ("config", 3),
    ("publish", 3),
    ("service", 4),
    ("api", 5),
    ("import", 5),
    ("sim", 5),
    ("app", 6),
    ("cli", 6),
    ("demo", 6),
    ("telemetry", 6),
    ("main", 6),
];

/// Upward edges that exist today, each with the issue that removes it. None is left: event
/// staging moved into `service::events`, the registry and start-up loading into
/// `service::setup` (#14).
const KNOWN: [(&str, &str); 0] = [];

fn layer(module: &str) -> Option<u8> {
    LAYERS.iter().find(|(m, _)| *m == module).map(|(_, l)| *l)
}

/// The top-level module a file of `src/` belongs to.
fn module_of(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).ok()?;
    let first = rel.components().next()?.as_os_str().to_str()?;
    Some(first.trim_end_matches(".rs").to_owned())
}

fn files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// Every `crate::<name>` in a text, outside line comments.
fn named_modules(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for line in text.lines() {
        let code = line.split("//").next().unwrap_or_default();
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            let after = rest.get(at + "crate::".len()..).unwrap_or_default();
            let name: String = after
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                out.insert(name);
            }
            rest = after;
        }
        // `use crate::{a, b}`: the braces name modules too.
        if let Some(at) = code.find("crate::{") {
            let inner = code.get(at + "crate::{".len()..).unwrap_or_default();
            for part in inner.split([',', '}']) {
                let name: String = part
                    .trim()
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() {
                    out.insert(name);
                }
            }
        }
    }
    out
}

#[test]
fn layers_point_one_way() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut all = Vec::new();
    files(&src, &mut all);
    assert!(all.len() > 50, "read only {} files", all.len());
    let mut upward: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for file in &all {
        let Some(from) = module_of(&src, file) else {
            continue;
        };
        if from == "lib" {
            continue;
        }
        let from_layer =
            layer(&from).unwrap_or_else(|| panic!("{from}: give the module a layer in LAYERS"));
        let text = std::fs::read_to_string(file).unwrap();
        for to in named_modules(&text) {
            if to == from {
                continue;
            }
            let Some(to_layer) = layer(&to) else {
                continue;
            };
            if to_layer > from_layer {
                upward
                    .entry((from.clone(), to))
                    .or_default()
                    .push(file.strip_prefix(&src).unwrap().display().to_string());
            }
        }
    }
    let known: BTreeSet<(String, String)> = KNOWN
        .iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect();
    let new: Vec<String> = upward
        .iter()
        .filter(|(edge, _)| !known.contains(*edge))
        .map(|((a, b), files)| format!("{a} → {b} in {}", files.join(", ")))
        .collect();
    assert!(
        new.is_empty(),
        "edges that point up a layer:\n{}",
        new.join("\n")
    );
    let gone: Vec<String> = known
        .iter()
        .filter(|edge| !upward.contains_key(*edge))
        .map(|(a, b)| format!("{a} → {b}"))
        .collect();
    assert!(
        gone.is_empty(),
        "these listed edges are gone; strike them from KNOWN: {}",
        gone.join(", ")
    );
}

#[test]
fn the_scanner_sees_uses_paths_and_braces() {
    let text = "use crate::store::{self, Conn};\nuse crate::{domain, rules::X};\n\
                let x = crate::publish::events::emit(); // crate::api in a comment\n";
    let got = named_modules(text);
    let want: BTreeSet<String> = ["store", "domain", "rules", "publish"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    assert_eq!(got, want);
}
