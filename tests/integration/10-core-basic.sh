#!/bin/bash
# Register a real module, build it for two kernels at once against the real Debian headers,
# install, check with real modinfo/depmod output, status (text + JSON), uninstall, remove.
source "$(dirname "$0")/../lib/lib-test.sh"
[ "$KOLD" != "$KNEW" ] || skip "needs headers of two kernels (have: $KERNELS)"
install_kernels "$KOLD" "$KNEW"
sandbox_os debian
mkmod "$T/src/kmbt_basic" kmbt_basic 1.0

out=$(kmb add "$T/src/kmbt_basic")
assert_eq "$out" "kmbt_basic/1.0: added"
assert_file "$ROOT/usr/src/kmbt_basic-1.0/dkms.conf"
[ -L "$ROOT/var/lib/kmbuild/kmbt_basic/1.0/source" ] || fail "source symlink missing"
assert_eq "$(kmb status)" "kmbt_basic/1.0: added"
expect_rc 3 kmb add "$T/src/kmbt_basic"
assert_contains "$OUT" "already added"

# Two kernels in one call: both builds run at once under -j2.
kmb -j2 build kmbt_basic/1.0 -k "$KOLD" -k "$KNEW" >"$T/build.out"
for k in "$KOLD" "$KNEW"; do
	ko=$ROOT/var/lib/kmbuild/kmbt_basic/1.0/$k/x86_64/module/kmbt_basic.ko
	assert_file "$ko"
	assert_eq "$(modinfo -F vermagic "$ko" | awk '{print $1}')" "$k" "vermagic"
	assert_file "$ROOT/var/lib/kmbuild/kmbt_basic/1.0/$k/x86_64/log/make.log"
done
# strip -g happened: no .debug_info left
readelf -S "$ROOT/var/lib/kmbuild/kmbt_basic/1.0/$KNEW/x86_64/module/kmbt_basic.ko" |
	grep -q debug_info && fail "module not stripped"
# DKMS view: <m>/<v>/build, the directory each build is mounted on in its own namespace
[ -d "$ROOT/var/lib/kmbuild/kmbt_basic/1.0/build" ] || fail "<m>/<v>/build view missing"
kmb build kmbt_basic -k "$KNEW" | grep -q "already built for kernel $KNEW" || fail "no skip message"

st=$(kmb status kmbt_basic)
assert_contains "$st" "kmbt_basic/1.0, $KNEW, x86_64: built"
assert_contains "$st" "kmbt_basic/1.0, $KOLD, x86_64: built"

kmb install kmbt_basic/1.0 -k "$KOLD" -k "$KNEW" >/dev/null
for k in "$KOLD" "$KNEW"; do
	f=$ROOT/lib/modules/$k/updates/dkms/kmbt_basic.ko
	assert_file "$f"
	grep -q "^updates/dkms/kmbt_basic.ko:" "$ROOT/lib/modules/$k/modules.dep" ||
		fail "modules.dep of $k does not list the module"
	[ -L "$ROOT/var/lib/kmbuild/kmbt_basic/kernel-$k-x86_64" ] || fail "installed marker"
	# modprobe's view through the real index
	modinfo -b "$ROOT" -k "$k" -F filename kmbt_basic | grep -q "updates/dkms/kmbt_basic.ko" ||
		fail "modinfo -b cannot resolve the module for $k"
done
assert_contains "$(kmb status -k "$KNEW")" "kmbt_basic/1.0, $KNEW, x86_64: installed"

# JSON status parses and says the same.
kmb status --json | python3 -c '
import json,sys
d=json.load(sys.stdin)
st={(e["module"],e["kernel"]):e["state"] for e in d}
assert all(v=="installed" for v in st.values()), st
assert len(st)==2, st'

# log verb prints the make.log
kmb log kmbt_basic -k "$KNEW" | grep -q "kmbt_basic" || fail "log verb"

# installed file deleted behind our back: status says broken with the reason
mv "$ROOT/lib/modules/$KNEW/updates/dkms/kmbt_basic.ko" "$T/save.ko"
assert_contains "$(kmb status -k "$KNEW")" "broken (installed file missing"
mv "$T/save.ko" "$ROOT/lib/modules/$KNEW/updates/dkms/kmbt_basic.ko"

kmb uninstall kmbt_basic/1.0 -k "$KOLD" >/dev/null
assert_no_file "$ROOT/lib/modules/$KOLD/updates/dkms/kmbt_basic.ko"
grep -q kmbt_basic "$ROOT/lib/modules/$KOLD/modules.dep" && fail "modules.dep still lists it"
assert_contains "$(kmb status -k "$KOLD")" "kmbt_basic/1.0, $KOLD, x86_64: built"

kmb remove kmbt_basic/1.0 >/dev/null
assert_no_file "$ROOT/var/lib/kmbuild/kmbt_basic"
assert_no_file "$ROOT/lib/modules/$KNEW/updates/dkms/kmbt_basic.ko"
assert_no_file "$ROOT/usr/src/kmbt_basic-1.0"
assert_eq "$(kmb status)" ""

# Unknown things are clear errors with DKMS's codes.
expect_rc 4 kmb build nosuchmod -k "$KNEW"
assert_contains "$OUT" "not added"
expect_rc 2 kmb add "$T/does-not-exist"
expect_rc 2 kmb frobnicate
echo "ok"
