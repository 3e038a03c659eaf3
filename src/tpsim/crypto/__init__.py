"""Canonical JSON, challenge derivation, FIDO/WebAuthn and GENERIC verification, software authenticator."""
