//! Gas estimates are exact: a signed transaction sent with the estimated
//! limit succeeds against the same state, and one gas less fails, for nested
//! calls (where the 63/64 forwarding rule makes the limit exceed the gas
//! used), a deploy, and a plain transfer.

use cairn_chain::tx::{SignedTransaction, Transaction, TxAction};
use cairn_chain::{
    Chain, Estimate, Genesis, GenesisAccount, InvalidTxPolicy, Receipt, SigningKey, TxRequest,
    contract_address,
};
use cairn_engine::runtime::{ExecConfig, ExecStatus, Executor};
use cairn_host_api::abi::{encode_call, encode_deploy};
use cairn_host_api::world::{Address, U256};
use cairn_state::MemoryStore;

const CHAIN_ID: u64 = 77;
const GAS_PRICE: u64 = 3;

fn artifact(name: &str) -> Vec<u8> {
    let path = cairn_tests::repo_root()
        .join("contracts/artifacts")
        .join(format!("{name}.wasm"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

struct Fixture {
    chain: Chain<MemoryStore>,
    alice: SigningKey,
    token: Address,
    router: Address,
    bob: Address,
}

impl Fixture {
    /// A chain where alice owns a token, and the router may spend 1000 of it.
    fn new() -> Self {
        let alice = SigningKey::from_seed(b"estimate alice");
        let genesis = Genesis {
            chain_id: CHAIN_ID,
            block_gas_limit: 1_000_000_000,
            timestamp: 1_000,
            accounts: vec![GenesisAccount {
                address: alice.address(),
                balance: U256::from(u64::MAX),
            }],
            contracts: Vec::new(),
            validators: Vec::new(),
        };
        let chain = Chain::init(
            MemoryStore::in_memory(),
            Executor::new(ExecConfig::default()),
            genesis,
        )
        .expect("genesis");
        let mut fixture = Self {
            chain,
            token: contract_address(&alice.address(), 0),
            router: contract_address(&alice.address(), 1),
            alice,
            bob: Address::repeat_byte(0xb0),
        };
        let supply = encode_deploy(&(
            "Cairn Token".to_string(),
            "CRN".to_string(),
            U256::from(1_000_000u64),
        ));
        fixture.commit(TxAction::Deploy {
            code: artifact("token"),
            data: supply,
        });
        fixture.commit(TxAction::Deploy {
            code: artifact("router"),
            data: encode_deploy(&()),
        });
        let approve = encode_call("approve", &(fixture.router, U256::from(1000u64)));
        fixture.commit(TxAction::Call {
            to: fixture.token,
            data: approve,
        });
        fixture
    }

    fn signed(&self, action: TxAction, gas_limit: u64) -> SignedTransaction {
        let nonce = self.chain.account(&self.alice.address()).unwrap().nonce;
        Transaction {
            chain_id: CHAIN_ID,
            nonce,
            gas_limit,
            gas_price: GAS_PRICE,
            value: U256::zero(),
            action,
        }
        .sign(&self.alice)
    }

    fn commit(&mut self, action: TxAction) {
        let tx = self.signed(action, 50_000_000);
        let timestamp = self.chain.head().timestamp + 1;
        let (_, receipts, rejected) = self
            .chain
            .produce_block(timestamp, Address::repeat_byte(0xbe), vec![tx])
            .unwrap();
        assert!(rejected.is_empty(), "{rejected:?}");
        assert!(receipts[0].is_success(), "{:?}", receipts[0]);
    }

    /// The receipt of `action` sent with `gas_limit` in the next block, or
    /// `None` if admission refuses it; nothing is committed.
    fn send(&self, action: &TxAction, gas_limit: u64) -> Option<Receipt> {
        let tx = self.signed(action.clone(), gas_limit);
        let executed = self
            .chain
            .execute_block(
                self.chain.head().timestamp,
                Address::repeat_byte(0xbe),
                vec![tx],
                InvalidTxPolicy::Skip,
                false,
            )
            .expect("no node failure");
        executed.receipts.into_iter().next()
    }

    fn estimate(&self, action: &TxAction) -> (u64, Receipt) {
        let request = TxRequest {
            sender: self.alice.address(),
            gas_price: GAS_PRICE,
            value: U256::zero(),
            action: action.clone(),
        };
        match self.chain.estimate_gas(&request, 100_000_000).unwrap() {
            Estimate::Succeeds { gas_limit, receipt } => (gas_limit, receipt),
            other => panic!("no estimate: {other:?}"),
        }
    }

    /// Estimates `action`, then checks the limit against real transactions.
    fn assert_exact(&self, action: &TxAction) -> (u64, u64) {
        let (limit, simulated) = self.estimate(action);
        let at = self.send(action, limit).expect("admitted at the estimate");
        assert!(at.is_success(), "fails at the estimate {limit}: {at:?}");
        assert_eq!(at, simulated, "the simulation is the transaction's receipt");
        // One gas less: a failed receipt, or not admitted at all (below intrinsic gas).
        let below = self.send(action, limit - 1);
        assert!(
            !below.as_ref().is_some_and(Receipt::is_success),
            "succeeds with one gas less than the estimate {limit}: {below:?}"
        );
        (limit, at.gas_used)
    }
}

#[test]
fn nested_call_estimate_is_exact_and_above_gas_used() {
    let fixture = Fixture::new();
    // router.pay_or_revert calls token.transfer_from and reverts if it fails,
    // so too little gas for the inner call fails the transaction.
    let action = TxAction::Call {
        to: fixture.router,
        data: encode_call(
            "pay_or_revert",
            &(fixture.token, fixture.bob, U256::from(10u64)),
        ),
    };
    let (limit, used) = fixture.assert_exact(&action);
    assert!(
        limit > used,
        "the 63/64 rule should make the limit ({limit}) exceed the gas used ({used})"
    );
    // A call nested one level deeper in the token's view through the router.
    let view = TxAction::Call {
        to: fixture.router,
        data: encode_call("balance_via", &(fixture.token, fixture.alice.address())),
    };
    fixture.assert_exact(&view);
}

#[test]
fn deploy_and_direct_call_estimates_are_exact() {
    let fixture = Fixture::new();
    fixture.assert_exact(&TxAction::Deploy {
        code: artifact("counter"),
        data: encode_deploy(&5u64),
    });
    let (limit, used) = fixture.assert_exact(&TxAction::Call {
        to: fixture.token,
        data: encode_call("transfer", &(fixture.bob, U256::from(5u64))),
    });
    assert!(limit >= used);
    // A plain value-less call to an account without code: intrinsic gas only.
    let transfer = TxAction::Call {
        to: fixture.bob,
        data: Vec::new(),
    };
    let (limit, _) = fixture.assert_exact(&transfer);
    let request = TxRequest {
        sender: fixture.alice.address(),
        gas_price: GAS_PRICE,
        value: U256::zero(),
        action: transfer,
    };
    assert_eq!(limit, request.intrinsic_gas());
}

#[test]
fn estimates_of_failing_and_unaffordable_transactions_say_why() {
    let fixture = Fixture::new();
    let request = |sender: Address, action: TxAction| TxRequest {
        sender,
        gas_price: GAS_PRICE,
        value: U256::zero(),
        action,
    };
    // More than the allowance: the token reverts at any limit.
    let too_much = TxAction::Call {
        to: fixture.router,
        data: encode_call(
            "pay_or_revert",
            &(fixture.token, fixture.bob, U256::from(5000u64)),
        ),
    };
    match fixture
        .chain
        .estimate_gas(&request(fixture.alice.address(), too_much), 100_000_000)
        .unwrap()
    {
        Estimate::Fails { cap, receipt } => {
            assert_eq!(cap, 100_000_000);
            assert!(matches!(receipt.status, ExecStatus::Revert { .. }));
        }
        other => panic!("expected a failure, got {other:?}"),
    }
    // A sender without funds cannot pay for the gas.
    let broke = request(
        Address::repeat_byte(0x99),
        TxAction::Call {
            to: fixture.token,
            data: Vec::new(),
        },
    );
    assert!(matches!(
        fixture.chain.estimate_gas(&broke, 1_000_000).unwrap(),
        Estimate::Refused(_)
    ));
    // A cap below the intrinsic gas is refused, not estimated.
    let transfer = request(
        fixture.alice.address(),
        TxAction::Call {
            to: fixture.bob,
            data: Vec::new(),
        },
    );
    let intrinsic = transfer.intrinsic_gas();
    assert!(matches!(
        fixture
            .chain
            .estimate_gas(&transfer, intrinsic - 1)
            .unwrap(),
        Estimate::Refused(_)
    ));
}
