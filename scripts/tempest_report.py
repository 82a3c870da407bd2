"""Summarize a `tempest run` log: counts, and the failed test ids grouped by area.

    python3 scripts/tempest_report.py WORKSPACE/run.log

The last line is always `Tempest <label>: N passed, N failed, N skipped`.  A
class whose setUpClass failed counts as one failure (as stestr counts it);
its tests never ran.
"""

from __future__ import annotations

import collections
import re
import sys

# stestr's subunit-trace lines: "{0} tempest.api...Class.test_x [0.1s] ... ok"
RESULT = re.compile(r"^\{\d+\} (?P<id>.+?)(?: \[[\d.]+s\])? \.\.\. (?P<status>ok|FAILED|SKIPPED)")
SETUP = re.compile(r"^(?:setUpClass|tearDownClass) \((?P<id>[\w.]+)\)")
AREA = re.compile(r"^tempest\.api\.identity\.(?:admin\.|v3\.)*(?:v3\.)?(?P<module>test_\w+)")


def area_of(test_id: str) -> str:
    """tempest.api.identity.admin.v3.test_users.UsersV3TestJSON.test_x -> users (admin)"""
    setup = SETUP.match(test_id)
    name = setup.group("id") if setup else test_id
    match = AREA.match(name)
    if not match:
        return name
    area = match.group("module").removeprefix("test_")
    return f"{area} (admin)" if ".admin." in name else area


def main(argv: list[str]) -> int:
    log_path, label = argv[1], (argv[2] if len(argv) > 2 else "identity")
    counts = collections.Counter()
    failed: dict[str, list[str]] = collections.defaultdict(list)
    with open(log_path, errors="replace") as log:
        for line in log:
            match = RESULT.match(line.strip())
            if not match:
                continue
            status, test_id = match.group("status"), match.group("id")
            counts[status] += 1
            if status == "FAILED":
                failed[area_of(test_id)].append(re.sub(r"\[[^\]]*\]$", "", test_id))
    if failed:
        print("Tempest failures by area:")
        for area in sorted(failed, key=lambda a: (-len(failed[a]), a)):
            print(f"  {area}: {len(failed[area])}")
            for test_id in sorted(failed[area]):
                print(f"      {test_id}")
    print(f"Tempest {label}: {counts['ok']} passed, {counts['FAILED']} failed, "
          f"{counts['SKIPPED']} skipped")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
