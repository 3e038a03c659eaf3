"""Finding, reading and validating scenario files.

Every problem is a ``ScenarioError`` that names the file, the line and the key path
(``scenarios/x.yaml:12: steps[1].initiate_transfer.amount: …``): the runner exits 2.
Fragments (``include``) are expanded here, with their parameters substituted, so a
scenario is validated whole. Whatever can be known before a step runs is checked here, so
that a mistake in the file is never reported as a failure of the system under test: a
matrix that runs nothing, a ``${…}`` reference that nothing defines (``variables.unresolved``)
and a ``re:`` pattern that is no regular expression.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from tpsim.config_yaml import check_document
from tpsim.errors import ScenarioError
from tpsim.files import read_text
from tpsim.scenario.model import ACTIONS, Fragment, ScenarioHead, Steps
from tpsim.scenario.variables import (
    SET_WHILE_RUNNING,
    KeyPath,
    VariableError,
    Variables,
    is_reference,
    references,
    root,
    texts,
    unresolved,
)

SUFFIXES = (".yaml", ".yml")
MAX_INCLUDE_DEPTH = 8
_PARAMETER = re.compile(r"\$\{(\w+)\}")
REGEX_PREFIX = "re:"  # as expectations.scalar_fits reads it
BALANCES_ACTION = "check_balances"

ModelT = TypeVar("ModelT", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class Source:
    """Where a piece of a scenario was written: its file and the line of each key path."""

    file: str
    lines: Mapping[KeyPath, int]

    def line(self, path: KeyPath) -> int | None:
        for end in range(len(path), -1, -1):
            if path[:end] in self.lines:
                return self.lines[path[:end]]
        return None

    def error(self, path: KeyPath, problem: str) -> ScenarioError:
        line = self.line(path)
        where = f"{self.file}:{line}" if line is not None else self.file
        return ScenarioError(
            f"{where}: {format_path(path)}: {problem}" if path else f"{where}: {problem}"
        )


@dataclass(frozen=True, slots=True)
class PlannedStep:
    """A step of one cell, checked, with the cell's variables written in. References that
    steps set (``${transfer}``, saved messages…) are resolved when it runs: ``params`` just
    before its action, ``expect`` just after."""

    action: str
    name: str | None
    params: dict[str, Any]
    expect: dict[str, Any]
    source: Source  # where it was written, for errors found when it runs
    at: KeyPath

    def check(self, model: type[ModelT], value: Any, key: str) -> ModelT:
        """``value`` (the step's ``key``, resolved) validated as ``model``."""
        return validated(model, value, self.source, (*self.at, key))


@dataclass(frozen=True, slots=True)
class LoadedScenario:
    """A scenario file with its fragments included; its steps are checked per cell."""

    path: Path
    scenario: ScenarioHead
    source: Source
    origins: list[tuple[Source, KeyPath]]  # where each step (after includes) was written

    def check(self, model: type[ModelT], value: Any, key: str) -> ModelT:
        """``value`` (the file's ``key``, with a cell's variables in) validated as ``model``."""
        return validated(model, value, self.source, (key,))

    def resolve(self, variables: Variables, value: Any, *at: str | int) -> Any:
        """``value``, written in the file at key path ``at`` (``"config"``, ``"variables",
        name``…), with ``variables`` written in; a reference they cannot satisfy is a
        ``ScenarioError`` with its line."""
        return _resolved(value, variables, self.source, at, partial=False)

    def steps(self, variables: Variables) -> list[PlannedStep]:
        """The steps with ``variables`` (the cell's) written in, checked: a value that is one
        reference to what a step will set is checked when the step runs; a reference to
        what nothing sets, and a ``re:`` that does not compile, are refused here."""
        resolved = [
            _resolved(raw, variables, source, at, partial=True)
            for raw, (source, at) in zip(self.scenario.steps, self.origins, strict=True)
        ]
        try:
            Steps.model_validate({"steps": resolved})
        except ValidationError as exc:
            errors = [e for e in exc.errors() if not is_reference(e.get("input"))]
            if errors:
                raise _located(errors[0], self.origins) from None
        planned: list[PlannedStep] = []
        saved: set[str] = set()  # the save: names of the steps before
        for raw, (source, at) in zip(resolved, self.origins, strict=True):
            _check_references(raw, source, at, set(variables.values) | saved)
            _check_regexes(raw.get("expect"), source, (*at, "expect"))
            saved |= _saves(raw.get("expect"))
            action = next(key for key in raw if key in ACTIONS)
            _check_balances_read(action, raw.get("expect"), source, at)
            planned.append(
                PlannedStep(
                    action,
                    raw.get("name"),
                    raw[action] or {},
                    raw.get("expect") or {},
                    source,
                    at,
                )
            )
        return planned


def _resolved(raw: Any, variables: Variables, source: Source, at: KeyPath, *, partial: bool) -> Any:
    """``raw`` (written at ``at`` in ``source``) with the cell's variables written in
    (``partial``: leaving what steps will set); a reference they cannot satisfy
    (``${env.UNSET}``, a field a variable lacks) is located in the file."""
    try:
        return variables.resolve(raw, partial=partial)
    except VariableError as exc:
        raise source.error((*at, *exc.at), str(exc)) from None


def _check_references(raw: Any, source: Source, at: KeyPath, defined: set[str]) -> None:
    """Refuse a reference that nothing will define when the step runs. Known before the
    run: the cell's variables (scenario ``variables:`` and matrix values, already written
    in), the ``save:`` names of earlier steps, and ``SET_WHILE_RUNNING`` (what the runner and
    the actions set: whether an action runs before the reference is not judged here)."""
    for where, expression in unresolved(raw, defined):
        name = root(expression)
        raise source.error(
            (*at, *where),
            f"${{{expression}}}: no variable {name!r}: define it under variables:, in the"
            f" matrix or with save: in an earlier step (defined here:"
            f" {', '.join(sorted(defined)) or 'none'}), or use one a step sets"
            f" ({', '.join(sorted(SET_WHILE_RUNNING))})",
        )


def _check_balances_read(action: str, expect: Any, source: Source, at: KeyPath) -> None:
    """``expect.balances`` only on ``check_balances``, the one action that reads them:
    elsewhere they would never be compared, and the step would pass whatever they say."""
    if not isinstance(expect, dict) or expect.get("balances") is None:
        return
    if ACTIONS[action].name != BALANCES_ACTION:
        raise source.error(
            (*at, "expect", "balances"),
            f"{action} reads no balances: check them in a {BALANCES_ACTION} step after it",
        )


def _check_regexes(expect: Any, source: Source, at: KeyPath) -> None:
    """Compile every ``re:`` of a step's expectations, where the matcher reads them (the
    answer's and each message's ``body`` and ``headers``, the redirect), so that a bad one
    is a mistake in the file rather than a failure when the step runs. A pattern that
    holds a ``${…}`` is compiled when the step runs, with the value written in."""
    for where, text in _patterns(expect):
        if not text.startswith(REGEX_PREFIX) or any(references(text)):
            continue
        try:
            re.compile(text[len(REGEX_PREFIX) :])
        except re.error as exc:
            position = "" if exc.pos is None else f" at position {exc.pos} of the pattern"
            raise source.error(
                (*at, *where),
                f"{text!r} is not a valid regular expression: {exc.msg}{position} (a literal"
                " [, { or ( is written \\[, \\{ or \\()",
            ) from None


def _patterns(expect: Any) -> Iterable[tuple[KeyPath, str]]:
    """The strings of ``expect`` that may be ``re:`` patterns, with their key paths."""
    if not isinstance(expect, dict):
        return
    for key in ("body", "headers", "redirect"):
        yield from texts(expect.get(key), (key,))
    messages = expect.get("messages")
    for index, message in enumerate(messages if isinstance(messages, list) else []):
        if isinstance(message, dict):
            for key in ("body", "headers"):
                yield from texts(message.get(key), ("messages", index, key))


def _saves(expect: Any) -> set[str]:
    """The names a step's expected messages are saved as (``save:``)."""
    messages = expect.get("messages") if isinstance(expect, dict) else None
    return {
        m["save"]
        for m in (messages if isinstance(messages, list) else [])
        if isinstance(m, dict) and isinstance(m.get("save"), str)
    }


def validated(model: type[ModelT], value: Any, source: Source, at: KeyPath) -> ModelT:
    """``value`` validated as ``model``; a ``ScenarioError`` located under ``at`` if not."""
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        error = exc.errors()[0]
        raise source.error((*at, *_clean(error["loc"])), _problem(error)) from None


def find_scenarios(arguments: Sequence[str]) -> list[Path]:
    """The scenario files named, and those under the directories named (recursively, in
    name order). Files and directories whose names start with ``_`` or ``.`` are skipped in
    directories: fragments live there."""
    found: list[Path] = []
    for argument in arguments:
        path = Path(argument)
        if path.is_dir():
            found.extend(
                p
                for p in sorted(path.rglob("*"))
                if p.suffix in SUFFIXES
                and p.is_file()
                and not any(part[0] in "_." for part in p.relative_to(path).parts)
            )
        elif path.is_file():
            found.append(path)
        elif path.exists():  # a device, a pipe, a socket
            raise ScenarioError(f"{argument}: not a scenario file or a directory of them")
        else:
            raise ScenarioError(f"{argument}: no such file or directory")
    if not found:
        raise ScenarioError(f"no scenario files (*.yaml) in {', '.join(arguments)}")
    return found


def load_scenario(path: Path) -> LoadedScenario:
    data, source = read_yaml(path)
    if not isinstance(data, dict):
        raise source.error((), "a scenario file must be a YAML mapping with name and steps")
    steps = data.get("steps")
    origins: list[tuple[Source, KeyPath]] = []
    if isinstance(steps, list):
        data = dict(data)
        data["steps"] = list(_expand(steps, path, source, ("steps",), origins, depth=0))
    _check_matrix_shape(data.get("matrix"), source)
    try:
        scenario = ScenarioHead.model_validate(data)
    except ValidationError as exc:
        raise _located(exc.errors()[0], origins, source) from None
    _check_matrix(scenario, source)
    return LoadedScenario(path, scenario, source, origins)


_MATRIX_SHAPES = (
    "a matrix is a mapping of lists ({profile: [spec, reference]}: every combination) or a"
    " list of mappings ([{profile: spec}, {profile: reference}]: those cells)"
)


def _check_matrix_shape(matrix: Any, source: Source) -> None:
    """A matrix of neither shape, said in the file's terms (pydantic would name its union
    members: ``matrix.dict[str,list[any]]``)."""
    if matrix is None:
        return
    if isinstance(matrix, dict):
        for key, values in matrix.items():
            if not isinstance(values, list):
                raise source.error(
                    ("matrix", str(key)), f"give {key} a list of values, e.g. [{values!r}]"
                )
    elif isinstance(matrix, list):
        for index, cell in enumerate(matrix):
            if not isinstance(cell, dict):
                raise source.error(("matrix", index), f"{cell!r} is no mapping: {_MATRIX_SHAPES}")
    else:
        raise source.error(("matrix",), f"{matrix!r} is neither: {_MATRIX_SHAPES}")


def _check_matrix(scenario: ScenarioHead, source: Source) -> None:
    """A matrix runs one cell per combination: one that runs nothing is a mistake (a
    scenario that silently never runs would pass), not an empty success."""
    matrix = scenario.matrix
    if matrix is None:
        return
    if not matrix:
        raise source.error(
            ("matrix",),
            "the matrix is empty, so the scenario would never run: give it values or remove it",
        )
    if isinstance(matrix, dict):
        for key, values in matrix.items():
            if not values:
                raise source.error(
                    ("matrix", key),
                    f"{key} has no values, so the matrix expands to no run: give it at least"
                    " one value or remove it",
                )


def read_yaml(path: Path) -> tuple[Any, Source]:
    """The YAML document in ``path`` and the line of each of its key paths."""
    try:
        text = read_text(path)
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise ScenarioError(f"{path}: cannot read: {exc}") from None
    try:
        data, node = _parse(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        problem = getattr(exc, "problem", None) or str(exc)
        raise ScenarioError(f"{where}: not valid YAML: {problem}") from None
    lines: dict[KeyPath, int] = {}
    if node is not None:
        _record_lines(node, (), lines)
    return data, Source(str(path), lines)


# libyaml's parser when PyYAML has it (about ten times faster: a library run parses every
# file and fragment), else PyYAML's own; both build the same documents and marks.
_BASE_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_BASE_LOADER):  # type: ignore[valid-type,misc]
    """The safe loader, reading an unquoted date or time (``2024-01-01``) as the text it
    is written as: every value a scenario gives goes into a JSON body or is compared with
    one, where a date is a string (as a ``date`` object it was a TypeError when sent, and
    never equal to what came)."""


_Loader.add_constructor("tag:yaml.org,2002:timestamp", yaml.SafeLoader.construct_yaml_str)


def _parse(text: str) -> tuple[Any, yaml.Node | None]:
    """The YAML document in ``text`` and its node tree (which has the lines), parsed once."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, None
        check_document(node)  # keys given twice, recursive aliases, alias bombs
        return loader.construct_document(node), node
    finally:
        loader.dispose()


def _record_lines(node: yaml.Node, path: KeyPath, lines: dict[KeyPath, int]) -> None:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            child = (*path, str(key.value))
            lines[child] = key.start_mark.line + 1
            _record_lines(value, child, lines)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _record_lines(item, (*path, index), lines)


def _expand(
    steps: list[Any],
    path: Path,
    source: Source,
    at: KeyPath,
    origins: list[tuple[Source, KeyPath]],
    *,
    depth: int,
) -> Iterable[Any]:
    """``steps`` with every ``include`` replaced by the fragment's steps; ``origins``
    gets where each resulting step was written."""
    for index, step in enumerate(steps):
        where = (*at, index)
        if not (isinstance(step, dict) and "include" in step):
            origins.append((source, where))
            yield step
            continue
        if depth >= MAX_INCLUDE_DEPTH:
            raise source.error(where, f"includes nest deeper than {MAX_INCLUDE_DEPTH}: a cycle?")
        unknown = set(step) - {"include", "with"}
        if unknown or not isinstance(step["include"], str):
            raise source.error(where, "an include step is {include: FILE, with: {…}} only")
        try:
            fragment_path = (path.parent / step["include"]).resolve()
        except (OSError, RuntimeError, ValueError) as exc:  # a symlink loop, a NUL
            raise source.error(
                (*where, "include"), f"cannot find the fragment {step['include']!r}: {exc}"
            ) from None
        if not fragment_path.is_file():
            raise source.error((*where, "include"), f"no fragment file {fragment_path}")
        data, fragment_source = read_yaml(fragment_path)
        try:
            fragment = Fragment.model_validate(data)
        except ValidationError as exc:
            raise _located(exc.errors()[0], [], fragment_source) from None
        given = step.get("with") or {}
        if not isinstance(given, dict):
            raise source.error((*where, "with"), "with must be a mapping of parameters")
        unknown_params = set(given) - set(fragment.parameters)
        if unknown_params:
            known = ", ".join(fragment.parameters) or "none"
            raise source.error(
                (*where, "with"),
                f"the fragment has no parameter {', '.join(sorted(unknown_params))}"
                f" (parameters: {known})",
            )
        values = {**fragment.parameters, **given}
        raw_steps = _substitute(fragment.steps, values)
        yield from _expand(
            raw_steps, fragment_path, fragment_source, ("steps",), origins, depth=depth + 1
        )


def _substitute(value: Any, parameters: Mapping[str, Any]) -> Any:
    """``${name}`` of the fragment's parameters replaced; other references are left."""
    if isinstance(value, str):
        whole = _PARAMETER.fullmatch(value)
        if whole is not None and whole.group(1) in parameters:
            return parameters[whole.group(1)]
        return _PARAMETER.sub(
            lambda m: str(parameters[m.group(1)]) if m.group(1) in parameters else m.group(0),
            value,
        )
    if isinstance(value, dict):
        return {key: _substitute(item, parameters) for key, item in value.items()}
    if isinstance(value, list):
        return [_substitute(item, parameters) for item in value]
    return value


def _located(
    error: Any, origins: list[tuple[Source, KeyPath]], source: Source | None = None
) -> ScenarioError:
    """A validation problem, located in the file (or fragment) that holds it: a step's in
    the file it was written in (``origins``), anything else in ``source``."""
    loc = _clean(error["loc"])
    if len(loc) >= 2 and loc[0] == "steps" and isinstance(loc[1], int) and loc[1] < len(origins):
        step_source, step_path = origins[loc[1]]
        return step_source.error((*step_path, *loc[2:]), _problem(error))
    return (source or origins[0][0]).error(loc, _problem(error))


def _clean(loc: tuple[int | str, ...]) -> KeyPath:
    """pydantic's location without the tag it inserts after a step's index (the action)."""
    return tuple(
        part
        for i, part in enumerate(loc)
        if not (
            i >= 2
            and loc[i - 2] == "steps"
            and isinstance(loc[i - 1], int)
            and (part in ACTIONS or part == "include")
        )
    )


def _problem(error: Mapping[str, Any]) -> str:
    message = str(error["msg"])
    if error["type"] == "extra_forbidden":
        return "unknown key (a typo?)"
    if error["type"] == "missing":
        return "required key missing"
    return message


def format_path(path: KeyPath) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text
