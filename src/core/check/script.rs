//! What the guest runs for a check, as shell text: the preparation (once per check), the
//! reset of the home before each build, and the launcher that applies one build's variations
//! as root and runs the build script as the build user. Every backend runs the same text, so a
//! variation behaves the same wherever it can be applied; the preparation's probes say where
//! it cannot.
//!
//! The control build runs exactly the build script `git gitian build` runs, with the same
//! login environment; only the launcher around it differs (root sets the variations up, then
//! `setpriv` switches to the build user as the sandbox backend does).

use super::{
    CLOCK_DAYS, EXPERIMENT_BUILD_DIR, EXPERIMENT_DOMAIN, EXPERIMENT_HOME, EXPERIMENT_HOSTNAME,
    EXPERIMENT_LANGUAGE, EXPERIMENT_LOCALE, EXPERIMENT_PATH_SUFFIX, EXPERIMENT_TZ, EXPERIMENT_USER,
    EXPERIMENT_VARIABLE, Facts, Set, Variation, experiment_jobs,
};
use crate::core::manifest::sha256_hex;

/// The host name every guest has (the control's).
pub const CONTROL_HOSTNAME: &str = "gitian";
/// The check's folder in the guest: the shim, its settings, the pristine home, the script.
pub const STATE_DIR: &str = "/var/lib/gitian-check";
/// The folder the host copies its cached preparation into (under the home).
pub const IMPORT_DIR: &str = "gitian-check-import";
/// The folder of prepared files, in the host's cache and in the guest.
pub const PREPARED_DIR: &str = "gitian-check-prepared";
/// The experiment locale's folder under /usr/lib/locale.
pub const LOCALE_DIR: &str = "et_EE.utf8";
/// The shim's source (`vary.c`).
pub const SHIM_SOURCE: &str = include_str!("vary.c");

/// Single-quotes `s` for the shell.
fn q(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// A here-document of `text` under a delimiter that cannot occur in it.
fn heredoc(target: &str, text: &str) -> String {
    let delim = format!("GITIAN_CHECK_{}", &sha256_hex(text.as_bytes())[..16].to_uppercase());
    let nl = if text.ends_with('\n') { "" } else { "\n" };
    format!("cat > {target} <<'{delim}'\n{text}{nl}{delim}\n")
}

/// The preparation's shim part: taken from the host's cache when it copied one in, else built;
/// then listed in /etc/ld.so.preload and tried.
fn prepare_shim() -> String {
    let mut s = String::new();
    // What an earlier check on this base image made (the shim, the locale), copied in by the
    // host from its cache: taken instead of made again.
    s.push_str(&format!(
        "I=\"$H/{IMPORT_DIR}/{PREPARED_DIR}\"\n\
         if [ -f \"$I/vary.so\" ] && [ -d \"$I/{LOCALE_DIR}\" ]; then\n\
         \x20 cp \"$I/vary.so\" \"$D/vary.so\" && mkdir -p /usr/lib/locale && rm -rf /usr/lib/locale/{LOCALE_DIR} && cp -a \"$I/{LOCALE_DIR}\" /usr/lib/locale/ && chown -R 0:0 \"$D/vary.so\" /usr/lib/locale/{LOCALE_DIR} && touch \"$D/imported\"\n\
         fi\nrm -rf \"$H/{IMPORT_DIR}\"\n"
    ));
    s.push_str(&heredoc("\"$D/vary.c\"", SHIM_SOURCE));
    s.push_str(concat!(
        "mkdir -p \"$D/t\" && : > \"$D/t/a\" && : > \"$D/t/b\" && : > \"$D/t/c\"\n",
        "if [ -f \"$D/vary.so\" ]; then :\n",
        "elif ! command -v gcc >/dev/null; then\n",
        "  say no clock no C compiler in the guest to build the LD_PRELOAD shim\n",
        "  say no fileordering no C compiler in the guest to build the LD_PRELOAD shim\n",
        "elif ! gcc -O2 -shared -fPIC -o \"$D/vary.so\" \"$D/vary.c\" -ldl 2>\"$D/cc.log\"; then\n",
        "  say no clock the LD_PRELOAD shim does not compile: \"$(head -1 \"$D/cc.log\")\"\n",
        "  say no fileordering the LD_PRELOAD shim does not compile: \"$(head -1 \"$D/cc.log\")\"\n",
        "fi\n",
        "if [ -f \"$D/vary.so\" ]; then\n",
        "  printf 'clock=0\\nreaddir=natural\\n' > \"$D/vary\"\n",
        "  echo \"$D/vary.so\" >> /etc/ld.so.preload\n",
        "  a=$(ls -U \"$D/t\" | tr '\\n' ,); t0=$(date +%s)\n",
        "  printf 'clock=86400\\nreaddir=reverse\\n' > \"$D/vary\"\n",
        "  b=$(ls -U \"$D/t\" | tr '\\n' ,); t1=$(date +%s)\n",
        "  printf 'clock=0\\nreaddir=natural\\n' > \"$D/vary\"\n",
        "  if [ $((t1 - t0)) -ge 86000 ]; then say ok clock; else say no clock the shim did not move the clock; fi\n",
        "  if [ \"$a\" != \"$b\" ]; then say ok fileordering; else say no fileordering the shim did not reverse ls -U; fi\n",
        "fi\n",
    ));
    s
}

/// The preparation, run once as root after the packages are installed: builds the shim
/// (clock, fileordering), generates the experiment locale, adds the experiment user, keeps a
/// copy of the pristine home, and probes each variation that needs the guest's consent. Prints
/// `gitian-check: ok NAME`, `gitian-check: no NAME WHY`, `gitian-check: cpus N`, or
/// `gitian-check: fail WHY` (then exits 3) when no build could run.
pub fn prepare(user: &str) -> String {
    let (xuser, xid) = EXPERIMENT_USER;
    let mut s = format!(
        "set -u\nD={STATE_DIR}\nsay() {{ printf 'gitian-check: %s\\n' \"$*\"; }}\nmkdir -p \"$D\"\n\
         P=$(getent passwd {u}) || {{ say fail the guest has no user {u}; exit 3; }}\n\
         BU=$(echo \"$P\" | cut -d: -f3); BG=$(echo \"$P\" | cut -d: -f4); H=$(echo \"$P\" | cut -d: -f6)\n\
         say id {u} \"$BU\" \"$BG\" \"$H\"\n",
        u = q(user)
    );
    // The build user is reached with setpriv where its ids are mapped (root, subordinate ids);
    // in a sandbox with one mapped id, with a nested user namespace, as the sandbox does
    // itself (then nothing can be chowned: every file is the one mapped id's).
    s.push_str(
        "command -v setpriv >/dev/null || { say fail setpriv '(util-linux)' is not in the guest; exit 3; }\n\
         SW=setpriv\n\
         if ! setpriv --reuid=\"$BU\" --regid=\"$BG\" --init-groups -- true 2>\"$D/setpriv.log\"; then\n\
         \x20 if unshare --user --map-user=\"$BU\" --map-group=\"$BG\" -- true 2>>\"$D/setpriv.log\"; then SW=nest; say switch nest\n\
         \x20 else say fail the guest cannot switch to uid \"$BU\": \"$(head -1 \"$D/setpriv.log\")\"; exit 3; fi\n\
         fi\n\
         own() { [ \"$SW\" = nest ] || chown \"$@\"; }\n\
         say cpus \"$(nproc)\"\n",
    );
    s.push_str(&prepare_shim());
    s.push_str(&format!(
        "[ -d /usr/lib/locale/{LOCALE_DIR} ] || localedef -i {lang} -c -f UTF-8 /usr/lib/locale/{LOCALE_DIR} >\"$D/locale.log\" 2>&1\n\
         if [ \"$(LC_ALL={loc} locale charmap 2>&1)\" = UTF-8 ]; then say ok locale; else say no locale localedef cannot make {loc}: \"$(tail -1 \"$D/locale.log\")\"; fi\n",
        lang = EXPERIMENT_LOCALE.split('.').next().unwrap_or("et_EE"),
        loc = EXPERIMENT_LOCALE,
    ));
    s.push_str(concat!(
        "if hostname > \"$D/h\" && { { cat \"$D/h\" > /proc/sys/kernel/hostname; } 2>/dev/null || hostname \"$(cat \"$D/h\")\" 2>/dev/null; }; then say ok hostname\n",
        "else say no hostname the guest cannot set its host name '(no CAP_SYS_ADMIN over its UTS namespace)'; fi\n",
        "m=$(uname -m)\n",
        "if [ \"$(setarch \"$m\" --uname-2.6 uname -r 2>\"$D/k.log\" | cut -c1-4)\" = 2.6. ]; then say ok kernel\n",
        "else say no kernel setarch --uname-2.6 does not work here: \"$(head -1 \"$D/k.log\")\"; fi\n",
        "if command -v taskset >/dev/null; then say ok num_cpus; else say no num_cpus taskset is not in the guest; fi\n",
        "if [ -x /bin/dash ] && [ -x /bin/bash ] && [ \"$(readlink /bin/sh)\" = dash ]; then say ok shell\n",
        "else say no shell /bin/sh is not dash in this guest; fi\n",
    ));
    s.push_str(&format!(
        "if getent passwd {xid} >/dev/null || getent group {xid} >/dev/null; then say no user id {xid} is taken in the guest\n\
         elif groupadd -g {xid} {xuser} && useradd -M -N -g {xid} -u {xid} -d \"$H\" -s /bin/bash {xuser}; then say ok user\n\
         else say no user useradd failed; fi\n\
         rm -rf \"$D/home\" && cp -a \"$H\" \"$D/home\" || {{ say fail cannot copy the home \"$H\"; exit 3; }}\n"
    ));
    // Offer what was made to the host's cache (the home is reset before every build).
    s.push_str(&format!(
        "if [ ! -e \"$D/imported\" ] && [ -f \"$D/vary.so\" ] && [ -d /usr/lib/locale/{LOCALE_DIR} ]; then\n\
         \x20 mkdir -p \"$H/{PREPARED_DIR}\" && cp \"$D/vary.so\" \"$H/{PREPARED_DIR}/\" && cp -a /usr/lib/locale/{LOCALE_DIR} \"$H/{PREPARED_DIR}/\" && own -R \"$BU:$BG\" \"$H/{PREPARED_DIR}\" && say export\n\
         fi\n"
    ));
    s
}

/// What the preparation found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Probes {
    /// Variations the guest cannot apply, with why.
    pub cannot: Vec<(Variation, String)>,
    /// CPUs the guest shows.
    pub cpus: Option<u32>,
    /// Why no build can run, if none can.
    pub fatal: Option<String>,
    /// Whether the guest offers its preparation for the host's cache.
    pub export: bool,
    /// The build user: name, uid, gid, home.
    pub id: Option<(String, u32, u32, String)>,
    /// The build user is reached through a nested user namespace (one mapped id).
    pub nest: bool,
}

/// Reads the preparation's `gitian-check:` lines (other lines are ignored).
pub fn parse_probes(text: &str) -> Probes {
    let mut p = Probes::default();
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("gitian-check: ") else { continue };
        let (word, rest) = rest.split_once(' ').unwrap_or((rest, ""));
        match word {
            "cpus" => p.cpus = rest.trim().parse().ok(),
            "fail" => p.fatal = Some(rest.trim().to_string()),
            "export" => p.export = true,
            "switch" => p.nest = rest.trim() == "nest",
            "id" => {
                let w: Vec<&str> = rest.split(' ').collect();
                if let [name, uid, gid, home] = w[..]
                    && let (Ok(uid), Ok(gid)) = (uid.parse(), gid.parse())
                {
                    p.id = Some((name.to_string(), uid, gid, home.to_string()));
                }
            }
            "no" => {
                let (name, why) = rest.split_once(' ').unwrap_or((rest, "not possible here"));
                if let Some(v) = Variation::from_name(name) {
                    p.cannot.push((v, why.trim().to_string()));
                }
            }
            _ => {}
        }
    }
    p
}

/// Before each build, as root: the home as the base image had it (plus the build folders,
/// which `git gitian build` makes as the build user), empty temporary folders.
pub fn reset(f: &Facts, nest: bool) -> String {
    let chown = if nest { ":" } else { "chown" };
    format!(
        "set -e\nD={STATE_DIR}\nH={home}\nrm -rf \"$H\" {xhome}\n\
         find /tmp /var/tmp -mindepth 1 -delete 2>/dev/null || true\n\
         cp -a \"$D/home\" \"$H\"\ncd \"$H\"\n\
         mkdir -m 755 build out install cache cache/common && {chown} {uid}:{gid} build out install cache cache/common\n",
        home = q(&f.home),
        xhome = q(EXPERIMENT_HOME),
        uid = f.uid,
        gid = f.gid
    )
}

/// The build script with `set`'s script-level variations put after Gitian's prologue (which
/// fixes the locale and the umask itself, so they must come later to count): locale, umask,
/// `-j`, `HOME`, and the folder the script starts in. The control's is the script unchanged.
/// `body` is the descriptor's script, which `script` ends with.
pub fn splice(script: &str, body: &str, set: &Set, f: &Facts) -> Result<String, String> {
    let tail = body.len() + usize::from(!body.ends_with('\n'));
    let prologue = script
        .len()
        .checked_sub(tail)
        .and_then(|n| script.get(..n))
        .and_then(|p| p.strip_suffix("cd build\n"))
        .ok_or("the build script does not end its prologue with `cd build`")?;
    let mut lines = String::new();
    if set.has(Variation::Locale) {
        lines.push_str(&format!(
            "export LANG={EXPERIMENT_LOCALE}\nexport LC_ALL={EXPERIMENT_LOCALE}\nexport LANGUAGE={EXPERIMENT_LANGUAGE}\n"
        ));
    }
    if set.has(Variation::Umask) {
        lines.push_str("umask 022\n");
    }
    if set.has(Variation::NumCpus) {
        let j = experiment_jobs(f.num_make);
        lines.push_str(&format!("MAKEOPTS=(-j{j})\nNUM_PROCS={j}\n"));
    }
    if set.has(Variation::Home) {
        lines.push_str(&format!("export HOME={EXPERIMENT_HOME}\n"));
    }
    let cd = if set.has(Variation::BuildPath) {
        format!("cd {}\n", q(&format!("{}/{EXPERIMENT_BUILD_DIR}", f.home)))
    } else {
        "cd build\n".to_string()
    };
    Ok(format!("{prologue}{lines}{cd}{}", &script[script.len() - tail..]))
}

/// What the launcher needs besides the variations.
#[derive(Debug, Clone)]
pub struct Launch<'a> {
    /// The guest's facts.
    pub facts: &'a Facts,
    /// The build user's login environment (`K=V`, as `git gitian build` gives it).
    pub login: &'a [String],
    /// `setarch` personality of the architecture.
    pub personality: Option<&'a str>,
    /// Variations the guest can apply (the others are left as the control has them).
    pub supported: &'a Set,
    /// Reach the build user through a nested user namespace instead of `setpriv`.
    pub nest: bool,
}

/// The build user's environment under `set`.
fn environment(set: &Set, l: &Launch<'_>) -> Vec<String> {
    let (xuser, _) = EXPERIMENT_USER;
    let mut env: Vec<String> = l
        .login
        .iter()
        .map(|kv| {
            let key = kv.split('=').next().unwrap_or("");
            match key {
                "USER" | "LOGNAME" if set.has(Variation::User) => format!("{key}={xuser}"),
                "PATH" if set.has(Variation::ExecPath) => format!("{kv}:{EXPERIMENT_PATH_SUFFIX}"),
                _ => kv.clone(),
            }
        })
        .collect();
    if set.has(Variation::Timezone) {
        env.push(format!("TZ={EXPERIMENT_TZ}"));
    }
    if set.has(Variation::Environment) {
        env.push(format!("{}={}", EXPERIMENT_VARIABLE.0, EXPERIMENT_VARIABLE.1));
    }
    env
}

/// The root script of one build: sets `set`'s guest-level variations up (clock and file order
/// through the shim's settings, host name, `/bin/sh`, build path, user, home folder), runs
/// `script` (already [`splice`]d) as the build user with its environment, CPUs and
/// personality, puts ownership back, and exits with the script's status.
pub fn launcher(set: &Set, l: &Launch<'_>, script: &str) -> String {
    let f = l.facts;
    let (_, xid) = EXPERIMENT_USER;
    let on = |v: Variation| set.has(v) && l.supported.has(v);
    let (uid, gid) = if on(Variation::User) { (xid, xid) } else { (f.uid, f.gid) };
    let mut s = format!("set -e\nD={STATE_DIR}\nH={}\n", q(&f.home));
    if l.nest {
        s.push_str("chown() { :; }\n");
    }
    let clock = if on(Variation::Clock) { CLOCK_DAYS * 86_400 } else { 0 };
    let order = if on(Variation::FileOrdering) { "reverse" } else { "natural" };
    s.push_str(&format!("printf 'clock=%s\\nreaddir=%s\\n' {clock} {order} > \"$D/vary\"\n"));
    s.push_str(&machine_variations(set, l));
    s.push_str(&heredoc("\"$D/script\"", script));
    let mut argv: Vec<String> = if l.nest {
        vec![
            "unshare".into(),
            "--user".into(),
            format!("--map-user={uid}"),
            format!("--map-group={gid}"),
        ]
    } else {
        vec![
            "setpriv".into(),
            format!("--reuid={uid}"),
            format!("--regid={gid}"),
            "--init-groups".into(),
            // As the backends' own switch (sudo cannot get it back): no mounts, no new /proc.
            "--bounding-set".into(),
            "-sys_admin".into(),
        ]
    };
    argv.extend(["--".into(), "env".into(), "-i".into()]);
    argv.extend(environment(set, l).iter().map(|kv| q(kv)));
    if on(Variation::NumCpus) {
        argv.extend(["taskset".into(), "-c".into(), "\"$CPU\"".into()]);
        s.push_str("CPU=$(sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' /proc/self/status | cut -d, -f1 | cut -d- -f1)\n");
    }
    let kernel = on(Variation::Kernel);
    match (l.personality, kernel) {
        (Some(p), _) => argv.extend(["setarch".into(), p.into()]),
        (None, true) => argv.extend(["setarch".into(), "\"$(uname -m)\"".into()]),
        (None, false) => {}
    }
    if kernel {
        argv.push("--uname-2.6".into());
    }
    argv.extend(["bash".into(), "-x".into(), "<".into(), "\"$D/script\"".into()]);
    s.push_str(&format!("cd \"$H\"\numask 022\nset +e\n{}\nrc=$?\nset -e\n", argv.join(" ")));
    if on(Variation::User) {
        s.push_str(&format!("chown -R {}:{} \"$H\"\n", f.uid, f.gid));
    }
    s.push_str("printf 'clock=0\\nreaddir=natural\\n' > \"$D/vary\"\nexit $rc\n");
    s
}

/// The launcher's lines that set the machine-level variations of `set` up: host and domain
/// name, `/bin/sh`, build path, home folder, and the owner of the home for another user.
fn machine_variations(set: &Set, l: &Launch<'_>) -> String {
    let f = l.facts;
    let (_, xid) = EXPERIMENT_USER;
    let on = |v: Variation| set.has(v) && l.supported.has(v);
    let (uid, gid) = if on(Variation::User) { (xid, xid) } else { (f.uid, f.gid) };
    let mut s = String::new();
    if l.supported.has(Variation::Hostname) {
        let (h, d) = if on(Variation::Hostname) {
            (EXPERIMENT_HOSTNAME, EXPERIMENT_DOMAIN)
        } else {
            (CONTROL_HOSTNAME, "(none)")
        };
        // /proc/sys is read-only in an LXC container, where hostname(1) still works.
        s.push_str(&format!(
            "{{ printf '%s\\n' {h} > /proc/sys/kernel/hostname; }} 2>/dev/null || hostname {h}\n\
             {{ printf '%s\\n' {d} > /proc/sys/kernel/domainname; }} 2>/dev/null || domainname {d}\n",
            d = q(d)
        ));
    }
    if l.supported.has(Variation::Shell) {
        let sh = if on(Variation::Shell) { "bash" } else { "dash" };
        s.push_str(&format!("ln -sfn {sh} /bin/sh\n"));
    }
    if on(Variation::BuildPath) {
        let parent = EXPERIMENT_BUILD_DIR.trim_end_matches("/build");
        s.push_str(&format!(
            "mkdir -p \"$H/{parent}\"\nmv \"$H/build\" \"$H/{EXPERIMENT_BUILD_DIR}\"\nln -s {EXPERIMENT_BUILD_DIR} \"$H/build\"\nchown -h {}:{} \"$H/{parent}\" \"$H/build\"\n",
            f.uid, f.gid
        ));
    }
    if on(Variation::Home) {
        s.push_str(&format!("mkdir -p {0}\nchown {uid}:{gid} {0}\n", q(EXPERIMENT_HOME)));
    }
    if on(Variation::User) {
        s.push_str(&format!("chown -R {uid}:{gid} \"$H\"\n"));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> Facts {
        Facts {
            user: "debian".into(),
            uid: 1000,
            gid: 1000,
            home: "/home/debian".into(),
            cpus: 2,
            num_make: 2,
            path: "/usr/bin:/bin".into(),
        }
    }

    const SCRIPT: &str = "#!/bin/bash\nset -e\nexport LANG='en_US.UTF-8'\numask 002\nNUM_PROCS=2\n\ncd build\necho hi\n";

    #[test]
    fn the_control_runs_the_script_unchanged() {
        assert_eq!(splice(SCRIPT, "echo hi", &Set::empty(), &facts()).unwrap(), SCRIPT);
        assert_eq!(splice(SCRIPT, "echo hi\n", &Set::empty(), &facts()).unwrap(), SCRIPT);
        assert!(
            splice(
                SCRIPT,
                "something else entirely, longer than the script",
                &Set::empty(),
                &facts()
            )
            .is_err()
        );
    }

    #[test]
    fn script_level_variations_come_after_the_prologue() {
        let set =
            Set::of([Variation::Locale, Variation::Umask, Variation::BuildPath, Variation::Home]);
        let s = splice(SCRIPT, "echo hi", &set, &facts()).unwrap();
        assert!(s.ends_with(
            "NUM_PROCS=2\n\nexport LANG=et_EE.UTF-8\nexport LC_ALL=et_EE.UTF-8\nexport LANGUAGE=et_EE:fr\n\
             umask 022\nexport HOME=/tmp/gitian-check-home\ncd '/home/debian/varied-build-path/build'\necho hi\n"
        ), "{s}");
    }

    #[test]
    fn the_launcher_applies_only_what_the_guest_supports() {
        let login = vec![
            "HOME=/home/debian".to_string(),
            "USER=debian".into(),
            "PATH=/usr/bin:/bin".into(),
        ];
        let supported = Set::all().minus(&Set::of([Variation::Hostname]));
        let l = Launch {
            facts: &facts(),
            login: &login,
            personality: Some("x86_64"),
            supported: &supported,
            nest: false,
        };
        let control = launcher(&Set::empty(), &l, SCRIPT);
        assert!(control.contains("setpriv --reuid=1000 --regid=1000 --init-groups --bounding-set -sys_admin -- env -i 'HOME=/home/debian' 'USER=debian' 'PATH=/usr/bin:/bin' setarch x86_64 bash -x < \"$D/script\""), "{control}");
        assert!(control.contains("ln -sfn dash /bin/sh\n"));
        assert!(!control.contains("hostname"));
        let all = launcher(&Set::all(), &l, SCRIPT);
        for needle in [
            "--reuid=2222 --regid=2222",
            "'USER=gitian-check'",
            "'PATH=/usr/bin:/bin:/usr/local/gitian-check/bin'",
            "'TZ=GMT-14' 'GITIAN_CHECK_EXTRA=varied' taskset -c \"$CPU\" setarch x86_64 --uname-2.6 bash -x",
            "printf 'clock=%s\\nreaddir=%s\\n' 34387200 reverse",
            "ln -sfn bash /bin/sh\n",
            "chown -R 1000:1000 \"$H\"\n",
        ] {
            assert!(all.contains(needle), "{needle} not in\n{all}");
        }
        assert!(!all.contains("hostname"));
        // One mapped id: a nested user namespace, and no chown.
        let nested = launcher(&Set::of([Variation::User]), &Launch { nest: true, ..l }, SCRIPT);
        assert!(
            nested.contains("unshare --user --map-user=2222 --map-group=2222 -- env -i"),
            "{nested}"
        );
        assert!(
            nested
                .starts_with("set -e\nD=/var/lib/gitian-check\nH='/home/debian'\nchown() { :; }\n"),
            "{nested}"
        );
        assert!(reset(&facts(), true).contains("&& : 1000:1000 build"));
    }

    #[test]
    fn the_script_is_embedded_verbatim() {
        let tricky = "echo 'GITIAN_CHECK_X'\ncat <<'EOF'\n$HOME\nEOF\n";
        let h = heredoc("f", tricky);
        let delim = h.lines().last().unwrap();
        assert!(h.starts_with(&format!("cat > f <<'{delim}'\n{tricky}")));
        assert!(!tricky.lines().any(|l| l == delim));
    }

    #[test]
    fn probes_say_whether_the_guest_exports_and_how_it_switches_user() {
        let p = parse_probes("gitian-check: switch nest\ngitian-check: export\n");
        assert_eq!((p.nest, p.export), (true, true));
        let p = parse_probes("gitian-check: cpus 3\n");
        assert_eq!((p.nest, p.export, p.cpus), (false, false, Some(3)));
    }

    #[test]
    fn probes_are_read() {
        let p = parse_probes(
            "noise\ngitian-check: cpus 2\ngitian-check: ok clock\ngitian-check: no hostname the guest cannot (x)\ngitian-check: no bogus y\n",
        );
        assert_eq!(p.cpus, Some(2));
        assert_eq!(p.cannot, [(Variation::Hostname, "the guest cannot (x)".to_string())]);
        assert_eq!(p.fatal, None);
        assert_eq!(
            parse_probes("gitian-check: fail no setpriv").fatal.as_deref(),
            Some("no setpriv")
        );
        assert!(prepare("debian").contains(SHIM_SOURCE));
        let p = parse_probes("gitian-check: id debian 1000 1001 /home/debian\n");
        assert_eq!(p.id, Some(("debian".into(), 1000, 1001, "/home/debian".into())));
        assert_eq!(parse_probes("gitian-check: id debian x 1 /h\n").id, None);
    }
}
