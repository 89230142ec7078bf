//! Safe by default on eBGP (issue 16), end to end with a real peer: Debian's
//! ExaBGP on a `transit` neighbor with no policy announces bogon prefixes,
//! a path with a private ASN, a path with an AS_SET (RFC 9774), a /25 and a
//! normal route; only the normal route reaches the internal neighbor (a raw
//! speaker that records what we export), and `coldpotato show routes
//! --prefix` names each rejection. Then the same peer on a neighbor with
//! `builtin_rules = false` and no policy: RFC 8212 — nothing imported,
//! nothing exported (not even our originated prefix), and `check` warned.

mod common;

use coldpotato::wire::Prefix;
use common::exabgp::ExaBgp;
use common::speaker::Speaker;
use common::*;
use std::net::{Ipv4Addr, SocketAddr};
use std::process::Command;
use std::time::Duration;

const OUR_AS: u32 = 8075;
const PEER_AS: u32 = 3356;
const EXA: &str = "127.0.0.83";
const IBGP: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 84);
const ORIGINATED: &str = "45.60.0.0/24";

/// (prefix, ExaBGP route attributes, rule that must reject it or None).
const ROUTES: [(&str, &str, Option<&str>); 7] = [
    ("8.8.8.0/24", "as-path [ 3356 15169 ]", None),
    ("10.0.0.0/8", "as-path [ 3356 64512 ]", Some("bogon")),
    ("100.64.0.0/10", "as-path [ 3356 15169 ]", Some("bogon")),
    ("192.88.99.0/24", "as-path [ 3356 15169 ]", Some("bogon")),
    (
        "9.9.9.0/24",
        "as-path [ 3356 65001 19281 ]",
        Some("private-asn"),
    ),
    (
        "1.1.1.0/24",
        "as-path [ 3356 ( 13335 13336 ) ]",
        Some("as-set"),
    ),
    ("8.8.4.0/25", "as-path [ 3356 15169 ]", Some("too-specific")),
];

fn config(port: u16, api: u16, builtin_rules: bool) -> DaemonConfig {
    let rules = if builtin_rules {
        ""
    } else {
        "builtin_rules = false"
    };
    DaemonConfig::new(OUR_AS, port, api)
        .neighbor(
            &Neighbor::new("exa", EXA, PEER_AS, "transit")
                .passive()
                .ipv4()
                .with(rules),
        )
        .neighbor(
            &Neighbor::new("ibgp", &IBGP.to_string(), OUR_AS, "internal")
                .passive()
                .ipv4(),
        )
        .originate(ORIGINATED)
}

fn exabgp(port: u16) -> ExaBgp {
    let routes: Vec<String> = ROUTES
        .iter()
        .map(|(p, attrs, _)| format!("{p} next-hop {EXA} {attrs}"))
        .collect();
    let refs: Vec<&str> = routes.iter().map(String::as_str).collect();
    ExaBgp::start_in(
        None,
        &ExaBgp::neighbor_config(EXA, "127.0.0.1", port, PEER_AS, OUR_AS, "ipv4", &refs),
    )
}

fn advertised(d: &Daemon, neighbor: &str) -> f64 {
    metric_sum(
        d.api,
        "coldpotato_prefixes_advertised",
        &[&format!("neighbor=\"{neighbor}\"")],
    )
}

fn show_routes(d: &Daemon, prefix: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_coldpotato"))
        .args(["show", "routes", "--prefix", prefix, "--api"])
        .arg(d.api.to_string())
        .output()
        .expect("coldpotato show runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn up(d: &Daemon, exa: &ExaBgp) {
    for n in ["ibgp", "exa"] {
        assert!(
            d.wait_state(n, "Established", Duration::from_secs(60)),
            "{n} not Established\n{}\n--- exabgp\n{}",
            d.log(),
            exa.log()
        );
    }
}

#[test]
fn a_transit_without_policy_passes_only_clean_routes_and_rfc_8212_stops_a_bare_one() {
    if !need(&["exabgp"], false) {
        return;
    }
    // 1. Built-in rules on (the default): transit hygiene and RFC 9774.
    let (port, api) = (free_port(), free_port());
    let d = config(port, api, true).start();
    let daemon = SocketAddr::from(([127, 0, 0, 1], port));
    let ibgp = Speaker::connect(IBGP, daemon, OUR_AS).expect("ibgp connects");
    let exa = exabgp(port);
    up(&d, &exa);
    let all_in = wait_for(Duration::from_secs(30), || {
        let n = d.neighbor("exa")?;
        (n["prefixes_received"].as_u64()? == ROUTES.len() as u64).then_some(())
    });
    assert!(all_in.is_some(), "{:?}\n{}", d.neighbor("exa"), exa.log());
    let normal: Prefix = "8.8.8.0/24".parse().expect("prefix");
    let got = wait_for(Duration::from_secs(10), || {
        ibgp.announced()
            .iter()
            .any(|(p, _)| *p == normal)
            .then_some(())
    });
    assert!(got.is_some(), "{:?}", ibgp.messages());
    std::thread::sleep(Duration::from_millis(500));
    let ours: Prefix = ORIGINATED.parse().expect("prefix");
    let learned = |s: &Speaker| -> Vec<Prefix> {
        s.announced()
            .into_iter()
            .map(|(p, _)| p)
            .filter(|p| *p != ours)
            .collect()
    };
    assert_eq!(
        learned(&ibgp),
        vec![normal],
        "only the normal route is exported"
    );
    for (prefix, _, rule) in ROUTES {
        let text = show_routes(&d, prefix);
        match rule {
            None => assert!(text.contains("accepted"), "{prefix}:\n{text}"),
            Some(rule) => assert!(
                text.contains("rejected") && text.contains(rule),
                "{prefix} must be rejected by {rule}:\n{text}"
            ),
        }
    }
    assert_eq!(advertised(&d, "exa"), 1.0, "our prefix goes to the transit");
    drop(exa);
    drop(d);

    // 2. builtin_rules = false and no policy: RFC 8212.
    let (port, api) = (free_port(), free_port());
    let cfg = config(port, api, false);
    let text = cfg.to_string();
    let file = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(file.path(), &text).expect("write");
    let check = Command::new(env!("CARGO_BIN_EXE_coldpotato"))
        .args(["check", "--config"])
        .arg(file.path())
        .output()
        .expect("check runs");
    let warned = String::from_utf8_lossy(&check.stderr).into_owned();
    assert!(check.status.success(), "{warned}");
    assert!(
        warned.contains("warning:") && warned.contains("\"exa\"") && warned.contains("RFC 8212"),
        "check must warn: {warned}"
    );
    let d = cfg.start();
    let daemon = SocketAddr::from(([127, 0, 0, 1], port));
    let ibgp = Speaker::connect(IBGP, daemon, OUR_AS).expect("ibgp connects");
    let exa = exabgp(port);
    up(&d, &exa);
    let all_in = wait_for(Duration::from_secs(30), || {
        let n = d.neighbor("exa")?;
        (n["prefixes_received"].as_u64()? == ROUTES.len() as u64).then_some(n)
    });
    let n = all_in.unwrap_or_else(|| panic!("{:?}\n{}", d.neighbor("exa"), exa.log()));
    assert_eq!(n["prefixes_accepted"], 0, "{n:?}");
    std::thread::sleep(Duration::from_millis(1000));
    assert!(
        learned(&ibgp).is_empty(),
        "nothing imported, so nothing for the internal neighbor: {:?}",
        ibgp.announced()
    );
    assert_eq!(
        advertised(&d, "exa"),
        0.0,
        "nothing exported, not even ours"
    );
    let text = show_routes(&d, "8.8.8.0/24");
    assert!(text.contains("no-policy"), "{text}");
    note(&format!(
        "transit hygiene: {} routes from ExaBGP on a transit, 1 exported; bare eBGP: 0 in, 0 out, check warned",
        ROUTES.len()
    ));
}
