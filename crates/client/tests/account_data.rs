//! The app's "Your data": a copy of everything the server holds, and deleting the account
//! — on the server first, then everything of it on this device — on both databases.

mod sync_support;

use bouquet_client::{sync, token};
use bouquet_server::on_both_backends;
use bouquet_server::testing::{TestDb, TestServer};
use sync_support::{Device, supplier};

async fn a_device_downloads_its_data_and_deletes_its_account(db: &TestDb) {
    let server = TestServer::start(db).await;
    supplier(&server, "studio@example.com").await;
    let device = Device::signed_in(&server, "studio@example.com").await;
    device.contact("Amy & Ben");
    device.sync().await;
    let old_token = device.token();

    let exports = device.dir.path().join("exports");
    let saved = sync::export_account(&device.store, &exports).await.unwrap();
    let document: serde_json::Value = serde_json::from_slice(&std::fs::read(&saved).unwrap()).unwrap();
    assert_eq!(document["format"], "bouquet-account-export/1");
    assert_eq!(document["account"]["email"], "studio@example.com");
    assert!(document["records"].to_string().contains("Amy & Ben"), "the app's contact is in the copy");

    // A mistyped email deletes nothing, here or there.
    let wrong = sync::delete_account(&device.store, "someone@example.com").await.unwrap_err();
    assert_eq!(wrong.code(), "confirmation_mismatch");
    assert_eq!(device.store.contacts().unwrap().len(), 1);
    assert!(device.store.session().unwrap().is_some());

    sync::delete_account(&device.store, "studio@example.com").await.unwrap();
    assert!(device.store.contacts().unwrap().is_empty(), "nothing of the account stays on the device");
    assert!(device.store.session().unwrap().is_none());
    assert_eq!(device.store.sync_status().unwrap().pending, 0);
    assert!(token::load(device.dir.path()).unwrap().is_none(), "the sign-in is forgotten");
    let refused = reqwest::Client::new().get(format!("{}/api/v1/me/stats", server.url)).bearer_auth(&old_token).send().await.unwrap();
    assert_eq!(refused.status(), 401, "the old sign-in no longer works on the server");

    // The folder serves another account now.
    supplier(&server, "florist@example.com").await;
    sync::log_in(&device.store, &server.url, "florist@example.com", sync_support::PASSWORD, "test device").await.unwrap();
    device.contact("Cara & Dan");
    device.sync().await;
    assert_eq!(device.server_view(100).await.len(), 1, "the new account has only its own contact");
    server.stop().await;
}

on_both_backends!(a_device_downloads_its_data_and_deletes_its_account);
