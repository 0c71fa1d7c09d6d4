"""Proofs: Data Integrity (eddsa-rdfc-2022 to sign and verify, Ed25519Signature2020 to verify)
and VC-JWT. Verification returns results; only signing raises."""
