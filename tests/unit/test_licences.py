"""The licence gate of .ci/run: GPL and AGPL runtime dependencies fail it, LGPL does not."""

from __future__ import annotations

import importlib.util
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / ".ci" / "licences.py"
spec = importlib.util.spec_from_file_location("licences", SCRIPT)
assert spec and spec.loader
licences = importlib.util.module_from_spec(spec)
spec.loader.exec_module(licences)


def test_gpl_and_agpl_are_caught_lgpl_and_permissive_are_not():
    for text in ("GPL-3.0-or-later", "AGPL-3.0-only", "GPLv2",
                 "License :: OSI Approved :: GNU General Public License v3 (GPLv3)",
                 "License :: OSI Approved :: GNU Affero General Public License v3"):
        assert licences._copyleft(text), text
    for text in ("LGPL-3.0-only", "MIT", "Apache-2.0", "BSD-3-Clause", "MPL-2.0", "ISC",
                 "License :: OSI Approved :: GNU Lesser General Public License v3 (LGPLv3)"):
        assert not licences._copyleft(text), text


def test_the_runtime_closure_is_read_from_installed_metadata_without_test_tools():
    closure = licences.runtime_closure()
    assert {"fastapi", "sqlmodel", "paho-mqtt", "argon2-cffi"} <= set(closure)
    assert "pytest" not in closure and "schemathesis" not in closure
    assert licences.main() == 0
