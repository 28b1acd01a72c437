// A stock Ethereum client library (viem) drives a running Cairn dev node
// over real sockets. Run by cli/tests/cli/node.rs as
//   node client.mjs <http url> <ws url> <token.wasm path>
// Every step checks what it got and throws on a mismatch (exit 1); every
// wait is bounded (a watchdog exits 2). The last line printed is a JSON
// summary the Rust test checks again.
import { readFileSync } from 'node:fs'
import {
  createPublicClient, createWalletClient, defineChain, http, webSocket,
  keccak256, toHex, parseEther, NonceTooLowError, BaseError,
} from 'viem'
import { mnemonicToAccount, privateKeyToAccount } from 'viem/accounts'

const [url, wsUrl, tokenWasm] = process.argv.slice(2)
if (!url || !wsUrl || !tokenWasm) throw new Error('usage: node client.mjs <http url> <ws url> <token.wasm>')

const WATCHDOG_MS = 120_000
setTimeout(() => { console.error(`watchdog: not done after ${WATCHDOG_MS} ms`); process.exit(2) }, WATCHDOG_MS).unref()

const check = (ok, what) => { if (!ok) throw new Error(`check failed: ${what}`) }
const step = (what) => console.error(`step: ${what}`)

// --- SCALE, as specs/abi.md and specs/chain.md define it -----------------
const compact = (n) => {
  if (n < 64) return [n << 2]
  if (n < 1 << 14) { const v = (n << 2) | 1; return [v & 0xff, v >> 8] }
  const v = (n * 4 + 2) >>> 0
  return [v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, v >>> 24]
}
const scaleBytes = (bytes) => [...compact(bytes.length), ...bytes]
const scaleString = (s) => scaleBytes([...Buffer.from(s, 'utf8')])
const u256le = (n) => { const out = []; for (let i = 0; i < 32; i++) { out.push(Number(n & 0xffn)); n >>= 8n } return out }
const fromU256le = (hex) => { const b = Buffer.from(hex.slice(2), 'hex'); check(b.length === 32, `U256 is 32 bytes: ${hex}`); let n = 0n; for (let i = 31; i >= 0; i--) n = (n << 8n) | BigInt(b[i]); return n }
const addressBytes = (a) => [...Buffer.from(a.slice(2), 'hex')]
const hex = (bytes) => '0x' + Buffer.from(bytes).toString('hex')
// A call: the first 4 bytes of keccak256(method name), then SCALE arguments.
const selector = (name) => [...Buffer.from(keccak256(toHex(name)).slice(2, 10), 'hex')]
const callData = (name, ...args) => hex([...selector(name), ...args.flat()])
// An indexed address topic: its 20 bytes, right-padded to 32.
const addressTopic = (a) => hex([...addressBytes(a), ...new Array(12).fill(0)]).toLowerCase()

// --- clients ---------------------------------------------------------------
const bare = createPublicClient({ transport: http(url) })
const chainId = await bare.getChainId()
step(`chain id ${chainId}`)
const cairnDev = defineChain({
  id: chainId, name: 'Cairn dev',
  nativeCurrency: { name: 'Cairn', symbol: 'CRN', decimals: 18 },
  rpcUrls: { default: { http: [url], webSocket: [wsUrl] } },
})
const pub = createPublicClient({ chain: cairnDev, transport: http(url), pollingInterval: 50 })
const fromMnemonic = mnemonicToAccount('test test test test test test test test test test test junk')
const alice = privateKeyToAccount('0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80')
check(fromMnemonic.address === alice.address, 'dev account 0 from the mnemonic and from its printed key agree')
const bob = mnemonicToAccount('test test test test test test test test test test test junk', { addressIndex: 1 })
const wallet = createWalletClient({ chain: cairnDev, transport: http(url), account: alice })
const bobWallet = createWalletClient({ chain: cairnDev, transport: http(url), account: bob })
const receiptOf = (hash) => pub.waitForTransactionReceipt({ hash, pollingInterval: 50, timeout: 30_000 })

// --- chain facts and dev balances ------------------------------------------
const aliceStart = await pub.getBalance({ address: alice.address })
const bobStart = await pub.getBalance({ address: bob.address })
check(aliceStart === parseEther('10000'), `dev account 0 holds 10000 ETH: ${aliceStart}`)
check(bobStart === parseEther('10000'), `dev account 1 holds 10000 ETH: ${bobStart}`)
const latest = await pub.getBlock()
check(latest.baseFeePerGas === 0n, 'blocks carry baseFeePerGas = 0')

// --- WebSocket: newHeads ------------------------------------------------------
const wsClient = createPublicClient({ chain: cairnDev, transport: webSocket(wsUrl) })
const heads = []
const unwatch = wsClient.watchBlockNumber({ onBlockNumber: (n) => heads.push(n), emitOnBegin: false })

// --- a native transfer, signed by viem (EIP-1559, as the base fee tells it) --
step('transfer')
const value = parseEther('1.5')
const transferHash = await wallet.sendTransaction({ to: bob.address, value })
const transferTx = await pub.getTransaction({ hash: transferHash })
check(transferTx.type === 'eip1559', `viem chose EIP-1559: ${transferTx.type}`)
const transfer = await receiptOf(transferHash)
check(transfer.status === 'success', `transfer succeeded: ${transfer.status}`)
check(transfer.transactionHash === transferHash, 'receipt names the hash viem computed')
check(transfer.from.toLowerCase() === alice.address.toLowerCase(), 'receipt sender')
check(transfer.gasUsed === 21000n, `a plain transfer uses 21000 gas: ${transfer.gasUsed}`)
const fee = transfer.gasUsed * transfer.effectiveGasPrice
const aliceAfter = await pub.getBalance({ address: alice.address })
check(aliceAfter === aliceStart - value - fee, `sender paid value + fee: ${aliceAfter}`)
check(await pub.getBalance({ address: bob.address }) === bobStart + value, 'recipient got the value')
check(await pub.getTransactionCount({ address: alice.address }) === 1, 'nonce advanced')

// --- deploy the token contract: data = SCALE (code, constructor input) ------
step('deploy')
const code = [...readFileSync(tokenWasm)]
const supply = 1_000_000n
const ctorInput = [...scaleString('Viem Token'), ...scaleString('VTK'), ...u256le(supply)]
const deployHash = await wallet.sendTransaction({ data: hex([...scaleBytes(code), ...scaleBytes(ctorInput)]) })
const deployed = await receiptOf(deployHash)
check(deployed.status === 'success', `deploy succeeded: ${deployed.status}`)
const token = deployed.contractAddress
check(typeof token === 'string' && token.length === 42, `receipt has the contract address: ${token}`)
const deployedCode = await pub.getCode({ address: token })
check(deployedCode !== undefined && deployedCode.length > 2, 'eth_getCode returns the Wasm')

// --- call it: a token transfer, then balances through eth_call -------------
step('token transfer')
const TRANSFER = keccak256(toHex('Transfer'))
const sent = 1234n
const tokenTransferHash = await wallet.sendTransaction({ to: token, data: callData('transfer', addressBytes(bob.address), u256le(sent)) })
const tokenTransfer = await receiptOf(tokenTransferHash)
check(tokenTransfer.status === 'success', `token transfer succeeded: ${tokenTransfer.status}`)
check(tokenTransfer.logs.length === 1, `one Transfer log: ${tokenTransfer.logs.length}`)
const log = tokenTransfer.logs[0]
check(log.address.toLowerCase() === token.toLowerCase(), 'log address is the token')
check(log.topics[0] === TRANSFER, 'topic 0 is keccak256("Transfer")')
check(log.topics[1] === addressTopic(alice.address) && log.topics[2] === addressTopic(bob.address), 'from/to topics')
check(fromU256le(log.data) === sent, `log data is the amount: ${log.data}`)
const balanceOf = async (who) => fromU256le((await pub.call({ to: token, data: callData('balance_of', addressBytes(who)) })).data)
const bobTokens = await balanceOf(bob.address)
const aliceTokens = await balanceOf(alice.address)
check(bobTokens === sent, `eth_call balance_of(bob) = ${bobTokens}`)
check(aliceTokens === supply - sent, `eth_call balance_of(alice) = ${aliceTokens}`)

// --- logs filtered by topic ----------------------------------------------------
step('logs')
const all = await pub.getLogs({ address: token, fromBlock: 0n, toBlock: 'latest' })
check(all.length === 2, `the mint and the transfer: ${all.length}`)
const toBob = await pub.request({ method: 'eth_getLogs', params: [{ address: token, fromBlock: '0x0', toBlock: 'latest', topics: [TRANSFER, null, addressTopic(bob.address)] }] })
check(toBob.length === 1 && toBob[0].transactionHash === tokenTransferHash, `filtered by the 'to' topic: ${toBob.length}`)
const none = await pub.request({ method: 'eth_getLogs', params: [{ address: token, fromBlock: '0x0', toBlock: 'latest', topics: [keccak256(toHex('Approval'))] }] })
check(none.length === 0, 'no Approval logs')

// --- a revert: status 0 in the receipt, the reason through eth_call/estimateGas
step('revert')
const tooMuch = callData('transfer', addressBytes(alice.address), u256le(sent + 1n))
let estimateError
try { await bobWallet.sendTransaction({ to: token, data: tooMuch }) } catch (e) { estimateError = e }
check(estimateError instanceof BaseError, 'sending a reverting call without gas fails at eth_estimateGas')
check(estimateError.message.includes('insufficient balance'), `the estimate error carries the reason: ${estimateError?.message}`)
const revertedHash = await bobWallet.sendTransaction({ to: token, data: tooMuch, gas: 300_000n })
const reverted = await receiptOf(revertedHash)
check(reverted.status === 'reverted', `a reverting transaction is included with status 0: ${reverted.status}`)
check(reverted.logs.length === 0, 'a reverted transaction leaves no logs')
let callError
try { await pub.call({ account: bob.address, to: token, data: tooMuch }) } catch (e) { callError = e }
check(callError instanceof BaseError, 'eth_call of the reverting call throws')
const code3 = callError.walk((e) => e?.code === 3)
check(code3 !== null && code3 !== undefined, 'the revert has JSON-RPC code 3')
check(callError.message.includes('insufficient balance'), `the reason is reachable: ${callError.message}`)
check(await balanceOf(bob.address) === sent, 'the revert changed nothing')

// --- a halt: out of gas one unit short of the estimate; a dev node traces it ----
step('halt')
const oneToken = callData('transfer', addressBytes(alice.address), u256le(1n))
const needed = await pub.estimateGas({ account: bob.address, to: token, data: oneToken })
let haltError
try { await pub.call({ account: bob.address, to: token, data: oneToken, gas: needed - 1n }) } catch (e) { haltError = e }
check(haltError instanceof BaseError, 'eth_call one unit short of the estimate throws')
const halted = haltError.walk((e) => e?.code === -32000 && e?.data !== undefined)
check(halted, `the halt reaches viem as -32000 with its data: ${haltError?.message}`)
check(halted.data.kind === 'out_of_gas', `out of gas: ${JSON.stringify(halted.data)}`)
check(typeof halted.data.function === 'string' && halted.data.backtrace?.length > 0,
  `the dev node ran it again traced (function, backtrace): ${JSON.stringify(halted.data)}`)
check(halted.data.gas_left < 0, `the exact counter, below zero: ${JSON.stringify(halted.data)}`)

// --- a stale nonce is refused with an error viem recognises --------------------
step('stale nonce')
let nonceError
try { await wallet.sendTransaction({ to: bob.address, value: 1n, nonce: 0 }) } catch (e) { nonceError = e }
check(nonceError instanceof BaseError, 'a stale nonce is refused')
check(nonceError.walk((e) => e instanceof NonceTooLowError) instanceof NonceTooLowError, `viem classifies it as NonceTooLowError: ${nonceError?.message}`)

// --- WebSocket newHeads saw the blocks -------------------------------------------
step('newHeads')
const head = await pub.getBlockNumber()
for (let i = 0; i < 200 && !heads.includes(head); i++) await new Promise((r) => setTimeout(r, 50))
unwatch()
check(heads.includes(head), `eth_subscribe newHeads delivered block ${head}: ${heads}`)
await wsClient.transport.getRpcClient?.().then((c) => c.close()).catch(() => {})

console.log(JSON.stringify({
  chainId, head: Number(head), token, transferHash, deployHash, tokenTransferHash, revertedHash,
  bobTokens: bobTokens.toString(), reverted: reverted.status, nonceError: nonceError.shortMessage,
}))
process.exit(0)
