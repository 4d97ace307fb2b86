//! `git gitian hooks install` under faults (issue 10 item 6): a kill at any point leaves hooks
//! that git runs or no hook at all, and the next run repairs whatever is left.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Instant;

use crate::common::ledger::World;
use crate::common::stderr;

const HOOKS: [&str; 2] = ["pre-commit", "pre-push"];

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

fn leftovers(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut out: Vec<String> = entries
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".gitian-tmp-") || n.contains("_git2_"))
        .collect();
    out.sort();
    out
}

/// A process id that is certainly gone: a child that has exited and been reaped.
fn dead_pid() -> u32 {
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    pid
}

/// Both hooks hold our block and git runs them: an unsigned attestation cannot be committed.
fn assert_hooks_work(w: &World, repo: &Path) {
    let hooks = repo.join(".git/hooks");
    for h in HOOKS {
        let path = hooks.join(h);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("# >>> git-gitian >>>"), "{h}: {text}");
        assert_ne!(mode(&path) & 0o111, 0, "{h} is not executable: git would skip it");
    }
    std::fs::create_dir_all(repo.join("1.0/alice")).unwrap();
    std::fs::write(repo.join("1.0/alice/x-build.assert"), "--- !!omap\n- out_manifest: ''\n")
        .unwrap();
    w.git_ok(repo, &["add", "1.0"]);
    let commit = w.git(repo, &["commit", "-qm", "unsigned"]);
    assert!(!commit.status.success(), "the pre-commit guard did not run");
    w.git_ok(repo, &["rm", "-q", "-r", "--cached", "1.0"]);
    std::fs::remove_dir_all(repo.join("1.0")).unwrap();
}

fn fresh_repo(w: &World, name: &str) -> std::path::PathBuf {
    let repo = w.path(name);
    std::fs::create_dir(&repo).unwrap();
    w.git_ok(&repo, &["init", "-q"]);
    repo
}

/// The state a kill between the rename and the chmod left (our block in place, mode 0600):
/// git ignores such a hook, and re-running `hooks install` used to say there was nothing to do.
#[test]
fn test_hooks_install_repairs_a_hook_left_not_executable() {
    let w = World::new(&[]);
    let repo = fresh_repo(&w, "sigs");
    w.gitian_ok(&repo, &["hooks", "install"]);
    for h in HOOKS {
        std::fs::set_permissions(repo.join(".git/hooks").join(h), PermissionsExt::from_mode(0o600))
            .unwrap();
    }
    let out = w.gitian_ok(&repo, &["hooks", "install"]);
    for h in HOOKS {
        let path = repo.join(".git/hooks").join(h);
        assert!(
            stderr(&out).contains(&format!("installed into {}", path.display())),
            "{}",
            stderr(&out)
        );
        assert_eq!(mode(&path), 0o700, "{h}: executable where readable");
    }
    assert_hooks_work(&w, &repo);
}

/// SIGKILL at spread-out instants of `hooks install`: after each kill every hook file present
/// is executable, and the next run installs both, cleaning the temporary files of dead runs.
#[test]
fn test_hooks_install_kill_9_at_any_point_is_repaired() {
    let w = World::new(&[]);
    let probe = fresh_repo(&w, "probe");
    let t0 = Instant::now();
    w.gitian_ok(&probe, &["hooks", "install"]);
    let full = t0.elapsed();
    let steps = 16;
    for i in 0..steps {
        let repo = fresh_repo(&w, &format!("r{i}"));
        let hooks = repo.join(".git/hooks");
        let delay = full.mul_f64(i as f64 / steps as f64 * 1.2);
        let mut child = w
            .cmd(crate::common::bin())
            .args(["hooks", "install"])
            .current_dir(&repo)
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(delay);
        let _ = child.kill();
        let _ = child.wait();
        for h in HOOKS {
            let path = hooks.join(h);
            if path.exists() {
                assert_ne!(mode(&path) & 0o111, 0, "kill at {delay:?} left {h} not executable");
            }
        }
        // What a kill inside the write leaves: a temporary file of a process that is gone.
        std::fs::write(hooks.join(format!(".gitian-tmp-{}-Xy12Ab", dead_pid())), "#!/bin/sh\n")
            .unwrap();
        w.gitian_ok(&repo, &["hooks", "install"]);
        assert_eq!(leftovers(&hooks), Vec::<String>::new(), "after the kill at {delay:?}");
        assert_hooks_work(&w, &repo);
    }
}
