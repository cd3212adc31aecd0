"""Reading a Dockerfile as Docker does: parser directives (`# escape=`,
`# syntax=`), comments, line continuations (the escape character at the end
of a line, blank and comment lines inside one skipped) and heredoc bodies,
into instructions with their flags and words; ARG values and `$VAR` /
`${VAR:-default}` substitution for what the build needs to know beforehand."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

_DIRECTIVE = re.compile(r"^#\s*([A-Za-z][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$")
_HEREDOC = re.compile(r"<<-?\s*([\"']?)([A-Za-z_][A-Za-z0-9_]*)\1")
_VAR = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-+])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))")
_HEREDOC_INSTRUCTIONS = ("RUN", "COPY", "ADD")


@dataclass(frozen=True)
class Instruction:
    """One instruction, its continuation lines joined."""

    keyword: str  # upper case: FROM, ARG, COPY ...
    flags: tuple[str, ...]  # leading --name=value words, as written
    words: tuple[str, ...]  # the rest, split and unquoted as a shell would
    text: str  # everything after the keyword, continuations joined
    first_line: int  # 0-based index of its first and last line in the file
    last_line: int
    heredoc: bool = False  # the instruction has a heredoc body (BuildKit)

    def flag(self, name: str) -> str | None:
        """The value of `--name=value`, or None."""
        for each in self.flags:
            key, _, value = each[2:].partition("=")
            if key.lower() == name:
                return value
        return None


@dataclass(frozen=True)
class Dockerfile:
    directives: Mapping[str, str]  # lower-case names: escape, syntax, check
    instructions: tuple[Instruction, ...]

    @property
    def escape(self) -> str:
        return self.directives.get("escape", "\\")


def parse(text: str) -> Dockerfile:
    """A Dockerfile's directives and instructions."""
    lines = text.removeprefix("\ufeff").splitlines()
    directives, start = _directives(lines)
    escape = directives.get("escape", "\\")
    if escape not in ("\\", "`"):
        escape = "\\"  # Docker refuses the file; what it means is for the build to say
    instructions: list[Instruction] = []
    index = start
    while index < len(lines):
        stripped = lines[index].strip()
        if not stripped or stripped.startswith("#"):
            index += 1
            continue
        instruction, index = _instruction(lines, index, escape)
        instructions.append(instruction)
    return Dockerfile(directives, tuple(instructions))


def _directives(lines: list[str]) -> tuple[dict[str, str], int]:
    """Directives come first, before any comment, blank line or instruction."""
    found: dict[str, str] = {}
    for index, line in enumerate(lines):
        match = _DIRECTIVE.match(line.strip())
        if not match or match[1].lower() in found:
            return found, index
        found[match[1].lower()] = match[2]
    return found, len(lines)


def _continuation(line: str, escape: str) -> str | None:
    """The line without its continuation mark, or None when it does not go
    on: the escape character last (blanks after it allowed), not itself
    escaped."""
    body = line.rstrip(" \t")
    if not body.endswith(escape) or body.endswith(escape * 2):
        return None
    return body[:-1]


def _is_comment(line: str) -> bool:
    return line.lstrip().startswith("#")


def _instruction(lines: list[str], index: int, escape: str) -> tuple[Instruction, int]:
    first = index
    text = lines[index].lstrip()
    joined = _continuation(text, escape)
    while joined is not None and index + 1 < len(lines):
        index += 1
        line = lines[index]  # leading blanks kept: "FROM a\\" then " AS b" is "FROM a AS b"
        if _is_comment(line) or not line.strip():  # skipped inside a continuation
            continue
        more = _continuation(line, escape)
        if more is None:
            text, joined = joined + line, None
        else:
            joined += more
    if joined is not None:  # the file ends in a continuation
        text = joined
    keyword, rest = [*text.split(None, 1), "", ""][:2]
    keyword, rest = keyword.upper(), rest.strip()
    index += 1
    heredoc = False
    if keyword in _HEREDOC_INSTRUCTIONS and not rest.startswith("["):
        for match in _HEREDOC.finditer(rest):  # its body lines are not instructions
            end = next((at for at in range(index, len(lines)) if lines[at].strip() == match[2]), None)
            if end is not None:  # no terminator: "<<" was something else
                heredoc, index = True, end + 1
    words = split_words(rest, escape)
    flags = tuple(word for word in _leading_flags(words))
    instruction = Instruction(keyword, flags, tuple(words[len(flags) :]), rest, first, index - 1, heredoc)
    return instruction, index


def _leading_flags(words: list[str]) -> list[str]:
    flags = []
    for word in words:
        if not word.startswith("--"):
            break
        flags.append(word)
    return flags


def split_words(text: str, escape: str = "\\") -> list[str]:
    """Words as the Dockerfile's shell-like lexer splits them: quotes group
    and are removed, the escape character keeps the next one literally
    (inside single quotes nothing is special)."""
    words: list[str] = []
    current: list[str] = []
    quote = ""
    started = False
    chars = iter(text)
    for char in chars:
        if quote == "'" and char != "'":
            current.append(char)
        elif char == escape and quote != "'":
            current.append(next(chars, ""))
            started = True
        elif char in "\"'" and quote in ("", char):
            quote = "" if quote else char
            started = True
        elif char.isspace() and not quote:
            if started:
                words.append("".join(current))
            current, started = [], False
        else:
            current.append(char)
            started = True
    if started:
        words.append("".join(current))
    return words


def expand(text: str, variables: Mapping[str, str]) -> str:
    """`$VAR`, `${VAR}`, `${VAR:-default}` and `${VAR:+alternative}` (an
    unset variable is empty)."""

    def substitute(match: re.Match[str]) -> str:
        name = match[1] or match[4]
        value = variables.get(name)
        operator, word = match[2], match[3] or ""
        if operator in (":-", "-"):
            return word if (value is None or (operator == ":-" and not value)) else value
        if operator in (":+", "+"):
            return word if value is not None and (operator == "+" or value) else ""
        return value or ""

    return _VAR.sub(substitute, text)


def arg_declarations(instruction: Instruction) -> list[tuple[str, str | None]]:
    """The names an ARG declares, each with its default (None: none)."""
    declared = []
    for word in instruction.words:
        name, sep, default = word.partition("=")
        if name:
            declared.append((name, default if sep else None))
    return declared


@dataclass(frozen=True)
class Stage:
    """A FROM and what it names: its base (variables substituted), its
    platform flag and its stage name."""

    base: str
    platform: str | None
    name: str | None
    instruction: Instruction


def stages(dockerfile: Dockerfile, build_args: Mapping[str, str]) -> list[Stage]:
    """The stages, with the ARGs declared before the first FROM (the only ones
    a FROM can use) and the build args substituted."""
    variables: dict[str, str] = {}
    found: list[Stage] = []
    for instruction in dockerfile.instructions:
        if instruction.keyword == "ARG" and not found:
            for name, default in arg_declarations(instruction):
                value = build_args.get(name, expand(default, variables) if default is not None else None)
                if value is not None:
                    variables[name] = value
        elif instruction.keyword == "FROM" and instruction.words:
            words = instruction.words
            stage_name = words[2] if len(words) >= 3 and words[1].lower() == "as" else None
            platform = instruction.flag("platform")
            found.append(
                Stage(
                    expand(words[0], variables),
                    expand(platform, variables) if platform is not None else None,
                    stage_name,
                    instruction,
                )
            )
    return found
