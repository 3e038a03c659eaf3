"""Failed proofs of identity, in no protocol's words (each dialect gives them its code).

TpsimError
└── AuthError                   ``detail`` says what failed; ``field`` names the input
    ├── CryptoError             a signature, credential or challenge check (``check``)
    ├── CanonicalJsonError      a value RFC 8785 cannot canonicalize exactly
    └── MissingInput            an input the derivation needs is absent or malformed
"""

from __future__ import annotations

from tpsim.core.errors import TpsimError


class AuthError(TpsimError):
    def __init__(self, detail: str, *, field: str | None = None) -> None:
        self.detail = detail
        self.field = field
        super().__init__(detail if field is None else f"{field}: {detail}")


class CryptoError(AuthError):
    """A signature, credential or challenge check failed.

    ``check`` names the check (``challenge``, ``origin``, ``rp_id_hash``, ``signature``,
    ``counter`` …); ``expected`` / ``actual`` are given where they are safe to show.
    Dialects re-raise it as the code of their context (Mojaloop: 6200 registration, 6201
    verification).
    """

    def __init__(
        self,
        check: str,
        detail: str,
        *,
        expected: str | None = None,
        actual: str | None = None,
    ) -> None:
        self.check = check
        self.expected = expected
        self.actual = actual
        text = detail
        if expected is not None or actual is not None:
            text = f"{detail} (expected {expected!s}, got {actual!s})"
        super().__init__(text)


class CanonicalJsonError(AuthError):
    """The value cannot be canonicalized exactly (RFC 8785): float, huge int, lone surrogate."""


class MissingInput(AuthError):
    """A challenge derivation lacks an input it needs (a body, a scope's field)."""
