//! File input never panics the loader: random edits of the example config
//! (and random text) give either a config or well-formed `file:line:col:`
//! errors whose positions lie inside the file.

use coldpotato::running;
use proptest::prelude::*;

const EXAMPLE: &str = include_str!("../config/coldpotato.toml");
const POLICY: &str = include_str!("../config/policy.toml");

fn check_positions(text: &str, file: &str) {
    let lines = text.split('\n').count();
    if let Err(errs) = running::parse(text, file) {
        assert!(!errs.is_empty());
        for e in errs.iter() {
            if e.file != file {
                continue;
            }
            if let Some((line, col)) = e.position {
                assert!(line >= 1 && line <= lines, "line {line} of {lines}: {e}");
                let width = text
                    .split('\n')
                    .nth(line - 1)
                    .map_or(0, |l| l.chars().count());
                assert!(col >= 1 && col <= width + 1, "col {col} of {width}: {e}");
            }
            assert!(!e.message.is_empty());
        }
    }
}

fn edit(text: &str, at: usize, del: usize, ins: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let at = at % (chars.len() + 1);
    let end = (at + del).min(chars.len());
    chars[..at]
        .iter()
        .chain(ins.chars().collect::<Vec<_>>().iter())
        .chain(chars[end..].iter())
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn random_edits_of_the_example_never_panic(at in 0usize..20_000, del in 0usize..8, ins in "[ -~\n\u{e9}]{0,6}") {
        check_positions(&edit(EXAMPLE, at, del, &ins), "coldpotato.toml");
    }

    #[test]
    fn random_edits_of_an_inline_policy_never_panic(at in 0usize..20_000, del in 0usize..8, ins in "[ -~\n]{0,6}") {
        // The policy file's tables, inline after the example (without its `policy =` line).
        let main = EXAMPLE.replace("policy = \"policy.toml\"", "");
        let text = format!("{main}\n{}", edit(POLICY, at, del, &ins));
        check_positions(&text, "coldpotato.toml");
    }

    #[test]
    fn random_text_never_panics(text in "[ -~\n]{0,200}") {
        check_positions(&text, "x.toml");
    }
}

/// A config with 20,000 errors: every one is found, each at its own line,
/// and `check` prints the first 50 and how many more (the time it takes
/// is a figure in the closing note, not an assertion here).
#[test]
fn twenty_thousand_errors_are_all_placed_and_check_prints_a_screenful() {
    let mut text = String::from(
        "[router]\nasn = 8075\nrouter_id = \"198.51.100.1\"\nlocation = \"ams\"\n\n[[locations]]\nname = \"ams\"\n",
    );
    for i in 0..20_000u32 {
        text.push_str(&format!(
            "\n[[neighbors]]\nname = \"n{i}\"\naddress = \"10.{}.{}.{}\"\nremote_as = 3356\nlocation = \"nowhere\"\nrole = \"transit\"\n",
            (i >> 16) & 255,
            (i >> 8) & 255,
            i & 255
        ));
    }
    let errs = running::parse(&text, "big.toml").err().unwrap_or_default();
    assert_eq!(errs.0.len(), 20_000);
    for (i, e) in errs.iter().enumerate() {
        // Neighbor i's `location` is on line 13 + 7 i, after `location = `.
        assert_eq!(e.position, Some((13 + 7 * i, 12)), "{e}");
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("big.toml");
    std::fs::write(&path, &text).expect("write");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_coldpotato"))
        .args(["check", "--config"])
        .arg(&path)
        .output()
        .expect("check runs");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 51, "{}", lines.last().unwrap_or(&""));
    assert!(
        lines[50].ends_with("... and 19950 more errors (20000 in all)"),
        "{}",
        lines[50]
    );
}
