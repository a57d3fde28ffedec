//! The states of a store: their kinds, the one constructor of a state, and the one lookup.

use super::options::{cf_options, StoreOptions};
use super::{State, Store};
use crate::error::{Error, Result};
use crate::hot::HotTable;
use crate::ttl::{TtlCell, TtlConfig};
use rocksdb::{ColumnFamily, Options, DB};
use std::collections::HashMap;
use std::sync::Arc;

/// How values of a state are laid out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum StateKind {
    /// Value, reducing and aggregating state: one value per key and namespace.
    Value = 0,
    /// List state, in the store's list format ([`crate::list`]).
    List = 1,
    /// Map state: one entry per user key, the value preceded by a null flag.
    Map = 2,
}

impl StateKind {
    /// Decodes the kind the Java side sends.
    pub fn from_code(code: i32) -> Result<StateKind> {
        match code {
            0 => Ok(StateKind::Value),
            1 => Ok(StateKind::List),
            2 => Ok(StateKind::Map),
            other => Err(Error::InvalidArgument(format!(
                "unknown state kind {other}"
            ))),
        }
    }
}

impl Store {
    /// Registers a state (or finds the one restored under that name) and returns its id.
    /// A restored state takes the kind of its first registration; a different kind later is
    /// an error.
    pub fn register_state(&mut self, name: &str, kind: StateKind) -> Result<u32> {
        if name.is_empty() || name == rocksdb::DEFAULT_COLUMN_FAMILY_NAME {
            return Err(Error::InvalidArgument(format!(
                "state name {name:?} is reserved"
            )));
        }
        let Some(&id) = self.by_name.get(name) else {
            return self.add_state(name, Origin::Registered(kind));
        };
        let st = &mut self.states[id as usize];
        match st.kind {
            None => st.kind = Some(kind),
            Some(k) if k == kind => {}
            Some(k) => {
                return Err(Error::InvalidArgument(format!(
                    "state {name:?} is registered as {k:?}, not {kind:?}"
                )))
            }
        }
        Ok(id)
    }

    /// Names of all states, by id (restored ones included).
    pub fn state_names(&self) -> Vec<String> {
        self.states.iter().map(|s| s.name.clone()).collect()
    }

    /// The kind a state was registered with.
    pub fn state_kind(&self, state: u32) -> Result<Option<StateKind>> {
        Ok(self.state(state)?.kind)
    }

    /// Sets or clears the TTL compaction filter of a state.
    pub fn set_ttl(&mut self, state: u32, config: Option<TtlConfig>) -> Result<()> {
        self.state(state)?.ttl.set(config);
        Ok(())
    }

    /// Creates the column family of a state this store does not know yet and adds the state.
    pub(super) fn add_state(&mut self, name: &str, origin: Origin) -> Result<u32> {
        let (state, cf) = State::new(name, origin, &self.opts);
        self.db.create_cf(name, &cf)?;
        Ok(self.push_state(state))
    }

    /// Adds a state whose column family exists.
    pub(super) fn push_state(&mut self, state: State) -> u32 {
        push(&mut self.states, &mut self.by_name, state)
    }

    /// True while the hot tier holds everything of `state` (no entry exists only in RocksDB):
    /// every read of it, map scans included, is then answered from memory. False for good once
    /// an entry leaves the hot tier or for a state found in RocksDB (restored or imported).
    pub fn is_in_memory(&self, state: u32) -> Result<bool> {
        Ok(self.state(state)?.hot.is_complete())
    }

    /// The state `id`.
    #[inline]
    pub(super) fn state(&self, id: u32) -> Result<&State> {
        self.states.get(id as usize).ok_or(Error::UnknownState(id))
    }

    /// The state `id`, to change.
    #[inline]
    pub(super) fn state_mut(&mut self, id: u32) -> Result<&mut State> {
        state_in(&mut self.states, id)
    }
}

/// Where a state comes from.
#[derive(Clone, Copy, Debug)]
pub(super) enum Origin {
    /// Registered by the backend with this kind: RocksDB holds nothing of it, so its hot
    /// table starts complete.
    Registered(StateKind),
    /// Found in RocksDB (restored or imported): its kind is known at its registration, and
    /// its hot table is incomplete.
    Stored,
}

impl State {
    /// The one constructor of a state: its hot table and the options of its column family
    /// (which carry the state's TTL filter).
    pub(super) fn new(name: &str, origin: Origin, opts: &StoreOptions) -> (State, Options) {
        let ttl = Arc::new(TtlCell::default());
        let cf = cf_options(&opts.memory, Some((ttl.clone(), opts.clock.clone())));
        let mut hot = HotTable::new();
        hot.set_growth_limit(opts.memory.hot_limit());
        let kind = match origin {
            Origin::Registered(kind) => Some(kind),
            Origin::Stored => {
                hot.set_incomplete();
                None
            }
        };
        let state = State {
            name: name.to_string(),
            kind,
            hot,
            ttl,
            accounted: 0,
        };
        (state, cf)
    }

    /// The column family of this state in `db`.
    pub(super) fn cf<'a>(&self, db: &'a DB) -> Result<&'a ColumnFamily> {
        cf(db, &self.name)
    }
}

/// The column family `name` of `db`.
pub(super) fn cf<'a>(db: &'a DB, name: &str) -> Result<&'a ColumnFamily> {
    db.cf_handle(name)
        .ok_or_else(|| Error::corrupt("store", format!("column family {name:?} is missing")))
}

/// The state `id` of `states`: the one lookup, for callers that borrow other fields of the
/// store at the same time.
#[inline]
pub(super) fn state_in(states: &mut [State], id: u32) -> Result<&mut State> {
    states.get_mut(id as usize).ok_or(Error::UnknownState(id))
}

/// Adds `state` under its name and returns its id.
pub(super) fn push(
    states: &mut Vec<State>,
    by_name: &mut HashMap<String, u32>,
    state: State,
) -> u32 {
    let id = states.len() as u32;
    by_name.insert(state.name.clone(), id);
    states.push(state);
    id
}
