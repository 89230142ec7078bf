//! Compilation of `[policy.NAME]` definitions into matchers and actions, and
//! their evaluation on one route. Pure; errors carry the key path of the
//! offending value so `config` can point at it.

use super::parse::{parse_prefix_entry, PrefixEntry};
use super::{PolicyError, Rejection, RouteContext, Verdict};
use crate::config::values::{parse_community, parse_large_community};
use crate::config::{DefaultAction, PathSeg, PolicyDef, Role, RuleAction, RuleDef};
use crate::wire::{AsPath, Community, LargeCommunity, PathAttributes};
use std::collections::HashSet;

/// Most prepends one rule may add.
pub const MAX_PREPEND: u8 = 16;

/// Names the compiler checks `match.neighbor` and `match.location` against.
#[derive(Debug, Default, Clone, Copy)]
pub struct KnownNames<'a> {
    pub neighbors: &'a [String],
    pub locations: &'a [String],
}

/// One compiled rule.
#[derive(Debug, Clone)]
struct Rule {
    /// `POLICY/RULE`: the rejection's stable rule label (shared by every
    /// route it rejects).
    label: super::Rule,
    reason: String,
    prefix: Vec<PrefixEntry>,
    community: Vec<Community>,
    no_community: Vec<Community>,
    large_community: Vec<LargeCommunity>,
    len_min: Option<u32>,
    len_max: Option<u32>,
    as_path_contains: Vec<u32>,
    origin_as: Vec<u32>,
    neighbor: Vec<String>,
    role: Vec<Role>,
    location: Vec<String>,
    rpki: Vec<crate::rpki::RpkiState>,
    set: Set,
    action: RuleAction,
}

#[derive(Debug, Clone, Default, PartialEq)]
struct Set {
    local_pref: Option<u32>,
    med: Option<u32>,
    add_community: Vec<Community>,
    remove_community: Vec<Community>,
    add_large: Vec<LargeCommunity>,
    remove_large: Vec<LargeCommunity>,
    prepend: u8,
}

/// A compiled named policy.
#[derive(Debug, Clone)]
pub struct Policy {
    name: String,
    default: DefaultAction,
    /// The default reject's rule (`POLICY/default`), made once.
    default_rule: super::Rule,
    rules: Vec<Rule>,
}

/// Collects compile errors with the key path of each.
struct Errs<'p> {
    base: &'p [PathSeg],
    out: Vec<PolicyError>,
}

impl Errs<'_> {
    fn push(&mut self, rel: &[PathSeg], message: String) {
        let mut path = self.base.to_vec();
        path.extend_from_slice(rel);
        self.out.push(PolicyError { message, path });
    }

    fn list<T>(
        &mut self,
        rel: &[PathSeg],
        items: &[String],
        f: impl Fn(&str) -> Result<T, String>,
    ) -> Vec<T> {
        let mut v = Vec::new();
        for (i, s) in items.iter().enumerate() {
            match f(s) {
                Ok(x) => v.push(x),
                Err(m) => {
                    let mut p = rel.to_vec();
                    p.push(PathSeg::Index(i));
                    self.push(&p, m);
                }
            }
        }
        v
    }
}

fn key(k: &str) -> PathSeg {
    PathSeg::Key(k.to_string())
}

impl Policy {
    /// Compiles `def` (found at `base` in its file), checking names against `known`.
    pub fn compile(
        name: &str,
        def: &PolicyDef,
        base: &[PathSeg],
        known: KnownNames,
    ) -> Result<Policy, Vec<PolicyError>> {
        let mut errs = Errs {
            base,
            out: Vec::new(),
        };
        let mut seen = HashSet::new();
        let mut rules = Vec::new();
        for (i, r) in def.rules.iter().enumerate() {
            let at = [key("rule"), PathSeg::Index(i)];
            if !seen.insert(r.name.as_str()) {
                errs.push(
                    &[at[0].clone(), at[1].clone(), key("name")],
                    format!("duplicate rule name \"{}\" in policy \"{name}\"", r.name),
                );
            }
            rules.push(compile_rule(name, r, &at, known, &mut errs));
        }
        if errs.out.is_empty() {
            Ok(Policy {
                name: name.to_string(),
                default: def.default,
                default_rule: super::Rule::Policy(format!("{name}/default").into()),
                rules,
            })
        } else {
            Err(errs.out)
        }
    }

    /// The policy's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Evaluates the rules in order on `ctx`; `our_asn` is prepended by `set.prepend`.
    pub fn eval(&self, ctx: &RouteContext, our_asn: u32) -> Verdict {
        let mut changed: Option<PathAttributes> = None;
        for rule in &self.rules {
            let attrs = changed.as_ref().unwrap_or(ctx.attrs);
            if !rule.matches(ctx, attrs) {
                continue;
            }
            if rule.set != Set::default() {
                let mut a = changed.take().unwrap_or_else(|| ctx.attrs.clone());
                rule.set.apply(&mut a, our_asn);
                changed = Some(a);
            }
            match rule.action {
                RuleAction::Next => continue,
                RuleAction::Accept => return Verdict::Accept(changed),
                RuleAction::Internet => return Verdict::Internet(changed),
                RuleAction::Reject => {
                    return Verdict::Reject(Rejection {
                        rule: rule.label.clone(),
                        reason: rule.reason.clone(),
                    })
                }
            }
        }
        match self.default {
            DefaultAction::Accept => Verdict::Accept(changed),
            DefaultAction::Reject => Verdict::Reject(Rejection {
                rule: self.default_rule.clone(),
                reason: format!(
                    "no rule of policy \"{}\" accepted the route (default reject)",
                    self.name
                ),
            }),
        }
    }
}

fn compile_rule(
    policy: &str,
    r: &RuleDef,
    at: &[PathSeg],
    known: KnownNames,
    errs: &mut Errs,
) -> Rule {
    let p = |k: &[&str]| -> Vec<PathSeg> {
        let mut v = at.to_vec();
        v.extend(k.iter().map(|s| key(s)));
        v
    };
    let m = &r.matches;
    let prefix = errs.list(&p(&["match", "prefix"]), &m.prefix, parse_prefix_entry);
    let community = errs.list(&p(&["match", "community"]), &m.community, parse_community);
    let no_community = errs.list(
        &p(&["match", "no_community"]),
        &m.no_community,
        parse_community,
    );
    let large_community = errs.list(
        &p(&["match", "large_community"]),
        &m.large_community,
        parse_large_community,
    );
    let (len_min, len_max) = m.as_path_len.map_or((None, None), |l| (l.min, l.max));
    if let (Some(lo), Some(hi)) = (len_min, len_max) {
        if lo > hi {
            errs.push(
                &p(&["match", "as_path_len"]),
                format!("as_path_len: min {lo} is greater than max {hi}"),
            );
        }
    }
    let check_names = |errs: &mut Errs, what: &str, names: &[String], known: &[String]| {
        for (i, n) in names.iter().enumerate() {
            if !known.iter().any(|k| k == n) {
                let mut path = p(&["match", what]);
                path.push(PathSeg::Index(i));
                errs.push(&path, format!("unknown {what} \"{n}\""));
            }
        }
    };
    check_names(errs, "neighbor", &m.neighbor, known.neighbors);
    check_names(errs, "location", &m.location, known.locations);
    let s = &r.set;
    let set = Set {
        local_pref: s.local_pref,
        med: s.med,
        add_community: errs.list(
            &p(&["set", "add_community"]),
            &s.add_community,
            parse_community,
        ),
        remove_community: errs.list(
            &p(&["set", "remove_community"]),
            &s.remove_community,
            parse_community,
        ),
        add_large: errs.list(
            &p(&["set", "add_large_community"]),
            &s.add_large_community,
            parse_large_community,
        ),
        remove_large: errs.list(
            &p(&["set", "remove_large_community"]),
            &s.remove_large_community,
            parse_large_community,
        ),
        prepend: s.prepend.unwrap_or(0),
    };
    if let Some(n) = s.prepend {
        if n == 0 || n > MAX_PREPEND {
            errs.push(
                &p(&["set", "prepend"]),
                format!("prepend must be 1..={MAX_PREPEND}, not {n}"),
            );
        }
    }
    match r.action {
        RuleAction::Reject if !s.is_empty() => errs.push(
            &p(&["set"]),
            "set has no effect when action = \"reject\"".to_string(),
        ),
        RuleAction::Accept | RuleAction::Next | RuleAction::Internet if r.reason.is_some() => errs
            .push(
                &p(&["reason"]),
                "reason is only used with action = \"reject\"".to_string(),
            ),
        _ => {}
    }
    Rule {
        label: super::Rule::Policy(format!("{policy}/{}", r.name).into()),
        reason: r
            .reason
            .clone()
            .unwrap_or_else(|| format!("rejected by rule \"{}\" of policy \"{policy}\"", r.name)),
        prefix,
        community,
        no_community,
        large_community,
        len_min,
        len_max,
        as_path_contains: m.as_path_contains.clone(),
        origin_as: m.origin_as.clone(),
        neighbor: m.neighbor.clone(),
        role: m.role.clone(),
        location: m.location.clone(),
        rpki: m.rpki.clone(),
        set,
        action: r.action,
    }
}

impl Rule {
    fn matches(&self, ctx: &RouteContext, attrs: &PathAttributes) -> bool {
        let path = attrs.as_path.as_ref();
        (self.prefix.is_empty() || self.prefix.iter().any(|e| e.matches(&ctx.prefix)))
            && (self.community.is_empty()
                || self.community.iter().any(|c| attrs.communities.contains(c)))
            && !self
                .no_community
                .iter()
                .any(|c| attrs.communities.contains(c))
            && (self.large_community.is_empty()
                || self
                    .large_community
                    .iter()
                    .any(|c| attrs.large_communities.contains(c)))
            && (self.len_min.is_none() && self.len_max.is_none() || {
                let len = path.map_or(0, |p| p.path_len()) as u64;
                self.len_min.is_none_or(|m| len >= u64::from(m))
                    && self.len_max.is_none_or(|m| len <= u64::from(m))
            })
            && (self.as_path_contains.is_empty()
                || path.is_some_and(|p| p.all_asns().any(|a| self.as_path_contains.contains(&a))))
            && (self.origin_as.is_empty()
                || path
                    .and_then(AsPath::origin_as)
                    .is_some_and(|o| self.origin_as.contains(&o)))
            && (self.neighbor.is_empty() || self.neighbor.iter().any(|n| n == ctx.neighbor))
            && (self.role.is_empty() || self.role.contains(&ctx.role))
            && (self.location.is_empty() || self.location.iter().any(|l| l == ctx.location))
            && (self.rpki.is_empty() || ctx.rpki.is_some_and(|s| self.rpki.contains(&s)))
    }
}

impl Set {
    fn apply(&self, a: &mut PathAttributes, our_asn: u32) {
        if let Some(lp) = self.local_pref {
            a.local_pref = Some(lp);
        }
        if let Some(med) = self.med {
            a.med = Some(med);
        }
        a.communities.retain(|c| !self.remove_community.contains(c));
        for c in &self.add_community {
            if !a.communities.contains(c) {
                a.communities.push(*c);
            }
        }
        a.large_communities
            .retain(|c| !self.remove_large.contains(c));
        for c in &self.add_large {
            if !a.large_communities.contains(c) {
                a.large_communities.push(*c);
            }
        }
        if self.prepend > 0 {
            let path = a.as_path.take().unwrap_or_default();
            a.as_path = Some(path.prepended(our_asn, usize::from(self.prepend)));
        }
    }
}
