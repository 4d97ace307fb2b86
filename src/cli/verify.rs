//! `git gitian verify`: signatures and consensus over a sigs ledger.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};

use super::{CliError, Ui};
use crate::config::GitConfig;
use crate::core::report::{self, reason};
use crate::git::ledger as gitledger;
use crate::ops::verify::{self, LedgerSpec, Query};

/// How `verify` prints its report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// A signer table and an artifact x signer grid
    Table,
    /// The stable JSON schema documented in the man page
    Json,
    /// One row per signature, tab-separated (columns below)
    Tsv,
    /// The original gverify's `<signer>: OK|MISMATCH|BAD SIGNATURE` lines
    Gverify,
    /// A compact Markdown report for a pull-request comment
    Markdown,
    /// One self-contained HTML page (no external assets)
    Html,
}

/// When `verify` colours its table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// On a terminal, unless NO_COLOR is set or TERM is dumb
    Auto,
    /// Always
    Always,
    /// Never
    Never,
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
    /// The sigs ledger: a directory, a work tree or a bare repository [default: the ledger
    /// around the current directory, else git config gitian.sigs]; repeat to verify several
    /// ledgers in one run
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
    /// [default: git config gitian.keys]
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
    /// Show more detail: the differing hashes in full (gverify: gpg-style lines and the
    /// manifest lines that differ)
    #[arg(short, long)]
    pub verbose: bool,
    /// Show the whole artifact grid, not only the artifacts and signers that disagree
    #[arg(long)]
    pub all: bool,
    /// Colour the table: auto (on a terminal, unless NO_COLOR is set or TERM=dumb), always,
    /// never [default: the git config gitian.color, else auto]
    #[arg(long, value_enum, value_name = "WHEN")]
    pub color: Option<ColorChoice>,
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
or contradicts its path), CONFLICT (the file differs between the revisions read). Every verdict
but OK comes with one line of reason: in the table under the signer, after the status in
--format gverify (a note: line), and as `problem` in JSON.

The table fits the terminal's width (COLUMNS when set; 0 means no limit, as does a pipe
without COLUMNS) without cutting a word: long cells end in an ellipsis. The artifact grid shows
only what disagrees unless --all; it turns (signers as rows) when its columns do not fit.
Colours follow --color and NO_COLOR; LANG=C or TERM=dumb draws with ASCII only. Warnings
(unreadable key files, no keys loaded) go to stderr in every format.

gverify format: the original gverify's lines: `<signer>: OK|MISMATCH|BAD SIGNATURE` then an
empty line (bold under --markup), `missing result at PATH`, `missing signature at PATH.sig`
(gverify reads only the detached .sig). A signature that does not count, a shared key and an
unsigned-looking attestation print as BAD SIGNATURE, a copied or unreadable attestation as
MISMATCH; a `note:` line after the status says why. Without a consensus, signers are compared
with the first directory's manifest, as gverify did.

JSON schema git-gitian/verify/v1 (stable; fields are only ever added; docs/verify-v1.schema.json
is the JSON Schema). Keys come in this order:
  schema            \"git-gitian/verify/v1\"
  passed            the run passed (exit status 0)
  at                the time expiry was judged (RFC 3339)
  keys_loaded       certificates read from the ledgers' key folders, --keys and the keyring
  sources           what was read, one string per ledger (directory, work tree, revisions)
  summary           {releases, ok, failed, causes: {cause: count}, text}: releases counted per
                    ledger; causes: the main reason each failed release failed (mismatch,
                    invalid, conflict, shared_key, bad_signature, no_keys, no_consensus,
                    missing, threshold, required_signer)
  problems          findings that fail the run but belong to no signer (refused names)
  warnings          findings that do not (unreadable key files, no or few keys loaded)
  releases[]        one per ledger, release and group:
    ledger, layout (gitian|guix), release
    group           the consensus group inside the release: empty for Gitian, the SUMS kind
                    (e.g. all, noncodesigned) for Guix
    passed          every signer OK, a consensus, threshold met, required signers agree
    result          the result line: OK, or FAILED: and why
    consensus_votes distinct keys with a counting signature over the consensus manifest
    threshold, threshold_met, missing_required_signers
    signers[]       one per signed file and signature:
      signer, file, sig_path
      signature_status  (statuses above)
      counts            the signature counts toward consensus
      key_fingerprint   primary key (or the issuer for no_pubkey); signing_key_fingerprint:
                        the (sub)key that signed; key_file: where that key was found
      manifest_id       first 12 hex digits of the git blob id of the normalised manifest
      manifest_group    1 = the consensus manifest, 2.. the other manifests by votes; null
                        without a manifest
      matches_majority  the manifest most signer directories published, whatever their
                        signatures (the tsv format's majority column)
      verdict, problem  the verdict and its reason (null only when OK)
      shares_key_with   the other signer directories signed by the same key
      revisions         the revisions this version of the file was read at
    artifacts[]     one per file named in any manifest:
      name, consensus_sha256 (null on a tie)
      votes             distinct counting keys with the consensus hash
      signers           {<signer>: agrees|differs|absent|unchecked (signature does not
                        count)|undecided (no consensus)}

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
    let cwd = std::env::current_dir()
        .map_err(|e| CliError::new(format!("cannot read the current directory: {e}")))?;
    let config = GitConfig::load(&cwd);
    let ledgers = ledgers(&args, &cwd, &config)?;
    let sources = ledgers.iter().map(describe).collect();
    let query = query(&args, ledgers, name, at, &config, &cwd)?;
    let rep = verify::verify(&query).map_err(|e| {
        let err = CliError::from(e);
        if err.message.starts_with("no attestations") {
            err.hint("a ledger holds <release>/<signer>/<name>-build.assert(.sig) or <version>/<signer>/*.SHA256SUMS(.asc)")
        } else {
            err
        }
    })?;
    if let Some(c) = &args.compare_to
        && !rep.groups.iter().any(|g| g.rows.iter().any(|r| &r.signer == c))
    {
        return Err(CliError::new(format!(
            "--compare-to '{c}': no such signer in the releases read"
        ))
        .hint("name a signer directory of the release, as listed by `git gitian verify`"));
    }
    let keys = reason::key_warnings(&rep.groups, rep.keys_loaded);
    let meta = meta(&rep, at, args.at.is_some(), sources, &keys);
    let opts = report::Options {
        width: terminal_width(std::env::var("COLUMNS").ok().as_deref(), ui),
        color: use_color(
            color_choice(args.color, config.get(crate::config::COLOR)),
            std::env::var_os("NO_COLOR").as_deref(),
            ui.stdout_tty,
        ),
        charset: charset(),
        all: args.all,
        verbose: args.verbose,
    };
    // Everything that is not the report goes to stderr, in every format.
    for w in &rep.warnings {
        ui.warn(w);
    }
    for (w, hint) in &keys {
        ui.warn(w);
        ui.info(&format!("hint: {hint}"));
    }
    let markup = markup(&args, config.get(crate::config::COLOR), ui.stdout_tty)?;
    ui.out(&render(&args, &rep, &meta, &opts, markup));
    if args.verbose {
        for note in &rep.notes {
            ui.info(note);
        }
    }
    if matches!(args.format, OutputFormat::Tsv | OutputFormat::Gverify) {
        for p in &rep.problems {
            ui.warn(p);
        }
        if rep.groups.len() > 1 {
            ui.info(&reason::Summary::of(&rep.groups).text());
        }
    }
    let code = if rep.passed() { ExitCode::SUCCESS } else { ExitCode::from(1) };
    // Every row of every release, freed piece by piece just before the process ends: a twentieth
    // of a warm verify of both public ledgers. The process ends with the command instead.
    std::mem::forget(rep);
    Ok(code)
}

/// What to verify, from the flags and git config.
fn query(
    args: &VerifyArgs,
    ledgers: Vec<verify::LedgerSpec>,
    name: Option<String>,
    at: std::time::SystemTime,
    config: &GitConfig,
    cwd: &std::path::Path,
) -> Result<Query, CliError> {
    Ok(Query {
        ledgers,
        releases: args.release.clone(),
        name,
        keys: if args.keys.is_empty() {
            config
                .all(crate::config::KEYS)
                .iter()
                .map(|k| crate::config::expand_path(k, cwd))
                .collect()
        } else {
            args.keys.clone()
        },
        extra_keys: if args.gpg_keyring {
            vec![("gpg-keyring".to_string(), crate::gpg::export_public_keys()?)]
        } else {
            Vec::new()
        },
        at,
        threshold: args.threshold,
        compare_to: args.compare_to.clone(),
        cache: (!args.no_cache).then(verify::default_cache),
    })
}

/// What every renderer is told about the run.
fn meta(
    rep: &verify::Report,
    at: std::time::SystemTime,
    at_given: bool,
    sources: Vec<String>,
    keys: &[(String, String)],
) -> report::Meta {
    let mut warnings = rep.warnings.clone();
    warnings.extend(keys.iter().map(|(w, _)| w.clone()));
    let rfc3339 =
        |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    report::Meta {
        at: rfc3339(at.into()),
        // Without --at, expiry is judged at the time of the check: one time, said once.
        checked: rfc3339(if at_given { chrono::Utc::now() } else { at.into() }),
        sources,
        passed: rep.passed(),
        problems: rep.problems.clone(),
        warnings,
        keys_loaded: rep.keys_loaded,
        absent: rep.absent.clone(),
    }
}

/// The report in the format asked for.
fn render(
    args: &VerifyArgs,
    rep: &verify::Report,
    meta: &report::Meta,
    opts: &report::Options,
    markup: bool,
) -> String {
    let groups = &rep.groups;
    match args.format {
        OutputFormat::Table => report::table::render(groups, meta, opts),
        OutputFormat::Json => report::json::render(groups, meta),
        OutputFormat::Tsv => report::tsv::render(groups),
        OutputFormat::Gverify => report::gverify::render(groups, meta, markup, args.verbose),
        OutputFormat::Markdown => report::markdown::render(groups, meta, opts),
        OutputFormat::Html => report::html::render(groups, meta),
    }
}

/// The ledgers to read, from -d (or the repository around the current directory), --rev and
/// --all-branches.
fn ledgers(
    args: &VerifyArgs,
    cwd: &std::path::Path,
    config: &GitConfig,
) -> Result<Vec<LedgerSpec>, CliError> {
    let mut destinations = args.destination.clone();
    if destinations.is_empty() {
        match super::status::default_ledger(cwd, config) {
            Some(ledger) => destinations.push(ledger),
            None => {
                return Err(CliError::new("not in a git repository, and no ledger given")
                    .hint("pass the sigs ledger with -d PATH (a directory or a git repository)")
                    .hint("or set it once: `git config --global gitian.sigs PATH`"));
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
    Ok(ledgers)
}

/// What a ledger is, for the report's header.
fn describe(spec: &LedgerSpec) -> String {
    match spec {
        LedgerSpec::Dir(d) => match gitledger::describe_work_tree(d) {
            Some(state) => format!("{}: {state}", d.display()),
            None => format!("{}: a directory", d.display()),
        },
        LedgerSpec::Git { path, revs, all_branches } => {
            match gitledger::revisions(path, revs, *all_branches) {
                Ok(found) => {
                    let at: Vec<String> = found
                        .iter()
                        .map(|(label, commit)| {
                            format!("{label} ({})", &commit[..commit.len().min(12)])
                        })
                        .collect();
                    format!("{}: git objects at {}", path.display(), at.join(", "))
                }
                Err(_) => format!("{}: git objects", path.display()),
            }
        }
    }
}

/// Columns for the table: `COLUMNS` when set (0: no limit), else the terminal's when stdout is
/// one, else no limit (a pipe).
fn terminal_width(columns: Option<&str>, ui: &Ui) -> Option<usize> {
    if let Some(c) = columns.and_then(|c| c.trim().parse::<usize>().ok()) {
        return (c > 0).then_some(c);
    }
    if !ui.stdout_tty {
        return None;
    }
    rustix::termios::tcgetwinsize(std::io::stdout())
        .ok()
        .map(|w| usize::from(w.ws_col))
        .filter(|w| *w > 0)
}

/// `--color`, else `gitian.color` from git config (`auto`, `always`, `never`; as with git's
/// `color.ui`, true means auto and false never), else auto.
fn color_choice(flag: Option<ColorChoice>, configured: Option<&str>) -> ColorChoice {
    if let Some(c) = flag {
        return c;
    }
    match configured.unwrap_or_default().to_ascii_lowercase().as_str() {
        "always" => ColorChoice::Always,
        "never" | "false" | "no" | "off" | "0" => ColorChoice::Never,
        _ => ColorChoice::Auto,
    }
}

/// Colour: `always`, `never`, or on a terminal unless NO_COLOR is set (to anything but the
/// empty string, as no-color.org says) or TERM is dumb.
fn use_color(choice: ColorChoice, no_color: Option<&std::ffi::OsStr>, tty: bool) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            tty && no_color.is_none_or(|v| v.is_empty())
                && std::env::var("TERM").map_or(true, |t| t != "dumb")
        }
    }
}

/// ASCII decorations for a `LANG=C` (any locale that is not UTF-8) or `TERM=dumb` terminal.
fn charset() -> report::Charset {
    let locale = ["LC_ALL", "LC_CTYPE", "LANG"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
        .unwrap_or_default()
        .to_ascii_lowercase();
    let utf8 = locale.contains("utf-8") || locale.contains("utf8");
    let dumb = std::env::var("TERM").is_ok_and(|t| t == "dumb");
    if utf8 && !dumb { report::Charset::Unicode } else { report::Charset::Ascii }
}

/// Bold gverify lines: `-m` / `--no-markup` first, then git config `gitian.color`, else on
/// (gverify's default).
fn markup(args: &VerifyArgs, color: Option<&str>, tty: bool) -> Result<bool, CliError> {
    if args.markup || args.no_markup {
        return Ok(args.markup);
    }
    match color.map(str::to_ascii_lowercase).as_deref() {
        None => Ok(true),
        Some("auto") => Ok(tty),
        Some(v) => crate::config::parse_bool(v)
            .or(match v {
                "always" => Some(true),
                "never" => Some(false),
                _ => None,
            })
            .ok_or_else(|| {
                CliError::new(format!("git config gitian.color is '{v}'"))
                    .hint("set it to always, never, auto, true or false")
            }),
    }
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

/// The `name` of a descriptor, as gverify reads it: only `name` matters (a descriptor holding
/// nothing else is fine), and it must be a Gitian word (`[A-Za-z0-9_.-]`).
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
