"""msgpack codec of a genome with its spec: used for `best.msgpack` and for migrants.

Decoding treats every input as hostile: any problem raises GenomeDecodeError
with the reason, never another exception type.
"""

from __future__ import annotations

from typing import Any

import msgpack
import numpy as np

from genome.spec import GenomeSpec, SpecError

FORMAT = "island-genome"
VERSION = 1
MAX_GENOME_BYTES = 64 * 1024 * 1024


class GenomeDecodeError(ValueError):
    """Bytes or a map that do not hold a valid genome."""


def genome_to_map(spec: GenomeSpec, x: np.ndarray) -> dict[str, Any]:
    """The genome as a plain map (the body of a migrant message)."""
    x = np.asarray(x, dtype="<f8")
    if x.shape != (spec.dim,):
        raise ValueError(f"genome vector of shape {x.shape} does not match spec dim {spec.dim}")
    return {"spec": spec.to_dict(), "fingerprint": spec.fingerprint, "x": x.tobytes()}


def genome_from_map(obj: Any) -> tuple[GenomeSpec, np.ndarray]:
    """Validate an untrusted map and return (spec, vector)."""
    if not isinstance(obj, dict):
        raise GenomeDecodeError(f"genome must be a map, got {type(obj).__name__}")
    for key, kind in (("spec", dict), ("fingerprint", str), ("x", bytes)):
        if not isinstance(obj.get(key), kind):
            raise GenomeDecodeError(f"genome field {key!r} missing or not a {kind.__name__}")
    try:
        spec = GenomeSpec.from_dict(obj["spec"])
    except SpecError as exc:
        raise GenomeDecodeError(f"bad genome spec: {exc}") from None
    if obj["fingerprint"] != spec.fingerprint:
        raise GenomeDecodeError("genome fingerprint does not match its spec")
    raw = obj["x"]
    if len(raw) != spec.dim * 8:
        raise GenomeDecodeError(
            f"genome vector has {len(raw)} bytes, spec needs {spec.dim * 8} ({spec.dim} floats)"
        )
    x = np.frombuffer(raw, dtype="<f8").astype(float)
    if not np.all(np.isfinite(x)):
        raise GenomeDecodeError("genome vector holds NaN or infinite values")
    return spec, x


def encode_genome(spec: GenomeSpec, x: np.ndarray, meta: dict[str, Any] | None = None) -> bytes:
    """Bytes of a genome file: format tag, version, spec, vector and free-form metadata."""
    body = {"format": FORMAT, "version": VERSION, **genome_to_map(spec, x), "meta": meta or {}}
    return msgpack.packb(body, use_bin_type=True)


def decode_genome(data: bytes) -> tuple[GenomeSpec, np.ndarray, dict[str, Any]]:
    """Decode genome bytes into (spec, vector, meta), or raise GenomeDecodeError."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise GenomeDecodeError(f"genome must be bytes, got {type(data).__name__}")
    if len(data) > MAX_GENOME_BYTES:
        raise GenomeDecodeError(f"genome of {len(data)} bytes exceeds {MAX_GENOME_BYTES}")
    try:
        obj = msgpack.unpackb(bytes(data), raw=False, strict_map_key=True)
    except Exception as exc:  # msgpack raises many types on hostile input
        raise GenomeDecodeError(f"not a msgpack genome: {type(exc).__name__}: {exc}") from None
    if not isinstance(obj, dict) or obj.get("format") != FORMAT:
        raise GenomeDecodeError(f"not an {FORMAT} file (missing format tag)")
    if obj.get("version") != VERSION:
        raise GenomeDecodeError(f"unsupported genome version {obj.get('version')!r}")
    meta = obj.get("meta", {})
    if not isinstance(meta, dict):
        raise GenomeDecodeError("genome meta must be a map")
    spec, x = genome_from_map(obj)
    return spec, x, meta
