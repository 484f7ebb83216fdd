//! The shared helpers live in the library (feature `testing`) so other crates' tests
//! can start a real server too.
#![allow(unused_imports)]

pub use bouquet_server::testing::*;

pub mod people;
pub mod process;

/// A plain HTTP client for the API.
#[allow(dead_code)]
pub fn api() -> reqwest::Client {
    reqwest::Client::new()
}

/// The response's JSON body, after checking its status (the body is in the message).
#[allow(dead_code)]
pub async fn json_of(resp: reqwest::Response, expected: reqwest::StatusCode) -> serde_json::Value {
    let status = resp.status();
    let body: serde_json::Value = resp.json().await.unwrap_or(serde_json::Value::Null);
    assert_eq!(status, expected, "{body}");
    body
}
