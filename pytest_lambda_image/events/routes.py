"""API Gateway route templates: `/items/{id}`, greedy `/{proxy+}`, and route
keys such as `GET /items/{id}`, `ANY /{proxy+}` or `$default`."""

from __future__ import annotations

import re
from dataclasses import dataclass

_PARAM = re.compile(r"^\{([A-Za-z0-9_.-]+)(\+?)\}$")
DEFAULT_ROUTE = "$default"
# What a route key's method may be, in REST and HTTP APIs alike.
METHODS = ("ANY", "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")


@dataclass(frozen=True)
class Route:
    method: str  # upper case, or ANY
    template: str  # "/items/{id}"; "$default" matches everything

    @classmethod
    def parse(cls, key: str) -> Route:
        """`"GET /items/{id}"`, `"/items/{id}"` (any method) or `"$default"`."""
        key = key.strip()
        if key == DEFAULT_ROUTE:
            return cls("ANY", DEFAULT_ROUTE)
        method, _, template = key.partition(" ") if " " in key else ("ANY", "", key)
        template = template.strip()
        if method.upper() not in METHODS:
            raise ValueError(f"invalid route {key!r}: the method {method!r} is not one of {', '.join(METHODS)}")
        if not template.startswith("/"):
            raise ValueError(f"invalid route {key!r}: write it as 'METHOD /path/{{param}}' or '/path'")
        segments = _segments(template)
        for i, segment in enumerate(segments):
            param = _PARAM.match(segment)
            if param and param[2] and i != len(segments) - 1:
                raise ValueError(f"invalid route {key!r}: a greedy {{name+}} segment must come last")
            if ("{" in segment or "}" in segment) and not param:
                raise ValueError(f"invalid route {key!r}: a parameter is a whole segment, like {{id}}")
        return cls(method.upper(), template)

    @property
    def key(self) -> str:
        return DEFAULT_ROUTE if self.template == DEFAULT_ROUTE else f"{self.method} {self.template}"

    def match(self, method: str, path: str) -> dict[str, str] | None:
        """Path parameters if `method path` takes this route, else None."""
        if self.method != "ANY" and self.method != method.upper():
            return None
        if self.template == DEFAULT_ROUTE:
            return {}
        return path_parameters(self.template, path)

    def specificity(self) -> tuple[int, ...]:
        """Sort key, most specific first: literal segments beat {params}, which beat {greedy+}."""
        if self.template == DEFAULT_ROUTE:
            return (1, 0, 0, 0)
        segments = _segments(self.template)
        greedy = any((m := _PARAM.match(s)) is not None and m[2] for s in segments)
        literals = sum(1 for s in segments if not _PARAM.match(s))
        return (0, int(greedy), -literals, int(self.method == "ANY"))


def path_parameters(template: str, path: str) -> dict[str, str] | None:
    """Match `path` against `template`; the parameters, or None if it does not match."""
    want, have = _segments(template), _segments(path)
    params: dict[str, str] = {}
    for i, segment in enumerate(want):
        param = _PARAM.match(segment)
        if param and param[2]:
            rest = have[i:]
            if not rest:
                return None
            params[param[1]] = "/".join(rest)
            return params
        if i >= len(have):
            return None
        if param:
            params[param[1]] = have[i]
        elif segment != have[i]:
            return None
    return params if len(have) == len(want) else None


def _segments(path: str) -> list[str]:
    return [s for s in path.split("/") if s]


def select(routes: list[Route], method: str, path: str) -> tuple[Route, dict[str, str]] | None:
    """The most specific route taking `method path`, like API Gateway picks one."""
    for route in sorted(routes, key=Route.specificity):
        params = route.match(method, path)
        if params is not None:
            return route, params
    return None
