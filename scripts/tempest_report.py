"""Summarize a `tempest run` log: counts per service, and the failed test ids
grouped by area.

    python3 scripts/tempest_report.py WORKSPACE/run.log

It ends with one line per service that ran, `Tempest <service>: N passed, N
failed, N skipped`, then `Tempest total: ...`.  A class whose setUpClass
failed counts as one failure (as stestr counts it); its tests never ran.
"""

from __future__ import annotations

import collections
import re
import sys

# stestr's subunit-trace lines: "{0} tempest.api...Class.test_x [0.1s] ... ok"
RESULT = re.compile(r"^\{\d+\} (?P<id>.+?)(?: \[[\d.]+s\])? \.\.\. (?P<status>ok|FAILED|SKIPPED)"
                    r"(?:: (?P<reason>.*))?")
SETUP = re.compile(r"^(?:setUpClass|tearDownClass) \((?P<id>[\w.]+)\)")
# tempest.api.<service>.[admin.|v3.|servers.|...]test_<module>.Class.test_x
AREA = re.compile(r"^tempest\.api\.(?P<service>\w+)\.(?:(?!test_)\w+\.)*(?P<module>test_\w+)")


def service_and_area(test_id: str) -> tuple[str, str]:
    """tempest.api.identity.admin.v3.test_users.UsersV3TestJSON.test_x
    -> ("identity", "identity users (admin)")"""
    setup = SETUP.match(test_id)
    name = setup.group("id") if setup else test_id
    match = AREA.match(name)
    if not match:
        return "other", name
    service = match.group("service")
    area = f"{service} {match.group('module').removeprefix('test_')}"
    return service, f"{area} (admin)" if ".admin." in name else area


def counts_line(label: str, counts: collections.Counter) -> str:
    return (f"Tempest {label}: {counts['ok']} passed, {counts['FAILED']} failed, "
            f"{counts['SKIPPED']} skipped")


def main(argv: list[str]) -> int:
    log_path = argv[1]
    per_service: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    failed: dict[str, list[str]] = collections.defaultdict(list)
    # Each skip's reason, so a reader can check every skip is a missing feature.
    skipped: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    with open(log_path, errors="replace") as log:
        for line in log:
            match = RESULT.match(line.strip())
            if not match:
                continue
            status, test_id = match.group("status"), match.group("id")
            service, area = service_and_area(test_id)
            per_service[service][status] += 1
            if status == "FAILED":
                failed[area].append(re.sub(r"\[[^\]]*\]$", "", test_id))
            elif status == "SKIPPED":
                skipped[service][(match.group("reason") or "no reason given").strip()] += 1
    if failed:
        print("Tempest failures by area:")
        for area in sorted(failed, key=lambda a: (-len(failed[a]), a)):
            print(f"  {area}: {len(failed[area])}")
            for test_id in sorted(failed[area]):
                print(f"      {test_id}")
    for service in sorted(skipped):
        print(f"Tempest {service} skips, by reason:")
        for reason, count in sorted(skipped[service].items(), key=lambda r: (-r[1], r[0])):
            print(f"  {count:3d}  {reason[:150]}")
    for service in sorted(per_service):
        print(counts_line(service, per_service[service]))
    print(counts_line("total", sum(per_service.values(), collections.Counter())))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
