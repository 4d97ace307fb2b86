//! The culprit search: which smallest sets of variations make the outputs differ from the
//! control's. Delta debugging over the selected variations (recursive halving; where two halves
//! fail only together, each is minimised with the other as context), in their fixed order, so that a variation that breaks the build only together with another is named with
//! it (`locale + shell`), where reprotest's one-pass scan in a random order blames whichever
//! of the two it happens to add last. When one minimal set is found, the rest is built
//! without it; if that still differs, the search goes on in the rest, so independent culprits
//! are each named.
//!
//! A result that cannot be right for a deterministic build (a file differing that the all-at-
//! once experiment did not show, or a set behaving otherwise than a set it contains or is
//! contained in) is *surprising*: the control is built again, and if it no longer matches the
//! first control the build is flaky and no variation is blamed.

use std::collections::HashMap;

use super::Set;

/// What the search needs from the builds: the outputs under a set of variations, compared
/// with the first control build.
pub trait Builds {
    /// Why a build could not be made.
    type Error;
    /// Builds with `set` varied; returns the output paths that differ from the control's
    /// (empty: the same outputs).
    fn differing(&mut self, set: &Set) -> Result<Vec<String>, Self::Error>;
    /// Builds the control again; returns the paths that differ from the first control's.
    fn control_again(&mut self) -> Result<Vec<String>, Self::Error>;
}

/// One build the search made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trial {
    /// What was varied (empty: a control run again).
    pub set: Set,
    /// The differing paths.
    pub differing: Vec<String>,
    /// Whether the result was surprising (then the control was built again).
    pub surprising: bool,
}

/// A minimal set of variations that makes the outputs differ.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Culprit {
    /// The variations, all needed (removing any one gives the control's outputs).
    pub set: Set,
    /// The paths that differ when exactly these vary.
    pub differing: Vec<String>,
}

/// What the search concluded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    /// These sets, found one after the other; together they explain every difference.
    Culprits(Vec<Culprit>),
    /// The control built again differed from the first: these paths change on their own.
    Flaky(Vec<String>),
}

/// The conclusion and every build made to reach it, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Search {
    /// The conclusion.
    pub found: Found,
    /// The builds, in the order they were made.
    pub trials: Vec<Trial>,
}

struct Run<'a, B: Builds> {
    builds: &'a mut B,
    full: Vec<String>,
    memo: HashMap<Set, Vec<String>>,
    trials: Vec<Trial>,
    flaky: Option<Vec<String>>,
}

impl<B: Builds> Run<'_, B> {
    /// Whether `set` makes the outputs differ (memoised). `None` once the build is known flaky.
    fn fails(&mut self, set: &Set) -> Result<Option<bool>, B::Error> {
        if self.flaky.is_some() {
            return Ok(None);
        }
        if let Some(d) = self.memo.get(set) {
            return Ok(Some(!d.is_empty()));
        }
        let differing = self.builds.differing(set)?;
        let fails = !differing.is_empty();
        let surprising = differing.iter().any(|p| !self.full.contains(p))
            || self.memo.iter().any(|(other, d)| {
                (fails && d.is_empty() && set.is_subset(other))
                    || (!fails && !d.is_empty() && other.is_subset(set))
            });
        self.memo.insert(set.clone(), differing.clone());
        self.trials.push(Trial { set: set.clone(), differing, surprising });
        if surprising {
            let again = self.builds.control_again()?;
            let flaky = !again.is_empty();
            self.trials.push(Trial {
                set: Set::empty(),
                differing: again.clone(),
                surprising: flaky,
            });
            if flaky {
                self.flaky = Some(again);
                return Ok(None);
            }
        }
        Ok(Some(fails))
    }

    /// A minimal subset of `c` that still fails together with `ctx` (`c` + `ctx` fails, `ctx`
    /// alone does not), by recursive halving: when one half fails with the context, only that
    /// half is searched; when neither does, the two interact, and each half is minimised with
    /// the other (then with what was kept of the first) as context.
    fn minimise(&mut self, c: &Set, ctx: &Set) -> Result<Option<Set>, B::Error> {
        if c.len() <= 1 {
            return Ok(Some(c.clone()));
        }
        let halves = split(c, 2);
        for half in &halves {
            match self.fails(&union(half, ctx))? {
                None => return Ok(None),
                Some(true) => return self.minimise(half, ctx),
                Some(false) => {}
            }
        }
        let Some(a) = self.minimise(&halves[0], &union(ctx, &halves[1]))? else {
            return Ok(None);
        };
        let Some(b) = self.minimise(&halves[1], &union(ctx, &a))? else { return Ok(None) };
        Ok(Some(union(&a, &b)))
    }
}

fn union(a: &Set, b: &Set) -> Set {
    Set::of(a.items().iter().chain(b.items()).copied())
}

/// `c` cut into `n` runs of consecutive members, the first ones one longer when it does not
/// divide.
fn split(c: &Set, n: usize) -> Vec<Set> {
    let items = c.items();
    let n = n.min(items.len()).max(1);
    let mut out = Vec::with_capacity(n);
    let mut start = 0;
    for i in 0..n {
        let len = items.len() / n + usize::from(i < items.len() % n);
        out.push(Set::of(items[start..start + len].iter().copied()));
        start += len;
    }
    out
}

/// Finds the culprits among `selected`, whose all-at-once experiment gave `full` (non-empty)
/// against the control.
pub fn find_culprits<B: Builds>(
    selected: &Set,
    full: Vec<String>,
    builds: &mut B,
) -> Result<Search, B::Error> {
    let mut run = Run {
        builds,
        full: full.clone(),
        memo: HashMap::from([(selected.clone(), full)]),
        trials: Vec::new(),
        flaky: None,
    };
    let mut culprits = Vec::new();
    let mut remaining = selected.clone();
    while !remaining.is_empty() {
        let Some(c) = run.minimise(&remaining, &Set::empty())? else { break };
        let differing = run.memo.get(&c).cloned().unwrap_or_default();
        remaining = remaining.minus(&c);
        culprits.push(Culprit { set: c, differing });
        if remaining.is_empty() || run.fails(&remaining)? != Some(true) {
            break;
        }
    }
    let found = match run.flaky.take() {
        Some(files) => Found::Flaky(files),
        None => Found::Culprits(culprits),
    };
    Ok(Search { found, trials: run.trials })
}

#[cfg(test)]
mod tests {
    use super::super::Variation as V;
    use super::*;

    /// Builds whose outputs follow rules: each rule is (variations that must all vary, path).
    struct Fake {
        rules: Vec<(Vec<V>, &'static str)>,
        built: Vec<Set>,
        control_flips: bool,
    }

    impl Builds for Fake {
        type Error = ();
        fn differing(&mut self, set: &Set) -> Result<Vec<String>, ()> {
            self.built.push(set.clone());
            Ok(self
                .rules
                .iter()
                .filter(|(need, _)| need.iter().all(|v| set.has(*v)))
                .map(|(_, p)| p.to_string())
                .collect())
        }
        fn control_again(&mut self) -> Result<Vec<String>, ()> {
            self.built.push(Set::empty());
            Ok(if self.control_flips { vec!["random.txt".into()] } else { vec![] })
        }
    }

    fn search(rules: Vec<(Vec<V>, &'static str)>) -> (Search, Vec<Set>) {
        let mut f = Fake { rules, built: vec![], control_flips: false };
        let all = Set::all();
        let full = f.differing(&all).unwrap();
        f.built.clear();
        let s = find_culprits(&all, full, &mut f).unwrap();
        (s, f.built)
    }

    fn culprit_labels(s: &Search) -> Vec<String> {
        match &s.found {
            Found::Culprits(c) => c.iter().map(|c| c.set.label()).collect(),
            Found::Flaky(_) => vec!["flaky".into()],
        }
    }

    #[test]
    fn one_variation_is_named_for_each_variation() {
        for v in V::ALL {
            let (s, built) = search(vec![(vec![v], "out.txt")]);
            assert_eq!(culprit_labels(&s), [v.name()], "{v}");
            assert!(built.len() <= 10, "{v}: {} builds", built.len());
        }
    }

    /// A deterministic build surprises nobody: the control is never built again, also when
    /// the rest, after the culprit is taken out, gives the control's outputs like a part of
    /// it did before.
    #[test]
    fn a_deterministic_build_is_never_surprising() {
        for v in V::ALL {
            let (s, built) = search(vec![(vec![v], "out.txt")]);
            assert!(s.trials.iter().all(|t| !t.surprising), "{v}: {:?}", s.trials);
            assert!(!built.contains(&Set::empty()), "{v}");
        }
        let (s, built) = search(vec![(vec![V::Locale, V::Shell], "a"), (vec![V::User], "b")]);
        assert_eq!(culprit_labels(&s), ["user", "locale + shell"]);
        assert!(s.trials.iter().all(|t| !t.surprising) && !built.contains(&Set::empty()));
    }

    #[test]
    fn a_pair_that_breaks_only_together_is_named_together() {
        let (s, built) = search(vec![(vec![V::Locale, V::Shell], "list.txt")]);
        assert_eq!(culprit_labels(&s), ["locale + shell"]);
        assert!(built.len() <= 16, "{} builds", built.len());
        let (s, _) = search(vec![(vec![V::Clock, V::Timezone, V::ExecPath], "x")]);
        assert_eq!(culprit_labels(&s), ["clock + timezone + exec_path"]);
        let (s, _) = search(vec![(vec![V::Clock, V::ExecPath], "x")]);
        assert_eq!(culprit_labels(&s), ["clock + exec_path"]);
    }

    #[test]
    fn independent_culprits_are_each_named() {
        let (s, _) = search(vec![(vec![V::Timezone], "a"), (vec![V::User], "b")]);
        assert_eq!(culprit_labels(&s), ["timezone", "user"]);
        let Found::Culprits(c) = &s.found else { panic!() };
        assert_eq!(c[0].differing, ["a"]);
        assert_eq!(c[1].differing, ["b"]);
    }

    #[test]
    fn the_search_is_deterministic() {
        let rules = || vec![(vec![V::Home], "h"), (vec![V::Umask, V::Kernel], "k")];
        let (a, built_a) = search(rules());
        let (b, built_b) = search(rules());
        assert_eq!(a, b);
        assert_eq!(built_a, built_b);
        let mut labels = culprit_labels(&a);
        labels.sort();
        assert_eq!(labels, ["home", "umask + kernel"]);
    }

    #[test]
    fn a_surprise_rebuilds_the_control_and_a_flaky_build_blames_nothing() {
        // The full experiment showed one file; a subset shows another: surprising.
        let mut f = Fake {
            rules: vec![(vec![V::Clock], "a"), (vec![V::Clock], "b")],
            built: vec![],
            control_flips: true,
        };
        let s = find_culprits(&Set::all(), vec!["a".into()], &mut f).unwrap();
        assert_eq!(s.found, Found::Flaky(vec!["random.txt".into()]));
        assert!(s.trials.iter().any(|t| t.surprising && t.set.is_empty()));
        // The same surprise with a steady control: the search goes on.
        let mut f = Fake {
            rules: vec![(vec![V::Clock], "a"), (vec![V::Clock], "b")],
            built: vec![],
            control_flips: false,
        };
        let s = find_culprits(&Set::all(), vec!["a".into()], &mut f).unwrap();
        assert_eq!(culprit_labels(&s), ["clock"]);
        assert!(f.built.contains(&Set::empty()));
    }

    /// Builds whose one output differs when `rule` holds for the varied set.
    struct Rule {
        rule: fn(&Set) -> bool,
        control_flips: bool,
    }

    impl Builds for Rule {
        type Error = ();
        fn differing(&mut self, set: &Set) -> Result<Vec<String>, ()> {
            Ok(if (self.rule)(set) { vec!["a".into()] } else { vec![] })
        }
        fn control_again(&mut self) -> Result<Vec<String>, ()> {
            Ok(if self.control_flips { vec!["random.txt".into()] } else { vec![] })
        }
    }

    /// No deterministic build differs under a set of variations and not under a larger one:
    /// here timezone alone changes the output while timezone + clock did not (every file it
    /// changes is one the all-at-once experiment showed, so only the sets tell).
    #[test]
    fn a_set_that_differs_where_a_larger_one_did_not_is_surprising() {
        let rule = |s: &Set| {
            (s.has(V::Clock) && s.has(V::Locale)) || (s.has(V::Timezone) && !s.has(V::Clock))
        };
        let mut b = Rule { rule, control_flips: true };
        let s = find_culprits(&Set::all(), vec!["a".into()], &mut b).unwrap();
        assert_eq!(s.found, Found::Flaky(vec!["random.txt".into()]));
        let surprises: Vec<(String, Vec<String>)> = s
            .trials
            .iter()
            .filter(|t| t.surprising)
            .map(|t| (t.set.label(), t.differing.clone()))
            .collect();
        assert_eq!(
            surprises,
            [
                ("timezone".to_string(), vec!["a".to_string()]),
                ("none".into(), vec!["random.txt".into()])
            ]
        );
        let mut b = Rule { rule, control_flips: false };
        let s = find_culprits(&Set::all(), vec!["a".into()], &mut b).unwrap();
        assert_eq!(culprit_labels(&s), ["clock + locale", "timezone"]);
        assert_eq!(s.trials.iter().filter(|t| t.set.is_empty()).count(), 1);
    }

    #[test]
    fn split_is_even_and_ordered() {
        let s = Set::all();
        let parts = split(&s, 3);
        assert_eq!(parts.iter().map(Set::len).collect::<Vec<_>>(), [5, 5, 4]);
        assert_eq!(parts[0].items()[0], V::Clock);
    }
}
