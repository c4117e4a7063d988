use super::*;

const IDENTITY: Column = Column::new("client", "id", "identity_enc").legacy("client.identity");
const DOCUMENT: Column = Column::new("client", "id", "id_document_enc").legacy("client.id_document");

fn ring_in(scope: &str) -> Keyring {
    let mut data = HashMap::new();
    data.insert(1, Aes256Gcm::new_from_slice(&[7u8; 32]).unwrap());
    data.insert(2, Aes256Gcm::new_from_slice(&[8u8; 32]).unwrap());
    Keyring { scope: scope.into(), active: 2, data, index: Zeroizing::new(vec![9u8; 32]) }
}

fn ring() -> Keyring {
    ring_in("hegyvidek")
}

#[test]
fn round_trip() {
    let r = ring();
    let place = IDENTITY.at("0190a1b2-0000-7000-8000-000000000001");
    let blob = r.seal(&place, b"Kiss Anna").unwrap();
    assert!(!blob.windows(9).any(|w| w == b"Kiss Anna"));
    assert_eq!(blob[0], FORMAT_V2);
    assert!(Keyring::is_bound(&blob));
    assert!(!r.is_stale(&blob));
    assert_eq!(r.open(&place, &blob).unwrap(), b"Kiss Anna");
    assert_eq!(r.open(&Place::new("client", "0190a1b2-0000-7000-8000-000000000001", "identity_enc"), &blob).unwrap(), b"Kiss Anna");
    let mut bad = blob.clone();
    let last = bad.len() - 1;
    bad[last] ^= 1;
    assert!(matches!(r.open(&place, &bad), Err(CryptoError::Tampered)));
    assert!(matches!(r.open(&place, &blob[..20]), Err(CryptoError::Tampered)));
}

#[test]
fn a_value_opens_only_in_its_place() {
    let r = ring();
    let blob = r.seal(&IDENTITY.at("a"), b"Kiss Anna").unwrap();
    let wrong = [
        ("another row", IDENTITY.at("b")),
        ("another column", DOCUMENT.at("a")),
        ("another table", Place::new("staff", "a", "identity_enc")),
    ];
    for (what, place) in wrong {
        assert!(matches!(r.open(&place, &blob), Err(CryptoError::Tampered)), "{what} must not open it");
    }
    // Another tenant with the very same data keys still does not open it.
    assert!(matches!(ring_in("zuglo").open(&IDENTITY.at("a"), &blob), Err(CryptoError::Tampered)), "another tenant must not open it");
    let e = r.open(&IDENTITY.at("b"), &blob).unwrap_err().to_string();
    assert!(e.contains("moved from another tenant, table, row or column"), "{e}");
}

#[test]
fn format_1_values_still_open_and_are_stale() {
    let r = ring();
    let old = r.seal_v1("client.identity", b"Kiss Anna").unwrap();
    assert_eq!(old[0], FORMAT_V1);
    assert!(r.is_stale(&old) && !Keyring::is_bound(&old));
    assert!(r.is_stale_head(&old[..5]));
    assert_eq!(r.open(&IDENTITY.at("any row"), &old).unwrap(), b"Kiss Anna");
    // Still bound to the old context string.
    assert!(matches!(r.open(&DOCUMENT.at("any row"), &old), Err(CryptoError::Tampered)));
    // A place without a former context string opens no format-1 value.
    assert!(matches!(r.open(&Place::new("client", "any row", "identity_enc"), &old), Err(CryptoError::Tampered)));
}

#[test]
fn old_keys_still_open() {
    let mut r = ring();
    r.active = 1;
    let old = r.seal(&IDENTITY.at("a"), b"x").unwrap();
    r.active = 2;
    assert!(r.is_stale(&old));
    assert!(r.is_stale_head(&old[..5]));
    assert_eq!(r.open(&IDENTITY.at("a"), &old).unwrap(), b"x");
    let fresh = r.seal(&IDENTITY.at("a"), b"x").unwrap();
    assert!(!r.is_stale_head(&fresh[..5]));
}

fn key_row(version: i32, purpose: &str, master: &MasterKey, wrapped: Vec<u8>) -> DataKeyRow {
    DataKeyRow { version, purpose: purpose.into(), master_key_id: master.id().into(), wrapped, active: true }
}

#[test]
fn a_wrapped_key_opens_only_in_its_scope_and_version() {
    let master = MasterKey::from_base64(&MasterKey::generate_base64()).unwrap();
    let c = Crypto::new(master.clone(), vec![]);
    let key = random_key();
    let wrapped = c.wrap("hegyvidek", "data", 3, &key).unwrap();
    assert_eq!(wrapped[0], FORMAT_V2);
    assert_eq!(*c.unwrap("hegyvidek", &key_row(3, "data", &master, wrapped.clone())).unwrap(), *key);
    match c.unwrap("zuglo", &key_row(3, "data", &master, wrapped.clone())) {
        Err(CryptoError::ForeignDataKey { scope, version: 3 }) => assert_eq!(scope, "zuglo"),
        other => panic!("a key copied to another tenant must not unwrap: {:?}", other.map(|_| ())),
    }
    assert!(matches!(c.unwrap("hegyvidek", &key_row(4, "data", &master, wrapped.clone())), Err(CryptoError::ForeignDataKey { .. })));
    assert!(matches!(c.unwrap("hegyvidek", &key_row(3, "index", &master, wrapped)), Err(CryptoError::ForeignDataKey { .. })));
}

#[test]
fn format_1_wrapped_keys_still_unwrap() {
    let master = MasterKey::from_base64(&MasterKey::generate_base64()).unwrap();
    let c = Crypto::new(master.clone(), vec![]);
    let key = random_key();
    let old = c.wrap_v1(&key).unwrap();
    assert_eq!(old[0], FORMAT_V1);
    assert_eq!(*c.unwrap("hegyvidek", &key_row(1, "data", &master, old)).unwrap(), *key);
}

#[test]
fn a_value_cannot_pass_for_a_wrapped_key() {
    // Same cipher, same bytes: the labels keep the two kinds of associated data apart.
    let master = MasterKey::from_base64(&MasterKey::generate_base64()).unwrap();
    let c = Crypto::new(master.clone(), vec![]);
    let mut data = HashMap::new();
    data.insert(1, Aes256Gcm::new_from_slice(master.key.as_ref()).unwrap());
    let r = Keyring { scope: "s".into(), active: 1, data, index: Zeroizing::new(vec![]) };
    let blob = r.seal(&Place::new("data_key", 1, "wrapped"), &[1u8; 32]).unwrap();
    assert!(c.unwrap("s", &key_row(1, "data", &master, blob)).is_err());
}

#[test]
fn blind_index_is_keyed_and_contextual() {
    let r = ring();
    assert_eq!(r.blind_index("a", "x"), r.blind_index("a", "x"));
    assert_ne!(r.blind_index("a", "x"), r.blind_index("b", "x"));
    let mut other = ring();
    other.index = Zeroizing::new(vec![1u8; 32]);
    assert_ne!(r.blind_index("a", "x"), other.blind_index("a", "x"));
}

#[test]
fn master_key_parsing() {
    assert!(MasterKey::from_base64("nope").is_err());
    let k = MasterKey::from_base64(&MasterKey::generate_base64()).unwrap();
    assert_eq!(k.id().len(), 12);
}
