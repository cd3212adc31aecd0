"""The running function: a testcontainers container under the RIE, an invoke
lock (the RIE panics on two concurrent invokes) and its log stream."""

from __future__ import annotations

import base64
import functools
import io
import json
import os
import tarfile
import threading
import time
import weakref
from collections.abc import Callable, Mapping
from typing import Any

import docker.errors
import docker.types
import requests
from testcontainers.core.container import DockerContainer
from typing_extensions import Self

from .._lambda import MAX_REQUEST_BYTES
from ..errors import (
    FunctionStartError,
    InvalidRequestContent,
    InvokeError,
    LambdaImageError,
    RequestEntityTooLarge,
    RieNotFoundError,
)
from . import additions, cleanup
from .additions import HELPER_DIR, AdditionProvider, StartAddition
from .additions import installed as additions_installed
from .attach import attach_stderr
from .container_api import ContainerApi
from .cpu import CpuShare
from .engine import DockerEngine, describe_docker_host, docker_errors, short_reason
from .image import LambdaImage, get_image
from .invocation import Invocation, error_document
from .invoke_http import InvokeConnection, InvokeConnectionError, InvokeTimeout
from .logs import LogCollector
from .rapid_log import INVOKE_HEADER, RIE_LOG_FLAGS, RapidWatch
from .rie import RIE_IN_IMAGE, RIE_MOUNT_POINT, RIE_PORT, Launch, bootstrap_command, find_rie, rie_arch, rie_in_front
from .sandbox import TMP, cpu_quota, lambda_environment, sandbox_options, tmp_root_archive
from .settings import FunctionConfig, PullPolicy
from .tracing import TRACE_HEADER, new_trace_id, normalize_trace_id

INVOKE_PATH = "/2015-03-31/functions/function/invocations"
# The RIE of aws-sam-cli 1.170 hands this header's id to the runtime (measured); older RIEs make their own.
REQUEST_ID_HEADER = "X-Amzn-RequestId"
VERDICT_WAIT_S = 2.0  # the RIE logs the runtime's call before it answers: this is only a safety net
CRASH_REASON_WAIT_S = 1.0
STOP_VERDICT_WAIT_S = 0.2
GATE_RETRY_S = 2.0  # how long an invoke the RIE turns away while it resets is sent again
CONNECT_TIMEOUT_S = 10.0
UNREACHABLE_AFTER_S = 5.0  # connects to the published port that time out this long: give up with the reason
_has_file_cache: dict[tuple[str, str], bool] = {}
_cpus_of: weakref.WeakKeyDictionary[DockerEngine, int | None] = weakref.WeakKeyDictionary()


# exec and get_container_info return docker's own types (testcontainers' differ by version).
class LambdaFunction(ContainerApi, DockerContainer):  # type: ignore[misc]
    """A Lambda function image running under the RIE.

    A testcontainers DockerContainer, fluent like one (container_api.py
    says which of its builders apply)::

        with LambdaFunction("my-fn:latest").with_timeout(5).with_envs(STAGE="test") as fn:
            assert fn.invoke({"name": "x"}).json() == {...}
    """

    def __init__(
        self,
        image: str | LambdaImage,
        config: FunctionConfig | None = None,
        *,
        engine: DockerEngine | None = None,
        pull: PullPolicy = "missing",
        start_timeout: float = 60.0,
        additions: Mapping[str, AdditionProvider] | None = None,
        **settings: Any,
    ) -> None:
        ref = image.ref if isinstance(image, LambdaImage) else image
        if not isinstance(ref, str) or not ref.strip():
            raise LambdaImageError(f"invalid image {image!r}: give a tag, a digest or a LambdaImage")
        self.image = ref
        self._container: Any = None
        # What the testcontainers-style builders set (container_api.py).
        self._create_kwargs: dict[str, Any] = {}
        self._mounts: dict[str, dict[str, str]] = {}
        self._tmpfs_mounts: dict[str, str] = {}
        self._extra_ports: dict[str, Any] = {}
        self._container_name: str | None = None
        self._network_name: str | None = None
        self._network_aliases: list[str] = []
        self._command_override: list[str] | None = None
        base = config or FunctionConfig()
        self.config = base.replace(**settings) if settings else base
        self.lambda_image: LambdaImage | None = image if isinstance(image, LambdaImage) else None
        self._engine = engine
        self._own_engine = engine is None
        self._pull = pull
        self._start_timeout = start_timeout
        self._lock = threading.Lock()
        self._http: InvokeConnection | None = None
        self.collector = LogCollector()  # replaced on start, with the container's log as source
        self.endpoint: str | None = None
        self._watch: RapidWatch | None = None
        self._cpu: CpuShare | None = None
        self._gone: str | None = None  # why the container was removed under the caller
        self._memory_limit: int | None = None
        self._oom_failcnt = 0
        self._peak_stale = False  # the cgroup's peak belongs to a killed environment
        self._invokes = 0  # the number of the last invoke sent
        # By capability ("trace_relay", "debug"): the installed ones unless given.
        self._providers: dict[str, AdditionProvider] = (
            dict(additions) if additions is not None else additions_installed()
        )
        self._additions: list[StartAddition] = []

    # -- fluent settings (validated at once) ----------------------------------
    def with_handler(self, handler: str) -> Self:
        self.config = self.config.replace(handler=handler)
        return self

    def with_timeout(self, seconds: int) -> Self:
        self.config = self.config.replace(timeout=seconds)
        return self

    def with_memory_size(self, megabytes: int) -> Self:
        self.config = self.config.replace(memory_size=megabytes)
        return self

    def with_function_name(self, name: str) -> Self:
        self.config = self.config.replace(function_name=name)
        return self

    def with_rie(self, path: str | os.PathLike[str]) -> Self:
        self.config = self.config.replace(rie_path=str(path))
        return self

    def with_fidelity(self, enabled: bool = True) -> Self:
        """Run like Lambda (the default) or as a plain `docker run` (False)."""
        self.config = self.config.replace(fidelity=enabled)
        return self

    def with_addition(self, name: str, provider: AdditionProvider) -> Self:
        """Let a capability (`name`, e.g. "debug") add to the container at
        start (a StartAddition: the runtime's one extension point);
        pytest_lambda_image.debug.attach uses it."""
        self._providers[name] = provider
        return self

    def without_addition(self, name: str) -> Self:
        """Start without capability `name` (e.g. "trace_relay")."""
        self._providers.pop(name, None)
        return self

    @property
    def additions(self) -> Mapping[str, AdditionProvider]:
        """The capabilities that add to this function at start, by name."""
        return dict(self._providers)

    def published_address(self, container_port: int) -> tuple[str, int] | None:
        """Where this machine reaches a container port published by an addition."""
        if self._container is None or self._engine is None:
            return None
        published = self._container.ports.get(f"{container_port}/tcp")
        return (self._engine.host_address, int(published[0]["HostPort"])) if published else None

    def with_aws_credentials(self, enabled: bool = True) -> Self:
        """Pass the host's AWS credentials into the container (off by default)."""
        self.config = self.config.replace(pass_aws_credentials=enabled)
        return self

    # -- facts ------------------------------------------------------------------
    @property
    def function_name(self) -> str:
        if self.config.function_name:
            return self.config.function_name
        return self.lambda_image.name if self.lambda_image else "function"

    @property
    def url(self) -> str:
        """The RIE's invoke URL, for callers that bring their own HTTP client."""
        if self.endpoint is None:
            raise FunctionStartError("the function is not started: call start() or use it as a context manager")
        return self.endpoint + INVOKE_PATH

    def environment(self) -> dict[str, str]:
        """The variables the container gets on top of the image's own."""
        image_env = self.lambda_image.env if self.lambda_image is not None else {}
        env = lambda_environment(self.config, self.function_name, image_env)
        for addition in self._additions:
            env.update(addition.env)
        return env

    # -- lifecycle --------------------------------------------------------------
    def start(self) -> Self:
        if self._container is not None:
            return self
        engine = self._engine = self._engine or DockerEngine.connect()
        if self.lambda_image is None:
            self.lambda_image = get_image(engine, self.image, self._pull)
        image = self.lambda_image
        rie_in_container, rie_binary = _choose_rie(engine, image, self.config.rie_path)
        self._additions = []  # a provider may ask for environment(): not with the last start's additions
        self._additions = [provider(self, engine, image) for provider in self._providers.values()]
        helpers = {RIE_MOUNT_POINT: rie_binary} if rie_binary is not None else {}
        for addition in self._additions:
            helpers.update(addition.helpers)
        kwargs = self._create_options(engine, bool(helpers))
        self._container = self._create(engine, image, self._launch(image, rie_in_container), kwargs, helpers)
        cleanup.track(self._container.id, engine.client)
        self.collector = LogCollector(_log_source(engine, self._container.id))
        self._gone = None
        self._peak_stale = False
        try:
            self._run(engine, image, kwargs.get("network"), helpers)
        except BaseException:
            self.stop()
            raise
        return self

    def _launch(self, image: LambdaImage, rie: str) -> Launch:
        """The container's entrypoint and command: the RIE in front of the
        bootstrap, or a capability's wrapper in front of both."""
        # ImageConfig (config.entrypoint/command) replaces the image's own, as on
        # Lambda; a testcontainers-style with_command() is the test's explicit word.
        command = self._command_override if self._command_override is not None else self.config.command
        entrypoint = self.config.entrypoint if self.config.entrypoint is not None else image.entrypoint
        cmd = command if command is not None else image.cmd
        bootstrap = bootstrap_command(entrypoint, cmd, self.config.handler)
        wrapper = additions.one_launch(self._additions) or rie_in_front
        return wrapper(rie, RIE_LOG_FLAGS, bootstrap)

    def _create_options(self, engine: DockerEngine, has_helpers: bool) -> dict[str, Any]:
        """docker create's options besides the image, launch, ports and helpers:
        the sandbox, the log driver, the builders' and the additions' mounts."""
        kwargs = sandbox_options(self.config)
        kwargs["tmpfs"] = {**kwargs.pop("tmpfs", {}), **self._tmpfs_mounts} or None
        # Docker's "local" log driver: the RIE's debug lines cost a warm invoke
        # ~0.25 ms less than with json-file (measured), and `docker logs` still works.
        kwargs["log_config"] = docker.types.LogConfig(type="local")
        if self.config.working_dir:
            kwargs["working_dir"] = self.config.working_dir
        kwargs.update(self._create_kwargs)  # with_kwargs wins: the user asked for it
        if self._network_name is not None:
            kwargs.setdefault("network", self._network_name)
        mounts = []
        if self._tmp_volume():
            # On the engine's disk, not in memory; anonymous, so removing the
            # container removes it (v=True), and labelled for the reaping of
            # sessions that died.
            mounts.append(docker.types.Mount(TMP, None, type="volume", labels=cleanup.container_labels()))
        if has_helpers and not engine.shares_filesystem:  # copied in before start: the root is read-only
            mounts.append(docker.types.Mount(HELPER_DIR, None, type="volume"))
        for addition in self._additions:
            if addition.volume is not None:  # files copied in: remote engines cannot mount this machine's
                mounts.append(docker.types.Mount(addition.volume, None, type="volume"))
        if mounts:
            kwargs["mounts"] = [*kwargs.get("mounts", []), *mounts]
        self._memory_limit = self.config.memory_size * 1024 * 1024 if "mem_limit" in kwargs else None
        return kwargs

    def _tmp_volume(self) -> bool:
        """Whether /tmp is the sandbox's volume: under fidelity, unless the
        test mounts something there itself."""
        return (
            self.config.fidelity
            and TMP not in self._tmpfs_mounts
            and not any(mount.get("bind") == TMP for mount in self._mounts.values())
        )

    def _ports(self, engine: DockerEngine) -> dict[str, Any]:
        """The RIE's port, the builders' and the additions': on loopback for a
        local engine; a remote daemon publishes on its own interfaces."""
        binding = ("127.0.0.1", None) if engine.host_address == "127.0.0.1" else None
        ports: dict[str, Any] = {f"{RIE_PORT}/tcp": binding, **self._published(binding)}
        for addition in self._additions:
            for port, fixed in addition.ports.items():
                ports[f"{port}/tcp"] = (binding[0] if binding else "0.0.0.0", fixed) if fixed else binding
        return ports

    def _create(
        self,
        engine: DockerEngine,
        image: LambdaImage,
        launch: Launch,
        kwargs: dict[str, Any],
        helpers: Mapping[str, Any],
    ) -> Any:
        volumes = {host: dict(mount) for host, mount in self._mounts.items()}
        if engine.shares_filesystem:
            for at, binary in helpers.items():
                volumes[str(binary.resolve())] = {"bind": at, "mode": "ro"}
        create = functools.partial(
            engine.client.containers.create,
            image.id,
            entrypoint=launch.entrypoint,
            command=launch.command,
            environment=self.environment(),
            ports=self._ports(engine),
            volumes=volumes,
            labels=cleanup.container_labels({**self.config.labels, "pytest-lambda-image.image": image.ref}),
            name=self._container_name,
            detach=True,
        )
        with docker_errors(f"creating a container from {image.ref}"):
            try:
                return create(**kwargs)
            except docker.errors.APIError as exc:
                # An engine without Docker's "local" log driver (Podman's API): its default will do.
                if "log_config" in self._create_kwargs or "log" not in str(exc.explanation or exc).lower():
                    raise
                kwargs.pop("log_config", None)
                return create(**kwargs)

    def _run(self, engine: DockerEngine, image: LambdaImage, network: str | None, helpers: Mapping[str, Any]) -> None:
        """Copy in what the container needs, start it, follow its log, and wait
        until the RIE listens."""
        if self._network_aliases and network:
            self._set_aliases(engine, network)
        if self._tmp_volume():
            with docker_errors("giving /tmp to the function's user"):
                self._container.put_archive(TMP, tmp_root_archive(self.config))
        if helpers and not engine.shares_filesystem:
            _copy_helpers(self._container, helpers)
        for addition in self._additions:
            if addition.volume is not None and addition.archive is not None:
                with docker_errors(f"copying files into {addition.volume} of the container"):
                    self._container.put_archive(addition.volume, addition.archive)
        with docker_errors(f"starting {image.ref}"):
            self._container.start()
            self._container.reload()
        published = self._container.ports.get(f"{RIE_PORT}/tcp")
        if not published:  # it exited before docker published the port
            raise self._exited_early(self._container.attrs.get("State") or {})
        container_id = self._container.id
        self._cpu = self._cpu_share(engine)
        self._watch = RapidWatch(
            lambda: attach_stderr(engine.client, container_id), self._cpu.phase if self._cpu else None
        )
        with docker_errors(f"following the log of {image.ref}"):
            self._watch.start()
        port = int(published[0]["HostPort"])
        self.endpoint = f"http://{engine.host_address}:{port}"
        self._http = InvokeConnection(engine.host_address, port, CONNECT_TIMEOUT_S)
        self._wait_until_listening()
        for addition in self._additions:
            if addition.started is not None:
                addition.started(self)

    def _cpu_share(self, engine: DockerEngine) -> CpuShare | None:
        """Lambda's CPU for the memory size during invokes (init keeps the
        engine's: Lambda's init burst), under fidelity with cpu_scaling."""
        if not (self.config.fidelity and self.config.cpu_scaling):
            return None
        cpus = _host_cpus(engine) or os.cpu_count() or 1
        invoke = cpu_quota(self.config.memory_size, cpus)
        return CpuShare(engine.client, self._container.id, invoke, cpus * 1_000_000_000)

    def _published(self, binding: Any) -> dict[str, Any]:
        """with_bind_ports / with_exposed_ports: on the same interface as the RIE's port."""
        return {
            key: ((binding[0], host) if binding else host) if host is not None else binding
            for key, host in self._extra_ports.items()
        }

    def _set_aliases(self, engine: DockerEngine, network: str) -> None:
        api = engine.client.api
        with docker_errors(f"giving the container its aliases on {network}"):
            api.disconnect_container_from_network(self._container.id, network)
            api.connect_container_to_network(self._container.id, network, aliases=self._network_aliases)

    def _wait_until_listening(self) -> None:
        """Poll GET / (the RIE answers 404) every few ms: init is lazy, so the
        invoke path must not be touched, and a 1 s poll would dominate cold start."""
        assert self._http is not None and self._container is not None
        deadline = time.monotonic() + self._start_timeout
        self._http.connect_timeout = 1.0
        try:
            self._poll_until_listening(deadline)
        finally:
            self._http.connect_timeout = CONNECT_TIMEOUT_S

    def _poll_until_listening(self, deadline: float) -> None:
        assert self._http is not None
        attempt = 0
        unanswered_since: float | None = None  # connects that time out: nothing at that address answers
        while True:
            try:
                self._http.request("GET", "/", None, {}, read_timeout=1.0)
                return
            except InvokeConnectionError as exc:
                if not exc.timed_out:
                    unanswered_since = None
                elif unanswered_since is None:
                    unanswered_since = time.monotonic()
                elif time.monotonic() - unanswered_since > UNREACHABLE_AFTER_S and self._state().get("Running"):
                    # Docker publishes a port at once (refused or reset until the RIE
                    # listens); connects that go unanswered mean the address is not reachable.
                    raise FunctionStartError(
                        f"{self.function_name}: cannot reach {self._http.host}:{self._http.port} from here (the "
                        f"RIE's port {RIE_PORT}, published by the Docker engine at {describe_docker_host()}): "
                        "connections get no answer. Check that this machine may connect to that host on the ports "
                        "Docker publishes (a firewall or security group), and that DOCKER_HOST names an address "
                        "reachable from here"
                    ) from None
            except InvokeTimeout:
                pass
            attempt += 1
            if attempt % 40 == 0:
                state = self._state()
                if state.get("Status") not in ("running", "created", "unknown"):
                    raise self._exited_early(state)
            if time.monotonic() > deadline:
                raise FunctionStartError(
                    f"{self.function_name}: the RIE did not listen on port {RIE_PORT} within "
                    f"{self._start_timeout:.0f} s; does the image's entrypoint start it? "
                    f"container log:\n{self._log_tail()}"
                )
            time.sleep(0.005 if attempt < 200 else 0.05)

    def _exited_early(self, state: dict[str, Any]) -> FunctionStartError:
        return FunctionStartError(
            f"{self.function_name}: container exited with code {state.get('ExitCode')} before the RIE "
            f"listened; container log:\n{self._log_tail()}"
        )

    def stop(
        self, force: bool = True, delete_volume: bool = True, *, graceful: bool = False, background: bool = False
    ) -> None:
        """Remove the container. `graceful=True` stops it first (SIGTERM, so the
        RIE sends SHUTDOWN to extensions). `background=True` returns at once
        and leaves the removal to a thread (`cleanup.flush()` waits for it);
        the fixtures stop their functions that way."""
        watch, self._watch = self._watch, None
        cpu, self._cpu = self._cpu, None
        if cpu is not None:
            cpu.close()
        if watch is not None:
            if self._invokes:  # an outcome read after stop() still gets its verdict
                watch.verdict(self._invokes, STOP_VERDICT_WAIT_S, expected=False)
            watch.close()
        container, self._container = self._container, None
        self.endpoint = None
        if container is not None:
            if self.collector.issued:
                self.collector.refresh()  # last chance: the log goes with the container
            self.collector.close()
            client = self._engine.client if self._engine else None
            if graceful:
                try:
                    container.stop(timeout=5)
                except (docker.errors.DockerException, requests.exceptions.RequestException):
                    pass
            if client is not None:
                if background and not self._own_engine:  # an engine of its own is closed below
                    cleanup.remove_later(client, container.id)
                else:
                    cleanup.remove_container(client, container.id)
        if self._http is not None:
            self._http.close()
            self._http = None
        if self._own_engine and self._engine is not None:
            self._engine.close()
            self._engine = None

    def is_running(self) -> bool:
        """False once the container exited or is gone (a passing Docker error counts as running)."""
        return self._container is not None and self._state().get("Status") in ("running", "unknown")

    def _state(self) -> dict[str, Any]:
        if self._container is None:
            return {}
        try:
            self._container.reload()
        except docker.errors.NotFound:
            return {"Status": "removed"}
        except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
            return {"Status": "unknown", "EngineError": short_reason(exc)}
        return self._container.attrs.get("State") or {}

    # -- logs ---------------------------------------------------------------------
    def logs(self) -> str:
        """Everything the container has written so far (stdout and stderr)."""
        return self.collector.text()

    def _log_tail(self, lines: int = 40) -> str:
        text = self.collector.text()
        if not text and self._container is not None:
            try:
                text = self._container.logs().decode("utf-8", "replace")
            except (docker.errors.DockerException, requests.exceptions.RequestException):
                text = ""
        return "\n".join(text.splitlines()[-lines:]) or "(empty)"

    # -- invoke ---------------------------------------------------------------------
    def invoke(
        self,
        event: Any = None,
        *,
        payload: bytes | str | None = None,
        client_context: Mapping[str, Any] | None = None,
        timeout: float | None = None,
        trace_id: str | None = None,
        request_id: str | None = None,
    ) -> Invocation:
        """Invoke synchronously with `event` (JSON-serialized; `{}` when omitted)
        or a raw `payload`. Every invoke carries an X-Ray `trace_id` (a fresh
        one unless given; `Invocation.trace_id` tells which). A `request_id`
        is the one the runtime gets (the RIE makes one otherwise); Lambda
        retries an async event under its id. Thread-safe: calls on one
        function run one at a time."""
        __tracebackhide__ = True
        body = encode_payload(event, payload, MAX_REQUEST_BYTES, "synchronous")
        trace = new_trace_id() if trace_id is None else normalize_trace_id(trace_id)
        headers = {"Content-Type": "application/json", TRACE_HEADER: trace}
        for addition in self._additions:
            if addition.invoke_headers is not None:  # e.g. the trace relay's carrier of the trace id
                headers.update(addition.invoke_headers(trace))
        if client_context is not None:
            headers["X-Amz-Client-Context"] = encode_client_context(client_context)
        if request_id is not None:
            headers[REQUEST_ID_HEADER] = request_id
        if self._http is None or self._watch is None:
            if self._gone:
                raise InvokeError(self._gone)
            raise FunctionStartError("the function is not started: call start() or use it as a context manager")
        function_timeout = max([self.config.timeout, *(a.invoke_timeout_s or 0 for a in self._additions)])
        read_timeout = timeout if timeout is not None else function_timeout + 30
        with self._lock:
            # Another thread's invoke may have removed the container while this one waited.
            watch, http = self._watch, self._http
            if watch is None or http is None:
                raise InvokeError(self._gone or f"{self.function_name}: the function was stopped")
            sent = time.monotonic()
            deadline = sent + GATE_RETRY_S
            while True:
                ticket = self.collector.ticket()
                number = self._invokes = watch.next_number()
                headers[INVOKE_HEADER] = str(number)
                status, content = self._send(http, ticket, body, headers, read_timeout)
                if status == 200 or time.monotonic() > deadline or not _gate_canceled(watch, number, content):
                    break
                # The RIE was still resetting after the invoke before (a timeout or
                # crash) and turned this one away before the runtime saw it (the
                # RIE's race, not Lambda's behaviour): send it again.
                time.sleep(0.05)
            verdict: Any = None
            if status == 200:
                # Settled when the outcome is first read: the runtime's call reaches
                # us through Docker's log pipe a little after the answer.
                verdict = functools.partial(watch.verdict, number, VERDICT_WAIT_S)
            elif error_document(content, strict=False) is None:
                # An empty or plain-text failure: the RIE's log has the reason
                # (its lines follow the answer closely).
                verdict = watch.verdict(number, CRASH_REASON_WAIT_S, expected=False)
            else:
                # A failed answer with an error document: the runtime may have
                # posted it to /error before exiting (a Go panic), a function
                # error; or to /init/error, or the RIE wrote it for a crash.
                verdict = functools.partial(watch.verdict, number, CRASH_REASON_WAIT_S, expected=False)
            elapsed_ms = (time.monotonic() - sent) * 1000
            out_of_memory = status != 200 and self._killed_for_memory(content)
            if out_of_memory:
                self._new_environment()
        collector = self.collector
        return Invocation(
            status,
            content,
            logs_source=lambda: collector.result(ticket),
            function_name=self.function_name,
            verdict=verdict,
            memory_peak=functools.partial(self._peak_after, number),
            out_of_memory=out_of_memory,
            trace_id=trace,
            memory_size_mb=self.config.memory_size,
            elapsed_ms=elapsed_ms,
        )

    def _send(
        self, http: InvokeConnection, ticket: Any, body: bytes, headers: dict[str, str], read_timeout: float
    ) -> tuple[int, bytes]:
        try:
            return http.request("POST", INVOKE_PATH, body, headers, read_timeout)
        except InvokeTimeout:
            engine_error = self._engine.unreachable() if self._engine is not None else None
            if engine_error:  # not the function: the engine (and its host) went away
                self._gone = (
                    f"{self.function_name}: the Docker engine at {describe_docker_host()} stopped answering "
                    f"({engine_error}) during an earlier invoke"
                )
                self.stop()
                raise InvokeError(
                    f"{self.function_name}: no answer within {read_timeout} s, and the Docker engine at "
                    f"{describe_docker_host()} does not answer either ({engine_error}): check that the engine is "
                    "running and reachable"
                ) from None
            # The RIE still runs this invoke and would panic on the next
            # one: the container cannot be used any more.
            self._gone = (
                f"{self.function_name}: an earlier invoke got no answer within its client-side timeout of "
                f"{read_timeout} s, so its container was removed (the RIE cannot take another invoke while one "
                "runs); start a new function, and give invoke(timeout=...) more than the function's timeout"
            )
            self.stop()
            raise InvokeError(
                f"{self.function_name}: no answer within {read_timeout} s; the container was removed "
                "(the RIE cannot take another invoke while one runs)"
            ) from None
        except InvokeConnectionError as exc:
            self.collector.cancel(ticket)
            raise self._delivery_error(exc) from None

    # -- memory -------------------------------------------------------------------
    def _memory_stats(self) -> dict[str, Any]:
        if self._container is None or self._engine is None:
            return {}
        try:
            stats = self._engine.client.api.stats(self._container.id, stream=False, one_shot=True)
        except (docker.errors.DockerException, requests.exceptions.RequestException):
            return {}
        return stats.get("memory_stats") or {}

    def memory_peak_mb(self) -> int | None:
        """The container's peak memory in MB so far, from its memory cgroup
        (None where the engine does not tell it: cgroup v2 engines report no peak)."""
        peak = self._memory_stats().get("max_usage")
        return max(1, round(peak / (1024 * 1024))) if peak else None

    def _peak_after(self, number: int) -> int | None:
        """The peak as of invoke `number`: known only while it is the last
        invoke and the container is there (a later invoke may have raised it),
        and not for a killed environment's successor whose peak could not be reset."""
        if number != self._invokes or self._container is None or self._peak_stale:
            return None
        return self.memory_peak_mb()

    def _new_environment(self) -> None:
        """The runtime was killed: Lambda's next invoke runs in a new
        environment, whose Max Memory Used starts again. The container's
        cgroup keeps its lifetime peak: reset it where this machine can reach
        the cgroup (a local engine, cgroup v1); otherwise say no peak."""
        container = self._container
        self._peak_stale = True
        if container is None or self._engine is None or not self._engine.shares_filesystem:
            return
        for parent in ("docker", f"system.slice/docker-{container.id}.scope"):
            path = f"/sys/fs/cgroup/memory/{parent}/{container.id}/memory.max_usage_in_bytes"
            if parent.endswith(".scope"):
                path = f"/sys/fs/cgroup/memory/{parent}/memory.max_usage_in_bytes"
            try:
                with open(path, "w") as peak:
                    peak.write("0")  # cgroup v1: any write resets the peak to the usage now
            except OSError:
                continue
            self._peak_stale = False
            return

    def _killed_for_memory(self, body: bytes) -> bool:
        """A runtime killed by SIGKILL while its container hit the memory limit:
        the kernel's OOM killer, under fidelity's limit. The cgroup's failure
        count tells (cgroup v1); an engine that gives none leaves SIGKILL under a
        limit as the sign, which is the OOM killer's in practice."""
        if self._memory_limit is None or b"signal: killed" not in body:
            return False
        failcnt = self._memory_stats().get("failcnt")
        if failcnt is None:
            return True
        hit = int(failcnt) > self._oom_failcnt
        self._oom_failcnt = max(self._oom_failcnt, int(failcnt))
        return hit

    def _delivery_error(self, exc: Exception) -> InvokeError:
        if self._container is None:  # stop() ran while this invoke waited for its answer
            return InvokeError(
                f"{self.function_name}: the function was stopped while this invoke ran (its container was removed)"
            )
        engine_error = self._engine.unreachable() if self._engine is not None else None
        if engine_error:
            return InvokeError(
                f"{self.function_name}: invoke failed ({exc}) and the Docker engine at {describe_docker_host()} does "
                f"not answer either ({engine_error}): check that the engine is running and reachable"
            )
        # The connection drops a moment before docker marks the container exited.
        deadline = time.monotonic() + 2.0
        state = self._state()
        while state.get("Status") in ("running", "unknown") and time.monotonic() < deadline:
            time.sleep(0.05)
            state = self._state()
        if state.get("Status") not in (None, "running", "unknown"):
            oom = " (killed for memory: the container hit its memory limit)" if state.get("OOMKilled") else ""
            return InvokeError(
                f"{self.function_name}: the container is {state.get('Status')} "
                f"(exit code {state.get('ExitCode')}){oom}; container log:\n{self._log_tail()}"
            )
        if state.get("EngineError"):
            return InvokeError(
                f"{self.function_name}: invoke failed ({exc}) and the Docker engine at {describe_docker_host()} does "
                f"not answer either ({state['EngineError']}): check that the engine is running and reachable"
            )
        return InvokeError(f"{self.function_name}: invoke failed: {exc}")


def _gate_canceled(watch: RapidWatch, number: int, content: bytes) -> bool:
    """Whether the RIE refused invoke `number` at its gate, before the runtime
    got it: a Sandbox.Failure its log explains as ErrGateCanceled."""
    if b"Sandbox.Failure" not in content:
        return False
    verdict = watch.verdict(number, CRASH_REASON_WAIT_S, expected=False)
    return verdict is not None and verdict.detail == "ErrGateCanceled"


def _choose_rie(engine: DockerEngine, image: LambdaImage, explicit: str | None) -> tuple[str, Any]:
    """Where the RIE in front comes from: the host's (the version this plugin is
    tested with), else the image's own (AWS base images have one)."""
    try:
        return RIE_MOUNT_POINT, find_rie(rie_arch(image.architecture), explicit)
    except RieNotFoundError:
        if explicit or not image_has_file(engine, image, RIE_IN_IMAGE):
            raise
    return RIE_IN_IMAGE, None


def _host_cpus(engine: DockerEngine) -> int | None:
    """The engine's CPU count, asked once per engine (`docker info` costs ~10 ms a start)."""
    if engine not in _cpus_of:
        try:
            _cpus_of[engine] = int(engine.client.info().get("NCPU") or 0) or None
        except (docker.errors.DockerException, requests.exceptions.RequestException, ValueError):
            return None
    return _cpus_of[engine]


def _log_source(engine: DockerEngine, container_id: str) -> Callable[[float | None], bytes]:
    def fetch(since: float | None) -> bytes:
        return engine.client.api.logs(container_id, stdout=True, stderr=True, timestamps=True, since=since)

    return fetch


def encode_payload(event: Any, payload: bytes | str | None, limit: int, invocation_type: str) -> bytes:
    """The request body, refused over Lambda's `limit` for this invocation type."""
    __tracebackhide__ = True
    if payload is not None:
        if event is not None:
            raise InvokeError("pass either an event or a raw payload, not both")
        body = payload.encode() if isinstance(payload, str) else bytes(payload)
    else:
        try:
            body = json.dumps({} if event is None else event).encode()
        except (TypeError, ValueError) as exc:
            raise InvokeError(
                f"event is not JSON-serializable ({exc}): pass dicts, lists, strings and numbers, or raw bytes as "
                "payload="
            ) from None
    if len(body) > limit:
        truncates = ", and the RIE would silently truncate it" if limit == MAX_REQUEST_BYTES else ""
        raise RequestEntityTooLarge(
            f"request payload is {len(body):,} bytes; Lambda refuses {invocation_type} invokes over {limit:,} bytes "
            f"(RequestEntityTooLarge){truncates}"
        )
    if payload is not None or b"NaN" in body or b"Infinity" in body:  # json.dumps writes NaN for float("nan")
        _refuse_non_json(body)
    return body


def _refuse_non_json(body: bytes) -> None:
    """Lambda parses the payload before any runtime sees it: a body that is not
    JSON (NaN and Infinity included) is a 400 InvalidRequestContentException.
    An empty payload is allowed (the runtime gets an empty body)."""
    __tracebackhide__ = True
    if not body.strip():
        return
    try:
        json.loads(body, parse_constant=_not_json_constant)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidRequestContent(
            f"the payload is not JSON ({exc}): Lambda refuses it with InvalidRequestContentException and the function "
            "never runs; pass event= (serialized for you) or a JSON payload="
        ) from None


def _not_json_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def encode_client_context(context: Mapping[str, Any]) -> str:
    """Lambda's X-Amz-Client-Context header: base64 JSON with `custom`,
    `env` and `client` members."""
    try:
        raw = json.dumps(dict(context)).encode()
    except (TypeError, ValueError) as exc:
        raise InvokeError(f"client_context is not JSON-serializable ({exc})") from None
    return base64.b64encode(raw).decode()


def image_has_file(engine: DockerEngine, image: LambdaImage, path: str) -> bool:
    """Look inside the image without running it (works for FROM-scratch images)."""
    key = (image.id, path)
    if key not in _has_file_cache:
        with docker_errors(f"inspecting {image.ref}"):
            probe = engine.client.api.create_container(
                image.id, entrypoint=["/pytest-lambda-image-probe"], labels=cleanup.container_labels()
            )
            try:
                # HEAD: stat the path without streaming the file (an open stream
                # would hold the container and stall its removal).
                api = engine.client.api
                response = api.head(api._url("/containers/{0}/archive", probe["Id"]), params={"path": path})
                _has_file_cache[key] = response.status_code == 200
            finally:
                cleanup.remove_container(engine.client, probe["Id"])
    return _has_file_cache[key]


def _copy_helpers(container: Any, binaries: Mapping[str, os.PathLike[str]]) -> None:
    """Remote engines cannot bind-mount this machine's files: copy the RIE
    (and the trace relay) in, all in one directory."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for at, binary in binaries.items():
            data = _read_binary(binary)
            info = tarfile.TarInfo(os.path.basename(at))
            info.size, info.mode, info.uid, info.gid = len(data), 0o755, 0, 0
            tar.addfile(info, io.BytesIO(data))
    with docker_errors(f"copying {', '.join(os.path.basename(at) for at in binaries)} into the container"):
        container.put_archive(HELPER_DIR, buffer.getvalue())


def _read_binary(path: os.PathLike[str]) -> bytes:
    try:
        with open(path, "rb") as src:
            return src.read()
    except OSError as exc:  # the RIE, or the trace relay
        raise RieNotFoundError(f"cannot read {path} to copy it into the container: {exc.strerror}") from None
