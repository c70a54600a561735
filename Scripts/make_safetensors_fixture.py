#!/usr/bin/env python3
"""Safetensors interoperability fixtures for Tests/NNTests (run with /root/bench-venv/bin/python).

Default mode writes, in Tests/NNTests/Fixtures/:
  python_written.safetensors      F32, F16 and BF16 tensors of several shapes (a scalar, an empty tensor,
                                  special values), with metadata, written by Python's safetensors library;
  python_written_expected.json    for each tensor: dtype, shape and the exact float32 bit patterns the
                                  values convert to (`t.float().view(torch.int32)`), plus the metadata;
  python_written_f32.safetensors  F32 only with one metadata key: the Swift writer must reproduce it
                                  byte for byte (same ordering, JSON and padding as Python's library).

`--check FILE` verifies a file written by the Swift test `SafeTensorsTests.testWriteSwiftFileForPythonCheck`
(run it with T2I_SWIFT_SAFETENSORS_OUT=FILE): Python's safetensors loads it, every value equals the formula
below, and safetensors.torch.save of the same tensors gives the same header and data bytes.
"""
import argparse
import json
import os
import struct
import sys

import torch
from safetensors import safe_open
from safetensors.torch import save, save_file

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "Tests", "NNTests", "Fixtures")


def python_tensors():
    g = torch.Generator().manual_seed(1234)
    return {
        "f32_matrix": torch.randn(2, 3, generator=g, dtype=torch.float32),
        "f32_scalar": torch.tensor(3.25, dtype=torch.float32),
        "f32_empty": torch.zeros(0, 3, dtype=torch.float32),
        "down_blocks.0.resnets.0.conv1.weight": torch.randn(2, 2, 3, 3, generator=g),
        # Normal, subnormal (2**-24, 2**-20), signed zero, max finite, infinities and NaN in half precision.
        "f16_special": torch.tensor([[1.0, -2.5], [2.0 ** -24, 2.0 ** -20], [-0.0, 65504.0],
                                     [float("inf"), float("-inf")], [float("nan"), 0.333]], dtype=torch.float16),
        "f16_4d": torch.randn(1, 2, 2, 2, generator=g).to(torch.float16),
        "bf16_vec": torch.tensor([1.0, -3.140625, 1e-30, 3e38, float("nan")], dtype=torch.bfloat16),
        "bf16_scalar": torch.tensor(-0.5, dtype=torch.bfloat16),
    }


PYTHON_METADATA = {"format": "pt", "note": "fixture \u2713 \"quoted\" /slash"}

F32_ONLY = {
    # Insertion order differs from the sorted order Python's library writes in.
    "zeta": torch.arange(6, dtype=torch.float32).reshape(2, 3) * 0.5 - 1,
    "Alpha": torch.tensor([1.5], dtype=torch.float32),
    "a.weight": torch.arange(4, dtype=torch.float32).reshape(2, 2) / 3,
    "a.bias": torch.tensor(-7.0, dtype=torch.float32),
    "_empty": torch.zeros(0, dtype=torch.float32),
}
F32_METADATA = {"written_by": "make_safetensors_fixture.py"}


def swift_expected():
    """The tensors the Swift test writes (keep in sync with SafeTensorsTests.swiftWrittenTensors)."""
    return {
        "ramp": ((torch.arange(24, dtype=torch.float32) - 7) * 0.375).reshape(2, 3, 4),
        "scalar": torch.tensor(-2.5, dtype=torch.float32),
        "empty": torch.zeros(0, 4, dtype=torch.float32),
        "conv.weight": (1.0 / torch.arange(1, 13, dtype=torch.float32)).reshape(3, 1, 2, 2),
    }


SWIFT_METADATA = {"written_by": "t2ialign", "note": "\u00fcn\u00efcode \"quoted\" /slash\n"}


def bits(t):
    return t.float().contiguous().view(torch.int32).flatten().tolist()


def write_fixtures():
    os.makedirs(FIXTURES, exist_ok=True)
    tensors = python_tensors()
    save_file(tensors, os.path.join(FIXTURES, "python_written.safetensors"), metadata=PYTHON_METADATA)
    expected = {
        "metadata": PYTHON_METADATA,
        "tensors": {name: {"dtype": str(t.dtype).replace("torch.", ""), "shape": list(t.shape),
                           # uint32 bit patterns of the float32 values (int32 view, made unsigned).
                           "float32_bits": [b & 0xFFFFFFFF for b in bits(t)]}
                    for name, t in tensors.items()},
    }
    with open(os.path.join(FIXTURES, "python_written_expected.json"), "w") as f:
        json.dump(expected, f, indent=1, sort_keys=True)
        f.write("\n")
    save_file(F32_ONLY, os.path.join(FIXTURES, "python_written_f32.safetensors"), metadata=F32_METADATA)
    print("wrote fixtures to", os.path.normpath(FIXTURES))


def split(raw):
    (n,) = struct.unpack("<Q", raw[:8])
    return n, raw[8:8 + n], raw[8 + n:]


def check(path):
    failures = []
    expected = swift_expected()
    with safe_open(path, framework="pt") as f:
        meta = f.metadata()
        names = set(f.keys())
        if names != set(expected):
            failures.append(f"tensor names {sorted(names)} != {sorted(expected)}")
        for name in sorted(names & set(expected)):
            t = f.get_tensor(name)
            e = expected[name]
            if t.dtype != torch.float32 or list(t.shape) != list(e.shape):
                failures.append(f"{name}: {t.dtype} {list(t.shape)} != float32 {list(e.shape)}")
            elif not torch.equal(t.view(torch.int32), e.view(torch.int32)):
                failures.append(f"{name}: values differ: {t.flatten()[:8]} vs {e.flatten()[:8]}")
    if meta != SWIFT_METADATA:
        failures.append(f"metadata {meta!r} != {SWIFT_METADATA!r}")
    raw = open(path, "rb").read()
    ref = save(expected, metadata=SWIFT_METADATA)
    n, header, data = split(raw)
    rn, rheader, rdata = split(ref)
    # Python orders metadata keys by hash, so compare the header as JSON; lengths and padding must agree.
    if n != rn or n % 8 != 0:
        failures.append(f"header length {n} != Python's {rn} (must be a multiple of 8)")
    if json.loads(header) != json.loads(rheader):
        failures.append(f"header {header!r} != Python's {rheader!r}")
    if header.rstrip(b" ") != header[:len(header.rstrip(b" "))] or len(header) - len(header.rstrip(b" ")) > 7:
        failures.append("header padding is not 0-7 spaces")
    if data != rdata:
        failures.append("data section differs from Python's")
    for msg in failures:
        print("FAIL:", msg)
    if failures:
        sys.exit(1)
    print(f"OK: {path} loads in Python safetensors {__import__('safetensors').__version__}; "
          f"{len(expected)} tensors and metadata match; header ({n} bytes) and data ({len(data)} bytes) "
          f"equal safetensors.torch.save of the same tensors")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", metavar="FILE", help="verify a Swift-written file instead of writing fixtures")
    args = ap.parse_args()
    if args.check:
        check(args.check)
    else:
        write_fixtures()
