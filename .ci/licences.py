"""Fail when a runtime dependency of archive-twin carries a GPL or AGPL licence.

The project is Apache-2.0; a GPL or AGPL library linked into it would change what may be
shipped. Read from the installed metadata (importlib.metadata): the runtime dependency
closure of the `archive-twin` distribution, extras and test tools left out. LGPL is allowed.
Run: python .ci/licences.py  (exit 1 with the offenders named).
"""

from __future__ import annotations

import re
import sys
from importlib import metadata

from packaging.requirements import Requirement

COPYLEFT = re.compile(r"(?<![L])\bA?GPL|GNU (Affero )?General Public License", re.I)
LESSER = re.compile(r"LGPL|Lesser General Public|Library General Public", re.I)


def _licences(dist: metadata.Distribution) -> list[str]:
    meta = dist.metadata
    found = [meta.get("License-Expression") or "", meta.get("License") or ""]
    found += [c for c in meta.get_all("Classifier") or [] if c.startswith("License ::")]
    return [f.strip().splitlines()[0] if f.strip() else "" for f in found if f and f.strip()]


def _copyleft(text: str) -> bool:
    without_lesser = LESSER.sub("", text)
    return bool(COPYLEFT.search(without_lesser))


def runtime_closure(root: str = "archive-twin") -> dict[str, metadata.Distribution]:
    """Every installed distribution the root needs at run time, by normalised name."""
    seen: dict[str, metadata.Distribution] = {}
    todo = [root]
    while todo:
        name = re.sub(r"[-_.]+", "-", todo.pop()).lower()
        if name in seen:
            continue
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue  # an optional dependency not installed here
        seen[name] = dist
        for line in dist.requires or []:
            requirement = Requirement(line)
            if requirement.marker and not requirement.marker.evaluate({"extra": ""}):
                continue  # an extra (tests, docs) or another platform's
            todo.append(requirement.name)
    return seen


def main() -> int:
    closure = runtime_closure()
    if "archive-twin" not in closure:
        print("archive-twin is not installed here (pip install -e .)", file=sys.stderr)
        return 2
    offenders = []
    for name, dist in sorted(closure.items()):
        if name == "archive-twin":
            continue
        if any(_copyleft(text) for text in _licences(dist)):
            offenders.append(f"{dist.metadata['Name']} {dist.version}: "
                             f"{'; '.join(_licences(dist))}")
    if offenders:
        print("runtime dependencies under GPL or AGPL (the project is Apache-2.0):")
        for line in offenders:
            print(f"  {line}")
        return 1
    print(f"licences: {len(closure) - 1} runtime dependencies, none GPL or AGPL")
    return 0


if __name__ == "__main__":
    sys.exit(main())
