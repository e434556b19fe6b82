//! `ombud policy check|render|diff`: file handling and output around the policy crate.

use anyhow::{Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use ombud_policy::{Checked, Policy, finding};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Validate and lint a policy: errors name file:line:column, the key and the fix
    ///
    /// Exit status: 0 when the policy has no errors (and, with --deny-warnings, no warnings),
    /// 1 when it has, 2 when the file cannot be read.
    Check(CheckArgs),
    /// Render the privacy notice (Markdown, HTML) or the Article 30 record (CSV, JSON)
    ///
    /// The policy must check without errors first; the findings are printed otherwise.
    Render(RenderArgs),
    /// Compare two versions of a policy, classify each change as material or editorial and,
    /// where any change is material, draft the change notice for customers
    Diff(DiffArgs),
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum FindingsFormat {
    /// Human-readable, with the offending line
    Text,
    /// One JSON document: {"file", "errors", "warnings", "findings": [...]}
    Json,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The policy file
    #[arg(default_value = "privacy.toml")]
    pub file: PathBuf,
    /// Output format
    #[arg(long, value_enum, default_value = "text")]
    pub format: FindingsFormat,
    /// Exit with status 1 when there are warnings too
    #[arg(long)]
    pub deny_warnings: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum RenderFormat {
    /// The privacy notice as Markdown
    Md,
    /// The privacy notice as one self-contained HTML page
    Html,
    /// The Article 30 record of processing activities as CSV, one row per activity
    RopaCsv,
    /// The Article 30 record of processing activities as JSON
    RopaJson,
}

#[derive(Debug, Args)]
pub struct RenderArgs {
    /// The policy file
    #[arg(default_value = "privacy.toml")]
    pub file: PathBuf,
    /// What to render
    #[arg(long, value_enum)]
    pub format: RenderFormat,
    /// Write to this file instead of standard output
    #[arg(long, short)]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The published (old) version
    pub old: PathBuf,
    /// The new version
    pub new: PathBuf,
    /// Output format
    #[arg(long, value_enum, default_value = "text")]
    pub format: FindingsFormat,
}

pub fn run(command: PolicyCommand) -> Result<ExitCode> {
    match command {
        PolicyCommand::Check(args) => check(args),
        PolicyCommand::Render(args) => render(args),
        PolicyCommand::Diff(args) => diff(args),
    }
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).with_context(|| {
        format!(
            "while reading the policy {}: check the path (`ombud init` writes a starter privacy.toml)",
            path.display()
        )
    })
}

fn display_name(path: &Path) -> String {
    path.display().to_string()
}

fn findings_json(file: &str, checked: &Checked) -> serde_json::Value {
    serde_json::json!({
        "file": file,
        "errors": checked.errors().count(),
        "warnings": checked.warnings().count(),
        "findings": checked.findings,
    })
}

fn check(args: CheckArgs) -> Result<ExitCode> {
    let source = read(&args.file)?;
    let checked = ombud_policy::check(&source);
    let name = display_name(&args.file);
    // The datasets the policy names are checked with it, each problem at its file and line.
    let mut problems = Vec::new();
    if let Some(policy) = &checked.policy
        && !policy.datasets.is_empty()
    {
        let dir = args.file.parent().unwrap_or(Path::new("."));
        problems = ombud_connect::load_checked(policy, dir)
            .err()
            .unwrap_or_default();
    }
    let mut out = std::io::stdout().lock();
    match args.format {
        FindingsFormat::Text => {
            out.write_all(finding::render_text(&checked.findings, &source, &name).as_bytes())?;
            for problem in &problems {
                writeln!(out, "error: {problem}")?;
            }
        }
        FindingsFormat::Json => {
            let mut document = findings_json(&name, &checked);
            if let Some(object) = document.as_object_mut() {
                object.insert("dataset_problems".into(), serde_json::to_value(&problems)?);
            }
            writeln!(out, "{}", serde_json::to_string_pretty(&document)?)?
        }
    }
    let failed = checked.errors().next().is_some()
        || !problems.is_empty()
        || (args.deny_warnings && checked.warnings().next().is_some());
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Loads a policy that must have no errors; prints the findings and gives up otherwise.
fn load(path: &Path) -> Result<Result<Policy, ExitCode>> {
    let source = read(path)?;
    let checked = ombud_policy::check(&source);
    match checked.policy {
        Some(policy) => Ok(Ok(policy)),
        None => {
            eprint!(
                "{}",
                finding::render_text(&checked.findings, &source, &display_name(path))
            );
            eprintln!(
                "error: fix the errors above first (`ombud policy check {}`)",
                path.display()
            );
            Ok(Err(ExitCode::from(1)))
        }
    }
}

fn render(args: RenderArgs) -> Result<ExitCode> {
    let policy = match load(&args.file)? {
        Ok(policy) => policy,
        Err(code) => return Ok(code),
    };
    let rendered = match args.format {
        RenderFormat::Md => ombud_policy::render::markdown(&policy),
        RenderFormat::Html => ombud_policy::render::html(&policy),
        RenderFormat::RopaCsv => ombud_policy::render::ropa_csv(&policy),
        RenderFormat::RopaJson => ombud_policy::render::ropa_json(&policy),
    };
    match args.output {
        Some(path) => write_atomically(&path, rendered.as_bytes())?,
        None => std::io::stdout().lock().write_all(rendered.as_bytes())?,
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes through a temporary file in the same directory and renames it into place, so an
/// existing notice is never left half-written.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let file_name = path.file_name().with_context(|| {
        format!(
            "while writing {}: give a file name, not a directory",
            path.display()
        )
    })?;
    let temporary = dir.join(format!(".{}.tmp", file_name.to_string_lossy()));
    std::fs::write(&temporary, bytes).with_context(|| {
        format!(
            "while writing {}: check that the directory exists and is writable",
            path.display()
        )
    })?;
    std::fs::rename(&temporary, path)
        .with_context(|| format!("while writing {}", path.display()))?;
    Ok(())
}

fn diff(args: DiffArgs) -> Result<ExitCode> {
    let old = match load(&args.old)? {
        Ok(policy) => policy,
        Err(code) => return Ok(code),
    };
    let new = match load(&args.new)? {
        Ok(policy) => policy,
        Err(code) => return Ok(code),
    };
    let report = ombud_policy::diff::diff(&old, &new);
    let mut out = std::io::stdout().lock();
    match args.format {
        FindingsFormat::Text => out.write_all(report.to_text().as_bytes())?,
        FindingsFormat::Json => writeln!(out, "{}", serde_json::to_string_pretty(&report)?)?,
    }
    Ok(ExitCode::SUCCESS)
}
