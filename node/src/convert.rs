//! Conversions between Cairn's primitive types (`primitive-types`) and
//! alloy's, at the JSON-RPC boundary only.

use cairn_host_api::world::{Address, H256, U256};

/// A Cairn address as alloy's.
pub fn to_alloy_address(address: &Address) -> alloy_primitives::Address {
    alloy_primitives::Address::from_slice(address.as_bytes())
}

/// An alloy address as Cairn's.
pub fn from_alloy_address(address: &alloy_primitives::Address) -> Address {
    Address::from_slice(address.as_slice())
}

/// A Cairn hash as alloy's.
pub fn to_alloy_b256(hash: &H256) -> alloy_primitives::B256 {
    alloy_primitives::B256::from(hash.0)
}

/// An alloy hash as Cairn's.
pub fn from_alloy_b256(hash: &alloy_primitives::B256) -> H256 {
    H256(hash.0)
}

/// A Cairn amount as alloy's.
pub fn to_alloy_u256(value: &U256) -> alloy_primitives::U256 {
    alloy_primitives::U256::from_be_bytes(value.to_big_endian())
}

/// An alloy amount as Cairn's.
pub fn from_alloy_u256(value: &alloy_primitives::U256) -> U256 {
    U256::from_big_endian(&value.to_be_bytes::<32>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let address = Address::repeat_byte(0xab);
        assert_eq!(from_alloy_address(&to_alloy_address(&address)), address);
        let hash = H256::repeat_byte(7);
        assert_eq!(from_alloy_b256(&to_alloy_b256(&hash)), hash);
        let value = U256::from(10u64).pow(U256::from(30u64)) + U256::from(5u8);
        assert_eq!(from_alloy_u256(&to_alloy_u256(&value)), value);
        assert_eq!(to_alloy_u256(&U256::MAX), alloy_primitives::U256::MAX);
    }
}
