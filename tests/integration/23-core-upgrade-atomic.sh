#!/bin/bash
# An upgrade (v1 -> v2) never leaves a kernel without the module: v2 is staged and renamed
# over v1, and only then are v1's leftovers dropped. A staging failure (here: the staging
# path is taken by a directory, as ENOSPC or EIO would fail it) leaves v1 installed and
# byte-identical; a poller watching the module path during repeated upgrades never sees it
# missing.
source "$(dirname "$0")/../lib/lib-test.sh"
install_kernels "$KNEW"
sandbox_os debian
D=$ROOT/lib/modules/$KNEW/updates/dkms

# v1 ships two modules, v2 only the first: v1's second file must go once v2 is in.
mkpkg "$T/src/kmbt_up-1.0" kmbt_up 1.0 kmbt_up kmbt_upx
mkpkg "$T/src/kmbt_up-2.0" kmbt_up 2.0 kmbt_up
kmb add "$T/src/kmbt_up-1.0" >/dev/null
kmb add "$T/src/kmbt_up-2.0" >/dev/null
kmb -j2 build kmbt_up/1.0 -k "$KNEW" >/dev/null
kmb -j2 build kmbt_up/2.0 -k "$KNEW" >/dev/null
kmb install kmbt_up/1.0 -k "$KNEW" >/dev/null
assert_file "$D/kmbt_up.ko"
assert_file "$D/kmbt_upx.ko"
sum1=$(sha256sum "$D/kmbt_up.ko" "$D/kmbt_upx.ko")

# --- staging fails: v1 stays, untouched, and still recorded as installed ---
mkdir "$D/kmbt_up.ko.kmb-new"
expect_rc 6 kmb install kmbt_up/2.0 -k "$KNEW"
assert_contains "$OUT" "kmbt_up.ko.kmb-new"
rmdir "$D/kmbt_up.ko.kmb-new"
assert_eq "$(sha256sum "$D/kmbt_up.ko" "$D/kmbt_upx.ko")" "$sum1" "v1 files after a failed upgrade"
assert_eq "$(modinfo -F version "$D/kmbt_up.ko")" "1.0"
assert_contains "$(kmb status kmbt_up -k "$KNEW")" "kmbt_up/1.0, $KNEW, x86_64: installed"
assert_eq "$(readlink "$ROOT/var/lib/kmbuild/kmbt_up/kernel-$KNEW-x86_64")" "1.0/$KNEW/x86_64"
ls "$D" | grep -q kmb-new && fail "staged files left behind: $(ls "$D")"

# --- the upgrade itself: v2 in place, v1's extra module gone, index agrees ---
kmb install kmbt_up/2.0 -k "$KNEW" >/dev/null
assert_eq "$(modinfo -F version "$D/kmbt_up.ko")" "2.0"
assert_no_file "$D/kmbt_upx.ko"
grep -q '^updates/dkms/kmbt_up.ko:' "$ROOT/lib/modules/$KNEW/modules.dep" || fail "modules.dep lacks v2"
grep -q 'kmbt_upx' "$ROOT/lib/modules/$KNEW/modules.dep" && fail "modules.dep still lists v1's extra module"
st=$(kmb status kmbt_up)
assert_contains "$st" "kmbt_up/2.0, $KNEW, x86_64: installed"
assert_contains "$st" "kmbt_up/1.0, $KNEW, x86_64: built"
assert_no_file "$ROOT/var/lib/kmbuild/kmbt_up/1.0/$KNEW/x86_64/installed"

# --- back and forth under a poller: the path is never missing ---
(
	misses=0
	while [ ! -e "$T/stop" ]; do
		[ -e "$D/kmbt_up.ko" ] || misses=$((misses + 1))
	done
	echo $misses >"$T/misses"
) &
poller=$!
for i in 1 2 3 4 5 6; do
	kmb install kmbt_up/1.0 -k "$KNEW" >/dev/null
	kmb install kmbt_up/2.0 -k "$KNEW" >/dev/null
done
touch "$T/stop"
wait $poller
assert_eq "$(cat "$T/misses")" 0 "polls that found no module during 12 upgrades"
assert_eq "$(modinfo -F version "$D/kmbt_up.ko")" "2.0"
echo "ok: upgrade is old-or-new at every instant"
