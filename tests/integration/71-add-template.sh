#!/bin/bash
# kmbuild add NAME from the template catalogue, with real sources and real builds:
#  - v4l2loopback with the SHIPPED template, unchanged: its upstream tarball is not on the
#    mirror (404), so the Debian package is used: the real v4l2loopback-dkms .deb, served from
#    a signed miniature Debian repository on 127.0.0.1, must match the SHA256 the template
#    pins; then built for real against the installed headers;
#  - acpi_call the same way (shipped template, real .deb, real build);
#  - the cache: reused without a download, re-verified on every use (a corrupted entry is
#    fetched again);
#  - xtables-addons from an upstream-style tarball built at test time from the real
#    xtables-addons-dkms source, through the template_mirror rewrite (air-gapped fleets);
#    built for real (24 modules) for one kernel.
source "$(dirname "$0")/../lib/lib-test.sh"
source "$(dirname "$0")/../lib/lib-templates.sh"
for t in gpg gpgv dpkg-scanpackages dpkg-deb python3 xz modinfo; do
	command -v $t >/dev/null || skip "$t not installed (scripts/install-deps)"
done

V4L=$(get_dkms_deb v4l2loopback-dkms 0.12.7-2)
XTA=$(get_dkms_deb xtables-addons-dkms 3.23-1)
ACPI=$(get_dkms_deb acpi-call-dkms 1.2.2-2.1)
V4L_SUM=$(tpl_get "$TEMPLATES/v4l2loopback/template.conf" "source debian" sha256)
assert_eq "$(sha256sum <"$V4L" | cut -c1-64)" "$V4L_SUM" "shipped v4l2loopback .deb SHA256"

# The web: a signed repository with the real .deb, and a mirror tree <name>/<file>.
mkkey repo
build_repo "$T/www" bookworm repo "$V4L" "$ACPI"
mkdir -p "$T/xta" "$T/www/mirror/xtables-addons"
dpkg-deb -x "$XTA" "$T/xta"
XTAR=$T/www/mirror/xtables-addons/xtables-addons-3.23.tar.xz
tar -C "$T/xta/usr/src" --owner=0 --group=0 -cJf "$XTAR" xtables-addons-3.23
copy_catalogue
cmp "$T/templates/v4l2loopback/template.conf" "$TEMPLATES/v4l2loopback/template.conf"
# The test's archive is not upstream's: the copied template pins its sum instead.
tpl_set "$T/templates/xtables-addons/template.conf" "source upstream" sha256 \
	"$(sha256sum <"$XTAR" | cut -c1-64)"
tpl_set "$T/templates/xtables-addons/template.conf" "source upstream" size "$(stat -c %s "$XTAR")"
start_httpd "$T/www"
export KMBUILD_TEMPLATE_MIRROR=$URL/mirror KMBUILD_TEMPLATE_DEB_MIRROR=$URL/debian
export KMBUILD_TEMPLATE_DEB_KEYRING=$T/repo.gpg
install_kernels $KOLD $KNEW
CACHE=$ROOT/var/cache/kmbuild/sources

# --- v4l2loopback: upstream 404 on the mirror -> Debian package, verified, built ---
kmb add v4l2loopback >$T/add.out 2>$T/add.err || { cat $T/add.out $T/add.err; fail "add v4l2loopback"; }
assert_contains "$(cat $T/add.err)" "v4l2loopback-0.12.7.tar.gz.*trying \[source debian\]"
assert_contains "$(cat $T/add.out)" "$KNEW: not in the kernel, will be built"
assert_contains "$(cat $T/add.out)" "v4l2loopback/0.12.7: added from v4l2loopback-dkms 0.12.7-2"
assert_contains "$(cat $T/add.out)" "SHA256 $V4L_SUM verified"
grep -q "GET /mirror/v4l2loopback/v4l2loopback-0.12.7.tar.gz - 404" $T/httpd.log ||
	fail "the upstream tarball was not tried first on the mirror"
grep -q "GET /debian/dists/bookworm/InRelease" $T/httpd.log || fail "InRelease not read"
assert_file $ROOT/usr/src/v4l2loopback-0.12.7/v4l2loopback.c
# The template's definition is the one registered (it wins over the package's dkms.conf).
cmp $ROOT/usr/src/v4l2loopback-0.12.7/kmbuild.conf "$TEMPLATES/v4l2loopback/kmbuild.conf"
assert_eq "$(sha256sum <$CACHE/v4l2loopback-dkms_0.12.7-2.deb | cut -c1-64)" "$V4L_SUM" "cached .deb"
assert_eq "$(find $CACHE -mindepth 1 -maxdepth 1 -name '.work*' | wc -l)" 0 "work dir left"

kmb build v4l2loopback -k $KNEW >$T/build.out 2>&1 || { cat $T/build.out; fail "build v4l2loopback"; }
KO=$(find $ROOT/var/lib/kmbuild/v4l2loopback/0.12.7/$KNEW -path '*/module/v4l2loopback.ko*' | head -n 1)
[ -n "$KO" ] || fail "no v4l2loopback.ko built"
assert_contains "$(modinfo -F vermagic "$KO")" "^$KNEW "
assert_eq "$(modinfo -F description "$KO")" "V4L2 loopback video device" "module description"
echo "ok: v4l2loopback from the Debian package (real SHA256), built for $KNEW"

# acpi_call the same way: the shipped template's sum is that of Debian's real .deb.
kmb add acpi_call >$T/acpi.out 2>&1 || { cat $T/acpi.out; fail "add acpi_call"; }
assert_contains "$(cat $T/acpi.out)" "acpi_call/1.2.2: added from acpi-call-dkms 1.2.2-2.1"
kmb build acpi_call -k $KNEW >$T/acpib.out 2>&1 || { cat $T/acpib.out; fail "build acpi_call"; }
KO=$(find $ROOT/var/lib/kmbuild/acpi_call/1.2.2/$KNEW -path '*/module/acpi_call.ko*' | head -n 1)
[ -n "$KO" ] || fail "no acpi_call.ko built"
assert_contains "$(modinfo -F vermagic "$KO")" "^$KNEW "
echo "ok: acpi_call from the Debian package (real SHA256), built for $KNEW"

# --- the cache: reused without a download; verified on every use ---
kmb remove v4l2loopback --all >/dev/null
: >$T/httpd.log
kmb add v4l2loopback >$T/add2.out 2>&1 || { cat $T/add2.out; fail "second add"; }
assert_contains "$(cat $T/add2.out)" "(cached, SHA256 verified)"
! grep -q "/debian/" $T/httpd.log || fail "the cached .deb was downloaded again: $(cat $T/httpd.log)"
kmb remove v4l2loopback --all >/dev/null
printf 'x' >>$CACHE/v4l2loopback-dkms_0.12.7-2.deb
kmb add v4l2loopback >$T/add3.out 2>&1 || { cat $T/add3.out; fail "add with a corrupted cache"; }
assert_contains "$(cat $T/add3.out)" "cached archive has the wrong SHA256, fetching it again"
grep -q "GET /debian/pool/main/v4l2loopback-dkms_0.12.7-2_all.deb" $T/httpd.log ||
	fail "the corrupted cache entry was not fetched again"
assert_eq "$(sha256sum <$CACHE/v4l2loopback-dkms_0.12.7-2.deb | cut -c1-64)" "$V4L_SUM" "re-fetched .deb"
echo "ok: cache reused without download, corrupted entry re-fetched"

# --- xtables-addons: upstream tarball through the mirror, built for real (one kernel) ---
kmb --json add xtables-addons >$T/xadd.json 2>$T/xadd.err || { cat $T/xadd.json $T/xadd.err; fail "add xtables-addons"; }
python3 - "$T/xadd.json" "$URL" <<'EOF' || fail "add --json: $(cat $T/xadd.json)"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["template"] == "xtables-addons" and d["module"] == "xtables-addons", d
assert d["version"] == "3.23" and d["state"] == "added", d
assert d["source"].startswith(sys.argv[2] + "/mirror/xtables-addons/xtables-addons-3.23.tar.xz"), d
assert all(k["fit"] == "builds" for k in d["kernels"]) and d["kernels"], d
EOF
assert_file $CACHE/xtables-addons-3.23.tar.xz
t0=$SECONDS
kmb build xtables-addons -k $KNEW >$T/xbuild.out 2>&1 || { cat $T/xbuild.out; fail "build xtables-addons"; }
MODS=$(find $ROOT/var/lib/kmbuild/xtables-addons/3.23/$KNEW -path '*/module/*.ko*' | wc -l)
assert_eq "$MODS" 24 "xtables-addons modules built"
for m in compat_xtables xt_geoip xt_pknock xt_ACCOUNT; do
	f=$(find $ROOT/var/lib/kmbuild/xtables-addons/3.23/$KNEW -path "*/module/$m.ko*")
	assert_contains "$(modinfo -F vermagic "$f")" "^$KNEW "
done
echo "ok: xtables-addons from the mirror's tarball, 24 modules built for $KNEW in $((SECONDS - t0))s"
kmb status
