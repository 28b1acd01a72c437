//! Host-side build step for Cairn contracts, run by `contracts/build.sh`.
//!
//! `cairn-contract-tool strip-exports IN OUT`
//!   copies the linker's output, dropping the `__heap_base` / `__data_end`
//!   exports rustc always asks the linker for (the engine accepts only
//!   `call`, `deploy` and `memory`). Every other byte is copied unchanged.
//!
//! `cairn-contract-tool strip-custom IN OUT`
//!   copies a module without its custom sections (`name`, `producers`, ...)
//!   except the contract metadata (`cairn:abi`, written by the SDK's
//!   `entry_points!`, `specs/abi.md` section 8): every other section is
//!   copied byte for byte, so the release artifact has exactly the code of
//!   the debug artifact it is derived from.
//!
//! `cairn-contract-tool demangle-names IN OUT`
//!   copies a module, replacing rustc's mangled symbols in the function names
//!   of its `name` section with demangled paths (`token::transfer`); every
//!   other byte is copied unchanged. For the debug artifacts' backtraces.
//!
//! `cairn-contract-tool check FILE [--allow-floats]`
//!   checks what the engine will check: Wasm 1.0 without floats (unless
//!   `--allow-floats`, for the fixture that validation must reject), one
//!   memory with a maximum of at most 16 pages, imports only from `cairn_v1`,
//!   exports only `call` (required), `deploy` and `memory`, no start function.
//!
//! `cairn-contract-tool manifest TOOLCHAIN FILE...`
//!   prints `manifest.json`: name, keccak256 code hash and size of each file.

use sha3::{Digest, Keccak256};
use std::fmt::Write as _;
use std::process::ExitCode;
use wasmparser::{Parser, Payload, TypeRef, Validator, WasmFeatures};

const MAX_PAGES: u64 = 16;
const LINKER_EXPORTS: [&str; 2] = ["__heap_base", "__data_end"];
const ALLOWED_EXPORTS: [&str; 3] = ["call", "deploy", "memory"];
const EXPORT_SECTION: u8 = 7;
/// The custom section the release artifacts keep: the contract metadata.
const METADATA_SECTION: &[u8] = b"cairn:abi";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("strip-exports") if args.len() == 3 => strip_exports(&args[1], &args[2]),
        Some("strip-custom") if args.len() == 3 => strip_custom(&args[1], &args[2]),
        Some("demangle-names") if args.len() == 3 => demangle_names(&args[1], &args[2]),
        Some("check") if args.len() >= 2 => check_file(&args[1], args[2..].iter().any(|a| a == "--allow-floats")),
        Some("manifest") if args.len() >= 2 => manifest(&args[1], &args[2..]),
        _ => Err("usage: cairn-contract-tool strip-exports IN OUT | strip-custom IN OUT | demangle-names IN OUT | check FILE [--allow-floats] | manifest TOOLCHAIN FILE...".into()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cairn-contract-tool: {e}");
            ExitCode::FAILURE
        }
    }
}

fn read_leb(bytes: &[u8], pos: &mut usize) -> Result<u32, String> {
    let mut value: u32 = 0;
    for shift in (0..35).step_by(7) {
        let b = *bytes.get(*pos).ok_or("truncated LEB128")?;
        *pos += 1;
        value |= u32::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err("LEB128 too long".into())
}

fn write_leb(out: &mut Vec<u8>, mut value: u32) {
    loop {
        let byte = u8::try_from(value & 0x7f).unwrap_or(0);
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

fn to_u32(n: usize) -> Result<u32, String> {
    u32::try_from(n).map_err(|_| "section too large".to_string())
}

/// Re-encodes the export section without the linker's exports.
fn filter_exports(contents: &[u8]) -> Result<Vec<u8>, String> {
    let mut pos = 0;
    let count = read_leb(contents, &mut pos)?;
    let mut kept = Vec::new();
    let mut kept_count = 0u32;
    for _ in 0..count {
        let start = pos;
        let name_len = read_leb(contents, &mut pos)? as usize;
        let name = contents
            .get(pos..pos + name_len)
            .ok_or("truncated export name")?;
        pos += name_len + 1; // name, kind
        read_leb(contents, &mut pos)?; // index
        if !LINKER_EXPORTS.iter().any(|l| l.as_bytes() == name) {
            kept.extend_from_slice(contents.get(start..pos).ok_or("truncated export")?);
            kept_count += 1;
        }
    }
    let mut out = Vec::new();
    write_leb(&mut out, kept_count);
    out.extend_from_slice(&kept);
    Ok(out)
}

fn strip_linker_exports(wasm: &[u8]) -> Result<Vec<u8>, String> {
    let (header, sections) = sections(wasm)?;
    let mut out = header.to_vec();
    for section in sections {
        let contents = if section.id == EXPORT_SECTION {
            filter_exports(section.contents)?
        } else {
            section.contents.to_vec()
        };
        out.push(section.id);
        write_leb(&mut out, to_u32(contents.len())?);
        out.extend_from_slice(&contents);
    }
    Ok(out)
}

/// One `id ‖ LEB128 size ‖ contents` record: a module's section, or a
/// subsection of the `name` section, which share the layout.
struct Record<'a> {
    id: u8,
    contents: &'a [u8],
    /// The whole record, with its size exactly as encoded.
    raw: &'a [u8],
}

/// Splits `bytes` into records; a size running past the end is an error
/// naming `what` was truncated.
fn records<'a>(bytes: &'a [u8], what: &str) -> Result<Vec<Record<'a>>, String> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < bytes.len() {
        let start = pos;
        let id = bytes[pos];
        pos += 1;
        let size = read_leb(bytes, &mut pos)? as usize;
        let end = pos
            .checked_add(size)
            .filter(|&e| e <= bytes.len())
            .ok_or_else(|| format!("truncated {what}"))?;
        out.push(Record {
            id,
            contents: &bytes[pos..end],
            raw: &bytes[start..end],
        });
        pos = end;
    }
    Ok(out)
}

/// A module's 8-byte header and its sections.
fn sections(wasm: &[u8]) -> Result<(&[u8], Vec<Record<'_>>), String> {
    if wasm.len() < 8 || &wasm[..4] != b"\0asm" {
        return Err("not a Wasm module".into());
    }
    Ok((&wasm[..8], records(&wasm[8..], "section")?))
}

/// Drops every custom section (id 0) but the metadata; other sections keep
/// their exact bytes, including the encoding of their size.
fn strip_custom_sections(wasm: &[u8]) -> Result<Vec<u8>, String> {
    let (header, sections) = sections(wasm)?;
    let mut out = header.to_vec();
    for section in sections {
        if section.id == 0 {
            let mut at = 0;
            if read_name(section.contents, &mut at)? != METADATA_SECTION {
                continue;
            }
        }
        out.extend_from_slice(section.raw);
    }
    Ok(out)
}

const NAME_SUBSECTION_FUNCTIONS: u8 = 1;

fn read_name<'a>(bytes: &'a [u8], pos: &mut usize) -> Result<&'a [u8], String> {
    let len = read_leb(bytes, pos)? as usize;
    let end = pos
        .checked_add(len)
        .filter(|&e| e <= bytes.len())
        .ok_or("truncated name")?;
    let name = &bytes[*pos..end];
    *pos = end;
    Ok(name)
}

fn write_name(out: &mut Vec<u8>, name: &[u8]) -> Result<(), String> {
    write_leb(out, to_u32(name.len())?);
    out.extend_from_slice(name);
    Ok(())
}

/// Demangles one symbol (legacy or v0) without its hash; other names unchanged.
///
/// Binaryen names the functions it merges `byn$mgfn-shared$<symbol>`: the
/// Rust symbol after the last `$` is demangled and the prefix kept. A mangled
/// symbol must never survive, since it embeds the crate's disambiguator,
/// which cargo derives from the checkout path: debug artifacts would then
/// differ between clones.
fn demangle_symbol(name: &[u8]) -> Vec<u8> {
    let Ok(name) = std::str::from_utf8(name) else {
        return name.to_vec();
    };
    let (prefix, symbol) = match name.rfind('$') {
        Some(at) => name.split_at(at + 1),
        None => ("", name),
    };
    match rustc_demangle::try_demangle(symbol) {
        Ok(demangled) => format!("{prefix}{demangled:#}").into_bytes(),
        Err(_) => name.as_bytes().to_vec(),
    }
}

/// Re-encodes the function-names subsection of a `name` section's payload
/// with demangled names; other subsections are copied unchanged.
fn demangle_name_payload(payload: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    for subsection in records(payload, "name subsection")? {
        if subsection.id != NAME_SUBSECTION_FUNCTIONS {
            out.extend_from_slice(subsection.raw);
            continue;
        }
        let body = subsection.contents;
        let mut at = 0;
        let count = read_leb(body, &mut at)?;
        let mut names = Vec::new();
        write_leb(&mut names, count);
        for _ in 0..count {
            let index = read_leb(body, &mut at)?;
            let name = read_name(body, &mut at)?;
            write_leb(&mut names, index);
            write_name(&mut names, &demangle_symbol(name))?;
        }
        out.push(subsection.id);
        write_leb(&mut out, to_u32(names.len())?);
        out.extend_from_slice(&names);
    }
    Ok(out)
}

/// Demangles the function names of the `name` custom section; every other
/// section keeps its exact bytes.
fn demangle_name_section(wasm: &[u8]) -> Result<Vec<u8>, String> {
    let (header, sections) = sections(wasm)?;
    let mut out = header.to_vec();
    for section in sections {
        let mut at = 0;
        if section.id == 0 && read_name(section.contents, &mut at)? == b"name" {
            let mut rewritten = Vec::new();
            write_name(&mut rewritten, b"name")?;
            rewritten.extend_from_slice(&demangle_name_payload(&section.contents[at..])?);
            out.push(0);
            write_leb(&mut out, to_u32(rewritten.len())?);
            out.extend_from_slice(&rewritten);
        } else {
            out.extend_from_slice(section.raw);
        }
    }
    Ok(out)
}

fn check(wasm: &[u8], allow_floats: bool) -> Result<(), String> {
    let mut features = WasmFeatures::WASM1;
    if !allow_floats {
        features.remove(WasmFeatures::FLOATS);
    }
    Validator::new_with_features(features)
        .validate_all(wasm)
        .map_err(|e| format!("not a float-free Wasm 1.0 module: {e}"))?;
    let mut memories = 0;
    let mut has_call = false;
    for payload in Parser::new(0).parse_all(wasm) {
        match payload.map_err(|e| e.to_string())? {
            Payload::ImportSection(reader) => {
                for import in reader.into_imports() {
                    let import = import.map_err(|e| e.to_string())?;
                    if import.module != "cairn_v1" || !matches!(import.ty, TypeRef::Func(_)) {
                        return Err(format!(
                            "import {}::{} is not a cairn_v1 function",
                            import.module, import.name
                        ));
                    }
                }
            }
            Payload::MemorySection(reader) => {
                for memory in reader {
                    let memory = memory.map_err(|e| e.to_string())?;
                    memories += 1;
                    match memory.maximum {
                        Some(max) if max <= MAX_PAGES => {}
                        other => {
                            return Err(format!(
                                "memory maximum {other:?} pages; at most {MAX_PAGES} required"
                            ));
                        }
                    }
                }
            }
            Payload::ExportSection(reader) => {
                for export in reader {
                    let export = export.map_err(|e| e.to_string())?;
                    if !ALLOWED_EXPORTS.contains(&export.name) {
                        return Err(format!("unexpected export `{}`", export.name));
                    }
                    has_call |= export.name == "call";
                }
            }
            Payload::StartSection { .. } => return Err("a start function is not allowed".into()),
            _ => {}
        }
    }
    if memories != 1 {
        return Err(format!("{memories} memories; exactly one required"));
    }
    if !has_call {
        return Err("no `call` export".into());
    }
    Ok(())
}

fn strip_exports(input: &str, output: &str) -> Result<(), String> {
    let wasm = std::fs::read(input).map_err(|e| format!("{input}: {e}"))?;
    let stripped = strip_linker_exports(&wasm).map_err(|e| format!("{input}: {e}"))?;
    std::fs::write(output, &stripped).map_err(|e| format!("{output}: {e}"))
}

fn strip_custom(input: &str, output: &str) -> Result<(), String> {
    let wasm = std::fs::read(input).map_err(|e| format!("{input}: {e}"))?;
    let stripped = strip_custom_sections(&wasm).map_err(|e| format!("{input}: {e}"))?;
    std::fs::write(output, &stripped).map_err(|e| format!("{output}: {e}"))
}

fn demangle_names(input: &str, output: &str) -> Result<(), String> {
    let wasm = std::fs::read(input).map_err(|e| format!("{input}: {e}"))?;
    let demangled = demangle_name_section(&wasm).map_err(|e| format!("{input}: {e}"))?;
    std::fs::write(output, &demangled).map_err(|e| format!("{output}: {e}"))
}

fn check_file(file: &str, allow_floats: bool) -> Result<(), String> {
    let wasm = std::fs::read(file).map_err(|e| format!("{file}: {e}"))?;
    check(&wasm, allow_floats).map_err(|e| format!("{file}: {e}"))
}

fn manifest(toolchain: &str, files: &[String]) -> Result<(), String> {
    let mut json = String::from("{\n");
    let _ = writeln!(
        json,
        "  \"toolchain\": \"{}\",",
        toolchain.replace('"', "'")
    );
    json.push_str("  \"contracts\": [\n");
    for (i, file) in files.iter().enumerate() {
        let bytes = std::fs::read(file).map_err(|e| format!("{file}: {e}"))?;
        let name = std::path::Path::new(file)
            .file_stem()
            .and_then(|s| s.to_str())
            .ok_or_else(|| format!("{file}: bad file name"))?;
        let hash: String = Keccak256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let comma = if i + 1 < files.len() { "," } else { "" };
        let _ = writeln!(
            json,
            "    {{ \"name\": \"{name}\", \"file\": \"{name}.wasm\", \"code_hash\": \"0x{hash}\", \"size\": {} }}{comma}",
            bytes.len()
        );
    }
    json.push_str("  ]\n}\n");
    print!("{json}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A module with one memory (max 16 pages), a `call` function and the
    /// two linker exports, assembled by hand.
    fn module_with_linker_exports() -> Vec<u8> {
        let mut wasm = b"\0asm\x01\0\0\0".to_vec();
        let section = |wasm: &mut Vec<u8>, id: u8, body: &[u8]| {
            wasm.push(id);
            write_leb(wasm, to_u32(body.len()).unwrap());
            wasm.extend_from_slice(body);
        };
        section(&mut wasm, 1, &[1, 0x60, 0, 0]); // type 0: () -> ()
        section(&mut wasm, 3, &[1, 0]); // func 0: type 0
        section(&mut wasm, 5, &[1, 1, 1, 16]); // memory: min 1, max 16
        section(&mut wasm, 6, &[1, 0x7f, 0, 0x41, 8, 0x0b]); // global i32 = 8
        let mut exports = vec![4];
        for (name, kind, index) in [
            ("memory", 2u8, 0u8),
            ("call", 0, 0),
            ("__heap_base", 3, 0),
            ("__data_end", 3, 0),
        ] {
            exports.push(u8::try_from(name.len()).unwrap());
            exports.extend_from_slice(name.as_bytes());
            exports.extend_from_slice(&[kind, index]);
        }
        section(&mut wasm, 7, &exports);
        section(&mut wasm, 10, &[1, 2, 0, 0x0b]); // body: no locals, end
        wasm
    }

    #[test]
    fn strips_only_the_linker_exports() {
        let wasm = module_with_linker_exports();
        assert!(check(&wasm, false).unwrap_err().contains("__heap_base"));
        let stripped = strip_linker_exports(&wasm).unwrap();
        check(&stripped, false).unwrap();
        assert_eq!(
            wasm.len() - stripped.len(),
            2 * 3 + "__heap_base".len() + "__data_end".len()
        );
        // Idempotent: nothing else is touched.
        assert_eq!(strip_linker_exports(&stripped).unwrap(), stripped);
    }

    #[test]
    fn rejects_what_the_engine_rejects() {
        let mut no_max = module_with_linker_exports();
        // Raise the memory maximum to 17 pages.
        let pos = no_max.windows(4).position(|w| w == [1, 1, 1, 16]).unwrap();
        no_max[pos + 3] = 17;
        let err = check(&strip_linker_exports(&no_max).unwrap(), false).unwrap_err();
        assert!(err.contains("at most 16"), "{err}");
        assert!(strip_linker_exports(b"not wasm").is_err());
    }

    #[test]
    fn strips_only_custom_sections() {
        let plain = module_with_linker_exports();
        let mut named = plain.clone();
        // A custom `name` section after the code, as wasm-opt -g writes it.
        named.extend_from_slice(&[0, 6, 4]);
        named.extend_from_slice(b"name");
        named.push(0);
        assert_eq!(strip_custom_sections(&named).unwrap(), plain);
        assert_eq!(strip_custom_sections(&plain).unwrap(), plain);
        // The metadata stays, wherever it is.
        let mut with_metadata = plain.clone();
        with_metadata.extend_from_slice(&[0, 12, 9]);
        with_metadata.extend_from_slice(b"cairn:abi");
        with_metadata.extend_from_slice(&[1, 1]);
        let mut both = with_metadata.clone();
        both.extend_from_slice(&named[plain.len()..]);
        assert_eq!(strip_custom_sections(&both).unwrap(), with_metadata);
        assert!(strip_custom_sections(&named[..named.len() - 1]).is_err());
    }

    #[test]
    fn demangles_only_function_names() {
        let plain = module_with_linker_exports();
        let name_section = |functions: &[(u8, &str)]| {
            let mut names = vec![u8::try_from(functions.len()).unwrap()];
            for (index, name) in functions {
                names.push(*index);
                write_name(&mut names, name.as_bytes()).unwrap();
            }
            let mut payload = Vec::new();
            write_name(&mut payload, b"name").unwrap();
            payload.extend_from_slice(&[0, 2, 1, b'm']); // module name "m"
            payload.push(NAME_SUBSECTION_FUNCTIONS);
            write_leb(&mut payload, to_u32(names.len()).unwrap());
            payload.extend_from_slice(&names);
            let mut wasm = plain.clone();
            wasm.push(0);
            write_leb(&mut wasm, to_u32(payload.len()).unwrap());
            wasm.extend_from_slice(&payload);
            wasm
        };
        let mangled = name_section(&[
            (0, "_RNvCsipN9w9FTJ1X_14deep_recursion7descend"),
            (1, "call"),
            (
                2,
                "byn$mgfn-shared$_RNvCsipN9w9FTJ1X_14deep_recursion7descend",
            ),
        ]);
        let demangled = demangle_name_section(&mangled).unwrap();
        assert_eq!(
            demangled,
            name_section(&[
                (0, "deep_recursion::descend"),
                (1, "call"),
                (2, "byn$mgfn-shared$deep_recursion::descend"),
            ])
        );
        assert_eq!(strip_custom_sections(&demangled).unwrap(), plain);
        assert_eq!(demangle_name_section(&plain).unwrap(), plain);
    }

    #[test]
    fn leb_round_trips() {
        for v in [0u32, 1, 127, 128, 300, 16_384, u32::MAX] {
            let mut out = Vec::new();
            write_leb(&mut out, v);
            let mut pos = 0;
            assert_eq!(read_leb(&out, &mut pos).unwrap(), v);
            assert_eq!(pos, out.len());
        }
    }
}
