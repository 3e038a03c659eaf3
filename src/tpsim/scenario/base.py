"""What every part of a scenario file shares: the strict model base, durations, text
values, the expectations of a step and how the built-in PISP answers.

Kept apart from ``model.py`` (which assembles the file from every dialect's actions) so
that actions, the harness and the expectation matcher can use these without importing the
actions themselves.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

Method = Literal["GET", "POST", "PUT", "PATCH", "DELETE"]
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m)?\s*$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, None: 1.0}


def parse_duration(value: object) -> float:
    """``2s``, ``500ms``, ``1.5m`` or a number of seconds → seconds."""
    if isinstance(value, bool):
        raise ValueError("a duration is a number of seconds or a string like 2s or 500ms")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        found = _DURATION.match(str(value))
        if found is None:
            raise ValueError(f"{value!r} is not a duration; write e.g. 2s, 500ms or 1.5m")
        seconds = float(found.group(1)) * _UNITS[found.group(2)]
    if not 0 <= seconds <= 3600:
        raise ValueError("a duration must be between 0 s and 1 hour")
    return seconds


Duration = Annotated[
    float,
    BeforeValidator(parse_duration),
    Field(json_schema_extra={"type": ["number", "string"], "examples": ["2s", "500ms"]}),
]


def _as_text(value: Any) -> Any:
    """YAML reads ``6201`` and ``100`` as numbers; error codes and amounts are text."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return value


Text = Annotated[str, BeforeValidator(_as_text)]


# Strict: an unknown key is a mistake (a typo) the loader reports with its line. (No
# docstring: it would become the description of every model in the published schema.)
class ScenarioModel(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


# --- expectations -------------------------------------------------------------------------


class ExpectMessage(ScenarioModel):
    """A message the step expects to cross the switch (by default: a callback to the PISP).

    Matched by correlation id (the step's conversation), method and path template; then
    ``body``, ``error``, ``headers`` and ``status`` must hold. ``"PUT /path"`` is shorthand
    for ``{method: PUT, path: /path}``.
    """

    method: Method
    path: str = Field(description="template: a {…} segment matches any one segment")
    from_: str | None = Field(None, alias="from", description="sender fspId")
    to: str | None = Field(None, description="receiver fspId; default: the PISP")
    body: dict[str, Any] | None = Field(
        None, description="must be contained in the body; a string 're:…' is a regex"
    )
    error: Text | None = Field(
        None,
        description="errorInformation.errorCode (XS2A: tppMessages[0].code; UK:"
        " Errors[0].ErrorCode) of the body",
    )
    headers: dict[str, str] | None = Field(None, description="must be among the headers")
    status: int | None = Field(None, description="the receiver's synchronous HTTP answer")
    answered_within: Duration | None = Field(
        None, description="the receiver answered within this time"
    )
    correlation: str | None = Field(None, description="match this conversation instead")
    absent: bool = Field(False, description="must NOT arrive before the step's deadline")
    save: str | None = Field(None, description="store the message as ${name} (.body, .path…)")

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        if isinstance(value, str):
            method, _, path = value.strip().partition(" ")
            return {"method": method.upper(), "path": path.strip()}
        return value

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        shorthand = {"type": "string", "pattern": "^(GET|POST|PUT|PATCH|DELETE) /"}
        return {"anyOf": [{**shorthand, "examples": ["PUT /consents/{ID}"]}, handler(core_schema)]}

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"


class Expect(ScenarioModel):
    """What a step expects: the synchronous answer, then messages within a deadline."""

    status: int | None = Field(None, description="synchronous answer; default per action")
    error: Text | None = Field(
        None,
        description="the code of a synchronous error answer: errorInformation.errorCode"
        " (FSPIOP), tppMessages[0].code (XS2A) or Errors[0].ErrorCode (UK)",
    )
    body: dict[str, Any] | None = Field(
        None,
        description="must be contained in the synchronous answer's body, as in messages"
        " (a string 're:…' is a regex)",
    )
    headers: dict[str, str] | None = Field(
        None, description="must be among the synchronous answer's headers"
    )
    answered_within: Duration | None = Field(None, description="the synchronous answer's time")
    messages: list[ExpectMessage] = Field(
        default_factory=list, description='each a mapping, or "METHOD /path" for short'
    )
    ordered: bool = Field(False, description="messages must arrive in the listed order")
    within: Duration = Field(5.0, description="deadline for messages, from the action's answer")
    redirect: dict[str, str] | None = Field(
        None,
        description="authenticate (WEB), xs2a.authorise (redirect): where the page sent the"
        " browser (its query parameters; xs2a also its location)",
    )
    balances: dict[str, Text] | None = Field(None, description="check_balances: address → amount")


class PispAnswer(ScenarioModel):
    """How the built-in PISP answers the callbacks that fit ``method`` and ``path``."""

    method: Method
    path: str = Field(description="template: a {…} segment matches any one segment")
    status: int = Field(ge=100, le=599)
