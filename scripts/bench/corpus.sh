#!/bin/bash
# The real-world corpus (issue 11): every Debian 12 `*-dkms` package of main, contrib and
# non-free (NVIDIA's driver blobs and what depends on them excepted), built with Debian's DKMS
# 3.0.10 and with kmbuild, each in its own fresh debootstrap chroot, against the same kernel,
# with one `autoinstall` each and -j = number of CPUs for both. Compares the packages built,
# the set of installed .ko paths and modinfo's vermagic/srcversion per module, counts signed
# modules, and writes its section of docs/benchmarks.md (replacing an earlier one).
# Takes 30+ minutes; not part of `make check`.
#
# Usage: scripts/bench/corpus.sh [OUT.md]     (default docs/benchmarks.md; root; network)
#   K=<release>  kernel (default: the newest linux-headers-*-amd64 under /usr/src)
#   JOBS=<n>     -j for both (default: nproc)
#   KEEP=1       keep the work dir (chroots, logs) for a look afterwards
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
[ "$(id -u)" = 0 ] || { echo "corpus: needs root (debootstrap, chroot)" >&2; exit 1; }
# Every mount below lives in a private mount namespace and dies with it.
if [ -z "${KMB_CORPUS_NS:-}" ]; then
	exec unshare --mount --propagation private env KMB_CORPUS_NS=1 "$0" "$@"
fi
out=${1:-$top/docs/benchmarks.md}
JOBS=${JOBS:-$(nproc)}
K=${K:-$(ls /usr/src | sed -n 's/^linux-headers-\(.*-amd64\)$/\1/p' | sort -V | tail -n 1)}
[ -n "$K" ] || { echo "corpus: no kernel: set K=<release>" >&2; exit 1; }
[ -x "$top/kmbuild" ] || { echo "corpus: build kmbuild first (make)" >&2; exit 1; }
# shellcheck source=../../tests/e2e/lib.sh
source "$top/tests/e2e/lib.sh"
W=$(mktemp -d /var/tmp/kmb-corpus.XXXXXX)
cleanup() { e2e_umount_all; [ -n "${KEEP:-}" ] || rm -rf "$W"; }
trap cleanup EXIT
say() { echo "corpus: $*" >&2; }
load0=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- one fresh chroot per tool, the same packages in both ----------------------------------
# in_root DIR CMD...: run CMD in the chroot DIR/root.
in_root() { E2E_ROOT=$1/root in_chroot "${@:2}"; }

# new_root DIR: a fresh chroot with contrib and non-free, the kernel's headers, dkms, and
# autoinstall disabled while packages go in (DKMS's postinst would build them right away).
new_root() {
	local d=$1
	e2e_chroot_new "$d"
	# kmbuild's build workers make / a slave mount: give the chroot a root that is a mount
	# (recursive, so that proc, sys, dev and apt's archives stay visible).
	mount --rbind "$d/root" "$d/root"
	sed -i 's/ main$/ main contrib non-free/' "$d/root/etc/apt/sources.list"
	mkdir -p "$d/root/etc/dkms"
	touch "$d/root/etc/dkms/no-autoinstall"
	in_root "$d" apt-get update -q >"$d/apt.log" 2>&1
	in_root "$d" apt-get install -y -q --no-install-recommends dkms "linux-headers-$K" \
		>>"$d/apt.log" 2>&1 || { tail -n 20 "$d/apt.log" >&2; return 1; }
}

# The package list: every *-dkms name that ships a dkms.conf, minus NVIDIA and its dependants.
corpus_list() { # DIR -> package names on stdout
	local d=$1 p
	in_root "$d" apt-cache search --names-only -- '-dkms$' | awk '{print $1}' | sort -u |
		while read -r p; do
			case $p in nvidia-*) continue ;; esac
			in_root "$d" apt-cache depends "$p" </dev/null | grep -qiE "^ *\|?(Pre)?Depends: .*nvidia" && continue
			echo "$p"
		done >"$W/candidates"
	# One by one: apt-get download stops at the first name without a candidate.
	in_root "$d" bash -c 'cd /var/cache/apt/archives && while read -r p; do
		ls "${p}_"*.deb >/dev/null 2>&1 || apt-get download -q "$p" || true; done' \
		<"$W/candidates" >"$W/download.log" 2>&1
	while read -r p; do
		local deb
		deb=$(ls "$E2E_CACHE/archives/${p}_"*.deb 2>/dev/null | sort -V | tail -n 1) || true
		[ -n "$deb" ] || { say "$p: cannot download, left out"; continue; }
		dpkg-deb -c "$deb" | grep -q '/usr/src/[^/]*/dkms\.conf$' && echo "$p"
	done <"$W/candidates"
}

# install_corpus DIR PKGS...: all at once, else one by one (a broken one must not stop the rest).
install_corpus() {
	local d=$1 p; shift
	in_root "$d" apt-get install -y -q --no-install-recommends "$@" >>"$d/apt.log" 2>&1 && return
	for p in "$@"; do
		in_root "$d" apt-get install -y -q --no-install-recommends "$p" >>"$d/apt.log" 2>&1 ||
			say "$p: not installable in $d"
	done
}

# The module source trees the packages installed: /usr/src/<m>-<v> with a dkms.conf.
sources() { (cd "$1/root" && ls -d usr/src/*/dkms.conf 2>/dev/null | sed 's|/dkms.conf$||; s|^|/|'); }

say "kernel $K, -j$JOBS, work dir $W"
new_root "$W/dkms"
corpus_list "$W/dkms" >"$W/packages"
say "$(wc -l <"$W/packages") packages: $(tr '\n' ' ' <"$W/packages")"
# shellcheck disable=SC2046
install_corpus "$W/dkms" $(cat "$W/packages")
new_root "$W/kmb"
# shellcheck disable=SC2046
install_corpus "$W/kmb" $(cat "$W/packages")
install -m 755 "$top/kmbuild" "$W/kmb/root/usr/local/sbin/kmbuild"

# ---- DKMS 3.0.10: dkms add each, then one timed autoinstall -----------------------------------
rm -f "$W/dkms/root/etc/dkms/no-autoinstall"
for s in $(sources "$W/dkms"); do in_root "$W/dkms" dkms add "$s" >>"$W/dkms/add.log" 2>&1 || true; done
t0=$(date +%s%N)
in_root "$W/dkms" dkms autoinstall -k "$K" -j "$JOBS" >"$W/dkms/autoinstall.log" 2>&1 || true
dkms_ms=$((($(date +%s%N) - t0) / 1000000))
in_root "$W/dkms" dkms status -k "$K" >"$W/dkms/status" 2>&1 || true
say "dkms autoinstall: $((dkms_ms / 1000)) s"

# ---- kmbuild: kmbuild add each, then one timed autoinstall ------------------------------------
rm -f "$W/kmb/root/etc/dkms/no-autoinstall"
in_root "$W/kmb" kmbuild mok generate >"$W/kmb/mok.log" 2>&1
for s in $(sources "$W/kmb"); do in_root "$W/kmb" kmbuild add "$s" >>"$W/kmb/add.log" 2>&1 || true; done
t0=$(date +%s%N)
in_root "$W/kmb" kmbuild -j "$JOBS" --json autoinstall -k "$K" --no-initramfs \
	>"$W/kmb/autoinstall.json" 2>"$W/kmb/autoinstall.log" || true
kmb_ms=$((($(date +%s%N) - t0) / 1000000))
in_root "$W/kmb" kmbuild status -k "$K" >"$W/kmb/status" 2>&1 || true
say "kmbuild autoinstall: $((kmb_ms / 1000)) s"
load1=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- comparison -------------------------------------------------------------------------------
kos() { (cd "$1/root/lib/modules/$K" && find . -name '*.ko*' | sed 's|^\./||' | sort); }
kos "$W/dkms" >"$W/dkms.kos"
kos "$W/kmb" >"$W/kmb.kos"
ok_mods() { grep -E ': installed' "$1" | sed 's|/.*||' | sort -u; }
ok_mods "$W/dkms/status" >"$W/dkms.ok"
ok_mods "$W/kmb/status" >"$W/kmb.ok"
signed() { local n=0 f; while read -r f; do [ -n "$(modinfo -F signer "$1/root/lib/modules/$K/$f" 2>/dev/null)" ] && n=$((n + 1)); done <"$2"; echo "$n"; }
mism=0 mism_list=""
while read -r f; do
	for fld in vermagic srcversion; do
		a=$(modinfo -F "$fld" "$W/dkms/root/lib/modules/$K/$f" 2>/dev/null)
		b=$(modinfo -F "$fld" "$W/kmb/root/lib/modules/$K/$f" 2>/dev/null)
		[ "$a" = "$b" ] || { mism=$((mism + 1)); mism_list="$mism_list $f($fld)"; }
	done
done < <(comm -12 "$W/dkms.kos" "$W/kmb.kos")
# The longest single build of kmbuild's run: its critical path.
crit=$(python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))["results"]
b = max(r, key=lambda x: x["ms"]) if r else {"module": "-", "ms": 0}
print("%s %.1f" % (b["module"], b["ms"] / 1000))' "$W/kmb/autoinstall.json" 2>/dev/null || echo "- 0")
# Which package a module source belongs to, and each tool's result for it.
pkg_rows() {
	local s m
	for s in $(sources "$W/kmb"); do
		m=$(sed -n 's/^PACKAGE_NAME="\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' "$W/kmb/root$s/dkms.conf" | head -n 1)
		m=${m:-$(basename "$s" | sed 's/-[^-]*$//')}
		local p d k
		p=$(in_root "$W/kmb" dpkg -S "$s/dkms.conf" 2>/dev/null | cut -d: -f1)
		d=$(grep -E "^$m[/,]" "$W/dkms/status" | sed 's/.*: //' | head -n 1)
		k=$(grep -E "^$m/" "$W/kmb/status" | sed 's/.*: //' | head -n 1)
		echo "| ${p:-?} | $m | ${d:-not built} | ${k:-not built} |"
	done
}

npkg=$(wc -l <"$W/packages")
dk_ok=$(wc -l <"$W/dkms.ok")
kb_ok=$(wc -l <"$W/kmb.ok")
same_kos=$(cmp -s "$W/dkms.kos" "$W/kmb.kos" && echo yes || echo no)
ratio=$(awk -v a="$kmb_ms" -v b="$dkms_ms" 'BEGIN { printf "%.2f", b ? a / b : 0 }')
section=$W/section.md
{
	echo "## Real-world corpus (issue 11) — $(date -u +%F), kernel $K, $(nproc) CPUs, -j$JOBS"
	echo
	echo "Every Debian 12 \`*-dkms\` package of main, contrib and non-free that ships a dkms.conf,"
	echo "NVIDIA's driver blobs and what depends on them excepted ($npkg packages), each tool in"
	echo "its own fresh debootstrap chroot with the kernel's headers; one \`autoinstall\` each."
	echo "Load average before/after: $load0 / $load1."
	echo
	echo "| | modules installed (of $(sources "$W/kmb" | wc -l) sources) | .ko files | signed | autoinstall wall time |"
	echo "|---|---|---|---|---|"
	echo "| DKMS $(in_root "$W/dkms" dkms --version 2>/dev/null | awk '{print $NF}') | $dk_ok | $(wc -l <"$W/dkms.kos") | $(signed "$W/dkms" "$W/dkms.kos") | $((dkms_ms / 1000)) s |"
	echo "| kmbuild | $kb_ok | $(wc -l <"$W/kmb.kos") | $(signed "$W/kmb" "$W/kmb.kos") | $((kmb_ms / 1000)) s |"
	echo
	echo "* kmbuild / DKMS wall time: **${ratio}×** (target ≤ 0.6×); kmbuild's critical path (longest"
	echo "  single build): ${crit% *} ${crit#* } s."
	echo "* Same set of installed .ko paths: **$same_kos**."
	comm -23 "$W/dkms.kos" "$W/kmb.kos" | sed 's/^/  * only DKMS: /'
	comm -13 "$W/dkms.kos" "$W/kmb.kos" | sed 's/^/  * only kmbuild: /'
	echo "* vermagic/srcversion differences over the common modules: $mism${mism_list:+ (${mism_list# })}."
	comm -23 "$W/dkms.ok" "$W/kmb.ok" | sed 's/^/* installed by DKMS only: /'
	comm -13 "$W/dkms.ok" "$W/kmb.ok" | sed 's/^/* installed by kmbuild only: /'
	echo
	echo "| package | module | DKMS | kmbuild |"
	echo "|---|---|---|---|"
	pkg_rows
	echo
	echo "Commands (in each chroot, after \`apt-get install dkms linux-headers-$K <packages>\` with"
	echo "\`/etc/dkms/no-autoinstall\`, then removed): DKMS: \`dkms add /usr/src/<m>-<v>\` each, then"
	echo "\`dkms autoinstall -k $K -j $JOBS\`; kmbuild: \`kmbuild mok generate\`, \`kmbuild add"
	echo "/usr/src/<m>-<v>\` each, then \`kmbuild -j $JOBS autoinstall -k $K --no-initramfs\` (DKMS does"
	echo "not touch the initramfs either). Regenerate with \`scripts/bench/corpus.sh\` (30+ min)."
} >"$section"
cat "$section"

# Replace the section in OUT (from its heading to the next "## "), or append it.
python3 - "$out" "$section" <<'PY'
import re, sys
out, sec = sys.argv[1], open(sys.argv[2]).read().rstrip("\n") + "\n"
try:
    doc = open(out).read()
except FileNotFoundError:
    doc = "# Benchmarks\n"
m = re.search(r"^## Real-world corpus \(issue 11\).*?(?=^## |\Z)", doc, re.M | re.S)
doc = doc[:m.start()] + sec + "\n" + doc[m.end():] if m else doc.rstrip("\n") + "\n\n" + sec
open(out, "w").write(doc)
PY
say "wrote $out"
