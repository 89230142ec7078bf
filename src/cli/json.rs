//! Pretty-printing of the API's JSON for `coldpotato show --json`.
//!
//! Re-indents the text instead of round-tripping through `serde_json::Value`,
//! which would sort object keys and drop nothing but order: scripts see
//! exactly the daemon's fields in the daemon's order. Pure; no I/O.

/// Indentation per nesting level (as `serde_json::to_string_pretty`).
const INDENT: &str = "  ";

/// Validates `raw` as JSON and re-indents it with two spaces per level.
pub fn pretty(raw: &str) -> Result<String, serde_json::Error> {
    serde_json::from_str::<serde::de::IgnoredAny>(raw)?;
    let mut out = String::with_capacity(raw.len() * 2);
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
            continue;
        }
        match c {
            '"' => {
                in_string = true;
                out.push(c);
            }
            '{' | '[' => {
                while chars.peek().is_some_and(|n| n.is_whitespace()) {
                    chars.next();
                }
                let close = if c == '{' { '}' } else { ']' };
                out.push(c);
                if chars.peek() == Some(&close) {
                    chars.next();
                    out.push(close);
                } else {
                    depth += 1;
                    newline(&mut out, depth);
                }
            }
            '}' | ']' => {
                depth = depth.saturating_sub(1);
                newline(&mut out, depth);
                out.push(c);
            }
            ',' => {
                out.push(',');
                newline(&mut out, depth);
            }
            ':' => out.push_str(": "),
            c if c.is_whitespace() => {}
            c => out.push(c),
        }
    }
    out.push('\n');
    Ok(out)
}

fn newline(out: &mut String, depth: usize) {
    out.push('\n');
    for _ in 0..depth {
        out.push_str(INDENT);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_matches_serde_json_pretty_printing_and_keeps_key_order() {
        let raw = r#"[{"z":1,"a":[1,{"k":"v, {x}: \"q\""}],"e":{},"l":[],"n":null}]"#;
        let want = "[\n  {\n    \"z\": 1,\n    \"a\": [\n      1,\n      {\n        \"k\": \"v, {x}: \\\"q\\\"\"\n      }\n    ],\n    \"e\": {},\n    \"l\": [],\n    \"n\": null\n  }\n]\n";
        assert_eq!(pretty(raw).ok().as_deref(), Some(want));
    }

    #[test]
    fn whitespace_in_the_input_is_normalised() {
        assert_eq!(
            pretty(" [ 1 , 2 ] ").ok().as_deref(),
            Some("[\n  1,\n  2\n]\n")
        );
        assert_eq!(pretty("[ ]").ok().as_deref(), Some("[]\n"));
    }

    #[test]
    fn invalid_json_is_an_error() {
        assert!(pretty("[1,").is_err());
        assert!(pretty("<html>").is_err());
    }
}
