"""NESTML's code generation after validation, as the worker runs it.

:func:`_run_code_generation` is NESTML's ``process()`` without its builder and report directory;
with ``paired_only`` it drops the unpaired twins of paired neurons and renders the synapses in a
forked child (:class:`_SynapseBranch`) while this process renders the neurons. Errors of the child
come back as error entries (see :mod:`.messages`). Without ``optimise`` it runs NESTML's own
``transform_models`` and ``generate_code``, nothing else (the plain path).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
from typing import Any

from ..config import settings
from .messages import _exception_error
from .names import SUFFIX
from .validation import _logged_errors


def _run_code_generation(models: list[Any], codegen_opts: dict[str, Any], paired_only: bool = False,
                         file_of_artifact: dict[str, str] | None = None,
                         optimise: bool = True) -> list[dict[str, Any]]:
    """NESTML's ``process()`` after validation, minus its builder and its report directory.

    ``process()`` builds the code generator without options (so it always starts the NEST version
    detection process), runs the NEST builder (which fails on the wheel's bogus ``nest-config``),
    orders models through a ``set`` and writes its log next to, not into, the target directory.

    With ``paired_only``, a neuron that is paired with synapses is generated only in its paired
    form: NESTML would also analyse and generate the neuron alone (its "twin"), which a caller
    that needs only the pair pays for in ODE analysis, rendering and compiling. The synapses are
    then transformed, analysed and rendered in a forked child beside the neurons (``_SynapseBranch``;
    ``JITNEST_NESTML_SPLIT=0``: all in this process). Returns the errors the child reported.

    Without ``optimise`` (NESTML's plain path, for a NESTML jitnest was not tested with) the models
    go through NESTML's own ``transform_models`` and ``generate_code`` in NESTML's order, twins
    included, all in this process.
    """
    from pynestml.exceptions.code_generator_options_exception import CodeGeneratorOptionsException
    from pynestml.frontend import pynestml_frontend as frontend
    from pynestml.transformers.synapse_post_neuron_transformer import SynapsePostNeuronTransformer

    transformers, unused_by_transformers = frontend.transformers_from_target_name("NEST", options=codegen_opts)
    code_generator = frontend.code_generator_from_target_name("NEST", options=codegen_opts)
    unused_by_generator = code_generator.set_options(codegen_opts)
    for key in codegen_opts:
        if key in unused_by_transformers and key in unused_by_generator:
            raise CodeGeneratorOptionsException(f'The code generator option "{key}" does not exist.')
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 10000))  # as NESTML's command line does: deep generated expressions
    branch: _SynapseBranch | None = None
    if not optimise:  # NESTML's own steps, in its order (the models in input order, not through a set)
        try:
            plain_models, plain_metadata = frontend.transform_models(transformers, models)
            frontend.generate_code(code_generator, plain_models, plain_metadata)
        finally:
            sys.setrecursionlimit(limit)
        return []
    try:
        # frontend.transform_models(), with the twins dropped right after pairing (before ODE analysis)
        metadata: dict[str, dict[str, Any]] = {}
        transformed: list[Any] = list(models)
        remaining = list(transformers)
        while remaining:
            transformer = remaining.pop(0)
            transformed = list(transformer.transform(transformed, metadata))
            if paired_only and isinstance(transformer, SynapsePostNeuronTransformer):
                paired = {pair["neuron"] + SUFFIX for pair in codegen_opts["neuron_synapse_pairs"]}
                transformed = [m for m in transformed if m.get_name() not in paired]
                if settings().nestml_split:
                    branch = _SynapseBranch.fork(transformed, remaining, code_generator, metadata,
                                                 file_of_artifact or {})
                    transformed = branch.models
        frontend.generate_code(code_generator, list(transformed), metadata)
        if branch is not None:
            branch.join(code_generator, metadata)
    finally:
        sys.setrecursionlimit(limit)
        if branch is not None:
            branch.discard()
    return branch.errors if branch is not None else []


class _SynapseBranch:
    """The synapses of a generation, analysed and rendered in a forked child while this process
    does the neurons (after pairing, NESTML treats each model on its own until the module files).

    The child writes into a directory of its own and reports NESTML's errors through a pipe;
    ``join`` moves its model files into the target directory and rewrites the module files for
    all models. It takes about the time of the neurons alone. For the STDP pair the files are
    byte-identical to generating everything in one process (tests/test_nestml_worker.py). In
    general the order of some declarations in a neuron can differ (NESTML orders them through sets
    of AST nodes, which hash by identity, so by allocation history), never what they compute; for
    given inputs the output is the same on every run.
    """

    def __init__(self, models: list[Any], synapses: list[Any], pid: int, reader: int, directory: str) -> None:
        self.models, self.synapses = models, synapses
        self._pid, self._reader, self._directory = pid, reader, directory
        self.errors: list[dict[str, Any]] = []

    @classmethod
    def fork(cls, models: list[Any], transformers: list[Any], code_generator: Any,
             metadata: dict[str, dict[str, Any]], file_of_artifact: dict[str, str]) -> _SynapseBranch:
        """Fork; the child runs ``transformers`` and the code generator on the synapses of
        ``models``; the parent goes on with the returned branch's ``models`` (the neurons)."""
        from pynestml.codegeneration.code_generator_utils import CodeGeneratorUtils
        from pynestml.frontend.frontend_configuration import FrontendConfiguration

        neurons, synapses = CodeGeneratorUtils.get_model_types_from_names(
            models, synapse_models=code_generator.get_option("synapse_models"))
        directory = os.path.join(FrontendConfiguration.get_target_path(), ".synapses")
        os.makedirs(directory)
        reader, writer = os.pipe()
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # the child never returns from here
            os.close(reader)
            cls._generate_in_child(synapses, transformers, code_generator, metadata, directory, writer,
                                   file_of_artifact)
        os.close(writer)
        _set_continuous_post_ports(synapses, metadata)  # NESTML sets them on the neurons from the synapses
        return cls(neurons, synapses, pid, reader, directory)

    @staticmethod
    def _generate_in_child(synapses: list[Any], transformers: list[Any], code_generator: Any,
                           metadata: dict[str, dict[str, Any]], directory: str, writer: int,
                           file_of_artifact: dict[str, str]) -> None:
        status = 1
        try:
            from pynestml.frontend import pynestml_frontend as frontend
            from pynestml.frontend.frontend_configuration import FrontendConfiguration
            from pynestml.utils.logger import Logger

            FrontendConfiguration.target_path = directory
            first = Logger.curr_message or 0
            crash = None
            try:
                for transformer in transformers:
                    synapses = list(transformer.transform(synapses, metadata))
                frontend.generate_code(code_generator, synapses, metadata)
            except (Exception, SystemExit) as exc:  # noqa: BLE001 -- reported to the parent
                crash = exc
            errors = _logged_errors(first, file_of_artifact, None)
            if crash is not None and not errors:
                errors.append(_exception_error(None, crash))
            with os.fdopen(writer, "w") as pipe:
                json.dump(errors, pipe)
            status = 0
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(status)

    def join(self, code_generator: Any, metadata: dict[str, dict[str, Any]]) -> None:
        """Wait for the child; take over its files and errors; write the module files for all models."""
        from pynestml.frontend.frontend_configuration import FrontendConfiguration

        with os.fdopen(self._reader) as pipe:
            answer = pipe.read()
        self._reader = -1
        _, status = os.waitpid(self._pid, 0)
        self._pid = 0
        if status != 0 or not answer:
            raise RuntimeError(f"the process generating the synapses died (wait status {status})")
        self.errors = json.loads(answer)
        if self.errors:
            return
        target = FrontendConfiguration.get_target_path()
        module_files = set(os.listdir(target))
        for name in os.listdir(self._directory):
            if name not in module_files:
                os.replace(os.path.join(self._directory, name), os.path.join(target, name))
        code_generator.generate_module_code(self.models, self.synapses, metadata)

    def discard(self) -> None:
        if self._reader >= 0:
            os.close(self._reader)
            self._reader = -1
        if self._pid:
            os.kill(self._pid, signal.SIGKILL)
            os.waitpid(self._pid, 0)
            self._pid = 0
        shutil.rmtree(self._directory, ignore_errors=True)


def _set_continuous_post_ports(synapses: list[Any], metadata: dict[str, dict[str, Any]]) -> None:
    """What NESTCodeGenerator.generate_code does for each synapse before rendering its neuron."""
    from pynestml.frontend.frontend_configuration import FrontendConfiguration
    from pynestml.utils.ast_utils import ASTUtils

    pairs = FrontendConfiguration.get_codegen_opts().get("neuron_synapse_pairs")
    for synapse in synapses:
        if pairs is not None and "paired_neuron" in metadata[synapse.name]:
            neuron = metadata[synapse.name]["paired_neuron"]
            ports = ASTUtils.get_post_ports_of_neuron_synapse_pair(neuron, synapse, pairs)
            metadata[neuron.name]["continuous_post_ports"] = [p for p in ports if isinstance(p, (tuple, list))]
