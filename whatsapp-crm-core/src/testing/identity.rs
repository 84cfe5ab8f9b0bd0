//! Conformance cases for businesses and API keys.

use crate::domain::{ApiKey, ApiKeyHash, ApiKeyId, BusinessId};
use crate::ports::{Storage, StorageError};

use super::{at, new_business, ok, t0};

fn key(business: BusinessId, byte: u8) -> ApiKey {
    ApiKey {
        id: ApiKeyId::new(),
        business_id: business,
        hash: ApiKeyHash([byte; 32]),
        label: format!("key {byte}"),
        agent_id: None,
        created_at: t0(),
        revoked_at: None,
    }
}

/// A stored business reads back unchanged.
pub async fn business_round_trip(s: &dyn Storage) {
    let b = new_business(s, "Mama Mboga Groceries").await;
    assert_eq!(ok(s.get_business(b.id).await, "get business"), b);
}

/// An unknown business id is `NotFound`.
pub async fn business_missing_is_not_found(s: &dyn Storage) {
    let err = s.get_business(BusinessId::new()).await.unwrap_err();
    assert!(matches!(err, StorageError::NotFound { entity: "business" }), "{err:?}");
}

/// Inserting the same business id twice is a `Conflict` and keeps the first.
pub async fn business_duplicate_id_conflicts(s: &dyn Storage) {
    let b = new_business(s, "First").await;
    let mut again = b.clone();
    again.name = "Second".into();
    let err = s.insert_business(&again).await.unwrap_err();
    assert!(matches!(err, StorageError::Conflict { .. }), "{err:?}");
    assert_eq!(ok(s.get_business(b.id).await, "get").name, "First");
}

/// A key is found by its hash, with every field intact.
pub async fn api_key_found_by_hash(s: &dyn Storage) {
    let b = new_business(s, "Shop").await;
    let k = key(b.id, 7);
    ok(s.insert_api_key(&k).await, "insert key");
    assert_eq!(ok(s.find_api_key(&k.hash).await, "find"), Some(k));
}

/// An unknown hash finds nothing.
pub async fn api_key_unknown_hash_is_none(s: &dyn Storage) {
    let b = new_business(s, "Shop").await;
    ok(s.insert_api_key(&key(b.id, 1)).await, "insert key");
    assert_eq!(ok(s.find_api_key(&ApiKeyHash([2; 32])).await, "find"), None);
}

/// The same hash cannot be stored twice, even for another business.
pub async fn api_key_duplicate_hash_conflicts(s: &dyn Storage) {
    let a = new_business(s, "A").await;
    let b = new_business(s, "B").await;
    ok(s.insert_api_key(&key(a.id, 9)).await, "insert key");
    let err = s.insert_api_key(&key(b.id, 9)).await.unwrap_err();
    assert!(matches!(err, StorageError::Conflict { .. }), "{err:?}");
    let found = ok(s.find_api_key(&ApiKeyHash([9; 32])).await, "find");
    assert_eq!(found.map(|k| k.business_id), Some(a.id));
}

/// A key for a business that does not exist is refused.
pub async fn api_key_needs_existing_business(s: &dyn Storage) {
    let err = s.insert_api_key(&key(BusinessId::new(), 3)).await.unwrap_err();
    assert!(matches!(err, StorageError::NotFound { .. }), "{err:?}");
    assert_eq!(ok(s.find_api_key(&ApiKeyHash([3; 32])).await, "find"), None);
}

/// Listing shows only the business's own keys; revoking another tenant's key
/// is `NotFound` and changes nothing; revoking twice keeps the first time.
pub async fn api_key_list_and_revoke_are_tenant_scoped(s: &dyn Storage) {
    let a = new_business(s, "A").await;
    let b = new_business(s, "B").await;
    let ka1 = key(a.id, 11);
    let ka2 = key(a.id, 12);
    let kb = key(b.id, 13);
    for k in [&ka1, &ka2, &kb] {
        ok(s.insert_api_key(k).await, "insert key");
    }
    let listed: Vec<_> =
        ok(s.list_api_keys(a.id).await, "list").into_iter().map(|k| k.id).collect();
    assert_eq!(listed, [ka1.id, ka2.id]);

    let err = s.revoke_api_key(b.id, ka1.id, at(5)).await.unwrap_err();
    assert!(matches!(err, StorageError::NotFound { .. }), "{err:?}");
    let still = ok(s.find_api_key(&ka1.hash).await, "find").map(|k| k.revoked_at);
    assert_eq!(still, Some(None), "another tenant revoked a key");

    ok(s.revoke_api_key(a.id, ka1.id, at(5)).await, "revoke");
    ok(s.revoke_api_key(a.id, ka1.id, at(9)).await, "revoke again");
    let revoked = ok(s.find_api_key(&ka1.hash).await, "find").map(|k| k.revoked_at);
    assert_eq!(revoked, Some(Some(at(5))));
    let err = s.revoke_api_key(a.id, ApiKeyId::new(), at(5)).await.unwrap_err();
    assert!(matches!(err, StorageError::NotFound { .. }), "{err:?}");
}
