"""How to build a function image from a Dockerfile: `BuildSpec`, checked on
creation (a missing secret file or unset variable fails before any build)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .._lambda import PLATFORMS
from .._runtime.settings import parse_choice, parse_key_values, whole_number
from ..errors import ConfigError

BUILDERS = ("auto", "buildkit", "legacy")
DEFAULT_KEEP_IMAGES = 3


def parse_secret(value: str) -> dict[str, str]:
    """A `docker build --secret` value: `id=NAME,src=FILE`, `id=NAME,env=VAR`
    or `id=NAME` (the variable NAME). Checked now, so a missing file or unset
    variable fails before any build, and the value itself is never kept here."""
    fields: dict[str, str] = {}
    for part in str(value).split(","):
        key, sep, item = part.strip().partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"invalid build secret {value!r}: write id=NAME,src=FILE or id=NAME,env=VAR")
        fields[key.strip().lower()] = item.strip()
    if "source" in fields:
        fields.setdefault("src", fields.pop("source"))
    fields.pop("type", None)
    name = fields.get("id")
    if not name or set(fields) - {"id", "src", "env"} or ("src" in fields and "env" in fields):
        raise ConfigError(f"invalid build secret {value!r}: write id=NAME,src=FILE or id=NAME,env=VAR")
    if "src" in fields:
        fields["src"] = str(Path(fields["src"]).expanduser())
        if not Path(fields["src"]).is_file():
            raise ConfigError(f"build secret {name!r}: file {fields['src']} does not exist")
    else:
        fields.setdefault("env", name)
        if fields["env"] not in os.environ:
            raise ConfigError(f"build secret {name!r}: environment variable {fields['env']} is not set")
    # id first: the build cache keys on it.
    return {"id": name, **{key: value for key, value in fields.items() if key != "id"}}


def parse_ssh(value: str) -> str:
    """A `docker build --ssh` value: `default` (the agent at SSH_AUTH_SOCK) or
    `ID=PATH[,PATH]` (an agent socket or key files)."""
    text = str(value).strip()
    name, sep, paths = text.partition("=")
    if not name or (sep and not paths):
        raise ConfigError(f"invalid build SSH setting {value!r}: write default or ID=/path/to/agent.sock")
    if not sep and not os.environ.get("SSH_AUTH_SOCK"):
        raise ConfigError(f"build SSH {name!r} forwards the SSH agent, but SSH_AUTH_SOCK is not set: start ssh-agent")
    for path in paths.split(",") if sep else ():
        if not Path(path).expanduser().exists():
            raise ConfigError(f"build SSH {name!r}: {path} does not exist")
    return text


@dataclass(frozen=True)
class BuildSpec:
    """How to build a function image from a Dockerfile."""

    context: Path
    dockerfile: Path | None = None  # default: <context>/Dockerfile
    target: str | None = None
    build_args: Mapping[str, str] = field(default_factory=dict)
    platform: str | None = None
    tag: str | None = None  # default: pytest-lambda-image/<context name>:<inputs hash>
    secrets: tuple[str, ...] = ()  # `docker build --secret` values (BuildKit)
    ssh: tuple[str, ...] = ()  # `docker build --ssh` values (BuildKit)
    builder: str = "auto"  # auto: BuildKit through the docker CLI when there is one, else the legacy API
    docker_cli: str | None = None  # the docker CLI for BuildKit builds (default: found on PATH)
    keep: int = DEFAULT_KEEP_IMAGES  # images of this build kept; older ones the plugin built are removed

    def __post_init__(self) -> None:
        object.__setattr__(self, "context", Path(self.context))
        if self.dockerfile is not None:
            object.__setattr__(self, "dockerfile", Path(self.dockerfile))
        object.__setattr__(self, "build_args", parse_key_values(self.build_args, "build arg"))
        if self.platform is not None and self.platform not in PLATFORMS:
            raise ConfigError(f"invalid platform {self.platform!r}: Lambda runs {' or '.join(PLATFORMS)}")
        secrets = (self.secrets,) if isinstance(self.secrets, str) else tuple(self.secrets or ())
        # Kept as `docker build --secret` takes them, checked and with their source spelled out.
        normalized = tuple(",".join(f"{k}={v}" for k, v in parse_secret(secret).items()) for secret in secrets)
        object.__setattr__(self, "secrets", normalized)
        ssh = (self.ssh,) if isinstance(self.ssh, str) else tuple(self.ssh or ())
        object.__setattr__(self, "ssh", tuple(parse_ssh(item) for item in ssh))
        object.__setattr__(self, "builder", parse_choice(self.builder, BUILDERS, "builder"))
        keep = whole_number(self.keep)
        if keep is None or keep < 1:
            raise ConfigError(f"invalid number of images to keep {self.keep!r}: use a whole number, 1 or more")
        object.__setattr__(self, "keep", keep)

    @property
    def dockerfile_path(self) -> Path:
        if self.dockerfile is None:
            return self.context / "Dockerfile"
        return self.dockerfile if self.dockerfile.is_absolute() else self.context / self.dockerfile
