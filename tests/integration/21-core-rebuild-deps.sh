#!/bin/bash
# BUILD_DEPENDS_REBUILD: reinstalling a dependency rebuilds and reinstalls the installed
# modules that depend on it and ask for it; others are left alone.
source "$(dirname "$0")/../lib/lib-test.sh"
install_kernels "$KNEW"
mkmod "$T/prov" kmbt_rprov 1.0 'int kmbt_rprov_v(void) { return 1; }
EXPORT_SYMBOL(kmbt_rprov_v);'
mkmod "$T/dep" kmbt_rdep 1.0
printf 'BUILD_DEPENDS[0]="kmbt_rprov"\nBUILD_DEPENDS_REBUILD="yes"\n' >>"$T/dep/dkms.conf"
mkmod "$T/dep2" kmbt_rdep2 1.0
printf 'BUILD_DEPENDS[0]="kmbt_rprov"\n' >>"$T/dep2/dkms.conf"
for d in prov dep dep2; do kmb add "$T/$d" >/dev/null; done
kmb autoinstall -k "$KNEW" >/dev/null
rec=$ROOT/var/lib/kmbuild/kmbt_rdep/1.0/$KNEW/x86_64/record
rec2=$ROOT/var/lib/kmbuild/kmbt_rdep2/1.0/$KNEW/x86_64/record
t1=$(sed -n 's/^built_at=//p' "$rec"); t2=$(sed -n 's/^built_at=//p' "$rec2")
sleep 1.1
out=$(kmb install kmbt_rprov -k "$KNEW" --force)
echo "$out"
assert_contains "$out" "kmbt_rdep/1.0 $KNEW x86_64: installed"
[ "$(sed -n 's/^built_at=//p' "$rec")" -gt "$t1" ] || fail "kmbt_rdep was not rebuilt"
assert_eq "$(sed -n 's/^built_at=//p' "$rec2")" "$t2" "kmbt_rdep2 (no BUILD_DEPENDS_REBUILD) was rebuilt"
assert_contains "$(kmb status kmbt_rdep)" "installed"
echo ok
