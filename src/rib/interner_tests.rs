//! The interner's tests: sharing, freeing and reclaiming, derived sets,
//! sets packed by a session task, and a model check of reference counts.

use super::*;
use crate::decision::PathRank;
use crate::wire::AsPath;

fn attrs(asn: u32) -> PathAttributes {
    PathAttributes {
        as_path: Some(AsPath::from_sequence(vec![asn])),
        ..Default::default()
    }
}

#[test]
fn equal_sets_share_one_index() {
    let mut i = Interner::new();
    let a = i.intern(attrs(1));
    let b = i.intern(attrs(1));
    let c = i.intern(attrs(2));
    assert_eq!(a, b);
    assert_ne!(a, c);
    assert_eq!(i.len(), 2);
    assert_eq!(i.refs(a), 2);
    assert_eq!(i.get(c).as_deref(), Some(&attrs(2)));
}

#[test]
fn a_set_kept_decoded_is_read_in_place_and_handed_out_without_unpacking() {
    let mut i = Interner::new();
    let id = i.intern_ref(&attrs(1));
    let kept = attrs(1);
    let buffer = |a: &PathAttributes| a.as_path.as_ref().map(|p| p.segments.as_ptr());
    let ptr = buffer(&kept);
    i.keep_decoded(id, kept);
    assert_eq!(i.intern(attrs(1)), id, "the same set as interned packed");
    // `with` reads the kept set itself, in place (its AS path's buffer).
    assert_eq!(i.with(id, buffer), Some(ptr));
    assert_eq!(i.with(id, |a| a.clone()), Some(attrs(1)));
    let got = i.get(id).expect("live");
    assert!(
        Arc::ptr_eq(&got, &i.get(id).expect("live")),
        "one cached copy"
    );
    assert_eq!(i.refs(id), 2);
    // A set no one holds is not kept, nor read.
    i.release(id);
    i.release(id);
    i.keep_decoded(id, attrs(1));
    assert_eq!(i.with(id, |_| ()), None);
    assert!(i.get(id).is_none());
}

#[test]
fn a_set_packed_elsewhere_is_the_same_set_and_its_bytes_are_kept() {
    let mut i = Interner::new();
    let one = attrs(1);
    let set = packed_set(&one);
    let ptr = set.bytes.as_ptr();
    let id = i.intern_packed(set);
    assert_eq!(
        Interner::bytes(&i.slots, id).as_ptr(),
        ptr,
        "a new set keeps the bytes it was handed"
    );
    assert_eq!(i.intern(attrs(1)), id, "found by the interner's own hash");
    assert_eq!(i.intern_packed(packed_set(&one)), id);
    assert_eq!(i.refs(id), 3);
    let two = attrs(2);
    let other = i.intern_packed(packed_set(&two));
    assert_ne!(other, id);
    assert_eq!(i.get(other).as_deref(), Some(&two));
    assert_eq!(i.with(other, |a| a.clone()), Some(two));
}

#[test]
fn last_release_frees_the_set_and_reuses_its_slot() {
    let mut i = Interner::new();
    let a = i.intern(attrs(1));
    // Unpacked into the cache, then freed: the cache must not serve it again.
    assert_eq!(i.get(a).as_deref(), Some(&attrs(1)));
    i.release(a);
    assert!(i.get(a).is_none());
    assert!(i.is_empty());
    assert_eq!(i.dying(), 1);
    i.reclaim();
    assert_eq!(i.dying(), 0);
    let b = i.intern(attrs(3));
    assert_eq!(a, b);
    assert_eq!(
        i.get(b)
            .and_then(|x| x.as_path.as_ref().and_then(|p| p.origin_as())),
        Some(3)
    );
}

#[test]
fn a_freed_set_can_be_interned_again_and_found() {
    let mut i = Interner::new();
    let a = i.intern(attrs(1));
    let b = i.intern(attrs(2));
    i.release(a);
    let c = i.intern(attrs(1));
    assert_eq!(i.intern(attrs(1)), c);
    assert_eq!(i.intern(attrs(2)), b);
    assert_eq!(i.len(), 2);
    assert_eq!(i.refs(c), 2);
}

#[test]
fn the_index_finds_every_set_after_growing_and_after_freeing() {
    // Enough sets for the lookup table to grow many times: it grows from
    // the hash half it keeps, never from the sets.
    let mut i = Interner::new();
    let ids: Vec<AttrId> = (0..20_000).map(|n| i.intern(attrs(n))).collect();
    assert_eq!(i.len(), 20_000);
    for (n, &id) in (0..).zip(&ids) {
        assert_eq!(i.intern(attrs(n)), id, "set {n} found again");
        assert_eq!(i.get(id).as_deref(), Some(&attrs(n)));
    }
    // Every odd set freed twice over (two references) and reclaimed: the
    // even ones are still found, the odd ones are new sets in reused slots.
    for &id in ids.iter().skip(1).step_by(2) {
        i.release(id);
        i.release(id);
    }
    i.reclaim();
    assert_eq!(i.len(), 10_000);
    for (n, &id) in (0..).zip(&ids).step_by(2) {
        assert_eq!(i.intern(attrs(n)), id);
    }
    let again = i.intern(attrs(1));
    assert_eq!(i.len(), 10_001);
    assert_eq!(i.intern(attrs(1)), again);
}

#[test]
fn a_dead_set_interned_again_comes_back_with_its_id_until_reclaimed() {
    let mut i = Interner::new();
    let base = i.intern(attrs(1));
    let d = i.intern_derived(base, Some(100), None).unwrap();
    i.release(d);
    i.release(base);
    assert!(i.is_empty());
    assert!(i.get(d).is_none() && i.get(base).is_none());
    // Back before the reclaim: the same ids, the derived set still on
    // its base.
    assert_eq!(i.intern(attrs(1)), base);
    assert_eq!(i.intern_derived(base, Some(100), None), Some(d));
    assert_eq!((i.refs(base), i.refs(d)), (2, 1));
    i.reclaim();
    assert_eq!(i.len(), 2, "nothing live is freed");
    i.release(d);
    assert_eq!(
        i.refs(base),
        1,
        "a dead derived set no longer holds its base"
    );
    i.release(d); // one too many: ignored
    i.release(base);
    assert!(i.is_empty());
    i.reclaim();
    assert!(i.is_empty());
    assert_eq!(i.dying(), 0);
    // Both places are reused: the whole set's slot by a whole set, the
    // derived set's entry by a derived set.
    let a = i.intern(attrs(5));
    assert_eq!(a, base);
    let b = i.intern(attrs(6));
    assert_eq!(i.intern_derived(b, Some(1), None), Some(d));
    assert_eq!(i.len(), 3);
}

#[test]
fn ids_sharing_a_cache_entry_do_not_mix() {
    let mut i = Interner::new();
    let ids: Vec<AttrId> = (0..(CACHE as u32 + 2))
        .map(|n| i.intern(attrs(n)))
        .collect();
    for (n, &id) in ids.iter().enumerate().rev() {
        assert_eq!(i.get(id).as_deref(), Some(&attrs(n as u32)));
    }
    assert_eq!(i.get(ids[0]).as_deref(), Some(&attrs(0)));
    assert_eq!(i.get(ids[CACHE]).as_deref(), Some(&attrs(CACHE as u32)));
}

#[test]
fn a_derived_set_is_its_base_with_two_values_replaced_and_keeps_it_alive() {
    let mut i = Interner::new();
    let base = i.intern(attrs(1));
    let d = i.intern_derived(base, Some(100), Some(64500)).unwrap();
    assert_ne!(d, base);
    let mut want = attrs(1);
    want.local_pref = Some(100);
    want.only_to_customer = Some(64500);
    assert_eq!(i.get(d).as_deref(), Some(&want));
    // The same derivation is the same set; derived from a derived set
    // it refers to the whole one.
    assert_eq!(i.intern_derived(base, Some(100), Some(64500)), Some(d));
    let d2 = i.intern_derived(d, Some(200), None).unwrap();
    want.local_pref = Some(200);
    want.only_to_customer = None;
    assert_eq!(i.get(d2).as_deref(), Some(&want));
    assert_eq!(i.refs(base), 3, "one for the caller, one per derived set");
    // Changing nothing is the base itself.
    assert_eq!(i.intern_derived(base, None, None), Some(base));
    assert_eq!(i.refs(base), 4);
    i.release(base);
    i.release(base);
    i.release(d2);
    assert_eq!(i.refs(base), 1, "held by the derived set only");
    assert_eq!(i.get(base).as_deref(), Some(&attrs(1)));
    i.release(d);
    assert_eq!(i.refs(d), 1);
    i.release(d);
    assert!(i.is_empty(), "the last derived set frees its base");
    assert!(i.intern_derived(base, Some(1), None).is_none());
}

#[test]
fn a_derived_set_and_an_equal_whole_set_are_both_served_right() {
    let mut i = Interner::new();
    let base = i.intern(attrs(7));
    let d = i.intern_derived(base, Some(100), None).unwrap();
    let mut whole = attrs(7);
    whole.local_pref = Some(100);
    let w = i.intern(whole.clone());
    // Two ids for one set (the diff then re-sends it once): both read
    // back as the same attributes.
    assert_eq!(i.get(d), i.get(w));
    assert_eq!(i.get(w).as_deref(), Some(&whole));
}

proptest::proptest! {
    /// The interner behaves like a reference-counted multiset of sets.
    #[test]
    fn matches_a_counting_model(ops in proptest::collection::vec((0u8..5, 0u32..6), 1..200)) {
        let mut i = Interner::new();
        let mut model: std::collections::HashMap<u32, (AttrId, u32)> = Default::default();
        for (op, n) in ops {
            if op == 4 {
                i.reclaim();
            } else if op < 2 {
                let id = i.intern(attrs(n));
                let e = model.entry(n).or_insert((id, 0));
                proptest::prop_assert_eq!(e.0, id);
                e.1 += 1;
            } else if let Some(e) = model.get_mut(&n) {
                i.release(e.0);
                e.1 -= 1;
                if e.1 == 0 {
                    model.remove(&n);
                }
            }
        }
        proptest::prop_assert_eq!(i.len(), model.len());
        for (n, (id, refs)) in &model {
            proptest::prop_assert_eq!(i.refs(*id), *refs);
            let got = i.get(*id);
            proptest::prop_assert_eq!(got.as_deref(), Some(&attrs(*n)));
        }
    }
}

#[test]
fn the_decisions_view_of_a_set_is_read_from_its_bytes_or_the_cache() {
    let mut i = Interner::new();
    let mut a = attrs(64500);
    a.med = Some(7);
    a.local_pref = Some(50);
    let whole = i.intern(a.clone());
    // Not in the cache: read from the bytes.
    assert_eq!(i.rank(whole), Some(PathRank::of(&a)));
    // In the cache: the same.
    assert!(i.get(whole).is_some());
    assert_eq!(i.rank(whole), Some(PathRank::of(&a)));
    // A derived set: its base's view with its own LOCAL_PREF.
    let derived = i
        .intern_derived(whole, Some(300), Some(64500))
        .expect("live");
    assert_ne!(derived, whole);
    let mut with_lp = a.clone();
    with_lp.local_pref = Some(300);
    assert_eq!(i.rank(derived), Some(PathRank::of(&with_lp)));
    // Gone with its last reference.
    i.release(derived);
    assert_eq!(i.rank(derived), None);
}

proptest::proptest! {
    /// Whole and derived sets together behave like reference-counted
    /// multisets in which each live derived set holds one reference on its
    /// base, across reclaims (which reuse ids) and deaths and returns.
    #[test]
    fn derived_sets_match_a_counting_model(
        ops in proptest::collection::vec((0u8..6, 0u32..4, 0u32..3), 1..300),
    ) {
        let mut i = Interner::new();
        // base n -> (id, the caller's references)
        let mut bases: std::collections::HashMap<u32, (AttrId, u32)> = Default::default();
        // (base n, LOCAL_PREF) -> (id, the caller's references)
        let mut derived: std::collections::HashMap<(u32, u32), (AttrId, u32)> = Default::default();
        let held_by_derived = |derived: &std::collections::HashMap<(u32, u32), (AttrId, u32)>, n: u32| {
            derived.keys().filter(|(b, _)| *b == n).count() as u32
        };
        for (op, n, lp) in ops {
            match op {
                0 => {
                    let id = i.intern(attrs(n));
                    let e = bases.entry(n).or_insert((id, 0));
                    proptest::prop_assert_eq!(e.0, id);
                    e.1 += 1;
                }
                1 => {
                    if let Some(e) = bases.get_mut(&n).filter(|e| e.1 > 0) {
                        i.release(e.0);
                        e.1 -= 1;
                    }
                }
                2 => {
                    let Some(&(base, _)) = bases.get(&n) else { continue };
                    let live = bases[&n].1 + held_by_derived(&derived, n) > 0;
                    let got = i.intern_derived(base, Some(lp), Some(n));
                    if !live {
                        proptest::prop_assert_eq!(got, None);
                        continue;
                    }
                    let id = got.expect("a live base");
                    proptest::prop_assert!(id != base);
                    let e = derived.entry((n, lp)).or_insert((id, 0));
                    proptest::prop_assert_eq!(e.0, id);
                    e.1 += 1;
                }
                3 => {
                    if let Some(e) = derived.get_mut(&(n, lp)) {
                        i.release(e.0);
                        e.1 -= 1;
                        if e.1 == 0 {
                            derived.remove(&(n, lp));
                        }
                    }
                }
                _ => i.reclaim(),
            }
            // A base no one holds is gone (after a reclaim its id may be reused).
            bases.retain(|n, e| e.1 + held_by_derived(&derived, *n) > 0);
        }
        proptest::prop_assert_eq!(i.len(), bases.len() + derived.len());
        for (&(n, lp), &(id, refs)) in &derived {
            proptest::prop_assert_eq!(i.refs(id), refs);
            let mut want = attrs(n);
            want.local_pref = Some(lp);
            want.only_to_customer = Some(n);
            let got = i.get(id);
            proptest::prop_assert_eq!(got.as_deref(), Some(&want));
            proptest::prop_assert_eq!(i.rank(id), Some(PathRank::of(&want)));
        }
        for (&n, &(id, refs)) in &bases {
            proptest::prop_assert_eq!(i.refs(id), refs + held_by_derived(&derived, n));
            let got = i.get(id);
            proptest::prop_assert_eq!(got.as_deref(), Some(&attrs(n)));
        }
    }
}
