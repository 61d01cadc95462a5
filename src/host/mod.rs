//! Stores and hosts built on the engine: they perform the I/O the engine
//! asks for. The engine imports nothing from here.

#[cfg(feature = "async")]
pub mod async_driver;
pub(crate) mod memory_store;
#[cfg(feature = "os-rng")]
pub(crate) mod os_rng;
#[cfg(feature = "redis")]
pub mod redis_store;
#[cfg(feature = "tower")]
pub(crate) mod serde_value;
#[cfg(feature = "tower")]
pub mod tower_layer;
