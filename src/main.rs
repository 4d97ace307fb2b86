//! `git-gitian`: the thin binary over the library; all work happens in `git_gitian::cli`.

fn main() -> std::process::ExitCode {
    git_gitian::cli::main()
}
