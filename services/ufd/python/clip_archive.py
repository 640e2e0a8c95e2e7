"""Read CLIP image-tower weights without executing anything from the file.

OpenAI publishes ViT-L-14.pt as a TorchScript archive (torch.jit.save of a traced model): a zip
with <root>/data.pkl (the pickled module tree), <root>/data/<key> (raw tensor storages),
<root>/code/ (TorchScript source) and <root>/constants.pkl. torch.load(weights_only=True) does
not protect against it: it sees constants.pkl and dispatches to torch.jit.load, which compiles
and runs the archive's code. So we never hand such a file to torch:

  * data.pkl is unpickled by a restricted unpickler whose find_class() only knows tensor
    rebuilding (torch._utils._rebuild_tensor_v2), storage type names (torch.HalfStorage, ...),
    collections.OrderedDict and inert stand-ins for TorchScript objects (__torch__.*); any other
    global is refused, so no callable from the file can run;
  * a tensor becomes a TensorRef (storage key, dtype, offset, size, stride); only the refs we
    keep (the `visual.*` ones) are materialised from <root>/data/<key>, with bounds checks;
  * the module tree is walked to give state_dict-style names (visual.conv1.weight, ...).

A plain state_dict checkpoint (torch.save of a dict of tensors; full CLIP keys `visual.*` or bare
image-tower keys) is read with torch.load(weights_only=True) instead.
"""
from __future__ import annotations

import io
import pickle
import re
import zipfile
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import torch


class ArchiveError(Exception):
    pass


_STORAGE_DTYPES = {
    "HalfStorage": torch.float16,
    "FloatStorage": torch.float32,
    "DoubleStorage": torch.float64,
    "BFloat16Storage": torch.bfloat16,
    "LongStorage": torch.int64,
    "IntStorage": torch.int32,
    "ShortStorage": torch.int16,
    "CharStorage": torch.int8,
    "ByteStorage": torch.uint8,
    "BoolStorage": torch.bool,
}


@dataclass(frozen=True)
class StorageType:
    name: str

    @property
    def dtype(self) -> torch.dtype:
        return _STORAGE_DTYPES[self.name]


@dataclass(frozen=True)
class StorageRef:
    key: str
    dtype: torch.dtype
    numel: int


@dataclass(frozen=True)
class TensorRef:
    storage: StorageRef
    offset: int
    size: tuple[int, ...]
    stride: tuple[int, ...]


class ScriptObject:
    """Inert stand-in for a pickled TorchScript object (a module): keeps its attribute dict."""

    qualified_name = "?"

    def __setstate__(self, state) -> None:
        if not isinstance(state, dict):
            raise ArchiveError(f"{self.qualified_name}: object state is {type(state).__name__}, expected a dict")
        self.state = state


def _int_tuple(value, what: str) -> tuple[int, ...]:
    if not isinstance(value, (tuple, list)) or not all(isinstance(v, int) and v >= 0 for v in value):
        raise ArchiveError(f"bad tensor {what}: {value!r}")
    return tuple(value)


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False, backward_hooks=None, metadata=None):
    """Stand-in for torch._utils._rebuild_tensor_v2: records where the tensor lives."""
    if not isinstance(storage, StorageRef):
        raise ArchiveError("tensor without a storage reference")
    if not isinstance(storage_offset, int) or storage_offset < 0:
        raise ArchiveError(f"bad storage offset {storage_offset!r}")
    size_t, stride_t = _int_tuple(size, "size"), _int_tuple(stride, "stride")
    if len(size_t) != len(stride_t):
        raise ArchiveError(f"size {size_t} and stride {stride_t} differ in rank")
    if all(s > 0 for s in size_t):
        last = storage_offset + sum((n - 1) * st for n, st in zip(size_t, stride_t))
        if last >= storage.numel:
            raise ArchiveError(f"tensor {size_t} at offset {storage_offset} overruns its storage of {storage.numel}")
    return TensorRef(storage, storage_offset, size_t, stride_t)


def _identity_list(values):
    if not isinstance(values, list):
        raise ArchiveError("expected a list")
    return values


def _restore_type_tag(value, type_str):
    return value


_SCRIPT_CLASSES: dict[str, type] = {}


def _script_class(module: str, name: str) -> type:
    qualified = f"{module}.{name}"
    cls = _SCRIPT_CLASSES.get(qualified)
    if cls is None:
        cls = type("ScriptObject_" + re.sub(r"\W", "_", name), (ScriptObject,), {"qualified_name": qualified})
        _SCRIPT_CLASSES[qualified] = cls
    return cls


class _RestrictedUnpickler(pickle.Unpickler):
    """Only our own inert callables can be reached from the pickle stream."""

    def find_class(self, module: str, name: str):
        if module == "torch._utils" and name == "_rebuild_tensor_v2":
            return _rebuild_tensor_v2
        if module == "torch" and name in _STORAGE_DTYPES:
            return StorageType(name)
        if module == "collections" and name == "OrderedDict":
            return OrderedDict
        if module == "torch.jit._pickle" and name in ("build_intlist", "build_doublelist", "build_boollist", "build_tensorlist"):
            return _identity_list
        if module == "torch.jit._pickle" and name == "restore_type_tag":
            return _restore_type_tag
        if module == "__torch__" or module.startswith("__torch__."):
            return _script_class(module, name)
        raise ArchiveError(f"refusing to load global {module}.{name} from the archive (only tensors are read)")

    def persistent_load(self, pid):
        # TorchScript and torch.save zips: ("storage", <storage type>, key, location, numel)
        if (
            not isinstance(pid, tuple) or len(pid) != 5 or pid[0] != "storage"
            or not isinstance(pid[1], StorageType) or not isinstance(pid[2], str)
            or not isinstance(pid[4], int) or pid[4] < 0
        ):
            raise ArchiveError(f"unsupported persistent id {pid!r}")
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", pid[2]) or ".." in pid[2]:
            raise ArchiveError(f"bad storage key {pid[2]!r}")
        return StorageRef(pid[2], pid[1].dtype, pid[4])


def _walk(value, prefix: str, out: dict[str, TensorRef], depth: int = 0) -> None:
    if depth > 64:
        raise ArchiveError("module tree nested too deeply")
    if isinstance(value, ScriptObject):
        state = getattr(value, "state", None)
        if state is None:
            return
        for name, child in state.items():
            if isinstance(name, str):
                _walk(child, f"{prefix}{name}.", out, depth + 1)
    elif isinstance(value, TensorRef):
        out[prefix[:-1]] = value
    elif isinstance(value, dict):  # a state_dict inside a zip written by torch.save
        for name, child in value.items():
            if isinstance(name, str):
                _walk(child, f"{prefix}{name}.", out, depth + 1)


def is_torchscript_archive(path: Path) -> bool:
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as zf:
        return any(re.fullmatch(r"[^/]+/constants\.pkl", n) for n in zf.namelist())


def _archive_root(zf: zipfile.ZipFile) -> str:
    roots = sorted({n.split("/", 1)[0] for n in zf.namelist() if re.fullmatch(r"[^/]+/data\.pkl", n)})
    if len(roots) != 1:
        raise ArchiveError(f"expected exactly one <root>/data.pkl in the archive, found {len(roots)}")
    return roots[0]


def read_torchscript_tensors(path: Path, keep=lambda name: True) -> dict[str, torch.Tensor]:
    """Tensors of a TorchScript archive by state_dict name, only those `keep(name)` accepts,
    in their stored dtype. Nothing from the archive is executed."""
    with zipfile.ZipFile(path) as zf:
        root = _archive_root(zf)
        names = set(zf.namelist())
        if f"{root}/byteorder" in names and zf.read(f"{root}/byteorder").strip() != b"little":
            raise ArchiveError("big-endian archives are not supported")
        try:
            tree = _RestrictedUnpickler(io.BytesIO(zf.read(f"{root}/data.pkl"))).load()
        except ArchiveError:
            raise
        except Exception as err:  # noqa: BLE001 - malformed pickles surface as one error type
            raise ArchiveError(f"cannot read {root}/data.pkl: {type(err).__name__}: {err}") from err
        refs: dict[str, TensorRef] = {}
        _walk(tree, "", refs)
        out: dict[str, torch.Tensor] = {}
        storages: dict[str, torch.Tensor] = {}
        for name, ref in refs.items():
            if not keep(name):
                continue
            st = ref.storage
            flat = storages.get(st.key)
            if flat is None:
                entry = f"{root}/data/{st.key}"
                if entry not in names:
                    raise ArchiveError(f"{name}: storage {entry} is missing")
                raw = bytearray(zf.read(entry))
                itemsize = torch.empty((), dtype=st.dtype).element_size()
                if len(raw) < st.numel * itemsize:
                    raise ArchiveError(f"{name}: storage {entry} holds {len(raw)} bytes, {st.numel * itemsize} needed")
                flat = torch.frombuffer(raw, dtype=st.dtype, count=st.numel) if st.numel else torch.empty(0, dtype=st.dtype)
                storages[st.key] = flat
            out[name] = flat.as_strided(ref.size, ref.stride, ref.offset).clone()
        return out


def _unwrap_state_dict(obj) -> dict:
    for wrapper in ("state_dict", "model"):
        if isinstance(obj, dict) and isinstance(obj.get(wrapper), dict):
            obj = obj[wrapper]
    if not isinstance(obj, dict):
        raise ArchiveError("the checkpoint does not hold a state_dict")
    obj = {k: v for k, v in obj.items() if isinstance(v, torch.Tensor)}
    if obj and all(k.startswith("module.") for k in obj):
        obj = {k[len("module."):]: v for k, v in obj.items()}
    return obj


def read_clip_visual(path: Path) -> tuple[dict[str, torch.Tensor], str]:
    """CLIP image-tower tensors keyed without the `visual.` prefix, upcast to float32 (exact for
    fp16), and the format read: "torchscript" or "state_dict"."""
    path = Path(path)
    if is_torchscript_archive(path):
        raw = read_torchscript_tensors(path, keep=lambda n: n.startswith("visual."))
        fmt = "torchscript"
        if not raw:
            raise ArchiveError(f"{path}: TorchScript archive without visual.* tensors (not a CLIP model?)")
    else:
        try:
            obj = torch.load(str(path), map_location="cpu", weights_only=True)
        except Exception as err:  # noqa: BLE001
            raise ArchiveError(f"cannot load {path} as a weights-only checkpoint: {err}") from err
        raw = _unwrap_state_dict(obj)
        fmt = "state_dict"
        if any(k.startswith("visual.") for k in raw):
            raw = {k: v for k, v in raw.items() if k.startswith("visual.")}
        else:
            raw = {"visual." + k: v for k, v in raw.items()}
    visual = {}
    for name, tensor in raw.items():
        if not tensor.is_floating_point():
            raise ArchiveError(f"{name} has dtype {tensor.dtype}, expected floating point")
        visual[name[len("visual."):]] = tensor.to(torch.float32)
    return visual, fmt
