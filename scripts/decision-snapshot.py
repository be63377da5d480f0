#!/usr/bin/env python3
"""Every decision the demo bundle makes over tests/cases and its own tests,
with explain on, printed without the per-call fields (decision id, the
evaluation instant): a refactor proves itself by an identical snapshot.

    python3 scripts/decision-snapshot.py target/debug/tollgate > before.txt
"""
import glob, json, os, subprocess, sys, tempfile
import yaml

ENUMS = {
    "role": "REQUESTER_ROLE_", "type": "PAYMENT_METHOD_TYPE_",
    "status": "PAYMENT_METHOD_STATUS_",
}
KIND = {"plan_change": "--plan-change", "payment_link": "--payment-link",
        "charge_funding": "--charge-funding"}


def full_enums(v, key=None):
    if isinstance(v, dict):
        return {k: full_enums(x, k) for k, x in v.items()}
    if isinstance(v, list):
        return [full_enums(x, key) for x in v]
    if key in ENUMS and isinstance(v, str) and not v.startswith(ENUMS[key]):
        return ENUMS[key] + v
    if hasattr(v, "isoformat"):
        return v.isoformat().replace("+00:00", "Z")
    return v


def requests(root):
    for path in sorted(glob.glob(f"{root}/tests/cases/*/*.yaml")):
        kind = path.split("/")[-2]
        yield path.split("tests/")[-1], kind, yaml.safe_load(open(path))["request"]
    for path in sorted(glob.glob(f"{root}/bundles/demo/*.yaml")):
        doc = yaml.safe_load(open(path)) or {}
        # A test without `as_of` runs at its file's default.
        default = (doc.get("test_defaults") or {}).get("as_of")
        for t in doc.get("tests", []) or []:
            for kind in KIND:
                if kind in t:
                    req = dict(t[kind])
                    if "as_of" not in req and default is not None:
                        req["as_of"] = default
                    yield f"{os.path.basename(path)}:{t['name']}", kind, req


def generated():
    """Every plan pair and role under a few usage profiles; every demo
    merchant under a few wallets; charges short and covered."""
    plans = ["free", "standard", "premium", "enterprise", "unknown"]
    roles = ["TENANT", "RESELLER", "PROVIDER", "OPERATOR"]
    usages = [{}, {"users": 3, "storage_gb": 1}, {"users": 400, "storage_gb": 900}]
    billing = {"current_period_end": "2026-04-01T00:00:00Z",
               "commitment_end": "2026-09-01T00:00:00Z", "anchor_day": 1,
               "time_zone": "Asia/Tokyo"}
    n = 0
    for f in plans:
        for t in plans:
            for role in roles:
                for u in usages:
                    n += 1
                    yield f"gen/plan_change/{n}", "plan_change", {
                        "tenant_id": "t", "from_plan": f, "to_plan": t,
                        "requester": {"role": role, "id": "r"},
                        "usage": u, "period_usage": {"api_calls": 10},
                        "billing": billing if n % 2 else {},
                        "as_of": "2026-03-10T09:00:00Z"}
    wallets = [
        [], [{"id": "card-1", "type": "CREDIT_CARD", "status": "ACTIVE", "fallback_rank": 1}],
        [{"id": "bank-1", "type": "BANK_ACCOUNT", "status": "SUSPENDED"},
         {"id": "pp-1", "type": "POSTPAID", "status": "ACTIVE", "fallback_rank": 2}],
        [{"id": "bal", "type": "BALANCE", "status": "ACTIVE"},
         {"id": "card-2", "type": "DEBIT_CARD", "status": "EXPIRED", "fallback_rank": 1}],
    ]
    autos = [None, {"enabled": True, "source_method_id": "card-1", "amount_minor": 5000,
                    "threshold_minor": 1000},
             {"enabled": True, "source_method_id": "pp-1", "amount_minor": 1}]
    for m in ["video-stream", "ride-share", "meal-kit", "bookshop", "nowhere"]:
        for w, methods in enumerate(wallets):
            for a, auto in enumerate(autos):
                base = {"user_id": "u", "merchant_id": m, "methods": methods,
                        "as_of": "2026-03-10T09:00:00Z"}
                if auto:
                    base["auto_charge"] = auto
                for h in (10, 90):
                    yield f"gen/payment_link/{m}/{w}/{a}/{h}", "payment_link", dict(
                        base, health={"score": h})
                for bal, amt in ((5000, 3000), (1000, 3000), (0, 48000)):
                    yield f"gen/charge_funding/{m}/{w}/{a}/{bal}", "charge_funding", dict(
                        base, amount={"currency": "JPY", "amount_minor": amt},
                        balance_minor=bal)


def main():
    binary = sys.argv[1]
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    for name, kind, req in list(requests(root)) + list(generated()):
        req = dict(full_enums(req))
        req["explain"] = True
        # Every bundle test and case states one; generated requests too.
        if "as_of" not in req:
            req["as_of"] = "2026-03-10T09:00:00Z"
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            json.dump(req, f)
        out = subprocess.run([binary, "eval", KIND[kind], f.name],
                             capture_output=True, text=True)
        os.unlink(f.name)
        text = out.stdout + out.stderr
        try:
            d = json.loads(out.stdout)
            for k in ("decision_id", "decisionId"):
                d.get("meta", {}).pop(k, None)
            text = json.dumps(d, sort_keys=True)
        except ValueError:
            pass
        print(f"{name}\t{out.returncode}\t{text.strip()}")


main()
