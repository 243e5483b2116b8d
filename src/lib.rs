//! fusion: an event-sourced, tamper-evident ledger of organisations.
pub mod chain;
pub mod checkpoint;
pub mod date;
pub mod diff;
pub mod event;
pub mod export;
mod fast;
pub mod fold;
pub mod generator;
pub mod graph;
pub mod index;
pub mod json;
pub mod lineage;
pub mod merkle;
pub mod proof;
pub mod record;
pub mod report;
pub mod snapshot;
pub mod store;
pub mod stream;
#[cfg(test)]
mod testing;
pub mod view;
