//! Effects on git repositories (git2 lives here and in `crate::ledger::git`, the ledger read
//! from a commit's tree).

pub mod ledger;
pub mod push;
pub mod repo;

/// For a libgit2 error: `Some(None)` when libgit2 had nothing to say (its "no error"), else
/// `Some(Some(message))`, its message without the class and code numbers. `None` for any
/// other error.
pub fn libgit2_message(err: &(dyn std::error::Error + 'static)) -> Option<Option<String>> {
    let e = err.downcast_ref::<git2::Error>()?;
    Some((e.class() != git2::ErrorClass::None).then(|| e.message().to_string()))
}
