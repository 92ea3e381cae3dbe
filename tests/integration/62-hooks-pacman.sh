#!/bin/bash
# The pacman (libalpm) hooks and their script, in an Arch-shaped sandbox root (/lib ->
# usr/lib, kernels in usr/lib/modules/K with vmlinuz, pkgbase and build/), run by
# tests/e2e/fakes/alpm-run, which applies alpm-hooks(5) trigger matching to a transaction's
# file list and feeds NeedsTargets on stdin, in hook-name order, next to a stand-in for
# mkinitcpio's 90-mkinitcpio-install.hook. Proves: the module x kernel cross product with one
# depmod per kernel, ordering before mkinitcpio (which sees the modules), a module update on
# existing kernels regenerating their initramfs (mkinitcpio -p), a failing module never
# failing the transaction, a reinstalled kernel rebuilt, kernel and module removal.
source "$(dirname "$0")/../lib/lib-test.sh"
command -v python3 >/dev/null || skip "python3 not installed"
[ "$KOLD" != "$KNEW" ] || skip "needs headers of two kernels"
ALPM=$KMB_TOP/tests/e2e/fakes/alpm-run
mkdir -p "$ROOT/usr/lib/modules" "$ROOT/boot" "$ROOT/etc/kmbuild" "$ROOT/usr/bin" "$ROOT/var/log"
ln -s usr/lib "$ROOT/lib"
sandbox_os arch
sandbox_hooks
HD=$ROOT/usr/share/libalpm/hooks
grep -q "^Exec = /usr/share/libalpm/scripts/kmbuild-alpm install" "$HD/71-kmbuild-install.hook" ||
	fail "@ALPMSCRIPTDIR@ not substituted"
cp "$KMB_TOP/tests/e2e/fakes/initrd-tool" "$ROOT/usr/bin/mkinitcpio"
echo 'MODULES=(kmbt_arch)' >"$ROOT/etc/mkinitcpio.conf"

# mkinitcpio's own install hook (its real triggers), logging what it saw.
cat >"$HD/90-mkinitcpio-install.hook" <<'EOF'
[Trigger]
Type = Path
Operation = Install
Operation = Upgrade
Target = usr/lib/modules/*/vmlinuz
Target = usr/lib/initcpio/*
Target = usr/src/*/dkms.conf

[Action]
Description = Updating linux initcpios...
When = PostTransaction
Exec = /usr/share/libalpm/scripts/mkinitcpio-install
NeedsTargets
EOF
mkdir -p "$ROOT/usr/share/libalpm/scripts"
cat >"$ROOT/usr/share/libalpm/scripts/mkinitcpio-install" <<EOF
#!/bin/sh
for k in \$(ls "$ROOT/usr/lib/modules"); do
	if [ -e "$ROOT/usr/lib/modules/\$k/updates/dkms/kmbt_arch.ko" ]; then m=yes; else m=no; fi
	echo "mkinitcpio-hook \$k module=\$m" >>"$T/order.log"
done
EOF
chmod 755 "$ROOT/usr/share/libalpm/scripts/mkinitcpio-install"
mkdir -p "$T/bin"
printf '#!/bin/sh\necho "depmod $*" >>"%s/depmod.log"\nexec /sbin/depmod "$@"\n' "$T" >"$T/bin/depmod"
chmod 755 "$T/bin/depmod"
export PATH="$T/bin:$PATH"

kernel_files() { # kernel_files K PKGBASE: what the linux/linux-headers packages install
	mkdir -p "$ROOT/usr/lib/modules/$1/kernel"
	echo "vmlinuz" >"$ROOT/usr/lib/modules/$1/vmlinuz"
	echo "$2" >"$ROOT/usr/lib/modules/$1/pkgbase"
	ln -sfn "/usr/src/linux-headers-$1" "$ROOT/usr/lib/modules/$1/build"
}
txn() { # txn WHEN LINES...: run the hooks for a transaction
	printf '%s\n' "${@:2}" >"$T/txn"
	python3 "$ALPM" "$ROOT" "$1" "$T/txn" "$HD"
}
module_pkg() { # module_pkg NAME VERSION [EXTRA_C]: the files of a *-dkms package
	mkmod "$ROOT/usr/src/$1-$2" "$1" "$2" "${3:-}"
}

# 1. linux-lts (KOLD) already installed with headers; now one transaction installs linux
#    (KNEW), linux-headers and the kmbt_arch-dkms package: the cross product, one depmod per
#    kernel, before mkinitcpio, which sees the module for both kernels.
kernel_files "$KOLD" linux-lts
kernel_files "$KNEW" linux
module_pkg kmbt_arch 1.0
expect_rc 0 txn PostTransaction "install usr/lib/modules/$KNEW/vmlinuz" \
	"install usr/lib/modules/$KNEW/build/include/" "install usr/src/kmbt_arch-1.0/dkms.conf" \
	"install usr/src/kmbt_arch-1.0/kmbt_arch.c"
echo "$OUT"
assert_contains "$OUT" "running '71-kmbuild-install.hook'"
assert_contains "$OUT" "Autoinstall on $KNEW succeeded for module(s) kmbt_arch."
assert_contains "$OUT" "Autoinstall on $KOLD succeeded for module(s) kmbt_arch."
first=$(grep -n "running '71-kmbuild-install.hook'" <<<"$OUT" | cut -d: -f1)
second=$(grep -n "running '90-mkinitcpio-install.hook'" <<<"$OUT" | cut -d: -f1)
[ "$first" -lt "$second" ] || fail "kmbuild's hook must run before mkinitcpio's"
assert_eq "$(sort "$T/order.log" | tr '\n' ' ')" \
	"$(printf 'mkinitcpio-hook %s module=yes\n' "$KNEW" "$KOLD" | sort | tr '\n' ' ')" \
	"what mkinitcpio's hook saw"
assert_eq "$(grep -c " $KNEW\$" "$T/depmod.log")" 1 "depmods for $KNEW"
assert_eq "$(grep -c " $KOLD\$" "$T/depmod.log")" 1 "depmods for $KOLD"
[ ! -e "$ROOT/var/log/fake-initrd.log" ] || fail "kmbuild ran mkinitcpio although its hook follows"
kmb status | grep -q "kmbt_arch/1.0, $KNEW, x86_64: installed" || fail "status after install"

# 2. Headers for a kernel arriving alone, in a later transaction, for a kernel whose image
#    exists: built, and its stale initramfs regenerated with mkinitcpio -p (once).
rm -f "$ROOT/usr/lib/modules/$KOLD/build"
kmb remove kmbt_arch/1.0 -k "$KOLD" >/dev/null
"$ROOT/usr/bin/mkinitcpio" -p linux-lts # image without the module MODULES=() lists
ln -sfn "/usr/src/linux-headers-$KOLD" "$ROOT/usr/lib/modules/$KOLD/build"
: >"$T/order.log"
expect_rc 0 txn PostTransaction "install usr/lib/modules/$KOLD/build/include/"
echo "$OUT"
assert_contains "$OUT" "Autoinstall on $KOLD succeeded for module(s) kmbt_arch."
assert_contains "$OUT" "Regenerating the initramfs of $KOLD with mkinitcpio"
assert_eq "$(grep -c '^mkinitcpio -p linux-lts$' "$ROOT/var/log/fake-initrd.log")" 2 "mkinitcpio runs"
[ ! -s "$T/order.log" ] || fail "mkinitcpio's hook should not trigger on headers"
expect_rc 0 kmb initramfs -k "$KOLD" --check

# 3. A module package that cannot build: reported, the transaction goes on (exit 0).
module_pkg kmbt_archbad 1.0 'not C;'
expect_rc 0 txn PostTransaction "install usr/src/kmbt_archbad-1.0/dkms.conf"
echo "$OUT"
assert_contains "$OUT" "kmbuild: WARNING: kmbt_archbad/1.0 failed for"
assert_contains "$OUT" "hook '71-kmbuild-install.hook' exit 0"

# 4. Module upgrade kmbt_arch 1.0 -> 1.1: PreTransaction unregisters 1.0 everywhere, the
#    install hook registers 1.1 and builds it for both kernels.
expect_rc 0 txn PreTransaction "remove usr/src/kmbt_arch-1.0/dkms.conf" \
	"remove usr/src/kmbt_archbad-1.0/dkms.conf"
echo "$OUT"
kmb status | grep -q "kmbt_arch/1.0" && fail "kmbt_arch/1.0 still registered"
kmb status | grep -q "kmbt_archbad" && fail "kmbt_archbad still registered"
assert_no_file "$ROOT/usr/lib/modules/$KNEW/updates/dkms/kmbt_arch.ko"
rm -rf "$ROOT/usr/src/kmbt_arch-1.0" "$ROOT/usr/src/kmbt_archbad-1.0"
module_pkg kmbt_arch 1.1
expect_rc 0 txn PostTransaction "install usr/src/kmbt_arch-1.1/dkms.conf"
for k in "$KOLD" "$KNEW"; do
	kmb status | grep -q "kmbt_arch/1.1, $k, x86_64: installed" || fail "1.1 not installed for $k"
done

# 5. linux reinstalled in place (same release): its modules are rebuilt.
before=$(grep built_at "$ROOT/var/lib/kmbuild/kmbt_arch/1.1/$KNEW/x86_64/record")
expect_rc 0 txn PreTransaction "upgrade usr/lib/modules/$KNEW/vmlinuz"
assert_contains "$OUT" "is being reinstalled"
sleep 1
expect_rc 0 txn PostTransaction "upgrade usr/lib/modules/$KNEW/vmlinuz"
assert_contains "$OUT" "Autoinstall on $KNEW succeeded for module(s) kmbt_arch."
[ "$(grep built_at "$ROOT/var/lib/kmbuild/kmbt_arch/1.1/$KNEW/x86_64/record")" != "$before" ] ||
	fail "reinstalled kernel's module not rebuilt"

# 6. linux-lts removed: its builds go, one depmod, the other kernel untouched.
: >"$T/depmod.log"
expect_rc 0 txn PreTransaction "remove usr/lib/modules/$KOLD/vmlinuz" \
	"remove usr/lib/modules/$KOLD/pkgbase"
echo "$OUT"
assert_contains "$OUT" "running '71-kmbuild-remove.hook'"
assert_eq "$(grep -c " $KOLD\$" "$T/depmod.log")" 1 "depmods on kernel removal"
assert_no_file "$ROOT/var/lib/kmbuild/kmbt_arch/1.1/$KOLD"
assert_no_file "$ROOT/usr/lib/modules/$KOLD/updates"
kmb status | grep -q "kmbt_arch/1.1, $KNEW, x86_64: installed" || fail "$KNEW was touched"
echo ok
