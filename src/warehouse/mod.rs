//! What any warehouse is, below every stage that talks to one: a relation's
//! name and how it renders ([`relation`]), the connection trait engines
//! implement ([`connection`]), and where files outside the database live
//! ([`external`]). Pure data and string functions; no engine code.

pub mod connection;
pub mod external;
pub mod relation;
