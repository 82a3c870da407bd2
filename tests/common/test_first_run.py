"""The first run's check of the public network against the host's routes."""

from __future__ import annotations

import pytest

from stacklet.first_run import FirstRunError, Steps, check_public_cidr

# /proc/net/route of a host with a default route and a LAN 172.24.0.0/16 on eth0.
ROUTES = """Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
eth0\t00000000\t010018AC\t0003\t0\t0\t0\t00000000\t0\t0\t0
eth0\t000018AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0
"""


@pytest.fixture
def routes(tmp_path):
    path = tmp_path / "route"
    path.write_text(ROUTES)
    return path


def test_a_public_cidr_inside_a_routed_lan_is_refused_naming_both(routes):
    with pytest.raises(FirstRunError, match=r"172\.24\.4\.0/24 overlaps this host's route "
                                            r"to 172\.24\.0\.0/16 on eth0.*--public-cidr"):
        check_public_cidr("172.24.4.0/24", routes)


@pytest.mark.parametrize("cidr", ["172.25.4.0/24", "192.168.233.0/24"])
def test_the_default_route_alone_clashes_with_nothing(routes, cidr):
    check_public_cidr(cidr, routes)


@pytest.mark.parametrize("cidr, problem", [("nonsense", "not a network"),
                                           ("fd00::/64", "IPv4"), ("10.9.9.0/30", "IPv4")])
def test_what_cannot_be_a_public_network(routes, cidr, problem):
    with pytest.raises(FirstRunError, match=problem):
        check_public_cidr(cidr, routes)


def test_steps_are_remembered_in_the_data_dir(tmp_path):
    assert not Steps(tmp_path).done("networks")
    Steps(tmp_path).mark("networks")
    assert Steps(tmp_path).done("networks") and not Steps(tmp_path).done("guest-image")
