#!/bin/bash
# An exclusion is a decision that can be wrong: `status` shows it with its reason, and `verify`
# of the next kernel reports every module the running kernel has that the next one will not
# (excluded, failed, not built), with a fix command that, run as printed, fixes it.
source "$(dirname "$0")/../lib/lib-test.sh"
[ "$KOLD" != "$KNEW" ] || skip "needs headers of two kernels"
install_kernels "$KOLD" "$KNEW"
export KMBUILD_RUNNING_KERNEL=$KOLD # the sandbox "runs" the old kernel
only_old="^${KOLD//./\\.}\$"
# assert_contains matches a regex; these texts hold regexes themselves.
has() { [[ $1 == *"$2"* ]] || fail "'$2' not in: $1"; }

# kmbt_gone: built only for the running kernel (a BUILD_EXCLUSIVE that is wrong for the next).
mkmod "$T/src/gone" kmbt_gone 1.0
echo "BUILD_EXCLUSIVE_KERNEL=\"$only_old\"" >>"$T/src/gone/dkms.conf"
# kmbt_fails: its build fails for the next kernel only.
mkmod "$T/src/fails" kmbt_fails 1.0
printf 'MAKE[1]="exit 3"\nMAKE_MATCH[1]="^%s$"\n' "${KNEW//./\\.}" >>"$T/src/fails/dkms.conf"
# kmbt_manual: AUTOINSTALL off, so the kernel upgrade does not build it.
mkmod "$T/src/manual" kmbt_manual 1.0
sed -i '/^AUTOINSTALL/d' "$T/src/manual/dkms.conf"
# kmbt_never: excluded on the next kernel but never installed anywhere: not an error.
mkmod "$T/src/never" kmbt_never 1.0
echo 'BUILD_EXCLUSIVE_KERNEL="^9\."' >>"$T/src/never/dkms.conf"
# kmbt_fine: installed for both.
mkmod "$T/src/fine" kmbt_fine 1.0
for m in gone fails manual never fine; do kmb add "$T/src/$m" >/dev/null; done
for m in gone fails manual fine; do kmb install "kmbt_$m" -k "$KOLD" >/dev/null; done
expect_rc 11 kmb autoinstall -k "$KNEW"

# status: the exclusion and its reason.
has "$(kmb status kmbt_gone)" \
	"kmbt_gone/1.0, $KNEW, x86_64: excluded (kmbt_gone: BUILD_EXCLUSIVE_KERNEL=$only_old does not match $KNEW)"
assert_contains "$(kmb status kmbt_never)" "kmbt_never/1.0, $KNEW, x86_64: excluded ("
assert_contains "$(kmb status kmbt_fails)" "kmbt_fails/1.0, $KNEW, x86_64: failed ("

# verify of the next kernel: one error per module that the reboot loses.
set +e
kmb verify -k "$KNEW" --json >"$T/v.json"
rc=$?
kmb verify -k "$KNEW" >"$T/v.txt" 2>&1
set -e
cat "$T/v.txt"
assert_eq "$rc" 2 "verify exit code when modules go missing after the reboot"
finding() { # MODULE FIELD: that module's coverage error (message or fix)
	python3 -c '
import json, sys
doc = json.load(open(sys.argv[1]))
for k in doc["kernels"]:
    for f in k["findings"]:
        if f["module"] == sys.argv[2] and f["severity"] == "error" and f["class"] == "coverage":
            print(f[sys.argv[3]] or ""); sys.exit(0)
sys.exit(1)' "$T/v.json" "$1" "$2"
}
must_find() { finding "$@" || fail "no coverage error for $1: $(cat "$T/v.txt")"; }
lost="installed for the running kernel $KOLD but missing after the reboot into $KNEW"
has "$(must_find kmbt_gone message)" "$lost: excluded (kmbt_gone: BUILD_EXCLUSIVE_KERNEL="
has "$(must_find kmbt_fails message)" "$lost: its build failed (make failed (exit 3)"
has "$(must_find kmbt_manual message)" "$lost: AUTOINSTALL is off"
for m in kmbt_never kmbt_fine; do
	! finding "$m" message >/dev/null || fail "$m reported as lost: $(finding "$m" message)"
done
assert_contains "$(cat "$T/v.txt")" "will fail at boot"

# The fixes run as printed (kmbuild = the binary under test) and fix it.
runfix() { # MODULE
	local fix
	fix=$(must_find "$1" fix)
	echo "fix for $1: $fix"
	bash -c "${fix//kmbuild --root/$KMBUILD --root}" >/dev/null || fail "the fix for $1 failed: $fix"
}
runfix kmbt_gone
runfix kmbt_manual
assert_file "$ROOT/etc/dkms/kmbt_gone-1.0-$KNEW.conf"
assert_contains "$(kmb status kmbt_gone -k "$KNEW")" "kmbt_gone/1.0, $KNEW, x86_64: installed"
assert_contains "$(kmb status kmbt_manual -k "$KNEW")" "kmbt_manual/1.0, $KNEW, x86_64: installed"
# The failed build's fix needs the cause fixed first: here, the MAKE of the next kernel.
sed -i '/^MAKE/d' "$ROOT/usr/src/kmbt_fails-1.0/dkms.conf"
runfix kmbt_fails
expect_rc 0 kmb verify -k "$KNEW"
assert_contains "$OUT" "ready"

# Verifying the kernel that runs: nothing is "lost" by a reboot into itself.
kmb uninstall kmbt_fine -k "$KNEW" >/dev/null
KMBUILD_RUNNING_KERNEL=$KNEW expect_rc 2 kmb verify -k "$KNEW"
assert_contains "$OUT" "built for $KNEW but not installed"
[[ $OUT != *"missing after the reboot"* ]] || fail "reboot loss reported for the running kernel"
echo "53-verify-reboot: ok"
