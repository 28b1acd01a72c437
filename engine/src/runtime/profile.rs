//! Gas profiles for developer tools: gas attributed per Wasm function, with
//! host calls as frames of their own ([`super::Executor::execute_profiled`]).
//!
//! A profiled run is a traced run (shadow-stack hooks around every call of a
//! defined function, `diagnostics`) of code prepared by
//! [`crate::prepare::prepare_code_for_profiling`], in which every function
//! takes the *boundary* convention of `specs/gas.md`: it reads the counter
//! from `cairn_gas_left` on entry and writes it back before it returns, and
//! callers publish it before calling. So at every hook the global holds the
//! exact counter of section 2, and the gas between two hooks belongs to the
//! function on top of the shadow stack, minus what host functions charged
//! meanwhile (recorded as they charge, under `host:<name>`). The conventions
//! only move where charges are placed, never what the counter is at a point
//! a call can observe, so the profiled run ends with the same status and gas
//! as the consensus run; the CLI checks that, and a test pins it.
//!
//! Only the top-level frame is profiled; a nested `call` is one host frame
//! (`host:call`) holding its base cost and all the gas the callee used. A
//! halt charges the whole limit: what the counter did not reach is one frame
//! `[halt: ...]` on the stack where it stopped.
//!
//! Normal execution never creates a [`ProfileState`]; the only cost it pays is
//! one `None` check per host charge.

use std::collections::BTreeMap;

/// Gas by call stack (outermost frame first), as folded stacks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GasProfile {
    /// Each distinct stack and the gas used with it on top (self gas).
    pub stacks: BTreeMap<Vec<String>, u64>,
}

impl GasProfile {
    /// The sum over all stacks: the frame's gas used.
    pub fn total(&self) -> u64 {
        self.stacks.values().sum()
    }

    /// Folded stacks, one `frame;frame;frame gas` line each (the input of
    /// flame graph tools), in a deterministic order.
    pub fn folded(&self) -> Vec<String> {
        self.stacks
            .iter()
            .filter(|(_, gas)| **gas > 0)
            .map(|(stack, gas)| format!("{} {gas}", stack.join(";")))
            .collect()
    }

    /// Self gas per frame name (leaf of a stack), largest first, ties by name.
    pub fn by_function(&self) -> Vec<(String, u64)> {
        let mut totals: BTreeMap<&str, u64> = BTreeMap::new();
        for (stack, gas) in &self.stacks {
            if let Some(leaf) = stack.last() {
                *totals.entry(leaf.as_str()).or_default() += gas;
            }
        }
        let mut rows: Vec<(String, u64)> = totals
            .into_iter()
            .map(|(name, gas)| (name.to_owned(), gas))
            .collect();
        rows.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        rows
    }
}

/// The profile being recorded by the top-level frame of a profiled run.
#[derive(Debug)]
pub(crate) struct ProfileState {
    /// The counter at the last hook.
    last: i64,
    /// Host charges since the last hook, by host function.
    host: Vec<(&'static str, u64)>,
    /// Gas by stack of function indices (host frames as `Err(name)`).
    stacks: BTreeMap<Vec<Frame>, u64>,
}

/// A frame of a recorded stack.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Frame {
    Function(u32),
    Host(&'static str),
    Halt(String),
}

impl ProfileState {
    pub(crate) fn new(gas_limit: i64) -> Self {
        Self {
            last: gas_limit,
            host: Vec::new(),
            stacks: BTreeMap::new(),
        }
    }

    /// A host function charged `cost`.
    /// `left` is the counter before the charge: a charge that runs out of
    /// gas counts only what was left.
    pub(crate) fn host_charge(&mut self, name: Option<&'static str>, cost: u64, left: i64) {
        let cost = cost.min(left.max(0).cast_unsigned());
        self.host.push((name.unwrap_or("host"), cost));
    }

    /// A hook saw the counter at `now` with `stack` active: the gas since the
    /// last hook goes to the top of `stack`, less the host charges made
    /// meanwhile, which go to their host frames on top of it.
    pub(crate) fn at_hook(&mut self, stack: &[u32], now: i64) {
        // Between check points the counter may dip below zero; what lies
        // below zero is never used (the call halts and is charged its limit).
        let now = now.max(0);
        let spent = self.last.saturating_sub(now).max(0).cast_unsigned();
        self.last = now;
        let mut host_total = 0u64;
        let frames: Vec<Frame> = stack.iter().map(|&i| Frame::Function(i)).collect();
        for (name, cost) in std::mem::take(&mut self.host) {
            host_total = host_total.saturating_add(cost);
            let mut path = frames.clone();
            path.push(Frame::Host(name));
            *self.stacks.entry(path).or_default() += cost;
        }
        let own = spent.saturating_sub(host_total);
        if own > 0 {
            *self.stacks.entry(frames).or_default() += own;
        }
    }

    /// The frame ended with `gas_used` charged in all; what the hooks did not
    /// see (a halt's remainder of the limit) goes to `[halt: why]` on the
    /// stack where it stopped.
    pub(crate) fn finish(
        mut self,
        stack: &[u32],
        now: Option<i64>,
        gas_used: u64,
        halt: Option<String>,
        name_of: impl Fn(u32) -> String,
    ) -> GasProfile {
        if let Some(now) = now {
            self.at_hook(stack, now);
        } else {
            // The counter is unspecified after a trap: keep the host charges.
            self.at_hook(stack, self.last);
        }
        let seen: u64 = self.stacks.values().sum();
        if gas_used > seen {
            let mut path: Vec<Frame> = stack.iter().map(|&i| Frame::Function(i)).collect();
            path.push(Frame::Halt(
                halt.unwrap_or_else(|| "unattributed".to_owned()),
            ));
            *self.stacks.entry(path).or_default() += gas_used - seen;
        }
        let mut profile = GasProfile::default();
        for (path, gas) in self.stacks {
            let names: Vec<String> = path
                .into_iter()
                .map(|frame| match frame {
                    Frame::Function(index) => name_of(index),
                    Frame::Host(name) => format!("host:{name}"),
                    Frame::Halt(why) => format!("[halt: {why}]"),
                })
                .collect();
            *profile.stacks.entry(names).or_default() += gas;
        }
        profile
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gas_between_hooks_goes_to_the_top_frame_less_host_charges() {
        let mut p = ProfileState::new(1_000);
        p.at_hook(&[0], 990); // export ran 10 before its first call
        p.host_charge(Some("storage_write"), 100, 990);
        p.at_hook(&[0, 3], 880); // callee ran 10, plus the host's 100
        let profile = p.finish(&[0], Some(870), 130, None, |i| format!("f{i}"));
        assert_eq!(profile.total(), 130);
        assert_eq!(
            profile.folded(),
            ["f0 20", "f0;f3 10", "f0;f3;host:storage_write 100"]
        );
        assert_eq!(profile.by_function()[0], ("host:storage_write".into(), 100));
    }

    #[test]
    fn a_halt_charges_the_rest_of_the_limit_where_it_stopped() {
        let mut p = ProfileState::new(50);
        p.at_hook(&[0], 40);
        let profile = p.finish(&[0, 1], None, 50, Some("out of gas".into()), |i| {
            format!("f{i}")
        });
        assert_eq!(profile.total(), 50);
        assert_eq!(profile.folded(), ["f0 10", "f0;f1;[halt: out of gas] 40"]);
    }

    #[test]
    fn nothing_below_zero_is_attributed() {
        let mut p = ProfileState::new(50);
        p.at_hook(&[0], 40);
        p.host_charge(Some("storage_write"), 100, 5); // only 5 were left
        p.at_hook(&[0, 1], -95);
        let profile = p.finish(&[0, 1], None, 50, Some("out of gas".into()), |i| {
            format!("f{i}")
        });
        assert_eq!(profile.total(), 50);
        assert_eq!(
            profile.folded(),
            ["f0 10", "f0;f1 35", "f0;f1;host:storage_write 5"]
        );
    }
}
