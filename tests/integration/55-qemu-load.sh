#!/bin/bash
# Ground truth for kmbuild verify: boot the real Debian kernel ($KNEW's linux-image package)
# under qemu (TCG) with an initramfs that holds the defect modules exactly as the sandbox
# root verify looked at, try each with kmod's modprobe (by full path: busybox ash would run
# its own), and compare: every module verify flags with an error must fail to load, every
# other one must load. Then kmbuild doctor explains the kernel's real console log.
# Boot 1: no signature enforcement. Boot 2: module.sig_enforce=1, Secure Boot off.
source "$(dirname "$0")/../lib/lib-test.sh"
source "$(dirname "$0")/../lib/lib-verify.sh"
command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86 not installed"
[ -x /bin/busybox ] || skip "busybox-static not installed"
command -v cpio >/dev/null || skip "cpio not installed"
START=$SECONDS

IMGROOT=$(deb_linux_image "$KNEW") || skip "cannot download linux-image-$KNEW"
VMLINUZ=$IMGROOT/boot/vmlinuz-$KNEW
[ -f "$VMLINUZ" ] || fail "no $VMLINUZ in the package"

# Zero false positives: every module of the real kernel package, as installed (depmod run).
set +e
"$KMBUILD" --root "$IMGROOT" verify -k "$KNEW" --all --json >"$T/tree.json"; rc=$?
set -e
assert_eq "$rc" 0 "verify --all on the unmodified $KNEW package"
python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
k = d["kernels"][0]
assert k["tree_files"] > 3000, k["tree_files"]
assert k["findings"] == [], k["findings"][:5]
print("verify --all: %d modules of linux-image-%s, no finding" % (k["tree_files"], k["kernel"]))' "$T/tree.json" ||
	fail "findings on a healthy Debian kernel tree"

# --- the module tree, as in 50-verify.sh ---------------------------------------------------
kmbt_defect_sandbox
cp "$M/new/"{kmbgood,kmbneedsb,kmbneedsc,kmbprovc,kmbunknown,kmbcrc,kmbpropr,kmbsbok,kmbsbunsigned}.ko "$D/"
cp "$M/v2/kmbprova.ko" "$D/"
[ -z "$SAME" ] || cp "$M/same/kmbsameabi.ko" "$D/"
[ -z "$OTHER" ] || cp "$M/abi/kmboldabi.ko" "$D/"
cp "$IMGROOT/lib/modules/$KNEW/modules.builtin"* "$IMGROOT/lib/modules/$KNEW/modules.order" \
	"$ROOT/lib/modules/$KNEW/"
depmod -b "$ROOT" "$KNEW"
rm "$D/kmbprovc.ko"
cp "$M/new/kmbstale.ko" "$D/"

BOOT1="kmbgood ${SAME:+kmbsameabi} kmbprova ${OTHER:+kmboldabi} kmbneedsb kmbneedsc kmbunknown kmbcrc"
BOOT1="$BOOT1 kmbpropr kmbstale"
BOOT2="kmbgood kmbsbok kmbsbunsigned"

# predicted JSON MODULE -> "fail" if verify reports an error for it, else "load"
predicted() {
	python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
bad = any(f["module"] == sys.argv[2] and f["severity"] == "error"
          for k in d["kernels"] for f in k["findings"])
print("fail" if bad else "load")' "$1" "$2"
}

set +e
kmb verify -k "$KNEW" --all --json >"$T/v1.json"
mkdir -p "$ROOT/etc/default"
echo 'GRUB_CMDLINE_LINUX="module.sig_enforce=1"' >"$ROOT/etc/default/grub"
kmb verify -k "$KNEW" --all --json >"$T/v2.json"
set -e
python3 -m json.tool "$T/v1.json" >/dev/null || fail "verify --json"

# --- the initramfs -------------------------------------------------------------------------
mkinitrd() { # OUT MODULES...
	local out=$1 ir=$T/ir
	shift
	rm -rf "$ir"
	mkdir -p "$ir"/{bin,sbin,usr/bin,proc,sys,dev,tmp,lib/modules}
	cp /bin/busybox "$ir/bin/busybox"
	for a in sh mount echo cat dmesg poweroff sleep tr; do ln -s busybox "$ir/bin/$a"; done
	cp /usr/bin/kmod "$ir/usr/bin/kmod"
	ln -s ../usr/bin/kmod "$ir/sbin/modprobe"
	local lib
	for lib in $(ldd /usr/bin/kmod | grep -o '/[^ ]*'); do
		mkdir -p "$ir$(dirname "$lib")"
		cp -L "$lib" "$ir$lib"
	done
	cp -a "$ROOT/lib/modules/$KNEW" "$ir/lib/modules/"
	echo "$*" >"$ir/modlist"
	cat >"$ir/init" <<'EOF'
#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
echo KMBTEST-BEGIN
for m in $(cat /modlist); do
	/sbin/modprobe "$m" >/tmp/out 2>&1
	rc=$?
	echo "KMBTEST-RESULT $m rc=$rc $(tr '\n' ' ' </tmp/out)"
done
echo KMBTEST-DMESG-BEGIN
dmesg
echo KMBTEST-DMESG-END
poweroff -f
EOF
	chmod +x "$ir/init"
	(cd "$ir" && find . | cpio -o -H newc --quiet | gzip -1) >"$out"
}

boot() { # INITRD APPEND LOG
	timeout 100 qemu-system-x86_64 -accel tcg -m 512 -smp 1 -nographic -no-reboot \
		-kernel "$VMLINUZ" -initrd "$1" -append "console=ttyS0 panic=-1 rdinit=/init quiet $2" \
		</dev/null >"$3" 2>&1 || true
	grep -q KMBTEST-DMESG-END "$3" || fail "the VM did not finish: $(tail -n 20 "$3")"
}

actual() { # LOG MODULE -> load|fail
	local rc
	rc=$(sed -n "s/^KMBTEST-RESULT $2 rc=\([0-9]*\).*/\1/p" "$1" | tr -d '\r')
	[ -n "$rc" ] || fail "no result for $2 in $1"
	[ "$rc" = 0 ] && echo load || echo fail
}

compare() { # JSON LOG MODULES...
	local json=$1 log=$2 m p a bad=0
	shift 2
	printf '%-14s %-9s %-9s\n' module verify kernel
	for m in "$@"; do
		p=$(predicted "$json" "$m")
		a=$(actual "$log" "$m")
		printf '%-14s %-9s %-9s\n' "$m" "$p" "$a"
		[ "$p" = "$a" ] || bad=1
	done
	[ $bad = 0 ] || fail "verify's prediction differs from the kernel's verdict ($log)"
}

mkinitrd "$T/initrd1.img" $BOOT1
boot "$T/initrd1.img" "" "$T/console1.log"
tr -d '\r' <"$T/console1.log" >"$T/c1"
compare "$T/v1.json" "$T/c1" $BOOT1
# The healthy ones load; the kernel says what load-failures.md says.
assert_eq "$(actual "$T/c1" kmbgood)" load "healthy module"
[ -z "$SAME" ] || assert_eq "$(actual "$T/c1" kmbsameabi)" load "module built for $SAME (same ABI)"
grep -q "kmbgood loaded" "$T/c1" || fail "kmbgood's init did not run"
if [[ $BOOT1 == *kmboldabi* ]]; then
	grep -q "kmboldabi: disagrees about version of symbol module_layout" "$T/c1" ||
		fail "kernel message for the other-ABI module"
fi
grep -q "kmbcrc: disagrees about version of symbol kmb_crc_fn" "$T/c1" || fail "CRC message"
grep -q "kmbpropr: Unknown symbol kmb_gpl_fn (err -2)" "$T/c1" || fail "GPL-only message"
grep -q "kmbneedsb: Unknown symbol kmb_b_fn (err -2)" "$T/c1" || fail "unknown symbol message"
grep -q "FATAL: Module kmbstale not found" "$T/c1" || fail "stale modules.dep message"

mkinitrd "$T/initrd2.img" $BOOT2
boot "$T/initrd2.img" "module.sig_enforce=1" "$T/console2.log"
tr -d '\r' <"$T/console2.log" >"$T/c2"
compare "$T/v2.json" "$T/c2" $BOOT2
grep -q "Loading of unsigned module is rejected" "$T/c2" || fail "unsigned rejection message"
grep -q "Loading of module with unavailable key is rejected" "$T/c2" || fail "untrusted key message"

# kmbuild doctor on the kernel's own log: every failed module is explained.
sed -n '/^KMBTEST-DMESG-BEGIN/,/^KMBTEST-DMESG-END/p' "$T/c1" >"$T/dmesg1.txt"
grep '^KMBTEST-RESULT' "$T/c1" | sed 's/^KMBTEST-RESULT [^ ]* rc=[0-9]* //' >>"$T/dmesg1.txt"
set +e; kmb doctor --dmesg "$T/dmesg1.txt" --json >"$T/doc.json"; rc=$?; set -e
assert_eq "$rc" 1 "doctor on the real log"
for m in $BOOT1; do
	[ "$(actual "$T/c1" "$m")" = fail ] || continue
	python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
sys.exit(0 if any(p["module"] == sys.argv[2] for p in d["problems"]) else 1)' "$T/doc.json" "$m" ||
		fail "doctor did not explain $m: $(cat "$T/doc.json")"
done
echo "55-qemu-load: ok ($((SECONDS - START)) s)"
