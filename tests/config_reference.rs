//! `docs/config.md` names every configuration key: each field of the
//! deserialized config structs (`src/config/model.rs`, `policy_model.rs`,
//! `analytics_model.rs`),
//! as the file spells it (serde renames applied, skipped fields left out),
//! must appear there in backquotes. A key added to the code and not to the
//! reference fails here.

const REFERENCE: &str = include_str!("../docs/config.md");
const SOURCES: [&str; 3] = [
    include_str!("../src/config/model.rs"),
    include_str!("../src/config/policy_model.rs"),
    include_str!("../src/config/analytics_model.rs"),
];

/// The TOML key of every field of every `Deserialize` struct in `src`.
fn keys(src: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut derive_de = false;
    let mut in_struct = false;
    let mut attrs: Vec<&str> = Vec::new();
    for line in src.lines() {
        let t = line.trim();
        if t.starts_with("#[derive(") {
            derive_de = t.contains("Deserialize");
            continue;
        }
        if t.starts_with("pub struct ") && t.ends_with('{') {
            in_struct = derive_de;
            attrs.clear();
            continue;
        }
        if in_struct && t == "}" {
            in_struct = false;
            continue;
        }
        if !in_struct {
            continue;
        }
        if t.starts_with("#[serde(") {
            attrs.push(t);
            continue;
        }
        if let Some(rest) = t.strip_prefix("pub ") {
            let name = rest.split(':').next().unwrap_or("").trim();
            let skip = attrs
                .iter()
                .any(|a| a.contains("skip)") || a.contains("skip,"));
            let renamed = attrs.iter().find_map(|a| {
                let r = a.split("rename = \"").nth(1)?;
                Some(r.split('"').next()?.to_string())
            });
            if !skip {
                out.push(renamed.unwrap_or_else(|| name.to_string()));
            }
            attrs.clear();
        } else if !t.starts_with("///") && !t.is_empty() {
            attrs.clear();
        }
    }
    out
}

#[test]
fn every_configuration_key_is_in_the_reference() {
    let mut all: Vec<String> = SOURCES.iter().flat_map(|s| keys(s)).collect();
    all.sort();
    all.dedup();
    assert!(all.len() > 50, "too few keys found: {all:?}");
    for must in [
        "send_hold_time_s",
        "builtin_rules",
        "allow_as_sets",
        "router_id",
        "transit_free_asns",
        "max_bytes",
        "customer_asns",
    ] {
        assert!(
            all.iter().any(|k| k == must),
            "{must} not found in the sources"
        );
    }
    let missing: Vec<&String> = all
        .iter()
        .filter(|k| {
            ![
                format!("`{k}`"),
                format!(".{k}`"),
                format!("`[{k}]`"),
                format!("`[[{k}]]`"),
            ]
            .iter()
            .any(|form| REFERENCE.contains(form.as_str()))
        })
        .collect();
    assert!(
        missing.is_empty(),
        "keys missing from docs/config.md: {missing:?}"
    );
}
