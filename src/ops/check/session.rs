//! One prepared guest for a whole check, and the builds made in it.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use super::io;
use crate::core::buildscript::{build_script, install_steps};
use crate::core::check::report::{self, BuildRecord};
use crate::core::check::script::{self, Launch};
use crate::core::check::search::Builds;
use crate::core::check::{Facts, Set, Variation};
use crate::core::descriptor::{Descriptor, personality};
use crate::core::manifest::{Manifest, sha256_hex};
use crate::guest::env::{GuestUser, login_vars};
use crate::guest::process;
use crate::guest::{Exec, Guest, GuestError, GuestSpec, Network, User};
use crate::ops::build::{BuildError, BuildOptions, Progress};
use crate::ops::fetch;
use crate::ops::out_manifest::manifest_of;

/// A prepared guest and what the check learned of it.
pub struct Session<'a> {
    guest: &'a mut dyn Guest,
    pub(super) progress: &'a mut dyn Progress,
    workdir: PathBuf,
    desc: Descriptor,
    out_root: PathBuf,
    /// The guest's facts.
    pub facts: Facts,
    login: Vec<String>,
    personality: Option<&'static str>,
    script: String,
    /// Variations the guest cannot apply, and why.
    pub cannot: Vec<(Variation, String)>,
    supported: Set,
    nest: bool,
    remote_copies: Vec<PathBuf>,
    remote_srcs: Vec<PathBuf>,
    cache: bool,
    /// The backend, described.
    pub backend: String,
    /// The first control's outputs.
    pub control: Option<Manifest>,
    /// The last control built again.
    pub last_control: Option<Manifest>,
    /// Every build, in order.
    pub records: Vec<BuildRecord>,
    counters: [usize; 2],
}

fn guest_err(e: GuestError) -> BuildError {
    if process::interrupted() { BuildError::Interrupted } else { BuildError::Guest(e) }
}

impl Drop for Session<'_> {
    fn drop(&mut self) {
        let _ = self.guest.destroy();
        for c in &self.remote_copies {
            let _ = fs::remove_dir_all(c);
        }
    }
}

fn root<'s>(script: &'s str, log: &'s Path) -> Exec<'s> {
    Exec {
        user: User::Root,
        network: Network::Offline,
        setarch: None,
        trace: false,
        script,
        env: &[],
        log: Some(log),
    }
}

impl<'a> Session<'a> {
    /// Creates the guest, installs the packages, learns the build user and prepares the
    /// variations.
    pub fn start(
        workdir: &Path,
        opts: &BuildOptions,
        desc: &Descriptor,
        base: &Path,
        reference: &str,
        guest: &'a mut dyn Guest,
        progress: &'a mut dyn Progress,
    ) -> Result<Self, BuildError> {
        let (suite, arch) = (desc.suites[0].clone(), desc.architectures[0].clone());
        let out_root = workdir.join("var/check");
        let steps = install_steps(desc, opts.upgrade);
        let limits = opts.limits.or(desc.limits).resolve();
        let memory_mib = u32::try_from(limits.memory_mib).unwrap_or(u32::MAX);
        let spec = GuestSpec {
            distro: desc.distro.clone(),
            suite: suite.clone(),
            arch: arch.clone(),
            base: base.to_path_buf(),
            scratch: workdir.join(format!("var/guest-{suite}-{arch}")),
            memory_mib,
            limits,
            cpus: opts.num_make,
            network: !steps.is_empty(),
        };
        progress.info("Starting target (one for the whole check)");
        let created = guest.create(&spec);
        for w in guest.take_warnings() {
            progress.warn(&w);
        }
        let mut s = Session {
            backend: guest.describe(),
            guest,
            progress,
            workdir: workdir.to_path_buf(),
            desc: desc.clone(),
            out_root: out_root.clone(),
            facts: Facts {
                user: String::new(),
                uid: 0,
                gid: 0,
                home: String::new(),
                cpus: 1,
                num_make: opts.num_make,
                path: String::new(),
            },
            login: vec![],
            personality: personality(&arch),
            script: build_script(desc, &arch, opts.num_make, memory_mib, reference),
            cannot: vec![],
            supported: Set::all(),
            nest: false,
            remote_copies: vec![],
            remote_srcs: vec![],
            cache: desc.enable_cache,
            control: None,
            last_control: None,
            records: vec![],
            counters: [0, 0],
        };
        created.map_err(guest_err)?;
        s.install(&steps)?;
        s.prepare(base)?;
        // A worktree's `.git` points at the host's cache: the guest gets a standalone copy,
        // made once and copied in for every build.
        for (i, r) in desc.remotes.iter().enumerate() {
            let copies = out_root.join(format!("remote-copy-{i}"));
            s.remote_copies.push(copies.clone());
            let src = fetch::standalone(&workdir.join("inputs").join(&r.dir), &copies)?;
            s.remote_srcs.push(src);
        }
        Ok(s)
    }

    /// The descriptor's packages, as root with the network, once for the whole check.
    fn install(
        &mut self,
        steps: &[crate::core::buildscript::InstallStep],
    ) -> Result<(), BuildError> {
        let install_log = self.out_root.join("install.log");
        for step in steps {
            self.progress.info(&format!("{} (log in var/check/install.log)", step.what));
            let text = format!("set -e\n{}", step.script);
            let code = self
                .guest
                .exec(&Exec { network: Network::Online, ..root(&text, &install_log) })
                .map_err(guest_err)?;
            if code != 0 {
                if let Some(hit) = self.guest.limit_hit() {
                    return Err(BuildError::Limit(hit));
                }
                return Err(BuildError::InstallFailed {
                    step: step.what.to_lowercase(),
                    code,
                    log: install_log.clone(),
                    tail: process::tail_of_file(&install_log, 20),
                });
            }
        }
        Ok(())
    }

    /// The host's cache of this base image's preparation: (the folder, whether it is there).
    fn cache_of(base: &Path) -> (PathBuf, bool) {
        let sums = fs::read(base.join("SHA256SUMS")).unwrap_or_default();
        let key = sha256_hex(
            &[&sums[..], script::SHIM_SOURCE.as_bytes(), script::LOCALE_DIR.as_bytes()].concat(),
        );
        let dir = crate::config::check_cache_dir().join(&key[..24]);
        let there = dir.join(script::PREPARED_DIR).join("vary.so").is_file();
        (dir, there)
    }

    /// Keeps what the guest made for the next check on this base image.
    fn keep_prepared(&mut self, cache: &Path) -> Result<(), BuildError> {
        let parent = cache.parent().unwrap_or(cache);
        fs::create_dir_all(parent).map_err(io("cannot create", parent))?;
        let tmp = parent.join(format!(".tmp-{}", std::process::id()));
        let _ = fs::remove_dir_all(&tmp);
        fs::create_dir_all(&tmp).map_err(io("cannot create", &tmp))?;
        let copied = self.guest.copy_out(script::PREPARED_DIR, &tmp).map_err(guest_err);
        if copied.is_err() || fs::rename(&tmp, cache).is_err() {
            let _ = fs::remove_dir_all(&tmp);
        }
        copied
    }

    /// Who the build user is, then the preparation script and its probes.
    fn prepare(&mut self, base: &Path) -> Result<(), BuildError> {
        let (cache, cached) = Self::cache_of(base);
        if cached {
            let from = cache.join(script::PREPARED_DIR);
            self.guest.copy_in(&from, script::IMPORT_DIR).map_err(guest_err)?;
        }
        self.progress.info("Preparing the variations (log in var/check/prepare.log)");
        let log = self.out_root.join("prepare.log");
        let text = script::prepare(&self.desc.distro);
        let code = self.guest.exec(&root(&text, &log)).map_err(guest_err)?;
        let probes = script::parse_probes(&fs::read_to_string(&log).unwrap_or_default());
        if let Some(why) = probes.fatal {
            return Err(BuildError::Other(format!("the guest cannot run check builds: {why}")));
        }
        if code != 0 {
            return Err(BuildError::Other(format!(
                "preparing the guest for the check failed (exit status {code}; see {})",
                log.display()
            )));
        }
        if probes.export {
            self.keep_prepared(&cache)?;
        }
        let Some((name, uid, gid, home)) = probes.id else {
            return Err(BuildError::Other(format!(
                "cannot learn the build user of the guest (see {})",
                log.display()
            )));
        };
        // The login environment every backend gives the build user (guest::env).
        let user = GuestUser { name: name.clone(), uid, gid, home: home.clone() };
        self.login = login_vars(&user, &[]);
        let path = self.login.iter().find_map(|kv| kv.strip_prefix("PATH=")).unwrap_or_default();
        self.facts = Facts {
            user: name,
            uid,
            gid,
            home,
            cpus: probes.cpus.unwrap_or(1),
            num_make: self.facts.num_make,
            path: path.to_string(),
        };
        self.supported = Set::all().minus(&Set::of(probes.cannot.iter().map(|(v, _)| *v)));
        self.cannot = probes.cannot;
        self.nest = probes.nest;
        Ok(())
    }

    /// `experiment-3`, `control-4`.
    pub fn next_name(&mut self, kind: &str) -> String {
        let i = usize::from(kind == "experiment");
        self.counters[i] += 1;
        let n = self.counters[i] + if i == 0 { 2 } else { 0 };
        format!("{kind}-{n}")
    }

    /// Copies the inputs into the reset home: files, remotes, caches.
    fn copy_inputs(&mut self) -> Result<(), BuildError> {
        for f in &self.desc.files {
            let p = self.workdir.join("inputs").join(f);
            self.guest.copy_in(&p, "build").map_err(guest_err)?;
        }
        for src in &self.remote_srcs {
            self.guest.copy_in(src, "build").map_err(guest_err)?;
        }
        if self.cache {
            let pkg = self.workdir.join("cache").join(&self.desc.name);
            let common = self.workdir.join("cache/common");
            for c in [pkg, common] {
                fs::create_dir_all(&c).map_err(io("cannot create", &c))?;
                self.guest.copy_in(&c, "cache").map_err(guest_err)?;
            }
        }
        Ok(())
    }

    /// One build under `set`, kept in `var/check/<name>/`; returns its out manifest.
    pub fn build(&mut self, name: &str, set: &Set) -> Result<Manifest, BuildError> {
        if process::interrupted() {
            return Err(BuildError::Interrupted);
        }
        let t = Instant::now();
        let dir = self.out_root.join(name);
        fs::create_dir_all(&dir).map_err(io("cannot create", &dir))?;
        let log = dir.join("build.log");
        // With nothing to copy in, the reset runs in the launcher's step (one guest command
        // fewer per build).
        let reset = script::reset(&self.facts, self.nest);
        let inputs = !self.desc.files.is_empty() || !self.remote_srcs.is_empty() || self.cache;
        if inputs {
            let code = self.guest.exec(&root(&reset, &log)).map_err(guest_err)?;
            if code != 0 {
                return Err(BuildError::Other(format!(
                    "resetting the guest's home failed (exit status {code}; see {})",
                    log.display()
                )));
            }
            self.copy_inputs()?;
        }
        let body = script::splice(&self.script, &self.desc.script, set, &self.facts)
            .map_err(BuildError::Other)?;
        let launch = Launch {
            facts: &self.facts,
            login: &self.login,
            personality: self.personality,
            supported: &self.supported,
            nest: self.nest,
        };
        let mut text = script::launcher(set, &launch, &body);
        if !inputs {
            text = format!(
                "(\n{reset}) || {{ echo 'gitian-check: cannot reset the home' >&2; exit 125; }}\n{text}"
            );
        }
        let code = self.guest.exec(&root(&text, &log)).map_err(guest_err);
        if !matches!(code, Ok(0))
            && let Some(hit) = self.guest.limit_hit()
        {
            return Err(BuildError::Limit(hit));
        }
        let code = code?;
        if code != 0 {
            return Err(BuildError::ScriptFailed {
                code,
                log: log.clone(),
                tail: process::tail_of_file(&log, 20),
            });
        }
        self.keep(name, set, &dir, t)
    }

    /// Brings build `name`'s output to `dir`, writes its manifest and variations there,
    /// reports and records how it compares with the control; returns its out manifest.
    fn keep(
        &mut self,
        name: &str,
        set: &Set,
        dir: &Path,
        t: Instant,
    ) -> Result<Manifest, BuildError> {
        self.guest.copy_out("out", dir).map_err(guest_err)?;
        // What copy-out refused to bring to the host (devices, FIFOs, sockets).
        for w in self.guest.take_warnings() {
            self.progress.warn(&w);
        }
        let text = manifest_of(&dir.join("out"), "build/out")?;
        let manifest = Manifest::parse(&text);
        for (file, body) in [("manifest", text), ("variations", format!("{}\n", set.label()))] {
            let p = dir.join(file);
            fs::write(&p, body).map_err(io("cannot write", &p))?;
        }
        let differing = match &self.control {
            Some(c) => report::differing(c, &manifest),
            None => vec![],
        };
        let seconds = t.elapsed().as_secs_f64();
        let what = if set.is_empty() { "no variation".into() } else { set.label() };
        let res = if differing.is_empty() {
            "same".to_string()
        } else {
            format!("{} file(s) differ", differing.len())
        };
        self.progress.info(&format!("{name} ({what}): {res} ({seconds:.1} s)"));
        self.records.push(BuildRecord {
            name: name.to_string(),
            set: set.clone(),
            differing,
            dir: format!("var/check/{name}"),
            seconds,
        });
        Ok(manifest)
    }
}

impl Builds for Session<'_> {
    type Error = BuildError;

    fn differing(&mut self, set: &Set) -> Result<Vec<String>, BuildError> {
        let name = self.next_name("experiment");
        self.build(&name, set)?;
        Ok(self.records.last().map(|r| r.differing.clone()).unwrap_or_default())
    }

    fn control_again(&mut self) -> Result<Vec<String>, BuildError> {
        let name = self.next_name("control");
        let m = self.build(&name, &Set::empty())?;
        self.last_control = Some(m);
        Ok(self.records.last().map(|r| r.differing.clone()).unwrap_or_default())
    }
}
