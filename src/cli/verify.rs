//! `git gitian verify`: signatures and consensus over a sigs ledger.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};

use super::{CliError, Ui};
use crate::core::report;
use crate::git::ledger as gitledger;
use crate::ops::verify::{self, LedgerSpec, Query};

/// How `verify` prints its report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// A signer table and an artifact x signer grid
    Table,
    /// The stable JSON schema documented in the man page
    Json,
    /// One row per signature, the columns of the corpus's expected.tsv
    Tsv,
    /// The original gverify's `<signer>: OK|MISMATCH|BAD SIGNATURE` lines
    Gverify,
}

/// Verify signatures and consensus of the attestations in a sigs repository
///
/// Reads every signer's attestation of a release, from a directory or straight from git
/// objects at one or more revisions (no checkout needed, so unmerged branches count), checks
/// each detached signature against the keys kept in the ledger (builder-keys/, keys/) and any
/// --keys, and finds the largest group of signers whose manifests agree. Only good signatures
/// count toward consensus, and one key is one vote.
///
/// Exit status: 0 when every check passed and the threshold holds; 1 when a disagreement, a
/// signature that does not hold, or a missed threshold was found; 2 when it could not run.
#[derive(Debug, Args)]
#[command(after_long_help = JSON_SCHEMA_HELP)]
pub struct VerifyArgs {
    /// Descriptor whose `name` selects the attestations (as gverify); optional
    pub descriptor: Option<PathBuf>,
    /// Attestation name to verify (instead of a descriptor)
    #[arg(long)]
    pub name: Option<String>,
    /// Release directory to verify; every release when omitted
    #[arg(short, long)]
    pub release: Vec<String>,
    /// The sigs ledger: a directory, a work tree or a bare repository (default: the repository
    /// around the current directory); repeat to verify several ledgers in one run
    #[arg(short, long, value_name = "PATH")]
    pub destination: Vec<PathBuf>,
    /// Read the ledger from git at this revision (repeatable); the first is the main revision,
    /// whose key folders and policy.yml are used, the others only contribute attestations
    #[arg(long = "rev", value_name = "REV")]
    pub revs: Vec<String>,
    /// Read the ledger at every local and remote-tracking branch; keys and policy.yml still come
    /// from the main revision only (the first --rev, else HEAD)
    #[arg(long)]
    pub all_branches: bool,
    /// Compare every signer against this signer's manifest, as gverify does
    #[arg(short, long, value_name = "SIGNER")]
    pub compare_to: Option<String>,
    /// Additional public keys: an armored or binary key file, or a folder of them (repeatable)
    #[arg(long = "keys", value_name = "PATH")]
    pub keys: Vec<PathBuf>,
    /// Also use the public keys of your own GnuPG keyring (never read otherwise; trust
    /// settings are ignored)
    #[arg(long)]
    pub gpg_keyring: bool,
    /// Judge key and signature expiry at this time (RFC 3339 or YYYY-MM-DD; default now)
    #[arg(long, value_name = "TIME")]
    pub at: Option<String>,
    /// At least N distinct keys with good signatures must agree
    #[arg(long, value_name = "N")]
    pub threshold: Option<usize>,
    /// Output format
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub format: OutputFormat,
    /// Show more detail (gpg-style lines, manifest differences)
    #[arg(short, long)]
    pub verbose: bool,
    /// Use bold markup in gverify output (default)
    #[arg(short = 'm', long, overrides_with = "no_markup")]
    pub markup: bool,
    /// No bold markup in gverify output
    #[arg(long)]
    pub no_markup: bool,
    /// Neither read nor write what earlier runs learnt ($XDG_CACHE_HOME/git-gitian/verify/:
    /// signature checks that held and what attestations say, by a digest of their bytes);
    /// every check is done anew
    #[arg(long)]
    pub no_cache: bool,
}

const JSON_SCHEMA_HELP: &str = "\
Signature statuses: good, expired_key (the signing key or subkey had expired at --at),
revoked_key, expired_sig, bad (the signature does not match the bytes on disk), no_pubkey (the
issuer is in no key file), error_rc2 (could not be checked), error_nosig (no OpenPGP signature
in the file), inline:S (a whole signed message instead of a detached signature), multi:A+B (a
file of several signatures, counted only when every one is good), no_signature
(a signed file without signature), no_data (a signature without its file). good counts toward
consensus; expired_key counts unless the ledger's policy.yml sets expired_keys_count: false.

Verdicts: OK, MISMATCH (good signature, other manifest than the consensus), UNVERIFIED (the
signature does not count), MISSING, NO CONSENSUS (a tie, or nobody counts), SHARED KEY (the key
also signed another signer directory of the release), INVALID (the attestation does not parse
or contradicts its path), CONFLICT (the file differs between the revisions read).

JSON schema git-gitian/verify/v1 (stable; fields are only ever added):
  {schema, passed, at, keys_loaded, problems: [string], warnings: [string],
   releases: [{ledger, layout: gitian|guix, release, group, passed, consensus_votes, threshold,
     threshold_met, missing_required_signers: [string],
     signers: [{signer, file, sig_path, signature_status, counts, key_fingerprint,
       signing_key_fingerprint, key_file, manifest_id, manifest_group, matches_majority,
       verdict, problem, revisions: [string]}],
     artifacts: [{name, consensus_sha256, votes, signers: {<signer>: agrees|differs|absent|
       unchecked|undecided}}]}]}

TSV columns (one row per signature, sorted by ledger, release, file, signer): ledger, release,
file, signer, signature_status, key_fingerprint, manifest_matches_majority (the manifest held by
strictly more signer directories than any other, whatever their signatures),
signing_key_fingerprint, manifest_id, sig_path.";

/// Runs `git gitian verify`.
pub fn run(args: VerifyArgs, ui: &mut Ui) -> Result<ExitCode, CliError> {
    let at = parse_time(args.at.as_deref())?;
    let name = match (&args.name, &args.descriptor) {
        (Some(n), _) => Some(n.clone()),
        (None, Some(d)) => Some(descriptor_name(d)?),
        (None, None) => None,
    };
    let mut destinations = args.destination.clone();
    if destinations.is_empty() {
        let cwd = std::env::current_dir()
            .map_err(|e| CliError::new(format!("no current directory: {e}")))?;
        match gitledger::discover(&cwd) {
            Some(repo) => destinations.push(repo),
            None => {
                return Err(CliError::new("not in a git repository, and no ledger given")
                    .hint("pass the sigs ledger with -d PATH (a directory or a git repository)"));
            }
        }
    }
    let use_git = !args.revs.is_empty() || args.all_branches;
    let mut ledgers = Vec::new();
    for d in destinations {
        if !d.exists() {
            return Err(CliError::new(format!("ledger {} does not exist", d.display())));
        }
        let is_repo = gitledger::is_repository(&d);
        let bare = is_repo && !d.join(".git").exists() && d.join("HEAD").is_file();
        if use_git || bare {
            if !is_repo {
                return Err(CliError::new(format!("{} is not a git repository", d.display()))
                    .hint("--rev and --all-branches read git objects; drop them to read a plain directory"));
            }
            ledgers.push(LedgerSpec::Git {
                path: d,
                revs: args.revs.clone(),
                all_branches: args.all_branches,
            });
        } else {
            ledgers.push(LedgerSpec::Dir(d));
        }
    }
    let query = Query {
        ledgers,
        releases: args.release.clone(),
        name,
        keys: args.keys.clone(),
        extra_keys: if args.gpg_keyring {
            vec![("gpg-keyring".to_string(), crate::gpg::export_public_keys()?)]
        } else {
            Vec::new()
        },
        at,
        threshold: args.threshold,
        compare_to: args.compare_to.clone(),
        cache: (!args.no_cache).then(verify::default_cache),
    };
    let rep = verify::verify(&query).map_err(|e| {
        let err = CliError::from(e);
        if err.message.starts_with("no attestations") {
            err.hint("a ledger holds <release>/<signer>/<name>-build.assert(.sig) or <version>/<signer>/*.SHA256SUMS(.asc)")
        } else {
            err
        }
    })?;
    let meta = report::Meta {
        at: chrono::DateTime::<chrono::Utc>::from(at)
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        passed: rep.passed(),
        problems: rep.problems.clone(),
        warnings: rep.warnings.clone(),
        keys_loaded: rep.keys_loaded,
    };
    let text = match args.format {
        OutputFormat::Table => report::table(&rep.groups, &meta, ui.width()),
        OutputFormat::Json => report::json(&rep.groups, &meta),
        OutputFormat::Tsv => report::tsv(&rep.groups),
        OutputFormat::Gverify => {
            report::gverify(&rep.groups, args.markup || !args.no_markup, args.verbose)
        }
    };
    ui.out(&text);
    if args.verbose {
        for note in &rep.notes {
            ui.info(note);
        }
    }
    if !matches!(args.format, OutputFormat::Table | OutputFormat::Json) {
        for p in &rep.problems {
            ui.warn(p);
        }
    }
    Ok(if rep.passed() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

/// `--at`: RFC 3339, `YYYY-MM-DD`, or now.
fn parse_time(at: Option<&str>) -> Result<std::time::SystemTime, CliError> {
    let Some(at) = at else { return Ok(std::time::SystemTime::now()) };
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(at) {
        return Ok(t.with_timezone(&chrono::Utc).into());
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(at, "%Y-%m-%d")
        && let Some(t) = d.and_hms_opt(0, 0, 0)
    {
        return Ok(t.and_utc().into());
    }
    Err(CliError::new(format!("--at '{at}' is not a time"))
        .hint("use RFC 3339 (2026-11-28T00:00:00Z) or YYYY-MM-DD"))
}

/// The `name` of a descriptor, as gverify reads it.
fn descriptor_name(path: &std::path::Path) -> Result<String, CliError> {
    let bytes = std::fs::read(path)
        .map_err(|e| CliError::new(format!("cannot read descriptor {}: {e}", path.display())))?;
    let shown = path.display().to_string();
    crate::core::descriptor::Descriptor::read_name(&shown, &bytes).map_err(|e| {
        let err = CliError::new(format!("descriptor {e}"));
        match &e.hint {
            Some(h) => err.hint(h.clone()),
            None => err,
        }
    })
}
