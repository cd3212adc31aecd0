"""Images the plugin built pile up with every edit of a function: keep the
newest few of each build and remove the older ones, only ever by the tags
the plugin gave them (a tag a user added keeps the image)."""

from __future__ import annotations

import contextlib

import docker.errors
import requests.exceptions

from .._runtime import cleanup
from .._runtime.engine import DockerEngine
from .._runtime.image import LABEL_INPUTS

LABEL_BUILD = "pytest-lambda-image.build"  # which build (context, Dockerfile, target, platform) made it
LABEL_BUILT_AT = "pytest-lambda-image.built-at"  # nanoseconds: builds within one second keep their order
TAG_PREFIX = "pytest-lambda-image/"


def prune_builds(engine: DockerEngine, identity: str, keep: int) -> list[str]:
    """Untag the plugin's tags on all but the newest `keep` images of the
    build `identity`; returns the tags removed. Images in use stay."""
    removed: list[str] = []
    cleanup.flush(timeout=10)  # containers the fixtures just stopped would hold their images
    with contextlib.suppress(docker.errors.DockerException, requests.exceptions.RequestException):
        images = engine.client.api.images(filters={"label": [f"{LABEL_BUILD}={identity}", LABEL_INPUTS]})
        # Only images carrying a tag of ours count: an image a user built FROM
        # one of ours inherits its labels, and is neither kept nor removed here.
        images = [item for item in images if any(t.startswith(TAG_PREFIX) for t in item.get("RepoTags") or [])]
        images.sort(key=_built_at, reverse=True)
        for item in images[keep:]:
            for tag in item.get("RepoTags") or []:
                if not tag.startswith(TAG_PREFIX):
                    continue
                try:
                    engine.client.api.remove_image(tag, noprune=False)
                    removed.append(tag)
                except docker.errors.APIError:
                    pass  # used by a container, or gone already
    return removed


def _built_at(item: dict) -> tuple[int, int]:
    labels = item.get("Labels") or {}
    try:
        return int(labels.get(LABEL_BUILT_AT, 0)), int(item.get("Created") or 0)
    except ValueError:
        return 0, int(item.get("Created") or 0)
