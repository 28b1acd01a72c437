//! `cairn run --profile FILE.svg`: a gas profile of the call (gas per Wasm
//! function, host calls as frames of their own), drawn as a flame graph with
//! `inferno`, summarised as a top-N table, and given as folded stacks with
//! `--json`. The profile comes from a separate profiled run
//! (`Executor::execute_profiled`); the gas figure printed is always the
//! consensus run's, and the two must agree.

use std::path::Path;

use anyhow::{Context, Result, bail};
use cairn_engine::runtime::{ExecOutcome, GasProfile};
use serde::Serialize;

/// The profile as `--json` prints it.
#[derive(Debug, Serialize)]
pub(crate) struct ProfileView {
    /// The flame graph written.
    pub(crate) svg: String,
    /// Gas in the profile: always the call's gas used.
    pub(crate) total: u64,
    /// `frame;frame;frame gas` per stack, outermost frame first.
    pub(crate) folded: Vec<String>,
    /// Self gas per frame, largest first.
    pub(crate) top: Vec<TopRow>,
}

/// One row of the top table.
#[derive(Debug, Serialize)]
pub(crate) struct TopRow {
    pub(crate) frame: String,
    pub(crate) gas: u64,
}

/// Checks that the profiled run ended as the consensus run did and that the
/// profile accounts for all its gas.
///
/// # Errors
///
/// A difference: a bug in the profiler, never in the contract.
pub(crate) fn check_neutral(
    outcome: &ExecOutcome,
    profiled: &ExecOutcome,
    profile: &GasProfile,
) -> Result<()> {
    if profiled.status != outcome.status || profiled.gas_used != outcome.gas_used {
        bail!(
            "the profiled run ended {} with {} gas, the run {} with {} gas (a profiler bug)",
            profiled.status.name(),
            profiled.gas_used,
            outcome.status.name(),
            outcome.gas_used
        );
    }
    if profile.total() != outcome.gas_used && !profile.stacks.is_empty() {
        bail!(
            "the profile accounts for {} gas of {} (a profiler bug)",
            profile.total(),
            outcome.gas_used
        );
    }
    Ok(())
}

/// Writes the flame graph of `profile` to `svg` and returns the JSON view.
///
/// # Errors
///
/// The file cannot be written.
pub(crate) fn write(profile: &GasProfile, svg: &Path, title: &str) -> Result<ProfileView> {
    let folded = profile.folded();
    let mut options = inferno::flamegraph::Options::default();
    options.title = title.to_owned();
    options.count_name = "gas".to_owned();
    // Colours from the frame names, so the same profile draws the same file.
    options.deterministic = true;
    let file =
        std::fs::File::create(svg).with_context(|| format!("cannot create {}", svg.display()))?;
    let mut writer = std::io::BufWriter::new(file);
    if folded.is_empty() {
        // inferno refuses an empty profile; a call that ran no code still
        // gets a (blank) file, so scripts find what they asked for.
        std::io::Write::write_all(
            &mut writer,
            br#"<svg xmlns="http://www.w3.org/2000/svg" width="1200" height="60"><text x="10" y="30">no gas used in Wasm</text></svg>"#,
        )?;
    } else {
        inferno::flamegraph::from_lines(
            &mut options,
            folded.iter().map(String::as_str),
            &mut writer,
        )
        .with_context(|| format!("cannot write the flame graph to {}", svg.display()))?;
    }
    std::io::Write::flush(&mut writer)?;
    Ok(ProfileView {
        svg: svg.display().to_string(),
        total: profile.total(),
        folded,
        top: profile
            .by_function()
            .into_iter()
            .map(|(frame, gas)| TopRow { frame, gas })
            .collect(),
    })
}

/// Prints the `n` frames with the most self gas, with their share.
pub(crate) fn print_top(view: &ProfileView, n: usize) {
    println!(
        "gas profile: {} gas; flame graph in {}",
        view.total, view.svg
    );
    println!("  {:>10}  {:>6}  frame (self gas)", "gas", "share");
    for row in view.top.iter().take(n) {
        // Integer per-mille: no floats in anything we print from gas.
        let permille = if view.total == 0 {
            0
        } else {
            u128::from(row.gas) * 1000 / u128::from(view.total)
        };
        println!(
            "  {:>10}  {:>3}.{}%  {}",
            row.gas,
            permille / 10,
            permille % 10,
            row.frame
        );
    }
    if view.top.len() > n {
        println!(
            "  ... {} more frames (--json lists all)",
            view.top.len() - n
        );
    }
}
