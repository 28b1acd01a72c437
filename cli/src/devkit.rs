//! `cairn new`, `cairn build`, `cairn test`: the contract developer's loop.
//!
//! `new` writes a contract crate (its own workspace and lock file) that
//! depends on the SDK and the test harness of the Cairn checkout this binary
//! was built from. `build` runs that checkout's `contracts/build.sh --crate`
//! (the one toolchain route and post-processing the committed examples use),
//! then prepares the result as a deploy would. `test` builds, then runs the
//! crate's tests.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, anyhow, bail};
use cairn_engine::prepare::prepare_code;
use cairn_engine::runtime::ExecConfig;
use cairn_host_api::keccak256;
use clap::Args;
use serde_json::json;

use crate::common::{Status, print_json};

const CARGO_TOML: &str = include_str!("../templates/contract/Cargo.toml.tmpl");
const LIB_RS: &str = include_str!("../templates/contract/src/lib.rs.tmpl");
const TESTS_CARGO_TOML: &str = include_str!("../templates/contract/tests/Cargo.toml.tmpl");
const TEST_RS: &str = include_str!("../templates/contract/tests/test.rs.tmpl");
const GITIGNORE: &str = include_str!("../templates/contract/gitignore.tmpl");
const README: &str = include_str!("../templates/contract/README.md.tmpl");

/// The Cairn checkout whose SDK, harness and build script contracts use:
/// `$CAIRN_REPO`, else the checkout this binary was built from.
fn cairn_repo() -> Result<PathBuf> {
    let repo = match std::env::var_os("CAIRN_REPO") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join(".."),
    };
    let repo = repo
        .canonicalize()
        .with_context(|| format!("the Cairn checkout {} is not there", repo.display()))?;
    for needed in [
        "contracts/sdk/Cargo.toml",
        "contracts/build.sh",
        "testkit/Cargo.toml",
    ] {
        if !repo.join(needed).is_file() {
            bail!(
                "{} is not a Cairn checkout (no {needed}); set CAIRN_REPO to one",
                repo.display()
            );
        }
    }
    Ok(repo)
}

/// `cairn new`.
#[derive(Debug, Args)]
pub(crate) struct NewArgs {
    /// The contract's name (a Cargo package name: lowercase letters, digits, `-`, `_`).
    name: String,
    /// Directory to create it in (default: the current directory).
    #[arg(long, default_value = ".")]
    dir: PathBuf,
    /// Do not resolve the lock file (offline); `cairn build` creates it later.
    #[arg(long)]
    no_lock: bool,
}

fn check_name(name: &str) -> Result<()> {
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_lowercase());
    let rest_ok =
        chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if !first_ok || !rest_ok || name.len() > 64 {
        bail!(
            "{name:?} is not a contract name: start with a lowercase letter, then lowercase letters, digits, '-' or '_' (at most 64)"
        );
    }
    if name.ends_with("-tests") || name.ends_with("_tests") {
        bail!("{name:?}: the name may not end in -tests (its test crate is called that)");
    }
    Ok(())
}

fn render(template: &str, name: &str, cairn: &Path) -> String {
    template
        .replace("{{name}}", name)
        .replace("{{lib}}", &name.replace('-', "_"))
        .replace("{{cairn}}", &cairn.display().to_string())
}

pub(crate) fn new(args: NewArgs) -> Result<Status> {
    check_name(&args.name)?;
    let repo = cairn_repo()?;
    let root = args.dir.join(&args.name);
    if root.exists() {
        bail!("{} already exists", root.display());
    }
    let lib = args.name.replace('-', "_");
    let files: [(PathBuf, &str); 6] = [
        (PathBuf::from("Cargo.toml"), CARGO_TOML),
        (PathBuf::from("src/lib.rs"), LIB_RS),
        (PathBuf::from("tests/Cargo.toml"), TESTS_CARGO_TOML),
        (PathBuf::from(format!("tests/{lib}.rs")), TEST_RS),
        (PathBuf::from(".gitignore"), GITIGNORE),
        (PathBuf::from("README.md"), README),
    ];
    for (path, template) in files {
        let path = root.join(path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        std::fs::write(&path, render(template, &args.name, &repo))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    if !args.no_lock {
        write_lock(&root, &repo)?;
    }
    println!("created {} (contract `{}`)", root.display(), args.name);
    println!("  cd {} && cairn build && cairn test", root.display());
    Ok(Status::Done)
}

/// The new crate's lock file: Cairn's own versions where they apply (so the
/// harness builds with what Cairn is tested with), resolved for this crate.
fn write_lock(root: &Path, repo: &Path) -> Result<()> {
    let seed = repo.join("Cargo.lock");
    if seed.is_file() {
        std::fs::copy(&seed, root.join("Cargo.lock")).context("seeding Cargo.lock")?;
    }
    let status = Command::new("cargo")
        .args(["metadata", "--format-version", "1", "--quiet"])
        .current_dir(root)
        .stdout(std::process::Stdio::null())
        .status()
        .context("running cargo")?;
    if !status.success() {
        bail!(
            "resolving the lock file of {} failed (cargo metadata, above); run `cargo generate-lockfile` there when the registry is reachable, or use --no-lock",
            root.display()
        );
    }
    Ok(())
}

/// `cairn build`.
#[derive(Debug, Args)]
pub(crate) struct BuildArgs {
    /// The contract crate (default: the current directory).
    #[arg(long, default_value = ".")]
    path: PathBuf,
    /// Rebuild from scratch and check the bytes equal the last build.
    #[arg(long)]
    check: bool,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// The name of the package whose manifest is `dir/Cargo.toml` (asked of
/// cargo, which also checks the manifest).
fn package_name(dir: &Path) -> Result<String> {
    let manifest = dir.join("Cargo.toml");
    if !manifest.is_file() {
        bail!(
            "{} is not a contract crate (no Cargo.toml); run this in one, or give --path",
            dir.display()
        );
    }
    let output = Command::new("cargo")
        .args([
            "metadata",
            "--no-deps",
            "--format-version",
            "1",
            "--offline",
            "--quiet",
        ])
        .current_dir(dir)
        .output()
        .context("running cargo metadata")?;
    if !output.status.success() {
        bail!(
            "cargo cannot read {}: {}",
            manifest.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    let metadata: serde_json::Value =
        serde_json::from_slice(&output.stdout).context("parsing cargo metadata")?;
    metadata["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["manifest_path"].as_str().map(Path::new) == Some(manifest.as_path()))
        .and_then(|p| p["name"].as_str())
        .map(str::to_owned)
        .ok_or_else(|| anyhow!("{} has no [package]", manifest.display()))
}

pub(crate) fn build(args: BuildArgs) -> Result<Status> {
    let dir = args
        .path
        .canonicalize()
        .with_context(|| format!("{} does not exist", args.path.display()))?;
    let name = package_name(&dir)?;
    let repo = cairn_repo()?;
    let mut command = Command::new("bash");
    command
        .arg(repo.join("contracts/build.sh"))
        .arg("--crate")
        .arg(&dir);
    if args.check {
        command.arg("--check");
    }
    let status = command.status().context("running contracts/build.sh")?;
    if !status.success() {
        bail!("building {name} failed (contracts/build.sh said why, above)");
    }
    let wasm = dir.join("target/cairn").join(format!("{name}.wasm"));
    let code = std::fs::read(&wasm).with_context(|| format!("reading {}", wasm.display()))?;
    // What a deploy runs: the executor's default schedule and limits.
    let config = ExecConfig::default();
    let prepared = prepare_code(&code, &config.schedule, &config.limits)
        .map_err(|e| anyhow!("{} would be refused at deploy: {e}", wasm.display()))?;
    let hash = format!("{:#x}", keccak256(&code));
    if args.json {
        print_json(&json!({
            "name": name,
            "wasm": wasm,
            "size": code.len(),
            "code_hash": hash,
            "prepared_size": prepared.code.len(),
            "checked": args.check,
        }))?;
    } else {
        println!("contract        {name}");
        println!("wasm            {}", wasm.display());
        println!("size            {} bytes", code.len());
        println!("code hash       {hash}");
        println!("prepared size   {} bytes", prepared.code.len());
        if args.check {
            println!("reproducible    a from-scratch rebuild is byte-identical");
        }
    }
    Ok(Status::Done)
}

/// `cairn test`.
#[derive(Debug, Args)]
pub(crate) struct TestArgs {
    /// The contract crate (default: the current directory).
    #[arg(long, default_value = ".")]
    path: PathBuf,
    /// Arguments for `cargo test` (after `--`).
    #[arg(last = true)]
    cargo_args: Vec<String>,
}

pub(crate) fn test(args: TestArgs) -> Result<Status> {
    build(BuildArgs {
        path: args.path.clone(),
        check: false,
        json: false,
    })?;
    let status = Command::new("cargo")
        .arg("test")
        .args(&args.cargo_args)
        .current_dir(&args.path)
        .status()
        .context("running cargo test")?;
    if !status.success() {
        bail!(
            "the tests of {} failed (cargo test, above)",
            args.path.display()
        );
    }
    Ok(Status::Done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked() {
        for good in ["hello", "my-token", "a1_b2"] {
            check_name(good).unwrap();
        }
        for bad in [
            "",
            "Hello",
            "1up",
            "a b",
            "x/y",
            "hello-tests",
            &"a".repeat(65),
        ] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn templates_have_no_placeholder_left() {
        let repo = Path::new("/cairn");
        for template in [
            CARGO_TOML,
            LIB_RS,
            TESTS_CARGO_TOML,
            TEST_RS,
            GITIGNORE,
            README,
        ] {
            let out = render(template, "my-token", repo);
            assert!(!out.contains("{{"), "{out}");
        }
        assert!(render(TESTS_CARGO_TOML, "my-token", repo).contains("name = \"my_token\""));
    }
}
