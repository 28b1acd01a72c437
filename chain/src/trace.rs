//! Re-execution of one included transaction with every diagnostic the
//! engine has (the trapping function, the host call in progress, the Wasm
//! backtrace, every frame): what `cairn_traceTransaction` answers for a
//! failed transaction. Developer tooling: nothing here reaches a root or a
//! receipt, and the traced outcome is checked against the stored receipt.

use cairn_engine::runtime::{BlockContext, ExecOutcome, Message, MessageKind};
use cairn_host_api::world::{Address, H256, U256};
use cairn_state::StateView;

use crate::admission::intrinsic_gas;
use crate::block::Receipt;
use crate::error::ChainError;
use crate::execute::{BlockEnv, InvalidTxPolicy, execute_transactions};
use crate::reader::ChainReader;
use crate::storage::BlockStore;
use crate::tx::{TxAction, contract_address};
use crate::world::{BlockState, StateAt};

/// One included transaction, re-executed with tracing.
#[derive(Debug, Clone)]
pub struct TxTrace {
    /// Its block.
    pub block: u64,
    /// Its index in the block.
    pub index: u32,
    /// Its sender.
    pub sender: Address,
    /// The stored receipt.
    pub receipt: Receipt,
    /// The traced message's outcome (intrinsic gas not included), with
    /// diagnostics and frames.
    pub outcome: ExecOutcome,
    /// The message's gas limit (the transaction's minus intrinsic gas).
    pub gas_limit: u64,
    /// Whether the traced status equals the receipt's (it must; `false`
    /// means this node's engine disagrees with the stored chain).
    pub matches_receipt: bool,
}

impl<V: StateView + Clone> ChainReader<V> {
    /// Re-executes the block of transaction `hash` up to it, then it, traced.
    ///
    /// # Errors
    ///
    /// Node failures; the block's earlier transactions failing admission
    /// on re-execution (a corrupt store).
    pub fn trace_transaction(&self, hash: &H256) -> Result<Option<TxTrace>, ChainError> {
        let Some((number, index)) = self.state().tx_location(hash)? else {
            return Ok(None);
        };
        if number == 0 || number > self.head().number {
            return Ok(None);
        }
        let block = self.state().expect_block(number)?;
        let receipts = self.state().expect_receipts(number)?;
        let position = usize::try_from(index).unwrap_or(usize::MAX);
        let (Some(tx), Some(receipt)) = (block.transactions.get(position), receipts.get(position))
        else {
            return Err(ChainError::corrupt(
                format!("tx index of {hash:?}"),
                format!("block {number} has no transaction {index}"),
            ));
        };
        let genesis = self.genesis();
        let env = BlockEnv {
            number,
            timestamp: block.header.timestamp,
            beneficiary: block.header.beneficiary,
            gas_limit: block.header.gas_limit,
            chain_id: genesis.chain_id,
        };
        let base = StateAt::new(self.state(), number - 1);
        let mut state = BlockState::new(&base, false);
        execute_transactions(
            self.executor(),
            &mut state,
            &env,
            block.transactions[..position].to_vec(),
            InvalidTxPolicy::Reject,
        )?;
        let sender = tx
            .recover_sender()
            .map_err(|e| ChainError::corrupt(format!("transaction {hash:?}"), e.to_string()))?;
        // The up-front charge and nonce bump, as block execution makes them
        // (`execute::execute_admitted`), so the message sees the same world.
        let mut account = state.account_or_default(&sender)?;
        account.nonce = account.nonce.saturating_add(1);
        account.balance = account
            .balance
            .saturating_sub(U256::from(tx.gas_limit()).saturating_mul(U256::from(tx.gas_price())));
        state.put_account(&sender, &account);
        let (target, kind, input) = match tx.action() {
            TxAction::Call { to, data } => (*to, MessageKind::Call, data.clone()),
            TxAction::Deploy { code, data } => (
                contract_address(&sender, tx.nonce()),
                MessageKind::Deploy { code: code.clone() },
                data.clone(),
            ),
        };
        let gas_limit = tx.gas_limit().saturating_sub(intrinsic_gas(tx));
        let message = Message {
            origin: sender,
            caller: sender,
            target,
            value: tx.value(),
            input,
            gas_limit,
            kind,
        };
        let context = BlockContext {
            number,
            timestamp: block.header.timestamp,
            chain_id: genesis.chain_id,
        };
        let outcome = self.executor().execute_traced(&state, &context, &message)?;
        Ok(Some(TxTrace {
            block: number,
            index,
            sender,
            matches_receipt: outcome.status == receipt.status,
            receipt: receipt.clone(),
            outcome,
            gas_limit,
        }))
    }
}
