//! Shell completion in real shells: bash (with bash-completion and git's own completion) and
//! zsh (with compinit and its `_git`), each in a tmux pane, keys typed, screen read back.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::{bin, stderr};

/// A tmux server of its own; killed on drop.
struct Pane {
    socket: String,
    _dir: tempfile::TempDir,
}

impl Pane {
    /// Starts `shell_cmd` in a fresh tmux server and waits for its prompt (`$ `).
    fn start(dir: tempfile::TempDir, shell_cmd: &str) -> Self {
        let socket = format!(
            "gg-{}-{}",
            std::process::id(),
            dir.path().file_name().unwrap().to_string_lossy()
        );
        let pane = Self { socket, _dir: dir };
        let out = pane
            .tmux(&["-f", "/dev/null", "new-session", "-d", "-x", "160", "-y", "40", shell_cmd])
            .output()
            .unwrap();
        assert!(out.status.success(), "tmux: {}", stderr(&out));
        pane.wait_for(|screen| screen.contains("gg$"), "the prompt");
        pane
    }

    fn tmux(&self, args: &[&str]) -> Command {
        let mut c = Command::new("tmux");
        c.arg("-L").arg(&self.socket).args(args);
        c
    }

    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "0"];
        args.extend_from_slice(keys);
        assert!(self.tmux(&args).status().unwrap().success());
    }

    fn screen(&self) -> String {
        let out = self.tmux(&["capture-pane", "-p", "-t", "0"]).output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Waits until the screen satisfies `ok` (a generous ceiling, 120 s: zsh's compinit on a
    /// loaded machine is slow, and the wait ends as soon as the screen is right).
    fn wait_for(&self, ok: impl Fn(&str) -> bool, what: &str) -> String {
        let start = Instant::now();
        loop {
            let screen = self.screen();
            if ok(&screen) {
                return screen;
            }
            assert!(
                start.elapsed() < Duration::from_secs(120),
                "waited for {what}; screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Types `line`, presses TAB (twice when `list`: the candidates are listed) and checks the
    /// screen for `want`; `want` ending in a space is checked by typing `Z` after the TAB (tmux
    /// does not show trailing spaces). Then clears the line and the screen.
    fn complete(&self, line: &str, list: bool, want: &str) {
        self.keys(&["-l", line]);
        self.keys(&["Tab"]);
        if list {
            std::thread::sleep(Duration::from_millis(500));
            self.keys(&["Tab"]);
        }
        let want = if let Some(w) = want.strip_suffix(' ') {
            std::thread::sleep(Duration::from_millis(500));
            self.keys(&["Z"]);
            format!("{w} Z")
        } else {
            want.to_string()
        };
        let want = want.as_str();
        self.wait_for(|s| s.contains(want), &format!("{want:?} after {line:?} TAB"));
        self.keys(&["C-e"]);
        self.keys(&["C-u"]);
        self.keys(&["-l", "clear"]);
        self.keys(&["Enter"]);
        self.wait_for(|s| !s.contains(want), "a cleared screen");
    }
}

impl Drop for Pane {
    fn drop(&mut self) {
        let _ = self.tmux(&["kill-server"]).output();
    }
}

fn have(program: &str) -> bool {
    Command::new(program).arg("-c").arg("true").output().is_ok_and(|o| o.status.success())
        || Command::new(program).arg("-V").output().is_ok()
}

/// A home with the binary on PATH and the completion script installed where
/// `scripts/install` puts it for a user (`~/.local/share/...`).
fn home_with(shell: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::Builder::new().prefix("ggc").tempdir_in("/tmp").unwrap();
    let home = dir.path().to_path_buf();
    let bin_dir = home.join("bin");
    std::fs::create_dir_all(&bin_dir).unwrap();
    std::os::unix::fs::symlink(bin(), bin_dir.join("git-gitian")).unwrap();
    let out = Command::new(bin()).args(["completions", shell]).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let (sub, name) = match shell {
        "bash" => (".local/share/bash-completion/completions", "git-gitian"),
        _ => (".zfunc", "_git-gitian"),
    };
    std::fs::create_dir_all(home.join(sub)).unwrap();
    std::fs::write(home.join(sub).join(name), &out.stdout).unwrap();
    (dir, bin_dir)
}

/// A small ledger (a git work tree) in `home/ledger`: two releases, two signers.
fn ledger(home: &Path) -> PathBuf {
    let dir = home.join("ledger");
    for (rel, signer) in [("0.21.0-linux", "alice"), ("0.21.0-win", "bob")] {
        let d = dir.join(rel).join(signer);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("x-build.assert"), "x").unwrap();
    }
    crate::common::git(&dir, &["init", "-q"]);
    dir
}

/// `cd` into `dir` in the pane.
fn cd(pane: &Pane, dir: &Path) {
    pane.keys(&["-l", &format!("cd {} && clear", dir.display())]);
    pane.keys(&["Enter"]);
    // Done once the screen is cleared down to the prompt.
    pane.wait_for(|s| s.trim() == "gg$", "the prompt after cd");
}

fn env_line(home: &Path, bin_dir: &Path) -> String {
    format!(
        "env -i HOME={h} PATH={b}:/usr/bin:/bin TERM=xterm GIT_CONFIG_NOSYSTEM=1 LC_ALL=C.UTF-8",
        h = home.display(),
        b = bin_dir.display()
    )
}

#[test]
fn test_completion_in_bash_for_git_gitian_and_git_dash_gitian() {
    if !(have("tmux") && Path::new("/usr/share/bash-completion/bash_completion").exists()) {
        crate::common::skip("tmux or bash-completion is not installed");
        return;
    }
    let (dir, bin_dir) = home_with("bash");
    let home = dir.path().to_path_buf();
    std::fs::write(
        home.join(".bashrc"),
        "source /usr/share/bash-completion/bash_completion\nPS1='gg$ '\n",
    )
    .unwrap();
    let cmd = format!("{} bash --rcfile {}/.bashrc -i", env_line(&home, &bin_dir), home.display());
    let pane = Pane::start(dir, &cmd);
    // `git gitian ...`: git's completion loads completions/git-gitian and calls _git_gitian.
    pane.complete("git gitian ver", false, "gg$ git gitian verify ");
    pane.complete("git gitian build --backend sa", false, "--backend sandbox ");
    pane.complete("git gitian build --backend ", true, "podman");
    pane.complete("git -C / gitian make-b", false, "gitian make-base ");
    pane.complete("git gitian sign --form", false, "--format ");
    // `git-gitian ...`
    pane.complete("git-gitian ver", false, "gg$ git-gitian verify ");
    pane.complete("git-gitian build --backend ", true, "sandbox");
    pane.complete("git-gitian verify --format g", false, "--format gverify");
    // Release and signer names come from the ledger around the current directory.
    cd(&pane, &ledger(&home));
    pane.complete("git gitian verify -r 0.21.0-l", false, "-r 0.21.0-linux ");
    pane.complete("git gitian sign -r 0.21.0-", true, "0.21.0-win");
    pane.complete("git-gitian verify --compare-to b", false, "--compare-to bob ");
}

#[test]
fn test_completion_in_zsh_for_git_gitian_and_git_dash_gitian() {
    if !(have("tmux") && have("zsh")) {
        crate::common::skip("tmux or zsh is not installed");
        return;
    }
    let (dir, bin_dir) = home_with("zsh");
    let home = dir.path().to_path_buf();
    std::fs::write(
        home.join(".zshrc"),
        "fpath=(~/.zfunc $fpath)\nautoload -Uz compinit && compinit -u\nPS1='gg$ '\n",
    )
    .unwrap();
    let cmd = format!("{} ZDOTDIR={h} zsh -i", env_line(&home, &bin_dir), h = home.display());
    let pane = Pane::start(dir, &cmd);
    pane.complete("git gitian ver", false, "gg$ git gitian verify ");
    pane.complete("git gitian build --backend sa", false, "--backend sandbox ");
    pane.complete("git-gitian ver", false, "gg$ git-gitian verify ");
    pane.complete("git-gitian build --backend ", true, "podman");
    cd(&pane, &ledger(&home));
    pane.complete("git gitian verify -r 0.21.0-l", false, "-r 0.21.0-linux ");
    pane.complete("git-gitian sign -s a", false, "-s alice ");
}
