"""``make fuzz``: schemathesis against both apps, as a customer and as the admin, on the local stack.

Starts the contract suite's local stack (a throwaway PostgreSQL, each app as a real server process),
registers a customer, then runs ``schemathesis run`` with ``fuzz/schemathesis.toml`` once per app and
account: every operation of the app's own OpenAPI document, with the conformance checks that document
promises. JUnit reports go to ``fuzz-report/``. Exits non-zero if any run found a failure.

Usage: ``python -m fuzz.run [--seed N]`` (``make fuzz``; ``SEED=N make fuzz`` to explore other requests).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

from contract_tests.client import Api
from contract_tests.stacks import ROOT, TARGETS
from contract_tests.stacks.local import local_stack

CONFIG = ROOT / "fuzz" / "schemathesis.toml"
REPORTS = ROOT / "fuzz-report"


def fuzz(app: str, base_url: str, account: str, credentials: tuple[str, str], seed: int | None) -> int:
    """One schemathesis run; its exit status (0: no failure)."""
    email, password = credentials
    command = [
        sys.executable, "-m", "schemathesis.cli", "--config-file", str(CONFIG),
        "run", f"{base_url}/openapi.json", "--url", base_url,
        "--report", "junit", "--report-junit-path", str(REPORTS / f"{app}-{account}.xml"),
    ]  # fmt: skip
    if seed is not None:
        command += ["--seed", str(seed)]
    print(f"\n=== {app}, as the {account} ===", flush=True)
    env = {**os.environ, "SHOP_FUZZ_EMAIL": email, "SHOP_FUZZ_PASSWORD": password}
    return subprocess.run(command, env=env, cwd=ROOT, check=False).returncode  # noqa: S603 (our own argv)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fuzz.run", description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, help="another seed than the config's, to explore")
    args = parser.parse_args(argv)
    REPORTS.mkdir(exist_ok=True)
    failed = []
    with local_stack() as deployment:
        admin = (deployment.admin_email, deployment.admin_password)
        for app in TARGETS:
            base_url = deployment.url(app)
            with Api(app, deployment) as api:
                registered = api.new_customer()  # the contract suite's helper: a new account, its password
            customer = (registered.email, registered.password)
            for account, credentials in (("customer", customer), ("admin", admin)):
                if fuzz(app, base_url, account, credentials, args.seed) != 0:
                    failed.append(f"{app} as the {account}")
    print(
        "\nfuzz: "
        + ("failures in " + ", ".join(failed) if failed else "no failures")
        + f"; reports in {REPORTS}"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
