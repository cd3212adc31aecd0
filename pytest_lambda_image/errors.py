"""Exceptions the plugin raises: each message says what happened and what to do."""

from __future__ import annotations


class LambdaImageError(Exception):
    """Base class: a problem the user can act on, reported in one clear line."""


class DockerUnavailableError(LambdaImageError):
    """No Docker daemon answers."""


class ConfigError(LambdaImageError, ValueError):
    """A setting has a value Lambda (or the RIE) would not accept."""


class ImageBuildError(LambdaImageError):
    """`docker build` failed; carries the tail of the build log."""

    def __init__(self, message: str, log: str = "") -> None:
        super().__init__(message)
        self.log = log


class ImageNotFoundError(LambdaImageError):
    """An image tag or digest is neither local nor pullable."""


class RieNotFoundError(LambdaImageError):
    """The image has no RIE and no RIE binary was found on the host."""


class FunctionStartError(LambdaImageError):
    """The container exited or never listened before the first invoke."""


class InvokeError(LambdaImageError):
    """The invoke could not be delivered (bad event, container gone, ...)."""


class RequestEntityTooLarge(InvokeError):
    """The request payload is over Lambda's 6 MB synchronous invoke limit."""


class InvalidRequestContent(InvokeError):
    """The request payload is not JSON: Lambda refuses it
    (InvalidRequestContentException) and the function never runs."""


class FunctionError(LambdaImageError):
    """Raised by `Invocation.raise_for_error()` for any outcome but success."""

    def __init__(self, message: str, invocation: object) -> None:
        super().__init__(message)
        self.invocation = invocation
