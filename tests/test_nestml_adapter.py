"""jitnest's door to NESTML: the fork server it starts, and what happens when that server is gone.

Real NESTML throughout; each test runs in a process of its own so that it starts its own server.
"""

from __future__ import annotations

import sys
from pathlib import Path

from conftest import last_json, new_tiny_source, run_python

IAF_PSC_EXP = Path(sys.prefix) / "models" / "neurons" / "iaf_psc_exp_neuron.nestml"


def test_requests_survive_a_killed_server() -> None:
    """A server that dies (OOM killer, a stray kill) costs speed, never an answer."""
    completed = run_python(f"""
import json, os, signal
from jitnest import nestml_adapter as adapter
first = adapter.parse([{str(IAF_PSC_EXP)!r}])
server = adapter._server
os.kill(server._process.pid, signal.SIGKILL)
server._process.wait()
second = adapter.parse([{str(IAF_PSC_EXP)!r}])
print(json.dumps({{"first": first.ok, "second": second.ok, "server_pid": server._process.pid,
                   "new_server": adapter._server is not server}}))
""")
    result = last_json(completed)
    assert result["first"] and result["second"], completed.stderr[-3000:]
    assert result["new_server"]


def test_forked_process_does_not_stop_the_parents_server() -> None:
    """Parameter sweeps fork after jitnest started its server; a child's exit must leave it alone."""
    completed = run_python(f"""
import json, os
from jitnest import nestml_adapter as adapter
model = {str(IAF_PSC_EXP)!r}
assert adapter.parse([model]).ok
server = adapter._server
pid = os.fork()
if pid == 0:
    ok = adapter.parse([model]).ok  # the child gets a server of its own
    os._exit(0 if ok and adapter._server is not server else 1)
_, status = os.waitpid(pid, 0)
print(json.dumps({{"child_status": status, "parent_ok": adapter.parse([model]).ok,
                   "same_server": adapter._server is server, "alive": server.usable()}}))
""")
    result = last_json(completed)
    expected = {"child_status": 0, "parent_ok": True, "same_server": True, "alive": True}
    assert result == expected, completed.stderr[-3000:]


def test_idle_server_exits_and_is_replaced() -> None:
    """An idle server frees its memory; the next request starts a new one and gets its answer."""
    completed = run_python(f"""
import json, time
from jitnest import nestml_adapter as adapter
adapter._SERVER_IDLE_SECONDS = 1.0
assert adapter.parse([{str(IAF_PSC_EXP)!r}]).ok
first = adapter._server
time.sleep(3)
exited = first._process.poll() is not None
ok = adapter.parse([{str(IAF_PSC_EXP)!r}]).ok
print(json.dumps({{"exited": exited, "ok": ok, "replaced": adapter._server is not first,
                   "old_directory_removed": not first._directory.exists()}}))
""")
    assert last_json(completed) == {"exited": True, "ok": True, "replaced": True, "old_directory_removed": True}


def test_server_stops_once_the_network_is_built() -> None:
    """After the build NESTML is rarely needed; on a cold cache every MPI rank would otherwise hold
    a server until it idles out."""
    source = new_tiny_source("server_stop_neuron")  # never parsed before: the server must start
    completed = run_python(f"""
import json
import jitnest as nest
from jitnest import nestml_adapter as adapter
nest.add_model_source({source!r})
nest.Create("server_stop_neuron", 2)
server = adapter._server
started = server is not None and server.usable()
nest.Simulate(1.0)
stopped = adapter._server is None
server._process.wait(timeout=30)  # told to exit, not waited for by the build
print(json.dumps({{"started": started, "stopped": stopped, "exited": server._process.returncode == 0}}))
""")
    assert last_json(completed) == {"started": True, "stopped": True, "exited": True}


def test_adding_a_new_model_starts_the_server_before_any_parse() -> None:
    """A script that adds a never-parsed model pays the server's imports while it sets up, not at
    Create. (A model parsed before starts nothing: test_cache's warm run sees no NESTML process.)"""
    source = new_tiny_source("prestart_neuron")
    completed = run_python(f"""
import json, time
import jitnest as nest
from jitnest import nestml_adapter as adapter
assert adapter._server is None
nest.add_model_source({source!r})
deadline = time.monotonic() + 60
while not (adapter._server is not None and adapter._server.usable()) and time.monotonic() < deadline:
    time.sleep(0.05)
print(json.dumps({{"running": adapter._server is not None and adapter._server.usable()}}))
""")
    assert last_json(completed) == {"running": True}
