//! `coldpotato show audit`: the compliance audit as a report an operator can
//! paste to a partner (one heading per partner, one line per check).
//!
//! Pure functions called by `super::run_show` on the CLI's own thread; no
//! tasks, channels or I/O.

use super::render::utc_time;
use super::table::{sanitize, Align, Table};
use crate::messages::views::{AuditCheck, AuditReport, PartnerAudit};

/// Placeholder for a check that applies to the partner as a whole.
const NONE: &str = "-";

/// The whole report: a title with the totals, then each partner.
pub fn render(r: &AuditReport) -> String {
    let s = &r.summary;
    let mut out = format!(
        "Peering Service compliance audit, AS{} at {} UTC\n",
        r.local_asn,
        utc_time(r.generated_at_ms)
    );
    if r.partners.is_empty() {
        out.push_str("no partners (no peering-service neighbors or registered prefixes)\n");
        return out;
    }
    out.push_str(&format!(
        "{} partner{}, {} compliant; {} pass, {} warn, {} fail\n",
        s.partners,
        if s.partners == 1 { "" } else { "s" },
        s.compliant,
        s.pass,
        s.warn,
        s.fail
    ));
    for p in &r.partners {
        out.push('\n');
        out.push_str(&partner(p));
    }
    if !r.not_checked.is_empty() {
        out.push_str("\nNot checked (a BGP speaker cannot see it): ");
        out.push_str(&r.not_checked.join("; "));
        out.push('\n');
    }
    out
}

/// `show audit`'s exit status: 1 when any check fails, else 2 with
/// `strict` when any warns, else 0.
pub fn exit_status(r: &AuditReport, strict: bool) -> u8 {
    let fail = r.partners.iter().any(|p| p.fail > 0 || !p.compliant);
    let warn = r.partners.iter().any(|p| p.warn > 0);
    match (fail, warn && strict) {
        (true, _) => 1,
        (false, true) => 2,
        (false, false) => 0,
    }
}

/// One partner: heading, what it has, then its checks as an aligned table.
pub fn partner(p: &PartnerAudit) -> String {
    let verdict = if p.compliant {
        "COMPLIANT"
    } else {
        "NOT COMPLIANT"
    };
    let mut out = format!(
        "AS{}: {verdict} ({} pass, {} warn, {} fail)\n",
        p.peer_asn, p.pass, p.warn, p.fail
    );
    out.push_str(&format!(
        "  sessions: {}\n  locations: {}\n  registered prefixes: {}\n",
        list(&p.sessions),
        list(&p.locations),
        list(&p.prefixes)
    ));
    let mut t = Table::new(&[
        ("STATUS", Align::Left),
        ("REQUIREMENT", Align::Left),
        ("WHERE", Align::Left),
        ("MESSAGE", Align::Left),
    ]);
    for c in &p.checks {
        t.row(vec![
            c.status.label().to_string(),
            c.requirement.clone(),
            scope(c),
            c.message.clone(),
        ]);
    }
    out.push_str(&t.render());
    out
}

/// `prefix location session`, whichever the check names.
fn scope(c: &AuditCheck) -> String {
    let parts: Vec<&str> = [&c.prefix, &c.location, &c.neighbor]
        .into_iter()
        .filter_map(|x| x.as_deref())
        .collect();
    if parts.is_empty() {
        NONE.to_string()
    } else {
        parts.join(" ")
    }
}

/// Names joined by commas (sanitised: names come from config and peers).
fn list(v: &[String]) -> String {
    if v.is_empty() {
        "none".to_string()
    } else {
        sanitize(&v.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::messages::views::{AuditStatus, AuditSummary};

    fn check(
        requirement: &str,
        status: AuditStatus,
        message: &str,
        prefix: Option<&str>,
        location: Option<&str>,
        neighbor: Option<&str>,
    ) -> AuditCheck {
        AuditCheck {
            requirement: requirement.into(),
            status,
            message: message.into(),
            prefix: prefix.map(str::to_string),
            location: location.map(str::to_string),
            neighbor: neighbor.map(str::to_string),
        }
    }

    fn sample() -> AuditReport {
        use AuditStatus::{Fail, Pass, Warn};
        let checks = vec![
            check(
                "public-asn",
                Pass,
                "partner ASN 3320 is public",
                None,
                None,
                None,
            ),
            check(
                "local-redundancy",
                Fail,
                "fewer than two sessions in location fra (dt-fra-1)",
                None,
                Some("fra"),
                None,
            ),
            check(
                "bfd",
                Warn,
                "BFD AdminDown on session dt-fra-1",
                None,
                Some("fra"),
                Some("dt-fra-1"),
            ),
            check(
                "prefix-received",
                Fail,
                "prefix not received on session dt-ams-2",
                Some("203.0.113.0/24"),
                Some("ams"),
                Some("dt-ams-2"),
            ),
        ];
        AuditReport {
            generated_at_ms: 1_795_307_976_123,
            local_asn: 8075,
            summary: AuditSummary {
                partners: 1,
                compliant: 0,
                pass: 1,
                warn: 1,
                fail: 2,
            },
            partners: vec![PartnerAudit {
                peer_asn: 3320,
                compliant: false,
                pass: 1,
                warn: 1,
                fail: 2,
                locations: vec!["ams".into(), "fra".into()],
                sessions: vec!["dt-ams-1".into(), "dt-ams-2".into(), "dt-fra-1".into()],
                prefixes: vec!["203.0.113.0/24".into()],
                checks,
            }],
            not_checked: Vec::new(),
        }
    }

    #[test]
    fn audit_report_has_a_heading_per_partner_and_one_line_per_check() {
        let want = "\
Peering Service compliance audit, AS8075 at 2026-11-22 00:39:36.123 UTC
1 partner, 0 compliant; 1 pass, 1 warn, 2 fail

AS3320: NOT COMPLIANT (1 pass, 1 warn, 2 fail)
  sessions: dt-ams-1, dt-ams-2, dt-fra-1
  locations: ams, fra
  registered prefixes: 203.0.113.0/24
STATUS  REQUIREMENT       WHERE                        MESSAGE
PASS    public-asn        -                            partner ASN 3320 is public
FAIL    local-redundancy  fra                          fewer than two sessions in location fra (dt-fra-1)
WARN    bfd               fra dt-fra-1                 BFD AdminDown on session dt-fra-1
FAIL    prefix-received   203.0.113.0/24 ams dt-ams-2  prefix not received on session dt-ams-2
";
        assert_eq!(render(&sample()), want);
    }

    #[test]
    fn the_exit_status_is_1_on_a_failure_and_2_on_a_warning_with_strict() {
        let mut r = sample();
        assert_eq!((exit_status(&r, false), exit_status(&r, true)), (1, 1));
        let p = &mut r.partners[0];
        (p.fail, p.compliant) = (0, true);
        assert_eq!((exit_status(&r, false), exit_status(&r, true)), (0, 2));
        r.partners[0].warn = 0;
        assert_eq!((exit_status(&r, false), exit_status(&r, true)), (0, 0));
        r.not_checked = vec!["LACP".into(), "firewalls".into()];
        assert!(
            render(&r).ends_with("\nNot checked (a BGP speaker cannot see it): LACP; firewalls\n")
        );
    }

    #[test]
    fn an_audit_without_partners_says_so() {
        let mut r = sample();
        r.partners.clear();
        r.summary = AuditSummary::default();
        let out = render(&r);
        assert!(
            out.ends_with("no partners (no peering-service neighbors or registered prefixes)\n"),
            "{out}"
        );
    }

    #[test]
    fn a_compliant_partner_heading_says_compliant() {
        let mut r = sample();
        r.partners[0].compliant = true;
        assert!(render(&r).contains("\nAS3320: COMPLIANT ("));
    }

    #[test]
    fn peer_controlled_text_cannot_inject_control_characters() {
        let mut r = sample();
        r.partners[0].sessions = vec!["evil\x1b[2J".into()];
        r.partners[0].checks[0].message = "line\nbreak".into();
        let out = render(&r);
        assert!(
            !out.contains('\x1b') && out.contains("line\\nbreak"),
            "{out}"
        );
    }
}
