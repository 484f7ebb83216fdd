//! The shared helpers live in the library (feature `testing`) so other crates' tests
//! can start a real server too.
#![allow(unused_imports)]

pub use bouquet_server::testing::*;
