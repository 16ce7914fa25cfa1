//! No two modules of `src/` import each other, directly or around a circle: the
//! dependencies run one way (the project's style guide, "As the crate grows"). A type
//! that two modules both need lives in the lower one, or in a small module of its own
//! (`secret.rs`, `http/version.rs`).
//!
//! A module here is a file, and an import is any `crate::` path in its code (in a `use`
//! or written out in full); its own tests, which may use anything, are left out.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

/// Module name (`http::head`) -> the modules its code names.
type Graph = BTreeMap<String, Vec<String>>;

#[test]
fn no_two_modules_import_each_other() {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = BTreeMap::new();
    read_modules(&source, &source, &mut files);
    let graph: Graph = files
        .iter()
        .map(|(module, code)| (module.clone(), imports(module, code, &files)))
        .collect();
    let mut state = BTreeMap::new();
    let mut path = Vec::new();
    for module in graph.keys() {
        if let Some(circle) = find_circle(module, &graph, &mut state, &mut path) {
            panic!("modules import each other: {}", circle.join(" -> "));
        }
    }
}

/// Every module file under `dir` by module name, with its code (comments and its
/// test module cut off). `lib.rs` and `main.rs` only declare modules; `*_tests.rs` files
/// are test modules: both are left out.
fn read_modules(root: &Path, dir: &Path, files: &mut BTreeMap<String, String>) {
    for entry in fs::read_dir(dir).expect("read src/") {
        let path = entry.expect("read src/").path();
        if path.is_dir() {
            read_modules(root, &path, files);
            continue;
        }
        let relative = path.strip_prefix(root).unwrap().with_extension("");
        let mut names: Vec<String> = relative
            .iter()
            .map(|part| part.to_string_lossy().into_owned())
            .collect();
        let last = names.last().cloned().unwrap_or_default();
        let skipped = last == "lib" || last == "main" || last.ends_with("_tests");
        if path.extension().is_none_or(|ext| ext != "rs") || skipped {
            continue;
        }
        if last == "mod" {
            names.pop();
        }
        let text = fs::read_to_string(&path).expect("read a source file");
        files.insert(names.join("::"), own_code(&text));
    }
}

/// The code of a file without comments, up to its `#[cfg(test)] mod` (tests come last).
fn own_code(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let mut code = String::new();
    for (index, line) in lines.iter().enumerate() {
        if *line == "#[cfg(test)]" {
            let mut item = lines[index + 1..]
                .iter()
                .skip_while(|l| l.starts_with("#["));
            if item.next().is_some_and(|item| item.starts_with("mod ")) {
                break;
            }
        }
        code.push_str(line.split("//").next().unwrap_or(""));
        code.push('\n');
    }
    code
}

/// The modules that `module`'s code names through `crate::` paths.
fn imports(module: &str, code: &str, files: &BTreeMap<String, String>) -> Vec<String> {
    let mut paths = Vec::new();
    for (start, _) in code.match_indices("crate::") {
        let rest = &code[start + "crate::".len()..];
        let end = rest
            .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
            .unwrap_or(rest.len());
        let (prefix, after) = rest.split_at(end);
        if after.starts_with('{') {
            expand(prefix, braced(after), &mut paths);
        } else {
            paths.push(prefix.to_string());
        }
    }
    let mut named: Vec<String> = paths
        .iter()
        .filter_map(|path| {
            // The longest prefix of the path that is a module: `http::request::Request`
            // names `http::request`.
            let segments: Vec<&str> = path.split("::").map(str::trim).collect();
            (1..=segments.len())
                .rev()
                .map(|n| segments[..n].join("::"))
                .find(|prefix| files.contains_key(prefix))
        })
        .filter(|target| target != module)
        .collect();
    named.sort();
    named.dedup();
    named
}

/// The inside of the brace group `text` starts with.
fn braced(text: &str) -> &str {
    let mut depth = 0;
    for (index, c) in text.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 1 => return &text[1..index],
            '}' => depth -= 1,
            _ => {}
        }
    }
    &text[1..]
}

/// The paths of `use prefix{list}`, with nested groups: `a::{b::{C, D}, e}` gives
/// `a::b::C`, `a::b::D` and `a::e`.
fn expand(prefix: &str, list: &str, paths: &mut Vec<String>) {
    let mut depth = 0;
    let mut item_start = 0;
    for (index, c) in list.char_indices().chain([(list.len(), ',')]) {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                let item = list[item_start..index].trim();
                match item.split_once('{') {
                    Some((head, _)) => expand(
                        &format!("{prefix}{head}"),
                        braced(&item[head.len()..]),
                        paths,
                    ),
                    None if !item.is_empty() => paths.push(format!("{prefix}{item}")),
                    None => {}
                }
                item_start = index + 1;
            }
            _ => {}
        }
    }
}

/// Depth-first search; returns the modules of a circle through `module`'s descendants.
fn find_circle(
    module: &str,
    graph: &Graph,
    state: &mut BTreeMap<String, bool>,
    path: &mut Vec<String>,
) -> Option<Vec<String>> {
    match state.get(module) {
        // Finished earlier: no circle from here.
        Some(false) => return None,
        // On the current path: a circle.
        Some(true) => {
            let from = path.iter().position(|step| step == module).unwrap();
            let mut circle = path[from..].to_vec();
            circle.push(module.to_string());
            return Some(circle);
        }
        None => {}
    }
    state.insert(module.to_string(), true);
    path.push(module.to_string());
    for next in graph.get(module).into_iter().flatten() {
        if let Some(circle) = find_circle(next, graph, state, path) {
            return Some(circle);
        }
    }
    path.pop();
    state.insert(module.to_string(), false);
    None
}
