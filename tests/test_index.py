"""harness.index: the one lister of a package's releases (PEP 691 pages), for the bisect and the map."""
import io
import json

import pytest
from packaging.version import Version

from harness import index


def test_the_listing_walks_from_good_to_bad_and_knows_which_wheels_fit():
    page = {"name": "torchdata", "versions": ["0.7.1", "0.8.0", "0.9.0rc1", "0.9.0", "0.10.0", "0.11.0"],
            "files": [
                {"filename": "torchdata-0.7.1-cp311-cp311-manylinux_2_17_x86_64.whl", "yanked": False},
                {"filename": "torchdata-0.8.0-cp311-cp311-win_amd64.whl", "yanked": False},
                {"filename": "torchdata-0.9.0rc1-py3-none-any.whl", "yanked": False},
                {"filename": "torchdata-0.9.0-py3-none-any.whl", "yanked": False},
                {"filename": "torchdata-0.10.0-py3-none-any.whl", "yanked": "broken"},
                {"filename": "torchdata-0.11.0-py3-none-any.whl", "yanked": False},
                {"filename": "torchdata-0.11.0.tar.gz", "yanked": False}]}
    listing = index.parse_simple(page)
    forward = index.between(listing, Version("0.7.1"), Version("0.11.0"))
    assert [str(r.version) for r in forward] == ["0.7.1", "0.8.0", "0.9.0", "0.11.0"]  # no rc, no yanked
    backward = index.between(listing, Version("0.11.0"), Version("0.8.0"))
    assert [str(r.version) for r in backward] == ["0.11.0", "0.9.0", "0.8.0"]
    tags = index.python_tags("3.11")
    fits = {str(r.version): index.installable(r, tags) for r in listing}
    assert fits["0.9.0"] and fits["0.11.0"] and not fits["0.8.0"]  # only a Windows wheel


def test_final_versions_skip_yanked_pre_dev_and_other_projects():
    page = {"name": "torch", "files": [
        {"filename": "torch-2.0.0-cp311-cp311-manylinux1_x86_64.whl"},
        {"filename": "torch-2.1.0-cp311-cp311-manylinux1_x86_64.whl", "yanked": "bad build"},
        {"filename": "torch-2.2.0rc1-cp311-none-any.whl"},
        {"filename": "torch-2.2.0.dev20240101-cp311-none-any.whl"},
        {"filename": "torch-2.2.0+cpu-cp311-none-any.whl"},
        {"filename": "torch-1.13.1.tar.gz"},
        {"filename": "torchvision-0.20.0-py3-none-any.whl"},
        {"filename": "not a file name"}]}
    releases = index.parse_simple(page)
    assert index.final_versions(releases) == ["1.13.1", "2.0.0"]
    by_version = {str(r.version): r for r in releases}
    assert by_version["2.1.0"].yanked and not by_version["2.1.0"].files
    assert by_version["1.13.1"].files == ("torch-1.13.1.tar.gz",) and by_version["1.13.1"].wheels == ()


def test_an_unreadable_index_names_the_package_and_the_index(monkeypatch):
    def refuse(request, timeout):
        raise OSError("connection refused")

    monkeypatch.setattr(index.urllib.request, "urlopen", refuse)
    with pytest.raises(index.ListingError, match="cannot list the releases of torch on https://x.test/simple"):
        index.fetch_releases("torch", "https://x.test/simple/")


def test_fetch_asks_for_the_json_page_of_the_canonical_name(monkeypatch):
    seen = {}

    class Response(io.BytesIO):
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    def answer(request, timeout):
        seen["url"], seen["accept"] = request.full_url, request.get_header("Accept")
        return Response(json.dumps({"name": "pyyaml", "files": [
            {"filename": "PyYAML-6.0.2-cp311-cp311-manylinux_2_17_x86_64.whl"}]}).encode())

    monkeypatch.setattr(index.urllib.request, "urlopen", answer)
    assert [r.version for r in index.fetch_releases("PyYAML", "https://x.test/simple")] == [Version("6.0.2")]
    assert seen == {"url": "https://x.test/simple/pyyaml/", "accept": index.SIMPLE_JSON}
