"""The services Stacklet runs: their catalog identity and where they are mounted."""

from __future__ import annotations

import dataclasses
from typing import Callable


@dataclasses.dataclass(frozen=True)
class ServiceInfo:
    type: str                # catalog service type
    name: str                # catalog service name (upstream's project name)
    prefix: str              # path under the one listener
    endpoint_path: str       # appended to prefix in the catalog URL
    description: str
    create_api: Callable     # cloud -> ServiceAPI
    policy_rules: Callable   # () -> list of oslo.policy RuleDefault


def _identity_api(cloud):
    from stacklet.identity.api import create_api
    return create_api(cloud)


def _identity_rules():
    from stacklet.identity.policy import RULES
    return RULES


def _image_api(cloud):
    from stacklet.image.api import create_api
    return create_api(cloud)


def _image_rules():
    from stacklet.image.policy import RULES
    return RULES


def _compute_api(cloud):
    from stacklet.compute.api import create_api
    return create_api(cloud)


def _compute_rules():
    from stacklet.compute.policy import RULES
    return RULES


def _network_api(cloud):
    from stacklet.network.api import create_api
    return create_api(cloud)


def _network_rules():
    from stacklet.network.policy import RULES
    return RULES


SERVICES: list[ServiceInfo] = [
    ServiceInfo(type="identity", name="keystone", prefix="/identity", endpoint_path="",
                description="Stacklet Identity (Keystone v3)",
                create_api=_identity_api, policy_rules=_identity_rules),
    ServiceInfo(type="image", name="glance", prefix="/image", endpoint_path="",
                description="Stacklet Image (Glance v2)",
                create_api=_image_api, policy_rules=_image_rules),
    ServiceInfo(type="compute", name="nova", prefix="/compute", endpoint_path="/v2.1",
                description="Stacklet Compute (Nova v2.1)",
                create_api=_compute_api, policy_rules=_compute_rules),
    # Neutron's catalog endpoint has no version; clients append /v2.0.
    ServiceInfo(type="network", name="neutron", prefix="/network", endpoint_path="",
                description="Stacklet Network (Neutron v2.0)",
                create_api=_network_api, policy_rules=_network_rules),
]
