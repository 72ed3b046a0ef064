"""Build and run the harness's Java bindings: org.pytorch.{Module,Tensor,IValue} over a JNI bridge
compiled against the row's own libtorch (torch/lib, torch/include of the installed wheel).

The build (about 25 s of g++) is cached per torch version, outside the repository, under
$HARNESS_CACHE/jni/<torch version>/<key>/ (default ~/.cache/harness). The key hashes the sources,
the compiler flags and the torch build, so an edit or another wheel gets its own build.

The official bindings (org.pytorch:pytorch_java_only, last published for 2.1.0) are used instead
when HARNESS_PYTORCH_JAVA_JAR and HARNESS_PYTORCH_JNI_LIB point at them.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from harness.isolate import Completed, run
from harness.plugin import skip_as
from harness.status import Status

SOURCES = Path(__file__).resolve().parent / "java"
# A loaded 2-core machine can take several times the ~25 s of an idle one; the bound still
# leaves room inside the suite's 300 s pytest-timeout for the Java run itself.
BUILD_BOUND_S = 240
# JVM start, loading libtorch and one forward of a small image model take a few seconds.
JAVA_BOUND_S = 120

JAR_ENV, JNI_LIB_ENV = "HARNESS_PYTORCH_JAVA_JAR", "HARNESS_PYTORCH_JNI_LIB"
# The official bindings stopped at 2.1.0 (Maven metadata) and JNI left the libtorch builds.
OFFICIAL_BINDINGS_SOURCE = "https://github.com/pytorch/pytorch/pull/124995"
OFFICIAL_BINDINGS_RELEASES = (
    "https://repo1.maven.org/maven2/org/pytorch/pytorch_java_only/maven-metadata.xml")


@dataclass(frozen=True)
class Bindings:
    """Where a Java program finds org.pytorch classes and the native library."""

    classpath: str  # jars, os.pathsep-separated
    library_dir: Path  # holds libpytorch_jni.so: java.library.path
    native_path: tuple[str, ...]  # LD_LIBRARY_PATH entries for its dependencies (libtorch)


def cache_root() -> Path:
    if os.environ.get("HARNESS_CACHE"):
        return Path(os.environ["HARNESS_CACHE"])
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "harness"


def cxx_standard(include: Path) -> str:
    """C++20 where the headers demand it (ATen.h errors out below 202002L, torch 2.14), else 17."""
    return "c++20" if "202002L" in (include / "ATen" / "ATen.h").read_text() else "c++17"


def _gxx_flags(torch, tools: dict[str, str]) -> list[str]:
    root = Path(torch.__file__).resolve().parent
    include = root / "include"
    jdk_include = Path(tools["javac"]).resolve().parent.parent / "include"
    return [f"-std={cxx_standard(include)}", "-O2", "-fPIC", "-shared",
            f"-D_GLIBCXX_USE_CXX11_ABI={int(torch.compiled_with_cxx11_abi())}",
            "-I", str(include), "-I", str(include / "torch" / "csrc" / "api" / "include"),
            "-I", str(jdk_include), "-I", str(jdk_include / "linux")]


def _compile_commands(torch, tools: dict[str, str], out: Path) -> list[list[str]]:
    lib = Path(torch.__file__).resolve().parent / "lib"
    classes = out / "classes"
    return [
        [tools["javac"], "-d", str(classes), *map(str, sorted((SOURCES / "src").rglob("*.java")))],
        [tools["jar"], "cf", str(out / "pytorch.jar"), "-C", str(classes), "."],
        [tools["g++"], *_gxx_flags(torch, tools), str(SOURCES / "native" / "pytorch_jni.cpp"),
         "-o", str(out / "libpytorch_jni.so"), "-L", str(lib), "-ltorch_cpu", "-lc10"],
    ]


def _key(torch, tools: dict[str, str]) -> str:
    """Sources, compiler, flags and the torch build: what the cached files depend on."""
    digest = hashlib.sha256()
    for path in sorted(SOURCES.rglob("*")):
        if path.is_file():
            digest.update(path.relative_to(SOURCES).as_posix().encode() + path.read_bytes())
    compiler = run([tools["g++"], "--version"], 60).stdout
    build = (torch.__version__, torch.version.git_version, torch.version.cuda)
    digest.update(repr((_gxx_flags(torch, tools), compiler, build)).encode())
    return digest.hexdigest()[:16]


def build_bindings(torch, tools: dict[str, str]) -> Bindings:
    """The cached build for this torch, building it first if needed (atomic: build, then rename)."""
    parent = cache_root() / "jni" / torch.__version__
    final = parent / _key(torch, tools)
    if not (final / "libpytorch_jni.so").exists():
        parent.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(prefix=".build-", dir=parent))
        try:
            for command in _compile_commands(torch, tools, scratch):
                done = run(command, BUILD_BOUND_S)
                if done.returncode != 0:
                    raise RuntimeError(f"{Path(command[0]).name} failed:\n{done.stderr[-3000:]}")
            try:
                scratch.rename(final)
            except OSError:  # another process finished the same build first
                pass
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    lib = Path(torch.__file__).resolve().parent / "lib"
    return Bindings(str(final / "pytorch.jar"), final, (str(lib),))


def official_bindings() -> Bindings:
    """The official jar and JNI library the user pointed at, or the feature is absent."""
    jars, library = os.environ.get(JAR_ENV), os.environ.get(JNI_LIB_ENV)
    if not (jars and library):
        skip_as(Status.ABSENT, f"{JAR_ENV} and {JNI_LIB_ENV} are not set; the official "
                f"pytorch_java_only bindings ended at 2.1.0 ({OFFICIAL_BINDINGS_RELEASES}) "
                f"and JNI left the libtorch builds: {OFFICIAL_BINDINGS_SOURCE}")
    library_dir = Path(library).resolve().parent
    return Bindings(jars, library_dir, (str(library_dir),))


def compile_programs(javac: str, bindings: Bindings, out: Path) -> str:
    """Compile suites/core/java/demo against `bindings`; the classpath to run them with."""
    sources = sorted(map(str, (SOURCES / "demo").glob("*.java")))
    done = run([javac, "-cp", bindings.classpath, "-d", str(out), *sources], BUILD_BOUND_S)
    if done.returncode != 0:
        raise RuntimeError(f"javac failed:\n{done.stderr[-3000:]}")
    return os.pathsep.join([str(out), bindings.classpath])


def run_java(java: str, bindings: Bindings, classpath: str, main: str, args: list[str],
             workdir: Path) -> Completed:
    """Run `main` in its own JVM: a native crash is a signal (crash), a hang a timeout."""
    env = dict(os.environ, LD_LIBRARY_PATH=os.pathsep.join(
        [*bindings.native_path, os.environ.get("LD_LIBRARY_PATH", "")]).rstrip(os.pathsep))
    command = [java, "-Xmx1g", "-XX:-UsePerfData", f"-XX:ErrorFile={workdir}/hs_err_%p.log",
               f"-Djava.library.path={bindings.library_dir}", "-cp", classpath, main, *args]
    done = run(command, JAVA_BOUND_S, cwd=workdir, env=env)
    if done.returncode != 0:
        raise RuntimeError(f"java {main} exited with {done.returncode}:\n{done.stderr[-3000:]}")
    return done
