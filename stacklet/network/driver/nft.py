"""nftables through ``nft``: each change is one script, one atomic transaction.

``nft -f -`` applies a whole script or nothing of it, so a refused change
leaves the ruleset that was in force; nothing here ever flushes the ruleset
(other software and other clouds on the host have tables of their own).
"""

from __future__ import annotations

import json
import subprocess

NFT = "nft"


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


def tables(namespace: str | None = None) -> list[tuple[str, str]]:
    """(family, name) of every table."""
    found = json.loads(_run(["-j", "list", "tables"], namespace))["nftables"]
    return [(item["table"]["family"], item["table"]["name"]) for item in found if "table" in item]


def list_table(family: str, name: str, namespace: str | None = None) -> list[dict]:
    """The table's objects as nft's JSON gives them (chains, rules, sets, maps)."""
    return json.loads(_run(["-j", "list", "table", family, name], namespace))["nftables"]


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
