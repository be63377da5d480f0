#!/usr/bin/env python3
"""Render helm/tollgate offline with Helm's own Go code and print the manifests.

Helm comes from the PyPI package `helm-python-sdk` (the Helm v4 SDK as a
shared library, called through ctypes: no helm binary, no cluster). The
manifests are parsed with PyYAML (a dependency of `kubernetes-validate`).

    python3 scripts/render_chart.py [-f VALUES.yaml]... [--set K=V]...
        [--set-json K=JSON]... [--set-file K=PATH]... [--api-versions GROUP/VERSION]...

prints a JSON array of the rendered objects, in template order. Values are
checked against values.schema.json first; a schema or template error is
printed on stderr with exit status 1. check-chart.py imports this module.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import helm_python as helm
import yaml
from helm_python import _native

CHART = Path(__file__).resolve().parent.parent / "helm" / "tollgate"
KUBE_VERSION = "v1.29.0"
RELEASE = "tollgate"
NAMESPACE = "tollgate"


def merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Merge user values as Helm does: maps merge key by key, anything else replaces."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def user_values(
    files: list[str],
    sets: list[str] = (),
    set_jsons: list[str] = (),
    set_files: list[str] = (),
) -> dict[str, Any]:
    """The user-supplied values, in Helm's order: files, then --set-json, --set, --set-file."""
    values: dict[str, Any] = {}
    for file in files:
        values = merge(values, helm.values_from_yaml(Path(file).read_text()) or {})
    for expr in set_jsons:
        values = merge(values, helm.parse_set_json(expr))
    for expr in sets:
        values = merge(values, helm.parse_set_string(expr))
    for expr in set_files:
        values = merge(values, helm.parse_set_file(expr))
    return values


def render(values: dict[str, Any], api_versions: list[str] = ()) -> dict[str, str]:
    """Template path -> rendered text, as `helm template --kube-version 1.29`.

    `Chart.render` of the SDK does not expose the capabilities, but the
    native call takes them as options (`api_versions`, `kube_version`), as
    `helm template --api-versions` does.
    """
    with helm.Chart.load(CHART) as chart:
        chart.validate_schema(values)
        options = {
            "name": RELEASE,
            "namespace": NAMESPACE,
            "is_install": True,
            "kube_version": KUBE_VERSION,
            "api_versions": list(api_versions),
        }
        rendered = _native.call_string(
            "helm_render", chart._raw(), json.dumps(values), json.dumps(options)
        )
    manifests: dict[str, str] = json.loads(rendered)
    return manifests


def objects(manifests: dict[str, str]) -> list[dict[str, Any]]:
    """Every object of the rendered templates (NOTES.txt and empty documents left out)."""
    found = []
    for path in sorted(manifests):
        if path.endswith("NOTES.txt"):
            continue
        found.extend(doc for doc in yaml.safe_load_all(manifests[path]) if doc)
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-f", "--values", action="append", default=[])
    parser.add_argument("--set", action="append", default=[])
    parser.add_argument("--set-json", action="append", default=[])
    parser.add_argument("--set-file", action="append", default=[])
    parser.add_argument("--api-versions", action="append", default=[])
    args = parser.parse_args()
    try:
        values = user_values(args.values, args.set, args.set_json, args.set_file)
        manifests = render(values, args.api_versions)
    except helm.HelmError as err:
        print(f"render_chart: {err}", file=sys.stderr)
        return 1
    json.dump(objects(manifests), sys.stdout, indent=1)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
