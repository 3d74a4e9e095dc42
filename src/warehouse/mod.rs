//! What any warehouse is, below every stage that talks to one: a relation's
//! name and how it renders ([`relation`]), the connection and warehouse traits engines
//! implement ([`connection`], [`engine`]), the catalog of relations a run shares ([`catalog`]), where files outside the database live
//! ([`external`]), and stopping a run on a signal ([`interrupt`]). Pure data and string functions; no engine code.

pub mod catalog;
pub mod connection;
pub mod engine;
pub mod external;
pub mod interrupt;
pub mod relation;
