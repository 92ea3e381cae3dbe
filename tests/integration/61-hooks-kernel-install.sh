#!/bin/bash
# The kernel-install(8) plugin (Fedora/RHEL, systemd-boot), driven by the real kernel-install
# of this machine's systemd with the plugin list, boot root, machine id and config root
# pointed into a sandbox (KERNEL_INSTALL_PLUGINS, BOOT_ROOT, MACHINE_ID,
# KERNEL_INSTALL_CONF_ROOT), so the plugin gets exactly kernel-install's arguments and
# KERNEL_INSTALL_* environment. Next to it stand-ins for 50-dracut.install and
# 90-loaderentry.install log what they saw. Proves: ordering (modules exist when dracut
# runs), no initramfs regeneration by kmbuild inside `add`, a failing or excluded module never
# stops the later plugins (never exit 77), hook_strict, and `remove` cleans up.
source "$(dirname "$0")/../lib/lib-test.sh"
command -v kernel-install >/dev/null || skip "kernel-install (systemd) not installed"
K=$KNEW
install_kernels "$K"
mkdir -p "$ROOT/etc/kernel" "$ROOT/boot" "$ROOT/etc/kmbuild" "$ROOT/usr/bin" "$ROOT/var/log"
sandbox_os fedora
echo "kernel image" >"$ROOT/boot/vmlinuz-$K"
echo "layout=bls" >"$ROOT/etc/kernel/install.conf"
cp "$KMB_TOP/tests/e2e/fakes/initrd-tool" "$ROOT/usr/bin/dracut" # must never be called by us
sandbox_hooks
PD=$ROOT/usr/lib/kernel/install.d
assert_file "$PD/40-kmbuild.install"
for p in 50-dracut 90-loaderentry; do
	cat >"$PD/$p.install" <<EOF
#!/bin/sh
if [ -e "$ROOT/lib/modules/\$2/extra/kmbt_ki.ko" ]; then m=yes; else m=no; fi
echo "$p \$1 \$2 \$3 layout=\$KERNEL_INSTALL_LAYOUT boot=\$KERNEL_INSTALL_BOOT_ROOT module=\$m" >>"$T/plugins.log"
EOF
	chmod 755 "$PD/$p.install"
done
export KERNEL_INSTALL_PLUGINS="$PD/40-kmbuild.install $PD/50-dracut.install $PD/90-loaderentry.install"
export BOOT_ROOT=$ROOT/boot MACHINE_ID=0123456789abcdef0123456789abcdef
export KERNEL_INSTALL_CONF_ROOT=$ROOT/etc/kernel
ENTRY=$ROOT/boot/$MACHINE_ID/$K

mkmod "$T/src/kmbt_ki" kmbt_ki 1.0
kmb add "$T/src/kmbt_ki" >/dev/null

# 1. add: our plugin first, with kernel-install's arguments; dracut sees the module.
expect_rc 0 kernel-install -v add "$K" "$ROOT/boot/vmlinuz-$K"
echo "$OUT"
assert_contains "$OUT" "$PD/40-kmbuild.install add $K $ENTRY $ROOT/boot/vmlinuz-$K"
assert_contains "$OUT" "kmbuild: autoinstall --hook=postinst -k $K (layout bls)"
assert_contains "$OUT" "Autoinstall on $K succeeded for module(s) kmbt_ki."
assert_eq "$(head -n 1 "$T/plugins.log")" \
	"50-dracut add $K $ENTRY layout=bls boot=$ROOT/boot module=yes" "dracut plugin"
grep -q "^90-loaderentry add $K" "$T/plugins.log" || fail "loaderentry plugin did not run"
[ ! -e "$ROOT/var/log/fake-initrd.log" ] || fail "kmbuild ran dracut itself inside add"

# 2. A module that fails and one that BUILD_EXCLUSIVE excludes: later plugins still run.
mkmod "$T/src/kmbt_kibad" kmbt_kibad 1.0 'not C;'
mkmod "$T/src/kmbt_kiex" kmbt_kiex 1.0
echo 'BUILD_EXCLUSIVE_KERNEL="^9\."' >>"$T/src/kmbt_kiex/dkms.conf"
kmb add "$T/src/kmbt_kibad" >/dev/null
kmb add "$T/src/kmbt_kiex" >/dev/null
: >"$T/plugins.log"
expect_rc 0 kernel-install add "$K" "$ROOT/boot/vmlinuz-$K"
echo "$OUT"
assert_contains "$OUT" "kmbuild: WARNING: kmbt_kibad/1.0 failed for $K"
assert_contains "$OUT" "was skipped for module(s) kmbt_kiex"
grep -q "^50-dracut add $K .*module=yes" "$T/plugins.log" || fail "dracut skipped after a failure"
grep -q "^90-loaderentry add" "$T/plugins.log" || fail "loaderentry skipped after a failure"

# Control: a plugin answering 77 really stops kernel-install's later plugins -- which is why
# ours never does.
printf '#!/bin/sh\nexit 77\n' >"$T/77.install" && chmod 755 "$T/77.install"
: >"$T/plugins.log"
KERNEL_INSTALL_PLUGINS="$T/77.install $PD/50-dracut.install" kernel-install add "$K" \
	"$ROOT/boot/vmlinuz-$K" >/dev/null 2>&1 || true
[ ! -s "$T/plugins.log" ] || fail "control: exit 77 did not stop later plugins"

# 3. hook_strict = yes: the failure fails kernel-install (and stops dracut), as asked.
echo "hook_strict = yes" >"$ROOT/etc/kmbuild/kmbuild.conf"
: >"$T/plugins.log"
expect_rc 11 kernel-install add "$K" "$ROOT/boot/vmlinuz-$K"
[ ! -s "$T/plugins.log" ] || fail "dracut ran although the strict plugin failed"
rm "$ROOT/etc/kmbuild/kmbuild.conf"
kmb remove kmbt_kibad >/dev/null

# 4. remove: builds for K gone, one depmod, empty dirs removed; the plugins all ran.
mkdir -p "$T/bin"
printf '#!/bin/sh\necho "depmod $*" >>"%s/depmod.log"\nexec /sbin/depmod "$@"\n' "$T" >"$T/bin/depmod"
chmod 755 "$T/bin/depmod"
: >"$T/plugins.log"
expect_rc 0 env PATH="$T/bin:$PATH" kernel-install -v remove "$K"
echo "$OUT"
assert_contains "$OUT" "$PD/40-kmbuild.install remove $K $ENTRY"
assert_eq "$(grep -c "$K" "$T/depmod.log")" 1 "depmod runs on remove"
assert_no_file "$ROOT/var/lib/kmbuild/kmbt_ki/1.0/$K"
assert_no_file "$ROOT/var/lib/kmbuild/kmbt_ki/kernel-$K-x86_64"
assert_no_file "$ROOT/lib/modules/$K/extra" # Fedora: /extra
grep -q "^50-dracut remove $K" "$T/plugins.log" || fail "dracut remove did not run"
echo ok
