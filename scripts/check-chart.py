#!/usr/bin/env python3
"""CI for helm/tollgate without a cluster: lint, render and validate.

For the default values and each helm/tollgate/ci/*-values.yaml:
  1. `helm lint --strict --kube-version 1.29` (Helm's own Go code, from the
     PyPI package helm-python-sdk);
  2. render, as `helm template` does, with `--api-versions
     monitoring.coreos.com/v1` when the file turns the ServiceMonitor on;
  3. validate every rendered object with kubernetes-validate in strict mode
     (unknown fields are errors) against the Kubernetes 1.29 schemas it ships.
     The ServiceMonitor is a CRD those schemas do not cover: it is skipped
     here and its shape is asserted in tests/helm_chart.rs.
Then checks that the chart README documents every key of values.yaml.

    python3 -m pip install helm-python-sdk==0.2.2 kubernetes-validate==1.37.0
    python3 scripts/check-chart.py

Exits 1 on any finding. tests/helm_chart.rs asserts the chart's properties on
the same renders.
"""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path
from typing import Any

import helm_python as helm
import kubernetes_validate
import yaml

import render_chart

KUBE_VERSION = "1.29.0"
MONITORING_API = "monitoring.coreos.com/v1"
# Kinds that are CRDs, absent from the Kubernetes schemas.
CRD_KINDS = {"ServiceMonitor"}
# Lint severities (helm's support.Severity): 2 warning, 3 error.
WARNING = 2


def lint(values: dict[str, Any]) -> list[str]:
    """helm lint --strict findings of warning level and above."""
    report = helm.lint(render_chart.CHART, values, strict=True, kube_version="v" + KUBE_VERSION)
    problems = [f"{m['path']}: {m['error']}" for m in report["messages"] if m["severity"] >= WARNING]
    return problems + list(report.get("errors") or [])


def validate(objects: list[dict[str, Any]]) -> tuple[list[str], list[str]]:
    """kubernetes-validate --strict against 1.29: (problems, skipped kinds)."""
    problems, skipped = [], []
    for obj in objects:
        name = f"{obj['kind']}/{obj['metadata']['name']}"
        if obj["kind"] in CRD_KINDS:
            skipped.append(name)
            continue
        try:
            kubernetes_validate.validate(obj, KUBE_VERSION, strict=True)
        except kubernetes_validate.ValidationError as err:
            path = ".".join(str(p) for p in err.path)
            problems.append(f"{name}: {path}: {err.message}")
        except kubernetes_validate.SchemaNotFoundError as err:
            problems.append(f"{name}: no schema: {err.message}")
    return problems, skipped


def value_paths(values: dict[str, Any], prefix: str = "") -> list[str]:
    """Dotted paths of values.yaml down to leaves (free-form maps are leaves)."""
    paths = []
    for key, value in values.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            paths.extend(value_paths(value, path + "."))
        else:
            paths.append(path)
    return paths


def undocumented() -> list[str]:
    """values.yaml keys the chart README does not name in backticks."""
    chart = render_chart.CHART
    defaults = yaml.safe_load((chart / "values.yaml").read_text())
    readme = (chart / "README.md").read_text()
    named = set(re.findall(r"`([A-Za-z0-9_.]+)`", readme))
    return [p for p in value_paths(defaults) if p not in named]


def main() -> int:
    started = time.monotonic()
    failed = False
    cases = [("default values", [])] + [
        (path.name, [str(path)]) for path in sorted((render_chart.CHART / "ci").glob("*-values.yaml"))
    ]
    for label, files in cases:
        values = render_chart.user_values(files)
        monitoring = bool(values.get("serviceMonitor", {}).get("enabled"))
        api_versions = [MONITORING_API] if monitoring else []
        problems = [f"lint: {p}" for p in lint(values)]
        try:
            objects = render_chart.objects(render_chart.render(values, api_versions))
        except helm.HelmError as err:
            problems.append(f"render: {err}")
            objects = []
        invalid, skipped = validate(objects)
        problems += [f"kubernetes-validate: {p}" for p in invalid]
        kinds = ", ".join(sorted({o["kind"] for o in objects}))
        note = f"; {', '.join(skipped)} is a CRD: not in the 1.29 schemas, checked by tests/helm_chart.rs" if skipped else ""
        api = f" (--api-versions {MONITORING_API})" if api_versions else ""
        status = "FAILED" if problems else "ok"
        print(f"{status}: {label}{api}: lint --strict, {len(objects)} objects valid ({kinds}){note}")
        for problem in problems:
            print(f"  {problem}")
        failed |= bool(problems)
    missing = undocumented()
    if missing:
        print(f"FAILED: helm/tollgate/README.md does not document: {', '.join(missing)}")
        failed = True
    else:
        print("ok: helm/tollgate/README.md documents every key of values.yaml")
    print(f"check-chart: {'FAILED' if failed else 'ok'} in {time.monotonic() - started:.1f}s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
