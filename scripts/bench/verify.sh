#!/bin/bash
# Benchmark of kmbuild verify (docs/verify.md):
#  1. `verify --all` over every module of a real Debian kernel package vs
#     `depmod -n -e -F System.map` over the same tree (and, closer in what it checks,
#     `depmod -n -e -E Module.symvers`), alternating in the same run; target ratio <= 1.0.
#  2. `verify` of kmbuild-managed modules only (3 modules installed with kmbuild); target
#     <= 100 ms.
# Prints a markdown table and the exact commands. Exit 1 when a target is missed.
# Usage: scripts/bench/verify.sh [ROUNDS]   (default 5; medians are reported)
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
rounds=${1:-5}
KMBUILD=${KMBUILD:-$top/kmbuild}
[ -x "$KMBUILD" ] || { echo "build kmbuild first (make kmbuild)" >&2; exit 2; }
T=$(mktemp -d /tmp/kmb-bench-verify.XXXXXX)
trap 'rm -rf "$T"' EXIT
fail() { echo "bench: $*" >&2; exit 2; }
KNEW=$(ls /usr/src | sed -n 's/^linux-headers-\(6\.1\.0-[0-9]*-amd64\)$/\1/p' | sort -V | tail -n 1)
[ -n "$KNEW" ] || fail "no Debian 6.1 kernel headers installed"
source "$top/tests/lib/lib-verify.sh"
IMG=$(deb_linux_image "$KNEW") || fail "cannot get linux-image-$KNEW"
NMOD=$(find "$IMG/lib/modules/$KNEW" -name '*.ko*' | wc -l)

now_ms() { echo $(($(date +%s%N) / 1000000)); }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : int((a[NR/2]+a[NR/2+1])/2)}'; }
timed() { # OUTFILE CMD...: append the wall time in ms of CMD
	local out=$1 t0 t1
	shift
	t0=$(now_ms)
	"$@" >/dev/null 2>&1 || true
	t1=$(now_ms)
	echo $((t1 - t0)) >>"$out"
}

V_ALL=("$KMBUILD" --root "$IMG" verify -k "$KNEW" --all)
D_F=(depmod -n -e -F "$IMG/boot/System.map-$KNEW" -b "$IMG" "$KNEW")
D_E=(depmod -n -e -E "/usr/src/linux-headers-$KNEW/Module.symvers" -b "$IMG" "$KNEW")
# Warm the page cache once so that no command pays for the first read.
"${V_ALL[@]}" >/dev/null 2>&1 || true
"${D_F[@]}" >/dev/null 2>&1 || true
for _ in $(seq "$rounds"); do
	timed "$T/v" "${V_ALL[@]}"
	timed "$T/df" "${D_F[@]}"
	timed "$T/de" "${D_E[@]}"
done
v=$(median <"$T/v")
df=$(median <"$T/df")
de=$(median <"$T/de")
ratio=$(awk -v a="$v" -v b="$df" 'BEGIN {printf "%.2f", a / b}')
ratio_e=$(awk -v a="$v" -v b="$de" 'BEGIN {printf "%.2f", a / b}')

# Managed modules only: a sandbox with three kmbuild-installed modules.
R=$T/root
mkdir -p "$R/lib/modules/$KNEW" "$T/src"
for m in benchone benchtwo benchthree; do
	mkdir -p "$T/src/$m"
	cat >"$T/src/$m/$m.c" <<EOF
#include <linux/module.h>
static int __init m_init(void) { pr_info("$m\n"); return 0; }
static void __exit m_exit(void) { }
module_init(m_init);
module_exit(m_exit);
MODULE_LICENSE("GPL");
EOF
	echo "obj-m := $m.o" >"$T/src/$m/Makefile"
	printf 'PACKAGE_NAME="%s"\nPACKAGE_VERSION="1.0"\nBUILT_MODULE_NAME[0]="%s"\nDEST_MODULE_LOCATION[0]="/extra"\nAUTOINSTALL="yes"\n' \
		"$m" "$m" >"$T/src/$m/dkms.conf"
	"$KMBUILD" --root "$R" add "$T/src/$m" >/dev/null
	"$KMBUILD" --root "$R" install "$m/1.0" -k "$KNEW" >/dev/null
done
V_M=("$KMBUILD" --root "$R" verify -k "$KNEW")
"${V_M[@]}" >/dev/null 2>&1 || true
for _ in $(seq $((rounds * 4))); do timed "$T/m" "${V_M[@]}"; done
vm=$(median <"$T/m")

ok1=$(awk -v r="$ratio" 'BEGIN {print (r <= 1.0) ? "yes" : "NO"}')
ok2=$([ "$vm" -le 100 ] && echo yes || echo NO)
cat <<EOF
## kmbuild verify benchmark ($(date -u +%Y-%m-%d), $(nproc) cores, medians of $rounds runs)

| what | command | median | target | met |
|---|---|---|---|---|
| verify --all, $NMOD modules of linux-image-$KNEW | \`kmbuild --root IMG verify -k $KNEW --all\` | $v ms | | |
| depmod, same tree, System.map | \`depmod -n -e -F IMG/boot/System.map-$KNEW -b IMG $KNEW\` | $df ms | | |
| depmod, same tree, Module.symvers (checks CRCs too) | \`depmod -n -e -E /usr/src/linux-headers-$KNEW/Module.symvers -b IMG $KNEW\` | $de ms | | |
| ratio verify / depmod -F | | $ratio | <= 1.0 | $ok1 |
| ratio verify / depmod -E | | $ratio_e | | |
| verify, 3 kmbuild-managed modules | \`kmbuild --root ROOT verify -k $KNEW\` | $vm ms | <= 100 ms | $ok2 |

IMG = $IMG (dpkg-deb -x of linux-image-$KNEW, then depmod -b IMG $KNEW).
Debian's linux-image packages ship a placeholder System.map (the real one is in the -dbg
package), so \`depmod -F\` resolves nothing there; \`-E Module.symvers\` is the like-for-like run.
EOF
[ "$ok1" = yes ] && [ "$ok2" = yes ]
