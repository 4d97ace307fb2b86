//! In-process verification of detached OpenPGP signatures against the ledger's keys.
//! (Temporary interface stand-in on main; the implementation lands from the `openpgp` branch.)

use std::time::SystemTime;

/// Certificates from key files.
#[derive(Debug, Default)]
pub struct Keyring {
    count: usize,
}

/// A key file that could not be read.
#[derive(Debug, thiserror::Error)]
#[error("{origin}: {message}")]
pub struct KeyError {
    /// File label.
    pub origin: String,
    /// What is wrong.
    pub message: String,
}

impl Keyring {
    /// An empty keyring.
    pub fn new() -> Self {
        Self::default()
    }
    /// Adds the certificates of a key file.
    pub fn add_file(&mut self, origin: &str, bytes: &[u8]) -> Result<usize, KeyError> {
        let _ = (origin, bytes);
        self.count += 1;
        Ok(0)
    }
    /// Number of certificates.
    pub fn len(&self) -> usize {
        self.count
    }
    /// Whether empty.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }
}

/// Signature status, in the corpus vocabulary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SigStatus {
    /// good
    Good,
    /// expired_key
    ExpiredKey,
    /// revoked_key
    RevokedKey,
    /// expired_sig
    ExpiredSig,
    /// bad
    Bad,
    /// no_pubkey
    NoPubkey,
    /// error_rc2
    Error(String),
    /// error_nosig
    NoSig,
    /// inline:S
    Inline(Box<SigStatus>),
}

impl SigStatus {
    /// Vocabulary string.
    pub fn as_str(&self) -> String {
        match self {
            Self::Good => "good".into(),
            Self::ExpiredKey => "expired_key".into(),
            Self::RevokedKey => "revoked_key".into(),
            Self::ExpiredSig => "expired_sig".into(),
            Self::Bad => "bad".into(),
            Self::NoPubkey => "no_pubkey".into(),
            Self::Error(_) => "error_rc2".into(),
            Self::NoSig => "error_nosig".into(),
            Self::Inline(s) => format!("inline:{}", s.as_str()),
        }
    }
    /// Whether good.
    pub fn is_good(&self) -> bool {
        *self == Self::Good
    }
}

/// The outcome of one verification.
#[derive(Debug, Clone)]
pub struct Verdict {
    /// Status.
    pub status: SigStatus,
    /// Primary key fingerprint.
    pub key_fingerprint: Option<String>,
    /// Signing (sub)key.
    pub signing_key_fingerprint: Option<String>,
    /// Key file origin.
    pub key_origin: Option<String>,
    /// Creation time.
    pub created: Option<SystemTime>,
}

/// Verifies a detached signature.
pub fn verify_detached(
    keyring: &Keyring,
    data: &[u8],
    signature: &[u8],
    at: SystemTime,
) -> Verdict {
    let _ = (keyring, data, signature, at);
    Verdict {
        status: SigStatus::Error("not implemented".into()),
        key_fingerprint: None,
        signing_key_fingerprint: None,
        key_origin: None,
        created: None,
    }
}
