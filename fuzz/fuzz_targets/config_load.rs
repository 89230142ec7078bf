//! Fuzz target `config_load`: arbitrary text as the TOML configuration,
//! through the loader `coldpotato check` and `run` use (parse, validate,
//! compile the policies). No panic; every error or warning placed at
//! `line:col` points inside the text.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // A `policy = "FILE"` would make the loader read files: not here.
    if text.contains("policy") && text.contains('"') && text.contains(".toml") {
        return;
    }
    let lines: Vec<&str> = text.split('\n').collect();
    match coldpotato::config::parse(text, "fuzz.toml") {
        Ok(cfg) => {
            for w in &cfg.warnings {
                if let Some((line, col)) = w.position {
                    assert!(line >= 1 && line <= lines.len(), "{w}");
                    assert!(col >= 1 && col <= lines[line - 1].chars().count() + 1, "{w}");
                }
            }
        }
        Err(errs) => {
            assert!(!errs.0.is_empty(), "an error without a message");
            for e in &errs.0 {
                if let Some((line, col)) = e.position {
                    if e.file != "fuzz.toml" {
                        continue;
                    }
                    assert!(line >= 1 && line <= lines.len(), "{e} (lines: {})", lines.len());
                    assert!(
                        col >= 1 && col <= lines[line - 1].chars().count() + 1,
                        "{e}: line is {:?}",
                        lines[line - 1]
                    );
                }
            }
        }
    }
});
