"""What proves who someone is: canonical JSON, challenges, FIDO/WebAuthn and GENERIC
verification, the software authenticator.

Sans-IO and protocol-neutral: every function takes values and returns values or raises an
``auth.errors.AuthError`` (``CryptoError`` with a ``check`` name, ``CanonicalJsonError``,
``MissingInput``), which each dialect reports with its own code.
"""
