#!/bin/bash
# Benchmark: sign N copies of a real kernel module (built here against the newest installed
# Debian headers) with `kmbuild sign -j2` (one process, two threads) vs a shell loop over the
# kernel's sign-file, same key, same hash. Every run starts from fresh unsigned copies (the
# copying is not timed). Prints a markdown table with medians and the exact commands.
#
# Usage: scripts/bench/sign.sh [N] [RUNS]     (defaults 1000 and 5)
# Env:   KMBUILD (binary, default ./kmbuild), BENCH_DIR (where the copies live, default $TMPDIR
#        or /tmp: the filesystem matters, it is reported), JOBS (default 2)
set -euo pipefail
N=${1:-1000}
RUNS=${2:-5}
JOBS=${JOBS:-2}
top=$(cd "$(dirname "$0")/../.." && pwd)
KMBUILD=${KMBUILD:-$top/kmbuild}
SIGNFILE=/usr/lib/linux-kbuild-6.1/scripts/sign-file
[ -x "$KMBUILD" ] || { echo "bench: build kmbuild first (make kmbuild)" >&2; exit 1; }
[ -x "$SIGNFILE" ] || { echo "bench: $SIGNFILE missing (apt-get install linux-kbuild-6.1)" >&2; exit 1; }
K=$(ls /usr/src | sed -n 's/^linux-headers-\(6\.1\.0-[0-9]*-amd64\)$/\1/p' | sort -V | tail -n 1)
[ -n "$K" ] || { echo "bench: no linux-headers-6.1.0-*-amd64 installed" >&2; exit 1; }

W=$(mktemp -d "${BENCH_DIR:-${TMPDIR:-/tmp}}/kmb-bench-sign.XXXXXX")
trap 'rm -rf "$W"' EXIT
trap 'exit 130' INT TERM
mkdir -p $W/root $W/src $W/mods

# A real module: kbuild against real headers.
cat >$W/src/benchmod.c <<'EOF'
#include <linux/module.h>
#include <linux/init.h>
static int __init benchmod_init(void) { pr_info("benchmod loaded\n"); return 0; }
static void __exit benchmod_exit(void) { }
module_init(benchmod_init);
module_exit(benchmod_exit);
MODULE_LICENSE("GPL");
EOF
echo 'obj-m := benchmod.o' >$W/src/Makefile
make -s -C /lib/modules/$K/build M=$W/src modules >$W/kbuild.log 2>&1 || { cat $W/kbuild.log; exit 1; }
MOD=$W/src/benchmod.ko
"$KMBUILD" --root $W/root -q mok generate
KEY=$W/root/var/lib/kmbuild/mok/kmbuild.key
CERT=$W/root/var/lib/kmbuild/mok/kmbuild.der

fresh() { # unsigned copies m1.ko .. mN.ko
	rm -rf $W/mods && mkdir $W/mods
	for i in $(seq 1 $N); do cp $MOD $W/mods/m$i.ko; done
	sync
}
now() { date +%s.%N; }
calc() { awk "BEGIN { print $* }"; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

kmb_times=() sync_times=() sf_times=()
for r in $(seq 1 $RUNS); do
	fresh
	t0=$(now)
	"$KMBUILD" --root $W/root -q -j$JOBS sign --hash sha256 $W/mods/*.ko
	t1=$(now)
	kmb_times+=("$(calc "$t1 - $t0")")
	fresh
	t0=$(now)
	"$KMBUILD" --root $W/root -q -j$JOBS sign --sync --hash sha256 $W/mods/*.ko
	t1=$(now)
	sync_times+=("$(calc "$t1 - $t0")")
	fresh
	t0=$(now)
	for f in $W/mods/*.ko; do "$SIGNFILE" sha256 $KEY $CERT $f; done
	t1=$(now)
	sf_times+=("$(calc "$t1 - $t0")")
	echo "run $r/$RUNS: kmbuild ${kmb_times[-1]} s, --sync ${sync_times[-1]} s," \
		"sign-file loop ${sf_times[-1]} s" >&2
done
# Same bytes from both (last run's sign-file output vs a kmbuild-signed copy).
cp $MOD $W/check.ko && "$KMBUILD" --root $W/root -q sign $W/check.ko
cmp $W/check.ko $W/mods/m1.ko || { echo "bench: outputs differ" >&2; exit 1; }

km=$(printf '%s\n' "${kmb_times[@]}" | median)
ks=$(printf '%s\n' "${sync_times[@]}" | median)
sm=$(printf '%s\n' "${sf_times[@]}" | median)
fs=$(stat -f -c %T $W)
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
printf '### Signing %d modules (%s, %d KiB each, sha256, RSA-2048)\n\n' $N "$K" $(($(stat -c %s $MOD) / 1024))
printf '| tool | median of %d runs | per module | speed-up |\n|---|---|---|---|\n' $RUNS
printf '| `kmbuild sign -j%d` (one process) | %.2f s | %.2f ms | %.1fx |\n' $JOBS $km \
	$(calc "$km * 1000 / $N") $(calc "$sm / $km")
printf '| `kmbuild sign -j%d --sync` (fsync before rename) | %.2f s | %.2f ms | %.1fx |\n' $JOBS $ks \
	$(calc "$ks * 1000 / $N") $(calc "$sm / $ks")
printf '| shell loop over `sign-file` | %.2f s | %.2f ms | 1.0x |\n\n' $sm $(calc "$sm * 1000 / $N")
load=$(cut -d' ' -f1-3 /proc/loadavg)
printf 'Machine: %s, %s cores, load average %s at the end, files on %s. Each run starts\n' \
	"$cpu" "$(nproc)" "$load" "$fs"
printf 'from %d fresh unsigned copies' $N
printf ' (copying not timed); both produce identical bytes (checked with cmp).\n\n'
printf 'Commands:\n\n```\nkmbuild --root ROOT -j%d sign [--sync] --hash sha256 mods/*.ko\n' $JOBS
printf 'for f in mods/*.ko; do %s sha256 KEY CERT $f; done\n```\n' "$SIGNFILE"
printf '\nkmbuild times (s): %s\nkmbuild --sync times (s): %s\nsign-file times (s): %s\n' \
	"${kmb_times[*]}" "${sync_times[*]}" "${sf_times[*]}"
