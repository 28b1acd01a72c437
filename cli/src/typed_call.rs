//! Typed calls through contract metadata (`specs/abi.md`, section 8): the
//! JSON `--args` of `run`, `call`, `query` and `deploy`, and the decoded
//! result, revert reason and events printed beside the hex.

use anyhow::{Context, Result, anyhow, bail};
use cairn_chain::codec::{parse_hex, to_hex};
use cairn_chain::view::{LogView, ReceiptView};
use cairn_host_api::abi::decode_revert;
use cairn_host_api::metadata::{ContractMetadata, Type};
use cairn_host_api::typed;
use cairn_host_api::world::{Address, H256};
use serde::Serialize;
use serde_json::{Value, json};

use crate::tx::Where;

/// Reads the metadata of `code`; `None` if it has none.
///
/// # Errors
///
/// The section is present but malformed.
pub(crate) fn metadata_of(code: &[u8], what: &str) -> Result<Option<ContractMetadata>> {
    ContractMetadata::from_code(code)
        .with_context(|| format!("the contract metadata of {what} cannot be read"))
}

fn require<'m>(meta: Option<&'m ContractMetadata>, what: &str) -> Result<&'m ContractMetadata> {
    meta.ok_or_else(|| {
        anyhow!(
            "{what} has no `cairn:abi` metadata section (it was built without cairn-sdk's \
             entry_points!, or with an SDK from before metadata), so JSON --args cannot be typed; \
             give the SCALE-encoded arguments as hex"
        )
    })
}

/// Whether `--args` holds JSON (typed) rather than SCALE hex.
pub(crate) fn is_json(args: &str) -> bool {
    matches!(args.trim_start().chars().next(), Some('[' | '{' | '"'))
}

fn parse_json(args: &str) -> Result<Value> {
    serde_json::from_str(args).map_err(|e| {
        anyhow!(
            "--args is not valid JSON: {e} (give a JSON array of the arguments, e.g. \
             '[\"0x1111111111111111111111111111111111111111\", \"1000\"]')"
        )
    })
}

/// Renders a method's signature: `transfer(Address, U256) -> ()`.
fn signature(name: &str, args: &[Type], result: Option<&Type>) -> String {
    let args: Vec<String> = args.iter().map(ToString::to_string).collect();
    match result {
        Some(result) => format!("{name}({}) -> {result}", args.join(", ")),
        None => format!("{name}({})", args.join(", ")),
    }
}

/// The arguments of `method` from `--args`: JSON through the metadata, or
/// SCALE hex as given.
///
/// # Errors
///
/// Invalid JSON, no metadata, an unknown method, or values that do not fit.
pub(crate) fn method_args(
    meta: Option<&ContractMetadata>,
    what: &str,
    method: &str,
    args: &str,
) -> Result<Vec<u8>> {
    if !is_json(args) {
        return parse_hex(args).map_err(|e| anyhow!("--args: {e} (JSON or SCALE hex)"));
    }
    let value = parse_json(args)?;
    let meta = require(meta, what)?;
    let Some(m) = meta.method(method) else {
        let known: Vec<String> = meta
            .methods
            .iter()
            .map(|m| signature(&m.name, &m.args, Some(&m.result)))
            .collect();
        bail!(
            "{what} has no method `{method}`; its methods: {}",
            known.join(", ")
        );
    };
    typed::encode_args(&m.args, &value).with_context(|| {
        format!(
            "--args do not fit {}",
            signature(&m.name, &m.args, Some(&m.result))
        )
    })
}

/// Deploy input from `--args`/`--input`: JSON through the metadata's deploy
/// arguments, or SCALE hex as given.
///
/// # Errors
///
/// Invalid JSON, no metadata, no deploy export, or values that do not fit.
pub(crate) fn deploy_args(
    meta: Option<&ContractMetadata>,
    what: &str,
    args: &str,
) -> Result<Vec<u8>> {
    if !is_json(args) {
        return parse_hex(args).map_err(|e| anyhow!("deploy input: {e} (JSON or SCALE hex)"));
    }
    let value = parse_json(args)?;
    let meta = require(meta, what)?;
    let Some(types) = &meta.deploy else {
        bail!("{what} has no deploy entry point, so it takes no deploy arguments");
    };
    typed::encode_args(types, &value)
        .with_context(|| format!("--args do not fit {}", signature("deploy", types, None)))
}

/// What the metadata makes of an outcome: beside, never instead of, the hex.
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct DecodedView {
    /// The method called (from the call data's selector).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) method: Option<String>,
    /// The typed result of a successful call.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) result: Option<Value>,
    /// The revert reason (`specs/abi.md` section 4).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) revert: Option<String>,
    /// Events of contracts with metadata: `{"address", "event", "fields"}`,
    /// or `{"address", "error"}` for a log that does not match its event.
    pub(crate) events: Vec<Value>,
    /// Why something could not be decoded (e.g. a result that does not
    /// match the declared type).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) problems: Vec<String>,
}

/// Decodes an outcome. `meta` is the called contract's metadata, `input` the
/// call data (`None` for a deploy), `status`/`output` as the views print them,
/// `metadata_at` finds the metadata of any contract that logged.
pub(crate) fn decode_outcome(
    meta: Option<&ContractMetadata>,
    input: Option<&[u8]>,
    status: &str,
    output_hex: &str,
    logs: &[LogView],
    metadata_at: &dyn Fn(&str) -> Option<ContractMetadata>,
) -> DecodedView {
    let mut view = DecodedView::default();
    let output = parse_hex(output_hex).unwrap_or_default();
    let method = match (meta, input) {
        (Some(meta), Some(input)) => input
            .split_first_chunk::<4>()
            .and_then(|(selector, _)| meta.method_by_selector(selector)),
        _ => None,
    };
    view.method = method.map(|m| m.name.clone());
    match status {
        "success" => {
            if let Some(m) = method {
                match typed::decode_result(&m.result, &output) {
                    Ok(value) => view.result = Some(value),
                    Err(e) => view
                        .problems
                        .push(format!("return data does not match `{}`: {e}", m.result)),
                }
            }
        }
        "revert" => view.revert = Some(decode_revert(&output).to_string()),
        _ => {}
    }
    for log in logs {
        let Some(meta) = metadata_at(&log.address) else {
            continue;
        };
        let topics: Vec<H256> = log
            .topics
            .iter()
            .filter_map(|t| parse_hex(t).ok())
            .filter(|t| t.len() == 32)
            .map(|t| H256::from_slice(&t))
            .collect();
        let data = parse_hex(&log.data).unwrap_or_default();
        match typed::decode_event(&meta, &topics, &data) {
            Some(Ok(event)) => view.events.push(json!({
                "address": log.address,
                "event": event.name,
                "fields": event.fields,
            })),
            Some(Err(e)) => view.events.push(json!({
                "address": log.address,
                "error": e.to_string(),
            })),
            None => {}
        }
    }
    view
}

/// Prints a decoded outcome under the hex lines.
pub(crate) fn print_decoded(view: &DecodedView) {
    if let (Some(method), Some(result)) = (&view.method, &view.result) {
        println!("result:      {method} -> {result}");
    }
    if let Some(revert) = &view.revert {
        println!("reason:      {revert}");
    }
    for event in &view.events {
        match (event.get("event"), event.get("fields")) {
            (Some(name), Some(fields)) => println!(
                "event:       {} {fields}",
                name.as_str().unwrap_or_default()
            ),
            _ => println!("event:       {event}"),
        }
    }
    for problem in &view.problems {
        println!("undecoded:   {problem}");
    }
}

/// The code deployed at `address`, from the data directory or the node
/// (`eth_getCode`); `None` if there is none.
///
/// # Errors
///
/// Node failures, or an answer that is not hex.
pub(crate) fn code_at(target: &Where, address: &Address) -> Result<Option<Vec<u8>>> {
    match target {
        Where::Local(chain) => {
            let reader = chain.reader().at_head();
            let Some(code_hash) = reader.account(address)?.code_hash else {
                return Ok(None);
            };
            Ok(reader.code(&code_hash)?)
        }
        Where::Remote(client) => {
            let code: String = client
                .request("eth_getCode", vec![to_hex(address).into(), "latest".into()])
                .context("eth_getCode")?;
            let code = parse_hex(&code).map_err(|e| anyhow!("eth_getCode answered {e}"))?;
            Ok((!code.is_empty()).then_some(code))
        }
    }
}

/// The metadata of the contract at `address`, if it has code with metadata.
///
/// # Errors
///
/// As [`code_at`], or malformed metadata.
pub(crate) fn metadata_at(target: &Where, address: &Address) -> Result<Option<ContractMetadata>> {
    match code_at(target, address)? {
        Some(code) => metadata_of(&code, &format!("the contract at {}", to_hex(address))),
        None => Ok(None),
    }
}

/// A receipt decoder for a call of `input` (`None`: a deploy) to a contract
/// with metadata `meta`, whose logs at `address` (for a deploy: the created
/// contract) are decoded with it.
pub(crate) fn receipt_decoder(
    meta: Option<ContractMetadata>,
    input: Option<Vec<u8>>,
    address: Option<String>,
) -> impl Fn(&ReceiptView) -> Option<DecodedView> {
    move |receipt: &ReceiptView| {
        let meta = meta.as_ref()?;
        let contract = address.clone().or_else(|| receipt.contract_address.clone());
        let lookup = |at: &str| (Some(at) == contract.as_deref()).then(|| meta.clone());
        Some(decode_outcome(
            Some(meta),
            input.as_deref(),
            &receipt.status,
            &receipt.output,
            &receipt.logs,
            &lookup,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_host_api::metadata::Method;

    fn meta() -> ContractMetadata {
        ContractMetadata {
            sdk: "test".into(),
            abi_version: 1,
            deploy: Some(vec![Type::U64]),
            methods: vec![Method {
                name: "transfer".into(),
                args: vec![Type::Address, Type::U256],
                result: Type::Bool,
            }],
            events: vec![],
        }
    }

    #[test]
    fn args_are_typed_through_the_metadata() {
        let to = format!("\"0x{}\"", "11".repeat(20));
        let data =
            method_args(Some(&meta()), "c", "transfer", &format!("[{to}, \"1000\"]")).unwrap();
        assert_eq!(data.len(), 52);
        assert_eq!(&data[20..22], &[0xe8, 0x03]);
        // SCALE hex passes through unchanged, with or without metadata.
        assert_eq!(
            method_args(None, "c", "transfer", "0x0102").unwrap(),
            [1, 2]
        );
        assert_eq!(
            deploy_args(Some(&meta()), "c", "[7]").unwrap(),
            7u64.to_le_bytes()
        );
    }

    #[test]
    fn bad_args_say_why() {
        let m = meta();
        let e = format!(
            "{:#}",
            method_args(Some(&m), "c", "transfer", "[1,").unwrap_err()
        );
        assert!(e.contains("--args is not valid JSON"), "{e}");
        let e = format!(
            "{:#}",
            method_args(Some(&m), "c", "mint", "[]").unwrap_err()
        );
        assert!(
            e.contains("no method `mint`; its methods: transfer(Address, U256) -> bool"),
            "{e}"
        );
        let e = format!(
            "{:#}",
            method_args(Some(&m), "c", "transfer", "[1, 2]").unwrap_err()
        );
        assert!(
            e.contains("--args do not fit transfer(Address, U256) -> bool"),
            "{e}"
        );
        assert!(e.contains("argument 1"), "{e}");
        let e = format!(
            "{:#}",
            method_args(None, "c.wasm", "transfer", "[]").unwrap_err()
        );
        assert!(
            e.contains("c.wasm has no `cairn:abi` metadata section"),
            "{e}"
        );
        let e = format!(
            "{:#}",
            method_args(None, "c", "transfer", "zz").unwrap_err()
        );
        assert!(e.contains("--args"), "{e}");
        let e = format!("{:#}", deploy_args(Some(&m), "c", "[1, 2]").unwrap_err());
        assert!(e.contains("deploy(u64)"), "{e}");
    }

    #[test]
    fn outcomes_decode_results_and_reverts() {
        let m = meta();
        let input = cairn_host_api::abi::selector("transfer");
        let none = |_: &str| None;
        let view = decode_outcome(Some(&m), Some(&input), "success", "0x01", &[], &none);
        assert_eq!(view.result, Some(json!(true)));
        let view = decode_outcome(Some(&m), Some(&input), "success", "0x0102", &[], &none);
        assert!(view.result.is_none());
        assert!(
            view.problems[0].contains("1 bytes left over"),
            "{:?}",
            view.problems
        );
        let revert = cairn_chain::codec::to_hex(cairn_host_api::abi::encode_revert_reason("no"));
        let view = decode_outcome(Some(&m), Some(&input), "revert", &revert, &[], &none);
        assert!(view.revert.unwrap().contains("no"));
    }
}
