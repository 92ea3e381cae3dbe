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

# sandbox_os ID: the sandbox says it is distribution ID (/etc/os-release).
sandbox_os() { mkdir -p "$ROOT/etc" && printf 'ID=%s\n' "$1" >"$ROOT/etc/os-release"; }

# sandbox_hooks: kmbuild's kernel hooks, installed into the sandbox by the real installer,
# and the hooks pointed at the sandbox (KMBUILD_ROOT) and at this kmbuild.
sandbox_hooks() {
	export KMBUILD_ROOT=$ROOT KMBUILD
	DESTDIR=$ROOT SBINDIR=/usr/sbin KERNELHOOKDIR=/etc/kernel \
		KERNELINSTALLDIR=/usr/lib/kernel/install.d ALPMDIR=/usr/share/libalpm \
		SYSTEMDUNITDIR=/usr/lib/systemd/system "$KMB_TOP/hooks/install-hooks"
}

# mod_source DIR NAME [VERSION] [EXTRA_C]: DIR/NAME.c, a small real module.
mod_source() {
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
}

# dkms_conf DIR NAME VERSION MODULE...: DIR/dkms.conf of package NAME VERSION, autoinstalled,
# building MODULE... (module i is BUILT_MODULE_NAME[i], installed to /extra). Tests append
# what else they need.
dkms_conf() {
	local dir=$1 name=$2 ver=$3 i=0 m
	shift 3
	{
		printf 'PACKAGE_NAME="%s"\nPACKAGE_VERSION="%s"\n' "$name" "$ver"
		for m in "$@"; do
			printf 'BUILT_MODULE_NAME[%d]="%s"\nDEST_MODULE_LOCATION[%d]="/extra"\n' $i "$m" $i
			i=$((i + 1))
		done
		echo 'AUTOINSTALL="yes"'
	} >"$dir/dkms.conf"
}

# mkmod DIR NAME [VERSION] [EXTRA_C]: a source tree of one small real module with a dkms.conf.
mkmod() {
	mod_source "$@"
	echo "obj-m := $2.o" >"$1/Makefile"
	dkms_conf "$1" "$2" "${3:-1.0}" "$2"
}

# mkpkg DIR NAME VERSION MODULE...: a source tree of several small real modules, one Makefile
# and one dkms.conf building them all.
mkpkg() {
	local dir=$1 name=$2 ver=$3 m
	shift 3
	mkdir -p "$dir"
	: >"$dir/Makefile"
	for m in "$@"; do
		mod_source "$dir" "$m" "$ver"
		echo "obj-m += $m.o" >>"$dir/Makefile"
	done
	dkms_conf "$dir" "$name" "$ver" "$@"
}
