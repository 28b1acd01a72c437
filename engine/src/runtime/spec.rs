//! The generated part of `specs/host-api.md`: the host function table.
//!
//! `specs/host-api.md` holds this text between [`TABLE_BEGIN`] and
//! [`TABLE_END`]; a test fails when the committed text differs from what the
//! table in `cairn-host-api` generates (`CAIRN_BLESS_VECTORS=1` rewrites it).

use std::fmt::Write as _;

use cairn_host_api::{HOST_FUNCTIONS, HostFunction, ValType};

/// Marker line opening the generated section.
pub const TABLE_BEGIN: &str =
    "<!-- BEGIN GENERATED: host function table (CAIRN_BLESS_VECTORS=1 regenerates) -->";
/// Marker line closing the generated section.
pub const TABLE_END: &str = "<!-- END GENERATED: host function table -->";

fn val_type(t: ValType) -> &'static str {
    match t {
        ValType::I32 => "i32",
        ValType::I64 => "i64",
    }
}

macro_rules! parameter_names {
    ($(
        $(#[doc = $doc:literal])*
        fn $name:ident($($p:ident: $pt:ident),* $(,)?) $(-> $rt:ident)?;
            gas($base:expr, $per:expr, $of:literal); since($since:literal);
    )*) => {
        /// Parameter names by function, as declared in the table.
        const PARAMETER_NAMES: &[(&str, &[&str])] = &[$((stringify!($name), &[$(stringify!($p)),*])),*];
    };
}
cairn_host_api::for_each_host_function!(parameter_names);

fn wat_signature(f: &HostFunction) -> String {
    let names = PARAMETER_NAMES
        .iter()
        .find(|(name, _)| *name == f.name)
        .map_or(&[][..], |(_, names)| *names);
    let mut out = String::from("(func");
    for (i, &p) in f.params.iter().enumerate() {
        match names.get(i) {
            Some(name) => {
                let _ = write!(out, " (param ${name} {})", val_type(p));
            }
            None => {
                let _ = write!(out, " (param {})", val_type(p));
            }
        }
    }
    for &r in f.results {
        let _ = write!(out, " (result {})", val_type(r));
    }
    out.push(')');
    out
}

fn gas_formula(f: &HostFunction) -> String {
    if f.gas.per_byte == 0 {
        f.gas.base.to_string()
    } else {
        format!(
            "{} + {} × ({})",
            f.gas.base, f.gas.per_byte, f.gas.per_byte_of
        )
    }
}

/// The generated Markdown: a summary table, then one section per function
/// with its import, gas and documentation, in table order.
pub fn host_function_table_markdown() -> String {
    let mut out = String::new();
    out.push_str("| function | Wasm signature | gas | since |\n|---|---|---|---|\n");
    for f in HOST_FUNCTIONS {
        let _ = writeln!(
            out,
            "| [`{0}`](#{0}) | `{1}` | {2} | {3} |",
            f.name,
            wat_signature(f),
            gas_formula(f),
            f.since
        );
    }
    for f in HOST_FUNCTIONS {
        let _ = write!(
            out,
            "\n### `{name}`\n\n```wat\n(import \"{module}\" \"{name}\" {sig})\n```\n\nGas: {gas}. Since version {since}.\n\n",
            name = f.name,
            module = f.module,
            sig = wat_signature(f),
            gas = gas_formula(f),
            since = f.since,
        );
        let doc: Vec<&str> = f.doc.lines().map(str::trim).collect();
        out.push_str(doc.join("\n").trim());
        out.push('\n');
    }
    out
}

/// Replaces the generated section of `spec` with `generated`, or `None` if
/// the markers are missing.
pub fn splice_generated(spec: &str, generated: &str) -> Option<String> {
    let begin = spec.find(TABLE_BEGIN)? + TABLE_BEGIN.len();
    let end = spec.find(TABLE_END)?;
    (begin <= end).then(|| format!("{}\n{}{}", &spec[..begin], generated, &spec[end..]))
}
