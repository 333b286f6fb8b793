"""Fork server: ``python -m jitnest.worker --serve SOCKET [--idle SECONDS] [--detached]``.

Importing NESTML, sympy and ODE-toolbox costs about a second per process. In serve mode the worker
imports them once, listens on the Unix socket ``SOCKET``, prints ``ready`` on stdout and then answers
every connection in a child made by ``fork()``: each request still starts from a state on which
NESTML never ran (the server itself only imports), exactly like a fresh process, but without the
imports. A connection sends ``{"request": REQUEST, "log_file": abs path}`` and closes its sending
side; the child writes its process ID to ``log_file + ".pid"`` (so that a client whose time limit
is up can kill it and its descendants), sends the response back (as :mod:`.protocol` would print
it) and exits; everything it prints goes to ``log_file``. A child that dies without answering
closes the connection unanswered. A connection that sends ``{"ping": true}`` gets
``{"pong": true}``: the server is alive and forks. The server exits when its stdin reaches end of
file (its parent has gone) or after ``--idle SECONDS`` without a request (it holds ~115 MB; the
parent starts a new one when it needs one again). With ``--detached`` (a server shared by several
processes) it ignores its stdin and SIGHUP, writes its process ID to ``SOCKET.pid`` and removes
the socket and that file when it exits, unless a newer server has replaced them.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sys
import traceback

from .protocol import _respond

# Imported by the fork server before it forks: what every request needs. NESTML's code generator,
# transformers and template engine are imported lazily by NESTML itself, so they are named here.
_PRELOAD = (
    "pynestml.frontend.pynestml_frontend",
    "pynestml.cocos.co_cos_manager",
    "pynestml.utils.model_parser",
    "pynestml.codegeneration.nest_code_generator",
    "pynestml.transformers.synapse_post_neuron_transformer",
    "pynestml.transformers.ode_toolbox_transformer",
    "odetoolbox",
    "sympy",
    "jinja2",
)


def serve(socket_path: str, idle_seconds: float | None = None, detached: bool = False) -> int:
    """Fork server: import NESTML once, answer each connection on ``socket_path`` in a forked child.

    The server process never runs NESTML itself (only imports it), so every child starts from the
    state a fresh worker process would have. Children are not waited for (SIGCHLD is ignored, so
    the kernel reaps them); the server exits after ``idle_seconds`` without a connection, and also
    when stdin reaches end of file unless ``detached`` (a server shared by several processes,
    which writes its process ID to ``socket_path + ".pid"`` and removes both files when it exits).
    """
    import importlib
    import selectors

    for name in _PRELOAD:
        importlib.import_module(name)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the parent; stdin EOF ends us
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    if detached:
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # exit through the clean-up below
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(socket_path)
    listener.listen(64)
    own_socket = os.stat(socket_path).st_ino
    if detached:
        with open(socket_path + ".pid", "w") as pid_file:
            pid_file.write(f"{os.getpid()}\n")
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ)
    if not detached:
        selector.register(sys.stdin, selectors.EVENT_READ)
    try:
        while True:
            events = selector.select(idle_seconds)
            if not events:  # idle: free the memory; a client starts another server when needed
                return 0
            for key, _ in events:
                if key.fileobj is sys.stdin:
                    if not os.read(sys.stdin.fileno(), 4096):
                        return 0
                    continue
                connection, _ = listener.accept()
                if os.fork() == 0:
                    listener.close()
                    selector.close()
                    _serve_connection(connection)  # never returns
                connection.close()
    finally:
        listener.close()
        if detached:
            _remove_own_files(socket_path, own_socket)


def _remove_own_files(socket_path: str, own_socket: int) -> None:
    """Remove the socket and PID files unless a newer server has replaced them meanwhile."""
    try:
        if os.stat(socket_path).st_ino != own_socket:
            return
        os.unlink(socket_path)
        os.unlink(socket_path + ".pid")
    except OSError:
        pass


def _serve_connection(connection: socket.socket) -> None:
    """In a forked child: answer the one request on ``connection``, then exit the process."""
    status = 1
    try:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # NESTML's own subprocesses must be waitable
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.close(0)
        chunks = []
        while chunk := connection.recv(1 << 16):
            chunks.append(chunk)
        envelope = json.loads(b"".join(chunks))
        if envelope.get("ping"):
            connection.sendall(b'{"pong": true}\n')
            status = 0
            return
        with open(envelope["log_file"] + ".pid", "w") as pid_file:
            pid_file.write(f"{os.getpid()}\n")
        log_fd = os.open(envelope["log_file"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(log_fd, 1)
        os.dup2(log_fd, 2)
        os.close(log_fd)
        response = _respond(envelope["request"])
        connection.sendall(json.dumps(response, allow_nan=True).encode() + b"\n")
        status = 0
    except BaseException:  # noqa: BLE001 -- report anything on the log, never return to the server loop
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)
