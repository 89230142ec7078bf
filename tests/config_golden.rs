//! Golden tests: every `tests/golden/config/*.toml` is loaded and its errors
//! (one `file:line:col: message` line each, the directory stripped) must equal
//! the `.err` file beside it; a file without errors must have an empty `.err`.
//! `UPDATE_GOLDEN=1 cargo test --test config_golden` rewrites the `.err` files.

use coldpotato::running;
use std::path::{Path, PathBuf};

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/config")
}

fn actual(path: &Path) -> String {
    let dir = format!("{}/", golden_dir().display());
    match running::load(path) {
        Ok(_) => String::new(),
        Err(e) => format!("{e}\n").replace(&dir, ""),
    }
}

#[test]
fn every_golden_config_reports_exactly_its_expected_errors() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(golden_dir())
        .map(|rd| rd.filter_map(|e| e.ok()).map(|e| e.path()).collect())
        .unwrap_or_default();
    files.retain(|p| {
        p.extension().is_some_and(|e| e == "toml") && !p.to_string_lossy().ends_with(".policy.toml")
    });
    files.sort();
    assert!(files.len() >= 10, "golden files missing: {files:?}");
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let mut failures = Vec::new();
    for f in &files {
        let got = actual(f);
        let err_path = f.with_extension("err");
        if update {
            if let Err(e) = std::fs::write(&err_path, &got) {
                failures.push(format!("{}: {e}", err_path.display()));
            }
            continue;
        }
        let want =
            std::fs::read_to_string(&err_path).unwrap_or_else(|_| "<missing .err file>".into());
        if got != want {
            failures.push(format!("{}\n--- want\n{want}--- got\n{got}", f.display()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
