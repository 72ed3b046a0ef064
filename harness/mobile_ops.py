"""What a custom mobile build keeps, and how its operator list changes from row to row.

The mobile suite records, per row, the property `mobile_ops`: for each scripted model the
operators `torch.jit.export_opnames` lists for a custom build (`aten::add.Tensor`), how many
that is (`kept`) and how many operators the row's torch registers (`registered`). Between two
rows an operator list can gain operators, lose them, or keep an operator under another overload
(`aten::add.Tensor` -> `aten::add.Scalar`): the last is what breaks a custom build that selected
the old name, so it is reported apart from plain appearances and disappearances.
"""
from __future__ import annotations

PROPERTY = "mobile_ops"


def split(op: str) -> tuple[str, str]:
    """`aten::add.Tensor` -> (`aten::add`, `Tensor`); no overload -> (`aten::conv2d`, ``)."""
    namespace, _, rest = op.rpartition("::")
    name, _, overload = rest.partition(".")
    return (f"{namespace}::{name}" if namespace else name), overload


def diff(before: list[str], after: list[str]) -> dict[str, object]:
    """Operators that `appeared`, `disappeared` and whose overloads `changed` from `before` to `after`.

    `changed` maps an operator name present on both sides whose overload set differs to
    `{"from": [...], "to": [...]}` (full names); those names are not repeated in the other two lists.
    """
    old, new = set(before), set(after)
    gone, came = old - new, new - old
    by_name = lambda ops: {split(op)[0] for op in ops}  # noqa: E731
    changed = {}
    for name in sorted(by_name(gone) & by_name(came)):
        changed[name] = {"from": sorted(op for op in gone if split(op)[0] == name),
                         "to": sorted(op for op in came if split(op)[0] == name)}
    return {"appeared": sorted(op for op in came if split(op)[0] not in changed),
            "disappeared": sorted(op for op in gone if split(op)[0] not in changed),
            "changed": changed}


def row_changes(rows: list[dict]) -> list[dict]:
    """For each model, the difference of its operator list between consecutive rows that recorded it.

    Each entry: `model`, `from` and `to` (row names), `kept` (the two counts), `registered` (the two
    counts), `appeared`, `disappeared`, `changed` (see `diff`) and `same` (no operator changed).
    Rows without the property (the check did not run or failed before recording) are passed over.
    """
    lists: dict[str, list[tuple[str, dict]]] = {}
    for row in rows:
        models = (row.get("properties") or {}).get(PROPERTY)
        for model, info in (models.items() if isinstance(models, dict) else ()):
            if isinstance(info, dict) and isinstance(info.get("operators"), list):
                lists.setdefault(model, []).append((row["name"], info))
    out = []
    for model, seen in lists.items():
        for (a, old), (b, new) in zip(seen, seen[1:], strict=False):
            d = diff(old["operators"], new["operators"])
            out.append({"model": model, "from": a, "to": b,
                        "kept": [old.get("kept"), new.get("kept")],
                        "registered": [old.get("registered"), new.get("registered")],
                        **d, "same": not (d["appeared"] or d["disappeared"] or d["changed"])})
    return out
