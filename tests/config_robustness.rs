//! File input never panics the loader: random edits of the example config
//! (and random text) give either a config or well-formed `file:line:col:`
//! errors whose positions lie inside the file.

use coldpotato::config;
use proptest::prelude::*;

const EXAMPLE: &str = include_str!("../config/coldpotato.toml");
const POLICY: &str = include_str!("../config/policy.toml");

fn check_positions(text: &str, file: &str) {
    let lines = text.split('\n').count();
    if let Err(errs) = config::parse(text, file) {
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
