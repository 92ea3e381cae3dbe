# The base of every integration test (tests/integration/*.sh): source it first. Besides
# lib-base.sh (strict mode, fail/skip/assert_*) it makes the sandbox root $ROOT, under $T, a
# fresh temp dir removed at exit (every test writes only there), and names the kernels whose
# headers are installed: $KERNELS (all, oldest first), $KOLD and $KNEW (two distinct ones
# when there are two). Which pair shares an ABI is a property: see lib-kernels.sh.
source "$(dirname "${BASH_SOURCE[0]}")/lib-base.sh"
source "$KMB_TOP/tests/lib/lib-kernels.sh"
: "${KMBUILD:=$KMB_TOP/kmbuild}"
T=$(mktemp -d /tmp/kmbtest.XXXXXX)
ROOT=$T/root
mkdir -p "$ROOT"
cleanup() { [ "${KMB_KEEP:-}" ] || rm -rf "$T"; }
trap cleanup EXIT

# Tests never reach a package mirror by accident: headers are only fetched where a test
# sets up its own repository on 127.0.0.1 and says so.
export KMBUILD_HEADERS=${KMBUILD_HEADERS:-never}

# kmb ARGS...: run kmbuild against the sandbox root.
kmb() { "$KMBUILD" --root "$ROOT" "$@"; }

KERNELS=$(kernels_with_headers | tr '\n' ' ')
KOLD=$(awk '{print $1}' <<<"$KERNELS")
KNEW=$(awk '{print $NF}' <<<"$KERNELS")
[ -n "$KNEW" ] || skip "no Debian kernel headers installed (run scripts/install-deps)"

# Pretend kernels are installed in the sandbox: /lib/modules/<k> exists (headers stay on the host).
install_kernels() { local k; for k in "$@"; do mkdir -p "$ROOT/lib/modules/$k"; done; }

# mkmod DIR NAME [VERSION] [EXTRA_C]: write a small real module source tree with a dkms.conf.
mkmod() {
	local dir=$1 name=$2 ver=${3:-1.0} extra=${4:-}
	mkdir -p "$dir"
	cat >"$dir/$name.c" <<EOC
#include <linux/module.h>
#include <linux/init.h>
$extra
static int __init ${name}_init(void) { pr_info("$name loaded\n"); return 0; }
static void __exit ${name}_exit(void) { }
module_init(${name}_init);
module_exit(${name}_exit);
MODULE_LICENSE("GPL");
MODULE_VERSION("$ver");
EOC
	echo "obj-m := $name.o" >"$dir/Makefile"
	cat >"$dir/dkms.conf" <<EOC
PACKAGE_NAME="$name"
PACKAGE_VERSION="$ver"
BUILT_MODULE_NAME[0]="$name"
DEST_MODULE_LOCATION[0]="/extra"
AUTOINSTALL="yes"
EOC
}
