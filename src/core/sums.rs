//! Guix-style `SHA256SUMS` attestations: `sha256sum` output over the published files.
