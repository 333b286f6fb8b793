"""jitnest's door to NESTML: the shared fork server, and what happens when it is gone.

Real NESTML throughout. Each test runs its scripts in fresh processes with a cache directory of its
own, so that it gets a server of its own (a server is shared by processes with the same settings).
"""

from __future__ import annotations

import sys
from pathlib import Path

from conftest import last_json, new_tiny_source, run_python

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
import json, time
from jitnest.generate import nestml_client as adapter
{_SERVER_PID}
adapter._SERVER_IDLE_SECONDS = 1.0
assert adapter.parse([{str(IAF_PSC_EXP)!r}]).ok
first = server_pid()
time.sleep(3)
gone = not adapter._server.running() and not adapter._server.socket_path.exists()
ok = adapter.parse([{str(IAF_PSC_EXP)!r}]).ok
print(json.dumps({{"gone": gone, "ok": ok, "replaced": server_pid() != first}}))
""", env=_own_cache(tmp_path))
    assert last_json(completed) == {"gone": True, "ok": True, "replaced": True}, completed.stderr[-3000:]


def test_server_outlives_the_script_and_serves_the_next_one(tmp_path) -> None:
    """Running a script again (or another MPI rank, another sweep process) does not import NESTML
    again: the server of the first run answers, until it has been idle for a minute."""
    script = f"""
import json, sys
import jitnest as nest
from jitnest.generate import nestml_client as adapter
{_SERVER_PID}
nest.add_model_source(sys.argv[1])
nest.Create(sys.argv[2], 2)
nest.Simulate(1.0)
print(json.dumps({{"pid": server_pid()}}))
"""
    env = _own_cache(tmp_path)
    first = last_json(run_python(script, new_tiny_source("outlive_a_neuron"), "outlive_a_neuron", env=env))
    second = last_json(run_python(script, new_tiny_source("outlive_b_neuron"), "outlive_b_neuron", env=env))
    assert first["pid"] == second["pid"]


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
