"""Adapters between the fabricated archives and torchtext's dataset constructors, and a network guard.

torchtext 0.12+ datasets are torchdata datapipes: on iteration they look for the archive at
``<root>/datasets/<DATASET_NAME>/<basename of URL>``, download it there through HttpReader
unless a file with the expected MD5 is present, then extract and parse it. Placing the
fabricated archive there and pointing the module's expected MD5 at it bypasses only the
download; torchdata still hashes the file, and extraction and parsing run unchanged.
"""
from __future__ import annotations

import importlib
import os
import shutil
import socket
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Dataset:
    constructor: str          # attribute of torchtext.datasets
    module: str               # torchtext.datasets.<module> defines URL and MD5
    folder: str               # its DATASET_NAME: the cache folder under <root>/datasets/
    splits: tuple[str, ...]   # () for a constructor without a split argument (enwik9: one "train" stream)


DATASETS = {
    "penntreebank": Dataset("PennTreebank", "penntreebank", "PennTreebank", ("train", "valid", "test")),
    "wikitext2": Dataset("WikiText2", "wikitext2", "WikiText2", ("train", "valid", "test")),
    "wikitext103": Dataset("WikiText103", "wikitext103", "WikiText103", ("train", "valid", "test")),
    "imdb": Dataset("IMDB", "imdb", "IMDB", ("train", "test")),
    "enwik9": Dataset("EnWik9", "enwik9", "EnWik9", ()),
}


def splits_of(name: str) -> tuple[str, ...]:
    return DATASETS[name].splits or ("train",)


def place_archives(name: str, files: dict[str, Path], root: Path) -> Path:
    """Copy the upstream files to where torchtext would have downloaded them; returns that folder."""
    folder = Path(root) / "datasets" / DATASETS[name].folder
    folder.mkdir(parents=True, exist_ok=True)
    for file_name, path in files.items():
        shutil.copyfile(path, folder / file_name)
    return folder


@contextmanager
def _expected_md5(torchtext, name: str, md5: dict[str, str]):
    """Point the module's MD5 constant(s) at the fabricated archives while a datapipe is built.

    This is the one bypass: the constructor copies MD5 into the datapipe's hash_dict, and
    torchdata's on-disk cache compares it with the hash of the file actually on disk. A
    mismatch would send it to HttpReader (and into the network guard), never to the parser.
    """
    module = importlib.import_module(f"{torchtext.__name__}.datasets.{DATASETS[name].module}")
    original = module.MD5
    if isinstance(original, dict):  # PennTreebank: one plain-text file per split
        module.MD5 = {split: md5[os.path.basename(module.URL[split])] for split in original}
    else:
        module.MD5 = md5[os.path.basename(module.URL)]
    try:
        yield
    finally:
        module.MD5 = original


def dataset(torchtext, name: str, root: Path, split: str, md5: dict[str, str]):
    """The row's torchtext dataset `name` for `split`, reading the archive placed under `root`."""
    spec = DATASETS[name]
    constructor = getattr(importlib.import_module(f"{torchtext.__name__}.datasets"), spec.constructor)
    with _expected_md5(torchtext, name, md5):
        if spec.splits:
            return constructor(root=str(root), split=split)
        return constructor(root=str(root))


class NetworkAccessAttempted(RuntimeError):
    """Something tried to reach the network during an offline check."""


@contextmanager
def forbid_network():
    """Refuse IP connections and name lookups (Unix sockets stay allowed); yields the attempts."""
    attempts: list[str] = []
    real_connect, real_connect_ex, real_getaddrinfo = (
        socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo)

    def refuse(what: str):
        attempts.append(what)
        raise NetworkAccessAttempted(f"network access attempted: {what}")

    def connect(sock, address):
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            refuse(f"connect {address!r}")
        return real_connect(sock, address)

    def connect_ex(sock, address):
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            refuse(f"connect {address!r}")
        return real_connect_ex(sock, address)

    def getaddrinfo(host, *args, **kwargs):
        refuse(f"resolve {host!r}")

    socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo = connect, connect_ex, getaddrinfo
    try:
        yield attempts
    finally:
        socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo = (
            real_connect, real_connect_ex, real_getaddrinfo)


def preload_worker_imports() -> None:
    """Import, before DataLoader forks its workers, what a worker imports lazily to send a tensor.

    torch 2.x's tensor pickler imports torch.nested (and with it sympy) on first use: several
    seconds where bytecode is not cached, paid by every worker on its first batch. Preloaded in
    the parent, the workers' per-item timeout measures the data path alone.
    """
    try:
        import torch.nested._internal.nested_tensor  # noqa: F401
    except ImportError:  # a torch without that module has nothing to preload
        pass
