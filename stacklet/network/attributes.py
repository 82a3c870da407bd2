"""Neutron's resource attributes: what a request body may carry and how each
value is checked, as Neutron's attribute maps declare it.

A resource declares ``{name: Attr(...)}``; ``parse_body`` turns a request
body into checked values, refusing unknown attributes, attributes that may
not be set on create or update, and bad values, with Neutron's messages.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
import uuid
from typing import Any, Callable

from stacklet.network.errors import BadRequest, InvalidInput

NO_DEFAULT = object()


class Invalid(ValueError):
    """A value that does not convert; the message is Neutron's "Reason"."""


@dataclasses.dataclass(frozen=True)
class Attr:
    convert: Callable[[Any], Any] | None = None   # value -> value; raises Invalid
    post: bool = True                             # may be given on create
    put: bool = False                             # may be given on update
    required: bool = False                        # must be given on create
    default: Any = NO_DEFAULT                     # filled in on create when absent


def parse_body(body: Any, resource: str, attrs: dict[str, Attr], *,
               update: bool = False) -> dict:
    """The checked attributes of one resource in a request body ``{resource: {...}}``."""
    if not isinstance(body, dict) or not isinstance(body.get(resource), dict):
        raise BadRequest(f"Unable to find '{resource}' in request body")
    return check_attributes(body[resource], attrs, update=update)


def check_attributes(values: dict, attrs: dict[str, Attr], *, update: bool = False) -> dict:
    unknown = sorted(set(values) - set(attrs))
    if unknown:
        raise BadRequest(f"Unrecognized attribute(s) '{', '.join(unknown)}'")
    result = {}
    for name, attr in attrs.items():
        if name not in values:
            if update:
                continue
            if attr.required:
                raise BadRequest(f"Failed to parse request. Required attribute '{name}' "
                                 "not specified")
            if attr.default is not NO_DEFAULT:
                default = attr.default
                result[name] = default() if callable(default) else default
            continue
        if update and not attr.put:
            raise BadRequest(f"Cannot update read-only attribute {name}")
        if not update and not attr.post:
            raise BadRequest(f"Attribute '{name}' not allowed in POST")
        value = values[name]
        if attr.convert is not None:
            try:
                value = attr.convert(value)
            except Invalid as exc:
                raise InvalidInput(f"Invalid input for {name}. Reason: {exc}.") from None
        result[name] = value
    # tenant_id is the older name of project_id; both may be given, but alike.
    if "tenant_id" in result or "project_id" in result:
        tenant, project = result.pop("tenant_id", None), result.get("project_id")
        if tenant and project and tenant != project:
            raise BadRequest("'project_id' and 'tenant_id' do not match")
        result["project_id"] = project or tenant
    return result


# -- converters ------------------------------------------------------------------------

def string(max_length: int = 255) -> Callable[[Any], str]:
    def convert(value: Any) -> str:
        if not isinstance(value, str):
            raise Invalid(f"'{value}' is not a valid string")
        if len(value) > max_length:
            raise Invalid(f"'{value}' exceeds maximum length of {max_length}")
        return value
    return convert


def nullable(convert: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda value: None if value is None else convert(value)


_TRUE = ("true", "1", "t", "on", "y", "yes")
_FALSE = ("false", "0", "f", "off", "n", "no")


def boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, (str, int)) and str(value).strip().lower() in _TRUE + _FALSE:
        return str(value).strip().lower() in _TRUE
    raise Invalid(f"'{value}' cannot be converted to boolean")


# What an INTEGER column holds in PostgreSQL and MariaDB (Neutron's columns).
INT_MAX = 2**31 - 1


def integer(minimum: int | None = None, maximum: int = INT_MAX) -> Callable[[Any], int]:
    def convert(value: Any) -> int:
        if isinstance(value, bool):
            raise Invalid(f"'{value}' is not an integer")
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise Invalid(f"'{value}' is not an integer") from None
        if isinstance(value, float) and value != number:
            raise Invalid(f"'{value}' is not an integer")
        if minimum is not None and number < minimum:
            raise Invalid(f"'{number}' should be greater than or equal to {minimum}")
        if number > maximum:
            raise Invalid(f"'{number}' should be less than or equal to {maximum}")
        return number
    return convert


def one_of(*choices: Any) -> Callable[[Any], Any]:
    def convert(value: Any) -> Any:
        if value not in choices:
            raise Invalid(f"'{value}' is not in {list(choices)}")
        return value
    return convert


def uuid_string(value: Any) -> str:
    try:
        uuid.UUID(str(value))
    except ValueError:
        raise Invalid(f"'{value}' is not a valid UUID") from None
    if not isinstance(value, str):
        raise Invalid(f"'{value}' is not a valid UUID")
    return value


def list_of(convert: Callable[[Any], Any], *, unique: bool = False) -> Callable[[Any], list]:
    def convert_list(value: Any) -> list:
        if not isinstance(value, list):
            raise Invalid(f"'{value}' is not a list")
        items = [convert(item) for item in value]
        if unique:
            seen = set()
            for item in items:
                key = repr(item)
                if key in seen:
                    raise Invalid(f"Duplicate items in the list: '{item}'")
                seen.add(key)
        return items
    return convert_list


def dictionary(value: Any) -> dict:
    if not isinstance(value, dict):
        raise Invalid(f"'{value}' is not a dictionary")
    return value


def ip_address(value: Any) -> str:
    """An IPv4 or IPv6 address in its canonical text."""
    if not isinstance(value, str):
        raise Invalid(f"'{value}' is not a valid IP address")
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        raise Invalid(f"'{value}' is not a valid IP address") from None
    # Neutron refuses the shortened IPv4 forms ("10.1") inet_aton accepts.
    if address.version == 4 and value.count(".") != 3:
        raise Invalid(f"'{value}' is not a valid IP address")
    return str(address)


def cidr(value: Any) -> str:
    """A network in CIDR form; host bits must be zero, as Neutron requires."""
    if not isinstance(value, str) or "/" not in value:
        raise Invalid(f"'{value}' is not a valid IP subnet")
    try:
        network = ipaddress.ip_network(value, strict=False)
    except ValueError:
        raise Invalid(f"'{value}' is not a valid IP subnet") from None
    if ipaddress.ip_interface(value).ip != network.network_address:
        raise Invalid(f"'{value}' isn't a recommended CIDR prefix, '{network}' is recommended")
    return str(network)


def ip_prefix(value: Any) -> str:
    """An address or network (remote_ip_prefix), kept as written, as Neutron's
    netaddr does: host bits stay ("10.2.3.4/24"), a bare address gets its
    full prefix length ("10.0.0.1/32")."""
    if not isinstance(value, str):
        raise Invalid(f"'{value}' is not a valid IP prefix")
    try:
        return str(ipaddress.ip_interface(value))
    except ValueError:
        raise Invalid(f"'{value}' is not a valid IP prefix") from None


def normalized_cidr(prefix: str) -> str:
    """The network of a prefix kept as written ("10.2.3.0/24" for "10.2.3.4/24")."""
    return str(ipaddress.ip_network(prefix, strict=False))


_MAC = re.compile(r"^([0-9a-fA-F]{2}[:-]){5}[0-9a-fA-F]{2}$")


def mac_address(value: Any) -> str:
    if not isinstance(value, str) or not _MAC.match(value):
        raise Invalid(f"'{value}' is not a valid MAC address")
    normalized = value.lower().replace("-", ":")
    first = int(normalized[:2], 16)
    if normalized == "00:00:00:00:00:00" or first & 1:
        raise Invalid(f"'{value}' is not a valid unicast MAC address")
    return normalized


# Attributes every resource shares (standard attributes and ownership).
def name_attr() -> Attr:
    return Attr(string(255), put=True, default="")


def description_attr() -> Attr:
    return Attr(string(255), put=True, default="")


def project_attrs() -> dict[str, Attr]:
    return {"project_id": Attr(string(255)), "tenant_id": Attr(string(255))}
