//! The generated sections of docs/benchmarks.md: a benchmark run with
//! `--docs` replaces the text between its own markers
//! (`<!-- NAME:begin ... -->` and `<!-- NAME:end -->`) with its tables,
//! headed by the date, the commit, the machine and the exact command, so
//! that every generated number in that file comes from one named run.

use std::path::PathBuf;
use std::process::Command;

/// The standard output of `cmd args`, trimmed; empty if it cannot run.
pub fn shell(cmd: &str, args: &[&str]) -> String {
    Command::new(cmd)
        .args(args)
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

/// Today's date (UTC), `YYYY-MM-DD`.
pub fn today() -> String {
    shell("date", &["-u", "+%Y-%m-%d"])
}

/// The commit the workspace is at, `+ changes` if it has uncommitted ones
/// outside `docs/` (a number from a build nobody can check out says so;
/// the sections an earlier benchmark of the same sitting wrote do not
/// count); `unknown` outside a git checkout.
pub fn commit() -> String {
    let root = root();
    let root = root.to_string_lossy();
    let hash = shell("git", &["-C", &root, "rev-parse", "--short", "HEAD"]);
    if hash.is_empty() {
        return "unknown".into();
    }
    let dirty = !shell(
        "git",
        &[
            "-C",
            &root,
            "status",
            "--porcelain",
            "--untracked-files=no",
            "--",
            ".",
            ":!docs",
        ],
    )
    .is_empty();
    if dirty {
        format!("{hash} + changes")
    } else {
        hash
    }
}

/// The machine: CPU count and model, kernel release. The count is the
/// machine's, from /proc/cpuinfo, not this process's affinity (a
/// benchmark may have pinned itself to one CPU).
pub fn machine() -> String {
    let info = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpus = info.lines().filter(|l| l.starts_with("processor")).count();
    let model = info
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .unwrap_or("")
        .trim();
    format!("{cpus} CPUs ({model}), Linux {}", shell("uname", &["-r"]))
}

/// The first paragraph of a generated section: the date, the commit, the
/// machine and `command`.
pub fn headline(command: &str) -> String {
    format!(
        "Run of {} (commit {}): {}. Command: `{command}`.\n\n",
        today(),
        commit(),
        machine()
    )
}

/// The workspace root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the benches crate is in the workspace")
        .to_path_buf()
}

/// Replaces the section `name` of docs/benchmarks.md (markers included)
/// with `body` between new markers that name `command`; appends it if the
/// file has no such section yet.
pub fn replace_section(name: &str, command: &str, body: &str) {
    let path = root().join("docs/benchmarks.md");
    let doc = std::fs::read_to_string(&path).unwrap_or_else(|_| "# Benchmarks\n\n".into());
    let begin = format!("<!-- {name}:begin");
    let end = format!("<!-- {name}:end -->\n");
    let section = format!("{begin} (written by `{command}`) -->\n{body}{end}");
    let new = match (doc.find(&begin), doc.find(&end)) {
        (Some(a), Some(b)) if a < b => format!("{}{section}{}", &doc[..a], &doc[b + end.len()..]),
        _ => format!("{doc}\n{section}"),
    };
    std::fs::write(&path, new).expect("docs/benchmarks.md");
    println!("wrote the {name} section of docs/benchmarks.md");
}

/// What a benchmark prints, line by line, kept for its docs section.
#[derive(Default)]
pub struct Transcript(String);

impl Transcript {
    /// Prints `line` and keeps it.
    pub fn say(&mut self, line: impl std::fmt::Display) {
        let line = line.to_string();
        println!("{line}");
        self.0.push_str(&line);
        self.0.push('\n');
    }

    /// Every line kept so far.
    pub fn text(&self) -> &str {
        &self.0
    }
}
