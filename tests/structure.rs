//! The structure of `src/`, as the tree shows it: no import cycle between
//! its top-level modules (issue 14) nor between the route engine's
//! modules, no file over 600 lines, and every file opening with a `//!`
//! header that says what it owns (issue 10). A file that grows past the
//! limit is split along a seam of ownership (a child module, its tests
//! beside it), not trimmed.
//!
//! The cycle checks read every `.rs` file under `src/`, collect the
//! `crate::NAME` paths it names outside comments (`use crate::a::b`,
//! `use crate::{a, b}`, and paths written inline), build the graph
//! "top-level module → the top-level modules it names" and fail on any
//! strongly connected component of more than one module, printing the
//! edges that close it and the files that make them. The binary's `main.rs` and the crate root are the top and may name
//! anything.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Every `.rs` file under `dir`.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src/") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a file under `src/` belongs to (`src/engine/core.rs`
/// → `engine`, `src/daemon.rs` → `daemon`).
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).expect("under src/");
    let first = rel.components().next().expect("non-empty path");
    let name = first.as_os_str().to_string_lossy();
    name.trim_end_matches(".rs").to_string()
}

/// The source with `//` comments (doc comments included) and string
/// literals blanked, so that prose and messages naming `crate::x` are not
/// counted. Block comments are not used in this crate.
fn code_only(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let mut in_str = false;
        let mut prev = '\0';
        let mut chars = line.chars().peekable();
        while let Some(c) = chars.next() {
            if !in_str && c == '/' && chars.peek() == Some(&'/') {
                break;
            }
            if c == '"' && prev != '\\' {
                in_str = !in_str;
                out.push(' ');
            } else if in_str {
                out.push(' ');
            } else {
                out.push(c);
            }
            prev = if prev == '\\' && c == '\\' { '\0' } else { c };
        }
        out.push('\n');
    }
    out
}

/// The top-level modules `code` names through `crate::`.
fn named_modules(code: &str) -> BTreeSet<String> {
    named_after(code, "crate::")
}

/// The first path segments `code` names after `prefix` (`crate::`,
/// `crate::engine::`, `super::`), grouped imports included.
fn named_after(code: &str, prefix: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut rest = code;
    while let Some(at) = rest.find(prefix) {
        // `somecrate::x` is another crate's path, not ours.
        let before = rest[..at].chars().next_back();
        rest = &rest[at + prefix.len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        if let Some(group) = rest.strip_prefix('{') {
            // `crate::{a, b::c, d::{e, f}}`: the first segment of each item.
            let mut depth = 1;
            let mut item = String::new();
            let mut at_start = true;
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    _ => {}
                }
                if depth == 0 {
                    break;
                }
                if depth == 1 && c == ',' {
                    if at_start && !item.is_empty() {
                        names.insert(std::mem::take(&mut item));
                    }
                    at_start = true;
                    item.clear();
                    continue;
                }
                if at_start {
                    if c.is_alphanumeric() || c == '_' {
                        item.push(c);
                    } else if !item.is_empty() {
                        names.insert(std::mem::take(&mut item));
                        at_start = false;
                    }
                }
            }
            if at_start && !item.is_empty() {
                names.insert(item);
            }
        } else {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                names.insert(name);
            }
        }
    }
    names
}

/// Tarjan's strongly connected components.
fn components(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct State<'a> {
        graph: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        next: usize,
        out: Vec<Vec<String>>,
    }
    fn visit<'a>(s: &mut State<'a>, v: &'a str) {
        s.index.insert(v, s.next);
        s.low.insert(v, s.next);
        s.next += 1;
        s.stack.push(v);
        s.on_stack.insert(v);
        if let Some(edges) = s.graph.get(v) {
            for w in edges {
                let w = w.as_str();
                if !s.index.contains_key(w) {
                    visit(s, w);
                    let low = s.low[v].min(s.low[w]);
                    s.low.insert(v, low);
                } else if s.on_stack.contains(w) {
                    let low = s.low[v].min(s.index[w]);
                    s.low.insert(v, low);
                }
            }
        }
        if s.low[v] == s.index[v] {
            let mut comp = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(w);
                comp.push(w.to_string());
                if w == v {
                    break;
                }
            }
            comp.sort();
            s.out.push(comp);
        }
    }
    let mut s = State {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        next: 0,
        out: Vec::new(),
    };
    for v in graph.keys() {
        if !s.index.contains_key(v.as_str()) {
            visit(&mut s, v);
        }
    }
    s.out
}

/// module → named module → files that name it.
type Edges = BTreeMap<String, BTreeMap<String, BTreeSet<String>>>;

/// Records that `file` (in module `from`) names module `to`.
fn note(edges: &mut Edges, from: &str, to: String, file: String) {
    edges
        .entry(from.to_string())
        .or_default()
        .entry(to)
        .or_default()
        .insert(file);
}

/// The graph "module → the modules it names" of `modules`.
fn graph_of(modules: &BTreeSet<String>, edges: &Edges) -> BTreeMap<String, BTreeSet<String>> {
    modules
        .iter()
        .map(|m| {
            let to = edges
                .get(m)
                .map(|e| e.keys().cloned().collect())
                .unwrap_or_default();
            (m.clone(), to)
        })
        .collect()
}

/// Fails on any cycle of `graph`, printing the edges that close it and the
/// files that make them.
fn assert_no_cycle(place: &str, graph: &BTreeMap<String, BTreeSet<String>>, edges: &Edges) {
    let cycles: Vec<Vec<String>> = components(graph)
        .into_iter()
        .filter(|c| c.len() > 1)
        .collect();
    let mut report = String::new();
    for cycle in &cycles {
        report.push_str(&format!("cycle among {cycle:?}:\n"));
        for from in cycle {
            for (to, files) in edges.get(from).into_iter().flatten() {
                if cycle.contains(to) {
                    report.push_str(&format!("  {from} -> {to} ({files:?})\n"));
                }
            }
        }
    }
    assert!(cycles.is_empty(), "import cycles in {place}:\n{report}");
}

#[test]
fn top_level_modules_of_src_form_no_import_cycle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let modules: BTreeSet<String> = files
        .iter()
        .map(|f| module_of(&src, f))
        .filter(|m| m != "lib" && m != "main")
        .collect();
    assert!(
        modules.len() > 10,
        "expected the crate's modules, found {modules:?}"
    );
    let mut edges = Edges::new();
    for file in &files {
        let from = module_of(&src, file);
        if from == "lib" || from == "main" {
            continue;
        }
        let text = std::fs::read_to_string(file).expect("read source");
        for to in named_modules(&code_only(&text)) {
            if to != from && modules.contains(&to) {
                let rel = file.strip_prefix(&src).unwrap_or(file).display();
                note(&mut edges, &from, to, format!("src/{rel}"));
            }
        }
    }
    let graph = graph_of(&modules, &edges);
    assert_no_cycle("src/", &graph, &edges);
}

/// Issue 10: the route engine's owners (`src/engine/*.rs`, a directory
/// module counting as one) name each other without a cycle: the state
/// (`core`, `pass`, `neighbor`, `groups`, `decision`) below the steps that
/// change it, `dispatch` on top.
#[test]
fn modules_inside_the_engine_form_no_import_cycle() {
    let engine = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/engine");
    let mut files = Vec::new();
    rust_files(&engine, &mut files);
    files.sort();
    let modules: BTreeSet<String> = files
        .iter()
        .map(|f| module_of(&engine, f))
        .filter(|m| m != "mod")
        .collect();
    assert!(
        modules.len() > 10,
        "expected the engine's modules, found {modules:?}"
    );
    let mut edges = Edges::new();
    for file in &files {
        let from = module_of(&engine, file);
        if from == "mod" {
            continue;
        }
        let nested = file.parent() != Some(engine.as_path());
        let code = code_only(&std::fs::read_to_string(file).expect("read source"));
        let mut named = named_after(&code, "crate::engine::");
        named.extend(named_after(
            &code,
            if nested { "super::super::" } else { "super::" },
        ));
        for to in named {
            if to != from && modules.contains(&to) {
                let rel = file.strip_prefix(&engine).unwrap_or(file).display();
                note(&mut edges, &from, to, format!("src/engine/{rel}"));
            }
        }
    }
    let graph = graph_of(&modules, &edges);
    // The state owner names none of the steps, only the state below it.
    assert!(
        graph["core"]
            .iter()
            .all(|m| ["decision", "groups", "neighbor", "pass"].contains(&m.as_str())),
        "engine::core names {:?}",
        graph["core"]
    );
    assert_no_cycle("src/engine/", &graph, &edges);
}

#[test]
fn the_scanner_sees_grouped_inline_and_commented_paths() {
    let code = code_only(
        "use crate::{alpha, beta::x, gamma::{y, z}};\n\
         // use crate::commented;\n\
         let s = \"crate::in_a_string\";\n\
         fn f() -> crate::delta::T { othercrate::epsilon::g() }\n",
    );
    let names: Vec<String> = named_modules(&code).into_iter().collect();
    assert_eq!(names, ["alpha", "beta", "delta", "gamma"]);
}

/// The most lines a file under `src/` may have.
const MAX_LINES: usize = 600;

fn src_files() -> Vec<PathBuf> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    assert!(
        files.len() > 50,
        "expected the crate's files, found {files:?}"
    );
    files
}

#[test]
fn no_source_file_is_over_600_lines() {
    let long: Vec<String> = src_files()
        .iter()
        .filter_map(|f| {
            let n = std::fs::read_to_string(f)
                .expect("read source")
                .lines()
                .count();
            (n > MAX_LINES).then(|| format!("{} ({n} lines)", f.display()))
        })
        .collect();
    assert!(long.is_empty(), "over {MAX_LINES} lines: {long:#?}");
}

#[test]
fn every_source_file_starts_with_what_it_owns() {
    let bare: Vec<String> = src_files()
        .iter()
        .filter(|f| {
            let text = std::fs::read_to_string(f).expect("read source");
            !text.trim_start().starts_with("//!")
        })
        .map(|f| f.display().to_string())
        .collect();
    assert!(bare.is_empty(), "no `//!` header: {bare:#?}");
}
