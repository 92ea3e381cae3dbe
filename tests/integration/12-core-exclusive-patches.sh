#!/bin/bash
# BUILD_EXCLUSIVE per package and per module, PATCH/PATCH_MATCH, two versions side by side.
source "$(dirname "$0")/../lib/lib-test.sh"
[ "$KOLD" != "$KNEW" ] || skip "needs headers of two kernels"
install_kernels "$KOLD" "$KNEW"

# Package excluded everywhere below 99: exit 77, nothing built.
mkmod "$T/src/kmbt_excl" kmbt_excl 1.0
echo 'BUILD_EXCLUSIVE_KERNEL_MIN="99.0"' >>"$T/src/kmbt_excl/dkms.conf"
kmb add "$T/src/kmbt_excl" >/dev/null
expect_rc 77 kmb build kmbt_excl -k "$KNEW"
assert_contains "$OUT" "BUILD_EXCLUSIVE"
# Nothing built: no build dir, no module; the decision and its reason are kept for status.
assert_no_file "$ROOT/var/lib/kmbuild/kmbt_excl/1.0/$KNEW/x86_64/module"
assert_no_file "$ROOT/var/lib/kmbuild/kmbt_excl/1.0/$KNEW/x86_64/build"
[ -z "$(find "$ROOT" -name 'kmbt_excl.ko*')" ] || fail "an excluded module was built"
assert_contains "$(kmb status kmbt_excl)" \
	"kmbt_excl/1.0, $KNEW, x86_64: excluded (kmbt_excl: BUILD_EXCLUSIVE_KERNEL_MIN=99.0 > $KNEW)"

# Per-module exclusion: module 1 only for exactly $KOLD; module 0 everywhere.
d=$T/src/kmbt_pm
mkpkg "$d" kmbt_pm 1.0 kmbt_pm0 kmbt_pm1
echo "BUILD_EXCLUSIVE_KERNEL[1]=\"^${KOLD//./\\.}\$\"" >>"$d/dkms.conf"
kmb add "$d" >/dev/null
kmb install kmbt_pm -k "$KOLD" -k "$KNEW" >/dev/null
assert_file "$ROOT/lib/modules/$KOLD/extra/kmbt_pm1.ko"
assert_file "$ROOT/lib/modules/$KNEW/extra/kmbt_pm0.ko"
assert_no_file "$ROOT/lib/modules/$KNEW/extra/kmbt_pm1.ko"

# Patches: one always, one only for $KNEW (PATCH_MATCH); the patched text ends up in the .ko.
p=$T/src/kmbt_patch
mkmod "$p" kmbt_patch 1.0
mkdir -p "$p/patches"
(cd "$T" && cp -r src/kmbt_patch a && cp -r src/kmbt_patch b &&
	sed -i 's/MODULE_LICENSE("GPL");/MODULE_LICENSE("GPL");\nMODULE_INFO(kmbt_always, "yes");/' b/kmbt_patch.c &&
	{ diff -u a/kmbt_patch.c b/kmbt_patch.c >"$p/patches/always.patch" || true; })
(cd "$T" && rm -rf a b && cp -r src/kmbt_patch a && cp -r src/kmbt_patch b &&
	sed -i 's|#include <linux/init.h>|#include <linux/init.h>\nMODULE_INFO(kmbt_new, "yes");|' b/kmbt_patch.c &&
	{ diff -u a/kmbt_patch.c b/kmbt_patch.c >"$p/patches/newonly.patch" || true; })
cat >>"$p/dkms.conf" <<EOC
PATCH[0]="always.patch"
PATCH[1]="newonly.patch"
PATCH_MATCH[1]="^${KNEW//./\\.}\$"
EOC
kmb add "$p" >/dev/null
kmb build kmbt_patch -k "$KOLD" -k "$KNEW" >/dev/null
ko_old=$ROOT/var/lib/kmbuild/kmbt_patch/1.0/$KOLD/x86_64/module/kmbt_patch.ko
ko_new=$ROOT/var/lib/kmbuild/kmbt_patch/1.0/$KNEW/x86_64/module/kmbt_patch.ko
assert_eq "$(modinfo -F kmbt_always "$ko_old")" "yes" "always.patch on $KOLD"
assert_eq "$(modinfo -F kmbt_always "$ko_new")" "yes" "always.patch on $KNEW"
assert_eq "$(modinfo -F kmbt_new "$ko_old")" "" "newonly.patch must not apply on $KOLD"
assert_eq "$(modinfo -F kmbt_new "$ko_new")" "yes" "newonly.patch on $KNEW"

# Two versions side by side: autoinstall picks the highest; installing the lower swaps back.
mkmod "$T/src/v1" kmbt_ver 1.9
mkmod "$T/src/v2" kmbt_ver 1.10
kmb add "$T/src/v1" >/dev/null
kmb add "$T/src/v2" >/dev/null
kmb autoinstall -k "$KNEW" >/dev/null
ko=$ROOT/lib/modules/$KNEW/extra/kmbt_ver.ko
assert_eq "$(modinfo -F version "$ko")" "1.10" "autoinstall picks the highest version"
assert_contains "$(kmb status kmbt_ver)" "kmbt_ver/1.9: added"
expect_rc 2 kmb install kmbt_ver -k "$KNEW"
assert_contains "$OUT" "say which"
kmb install kmbt_ver/1.9 -k "$KNEW" >/dev/null
assert_eq "$(modinfo -F version "$ko")" "1.9"
st=$(kmb status kmbt_ver)
assert_contains "$st" "kmbt_ver/1.9, $KNEW, x86_64: installed"
assert_contains "$st" "kmbt_ver/1.10, $KNEW, x86_64: built"
echo ok
