//! Shared by the client's tests: a store in a temp folder, signed in as a supplier.
#![allow(dead_code)]

use bouquet_client::LocalStore;
use bouquet_core::api::{AccountView, SessionView};
use bouquet_core::{AccountKind, CodeNamespace, VendorType};
use chrono::Utc;
use uuid::Uuid;

pub fn store() -> (tempfile::TempDir, LocalStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::open(dir.path()).unwrap();
    (dir, store)
}

/// What the server answers at log-in, for a supplier whose device got `namespace`.
pub fn supplier_session(namespace: &str, business_name: &str) -> SessionView {
    SessionView {
        token: "bqd_test".into(),
        device_id: Uuid::now_v7(),
        code_namespace: CodeNamespace::parse(namespace).unwrap(),
        account: AccountView {
            id: Uuid::now_v7(),
            kind: AccountKind::Supplier,
            email: "studio@example.com".into(),
            business_name: Some(business_name.into()),
            vendor_type: Some(VendorType::Photographer),
            couple_names: None,
            wedding_date: None,
            location: None,
            locale: None,
            created_at: Utc::now(),
        },
    }
}

pub fn sign_in(store: &LocalStore, namespace: &str) {
    store.save_session("https://bouquet.example/", &supplier_session(namespace, "Golden Hour Studio")).unwrap();
}
