//! `ombud keys rotate`: a new master-key generation wraps every key from now on; generations
//! superseded longer ago than backups are kept are retired (deleted from the key file), after
//! which no backup that still needs them can be read. Run it on a schedule, e.g. monthly.

use crate::admin_cmd::StoreArgs;
use crate::serve_cmd::{
    KEY_FILE_POLL, load_policy, master_key_file, read_key_file, replace_private,
};
use anyhow::{Context, Result, anyhow, bail};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use ombud_policy::Duration;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct RotateArgs {
    /// How long backups are kept: a generation is retired this long after the next one took
    /// over. Defaults to `[backups] keep` of the policy
    #[arg(long, value_name = "DURATION")]
    retire_after: Option<String>,
    /// The policy whose `[backups] keep` applies
    #[arg(long, env = "OMBUD_POLICY")]
    policy: Option<PathBuf>,
    /// Seconds to wait after writing the new generation, so that a running server reads it
    /// before keys are rewrapped to it (0 when no server runs)
    #[arg(long, default_value_t = 3 * KEY_FILE_POLL.as_secs(), value_parser = clap::value_parser!(u64).range(0..=600))]
    settle: u64,
    #[command(flatten)]
    store: StoreArgs,
}

pub fn run(args: RotateArgs) -> Result<ExitCode> {
    let Some(path) = master_key_file(&args.store.data_dir) else {
        bail!(
            "the master key comes from OMBUD_MASTER_KEY, which holds one key and no generations: move it into a file and name it with OMBUD_MASTER_KEY_FILE"
        );
    };
    let keep: Duration = match &args.retire_after {
        Some(text) => text
            .parse()
            .map_err(|e| anyhow!("--retire-after: {e}; write a duration like \"90 days\""))?,
        None => {
            let named = args.policy.clone().unwrap_or_else(|| "privacy.toml".into());
            if !named.exists() {
                bail!(
                    "--retire-after: say how long backups are kept (\"90 days\"), or give the policy whose [backups] keep says it"
                );
            }
            load_policy(Some(&named))?
                .0
                .backups
                .and_then(|b| b.keep)
                .ok_or_else(|| {
                    anyhow!(
                        "--retire-after: {} has no [backups] keep; add it or say how long backups are kept (\"90 days\")",
                        named.display()
                    )
                })?
        }
    };
    if !path.exists() {
        bail!(
            "there is no master key file at {}: start `ombud serve` once, or name the file with OMBUD_MASTER_KEY_FILE",
            path.display()
        );
    }
    let mut key = read_key_file(&path)?;
    let now = Timestamp::now();
    let generation = key.rotate(now)?;
    replace_private(&path, key.to_file_text().as_bytes())?;
    println!(
        "generation {generation} of the master key is current ({})",
        path.display()
    );
    if args.settle > 0 {
        println!(
            "waiting {} s so that a running server reads it before keys move to it",
            args.settle
        );
        std::thread::sleep(std::time::Duration::from_secs(args.settle));
    }
    let (store, _) = args.store.open_with_key()?;
    let rewrapped = store.rewrap_keys().context("while rewrapping keys")?;
    println!("rewrapped {rewrapped} keys and mails under generation {generation}");

    // A generation is retired once the one after it has been current for `keep`: every backup
    // that could still need it is older than backups are kept.
    let still_sealed = store.sealed_generations()?;
    let mut retired = Vec::new();
    let mut waiting = Vec::new();
    let generations = key.generations().to_vec();
    for pair in generations.windows(2) {
        let (old, next) = (&pair[0], &pair[1]);
        let superseded = next.created_at.unwrap_or(now);
        let due = ombud_core::retention::add(superseded, keep, &TimeZone::UTC);
        if due > now {
            waiting.push((old.number, due));
        } else if still_sealed.get(&old.number).copied().unwrap_or(0) > 0 {
            // Written under it after the rewrap read past it (a server that had not yet read
            // the new generation): the next rotation rewraps and retires it.
            println!(
                "generation {} still seals {} keys; it is retired at the next rotation",
                old.number, still_sealed[&old.number]
            );
        } else {
            retired.push(old.number);
        }
    }
    if !retired.is_empty() {
        for number in &retired {
            key.retire(*number);
        }
        replace_private(&path, key.to_file_text().as_bytes())?;
        for number in &retired {
            println!(
                "retired generation {number}: backups that still need it can no longer be read"
            );
        }
    }
    for (number, due) in waiting {
        println!(
            "generation {number} is kept for backups until {} and retired by the first rotation after that",
            due.strftime("%Y-%m-%d")
        );
    }
    // Retiring changes the key file only: what is sealed under which generation is as counted.
    let counts: Vec<String> = still_sealed
        .into_iter()
        .map(|(generation, count)| format!("generation {generation}: {count}"))
        .collect();
    println!(
        "sealed keys and mails now: {}",
        if counts.is_empty() {
            "none".to_owned()
        } else {
            counts.join(", ")
        }
    );
    Ok(ExitCode::SUCCESS)
}
