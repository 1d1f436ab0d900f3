"""The `.pyi` stub is the Python contract of the Rust core: it must match the built module."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_core_stub_matches_the_built_extension() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mypy.stubtest", "gabagool._core",
         "--allowlist", str(ROOT / "stubtest-allowlist.txt")],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_stub_ships_with_the_package() -> None:
    package = ROOT / "python" / "gabagool"
    assert (package / "_core.pyi").is_file() and (package / "py.typed").is_file()


def test_public_core_module_exports_every_extension_name() -> None:
    from gabagool import _core, core

    public = {name for name in dir(_core) if not name.startswith("_")}
    assert public <= set(core.__all__)
    assert all(getattr(core, name) is getattr(_core, name) for name in public)
