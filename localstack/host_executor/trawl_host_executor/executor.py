"""A LocalStack Lambda runtime executor that runs a function's `bootstrap` as a host process.

LocalStack's Docker executor starts a container whose init binary serves the Lambda
Runtime API to the function and relays results back to LocalStack. This executor does
the same work in-process:

* every execution environment gets its own small HTTP server on 127.0.0.1 serving the
  Lambda Runtime API (`/2018-06-01/runtime/...`);
* the function's `bootstrap` (from the unpacked code directory) runs as a child process
  with the standard Lambda environment and `AWS_LAMBDA_RUNTIME_API` pointing at it;
* `invoke()` hands the event to the runtime's `invocation/next` long-poll and waits for
  `invocation/{id}/response` or `invocation/{id}/error`, enforcing the function timeout
  (the process is killed on timeout and started again on the next invoke, as Lambda does);
* stdout/stderr of the process are collected per invocation and returned as the
  invocation's logs, so LocalStack stores them in CloudWatch Logs as usual.

Only functions that ship a `bootstrap` executable (the `provided.*` runtimes) can run.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import select
import shutil
import signal
import stat
import subprocess
import threading
import time
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeoutError
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from localstack import config
from localstack.services.lambda_.invocation.executor_endpoint import (
    ShutdownDuringStartup,
    StatusErrorException,
)
from localstack.services.lambda_.invocation.lambda_models import (
    FunctionVersion,
    InvocationResult,
)
from localstack.services.lambda_.invocation.runtime_executor import (
    LambdaRuntimeException,
    RuntimeExecutor,
)

LOG = logging.getLogger("localstack.lambda.host_executor")

RUNTIME_PREFIX = "/2018-06-01/runtime"
# How many lines of process output are kept for get_logs().
MAX_KEPT_LINES = 5000
# Echo function output into LocalStack's own log (HOST_EXECUTOR_ECHO_OUTPUT=0 to silence).
ECHO_OUTPUT = os.environ.get("HOST_EXECUTOR_ECHO_OUTPUT", "1") not in ("0", "false", "")


def _error_payload(error_type: str, message: str) -> bytes:
    return json.dumps({"errorType": error_type, "errorMessage": message}).encode()


class _Invocation:
    def __init__(self, request_id: str, payload: bytes, arn: str, trace_id: str, deadline_ms: int):
        self.request_id = request_id
        self.payload = payload
        self.arn = arn
        self.trace_id = trace_id
        self.deadline_ms = deadline_ms
        self.cancelled = False
        # (payload bytes, is_error)
        self.result: Future[tuple[bytes, bool]] = Future()


class _RuntimeApi:
    """The Lambda Runtime API for one execution environment."""

    def __init__(self, executor_id: str):
        self.executor_id = executor_id
        self.pending: queue.Queue[_Invocation] = queue.Queue()
        self.active: dict[str, _Invocation] = {}
        self.ready: Future[bool] = Future()
        self.closed = threading.Event()
        self.lock = threading.Lock()
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, fmt, *args):  # silence the default stderr access log
                LOG.debug("runtime api %s: " + fmt, api.executor_id, *args)

            def _body(self) -> bytes:
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    chunks = []
                    while True:
                        size_line = self.rfile.readline()
                        size = int(size_line.split(b";")[0].strip() or b"0", 16)
                        if size == 0:
                            # trailers until empty line
                            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                                pass
                            break
                        chunks.append(self.rfile.read(size))
                        self.rfile.readline()
                    return b"".join(chunks)
                length = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(length) if length else b""

            def _send(self, status: int, body: bytes = b"", headers: dict | None = None):
                self.send_response(status)
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                if "Content-Type" not in (headers or {}):
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if body:
                    self.wfile.write(body)

            def do_GET(self):
                if self.path.rstrip("/") == f"{RUNTIME_PREFIX}/invocation/next":
                    api._mark_ready()
                    inv = api._next_invocation()
                    if inv is None:
                        self._send(500, _error_payload("Runtime.Shutdown", "environment is shutting down"))
                        self.close_connection = True
                        return
                    headers = {
                        "Lambda-Runtime-Aws-Request-Id": inv.request_id,
                        "Lambda-Runtime-Deadline-Ms": str(inv.deadline_ms),
                        "Lambda-Runtime-Invoked-Function-Arn": inv.arn,
                    }
                    if inv.trace_id:
                        headers["Lambda-Runtime-Trace-Id"] = inv.trace_id
                    self._send(200, inv.payload, headers)
                    return
                self._send(404, _error_payload("NotFound", f"unknown path {self.path}"))

            def do_POST(self):
                body = self._body()
                path = self.path.rstrip("/")
                if path == f"{RUNTIME_PREFIX}/init/error":
                    error_type = self.headers.get("Lambda-Runtime-Function-Error-Type", "Runtime.Unknown")
                    api._init_error(body or _error_payload(error_type, "init error"))
                    self._send(202, b'{"status":"OK"}')
                    return
                prefix = f"{RUNTIME_PREFIX}/invocation/"
                if path.startswith(prefix):
                    request_id, _, kind = path[len(prefix):].partition("/")
                    if kind in ("response", "error"):
                        if kind == "error" and not body:
                            error_type = self.headers.get(
                                "Lambda-Runtime-Function-Error-Type", "Runtime.Unknown"
                            )
                            body = _error_payload(error_type, "function error")
                        if api._complete(request_id, body, kind == "error"):
                            self._send(202, b'{"status":"OK"}')
                        else:
                            self._send(
                                400,
                                _error_payload("InvalidRequestID", f"unknown request id {request_id}"),
                            )
                        return
                self._send(404, _error_payload("NotFound", f"unknown path {self.path}"))

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread: threading.Thread | None = None

    def start(self) -> None:
        self.thread = threading.Thread(
            target=self.server.serve_forever,
            kwargs={"poll_interval": 0.2},
            name=f"lambda-host-runtime-api-{self.executor_id}",
            daemon=True,
        )
        self.thread.start()

    def close(self) -> None:
        self.closed.set()
        if self.thread is not None:
            self.server.shutdown()
        self.server.server_close()
        if not self.ready.done():
            self.ready.cancel()
        with self.lock:
            for inv in list(self.active.values()):
                if not inv.result.done():
                    inv.result.cancel()
            self.active.clear()

    def submit(self, inv: _Invocation) -> None:
        with self.lock:
            self.active[inv.request_id] = inv
        self.pending.put(inv)

    def forget(self, inv: _Invocation) -> None:
        inv.cancelled = True
        with self.lock:
            self.active.pop(inv.request_id, None)

    def _mark_ready(self) -> None:
        with self.lock:
            if not self.ready.done():
                self.ready.set_result(True)

    def _init_error(self, payload: bytes) -> None:
        with self.lock:
            if not self.ready.done():
                self.ready.set_exception(
                    StatusErrorException("Environment startup failed", payload=payload)
                )

    def _next_invocation(self) -> _Invocation | None:
        while not self.closed.is_set():
            try:
                inv = self.pending.get(timeout=0.2)
            except queue.Empty:
                continue
            if not inv.cancelled:
                return inv
        return None

    def _complete(self, request_id: str, payload: bytes, is_error: bool) -> bool:
        with self.lock:
            inv = self.active.pop(request_id, None)
        if inv is None or inv.result.done():
            return False
        inv.result.set_result((payload, is_error))
        return True


class HostRuntimeExecutor(RuntimeExecutor):
    def __init__(self, id: str, function_version: FunctionVersion) -> None:
        super().__init__(id=id, function_version=function_version)
        self.api = _RuntimeApi(id)
        self.process: subprocess.Popen | None = None
        self.process_env: dict[str, str] = {}
        self.task_root: str | None = None
        self.tmp_dir: str | None = None
        self.stopped = threading.Event()
        self.spawn_lock = threading.Lock()
        # output handling: _out_lock is held while reading from the pipe and storing lines
        self._out_lock = threading.Lock()
        self._all_lines: list[str] = []
        self._pending_lines: list[str] = []
        self._partial = b""
        self._out_fd: int | None = None

    # -- helpers -------------------------------------------------------------------------

    @property
    def _function_name(self) -> str:
        return self.function_version.id.function_name

    def _resolve_bootstrap(self) -> str:
        code = self.function_version.config.code
        if code is None:
            raise LambdaRuntimeException(
                "The host executor runs only zip-packaged functions (no container images)."
            )
        self.task_root = str(code.get_unzipped_code_location())
        bootstrap = os.path.join(self.task_root, "bootstrap")
        if not os.path.isfile(bootstrap):
            raise LambdaRuntimeException(
                f"No 'bootstrap' executable in the code of {self.function_version.qualified_arn}: "
                "the host executor runs only provided.* runtimes"
            )
        mode = os.stat(bootstrap).st_mode
        if not mode & stat.S_IXUSR:
            os.chmod(bootstrap, mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        return bootstrap

    def _build_env(self, env_vars: dict[str, str]) -> dict[str, str]:
        env = {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "LANG": "en_US.UTF-8",
            "LD_LIBRARY_PATH": f"{self.task_root}/lib:{self.task_root}",
        }
        for key, value in env_vars.items():
            if value is not None:
                env[key] = str(value)
        # The host paths replace the container ones.
        env["LAMBDA_TASK_ROOT"] = self.task_root
        env["LAMBDA_RUNTIME_DIR"] = self.task_root
        env["AWS_LAMBDA_RUNTIME_API"] = f"127.0.0.1:{self.api.port}"
        env["TMPDIR"] = self.tmp_dir
        # lets run.sh stop find the process even after LocalStack is gone
        if marker := os.environ.get("TRAWL_LOCALSTACK_ID"):
            env["TRAWL_LOCALSTACK_ID"] = marker
        return env

    def _spawn(self) -> None:
        bootstrap = os.path.join(self.task_root, "bootstrap")
        LOG.debug("Starting %s for %s (executor %s)", bootstrap, self._function_name, self.id)
        read_fd, write_fd = os.pipe()
        try:
            self.process = subprocess.Popen(
                [bootstrap],
                cwd=self.task_root,
                env=self.process_env,
                stdin=subprocess.DEVNULL,
                stdout=write_fd,
                stderr=write_fd,
                # own process group: stop() kills the function and anything it started
                process_group=0,
                close_fds=True,
            )
        finally:
            os.close(write_fd)
        self._out_fd = read_fd
        threading.Thread(
            target=self._read_output,
            args=(read_fd,),
            name=f"lambda-host-output-{self.id}",
            daemon=True,
        ).start()

    def _read_output(self, fd: int) -> None:
        try:
            while True:
                readable, _, _ = select.select([fd], [], [], 0.5)
                if not readable:
                    if self.process is None or self.process.poll() is not None:
                        # process gone; read whatever is left below
                        pass
                    continue
                with self._out_lock:
                    data = os.read(fd, 65536)
                    if not data:
                        if self._partial:
                            self._store_line(self._partial)
                            self._partial = b""
                        return
                    data = self._partial + data
                    *lines, self._partial = data.split(b"\n")
                    for line in lines:
                        self._store_line(line)
        except OSError:
            return
        finally:
            try:
                os.close(fd)
            except OSError:
                pass
            if self._out_fd == fd:
                self._out_fd = None

    def _store_line(self, raw: bytes) -> None:
        line = raw.decode("utf-8", errors="replace").rstrip("\r")
        self._pending_lines.append(line)
        self._all_lines.append(line)
        if len(self._all_lines) > MAX_KEPT_LINES:
            del self._all_lines[: len(self._all_lines) - MAX_KEPT_LINES]
        if ECHO_OUTPUT:
            LOG.info("[lambda %s] %s", self._function_name, line)

    def _drain_output(self, max_wait: float = 0.5) -> list[str]:
        """Collect the output written so far (waits briefly for the pipe to be read empty)."""
        end = time.monotonic() + max_wait
        while True:
            with self._out_lock:
                fd = self._out_fd
                empty = True
                if fd is not None:
                    try:
                        empty = not select.select([fd], [], [], 0)[0]
                    except (OSError, ValueError):
                        empty = True
                if empty or time.monotonic() > end:
                    lines = self._pending_lines
                    self._pending_lines = []
                    return lines
            time.sleep(0.002)

    def _kill_process(self) -> None:
        process = self.process
        if process is None or process.poll() is not None:
            return
        try:
            os.killpg(process.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=0.5)
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            LOG.warning("Lambda process %s of %s did not exit", process.pid, self._function_name)

    def _ensure_running(self) -> None:
        with self.spawn_lock:
            if self.stopped.is_set():
                raise LambdaRuntimeException("execution environment is stopped")
            if self.process is None or self.process.poll() is not None:
                self._spawn()

    # -- RuntimeExecutor interface -------------------------------------------------------

    def start(self, env_vars: dict[str, str]) -> None:
        try:
            self._resolve_bootstrap()
            self.tmp_dir = os.path.join(config.dirs.tmp, "lambda-host", self.id)
            os.makedirs(self.tmp_dir, exist_ok=True)
            self.process_env = self._build_env(env_vars)
            self.api.start()
            self._ensure_running()
        except (LambdaRuntimeException, OSError) as e:
            # reported to the caller as a function error, as Lambda does for a bad bootstrap
            LOG.warning("Lambda %s cannot start: %s", self._function_name, e)
            raise StatusErrorException(
                "Environment startup failed",
                payload=_error_payload("Runtime.InvalidEntrypoint", str(e)),
            ) from e
        # Ready once the runtime asks for its first event (as in Lambda: init is over).
        while True:
            try:
                self.api.ready.result(timeout=0.1)
                return
            except FutureTimeoutError:
                pass
            except StatusErrorException:
                raise
            except Exception as e:  # cancelled by stop()
                raise ShutdownDuringStartup(
                    "Executor environment shutdown during startup"
                ) from e
            process = self.process
            if process is not None and process.poll() is not None:
                logs = "\n".join(self._drain_output())
                message = f"Runtime exited with error: exit status {process.returncode}"
                LOG.warning("Lambda %s failed to start: %s\n%s", self._function_name, message, logs)
                raise StatusErrorException(
                    "Environment startup failed",
                    payload=_error_payload("Runtime.ExitError", message),
                )

    def stop(self) -> None:
        self.stopped.set()
        with self.spawn_lock:
            self._kill_process()
        self.api.close()
        if self.tmp_dir:
            shutil.rmtree(self.tmp_dir, ignore_errors=True)

    def get_address(self) -> str:
        return "127.0.0.1"

    def get_endpoint_from_executor(self) -> str:
        host = config.GATEWAY_LISTEN[0].host
        return "127.0.0.1" if host in ("", "0.0.0.0", "::") else host

    def get_runtime_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.api.port}"

    def invoke(self, payload: dict[str, str]) -> InvocationResult:
        request_id = payload["invoke-id"]
        timeout = float(self.function_version.config.timeout or 3)
        started = time.monotonic()
        deadline = time.time() + timeout
        event = payload.get("payload") or ""
        inv = _Invocation(
            request_id=request_id,
            payload=event.encode() if isinstance(event, str) else event,
            arn=payload.get("invoked-function-arn", ""),
            trace_id=payload.get("trace-id", ""),
            deadline_ms=int(deadline * 1000),
        )
        version = self.function_version.id.qualifier
        self._ensure_running()
        self.api.submit(inv)
        result_payload: bytes
        is_error: bool
        while True:
            try:
                result_payload, is_error = inv.result.result(timeout=0.05)
                break
            except FutureTimeoutError:
                pass
            process = self.process
            if process is not None and process.poll() is not None:
                # give a response that raced with the exit a moment to land
                try:
                    result_payload, is_error = inv.result.result(timeout=0.1)
                    break
                except FutureTimeoutError:
                    pass
                self.api.forget(inv)
                result_payload = _error_payload(
                    "Runtime.ExitError",
                    f"RequestId: {request_id} Error: Runtime exited with error: "
                    f"exit status {process.returncode}",
                )
                is_error = True
                break
            if time.monotonic() - started >= timeout:
                self.api.forget(inv)
                with self.spawn_lock:
                    self._kill_process()
                result_payload = _error_payload(
                    "Sandbox.Timedout",
                    f"RequestId: {request_id} Error: Task timed out after {timeout:.2f} seconds",
                )
                is_error = True
                break
        duration_ms = (time.monotonic() - started) * 1000
        lines = self._drain_output()
        if is_error and result_payload and b"Task timed out" in result_payload:
            lines.append(
                f"{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())} {request_id} "
                f"Task timed out after {timeout:.2f} seconds"
            )
        memory = self.function_version.config.memory_size
        logs = "\n".join(
            [f"START RequestId: {request_id} Version: {version}"]
            + lines
            + [
                f"END RequestId: {request_id}",
                f"REPORT RequestId: {request_id}\tDuration: {duration_ms:.2f} ms\t"
                f"Billed Duration: {int(duration_ms) + 1} ms\tMemory Size: {memory} MB\t"
                f"Max Memory Used: {memory} MB",
            ]
        )
        return InvocationResult(
            request_id=request_id, payload=result_payload, is_error=is_error, logs=logs + "\n"
        )

    def get_logs(self) -> str:
        with self._out_lock:
            return "\n".join(self._all_lines)

    @classmethod
    def prepare_version(cls, function_version: FunctionVersion) -> None:
        if function_version.config.code:
            function_version.config.code.prepare_for_execution()

    @classmethod
    def cleanup_version(cls, function_version: FunctionVersion) -> None:
        pass

    @classmethod
    def validate_environment(cls) -> bool:
        return True
