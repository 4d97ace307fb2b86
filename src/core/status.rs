//! The status of one signature file, and of one row of a ledger, as a type: every layer
//! (`openpgp`, `gpg`, `ops`, the reports) matches on these variants, never on their names.
//! The names (`as_str`) are the corpus vocabulary of `../shared/corpus/README.md`, written only
//! in reports.

use std::fmt;

/// The status of one signature file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SigStatus {
    /// The maths hold and the key is valid, unexpired and unrevoked at the verdict time.
    Good,
    /// Good maths, but the signing key or subkey (or its primary) had expired.
    ExpiredKey,
    /// Good maths, but the signing key or subkey (or its primary) is revoked.
    RevokedKey,
    /// Good maths, but the signature itself had expired.
    ExpiredSig,
    /// The signature does not match the data.
    Bad,
    /// The issuer is not among the keys.
    NoPubkey,
    /// Could not check; the reason.
    Error(String),
    /// No OpenPGP signature in the file.
    NoSig,
    /// The file is a complete signed message, not a detached signature; the message's own status.
    Inline(Box<SigStatus>),
    /// The file holds several signatures; each one's status, in file order. gpg fails such a
    /// file when any of them fails.
    Multi(Vec<SigStatus>),
}

impl SigStatus {
    /// The corpus vocabulary: good, expired_key, revoked_key, expired_sig, bad, no_pubkey,
    /// error_rc2 (Error), error_nosig (NoSig), inline:<inner> (Inline), multi:<a>+<b>... (Multi).
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
            Self::Inline(inner) => format!("inline:{}", inner.as_str()),
            Self::Multi(all) => {
                let all: Vec<String> = all.iter().map(Self::as_str).collect();
                format!("multi:{}", all.join("+"))
            }
        }
    }

    /// Only a good detached signature is good: an inline message's data is not the file next to
    /// it, whatever its own status. A file of several signatures is good when every one is.
    pub fn is_good(&self) -> bool {
        match self {
            Self::Multi(all) => all.iter().all(Self::is_good),
            s => *s == Self::Good,
        }
    }

    /// Good, or good but for the key's expiry: a file of several signatures where each is one
    /// or the other and at least one is expired counts as expired.
    pub fn is_good_but_expired_key(&self) -> bool {
        match self {
            Self::ExpiredKey => true,
            Self::Multi(all) => {
                all.iter().all(|s| s.is_good() || *s == Self::ExpiredKey)
                    && all.contains(&Self::ExpiredKey)
            }
            _ => false,
        }
    }
}

impl fmt::Display for SigStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.as_str())
    }
}

/// The status of one row: a signature's, or which of the pair is missing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowStatus {
    /// A signature over the signed file, judged.
    Signature(SigStatus),
    /// A signed file with no signature next to it.
    NoSignature,
    /// A signature whose signed file is missing.
    NoData,
}

impl RowStatus {
    /// The corpus vocabulary: the signature's, or `no_signature` / `no_data`.
    pub fn as_str(&self) -> String {
        match self {
            Self::Signature(s) => s.as_str(),
            Self::NoSignature => "no_signature".into(),
            Self::NoData => "no_data".into(),
        }
    }

    /// A signed file or signature is missing.
    pub fn is_missing(&self) -> bool {
        matches!(self, Self::NoSignature | Self::NoData)
    }

    /// The signature's status, when there is a judged signature.
    pub fn signature(&self) -> Option<&SigStatus> {
        match self {
            Self::Signature(s) => Some(s),
            _ => None,
        }
    }
}

impl fmt::Display for RowStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.as_str())
    }
}

impl From<SigStatus> for RowStatus {
    fn from(s: SigStatus) -> Self {
        Self::Signature(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_statuses_are_written_in_the_corpus_vocabulary() {
        assert_eq!(RowStatus::NoSignature.to_string(), "no_signature");
        assert_eq!(RowStatus::NoData.to_string(), "no_data");
        let inline = RowStatus::from(SigStatus::Inline(Box::new(SigStatus::Bad)));
        assert_eq!(inline.to_string(), "inline:bad");
        assert!(RowStatus::NoData.is_missing() && !inline.is_missing());
        assert_eq!(inline.signature(), Some(&SigStatus::Inline(Box::new(SigStatus::Bad))));
        assert_eq!(RowStatus::NoSignature.signature(), None);
    }

    #[test]
    fn signature_statuses_display_as_their_corpus_word() {
        use SigStatus::*;
        let all = [
            (Good, "good"),
            (ExpiredKey, "expired_key"),
            (RevokedKey, "revoked_key"),
            (ExpiredSig, "expired_sig"),
            (Bad, "bad"),
            (NoPubkey, "no_pubkey"),
            (Error("gpg: no valid OpenPGP data found".into()), "error_rc2"),
            (NoSig, "error_nosig"),
            (Inline(Box::new(ExpiredKey)), "inline:expired_key"),
            (Multi(vec![Good, Bad, NoPubkey]), "multi:good+bad+no_pubkey"),
        ];
        for (s, word) in all {
            assert_eq!((s.to_string(), s.as_str()), (word.to_string(), word.to_string()));
            assert_eq!(RowStatus::from(s).to_string(), word);
        }
    }

    #[test]
    fn good_but_expired_key_needs_an_expired_key_and_nothing_worse() {
        use SigStatus::*;
        assert!(ExpiredKey.is_good_but_expired_key());
        assert!(Multi(vec![Good, ExpiredKey]).is_good_but_expired_key());
        for no in [
            Good,
            Bad,
            ExpiredSig,
            RevokedKey,
            Multi(vec![Good, Good]),
            Multi(vec![ExpiredKey, Bad]),
        ] {
            assert!(!no.is_good_but_expired_key(), "{no:?}");
        }
    }
}
