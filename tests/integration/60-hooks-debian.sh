#!/bin/bash
# The Debian/Ubuntu kernel hooks in a sandbox root, run the way the kernel packages run them:
# `run-parts --report --exit-on-error --arg=K --arg=IMAGE /etc/kernel/<dir>.d` (the real
# run-parts), with DEB_MAINT_PARAMS, next to stand-ins for dkms, initramfs-tools and
# zz-update-grub that log when they run and what they saw. Proves: C-locale order (kmbuild
# first), a failing module does not stop the later hooks (exit 0), hook_strict makes it fatal,
# preinst.d + postinst.d rebuild a reinstalled kernel, header_postinst.d leaves the initramfs
# to an image postinst that is still pending (dpkg status), prerm.d cleans up with one depmod,
# a crashing engine does not break the kernel either. (tests/e2e does the same with real apt.)
source "$(dirname "$0")/../lib/lib-test.sh"
command -v run-parts >/dev/null || skip "run-parts not installed"
K=$KNEW
install_kernels "$K"
mkdir -p "$ROOT/etc/initramfs-tools" "$ROOT/usr/sbin" "$ROOT/var/log" "$ROOT/boot" "$ROOT/etc/kmbuild"
sandbox_os debian
touch "$ROOT/etc/debian_version" "$ROOT/boot/vmlinuz-$K"
cp "$KMB_TOP/tests/e2e/fakes/initrd-tool" "$ROOT/usr/sbin/update-initramfs"
echo kmbt_deb >"$ROOT/etc/initramfs-tools/modules"

# Installed by the real installer, DESTDIR = the sandbox.
sandbox_hooks
for d in preinst.d postinst.d header_postinst.d prerm.d; do
	assert_file "$ROOT/etc/kernel/$d/10-kmbuild"
	grep -q 'KMBUILD=${KMBUILD:-/usr/sbin/kmbuild}' "$ROOT/etc/kernel/$d/10-kmbuild" ||
		fail "@SBINDIR@ not substituted in $d"
done
# What a Debian system has next to us; each logs its name and whether our module was there.
for h in dkms initramfs-tools zz-update-grub; do
	cat >"$ROOT/etc/kernel/postinst.d/$h" <<EOF
#!/bin/sh
if [ -e "$ROOT/lib/modules/\$1/updates/dkms/kmbt_deb.ko" ]; then m=yes; else m=no; fi
echo "$h \$* module=\$m" >>"$T/order.log"
EOF
	chmod 755 "$ROOT/etc/kernel/postinst.d/$h"
done
# One depmod per kernel: count them.
mkdir -p "$T/bin"
printf '#!/bin/sh\necho "depmod $*" >>"%s/depmod.log"\nexec /sbin/depmod "$@"\n' "$T" >"$T/bin/depmod"
chmod 755 "$T/bin/depmod"
export PATH="$T/bin:$PATH"

order=$(LC_ALL=C run-parts --test "$ROOT/etc/kernel/postinst.d" | xargs -n1 basename | tr '\n' ' ')
assert_eq "$order" "10-kmbuild dkms initramfs-tools zz-update-grub " "run-parts order"

postinst() { # like linux-image-K.postinst configure
	DEB_MAINT_PARAMS="configure ${1:-}" LC_ALL=C run-parts --report --exit-on-error \
		--arg="$K" --arg="/boot/vmlinuz-$K" "$ROOT/etc/kernel/postinst.d"
}

mkmod "$T/src/kmbt_deb" kmbt_deb 1.0
mkmod "$T/src/kmbt_deb2" kmbt_deb2 1.0
kmb add "$T/src/kmbt_deb" >/dev/null
kmb add "$T/src/kmbt_deb2" >/dev/null

# 1. A new kernel: built before initramfs-tools ran, which saw the module; once.
expect_rc 0 postinst
echo "$OUT"
assert_contains "$OUT" "Autoinstall on $K succeeded for module(s) kmbt_deb kmbt_deb2."
assert_eq "$(cat "$T/order.log" | tr '\n' '|')" \
	"dkms $K /boot/vmlinuz-$K module=yes|initramfs-tools $K /boot/vmlinuz-$K module=yes|zz-update-grub $K /boot/vmlinuz-$K module=yes|" \
	"hooks after kmbuild"
assert_file "$ROOT/lib/modules/$K/updates/dkms/kmbt_deb2.ko"
[ ! -e "$ROOT/var/log/fake-initrd.log" ] || fail "kmbuild regenerated the initramfs inside postinst"
# Not on abort-upgrade and friends (like initramfs-tools).
: >"$T/order.log"
DEB_MAINT_PARAMS="abort-upgrade 1" run-parts --arg="$K" "$ROOT/etc/kernel/postinst.d" >/dev/null
[ ! -e "$ROOT/var/lib/kmbuild/.hooks/rebuild-$K" ] || fail "marker on abort-upgrade"

# 2. Reinstall: preinst.d marks the kernel, postinst.d rebuilds although nothing changed.
built_at=$(grep built_at "$ROOT/var/lib/kmbuild/kmbt_deb/1.0/$K/x86_64/record")
expect_rc 0 env DEB_MAINT_PARAMS="upgrade 6.1.0-1" run-parts --report --exit-on-error \
	--arg="$K" --arg="/boot/vmlinuz-$K" "$ROOT/etc/kernel/preinst.d"
assert_contains "$OUT" "is being reinstalled"
assert_file "$ROOT/var/lib/kmbuild/.hooks/rebuild-$K"
sleep 1
expect_rc 0 postinst
assert_contains "$OUT" "Autoinstall on $K succeeded for module(s) kmbt_deb kmbt_deb2."
[ "$(grep built_at "$ROOT/var/lib/kmbuild/kmbt_deb/1.0/$K/x86_64/record")" != "$built_at" ] ||
	fail "the reinstalled kernel's modules were not rebuilt"
assert_no_file "$ROOT/var/lib/kmbuild/.hooks/rebuild-$K"
expect_rc 0 postinst
assert_contains "$OUT" "Nothing to do"

# 3. A module that cannot build: reported loudly, the later hooks still run, exit 0.
mkmod "$T/src/kmbt_bad" kmbt_bad 1.0 'this is not C;'
kmb add "$T/src/kmbt_bad" >/dev/null
: >"$T/order.log"
expect_rc 0 postinst
echo "$OUT"
assert_contains "$OUT" "kmbuild: WARNING: kmbt_bad/1.0 failed for $K"
assert_contains "$OUT" "log: $ROOT/var/lib/kmbuild/kmbt_bad/1.0/$K/x86_64/log/make.log"
assert_contains "$OUT" "the kernel installation continues"
grep -q "^initramfs-tools $K" "$T/order.log" || fail "initramfs-tools did not run"
grep -q "^zz-update-grub $K" "$T/order.log" || fail "zz-update-grub did not run"
kmb status kmbt_bad | grep -q "failed" || fail "status does not show the failure"

# 4. hook_strict = yes: the failure stops run-parts (the user asked for it).
echo "hook_strict = yes" >"$ROOT/etc/kmbuild/kmbuild.conf"
: >"$T/order.log"
expect_rc 1 postinst
assert_contains "$OUT" "hook_strict = yes: failing the hook"
[ ! -s "$T/order.log" ] || fail "later hooks ran although the strict hook failed"
rm "$ROOT/etc/kmbuild/kmbuild.conf"
kmb remove kmbt_bad >/dev/null

# 5. Headers arriving while the image's postinst is still pending (one apt run): that
#    postinst makes the initramfs, so the headers hook must not. dpkg's own database says so.
kmb uninstall kmbt_deb -k "$K" >/dev/null
"$ROOT/usr/sbin/update-initramfs" -c -k "$K" # an image without the module it lists
mkdir -p "$ROOT/var/lib/dpkg/info" "$ROOT/var/lib/dpkg/updates"
printf '/boot\n/boot/vmlinuz-%s\n' "$K" >"$ROOT/var/lib/dpkg/info/linux-image-$K.list"
dpkg_status() {
	printf 'Package: linux-image-%s\nStatus: install ok %s\nArchitecture: amd64\nVersion: 1\nMaintainer: x\nDescription: x\n' \
		"$K" "$1" >"$ROOT/var/lib/dpkg/status"
}
headers() {
	LC_ALL=C run-parts --report --exit-on-error --arg="$K" "$ROOT/etc/kernel/header_postinst.d"
}
dpkg_status unpacked
n0=$(grep -c . "$ROOT/var/log/fake-initrd.log")
expect_rc 0 headers
assert_contains "$OUT" "succeeded for module(s) kmbt_deb."
assert_eq "$(grep -c . "$ROOT/var/log/fake-initrd.log")" "$n0" "regenerations with the image pending"
expect_rc 1 kmb initramfs -k "$K" --check # stale: the pending postinst regenerates it
# The image configured long ago (headers installed later, alone): regenerate, once.
kmb uninstall kmbt_deb -k "$K" >/dev/null
dpkg_status installed
expect_rc 0 headers
echo "$OUT"
assert_contains "$OUT" "Regenerating the initramfs of $K"
assert_eq "$(grep -c . "$ROOT/var/log/fake-initrd.log")" $((n0 + 1)) "regenerations"
expect_rc 0 kmb initramfs -k "$K" --check

# 6. prerm.d: everything for K goes, one depmod, empty directories removed.
: >"$T/depmod.log"
expect_rc 0 env DEB_MAINT_PARAMS="remove" run-parts --report --exit-on-error --arg="$K" \
	--arg="/boot/vmlinuz-$K" "$ROOT/etc/kernel/prerm.d"
echo "$OUT"
assert_eq "$(grep -c "$K" "$T/depmod.log")" 1 "depmod runs on prerm"
for m in kmbt_deb kmbt_deb2; do
	assert_no_file "$ROOT/var/lib/kmbuild/$m/1.0/$K"
	assert_no_file "$ROOT/var/lib/kmbuild/$m/kernel-$K-x86_64"
done
assert_no_file "$ROOT/lib/modules/$K/updates"
kmb status | grep -q "kmbt_deb/1.0: added" || fail "modules should stay registered"

# 7. A crashing engine must not leave the kernel half-configured either.
printf '#!/bin/sh\nkill -SEGV $$\n' >"$T/bin/crash" && chmod 755 "$T/bin/crash"
: >"$T/order.log"
expect_rc 0 env KMBUILD="$T/bin/crash" DEB_MAINT_PARAMS=configure run-parts --exit-on-error \
	--arg="$K" "$ROOT/etc/kernel/postinst.d"
assert_contains "$OUT" "crashed (exit 139)"
grep -q "^initramfs-tools" "$T/order.log" || fail "initramfs-tools did not run after a crash"
echo ok
