#!/bin/bash
# Core benchmarks (issue 2): kmbuild vs Debian's dkms on the same sources and headers.
# DKMS runs isolated: --dkmstree/--sourcetree plus a private mount namespace in which the
# sandbox's lib/modules is bind-mounted over /lib/modules (DKMS 3.0.10's depmod and
# kernel_source_dir use /lib/modules directly) and a sandbox dir over /var/lib/dkms; both
# tools sign with a sandbox MOK key. Medians of $RUNS runs, ratios from the same run.
# Usage: scripts/bench/core.sh [OUT.md]    (RUNS=5 by default)
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
KMB=$(mktemp /tmp/kmbuild-bench-bin.XXXXXX)
cp "$top/kmbuild" "$KMB" && chmod 755 "$KMB"
RUNS=${RUNS:-5}
# Without OUT the section goes to standard output (appended to by scripts/bench/all.sh).
[ -n "${1:-}" ] && exec >"$1"
K=$(ls /usr/src | sed -n 's/^linux-headers-\(.*-amd64\)$/\1/p' | sort -V | tail -n 1)
K2=$(ls /usr/src | sed -n 's/^linux-headers-\(.*-amd64\)$/\1/p' | sort -V | tail -n 2 | head -n 1)
W=$(mktemp -d /tmp/kmb-bench.XXXXXX)
trap 'rm -rf "$W" "$KMB"' EXIT
command -v dkms >/dev/null || { echo "dkms not installed (scripts/install-deps)" >&2; exit 1; }

median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
ms() {
	local t0 log=$W/ms.log
	t0=$(date +%s%N)
	"$@" >"$log" 2>&1 || { echo "bench: failed: $*" >&2; cat "$log" >&2; return 1; }
	echo $((($(date +%s%N) - t0) / 1000000))
}

mkmod() { # dir name
	mkdir -p "$1"
	cat >"$1/$2.c" <<EOC
#include <linux/module.h>
static int __init m_init(void) { return 0; }
static void __exit m_exit(void) { }
module_init(m_init);
module_exit(m_exit);
MODULE_LICENSE("GPL");
EOC
	echo "obj-m := $2.o" >"$1/Makefile"
	printf 'PACKAGE_NAME="%s"\nPACKAGE_VERSION="1.0"\nBUILT_MODULE_NAME[0]="%s"\nDEST_MODULE_LOCATION[0]="/updates"\nAUTOINSTALL="yes"\n' "$2" "$2" >"$1/dkms.conf"
}

# One MOK pair for both tools.
openssl req -new -x509 -nodes -days 36500 -subj "/CN=bench key" -newkey rsa:2048 \
	-keyout "$W/mok.key" -outform DER -out "$W/mok.der" 2>/dev/null
chmod 600 "$W/mok.key"

new_sandbox() { # dir kernels...
	local d=$1; shift
	rm -rf "$d"; mkdir -p "$d/etc/kmbuild" "$d/dkms" "$d/src" "$d/varlibdkms"
	printf 'ID=debian\n' >"$d/etc/os-release"
	# kmbuild.conf paths are relative to the root prefix: the pair goes inside the sandbox.
	install -m 600 "$W/mok.key" "$d/etc/kmbuild/mok.key"
	cp "$W/mok.der" "$d/etc/kmbuild/mok.der"
	printf 'sign_key = /etc/kmbuild/mok.key\nsign_cert = /etc/kmbuild/mok.der\n' >"$d/etc/kmbuild/kmbuild.conf"
	for k in "$@"; do
		mkdir -p "$d/lib/modules/$k"
		ln -s "/usr/src/linux-headers-$k" "$d/lib/modules/$k/build"
	done
}
dkms_sb() { # sandbox, dkms args...
	local d=$1; shift
	unshare -m bash -c 'mount --bind "$1/lib/modules" /lib/modules &&
		mount --bind "$1/varlibdkms" /var/lib/dkms && shift &&
		exec env mok_signing_key="'"$W/mok.key"'" mok_certificate="'"$W/mok.der"'" \
		dkms --dkmstree "$0/dkms" --sourcetree "$0/src" --installtree /lib/modules "$@"' \
		"$d" "$d" "$@"
}

# 1. One module: add + build + install vs plain make.
mkmod "$W/one" kmbb_one
plain=() kmb=() dk=()
for i in $(seq "$RUNS"); do
	rm -rf "$W/p"; cp -r "$W/one" "$W/p"
	plain+=("$(ms make -C "/lib/modules/$K/build" M="$W/p" modules)")
	new_sandbox "$W/s" "$K"
	kmb+=("$(ms bash -c "'$KMB' --root '$W/s' add '$W/one' && '$KMB' --root '$W/s' install kmbb_one -k $K")")
	new_sandbox "$W/d" "$K"
	cp -r "$W/one" "$W/d/src/kmbb_one-1.0"
	dk+=("$(ms bash -c "$(declare -f dkms_sb); W='$W'; dkms_sb '$W/d' add -m kmbb_one -v 1.0 && dkms_sb '$W/d' install -m kmbb_one -v 1.0 -k $K")")
done
p1=$(printf '%s\n' "${plain[@]}" | median); k1=$(printf '%s\n' "${kmb[@]}" | median); d1=$(printf '%s\n' "${dk[@]}" | median)

# 2. autoinstall of 10 modules, one kernel and two kernels.
for i in $(seq 10); do mkmod "$W/ten/kmbb_m$i" "kmbb_m$i"; done
auto() { # kernels...
	local ka=() kd=() k
	for i in $(seq "$RUNS"); do
		new_sandbox "$W/s" "$@"
		for m in "$W"/ten/*; do "$KMB" --root "$W/s" add "$m" >/dev/null; done
		local kargs=""; for k in "$@"; do kargs="$kargs -k $k"; done
		ka+=("$(ms "$KMB" --root "$W/s" autoinstall $kargs)")
		[ "$(find "$W/s/lib/modules" -name 'kmbb_m*.ko' | wc -l)" = $((10 * $#)) ] || { echo "kmbuild autoinstall incomplete" >&2; exit 1; }
		new_sandbox "$W/d" "$@"
		for m in "$W"/ten/*; do cp -r "$m" "$W/d/src/$(basename "$m")-1.0"; dkms_sb "$W/d" add -m "$(basename "$m")" -v 1.0 >/dev/null; done
		kd+=("$(ms bash -c "$(declare -f dkms_sb); W='$W'; for k in $*; do dkms_sb '$W/d' autoinstall -k \$k || exit 1; done")")
		[ "$(find "$W/d/lib/modules" -name 'kmbb_m*.ko' | wc -l)" = $((10 * $#)) ] || { echo "dkms autoinstall incomplete" >&2; exit 1; }
	done
	echo "$(printf '%s\n' "${ka[@]}" | median) $(printf '%s\n' "${kd[@]}" | median)"
}
read -r a1k a1d < <(auto "$K")
read -r a2k a2d < <(auto "$K2" "$K")

# 3. status with 30 installed modules; 4. no-op autoinstall.
new_sandbox "$W/s" "$K"
new_sandbox "$W/d" "$K"
for i in $(seq 30); do
	mkmod "$W/thirty/kmbb_s$i" "kmbb_s$i"
	"$KMB" --root "$W/s" add "$W/thirty/kmbb_s$i" >/dev/null
	cp -r "$W/thirty/kmbb_s$i" "$W/d/src/kmbb_s$i-1.0"
	dkms_sb "$W/d" add -m "kmbb_s$i" -v 1.0 >/dev/null
done
"$KMB" --root "$W/s" autoinstall -k "$K" >/dev/null
dkms_sb "$W/d" autoinstall -k "$K" >/dev/null
[ "$("$KMB" --root "$W/s" status | grep -c installed)" = 30 ] || { echo "kmbuild: not 30 installed" >&2; exit 1; }
st_k=() st_d=() noop=()
for i in $(seq "$RUNS"); do
	st_k+=("$(ms "$KMB" --root "$W/s" status)")
	st_d+=("$(ms dkms_sb "$W/d" status)")
	noop+=("$(ms "$KMB" --root "$W/s" autoinstall -k "$K")")
done
sk=$(printf '%s\n' "${st_k[@]}" | median); sd=$(printf '%s\n' "${st_d[@]}" | median)
nk=$(printf '%s\n' "${noop[@]}" | median)
# Milliseconds are too coarse for status: time 100 runs in one go as well.
t0=$(date +%s%N); for i in $(seq 100); do "$KMB" --root "$W/s" status >/dev/null; done
sk100=$(awk -v ns=$(($(date +%s%N) - t0)) 'BEGIN{printf "%.2f", ns / 100 / 1e6}')

ratio() { awk -v a="$1" -v b="$2" 'BEGIN{r = a / b; printf (r < 0.01 ? "%.4f" : "%.2f"), r}'; }
{
echo "### Core (issue 2) — $(date -u +%Y-%m-%d), kernel $K (and $K2), $(nproc) CPUs, medians of $RUNS runs, times in ms"
echo
echo "| benchmark | plain make | kmbuild | dkms $(dkms --version | sed 's/dkms-//') | kmbuild / baseline | target |"
echo "|---|---|---|---|---|---|"
echo "| 1 module add+build+install | $p1 | $k1 | $d1 | $(ratio "$k1" "$p1")× plain make (dkms: $(ratio "$d1" "$p1")×) | ≤ 1.10× |"
echo "| autoinstall 10 modules, 1 kernel | | $a1k | $a1d | $(ratio "$a1k" "$a1d")× dkms | ≤ 0.5× |"
echo "| autoinstall 10 modules, 2 kernels | | $a2k | $a2d | $(ratio "$a2k" "$a2d")× dkms | ≤ 0.5× |"
echo "| status, 30 installed | | $sk ($sk100 avg of 100) | $sd | $(ratio "$sk100" "$sd")× dkms | ≤ 10 ms |"
echo "| autoinstall, all current (30 modules) | | $nk | | | ≤ 50 ms |"
echo
echo "Commands: \`RUNS=$RUNS scripts/bench/core.sh\`. Per run, fresh sandbox roots; kmbuild:"
echo "\`kmbuild --root S add DIR && kmbuild --root S install M -k K\`, \`kmbuild --root S autoinstall -k K [-k K2]\`,"
echo "\`kmbuild --root S status\`; dkms: \`dkms --dkmstree D/dkms --sourcetree D/src --installtree /lib/modules add|install|autoinstall|status\`"
echo "inside \`unshare -m\` with D/lib/modules bind-mounted on /lib/modules (one \`autoinstall -k\` per kernel: dkms takes one);"
echo "plain: \`make -C /lib/modules/K/build M=DIR modules\`. Both tools sign with the same RSA-2048 MOK."
}
