"""Neutron's errors: each carries the exception name Neutron reports as ``type``.

Clients and Tempest read ``NeutronError.type`` (``NetworkNotFound``,
``IpAddressAlreadyAllocated``, ``OverQuota``...), so every error a handler
raises names it.  The status classes are the shared ones from
``stacklet.common.errors``, so the framework renders them like any other.
"""

from __future__ import annotations

from stacklet.common import errors


def neutron_error(base: type[errors.APIError], type_name: str) -> type[errors.APIError]:
    return type(type_name, (base,), {"neutron_type": type_name})


# The type Neutron reports for errors that are not one of its named exceptions.
DEFAULT_TYPES = {400: "HTTPBadRequest", 401: "HTTPUnauthorized", 403: "HTTPForbidden",
                 404: "HTTPNotFound", 405: "HTTPMethodNotAllowed", 409: "HTTPConflict",
                 413: "HTTPRequestEntityTooLarge", 415: "HTTPUnsupportedMediaType",
                 501: "HTTPNotImplemented"}


def neutron_type(exc: errors.APIError) -> str:
    return getattr(exc, "neutron_type", None) or \
        DEFAULT_TYPES.get(exc.status, "HTTPInternalServerError")


# -- 400 -------------------------------------------------------------------------------
InvalidInput = neutron_error(errors.BadRequest, "InvalidInput")
InvalidAllocationPool = neutron_error(errors.BadRequest, "InvalidAllocationPool")
OverlappingAllocationPools = neutron_error(errors.Conflict, "OverlappingAllocationPools")
GatewayConflictWithAllocationPools = neutron_error(errors.Conflict,
                                                   "GatewayConflictWithAllocationPools")
InvalidIpForSubnet = neutron_error(errors.BadRequest, "InvalidIpForSubnet")
InvalidIpForNetwork = neutron_error(errors.BadRequest, "InvalidIpForNetwork")
InvalidCIDR = neutron_error(errors.BadRequest, "InvalidCIDR")
InvalidSharedSetting = neutron_error(errors.Conflict, "InvalidSharedSetting")
BadRequest = neutron_error(errors.BadRequest, "BadRequest")
# -- 403 / 404 -------------------------------------------------------------------------
PolicyNotAuthorized = neutron_error(errors.Forbidden, "PolicyNotAuthorized")
NetworkNotFound = neutron_error(errors.NotFound, "NetworkNotFound")
SubnetNotFound = neutron_error(errors.NotFound, "SubnetNotFound")
SubnetPoolNotFound = neutron_error(errors.NotFound, "SubnetPoolNotFound")
PortNotFound = neutron_error(errors.NotFound, "PortNotFound")
SecurityGroupNotFound = neutron_error(errors.NotFound, "SecurityGroupNotFound")
SecurityGroupRuleNotFound = neutron_error(errors.NotFound, "SecurityGroupRuleNotFound")
RouterNotFound = neutron_error(errors.NotFound, "RouterNotFound")
FloatingIPNotFound = neutron_error(errors.NotFound, "FloatingIPNotFound")
AgentNotFound = neutron_error(errors.NotFound, "AgentNotFound")
TagNotFound = neutron_error(errors.NotFound, "TagNotFound")
# -- 409 -------------------------------------------------------------------------------
NetworkInUse = neutron_error(errors.Conflict, "NetworkInUse")
SubnetInUse = neutron_error(errors.Conflict, "SubnetInUse")
SubnetPoolInUse = neutron_error(errors.Conflict, "SubnetPoolInUse")
PortInUse = neutron_error(errors.Conflict, "PortInUse")
ServicePortInUse = neutron_error(errors.Conflict, "ServicePortInUse")
DeviceIDNotOwnedByTenant = neutron_error(errors.Conflict, "DeviceIDNotOwnedByTenant")
IpAddressAlreadyAllocated = neutron_error(errors.Conflict, "IpAddressAlreadyAllocated")
IpAddressGenerationFailure = neutron_error(errors.Conflict, "IpAddressGenerationFailure")
MacAddressInUse = neutron_error(errors.Conflict, "MacAddressInUse")
SecurityGroupInUse = neutron_error(errors.Conflict, "SecurityGroupInUse")
SecurityGroupRuleExists = neutron_error(errors.Conflict, "SecurityGroupRuleExists")
RouterInUse = neutron_error(errors.Conflict, "RouterInUse")
ExternalNetworkInUse = neutron_error(errors.Conflict, "ExternalNetworkInUse")
RouterInterfaceInUseByFloatingIP = neutron_error(errors.Conflict,
                                                 "RouterInterfaceInUseByFloatingIP")
FloatingIPPortAlreadyAssociated = neutron_error(errors.Conflict, "FloatingIPPortAlreadyAssociated")
OverQuota = neutron_error(errors.Conflict, "OverQuota")
SegmentationIdInUse = neutron_error(errors.Conflict, "VlanIdInUse")
NoNetworkAvailable = neutron_error(errors.Conflict, "NoNetworkAvailable")
RevisionNumberConstraintFailed = type(
    "RevisionNumberConstraintFailed", (errors.APIError,),
    {"status": 412, "title": "Precondition Failed",
     "neutron_type": "RevisionNumberConstraintFailed"})
# -- subnets, subnet pools and ports -----------------------------------------------------
OutOfBoundsAllocationPool = neutron_error(errors.BadRequest, "OutOfBoundsAllocationPool")
IllegalSubnetPoolPrefixBounds = neutron_error(errors.BadRequest, "IllegalSubnetPoolPrefixBounds")
IllegalSubnetPoolPrefixUpdate = neutron_error(errors.BadRequest, "IllegalSubnetPoolPrefixUpdate")
PrefixVersionMismatch = neutron_error(errors.BadRequest, "PrefixVersionMismatch")
MinPrefixSubnetAllocationError = neutron_error(errors.BadRequest,
                                               "MinPrefixSubnetAllocationError")
MaxPrefixSubnetAllocationError = neutron_error(errors.BadRequest,
                                               "MaxPrefixSubnetAllocationError")
SubnetAllocationError = neutron_error(errors.Conflict, "SubnetAllocationError")
PortSecurityAndIPRequiredForSecurityGroups = neutron_error(
    errors.Conflict, "PortSecurityAndIPRequiredForSecurityGroups")
PortSecurityPortHasSecurityGroup = neutron_error(errors.Conflict,
                                                 "PortSecurityPortHasSecurityGroup")
AddressPairAndPortSecurityRequired = neutron_error(errors.Conflict,
                                                   "AddressPairAndPortSecurityRequired")
DuplicateAddressPairInRequest = neutron_error(errors.BadRequest,
                                              "DuplicateAddressPairInRequest")
DNSNameServersExhausted = neutron_error(errors.BadRequest, "DNSNameServersExhausted")
HostRoutesExhausted = neutron_error(errors.BadRequest, "HostRoutesExhausted")
InvalidSubnetServiceType = neutron_error(errors.BadRequest, "InvalidSubnetServiceType")
IpAddressGenerationFailureNoMatchingSubnet = neutron_error(
    errors.Conflict, "IpAddressGenerationFailureNoMatchingSubnet")
PortBound = neutron_error(errors.Conflict, "PortBound")
MacAddressGenerationFailure = neutron_error(errors.Conflict, "MacAddressGenerationFailure")
# -- routers and floating IPs (l3) -------------------------------------------------------
InvalidRoutes = neutron_error(errors.BadRequest, "InvalidRoutes")
RoutesExhausted = neutron_error(errors.BadRequest, "RoutesExhausted")
SubnetMismatchForPort = neutron_error(errors.BadRequest, "SubnetMismatchForPort")
ExternalIpAddressExhausted = neutron_error(errors.BadRequest, "ExternalIpAddressExhausted")
RouterInterfaceNotFound = neutron_error(errors.NotFound, "RouterInterfaceNotFound")
RouterInterfaceNotFoundForSubnet = neutron_error(errors.NotFound,
                                                 "RouterInterfaceNotFoundForSubnet")
ExternalGatewayForFloatingIPNotFound = neutron_error(errors.NotFound,
                                                     "ExternalGatewayForFloatingIPNotFound")
RouterInterfaceInUseByRoute = neutron_error(errors.Conflict, "RouterInterfaceInUseByRoute")
RouterExternalGatewayInUseByFloatingIp = neutron_error(
    errors.Conflict, "RouterExternalGatewayInUseByFloatingIp")
