//! `git gitian sign`: a build result signed into the sigs repository.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, ValueEnum};

use super::{CliError, Ui};
use crate::config::{self, GitConfig};
use crate::git::repo::RepoError;
use crate::gpg::GpgError;
use crate::ops::sign::{self, CommitOutcome, FileState, Format, SignError, SignRequest};

/// Attestation layout to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SignFormat {
    /// `<release>/<signer>/<name>-build.assert` with a binary `.sig`
    Gitian,
    /// `<release>/<signer>/{noncodesigned,all}.SHA256SUMS` with an armored `.asc`
    Guix,
}

/// Sign a build result into the sigs repository
///
/// Reads result/<name>-res.yml, appends release, name, type and optionals exactly as gsign
/// does, writes <dest>/<release>/<signer>/<name>-build.assert and a binary detached signature
/// made by your own GnuPG (gpg-agent, pinentry and smartcards work), and commits exactly those
/// files when the destination is in a git repository; nothing else staged is committed.
///
/// An existing attestation with other bytes is never replaced without --force; signing the
/// same result again does nothing. With --format guix, writes noncodesigned.SHA256SUMS (and
/// all.SHA256SUMS when --codesigned results are given) with armored .asc signatures, as
/// guix-attest does.
///
/// With --signing-program PROG, runs `PROG -u <signer> <file>` instead (gsign's way); PROG
/// `true` signs later: the assert is written but nothing is committed until a signature is
/// there. Run `git gitian sign` again (without -p) to sign and commit it. PROG must write
/// `<file>.sig` (gitian format, as `gpg --detach-sign`) or `<file>.asc` (guix format, as
/// `gpg --detach-sign --armor`).
///
/// Safe to interrupt: the signer directory changes all at once, and running the command again
/// finishes the job.
#[derive(Debug, Args)]
pub struct SignArgs {
    /// The Gitian descriptor the result was built from (guix format: one or more)
    #[arg(required = true, num_args = 1..)]
    pub descriptor: Vec<PathBuf>,
    /// Signer: the gpg key to sign with (-u) and the directory name [default: git config
    /// gitian.signer]
    #[arg(short, long)]
    pub signer: Option<String>,
    /// Sign with this gpg key (fingerprint, key id or user id) instead of the signer name
    #[arg(short = 'u', long = "key", value_name = "KEY")]
    pub key: Option<String>,
    /// Release directory name
    #[arg(short, long, default_value = "test")]
    pub release: String,
    /// The sigs repository [default: git config gitian.sigs, else the repository around the
    /// current directory]
    #[arg(short, long, value_name = "DEST")]
    pub destination: Option<PathBuf>,
    /// Run this program instead of signing in process (`true` to sign later), as gsign
    #[arg(
        short = 'p',
        long = "signing-program",
        visible_alias = "signing_program",
        value_name = "PROG"
    )]
    pub signing_program: Option<String>,
    /// Layout to write
    #[arg(long, value_enum, default_value_t = SignFormat::Gitian)]
    pub format: SignFormat,
    /// Guix format: a descriptor of code-signed results; makes all.SHA256SUMS (repeatable)
    #[arg(long, value_name = "DESCRIPTOR")]
    pub codesigned: Vec<PathBuf>,
    /// Replace an existing attestation with different bytes
    #[arg(long)]
    pub force: bool,
    /// Sign the git commit too (also when git config commit.gpgSign is true)
    #[arg(long)]
    pub sign_commit: bool,
    /// Write and sign, but do not commit (as gsign; git config gitian.commit=false makes it
    /// the default)
    #[arg(long, overrides_with = "commit")]
    pub no_commit: bool,
    /// Commit the attestation (the default, unless git config gitian.commit is false)
    #[arg(long, overrides_with = "no_commit")]
    pub commit: bool,
    /// No information lines
    #[arg(short, long)]
    pub quiet: bool,
}

/// Runs `git gitian sign`.
pub fn run(args: SignArgs, ui: &mut Ui) -> Result<ExitCode, CliError> {
    ui.quiet |= args.quiet;
    let cwd = std::env::current_dir()
        .map_err(|e| CliError::new(format!("cannot read the current directory: {e}")))?;
    let config = GitConfig::load(&cwd);
    let signer = match args.signer.or_else(|| config.get(config::SIGNER).map(str::to_string)) {
        Some(s) => s,
        None => {
            return Err(CliError::new("no signer: pass -s NAME")
                .hint("or set it once: `git config --global gitian.signer NAME`"));
        }
    };
    let commit_config = config.bool(config::COMMIT).map_err(|v| {
        CliError::new(format!("git config gitian.commit is '{v}', not a boolean"))
            .hint("set it to true or false")
    })?;
    let no_commit =
        if args.no_commit || args.commit { args.no_commit } else { commit_config == Some(false) };
    let destination = args.destination.or_else(|| config.path(config::SIGS, &cwd));
    // Only until the user chose with gitian.commit: then the ledger is not read for it.
    let commit_note = commit_config
        .is_none()
        .then(|| first_commit_note(&cwd, destination.as_deref(), &signer, &args.release))
        .flatten();
    let req = SignRequest {
        descriptors: args.descriptor,
        codesigned: args.codesigned,
        signer,
        key: args.key,
        release: args.release,
        destination,
        signing_program: args.signing_program,
        format: args.format.into_format(),
        force: args.force,
        sign_commit: args.sign_commit,
        no_commit,
        commit_note,
        home: std::env::var_os("HOME").map(PathBuf::from),
        cwd,
    };
    let outcome = sign::sign(&req).map_err(|e| explain(e, &req))?;
    report(&outcome, &req, ui);
    Ok(ExitCode::SUCCESS)
}

/// The signer's first attestation in a ledger says, in its commit message, that sign commits
/// (gsign did not), until the user chose with gitian.commit.
fn first_commit_note(
    cwd: &Path,
    destination: Option<&Path>,
    signer: &str,
    release: &str,
) -> Option<String> {
    let ledger = destination
        .map(|d| cwd.join(d))
        .or_else(|| crate::git::repo::Repo::discover(cwd).map(|r| r.workdir().to_path_buf()));
    let signed_before = ledger.is_some_and(|l| {
        crate::ops::status::ledger_releases(&l)
            .iter()
            .any(|(rel, signers)| rel != release && signers.iter().any(|s| s == signer))
    });
    (!signed_before).then(|| {
        "Committed by `git gitian sign`, which commits what it signs (gsign did not). \
         `git config gitian.commit false` or --no-commit leaves committing to you."
            .to_string()
    })
}

/// What sign did, one line each.
fn report(outcome: &sign::SignOutcome, req: &SignRequest, ui: &mut Ui) {
    let shown = |p: &Path| p.strip_prefix(&req.cwd).unwrap_or(p).display().to_string();
    for f in &outcome.files {
        let verb = match f.state {
            FileState::Written => "wrote",
            FileState::Replaced => "replaced",
            FileState::Unchanged => "unchanged",
        };
        ui.info(&format!("{verb} {}", shown(&f.path)));
    }
    if let Some((fpr, uid)) = &outcome.signed_with
        && outcome.files.iter().any(|f| f.state != FileState::Unchanged)
    {
        ui.info(&format!("signed with {fpr} {uid}"));
    }
    for p in &outcome.unsigned {
        ui.info(&format!("not signed yet: {}", shown(p)));
    }
    match &outcome.commit {
        CommitOutcome::Committed { id, subject, signed } => {
            let short = &id[..id.len().min(12)];
            ui.info(&format!(
                "committed {short} {subject}{}",
                if *signed { " (signed)" } else { "" }
            ));
        }
        CommitOutcome::AlreadyCommitted => {
            if outcome.files.iter().all(|f| f.state == FileState::Unchanged) {
                ui.info("already signed and committed: nothing to do");
            }
        }
        CommitOutcome::AwaitingSignature => {
            ui.info("nothing committed: the signature is not there yet");
            ui.info(&format!(
                "hint: sign later with `gpg --detach-sign -u \"{}\" <assert>` or run `git gitian sign` again without -p; it commits once the signature is there",
                req.signer
            ));
        }
        CommitOutcome::Skipped => ui.info("not committed (--no-commit)"),
        CommitOutcome::NotARepository => ui.info(&format!(
            "not committed: {} is not in a git work tree, or ignored there",
            shown(&outcome.dir)
        )),
    }
}

/// The error with what the user can do about it.
fn explain(err: SignError, req: &SignRequest) -> CliError {
    let identity = req.key.clone().unwrap_or_else(|| req.signer.clone());
    match err {
        SignError::Differs { path, diff, committed } => {
            let mut e = CliError::new(format!(
                "{path} already exists with different content{}\n{}",
                if committed { " (committed)" } else { "" },
                diff.trim_end()
            ));
            if req.format == Format::Guix {
                e = e.hint("you likely previously attested to a partial build; check the results");
            }
            e.hint("pass --force to replace it (the old attestation stays in the git history)")
        }
        SignError::NoResult { path } => CliError::new(format!("{path} does not exist"))
            .hint("run `git gitian build <descriptor>` in this directory first"),
        SignError::NoDestination => CliError::from(SignError::NoDestination)
            .hint("pass -d <sigs repository>, or `git config --global gitian.sigs <path>`")
            .hint("`git gitian init <dir>` creates a sigs repository"),
        e @ SignError::Gpg(GpgError::NoSecretKey { .. }) => CliError::from(e)
            .hint(format!("`gpg --list-secret-keys '{identity}'` should list a key that can sign"))
            .hint("pass --key <fingerprint> when the signer name is not in your key's user id"),
        e @ SignError::Repo(RepoError::NoIdentity { .. }) => CliError::from(e)
            .hint("set it with `git config user.name 'Your Name'` and `git config user.email you@example.org`"),
        // RepoError's own conversion adds the hint for a held lock.
        SignError::Repo(e) if e.is_locked() => CliError::from(e),
        e => CliError::from(e),
    }
}

impl SignFormat {
    fn into_format(self) -> Format {
        match self {
            Self::Gitian => Format::Gitian,
            Self::Guix => Format::Guix,
        }
    }
}
