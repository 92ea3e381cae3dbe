# Shared helpers for integration tests. Source it; it sets -eu and a sandbox root.
# Every test writes only under $T (a fresh temp dir removed at exit).
set -euo pipefail
: "${KMB_TOP:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
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

fail() { echo "FAIL: $*" >&2; exit 1; }
skip() { echo "$*"; exit 77; }
assert_eq() { [ "$1" = "$2" ] || fail "${3:-values differ}: expected '$2', got '$1'"; }
assert_file() { [ -e "$1" ] || fail "missing file: $1"; }
assert_no_file() { [ ! -e "$1" ] || fail "file should not exist: $1"; }
assert_contains() { grep -q -- "$2" <<<"$1" || fail "${3:-output} does not contain '$2': $1"; }
# expect_rc N CMD...: run CMD, require exit code N; output in $OUT.
expect_rc() {
	local want=$1; shift
	set +e; OUT=$("$@" 2>&1); local rc=$?; set -e
	[ "$rc" = "$want" ] || fail "expected rc $want, got $rc from: $* -- $OUT"
}

# The Debian 6.1 kernels whose headers are installed (newest last), e.g. "6.1.0-55-amd64 6.1.0-56-amd64".
kernels_with_headers() {
	local k
	for k in $(ls /usr/src | sed -n 's/^linux-headers-\(6\.1\.0-[0-9]*-amd64\)$/\1/p' | sort -V); do
		[ -f "/usr/src/linux-headers-$k/Makefile" ] && echo "$k"
	done
}
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
