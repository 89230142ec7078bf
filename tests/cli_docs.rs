//! `coldpotato completions SHELL` and `coldpotato man`: generated from the
//! same command definitions as `--help`, so they never drift from it.

use std::process::Command;

fn run(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_coldpotato"))
        .args(args)
        .output()
        .expect("the binary runs");
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8")
}

#[test]
fn the_bash_completion_is_valid_bash_and_knows_the_subcommands_and_flags() {
    let script = run(&["completions", "bash"]);
    assert!(script.contains("_coldpotato()"), "{script}");
    for word in [
        "show",
        "check",
        "run",
        "neighbors",
        "audit",
        "--longest-match",
        "--strict",
    ] {
        assert!(script.contains(word), "{word} missing");
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("coldpotato.bash");
    std::fs::write(&file, &script).expect("write");
    let syntax = Command::new("bash")
        .arg("-n")
        .arg(&file)
        .output()
        .expect("bash runs");
    assert!(
        syntax.status.success(),
        "{}",
        String::from_utf8_lossy(&syntax.stderr)
    );
}

#[test]
fn completions_exist_for_the_usual_shells() {
    for shell in ["zsh", "fish", "elvish", "powershell"] {
        assert!(
            run(&["completions", shell]).contains("coldpotato"),
            "{shell}"
        );
    }
}

#[test]
fn the_manual_page_is_section_8_and_names_every_subcommand() {
    let page = run(&["man"]);
    assert!(page.contains(".TH coldpotato 8"), "{page}");
    for sub in [
        "run",
        "check",
        "show",
        "lab",
        "loadgen",
        "sink",
        "completions",
    ] {
        assert!(
            page.contains(&format!("coldpotato\\-{sub}"))
                || page.contains(&format!("\\fB{sub}\\fR")),
            "{sub} missing from the manual page"
        );
    }
}
