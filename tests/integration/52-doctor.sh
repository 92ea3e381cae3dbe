#!/bin/bash
# kmbuild doctor: explanations of the kernel's exact refusal messages (as observed booting a
# Debian 6.1 kernel, shared/reference/load-failures.md) against a sandbox holding the real
# modules that produce them, and of single module files. 55-qemu-load.sh runs doctor on a
# console log the real kernel wrote.
source "$(dirname "$0")/../lib/lib-test.sh"
source "$(dirname "$0")/../lib/lib-verify.sh"

kmbt_defect_sandbox
cp "$M/new/kmbgood.ko" "$M/new/kmbcrc.ko" "$M/new/kmbpropr.ko" "$M/new/kmbneedsb.ko" \
	"$M/new/kmbsbunsigned.ko" "$M/v2/kmbprova.ko" "$D/"
[ -z "$OTHER" ] || cp "$M/abi/kmboldabi.ko" "$D/"
depmod -b "$ROOT" "$KNEW"

# A kernel log in dmesg format with each refusal, in the kernel's words.
cat >"$T/dmesg.txt" <<EOF
[    0.000000] Linux version $KNEW (debian-kernel@lists.debian.org) (gcc-12 (Debian 12.2.0-14+deb12u1) 12.2.0) #1 SMP PREEMPT_DYNAMIC Debian
[    1.234567] kmbgood: loading out-of-tree module taints kernel.
[    1.300000] kmboldabi: disagrees about version of symbol module_layout
[    1.400000] kmbcrc: disagrees about version of symbol kmb_crc_fn
[    1.400001] kmbcrc: Unknown symbol kmb_crc_fn (err -22)
[    1.500000] kmbpropr: module license 'Proprietary' taints kernel.
[    1.500001] Disabling lock debugging due to kernel taint
[    1.500002] kmbpropr: Unknown symbol kmb_gpl_fn (err -2)
[    1.600000] kmbneedsb: Unknown symbol kmb_b_fn (err -2)
[    1.700000] Loading of unsigned module is rejected
modprobe: ERROR: could not insert 'kmbsbunsigned': Key was rejected by service
modprobe: FATAL: Module kmbmissing not found in directory /lib/modules/$KNEW
EOF
set +e
kmb doctor --dmesg "$T/dmesg.txt" >"$T/doc.txt" 2>&1; rc=$?
kmb doctor --dmesg "$T/dmesg.txt" --json >"$T/doc.json" 2>"$T/doc.err"
set -e
cat "$T/doc.txt"
assert_eq "$rc" 1 "doctor exit code with problems"
python3 -m json.tool "$T/doc.json" >/dev/null || fail "doctor --json is not JSON"
[ ! -s "$T/doc.err" ] || fail "doctor --json wrote to stderr: $(cat "$T/doc.err")"

# kind_of MODULE: the problem kinds doctor found for it (JSON), sorted.
kind_of() {
	python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
print(";".join(sorted(p["kind"] for p in d["problems"] if p["module"] == sys.argv[2])))' "$T/doc.json" "$1"
}
assert_eq "$(kind_of kmboldabi)" "built for another kernel ABI"
assert_eq "$(kind_of kmbcrc)" "symbol version (CRC) mismatch" # the err -22 line is the same event
assert_eq "$(kind_of kmbpropr)" "GPL-only symbol in a non-GPL module"
assert_eq "$(kind_of kmbneedsb)" "needed module not installed"
assert_eq "$(kind_of kmbsbunsigned)" "signature rejected"
assert_eq "$(kind_of kmbmissing)" "not in modules.dep"
assert_eq "$(kind_of kmbgood)" "" # only a taint note: nothing wrong
TXT=$(cat "$T/doc.txt")
assert_contains "$TXT" "kmbprova exports kmb_gpl_fn with EXPORT_SYMBOL_GPL"
assert_contains "$TXT" "license is 'Proprietary'"
assert_contains "$TXT" "kmb_b_fn comes from kmbprovb"
assert_contains "$TXT" "else depmod -b $ROOT $KNEW"
[ -n "$OTHER" ] && assert_contains "$TXT" "kmboldabi was built for $OTHER"
assert_contains "$TXT" "not booted with UEFI"
kmbt_efivars "$ROOT" 1
set +e; kmb doctor --dmesg "$T/dmesg.txt" >"$T/doc-sb.txt" 2>&1; set -e
assert_contains "$(cat "$T/doc-sb.txt")" "Secure Boot is on"
rm -rf "$ROOT/sys"
assert_contains "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["kernel"])' "$T/doc.json")" "$KNEW"

# The same log as journalctl -k shows it.
sed -E 's/^\[ *[0-9.]+\] /Nov 26 21:00:00 host kernel: /; s/^modprobe: /Nov 26 21:00:01 host modprobe[412]: /' \
	"$T/dmesg.txt" >"$T/journal.txt"
set +e; kmb doctor --dmesg "$T/journal.txt" --json >"$T/j.json"; rc=$?; set -e
assert_eq "$rc" 1 "journal-format log"
assert_eq "$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["problems"]))' "$T/j.json")" \
	"$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["problems"]))' "$T/doc.json")" \
	"same problems from the journal format"

# A clean log.
printf '[    0.000000] Linux version %s\n[    2.0] usbcore: registered new interface driver usb-storage\n' "$KNEW" >"$T/clean.txt"
expect_rc 0 kmb doctor --dmesg "$T/clean.txt"
assert_contains "$OUT" "no module load failure"

# Single files.
expect_rc 0 kmb doctor "$D/kmbgood.ko"
assert_contains "$OUT" "no problem found"
assert_contains "$OUT" "not signed"
expect_rc 1 kmb doctor "$D/kmbcrc.ko"
assert_contains "$OUT" "disagrees about version of symbol kmb_crc_fn"
if [ -n "$OTHER" ]; then
	expect_rc 1 kmb doctor -k "$KNEW" "$M/abi/kmboldabi.ko"
	assert_contains "$OUT" "module_layout"
	assert_contains "$OUT" "was built for $OTHER"
fi
# A file from another kernel with the same ABI: loads, and doctor says so.
if [ -n "$SAME" ]; then
	expect_rc 0 kmb doctor -k "$KNEW" "$M/same/kmbsameabi.ko"
	assert_contains "$OUT" "kmbsameabi was built for $SAME"
fi

# Bad input: one-line errors, documented exit codes.
expect_rc 4 kmb doctor "$T/nope.ko"
assert_contains "$OUT" "nope.ko"
expect_rc 4 kmb doctor --dmesg "$T/nope.txt"
expect_rc 2 kmb doctor
expect_rc 2 kmb doctor "$D/kmbgood.ko" --dmesg "$T/dmesg.txt"
echo "not a module" >"$T/text.ko"
expect_rc 1 kmb doctor -k "$KNEW" "$T/text.ko"
assert_contains "$OUT" "not an ELF file"
echo "52-doctor: ok"
