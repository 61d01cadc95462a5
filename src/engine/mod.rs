//! The sans-IO engine: request facts, time and entropy in; actions out.
//! These modules perform no I/O and import nothing from the hosts.

pub(crate) mod action;
pub(crate) mod config;
pub mod connect_redis;
pub(crate) mod cookie_header;
pub(crate) mod date;
pub(crate) mod error;
pub mod event;
pub mod guards;
pub(crate) mod ids;
pub(crate) mod json;
pub mod lifecycle;
pub mod record;
pub(crate) mod request;
pub(crate) mod session;
pub(crate) mod session_cookie;
pub(crate) mod signing;
