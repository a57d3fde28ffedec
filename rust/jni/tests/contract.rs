//! The contract between the Java shim and this library, checked from both sources: every
//! `native` method of the shim's `io.ferrostate.flink.nativ` classes has an entry point here
//! with the same number of arguments, every entry point here has its Java declaration, and
//! the codes Java sends (state kinds, TTL layouts) decode to what Java means by them. A change
//! to one side that the other misses fails this test at build time, not a job at run time.

use ferrostate_engine::store::StateKind;
use ferrostate_engine::ttl::TtlLayout;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const JAVA_PACKAGE: &str = "java/src/main/java/io/ferrostate/flink/nativ";
/// The test hooks' class (`NativeHooks`) lives in the test sources, beside the same package.
const JAVA_TEST_PACKAGE: &str = "java/src/test/java/io/ferrostate/flink/nativ";
/// The only source file of entry points built with the `test-hooks` feature.
const HOOKS_SOURCE: &str = "hooks.rs";
const ENTRY_PREFIX: &str = "Java_io_ferrostate_flink_nativ_";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn files(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == ext))
        .collect();
    out.sort();
    out
}

/// The text between the parenthesis at `open` and its match (no nested parentheses occur in
/// the parameter lists read here).
fn params(text: &str, open: usize) -> &str {
    let close = text[open..].find(')').expect("unclosed parameter list") + open;
    &text[open + 1..close]
}

fn count_params(list: &str) -> usize {
    let list = list.trim();
    if list.is_empty() {
        0
    } else {
        list.split(',').filter(|p| !p.trim().is_empty()).count()
    }
}

/// `Class.method` -> number of arguments, for every `native` method Java declares in `dir`.
fn java_natives(dir: &str) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for file in files(&repo().join(dir), "java") {
        let class = file.file_stem().unwrap().to_string_lossy().to_string();
        let text = read(&file);
        let mut from = 0;
        while let Some(at) = text[from..].find(" native ") {
            let at = at + from;
            from = at + 8;
            let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
            let modifiers = ["public", "private", "protected", "static", "synchronized"];
            if !text[line_start..at]
                .split_whitespace()
                .all(|w| modifiers.contains(&w))
            {
                continue; // the word in prose, a comment or a string
            }
            let Some(open) = text[at..].find('(').map(|i| i + at) else {
                continue;
            };
            let name = text[at..open]
                .split_whitespace()
                .last()
                .unwrap()
                .to_string();
            out.insert(format!("{class}.{name}"), count_params(params(&text, open)));
        }
    }
    out
}

/// `Class.method` -> number of Java arguments, for every entry point this crate defines,
/// whether written out or through `store_native!` (which adds the store handle); `hooks`: those
/// of the `test-hooks` feature, or all the others.
fn rust_entry_points(hooks: bool) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for file in files(&repo().join("rust/jni/src"), "rs") {
        if (file.file_name().unwrap() == HOOKS_SOURCE) != hooks {
            continue;
        }
        let text = read(&file);
        let mut from = 0;
        while let Some(at) = text[from..].find(&format!("fn {ENTRY_PREFIX}")) {
            let at = at + from;
            from = at + 3;
            let open = text[at..].find('(').unwrap() + at;
            let symbol = text[at + 3..open].trim_end_matches("<'l>");
            let (class, method) = symbol[ENTRY_PREFIX.len()..]
                .split_once('_')
                .expect("entry point without a class");
            let list = params(&text, open);
            let java_args = if list.trim_start().starts_with('"') {
                // store_native!("what", env, s, args...): the handle, then args.
                count_params(list) - 3 + 1
            } else {
                // (env, class, args...)
                count_params(list) - 2
            };
            out.insert(format!("{class}.{method}"), java_args);
        }
    }
    out
}

/// The differences between the natives Java declares and the entry points Rust defines.
fn mismatches(java: &BTreeMap<String, usize>, rust: &BTreeMap<String, usize>) -> Vec<String> {
    let mut problems = Vec::new();
    for (name, args) in java {
        match rust.get(name) {
            None => problems.push(format!("{name}: declared in Java, no entry point in Rust")),
            Some(n) if n != args => {
                problems.push(format!("{name}: {args} arguments in Java, {n} in Rust"))
            }
            Some(_) => {}
        }
    }
    for name in rust.keys() {
        if !java.contains_key(name) {
            problems.push(format!("{name}: entry point in Rust, no native in Java"));
        }
    }
    problems
}

#[test]
fn every_java_native_has_its_entry_point_with_the_same_arity() {
    let java = java_natives(JAVA_PACKAGE);
    assert!(java.len() > 20, "found only {} Java natives", java.len());
    let problems = mismatches(&java, &rust_entry_points(false));
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn test_hooks_are_declared_only_in_test_code_and_built_only_with_their_feature() {
    let java = java_natives(JAVA_TEST_PACKAGE);
    let hooks = rust_entry_points(true);
    assert!(!hooks.is_empty(), "no entry point in {HOOKS_SOURCE}");
    assert!(
        java.keys()
            .chain(hooks.keys())
            .all(|n| n.starts_with("NativeHooks.")),
        "hooks outside NativeHooks: {java:?} {hooks:?}"
    );
    let problems = mismatches(&java, &hooks);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    let lib = read(&repo().join("rust/jni/src/lib.rs"));
    assert!(
        lib.contains("#[cfg(feature = \"test-hooks\")]\nmod hooks;"),
        "hooks.rs must be compiled only with the test-hooks feature"
    );
}

/// `NAME = value` of every `static final int` constant with `prefix` in a Java file.
fn java_codes(class: &str, prefix: &str) -> BTreeMap<String, i32> {
    let text = read(&repo().join(JAVA_PACKAGE).join(format!("{class}.java")));
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("public static final int "))
        .filter(|l| l.starts_with(prefix))
        .map(|l| {
            let (name, value) = l.trim_end_matches(';').split_once('=').unwrap();
            (name.trim().to_string(), value.trim().parse().unwrap())
        })
        .collect()
}

#[test]
fn state_kinds_mean_the_same_on_both_sides() {
    let codes = java_codes("NativeStore", "KIND_");
    let expected = [
        ("KIND_VALUE", StateKind::Value),
        ("KIND_LIST", StateKind::List),
        ("KIND_MAP", StateKind::Map),
    ];
    assert_eq!(codes.len(), expected.len(), "{codes:?}");
    for (name, kind) in expected {
        assert_eq!(StateKind::from_code(codes[name]).unwrap(), kind, "{name}");
    }
}

#[test]
fn ttl_layouts_mean_the_same_on_both_sides() {
    let codes = java_codes("NativeStore", "TTL_");
    let expected = [
        ("TTL_VALUE", TtlLayout::Value),
        ("TTL_LIST", TtlLayout::List),
        ("TTL_MAP", TtlLayout::Map),
    ];
    assert_eq!(codes.len(), expected.len(), "{codes:?}");
    for (name, layout) in expected {
        assert_eq!(TtlLayout::from_code(codes[name]).unwrap(), layout, "{name}");
    }
}
