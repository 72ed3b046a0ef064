"""Adapters for what differs between torch releases in the core suites; tests never branch on versions.

- Registered operators: `torch._C._jit_get_all_schemas()` lists every operator TorchScript and
  the mobile bytecode can call (dispatcher operators plus the JIT's own `aten::len.t`,
  `aten::__getitem__.t`, ...), in every row of the matrix (2.3 to 2.15, checked in the rows).
  `torch._C._dispatch_get_all_op_names()` (also in all of them) lists only the dispatcher's
  operators, a subset: it lacks the JIT-registered ones an exported list contains, so it is
  the fallback only where the schema list is missing.
"""
from __future__ import annotations


def operator_name(name: str, overload: str) -> str:
    """The name `export_opnames` writes: `aten::add.Tensor`, or `aten::conv2d` without an overload."""
    return f"{name}.{overload}" if overload else name


def registered_operators(torch) -> set[str]:
    """Every operator the row's torch registers, named as `torch.jit.export_opnames` names them."""
    if hasattr(torch._C, "_jit_get_all_schemas"):
        return {operator_name(s.name, s.overload_name) for s in torch._C._jit_get_all_schemas()}
    return set(torch._C._dispatch_get_all_op_names())
