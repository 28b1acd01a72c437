//! Metering overhead: each program of `benches/programs/` (plus the example
//! token contract) run three ways in one process on wasmi: unmetered, with
//! Cairn's injected metering (`prepare_code`), and with wasmi's built-in
//! fuel; plus `prepare_code` time against wasmi's own eager compile of the
//! same module. Shared by `benches/benches/metering.rs` (criterion) and
//! `cairn bench metering`.
#![allow(
    clippy::float_arithmetic,
    reason = "benchmark statistics, never part of a consensus result"
)]

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use cairn_engine::prepare::{GAS_LEFT_GLOBAL, GasSchedule, ValidationLimits, prepare_code};
use cairn_host_api::world::{H160, U256};
use serde::Serialize;
use wasmi::{Caller, CompilationMode, Config, Engine, Linker, Module, Store, TypedFunc, Val};

/// A benchmark program.
#[derive(Debug, Clone)]
pub struct Program {
    /// Group name (`fib`, `coremark`, `keccak`, `sort`, `storage`, `token`).
    pub name: &'static str,
    /// The original module.
    pub wasm: Vec<u8>,
    /// Whether it is the token contract (needs deploy and call data).
    token: bool,
}

/// Every program, in report order.
pub fn programs() -> Vec<Program> {
    let wat = |name, text: &str| Program {
        name,
        wasm: wat::parse_str(text).expect("benchmark program parses"),
        token: false,
    };
    vec![
        wat("fib", include_str!("../programs/fib.wat")),
        wat("coremark", include_str!("../programs/coremark.wat")),
        wat("keccak", include_str!("../programs/keccak.wat")),
        wat("sort", include_str!("../programs/sort.wat")),
        wat("storage", include_str!("../programs/storage.wat")),
        Program {
            name: "token",
            wasm: crate::workload::TOKEN_WASM.to_vec(),
            token: true,
        },
    ]
}

/// How a program is run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The original module, no metering.
    Unmetered,
    /// The prepared module (injected gas and stack-height metering).
    Injected,
    /// The original module with wasmi's built-in fuel metering.
    Fuel,
}

/// The minimal world the token contract needs: call data, a caller and storage.
#[derive(Debug, Default)]
struct BenchHost {
    input: Vec<u8>,
    caller: [u8; 20],
    storage: BTreeMap<Vec<u8>, Vec<u8>>,
    /// The instance's memory, kept once it is instantiated (as the
    /// runtime's host does), so host functions do not look it up by name:
    /// that lookup's cost grows with the number of exports, which the
    /// prepared module has more of, and is no part of metering.
    memory: Option<wasmi::Memory>,
}

const RETURNED: i32 = 0;
const REVERTED: i32 = 1;

fn memory_of(caller: &Caller<'_, BenchHost>) -> Result<wasmi::Memory, wasmi::Error> {
    caller
        .data()
        .memory
        .ok_or_else(|| wasmi::Error::new("no memory export"))
}

fn read(caller: &Caller<'_, BenchHost>, ptr: i32, len: i32) -> Result<Vec<u8>, wasmi::Error> {
    let mut buf = vec![0; len.max(0).unsigned_abs() as usize];
    memory_of(caller)?
        .read(caller, ptr.unsigned_abs() as usize, &mut buf)
        .map_err(|_| wasmi::Error::new("out of bounds"))?;
    Ok(buf)
}

fn write(caller: &mut Caller<'_, BenchHost>, ptr: i32, data: &[u8]) -> Result<(), wasmi::Error> {
    let memory = memory_of(caller)?;
    memory
        .write(caller, ptr.unsigned_abs() as usize, data)
        .map_err(|_| wasmi::Error::new("out of bounds"))
}

fn len_i32(len: usize) -> i32 {
    i32::try_from(len).unwrap_or(i32::MAX)
}

fn linker(engine: &Engine) -> Linker<BenchHost> {
    let mut linker = Linker::<BenchHost>::new(engine);
    let m = cairn_host_api::HOST_MODULE;
    linker
        .func_wrap(m, "input_size", |c: Caller<'_, BenchHost>| {
            len_i32(c.data().input.len())
        })
        .unwrap()
        .func_wrap(
            m,
            "input_copy",
            |mut c: Caller<'_, BenchHost>, dst: i32, offset: i32, len: i32| {
                let (o, l) = (offset.unsigned_abs() as usize, len.unsigned_abs() as usize);
                let data = c.data().input.get(o..o + l).map(<[u8]>::to_vec);
                let data = data.ok_or_else(|| wasmi::Error::new("input out of bounds"))?;
                write(&mut c, dst, &data)
            },
        )
        .unwrap()
        .func_wrap(m, "caller", |mut c: Caller<'_, BenchHost>, dst: i32| {
            let who = c.data().caller;
            write(&mut c, dst, &who)
        })
        .unwrap()
        .func_wrap(
            m,
            "storage_read",
            |mut c: Caller<'_, BenchHost>, kp: i32, kl: i32, dst: i32, cap: i32| {
                let key = read(&c, kp, kl)?;
                let Some(value) = c.data().storage.get(&key).cloned() else {
                    return Ok(-1);
                };
                let n = value.len().min(cap.unsigned_abs() as usize);
                write(&mut c, dst, &value[..n])?;
                Ok::<i32, wasmi::Error>(len_i32(value.len()))
            },
        )
        .unwrap()
        .func_wrap(
            m,
            "storage_write",
            |mut c: Caller<'_, BenchHost>, kp: i32, kl: i32, vp: i32, vl: i32| {
                let key = read(&c, kp, kl)?;
                let value = read(&c, vp, vl)?;
                c.data_mut().storage.insert(key, value);
                Ok(())
            },
        )
        .unwrap()
        .func_wrap(
            m,
            "keccak256",
            |mut c: Caller<'_, BenchHost>, p: i32, l: i32, dst: i32| {
                let data = read(&c, p, l)?;
                let hash = cairn_host_api::keccak256(&data);
                write(&mut c, dst, hash.as_bytes())
            },
        )
        .unwrap()
        .func_wrap(
            m,
            "emit_log",
            |c: Caller<'_, BenchHost>, tp: i32, tc: i32, dp: i32, dl: i32| {
                read(&c, tp, tc.saturating_mul(32))?;
                read(&c, dp, dl)?;
                Ok(())
            },
        )
        .unwrap()
        .func_wrap(
            m,
            "return_value",
            |c: Caller<'_, BenchHost>, p: i32, l: i32| {
                read(&c, p, l)?;
                Err::<(), _>(wasmi::Error::i32_exit(RETURNED))
            },
        )
        .unwrap()
        .func_wrap(m, "revert", |c: Caller<'_, BenchHost>, p: i32, l: i32| {
            read(&c, p, l)?;
            Err::<(), _>(wasmi::Error::i32_exit(REVERTED))
        })
        .unwrap();
    linker
}

fn engine(fuel: bool) -> Engine {
    let mut config = Config::default();
    config.compilation_mode(CompilationMode::Eager);
    config.consume_fuel(fuel);
    Engine::new(&config)
}

/// One instantiated program, ready to be called repeatedly.
#[derive(Debug)]
pub struct Runner {
    store: Store<BenchHost>,
    instance: wasmi::Instance,
    call: TypedFunc<(), ()>,
    gas_left: Option<wasmi::Global>,
    fuel: bool,
    /// Set for programs that end through a host function (the token): each
    /// call then gets a fresh instance, as in the runtime, because a call
    /// ended by the host leaves the injected stack-height counter raised.
    fresh_instances: Option<(Module, Linker<BenchHost>)>,
}

const AMPLE: u64 = 1 << 60;

impl Runner {
    /// Prepares (for [`Mode::Injected`]), compiles and instantiates `program`.
    pub fn new(program: &Program, mode: Mode) -> Self {
        let fuel = mode == Mode::Fuel;
        let engine = engine(fuel);
        let code = match mode {
            Mode::Injected => {
                prepare_code(
                    &program.wasm,
                    &GasSchedule::v2(),
                    &ValidationLimits::default(),
                )
                .expect("benchmark program is accepted")
                .code
            }
            Mode::Unmetered | Mode::Fuel => program.wasm.clone(),
        };
        let module = Module::new(&engine, &code).expect("wasmi compiles the program");
        let mut store = Store::new(&engine, BenchHost::default());
        let linker = linker(&engine);
        let instance = linker
            .instantiate_and_start(&mut store, &module)
            .expect("instantiates");
        store.data_mut().memory = instance.get_memory(&store, "memory");
        let call = instance
            .get_typed_func::<(), ()>(&store, "call")
            .expect("`call` export");
        let gas_left = instance.get_global(&store, GAS_LEFT_GLOBAL);
        let mut runner = Self {
            store,
            instance,
            call,
            gas_left,
            fuel,
            fresh_instances: program.token.then(|| (module.clone(), linker)),
        };
        if program.token {
            let owner = [7u8; 20];
            runner.store.data_mut().caller = owner;
            runner.store.data_mut().input = cairn_host_api::abi::encode_deploy(&(
                "Bench".to_string(),
                "BNC".to_string(),
                U256::from(u64::MAX),
            ));
            let deploy = instance
                .get_typed_func::<(), ()>(&runner.store, "deploy")
                .expect("token has deploy");
            runner.refill();
            let ended = deploy.call(&mut runner.store, ());
            assert!(returned(ended), "token deploy failed");
            runner.store.data_mut().input = cairn_host_api::abi::encode_call(
                "transfer",
                &(H160::repeat_byte(9), U256::from(1u64)),
            );
        }
        runner.refill();
        assert!(
            returned(runner.call.call(&mut runner.store, ())),
            "first call fails"
        );
        runner
    }

    fn refill(&mut self) {
        if let Some(gas) = self.gas_left {
            gas.set(&mut self.store, Val::I64(AMPLE.cast_signed()))
                .expect("gas global is a mutable i64");
        }
        if self.fuel {
            self.store.set_fuel(AMPLE).expect("fuel is enabled");
        }
    }

    /// A copy of the instance's memory.
    pub fn memory(&self) -> Vec<u8> {
        self.instance
            .get_memory(&self.store, "memory")
            .map(|m| m.data(&self.store).to_vec())
            .unwrap_or_default()
    }

    /// Calls the program's `call` export once.
    pub fn run(&mut self) {
        if let Some((module, linker)) = &self.fresh_instances {
            // A fresh store too: a store keeps every instance (and its
            // memory) it ever created.
            let engine = self.store.engine().clone();
            let host =
                std::mem::replace(&mut self.store, Store::new(&engine, BenchHost::default()))
                    .into_data();
            self.store = Store::new(&engine, host);
            self.instance = linker
                .instantiate_and_start(&mut self.store, module)
                .expect("instantiates");
            self.store.data_mut().memory = self.instance.get_memory(&self.store, "memory");
            self.call = self
                .instance
                .get_typed_func::<(), ()>(&self.store, "call")
                .expect("`call` export");
            self.gas_left = self.instance.get_global(&self.store, GAS_LEFT_GLOBAL);
        }
        self.refill();
        let ended = self.call.call(&mut self.store, ());
        assert!(returned(ended), "benchmark call failed");
    }
}

/// A call ended well: returned normally or through `return_value`.
fn returned(result: Result<(), wasmi::Error>) -> bool {
    match result {
        Ok(()) => true,
        Err(e) => e.i32_exit_status() == Some(RETURNED),
    }
}

/// Measurement settings.
#[derive(Debug, Clone)]
pub struct MeteringConfig {
    /// Samples per mode (the median is reported).
    pub samples: usize,
    /// Target duration of one sample.
    pub sample_time: Duration,
}

impl Default for MeteringConfig {
    fn default() -> Self {
        Self {
            samples: 15,
            sample_time: Duration::from_millis(40),
        }
    }
}

/// Results for one program.
#[derive(Debug, Clone, Serialize)]
pub struct ProgramReport {
    /// Program name.
    pub name: String,
    /// Median time of one call, unmetered, in microseconds.
    pub unmetered_us: f64,
    /// ... with injected metering.
    pub injected_us: f64,
    /// ... with wasmi fuel.
    pub fuel_us: f64,
    /// injected / unmetered.
    pub ratio: f64,
    /// fuel / unmetered.
    pub fuel_ratio: f64,
    /// Median `prepare_code` time, in microseconds.
    pub prepare_us: f64,
    /// Median wasmi eager compile time of the original, in microseconds.
    pub compile_us: f64,
    /// prepare / compile.
    pub prepare_ratio: f64,
    /// Original size in bytes.
    pub original_size: usize,
    /// Prepared size in bytes.
    pub prepared_size: usize,
}

/// The whole suite.
#[derive(Debug, Clone, Serialize)]
pub struct MeteringReport {
    /// Per program.
    pub programs: Vec<ProgramReport>,
    /// Geometric mean of `ratio`.
    pub geomean_ratio: f64,
    /// Largest `ratio`.
    pub worst_ratio: f64,
    /// Geometric mean of `fuel_ratio`.
    pub fuel_geomean_ratio: f64,
    /// Geometric mean of the per-program `prepare_ratio`.
    pub prepare_ratio: f64,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn geomean(values: impl Iterator<Item = f64>) -> f64 {
    let (sum, n) = values.fold((0.0, 0.0), |(s, n), v| (s + v.ln(), n + 1.0));
    if n == 0.0 { 1.0 } else { (sum / n).exp() }
}

fn time_calls(runner: &mut Runner, iterations: u32) -> f64 {
    let start = Instant::now();
    for _ in 0..iterations {
        runner.run();
    }
    start.elapsed().as_secs_f64() * 1e6 / f64::from(iterations)
}

fn time_once(f: impl FnOnce()) -> f64 {
    let start = Instant::now();
    f();
    start.elapsed().as_secs_f64() * 1e6
}

/// Measures one program.
pub fn measure(program: &Program, config: &MeteringConfig) -> ProgramReport {
    let modes = [Mode::Unmetered, Mode::Injected, Mode::Fuel];
    let mut runners: Vec<Runner> = modes.iter().map(|m| Runner::new(program, *m)).collect();
    for runner in &mut runners {
        for _ in 0..3 {
            runner.run();
        }
    }
    let single = time_calls(&mut runners[0], 3).max(0.01);
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "a positive iteration count of a benchmark sample; saturating is fine"
    )]
    let iterations = ((config.sample_time.as_secs_f64() * 1e6 / single) as u32).max(1);
    let mut times = vec![Vec::new(); modes.len()];
    for sample in 0..config.samples {
        // Rotate the order so drift does not favour one mode.
        for k in 0..modes.len() {
            let i = (sample + k) % modes.len();
            times[i].push(time_calls(&mut runners[i], iterations));
        }
    }
    let [unmetered, injected, fuel]: [f64; 3] = times
        .into_iter()
        .map(median)
        .collect::<Vec<_>>()
        .try_into()
        .expect("three modes");

    let schedule = GasSchedule::v2();
    let limits = ValidationLimits::default();
    let compile_engine = engine(false);
    let prepared = prepare_code(&program.wasm, &schedule, &limits).expect("accepted");
    // Prepare and compile alternate sample by sample, so drift (clock
    // speed, other load) meets both alike.
    let (mut prepares, mut compiles) = (Vec::new(), Vec::new());
    for _ in 0..config.samples * 4 {
        prepares.push(time_once(|| {
            std::hint::black_box(prepare_code(&program.wasm, &schedule, &limits).ok());
        }));
        compiles.push(time_once(|| {
            std::hint::black_box(Module::new(&compile_engine, &program.wasm).ok());
        }));
    }
    let (prepare_us, compile_us) = (median(prepares), median(compiles));
    ProgramReport {
        name: program.name.to_owned(),
        unmetered_us: unmetered,
        injected_us: injected,
        fuel_us: fuel,
        ratio: injected / unmetered,
        fuel_ratio: fuel / unmetered,
        prepare_us,
        compile_us,
        prepare_ratio: prepare_us / compile_us,
        original_size: program.wasm.len(),
        prepared_size: prepared.code.len(),
    }
}

/// Measures every program.
pub fn run(config: &MeteringConfig) -> MeteringReport {
    let programs: Vec<ProgramReport> = programs().iter().map(|p| measure(p, config)).collect();
    MeteringReport {
        geomean_ratio: geomean(programs.iter().map(|p| p.ratio)),
        worst_ratio: programs.iter().map(|p| p.ratio).fold(0.0, f64::max),
        fuel_geomean_ratio: geomean(programs.iter().map(|p| p.fuel_ratio)),
        prepare_ratio: geomean(programs.iter().map(|p| p.prepare_ratio)),
        programs,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_transfers_keep_succeeding() {
        let program = programs().into_iter().find(|p| p.name == "token").unwrap();
        for mode in [Mode::Unmetered, Mode::Injected, Mode::Fuel] {
            let mut runner = Runner::new(&program, mode);
            for _ in 0..500 {
                runner.run();
            }
        }
    }

    /// The programs compute what they claim, identically in all three modes.
    #[test]
    fn programs_run_and_agree_across_modes() {
        for program in programs() {
            let memories: Vec<Vec<u8>> = [Mode::Unmetered, Mode::Injected, Mode::Fuel]
                .iter()
                .map(|m| {
                    let mut runner = Runner::new(&program, *m);
                    runner.run();
                    runner.memory()
                })
                .collect();
            assert!(
                memories[0] == memories[1],
                "{}: injected differs",
                program.name
            );
            assert!(memories[0] == memories[2], "{}: fuel differs", program.name);
            if program.name == "fib" {
                assert_eq!(memories[0][..8], 75_025u64.to_le_bytes());
            }
        }
    }

    /// The Wasm keccak-f matches the reference permutation: keccak256 of the
    /// empty string is one permutation of the padded block.
    #[test]
    fn keccak_program_is_keccak_f() {
        let program = programs().into_iter().find(|p| p.name == "keccak").unwrap();
        let mut runner = Runner::new(&program, Mode::Unmetered);
        let memory = runner.instance.get_memory(&runner.store, "memory").unwrap();
        let permute = runner
            .instance
            .get_typed_func::<(), ()>(&runner.store, "deploy")
            .unwrap();
        // Absorb the padded empty message (rate 136 bytes) into a zero state.
        let mut block = [0u8; 200];
        block[0] = 0x01;
        block[135] = 0x80;
        memory.write(&mut runner.store, 0, &block).unwrap();
        permute.call(&mut runner.store, ()).unwrap();
        let mut out = [0u8; 32];
        memory.read(&runner.store, 0, &mut out).unwrap();
        assert_eq!(
            out.to_vec(),
            cairn_host_api::keccak256(&[]).as_bytes().to_vec()
        );
    }
}
