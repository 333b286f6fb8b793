"""jitnest's door to NESTML: the shared fork server, what happens when it is gone or stuck, and
the time limit of NESTML requests.

Real NESTML throughout. Each test runs its scripts in fresh processes with a cache directory of its
own, so that it gets a server of its own (a server is shared by processes with the same settings).
No test waits a fixed time for something to happen: each waits for the event (a process ended, a
file appeared) with a generous deadline, so a loaded machine makes them slower, not flaky.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import pytest
from conftest import last_json, new_tiny_source, run_python

# Servers started, killed and replaced in fresh processes: seconds each.
pytestmark = pytest.mark.slow

IAF_PSC_EXP = Path(sys.prefix) / "models" / "neurons" / "iaf_psc_exp_neuron.nestml"

_SERVER_PID = """
def server_pid():
    return int(adapter._server.pid_path.read_text())
"""


def _own_cache(tmp_path: Path) -> dict:
    return {"JITNEST_CACHE_DIR": str(tmp_path / "cache")}


def test_requests_survive_a_killed_server(tmp_path) -> None:
    """A server that dies (OOM killer, a stray kill) costs speed, never an answer."""
    completed = run_python(f"""
import json, os, signal, time
from jitnest.generate import nestml_client as adapter
{_SERVER_PID}
first = adapter.parse([{str(IAF_PSC_EXP)!r}])
killed = server_pid()
os.kill(killed, signal.SIGKILL)
second = adapter.parse([{str(IAF_PSC_EXP)!r}])
print(json.dumps({{"first": first.ok, "second": second.ok, "new_server": server_pid() != killed,
                   "running": adapter._server.running()}}))
""", env=_own_cache(tmp_path))
    result = last_json(completed)
    assert result == {"first": True, "second": True, "new_server": True, "running": True}, completed.stderr[-3000:]


def test_forked_process_shares_the_server(tmp_path) -> None:
    """Parameter sweeps fork after jitnest used the server; parent and child both use it."""
    completed = run_python(f"""
import json, os
from jitnest.generate import nestml_client as adapter
{_SERVER_PID}
model = {str(IAF_PSC_EXP)!r}
assert adapter.parse([model]).ok
before = server_pid()
pid = os.fork()
if pid == 0:
    ok = adapter.parse([model]).ok
    os._exit(0 if ok and server_pid() == before else 1)
_, status = os.waitpid(pid, 0)
print(json.dumps({{"child_status": status, "parent_ok": adapter.parse([model]).ok,
                   "same_server": server_pid() == before, "alive": adapter._server.running()}}))
""", env=_own_cache(tmp_path))
    result = last_json(completed)
    expected = {"child_status": 0, "parent_ok": True, "same_server": True, "alive": True}
    assert result == expected, completed.stderr[-3000:]


def test_idle_server_exits_and_is_replaced(tmp_path) -> None:
    """An idle server frees its memory and its files; the next request starts a new one."""
    completed = run_python(f"""
import json, psutil
from jitnest.generate import nestml_client as adapter
adapter._SERVER_IDLE_SECONDS = 1.0
assert adapter.parse([{str(IAF_PSC_EXP)!r}]).ok
# this process started the server, so it stays our child (a zombie at worst) until we reap it:
# its PID is known even if it has idled out already
(server,) = psutil.Process().children()
server.wait(timeout=120)  # it exits by itself, having been idle
gone = not adapter._server.running() and not adapter._server.socket_path.exists()
ok = adapter.parse([{str(IAF_PSC_EXP)!r}]).ok
(replacement,) = psutil.Process().children()
print(json.dumps({{"gone": gone, "ok": ok, "replaced": replacement.pid != server.pid}}))
""", env=_own_cache(tmp_path))
    assert last_json(completed) == {"gone": True, "ok": True, "replaced": True}, completed.stderr[-3000:]


def test_a_server_that_takes_no_requests_is_replaced(tmp_path) -> None:
    """A server that is alive and whose socket accepts connections, but that takes no request
    (stopped here; also a server killed a moment ago whose exit is pending) is replaced, instead of
    a request waiting for it forever."""
    completed = run_python(f"""
import json, os, signal
from jitnest.generate import nestml_client as adapter
{_SERVER_PID}
adapter._PING_SECONDS = 2.0
assert adapter.parse([{str(IAF_PSC_EXP)!r}]).ok
stuck = server_pid()
os.kill(stuck, signal.SIGSTOP)
try:
    ok = adapter.parse([{str(IAF_PSC_EXP)!r}]).ok
    print(json.dumps({{"ok": ok, "replaced": server_pid() != stuck, "running": adapter._server.running()}}))
finally:
    os.kill(stuck, signal.SIGKILL)
""", env=_own_cache(tmp_path), timeout=300)
    assert last_json(completed) == {"ok": True, "replaced": True, "running": True}, completed.stderr[-3000:]


def test_server_outlives_the_script_and_serves_the_next_one(tmp_path) -> None:
    """Running a script again (or another MPI rank, another sweep process) does not import NESTML
    again: the server of the first run answers, until it has been idle for a minute."""
    # The scripts only parse (no build: a minute-long compile on a loaded machine would let the server
    # idle out between them), and the first one starts the server with a longer idle time.
    script = f"""
import json, sys
import jitnest as nest
from jitnest.generate import nestml_client as adapter
{_SERVER_PID}
adapter._SERVER_IDLE_SECONDS = 600.0
nest.add_model_source(sys.argv[1])
nest.Create(sys.argv[2], 2)
print(json.dumps({{"pid": server_pid()}}))
"""
    env = _own_cache(tmp_path)
    first = last_json(run_python(script, new_tiny_source("outlive_a_neuron"), "outlive_a_neuron", env=env))
    try:
        second = last_json(run_python(script, new_tiny_source("outlive_b_neuron"), "outlive_b_neuron", env=env))
        assert first["pid"] == second["pid"]
    finally:
        os.kill(first["pid"], signal.SIGTERM)  # not left running for ten minutes


def test_adding_a_new_model_starts_the_server_before_any_parse(tmp_path) -> None:
    """A script that adds a never-parsed model pays the server's imports while it sets up, not at
    Create. (A model parsed before starts nothing: test_cache's warm run sees no NESTML process.)"""
    source = new_tiny_source("prestart_neuron")
    completed = run_python(f"""
import json, time
import jitnest as nest
from jitnest.generate import nestml_client as adapter
assert adapter._server is None
nest.add_model_source({source!r})
deadline = time.monotonic() + 60
while not (adapter._server is not None and adapter._server.running()) and time.monotonic() < deadline:
    time.sleep(0.05)
print(json.dumps({{"running": adapter._server is not None and adapter._server.running()}}))
""", env=_own_cache(tmp_path))
    assert last_json(completed) == {"running": True}


def test_terminated_server_removes_its_socket(tmp_path) -> None:
    """SIGTERM (a system shutdown, benchmarks/build_speed.py) ends the server cleanly."""
    completed = run_python(f"""
import json, os, signal, time
from jitnest.generate import nestml_client as adapter
{_SERVER_PID}
assert adapter.parse([{str(IAF_PSC_EXP)!r}]).ok
os.kill(server_pid(), signal.SIGTERM)
deadline = time.monotonic() + 30
while adapter._server.socket_path.exists() and time.monotonic() < deadline:
    time.sleep(0.05)
print(json.dumps({{"socket": adapter._server.socket_path.exists(), "pid_file": adapter._server.pid_path.exists(),
                   "running": adapter._server.running()}}))
""", env=_own_cache(tmp_path))
    assert last_json(completed) == {"socket": False, "pid_file": False, "running": False}


STDP = IAF_PSC_EXP.parents[1] / "synapses" / "stdp_synapse.nestml"
_GENERATE_THE_STDP_PAIR = f"""
import json, sys, tempfile, time, psutil
from pathlib import Path
from jitnest.generate import nestml_client as adapter
pairs = [{{"neuron": "iaf_psc_exp_neuron", "synapses": {{"stdp_synapse": {{"post_ports": ["post_spikes"]}}}}}}]
started = time.monotonic()
try:
    adapter.generate([{str(IAF_PSC_EXP)!r}, {str(STDP)!r}], Path(tempfile.mkdtemp()) / "out", "pairmodule", pairs,
                     {{"stdp_synapse": "w"}}, {{"stdp_synapse": "d"}}, "v3.10.0", paired_only=True)
    error = None
except adapter.WorkerTimeout as timeout:
    error = str(timeout)
seconds = time.monotonic() - started
server = adapter._server
server_pid = int(server.pid_path.read_text()) if server is not None and server.running() else None
# what is left of the request: any process below this one (the server, our child, aside) or below the server
workers = [p for p in psutil.Process().children(recursive=True) if p.pid != server_pid]
left = [p.pid for p in workers if p.status() != psutil.STATUS_ZOMBIE]
print(json.dumps({{"error": error, "seconds": seconds, "left": left,
                   "server_answers": server._answers() if server is not None else None}}))
"""


def test_a_nestml_request_over_its_time_limit_is_killed_with_its_processes(tmp_path) -> None:
    """Generating the STDP pair takes seconds; with a limit of 0.5 s the request's process (the
    server's child) and its own child (the synapses' generation) are killed, the server goes on."""
    completed = run_python(_GENERATE_THE_STDP_PAIR, env={**_own_cache(tmp_path), "JITNEST_NESTML_TIMEOUT": "0.5"})
    result = last_json(completed)
    assert result["error"] and "JITNEST_NESTML_TIMEOUT" in result["error"] and "0.5 s" in result["error"], result
    assert result["left"] == [], "no process of the request survives"
    assert result["server_answers"] is True


def test_a_nestml_process_of_its_own_over_its_time_limit_is_killed(tmp_path) -> None:
    """Without a server (JITNEST_NESTML_SERVER=0) the worker process of a request is killed too, and
    a parse at Create that runs out of time is a BuildError at the user's line."""
    env = {**_own_cache(tmp_path), "JITNEST_NESTML_TIMEOUT": "0.5", "JITNEST_NESTML_SERVER": "0"}
    result = last_json(run_python(_GENERATE_THE_STDP_PAIR, env=env))
    assert result["error"] and "JITNEST_NESTML_TIMEOUT" in result["error"], result
    assert result["left"] == []
    completed = run_python(f"""
import jitnest as nest
from jitnest.errors import BuildError
nest.add_model_source({new_tiny_source("slow_parse_neuron")!r})
try:
    nest.Create("slow_parse_neuron", 2)
except BuildError as error:
    print(error)
""", env={**env, "JITNEST_NESTML_TIMEOUT": "0.05"})
    assert "JITNEST_NESTML_TIMEOUT" in completed.stdout and "slow_parse_neuron" in completed.stdout
    assert 'line 6' in completed.stdout, completed.stdout  # the user's Create
