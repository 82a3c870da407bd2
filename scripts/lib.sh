# Shared helpers for scripts/quickstart, scripts/test and scripts/tempest.
# Source it; it sets REPO_ROOT and defines functions, it runs nothing itself.

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$REPO_ROOT/.venv"

# Progress lines go to stderr so they never mix with output a caller parses.
say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

run_as_root() {
    if [[ $EUID -eq 0 ]]; then
        "$@"
    elif command -v sudo >/dev/null; then
        sudo "$@"
    else
        die "need root (or sudo) to run: $*"
    fi
}

# Install the Debian packages that are not installed yet; a prepared machine
# pays one dpkg-query and no apt-get at all.
apt_install_missing() {
    local missing=() package
    for package in "$@"; do
        if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed"; then
            missing+=("$package")
        fi
    done
    [[ ${#missing[@]} -eq 0 ]] && return 0
    command -v apt-get >/dev/null || die "missing ${missing[*]} and no apt-get: install them yourself"
    say "installing Debian packages: ${missing[*]}"
    run_as_root apt-get update -qq
    run_as_root env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# python3-venv brings ensurepip; python3-dev and gcc are the fallback for a
# dependency without a wheel for this platform.
ensure_python_build_tools() {
    apt_install_missing python3 python3-venv python3-dev gcc
}

# What the tests need beyond Python: qemu-img makes the disk images the image
# service's format checks are tested against; then what real guests need.
ensure_test_packages() {
    apt_install_missing qemu-utils
    ensure_vm_packages
}

# What real guests need: QEMU itself; the tools `stacklet image build` makes
# stacklet-tiny with (mtools, dosfstools and syslinux for its boot disk; its
# Debian packages come from `apt-get download`); socat for each guest's
# metadata guestfwd; xorriso for config drives; ssh for the tests to log in,
# isolinux for their bootable ISO; novnc for the VNC console's web page.
ensure_vm_packages() {
    apt_install_missing qemu-system-x86 qemu-utils syslinux syslinux-common mtools dosfstools \
        socat xorriso openssh-client isolinux novnc
    ensure_network_packages
}

# What the network data plane runs: iproute2 (namespaces, nsenter is
# util-linux's), nftables (security groups, NAT), dnsmasq without its system
# service (DHCP in qdhcp- namespaces) and dnsmasq-utils' dhcp_release (the
# leases of deleted ports forgotten).
ensure_network_packages() {
    apt_install_missing iproute2 nftables dnsmasq-base dnsmasq-utils
}

# Make VENV_DIR a venv holding PIP_ARGS, reinstalling only when the inputs named
# by STAMP_INPUTS changed since the last successful install.
# Usage: ensure_venv VENV_DIR "what it is" "stamp input text" pip-args...
ensure_venv() {
    local venv_dir=$1 description=$2 stamp_input=$3
    shift 3
    local stamp="$venv_dir/.installed-stamp" wanted
    wanted=$(printf '%s' "$stamp_input" | sha256sum | cut -d' ' -f1)
    if [[ -x "$venv_dir/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$wanted" ]]; then
        echo "$description venv up to date (${venv_dir#"$REPO_ROOT"/})"
        return 0
    fi
    ensure_python_build_tools
    if [[ ! -x "$venv_dir/bin/python" ]]; then
        say "creating $description venv in ${venv_dir#"$REPO_ROOT"/}"
        python3 -m venv "$venv_dir"
    fi
    say "installing $description into ${venv_dir#"$REPO_ROOT"/} (pip install $*; takes a minute the first time)"
    "$venv_dir/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip
    "$venv_dir/bin/python" -m pip install -q --disable-pip-version-check "$@"
    printf '%s\n' "$wanted" >"$stamp"
    echo "$description installed in ${venv_dir#"$REPO_ROOT"/}"
}

# The project venv: Stacklet in editable mode with its test extras.  The stamp
# follows pyproject.toml, the only file that changes what pip would install.
ensure_project_venv() {
    ensure_venv "$VENV" "Stacklet" "$(cat "$REPO_ROOT/pyproject.toml")" -e "$REPO_ROOT[test]"
}

# A TCP port nobody listens on right now, on the loopback interface.
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Wait until URL answers with any HTTP status, up to SECONDS_MAX seconds
# (python3 rather than curl, which a minimal Debian lacks).
wait_for_url() {
    python3 - "$1" "${2:-60}" <<'PY'
import sys, time, urllib.error, urllib.request
url, deadline = sys.argv[1], time.monotonic() + float(sys.argv[2])
while time.monotonic() < deadline:
    try:
        urllib.request.urlopen(url, timeout=2).close()
        sys.exit(0)
    except urllib.error.HTTPError:
        sys.exit(0)
    except OSError:
        time.sleep(0.2)
sys.exit(1)
PY
}
