"""Canonical JSON, challenges, FIDO/WebAuthn and GENERIC verification, software authenticator.

Sans-IO: every function takes values and returns values or raises a coded ``TpsimError``
(``CryptoError`` with a ``check`` name, ``CanonicalJsonError``, ``MissingElement``).
"""
