//! Dev mode: the accounts every Ethereum tool knows, a genesis funding
//! them, the example contracts to predeploy, and the start-up banner.
//!
//! Keys come from the standard test mnemonic (`test test ... junk`) along
//! BIP-44 path m/44'/60'/0'/0/i, as anvil and hardhat derive them: BIP-39
//! gives the seed, and BIP-32 (HMAC-SHA512 plus scalar addition, a few lines
//! on the secp256k1 library the engine already uses) derives the keys.

use std::fmt::Write as _;

use cairn_chain::keys::{SigningKey, keccak256};
use cairn_chain::{Genesis, GenesisAccount, GenesisContract};
use cairn_host_api::world::{Address, U256};
use hmac::{Hmac, Mac};
use parity_scale_codec::Encode;
use secp256k1::{PublicKey, Scalar, SecretKey};
use sha2::Sha512;

/// The standard test mnemonic of hardhat, anvil and friends.
pub const DEV_MNEMONIC: &str = "test test test test test test test test test test test junk";
/// The BIP-44 path prefix of the dev accounts; account `i` is this plus `i`.
pub const DEV_DERIVATION_PATH: &str = "m/44'/60'/0'/0/";
/// anvil's and hardhat's chain id, so wallet presets for a local node fit.
pub const DEV_CHAIN_ID: u64 = 31_337;
/// Each dev account's balance: 10,000 units of 10^18.
pub const DEV_BALANCE_WEI: u128 = 10_000 * 1_000_000_000_000_000_000;
/// Block gas limit of the dev chain.
pub const DEV_BLOCK_GAS_LIMIT: u64 = 1_000_000_000;

const HARDENED: u32 = 0x8000_0000;

/// Why dev keys could not be derived (never for the standard mnemonic).
#[derive(Debug, thiserror::Error)]
#[error("cannot derive dev keys: {0}")]
pub struct DevKeyError(String);

fn hmac_sha512(key: &[u8], data: &[u8]) -> [u8; 64] {
    let mut mac = Hmac::<Sha512>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

fn split(i: &[u8; 64]) -> ([u8; 32], [u8; 32]) {
    let mut left = [0u8; 32];
    let mut right = [0u8; 32];
    left.copy_from_slice(&i[..32]);
    right.copy_from_slice(&i[32..]);
    (left, right)
}

/// BIP-32 private derivation of `path` from a BIP-39 seed.
fn derive(seed: &[u8], path: &[u32]) -> Result<SecretKey, DevKeyError> {
    let bad = |what: &str| DevKeyError(format!("invalid {what} (probability 2^-127)"));
    let (key, mut chain_code) = split(&hmac_sha512(b"Bitcoin seed", seed));
    let mut key = SecretKey::from_secret_bytes(key).map_err(|_| bad("master key"))?;
    for &index in path {
        let mut data = Vec::with_capacity(37);
        if index & HARDENED != 0 {
            data.push(0);
            data.extend_from_slice(&key.to_secret_bytes());
        } else {
            data.extend_from_slice(&PublicKey::from_secret_key(&key).serialize());
        }
        data.extend_from_slice(&index.to_be_bytes());
        let (tweak, code) = split(&hmac_sha512(&chain_code, &data));
        let tweak = Scalar::from_be_bytes(tweak).map_err(|_| bad("child tweak"))?;
        key = key.add_tweak(&tweak).map_err(|_| bad("child key"))?;
        chain_code = code;
    }
    Ok(key)
}

/// The first `count` keys of `mnemonic` at m/44'/60'/0'/0/i.
///
/// # Errors
///
/// A mnemonic that is not valid BIP-39 English.
pub fn derive_keys(mnemonic: &str, count: u32) -> Result<Vec<SigningKey>, DevKeyError> {
    let mnemonic = bip39::Mnemonic::parse_normalized(mnemonic)
        .map_err(|e| DevKeyError(format!("mnemonic: {e}")))?;
    let seed = mnemonic.to_seed("");
    (0..count)
        .map(|i| {
            let secret = derive(&seed, &[44 | HARDENED, 60 | HARDENED, HARDENED, 0, i])?;
            SigningKey::from_bytes(secret.to_secret_bytes()).map_err(|e| DevKeyError(e.to_string()))
        })
        .collect()
}

/// An example contract dev mode can predeploy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExampleContract {
    /// Its name (`--predeploy NAME`).
    pub name: &'static str,
    /// The committed artifact.
    pub code: &'static [u8],
}

/// The example contracts (`contracts/examples`), as committed in `contracts/artifacts`.
pub const EXAMPLES: [ExampleContract; 5] = [
    ExampleContract {
        name: "token",
        code: include_bytes!("../../contracts/artifacts/token.wasm"),
    },
    ExampleContract {
        name: "counter",
        code: include_bytes!("../../contracts/artifacts/counter.wasm"),
    },
    ExampleContract {
        name: "multisig",
        code: include_bytes!("../../contracts/artifacts/multisig.wasm"),
    },
    ExampleContract {
        name: "router",
        code: include_bytes!("../../contracts/artifacts/router.wasm"),
    },
    ExampleContract {
        name: "abi_echo",
        code: include_bytes!("../../contracts/artifacts/abi_echo.wasm"),
    },
];

/// The example contract named `name`.
pub fn example(name: &str) -> Option<&'static ExampleContract> {
    EXAMPLES.iter().find(|c| c.name == name)
}

/// Where dev mode predeploys example `name`: the last 20 bytes of
/// keccak256("cairn/dev/" || name), away from any address a deploy
/// transaction can produce.
pub fn predeploy_address(name: &str) -> Address {
    let digest = keccak256(format!("cairn/dev/{name}").as_bytes());
    Address::from_slice(&digest.as_bytes()[12..])
}

/// The token supply the predeployed token mints to dev account 0.
pub fn dev_token_supply() -> U256 {
    U256::from(10u64).pow(U256::from(27u64))
}

/// The constructor input of a predeployed example, from the dev accounts.
fn predeploy_input(name: &str, accounts: &[Address]) -> Vec<u8> {
    match name {
        "token" => (
            "Cairn Dev Token".to_string(),
            "CDT".to_string(),
            dev_token_supply(),
        )
            .encode(),
        "counter" => 0u64.encode(),
        "multisig" => {
            let owners: Vec<Address> = accounts.iter().take(3).copied().collect();
            let threshold = u32::try_from(owners.len().min(2)).unwrap_or(1);
            (owners, threshold).encode()
        }
        _ => Vec::new(),
    }
}

/// Dev mode's chain parameters.
#[derive(Debug, Clone)]
pub struct DevChain {
    /// The funded keys, account 0 first.
    pub keys: Vec<SigningKey>,
    /// The genesis.
    pub genesis: Genesis,
}

/// The dev genesis: `keys` funded with [`DEV_BALANCE_WEI`] each, chain id
/// `chain_id`, and the `predeploy` examples deployed by account 0.
///
/// # Errors
///
/// An unknown example name.
pub fn dev_genesis(
    keys: &[SigningKey],
    chain_id: u64,
    timestamp: u64,
    predeploy: &[String],
) -> Result<Genesis, String> {
    let addresses: Vec<Address> = keys.iter().map(SigningKey::address).collect();
    let mut contracts = Vec::new();
    for name in predeploy {
        let example = example(name).ok_or_else(|| {
            let known: Vec<&str> = EXAMPLES.iter().map(|c| c.name).collect();
            format!(
                "unknown example contract `{name}` (known: {})",
                known.join(", ")
            )
        })?;
        if contracts
            .iter()
            .any(|c: &GenesisContract| c.name == example.name)
        {
            continue;
        }
        contracts.push(GenesisContract {
            name: example.name.to_string(),
            address: predeploy_address(example.name),
            deployer: addresses.first().copied().unwrap_or_default(),
            code: example.code.to_vec(),
            input: predeploy_input(example.name, &addresses),
            balance: U256::zero(),
        });
    }
    Ok(Genesis {
        chain_id,
        block_gas_limit: DEV_BLOCK_GAS_LIMIT,
        timestamp,
        accounts: addresses
            .iter()
            .map(|address| GenesisAccount {
                address: *address,
                balance: U256::from(DEV_BALANCE_WEI),
            })
            .collect(),
        contracts,
        validators: Vec::new(),
    })
}

/// An amount of base units as decimal units of 10^18, as anvil prints them.
pub fn format_units(amount: &U256) -> String {
    let unit = U256::from(10u64).pow(U256::from(18u64));
    let (whole, fraction) = amount.div_mod(unit);
    format!("{whole}.{:0>18}", fraction.to_string())
}

/// The banner printed at start in dev mode, laid out as anvil's so keys can
/// be copied the same way.
pub fn banner(keys: &[SigningKey], genesis: &Genesis, gas_price: u64) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\ncairn node {} (dev mode)\n",
        env!("CARGO_PKG_VERSION")
    );
    let _ = writeln!(out, "Available Accounts\n==================\n");
    for (i, key) in keys.iter().enumerate() {
        let balance = genesis
            .accounts
            .iter()
            .find(|a| a.address == key.address())
            .map(|a| a.balance)
            .unwrap_or_default();
        let address = crate::convert::to_alloy_address(&key.address());
        let _ = writeln!(out, "({i}) {address} ({} ETH)", format_units(&balance));
    }
    let _ = writeln!(out, "\nPrivate Keys\n==================\n");
    for (i, key) in keys.iter().enumerate() {
        let _ = writeln!(out, "({i}) 0x{}", hex::encode(key.to_bytes()));
    }
    let _ = writeln!(out, "\nWallet\n==================");
    let _ = writeln!(out, "Mnemonic:          {DEV_MNEMONIC}");
    let _ = writeln!(out, "Derivation path:   {DEV_DERIVATION_PATH}");
    if !genesis.contracts.is_empty() {
        let _ = writeln!(out, "\nPredeployed Contracts\n==================");
        for contract in &genesis.contracts {
            let address = crate::convert::to_alloy_address(&contract.address);
            let _ = writeln!(out, "{:<18} {address}", contract.name);
        }
    }
    let _ = writeln!(
        out,
        "\nChain ID\n==================\n\n{}",
        genesis.chain_id
    );
    let _ = writeln!(out, "\nBase Fee\n==================\n\n0");
    let _ = writeln!(out, "\nGas Price\n==================\n\n{gas_price}");
    let _ = writeln!(
        out,
        "\nGas Limit\n==================\n\n{}",
        genesis.block_gas_limit
    );
    let _ = writeln!(
        out,
        "\nGenesis Timestamp\n==================\n\n{}",
        genesis.timestamp
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derives_the_well_known_dev_accounts() {
        let keys = derive_keys(DEV_MNEMONIC, 3).unwrap();
        assert_eq!(
            hex::encode(keys[0].address()),
            "f39fd6e51aad88f6f4ce6ab8827279cfffb92266"
        );
        assert_eq!(
            hex::encode(keys[0].to_bytes()),
            "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
        );
        assert_eq!(
            hex::encode(keys[1].address()),
            "70997970c51812dc3a010c7d01b50e0d17dc79c8"
        );
        assert_eq!(
            hex::encode(keys[2].address()),
            "3c44cdddb6a900fa2b585dd299e03d12fa4293bc"
        );
    }

    #[test]
    fn garbage_mnemonics_are_refused() {
        assert!(derive_keys("not a mnemonic", 1).is_err());
        assert!(derive_keys("", 1).is_err());
    }

    #[test]
    fn dev_genesis_funds_and_predeploys() {
        let keys = derive_keys(DEV_MNEMONIC, 2).unwrap();
        let genesis =
            dev_genesis(&keys, DEV_CHAIN_ID, 0, &["token".into(), "token".into()]).unwrap();
        assert_eq!(genesis.accounts.len(), 2);
        assert_eq!(genesis.contracts.len(), 1);
        assert_eq!(genesis.contracts[0].address, predeploy_address("token"));
        let err = dev_genesis(&keys, DEV_CHAIN_ID, 0, &["nope".into()]).unwrap_err();
        assert!(err.contains("unknown example contract `nope`"), "{err}");
    }

    #[test]
    fn units_print_like_anvil() {
        assert_eq!(
            format_units(&U256::from(DEV_BALANCE_WEI)),
            "10000.000000000000000000"
        );
        assert_eq!(format_units(&U256::from(5u8)), "0.000000000000000005");
    }
}
