"""/extensions: the legacy v2 extension list that v2.1 clients still read.

Nova answers with a fixed list of the v2 extensions its v2.1 API took in
(microversions replaced extensions); it says nothing about a deployment, and
neither does this one, which names the extensions of the APIs this compute
service offers or refuses in Nova's words.
"""

from __future__ import annotations

from stacklet.common.api import ApiRequest, RouteTable
from stacklet.common.errors import NotFound

routes = RouteTable()

# What Nova shows for every entry: XML namespaces are gone, the date is fixed.
_NAMESPACE = "http://docs.openstack.org/compute/ext/fake_xml"
_UPDATED = "2014-12-03T00:00:00Z"

# alias → (name, description)
EXTENSIONS = {
    "NMN": ("Multinic", "Multiple network support."),
    "OS-DCF": ("DiskConfig", "Disk Management Extension."),
    "OS-EXT-AZ": ("ExtendedAvailabilityZone", "Extended Availability Zone support."),
    "OS-EXT-IMG-SIZE": ("ImageSize", "Adds image size to image listings."),
    "OS-EXT-IPS": ("ExtendedIps", "Adds type parameter to the ip list."),
    "OS-EXT-IPS-MAC": ("ExtendedIpsMac", "Adds mac address parameter to the ip list."),
    "OS-EXT-SRV-ATTR": ("ExtendedServerAttributes", "Extended Server Attributes support."),
    "OS-EXT-STS": ("ExtendedStatus", "Extended Status support."),
    "OS-FLV-DISABLED": ("FlavorDisabled", "Support to show the disabled status of a flavor."),
    "OS-FLV-EXT-DATA": ("FlavorExtraData", "Provide additional data for flavors."),
    "OS-SCH-HNT": ("SchedulerHints", "Pass arbitrary key/value pairs to the scheduler."),
    "OS-SRV-USG": ("ServerUsage", "Adds launched_at and terminated_at on Servers."),
    "os-access-ips": ("AccessIPs", "Access IPs support."),
    "os-admin-actions": ("AdminActions", "Enable admin-only server actions."),
    "os-admin-password": ("AdminPassword", "Admin password management support."),
    "os-aggregates": ("Aggregates", "Admin-only aggregate administration."),
    "os-attach-interfaces": ("AttachInterfaces", "Attach interface support."),
    "os-availability-zone": ("AvailabilityZone", "1. Add availability_zone to the Create "
                             "Server API. 2. Add availability zones describing."),
    "os-block-device-mapping": ("BlockDeviceMapping", "Block device mapping boot support."),
    "os-config-drive": ("ConfigDrive", "Config Drive Extension."),
    "os-console-output": ("ConsoleOutput", "Console log output support, with tailing ability."),
    "os-consoles": ("Consoles", "Interactive Console support."),
    "os-create-backup": ("CreateBackup", "Create a backup of a server."),
    "os-deferred-delete": ("DeferredDelete", "Instance deferred delete."),
    "os-evacuate": ("Evacuate", "Enables server evacuation."),
    "os-extended-quotas": ("ExtendedQuotas", "Adds ability for admins to delete quota and "
                           "optionally force the update Quota command."),
    "os-extended-services": ("ExtendedServices", "Extended services support."),
    "os-extended-services-delete": ("ExtendedServicesDelete",
                                    "Extended services deletion support."),
    "os-extended-volumes": ("ExtendedVolumes", "Extended Volumes support."),
    "os-flavor-access": ("FlavorAccess", "Flavor access support."),
    "os-flavor-extra-specs": ("FlavorExtraSpecs", "Flavors extra specs support."),
    "os-flavor-manage": ("FlavorManage", "Flavor create/delete API support."),
    "os-flavor-rxtx": ("FlavorRxtx", "Support to show the rxtx status of a flavor."),
    "os-flavor-swap": ("FlavorSwap", "Support to show the swap status of a flavor."),
    "os-hosts": ("Hosts", "Admin-only host administration."),
    "os-hypervisors": ("Hypervisors", "Admin-only hypervisor administration."),
    "os-instance-actions": ("InstanceActions", "View a log of actions and events taken on "
                            "an instance."),
    "os-instance-usage-audit-log": ("OSInstanceUsageAuditLog",
                                    "Admin-only Task Log Monitoring."),
    "os-keypairs": ("Keypairs", "Keypair Support."),
    "os-lock-server": ("LockServer", "Enable lock/unlock server actions."),
    "os-migrate-server": ("MigrateServer", "Enable migrate and live-migrate server actions."),
    "os-migrations": ("Migrations", "Provide data on migrations."),
    "os-multiple-create": ("MultipleCreate", "Allow multiple create in the Create Server "
                           "v2.1 API."),
    "os-networks": ("Networks", "Admin-only Network Management Extension."),
    "os-pause-server": ("PauseServer", "Enable pause/unpause server actions."),
    "os-quota-class-sets": ("QuotaClasses", "Quota classes management support."),
    "os-quota-sets": ("Quotas", "Quotas management support."),
    "os-rescue": ("Rescue", "Instance rescue mode."),
    "os-server-diagnostics": ("ServerDiagnostics", "Allow Admins to view server "
                              "diagnostics through server action."),
    "os-server-external-events": ("ServerExternalEvents", "Server External Event Triggers."),
    "os-server-group-quotas": ("ServerGroupQuotas", "Adds quota support to server groups."),
    "os-server-groups": ("ServerGroups", "Server group support."),
    "os-server-list-multi-status": ("ServerListMultiStatus", "Allow to filter the servers "
                                    "by a set of status values."),
    "os-server-password": ("ServerPassword", "Server password support."),
    "os-server-sort-keys": ("ServerSortKeys", "Add sorting support in get Server v2 API."),
    "os-server-start-stop": ("ServerStartStop", "Start/Stop instance compute API support."),
    "os-services": ("Services", "Services support."),
    "os-shelve": ("Shelve", "Instance shelve mode."),
    "os-simple-tenant-usage": ("SimpleTenantUsage", "Simple tenant usage extension."),
    "os-suspend-server": ("SuspendServer", "Enable suspend/resume server actions."),
    "os-tenant-networks": ("TenantNetworks", "Tenant-based Network Management Extension."),
    "os-used-limits": ("UsedLimits", "Provide data on limited resources that are being "
                       "used."),
    "os-user-data": ("UserData", "Add user_data to the Create Server API."),
    "os-user-quotas": ("UserQuotas", "Project user quota support."),
    "os-volume-attachment-update": ("VolumeAttachmentUpdate", "Support for updating a "
                                    "volume attachment."),
}


def _view(alias: str) -> dict:
    name, description = EXTENSIONS[alias]
    return {"alias": alias, "name": name, "description": description, "links": [],
            "namespace": _NAMESPACE, "updated": _UPDATED}


@routes.route("/v2.1/extensions", "GET")
def list_extensions(req: ApiRequest):
    req.authorize("os_compute_api:extensions", {})
    return {"extensions": [_view(alias) for alias in sorted(EXTENSIONS)]}


@routes.route("/v2.1/extensions/{alias}", "GET")
def show_extension(req: ApiRequest):
    req.authorize("os_compute_api:extensions", {})
    if req.path["alias"] not in EXTENSIONS:
        raise NotFound("The resource could not be found.")
    return {"extension": _view(req.path["alias"])}
