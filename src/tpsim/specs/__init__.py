"""The official OpenAPI files of the PSD2 dialects, and a checker for OpenAPI 3.0 messages.

``Spec.load("xs2a" | "obie-3.1" | "obie-4.0")`` gives a bundled document;
``spec.operation(method, path)`` finds an operation, whose ``check_request`` and
``check_response`` list each ``Problem``. The files and their licences are described in
``psd2/PROVENANCE.md``. This package imports only ``tpsim.core`` and ``tpsim.errors``, so
every dialect, ``serve`` and the scenario runner can use it.
"""

from __future__ import annotations

from tpsim.specs.openapi3 import BUNDLED, Operation, Spec
from tpsim.specs.schema import Problem, SpecError

__all__ = ["BUNDLED", "Operation", "Problem", "Spec", "SpecError"]
