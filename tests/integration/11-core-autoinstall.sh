#!/bin/bash
# autoinstall as a job graph: a multi-module package, a BUILD_DEPENDS chain whose dependent
# imports a symbol the dependency exports, and one failing module among good ones, for two
# kernels. The failure is reported (exit 11) and stops nothing else.
source "$(dirname "$0")/../lib/lib-test.sh"
[ "$KOLD" != "$KNEW" ] || skip "needs headers of two kernels"
install_kernels "$KOLD" "$KNEW"
sandbox_os debian

# Multi-module package: two modules in subdirectories, one renamed on install.
d=$T/src/kmbt_multi
mod_source "$d/a" kmbt_ma 2.0
mod_source "$d/b" kmbt_mb 2.0
printf 'obj-m += a/kmbt_ma.o\nobj-m += b/kmbt_mb.o\n' >"$d/Makefile"
dkms_conf "$d" kmbt_multi 2.0 kmbt_ma kmbt_mb
printf '%s\n' 'BUILT_MODULE_LOCATION[0]="a"' 'BUILT_MODULE_LOCATION[1]="b/"' \
	'DEST_MODULE_NAME[1]="kmbt_mb_renamed"' >>"$d/dkms.conf"

# Dependency chain: kmbt_prov exports a symbol, kmbt_user uses it (BUILD_DEPENDS).
mkmod "$T/src/kmbt_prov" kmbt_prov 1.0 'int kmbt_prov_value(void) { return 42; }
EXPORT_SYMBOL_GPL(kmbt_prov_value);'
mkmod "$T/src/kmbt_user" kmbt_user 1.0
cat >"$T/src/kmbt_user/kmbt_user.c" <<'EOC'
#include <linux/module.h>
#include <linux/init.h>
extern int kmbt_prov_value(void);
static int __init kmbt_user_init(void) { return kmbt_prov_value() == 42 ? 0 : -EINVAL; }
module_init(kmbt_user_init);
MODULE_LICENSE("GPL");
EOC
# The dependent links against the provider's Module.symvers, named the way real dkms.conf
# files do it: through ${dkms_tree}. M= names DKMS's per-version build dir, which kmbuild
# maps onto this build's private dir.
cat >>"$T/src/kmbt_user/dkms.conf" <<'EOC'
MAKE[0]="make -C ${kernel_source_dir} M=${dkms_tree}/kmbt_user/1.0/build KBUILD_EXTRA_SYMBOLS=${dkms_tree}/kmbt_prov/1.0/${kernelver}/${arch}/build/Module.symvers modules"
EOC
echo 'BUILD_DEPENDS[0]="kmbt_prov"' >>"$T/src/kmbt_user/dkms.conf"

# A module that cannot build.
mkmod "$T/src/kmbt_broken" kmbt_broken 1.0 'this is not C;'

# Not autoinstalled.
mkmod "$T/src/kmbt_manual" kmbt_manual 1.0
sed -i 's/AUTOINSTALL="yes"/AUTOINSTALL=""/' "$T/src/kmbt_manual/dkms.conf"

for m in kmbt_multi kmbt_prov kmbt_user kmbt_broken kmbt_manual; do
	kmb add "$T/src/$m" >/dev/null
done

expect_rc 11 kmb -j2 autoinstall -k "$KOLD" -k "$KNEW"
echo "$OUT"
assert_contains "$OUT" "Autoinstall on $KNEW failed for module(s) kmbt_broken(10)."
assert_contains "$OUT" "Autoinstall on $KOLD failed for module(s) kmbt_broken(10)."
for k in "$KOLD" "$KNEW"; do
	for f in extra/kmbt_ma.ko extra/kmbt_mb_renamed.ko; do
		assert_file "$ROOT/lib/modules/$k/updates/dkms/${f#extra/}"
	done
	assert_file "$ROOT/lib/modules/$k/updates/dkms/kmbt_prov.ko"
	assert_file "$ROOT/lib/modules/$k/updates/dkms/kmbt_user.ko"
	assert_no_file "$ROOT/lib/modules/$k/updates/dkms/kmbt_manual.ko"
	# the dependent really imports the provider's symbol, and depmod knows the dependency
	grep -q "^updates/dkms/kmbt_user.ko: updates/dkms/kmbt_prov.ko" "$ROOT/lib/modules/$k/modules.dep" ||
		fail "modules.dep of $k lacks kmbt_user -> kmbt_prov: $(cat "$ROOT/lib/modules/$k/modules.dep")"
done
st=$(kmb status kmbt_broken)
assert_contains "$st" "kmbt_broken/1.0, $KNEW, x86_64: failed (make failed"
kmb log kmbt_broken -k "$KNEW" | grep -q "error" || fail "make.log of the failed build has no error"

# Everything current: autoinstall again is a fast no-op except the broken one.
kmb remove kmbt_broken >/dev/null
t0=$(date +%s%N)
out=$(kmb autoinstall -k "$KOLD" -k "$KNEW")
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
assert_contains "$out" "Nothing to do"
echo "no-op autoinstall: ${ms} ms"
[ "$ms" -lt 1000 ] || fail "no-op autoinstall took ${ms} ms"

# A dependency that failed: the dependent is reported, not built.
kmb remove kmbt_user >/dev/null
kmb uninstall kmbt_prov -k "$KNEW" >/dev/null
sed -i 's/return 42;/return 42 +;/' "$ROOT/usr/src/kmbt_prov-1.0/kmbt_prov.c"
kmb add "$T/src/kmbt_user" >/dev/null
expect_rc 11 kmb autoinstall -k "$KNEW" --force
assert_contains "$OUT" "kmbt_user/1.0 $KNEW x86_64: FAILED"
assert_contains "$OUT" "missing dependencies: kmbt_prov"
echo ok
