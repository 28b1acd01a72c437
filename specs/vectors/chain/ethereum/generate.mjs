// Cairn's Ethereum-envelope conformance vectors, signed by viem (a stock
// Ethereum library, not Cairn's code). Regenerate with
//   npm ci && node generate.mjs > ../ethereum.json
// The Rust test chain/src/vectors.rs decodes every `raw` and checks the
// hash, the sender and the Cairn fields given here, and that every
// `rejected` case is refused with the named reason.
import { mnemonicToAccount, privateKeyToAccount } from 'viem/accounts'
import { keccak256, serializeTransaction } from 'viem'

const dev = mnemonicToAccount('test test test test test test test test test test test junk')
const other = privateKeyToAccount('0x0000000000000000000000000000000000000000000000000000000000000002')

// SCALE: a compact length prefix, then the bytes (specs/chain.md).
const compact = (n) => {
  if (n < 64) return [n << 2]
  if (n < 1 << 14) { const v = (n << 2) | 1; return [v & 0xff, v >> 8] }
  const v = (n * 4 + 2) >>> 0
  return [v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, v >>> 24]
}
const hexBytes = (hex) => Array.from(Buffer.from(hex.slice(2), 'hex'))
const scaleBytes = (hex) => { const b = hexBytes(hex); return [...compact(b.length), ...b] }
const hex = (bytes) => '0x' + Buffer.from(bytes).toString('hex')
// `(code, input)` for a deploy: the smallest module with a `call` export.
const code = '0x0061736d010000000104016000000302010007080104' + Buffer.from('call').toString('hex') + '00000a040102000b'
const input = '0x0102'
const deployData = hex([...scaleBytes(code), ...scaleBytes(input)])

const accepted = []
const add = async (name, account, tx, cairn) => {
  const raw = await account.signTransaction(tx)
  accepted.push({ name, private_key_or_mnemonic: account === dev ? 'test mnemonic, m/44\'/60\'/0\'/0/0' : '0x..02',
    viem_request: JSON.parse(JSON.stringify(tx, (_, v) => typeof v === 'bigint' ? v.toString() : v)),
    raw, hash: keccak256(raw), sender: account.address.toLowerCase(), cairn })
}
const to = '0x70997970c51812dc3a010c7d01b50e0d17dc79c8'
await add('eip1559 native transfer', dev,
  { chainId: 31337, type: 'eip1559', nonce: 0, gas: 21000n, maxFeePerGas: 3000000000n, maxPriorityFeePerGas: 1000000000n, to, value: 10n ** 18n },
  { type: 2, chain_id: 31337, nonce: 0, gas_limit: 21000, gas_price: 1000000000, value: (10n ** 18n).toString(), action: { call: { to, data: '0x' } }, intrinsic_gas: 21000 })
await add('eip1559 call with data, tip capped by the fee cap', dev,
  { chainId: 31337, type: 'eip1559', nonce: 7, gas: 500000n, maxFeePerGas: 5n, maxPriorityFeePerGas: 5n, to, value: 0n, data: '0xdeadbeef' },
  { type: 2, chain_id: 31337, nonce: 7, gas_limit: 500000, gas_price: 5, value: '0', action: { call: { to, data: '0xdeadbeef' } }, intrinsic_gas: 21000 + 16 * 4 })
await add('eip1559 deploy: data is SCALE (code, input)', dev,
  { chainId: 31337, type: 'eip1559', nonce: 1, gas: 3000000n, maxFeePerGas: 2000000000n, maxPriorityFeePerGas: 0n, data: deployData },
  { type: 2, chain_id: 31337, nonce: 1, gas_limit: 3000000, gas_price: 0, value: '0', action: { deploy: { code, data: input } }, intrinsic_gas: 53000 + 16 * (hexBytes(code).length + 2) })
await add('legacy eip155 transfer', other,
  { chainId: 1337, type: 'legacy', nonce: 2, gas: 21000n, gasPrice: 7n, to, value: 1n },
  { type: 0, chain_id: 1337, nonce: 2, gas_limit: 21000, gas_price: 7, value: '1', action: { call: { to, data: '0x' } }, intrinsic_gas: 21000 })
await add('legacy eip155 call on a large chain id', other,
  { chainId: 4294967295, type: 'legacy', nonce: 0, gas: 100000n, gasPrice: 1n, to, value: 0n, data: '0x00' },
  { type: 0, chain_id: 4294967295, nonce: 0, gas_limit: 100000, gas_price: 1, value: '0', action: { call: { to, data: '0x00' } }, intrinsic_gas: 21016 })

const rejected = []
const refuse = async (name, raw, reason) => rejected.push({ name, raw, reason })
await refuse('eip2930 transaction', await dev.signTransaction({ chainId: 31337, type: 'eip2930', nonce: 0, gas: 21000n, gasPrice: 1n, to, value: 1n, accessList: [] }), 'unsupported_type')
await refuse('eip1559 with an access list', await dev.signTransaction({ chainId: 31337, type: 'eip1559', nonce: 0, gas: 30000n, maxFeePerGas: 1n, maxPriorityFeePerGas: 1n, to, accessList: [{ address: to, storageKeys: [] }] }), 'access_list')
await refuse('legacy without a chain id (pre-EIP-155)', await dev.signTransaction({ type: 'legacy', nonce: 0, gas: 21000n, gasPrice: 1n, to, value: 1n }), 'no_chain_id')
await refuse('deploy whose data is not SCALE (code, input)', await dev.signTransaction({ chainId: 31337, type: 'eip1559', nonce: 0, gas: 100000n, maxFeePerGas: 1n, maxPriorityFeePerGas: 1n, data: code }), 'deploy_payload')
await refuse('effective gas price above 2^64 - 1', await dev.signTransaction({ chainId: 31337, type: 'legacy', nonce: 0, gas: 21000n, gasPrice: 2n ** 64n, to, value: 0n }), 'gas_price_too_high')
const good = accepted[0].raw
await refuse('trailing byte', good + '00', 'malformed')
await refuse('truncated', good.slice(0, -2), 'malformed')
await refuse('garbage', '0xdeadbeef', 'malformed')
await refuse('empty', '0x', 'malformed')

console.log(JSON.stringify({
  description: 'Ethereum typed transactions as Cairn accepts them (specs/chain.md, "Ethereum transactions"), signed by viem ' +
    '2.57.20. accepted: raw EIP-2718 bytes, Ethereum tx hash, recovered sender and the Cairn fields they map to ' +
    '(gas_price is the effective price with no base fee; a deploy\'s data is SCALE (code, input)). rejected: raw bytes ' +
    'and the reason they are refused.',
  accepted, rejected }, null, 1))
