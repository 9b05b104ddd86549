#!/bin/sh
# Installs the Debian packages named on the command line that are missing.
# Idempotent; needs root only when something is missing.

set -e

missing=
for p in "$@"; do
    s=$(dpkg-query -W -f '${Status}' "$p" 2>/dev/null || true)
    case "$s" in
        *" installed") ;;
        *) missing="$missing $p" ;;
    esac
done

[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
    echo "missing Debian packages:$missing" >&2
    echo "run this as root (or: sudo apt-get install$missing)" >&2
    exit 1
fi

echo "installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# The nginx and coturn packages would start system services where an init
# system runs; policy-rc.d stops that, so nothing of the host is touched.
rc=/usr/sbin/policy-rc.d
if [ ! -e $rc ]; then
    printf '#!/bin/sh\nexit 101\n' > $rc
    chmod +x $rc
    trap 'rm -f $rc' EXIT
fi
apt-get install -y -qq --no-install-recommends $missing >/dev/null
