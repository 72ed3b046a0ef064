"""harness.registry: the feature data files, parsed and checked directly (no torch)."""
import pytest

from harness.registry import MISSING, Absence, RegistryError, load_registry, version_in

GOOD = '''
[[feature]]
id = "core.alpha"
description = "alpha"

[[feature]]
id = "core.beta.sub"
description = "beta, absent before 2.1 and without torchvision"
device = "cuda"
absent = [
  { package = "torch", versions = "<2.1", source = "https://example.invalid/notes" },
  { package = "torchvision", versions = "missing", source = "https://example.invalid/vision" },
]
'''


def suites_with(tmp_path, **areas: str):
    for area, text in areas.items():
        (tmp_path / area).mkdir(parents=True, exist_ok=True)
        (tmp_path / area / "features.toml").write_text(text)
    return tmp_path


def test_features_load_by_id_with_area_device_and_absences(tmp_path):
    reg = load_registry(suites_with(tmp_path, core=GOOD, vision='[[feature]]\nid = "vision.x"\ndescription = "x"\n'))
    assert sorted(reg) == ["core.alpha", "core.beta.sub", "vision.x"]
    beta = reg["core.beta.sub"]
    assert (beta.area, beta.device, reg["core.alpha"].device) == ("core", "cuda", "cpu")
    assert beta.absent == (Absence("torch", "<2.1", "https://example.invalid/notes"),
                           Absence("torchvision", MISSING, "https://example.invalid/vision"))
    # The first matching range wins; `missing` matches only a package that is not installed.
    assert beta.absence({"torch": "2.0.1", "torchvision": "0.15.0"}).source.endswith("/notes")
    assert beta.absence({"torch": "2.3.0", "torchvision": None}).versions == MISSING
    assert beta.absence({"torch": "2.3.0", "torchvision": "0.18.0"}) is None
    assert "not installed" in beta.absent[1].describe() and "<2.1" in beta.absent[0].describe()


def test_the_default_folder_is_the_settings_harness_suites(tmp_path, monkeypatch):
    monkeypatch.setenv("HARNESS_SUITES", str(suites_with(tmp_path, core=GOOD)))
    assert sorted(load_registry()) == ["core.alpha", "core.beta.sub"]


@pytest.mark.parametrize("version, spec, inside", [
    ("2.3.1", ">=2.3", True), ("2.2.0", ">=2.3", False), ("2.4.0.dev20240101", ">=2.4.0.dev0", True),
    ("2.4.0rc1", ">=2.3", True),  # pre-releases count (a nightly row is one)
    ("2.4.0rc1", "<2.4", False),  # PEP 440: `<2.4` leaves out 2.4's own pre-releases
    (None, ">=0", False), ("", ">=0", False), ("not-a-version", ">=0", False)])
def test_version_in(version, spec, inside):
    assert version_in(version, spec) is inside


@pytest.mark.parametrize("entry, message", [
    ('id = "Core.Alpha"\ndescription = "d"', "feature id 'Core.Alpha' is not a dotted lower-case id"),
    ('id = "alpha"\ndescription = "d"', "feature id 'alpha' is not a dotted lower-case id"),
    ('id = "core.alpha"', "feature core.alpha: field 'description' is missing"),
    ('id = "core.alpha"\ndescription = "d"\nabsent = [{ package = "torch", versions = "<2", source = "notes" }]',
     "feature core.alpha: absent entries need a 'source' link"),
    ('id = "core.alpha"\ndescription = "d"\nabsent = [{ package = "torch", versions = "two", '
     'source = "https://x.invalid" }]', "feature core.alpha: bad versions 'two'"),
    ('id = "core.alpha"\ndescription = "d"\ndevice = "tpu"', "feature core.alpha: field 'device' must be cpu or cuda"),
])
def test_a_malformed_entry_names_the_file_and_the_feature(tmp_path, entry, message):
    suites = suites_with(tmp_path, core=f"[[feature]]\n{entry}\n")
    with pytest.raises(RegistryError) as err:
        load_registry(suites)
    assert str(err.value) == f"{suites / 'core' / 'features.toml'}: {message}"


def test_an_id_defined_twice_is_an_error_even_across_areas(tmp_path):
    suites = suites_with(tmp_path, core=GOOD, zeta='[[feature]]\nid = "core.alpha"\ndescription = "again"\n')
    with pytest.raises(RegistryError, match=r"zeta/features.toml: feature core.alpha is defined twice"):
        load_registry(suites)


def test_a_file_that_is_not_toml_is_named_in_one_line(tmp_path):
    (tmp_path / "core").mkdir()
    (tmp_path / "core" / "features.toml").write_text('[[feature]]\nid = "core.alpha\n')
    with pytest.raises(RegistryError, match=r"core/features.toml: not valid TOML: .*line 2"):
        load_registry(tmp_path)
