//! The backend matrix (`git gitian build --backend all|a,b`): the same descriptor built on
//! several backends, and per output file whether the hashes agree, naming the backend(s) that
//! differ. Building is the caller's closure (one `ops::build` per backend); this module only
//! runs it per backend; `core::consensus::matrix` compares the out manifests.
//!
//! Which backend and accelerator built each result is kept in the report (`Run::guest`), never
//! in the compared manifests.

use crate::core::consensus::matrix;
use crate::core::manifest::Manifest;
use crate::guest::select::Backend;

/// One backend's build.
pub type Run = matrix::Run<Backend>;
/// The verdict on one output file.
pub type Verdict = matrix::Verdict<Backend>;
/// One output file across the backends.
pub type FileRow = matrix::FileRow<Backend>;
/// The matrix result; who agrees is decided (and the report drawn) in `core::consensus::matrix`.
pub type Report = matrix::Report<Backend>;

/// Builds on every backend in turn with `build` (which returns the guest's description and the
/// out manifest) and compares. A failing backend is recorded, not fatal.
pub fn run<F>(backends: &[Backend], mut build: F) -> Report
where
    F: FnMut(Backend) -> Result<(String, Manifest), String>,
{
    let runs = backends
        .iter()
        .map(|&backend| match build(backend) {
            Ok((guest, m)) => Run { backend, guest, outcome: Ok(m) },
            Err(e) => Run { backend, guest: String::new(), outcome: Err(e) },
        })
        .collect();
    Report::compare(runs)
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

    fn m(lines: &[(&str, &str)]) -> Manifest {
        Manifest::parse(&lines.iter().map(|(h, p)| format!("{h}  {p}\n")).collect::<String>())
    }

    #[test]
    fn all_agree() {
        let r = run(&[Backend::Lxc, Backend::Sandbox], |b| {
            Ok((b.name().into(), m(&[(A, "x.tar.gz")])))
        });
        assert!(r.all_agree());
        assert_eq!(r.files[0].verdict, Verdict::Agree);
        assert_eq!(
            r.render(),
            format!(
                "lxc      lxc (1 file)\nsandbox  sandbox (1 file)\nx.tar.gz  agree (2 backends) {A}\n"
            )
        );
    }

    #[test]
    fn names_the_backend_that_differs() {
        let r = run(&[Backend::Kvm, Backend::Lxc, Backend::Docker], |b| {
            let h = if b == Backend::Docker { B } else { A };
            Ok((b.name().into(), m(&[(A, "same"), (h, "x.tar.gz")])))
        });
        assert!(!r.all_agree());
        let row = r.files.iter().find(|f| f.path == "x.tar.gz").unwrap();
        assert_eq!(row.verdict, Verdict::Differ { odd: vec![Backend::Docker], majority: true });
        assert!(r.render().contains(
            "x.tar.gz  DIFFERS on docker (kvm=aaaaaaaaaaaa lxc=aaaaaaaaaaaa docker=bbbbbbbbbbbb)"
        ));
        assert_eq!(r.files.iter().find(|f| f.path == "same").unwrap().verdict, Verdict::Agree);
    }

    #[test]
    fn two_way_split_has_no_majority_and_missing_files_differ() {
        let r = run(&[Backend::Lxc, Backend::Sandbox], |b| {
            if b == Backend::Lxc {
                Ok(("l".into(), m(&[(A, "x"), (A, "only-lxc")])))
            } else {
                Ok(("s".into(), m(&[(B, "x")])))
            }
        });
        let x = r.files.iter().find(|f| f.path == "x").unwrap();
        assert_eq!(
            x.verdict,
            Verdict::Differ { odd: vec![Backend::Lxc, Backend::Sandbox], majority: false }
        );
        let only = r.files.iter().find(|f| f.path == "only-lxc").unwrap();
        assert!(matches!(only.verdict, Verdict::Differ { majority: false, .. }));
        assert!(
            r.render()
                .contains("only-lxc  DIFFERS, no majority (lxc=aaaaaaaaaaaa sandbox=missing)")
        );
    }

    #[test]
    fn a_failed_backend_is_reported_and_not_compared() {
        let r = run(&[Backend::Lxc, Backend::Docker], |b| {
            if b == Backend::Docker {
                Err("no daemon".into())
            } else {
                Ok(("lxc 5".into(), m(&[(A, "x")])))
            }
        });
        assert!(!r.all_agree());
        assert_eq!(r.files[0].verdict, Verdict::Agree);
        assert!(r.render().contains("docker  FAILED: no daemon\n"));
        // Counted in the singular when only one backend built it.
        assert!(r.render().ends_with(&format!("x  agree (1 backend) {A}\n")), "{}", r.render());
    }
}
