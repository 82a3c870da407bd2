"""nftables through ``nft``: each change is one script, one atomic transaction.

``nft -f -`` applies a whole script or nothing of it, so a refused change
leaves the ruleset that was in force; nothing here ever flushes the ruleset
(other software and other clouds on the host have tables of their own).
"""

from __future__ import annotations

import json
import subprocess

NFT = "nft"


LISTING_ATTEMPTS = 5


class NftError(Exception):
    """nft refused a script; the message is nft's own."""


def _command(args: list[str], namespace: str | None) -> list[str]:
    if namespace:
        return ["nsenter", f"--net=/run/netns/{namespace}", NFT, *args]
    return [NFT, *args]


def _run(args: list[str], namespace: str | None, script: str = "") -> str:
    done = subprocess.run(_command(args, namespace), input=script, capture_output=True,
                          text=True, check=False)
    if done.returncode != 0:
        raise NftError(done.stderr.strip() or f"nft {' '.join(args)} exited {done.returncode}")
    return done.stdout


def apply(script: str, namespace: str | None = None) -> None:
    """Run SCRIPT as one transaction (in NAMESPACE when given)."""
    _run(["-f", "-"], namespace, script)


def _listing(args: list[str], namespace: str | None) -> list[dict]:
    """What ``nft -j list ...`` prints.  nft 1.0.6 now and then prints nothing
    (and succeeds) when another process commits meanwhile: asked again."""
    for _ in range(LISTING_ATTEMPTS):
        output = _run(["-j", "list", *args], namespace)
        if output.strip():
            return json.loads(output)["nftables"]
    raise NftError(f"nft -j list {' '.join(args)} printed nothing {LISTING_ATTEMPTS} times")


def tables(namespace: str | None = None) -> list[tuple[str, str]]:
    """(family, name) of every table."""
    return [(item["table"]["family"], item["table"]["name"])
            for item in _listing(["tables"], namespace) if "table" in item]


def list_table(family: str, name: str, namespace: str | None = None) -> list[dict]:
    """The table's objects as nft's JSON gives them (chains, rules, sets, maps)."""
    return _listing(["table", family, name], namespace)


def rule_count(family: str, name: str, namespace: str | None = None) -> int:
    return sum(1 for item in list_table(family, name, namespace) if "rule" in item)


def delete_tables(prefix: str, namespace: str | None = None) -> list[str]:
    """Delete, in one transaction, every table whose name starts with PREFIX;
    their "family name"."""
    doomed = [f"{family} {name}" for family, name in tables(namespace)
              if name.startswith(prefix)]
    if doomed:
        apply("".join(f"delete table {table}\n" for table in doomed), namespace)
    return doomed
