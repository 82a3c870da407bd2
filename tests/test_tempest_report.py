"""scripts/tempest_report.py: the counts per service that CI's summary shows."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPORT = Path(__file__).resolve().parents[1] / "scripts" / "tempest_report.py"

RUN_LOG = """\
{0} tempest.api.identity.admin.v3.test_users.UsersV3TestJSON.test_a [0.1s] ... ok
{1} tempest.api.identity.v3.test_tokens.TokensV3Test.test_b [0.2s] ... ok
{0} tempest.api.image.v2.test_images.BasicOperationsImagesTest.test_c [0.1s] ... ok
{1} tempest.api.image.v2.test_images.BasicOperationsImagesTest.test_d [0.1s] ... FAILED
{0} setUpClass (tempest.api.image.v2.admin.test_images.ImportCopyImagesTest) ... FAILED
{1} setUpClass (tempest.api.image.v2.test_images.ImageLocationsTest) ... SKIPPED: no
{0} tempest.api.identity.v3.test_tokens.TokensV3Test.test_e ... SKIPPED: flag
{1} tempest.api.compute.servers.test_servers.ServersTestJSON.test_f [0.3s] ... ok
"""


def test_counts_per_service_then_total(tmp_path):
    log = tmp_path / "run.log"
    log.write_text(RUN_LOG)
    output = subprocess.run([sys.executable, str(REPORT), str(log)], check=True,
                            capture_output=True, text=True).stdout.splitlines()
    # Compute's tests sit in subpackages (servers, images, ...) of tempest.api.compute.
    assert output[-4:] == [
        "Tempest compute: 1 passed, 0 failed, 0 skipped",
        "Tempest identity: 2 passed, 0 failed, 1 skipped",
        "Tempest image: 1 passed, 2 failed, 1 skipped",
        "Tempest total: 4 passed, 2 failed, 2 skipped",
    ]
    assert "  image images: 1" in output
    assert "  image images (admin): 1" in output
    assert ("      setUpClass (tempest.api.image.v2.admin.test_images.ImportCopyImagesTest)"
            in output)


def test_skips_are_listed_with_their_reasons(tmp_path):
    log = tmp_path / "run.log"
    log.write_text(RUN_LOG)
    output = subprocess.run([sys.executable, str(REPORT), str(log)], check=True,
                            capture_output=True, text=True).stdout.splitlines()
    identity = output.index("Tempest identity skips, by reason:")
    assert output[identity + 1] == "    1  flag"
    image = output.index("Tempest image skips, by reason:")
    assert output[image + 1] == "    1  no"
