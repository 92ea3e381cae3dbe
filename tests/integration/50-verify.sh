#!/bin/bash
# kmbuild verify: real modules built against real Debian headers, each with one defect the
# kernel refuses (see shared/reference/load-failures.md), installed into a sandbox
# /lib/modules/$KNEW with the real depmod. verify must report exactly the defect's class for
# each, nothing for the healthy ones, the right exit code, and the same in --json.
# Then the state-driven mode (kmbuild add/install), and Secure Boot efivars fixtures.
source "$(dirname "$0")/../lib/lib-test.sh"
source "$(dirname "$0")/../lib/lib-verify.sh"

kmbt_defect_sandbox

# classes REPORT_JSON MODULE: the classes (sorted, unique) of errors+warnings for MODULE.
classes() {
	python3 -c '
import json, sys
doc = json.load(open(sys.argv[1]))
cls = sorted({f["class"] for k in doc["kernels"] for f in k["findings"]
              if f["module"] == sys.argv[2] and f["severity"] != "info"})
print(" ".join(cls))' "$1" "$2"
}
expect_class() { # JSON MODULE "CLASSES" [message regex]
	local got
	got=$(classes "$1" "$2")
	assert_eq "$got" "$3" "classes reported for $2"
	if [ -n "${4:-}" ]; then
		python3 -c '
import json, re, sys
doc = json.load(open(sys.argv[1]))
msgs = [f["message"] for k in doc["kernels"] for f in k["findings"] if f["module"] == sys.argv[2]]
sys.exit(0 if any(re.search(sys.argv[3], m) for m in msgs) else 1)' "$1" "$2" "$4" ||
			fail "no finding for $2 matches '$4': $(python3 -m json.tool "$1")"
	fi
}

# --- the defect matrix (not kmbuild-managed: checked with --all) -----------------------------
for m in kmbgood kmbneedsb kmbneedsc kmbprovc kmbunknown kmbcrc kmbpropr kmbsbok kmbsbunsigned \
	kmbsbother; do
	cp "$M/new/$m.ko" "$D/"
done
cp "$M/v2/kmbprova.ko" "$D/"         # v2 breaks kmbcrc (CRC) and kmbpropr (GPL-only)
[ -z "$SAME" ] || cp "$M/same/kmbsameabi.ko" "$D/"   # built for $SAME: same ABI, loads
[ -z "$OTHER" ] || cp "$M/abi/kmboldabi.ko" "$D/"    # built for $OTHER: another ABI
depmod -b "$ROOT" "$KNEW"
rm "$D/kmbprovc.ko"                  # listed in modules.dep, file gone
cp "$M/new/kmbstale.ko" "$D/"        # installed after depmod

set +e
kmb verify -k "$KNEW" --all --json >"$T/all.json" 2>"$T/all.err"
rc=$?
kmb verify -k "$KNEW" --all >"$T/all.txt" 2>&1
rc_text=$?
set -e
cat "$T/all.txt"
assert_eq "$rc" 2 "exit code with defects"
assert_eq "$rc_text" 2 "exit code of the text report"
[ ! -s "$T/all.err" ] || fail "stderr not empty: $(cat "$T/all.err")"
python3 -m json.tool "$T/all.json" >/dev/null || fail "--json output is not JSON"

for m in kmbgood kmbprova kmbsbok kmbsbunsigned kmbsbother ${SAME:+kmbsameabi}; do
	expect_class "$T/all.json" "$m" ""
done
[ -n "$SAME" ] ||
	echo "note: no Debian 6.1 headers with the same ABI as $KNEW available; same-ABI case skipped"
expect_class "$T/all.json" kmbneedsb symbols "Unknown symbol kmb_b_fn .err -2.: it depends on kmbprovb"
expect_class "$T/all.json" kmbneedsc "indexes symbols" "needs kmbprovc, which modules.dep lists"
expect_class "$T/all.json" kmbunknown symbols "Unknown symbol kmb_nobody_exports_this"
expect_class "$T/all.json" kmbcrc modversions "disagrees about version of symbol kmb_crc_fn"
expect_class "$T/all.json" kmbpropr symbols "GPL-only"
expect_class "$T/all.json" kmbstale indexes "not in modules.dep"
if [ -n "$OTHER" ]; then
	expect_class "$T/all.json" kmboldabi modversions \
		"disagrees about version of symbol module_layout.*built for $OTHER"
else
	echo "note: no Debian 6.1 headers with another ABI available; module_layout case skipped"
fi
# The text report groups by module and names the fix.
assert_contains "$(cat "$T/all.txt")" "will fail at boot"
assert_contains "$(grep -A3 '^  kmbstale' "$T/all.txt")" "fix: depmod -b $ROOT $KNEW"

# After depmod the index is current again: only the real defects remain.
rm "$D/kmbstale.ko"
depmod -b "$ROOT" "$KNEW"
set +e; kmb verify -k "$KNEW" --all --json >"$T/all2.json"; set -e
expect_class "$T/all2.json" kmbneedsc symbols
expect_class "$T/all2.json" kmbstale ""

# --- healthy only: exit 0, nothing reported ------------------------------------------------
H=$T/healthy
mkdir -p "$H/lib/modules/$KNEW/extra"
cp "$M/new/kmbgood.ko" "$M/v2/kmbprova.ko" ${SAME:+"$M/same/kmbsameabi.ko"} \
	"$H/lib/modules/$KNEW/extra/"
depmod -b "$H" "$KNEW"
expect_rc 0 "$KMBUILD" --root "$H" verify -k "$KNEW" --all
n=$(ls "$H/lib/modules/$KNEW/extra" | wc -l)
assert_contains "$OUT" "$KNEW: 0 kmbuild module files + $n in the module tree checked: ready"

# --- Secure Boot on, our key enrolled in MokListRT ------------------------------------------
S=$T/sb
mkdir -p "$S/lib/modules/$KNEW/extra"
cp "$M/new/kmbsbok.ko" "$M/new/kmbsbunsigned.ko" "$M/new/kmbsbother.ko" "$S/lib/modules/$KNEW/extra/"
depmod -b "$S" "$KNEW"
kmbt_efivars "$S" 1 "$M/keys/enrolled.der"
set +e; "$KMBUILD" --root "$S" verify -k "$KNEW" --all --json >"$T/sb.json"; rc=$?; set -e
assert_eq "$rc" 2 "exit code under Secure Boot"
expect_class "$T/sb.json" kmbsbok ""
expect_class "$T/sb.json" kmbsbunsigned signature "Loading of unsigned module is rejected"
expect_class "$T/sb.json" kmbsbother signature "not enrolled"
# Same modules, Secure Boot off and nothing enforcing: all three load (unsigned only taints).
kmbt_efivars "$S" 0
expect_rc 0 "$KMBUILD" --root "$S" verify -k "$KNEW" --all
# Secure Boot off but module.sig_enforce=1: MOK keys are not loaded, only built-in keys count.
mkdir -p "$S/etc/default"
echo 'GRUB_CMDLINE_LINUX="quiet module.sig_enforce=1"' >"$S/etc/default/grub"
set +e; "$KMBUILD" --root "$S" verify -k "$KNEW" --all --json >"$T/enf.json"; set -e
expect_class "$T/enf.json" kmbsbok signature "Secure Boot is off"
expect_class "$T/enf.json" kmbsbunsigned signature "module.sig_enforce=1"

# --- state-driven: kmbuild-managed modules only -----------------------------------------------
R=$T/managed
mkdir -p "$R/lib/modules/$KNEW" "$T/src"
mkmod "$T/src/hello" hello 1.0
mkmod "$T/src/later" later 1.0
"$KMBUILD" --root "$R" add "$T/src/hello" >/dev/null
"$KMBUILD" --root "$R" install hello/1.0 -k "$KNEW" >/dev/null
expect_rc 0 "$KMBUILD" --root "$R" verify
assert_contains "$OUT" "$KNEW: 1 kmbuild module file checked: ready"
# Registered, AUTOINSTALL=yes, never built for K: it would be missing after the reboot.
"$KMBUILD" --root "$R" add "$T/src/later" >/dev/null
set +e; "$KMBUILD" --root "$R" verify --json >"$T/cov.json"; rc=$?; set -e
assert_eq "$rc" 2 "exit code with a module not built for K"
expect_class "$T/cov.json" later coverage "registered but not built"
expect_class "$T/cov.json" hello ""
"$KMBUILD" --root "$R" install later/1.0 -k "$KNEW" >/dev/null
expect_rc 0 "$KMBUILD" --root "$R" verify -k "$KNEW"
# Someone replaces the installed file with a build for another ABI.
if [ -n "$OTHER" ]; then
	f=$(find "$R/lib/modules/$KNEW" -name 'hello.ko*' | head -n 1)
	cp "$M/abi/kmboldabi.ko" "$f"
	set +e; "$KMBUILD" --root "$R" verify --json >"$T/swap.json"; set -e
	# The file's module name is now kmboldabi, but it is reported as the installed hello.ko.
	expect_class "$T/swap.json" hello "coverage indexes modversions" "module_layout"
fi

# --- bad input ---------------------------------------------------------------------------------
expect_rc 2 "$KMBUILD" --root "$R" verify -k ../etc
assert_contains "$OUT" "not a kernel release"
expect_rc 2 "$KMBUILD" --root "$R" verify stray-arg
E=$T/empty
mkdir -p "$E"
expect_rc 4 "$KMBUILD" --root "$E" verify
assert_contains "$OUT" "no kernel installed"
echo "50-verify: ok"
