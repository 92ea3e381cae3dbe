#!/bin/bash
# The initramfs engine against real images: backend detection and override, staleness
# (config-listed module missing, image copy differs, REMAKE_INITRD, orphan), regeneration
# that keeps the previous image until the new one is written and restores it on failure, no
# regeneration inside a kernel postinst, `kmbuild initramfs --check/--json`.
# The initramfs tools are stand-ins (tests/e2e/fakes/initrd-tool: real cpio + zstd images,
# modules resolved by the real modprobe); images are checked with initramfs-tools'
# unmkinitramfs, independently of kmbuild's reader. The real tools run in tests/e2e.
source "$(dirname "$0")/../lib/lib-test.sh"
command -v unmkinitramfs >/dev/null || skip "unmkinitramfs (initramfs-tools-core) not installed"
FAKE=$KMB_TOP/tests/e2e/fakes/initrd-tool
K=$KNEW
install_kernels "$K"
mkdir -p "$ROOT/etc/initramfs-tools" "$ROOT/usr/sbin" "$ROOT/var/log" "$ROOT/boot"
sandbox_os debian
cp "$FAKE" "$ROOT/usr/sbin/update-initramfs"
calls() { grep -c "^$1 " "$ROOT/var/log/fake-initrd.log" 2>/dev/null || true; }
img=$ROOT/boot/initrd.img-$K

# image_has FILE-PATTERN: path of the unpacked file, via unmkinitramfs.
unpack() {
	rm -rf "$T/un"
	unmkinitramfs "$img" "$T/un" >/dev/null 2>&1 || fail "unmkinitramfs cannot read $img"
}
image_file() { find "$T/un" -path "*/lib/modules/$K/$1" | head -n 1; }

mkmod "$T/src/kmbt_ird" kmbt_ird 1.0
mkmod "$T/src/kmbt_remake" kmbt_remake 1.0
echo 'REMAKE_INITRD="yes"' >>"$T/src/kmbt_remake/dkms.conf"
mkmod "$T/src/kmbt_plain" kmbt_plain 1.0
for m in kmbt_ird kmbt_remake kmbt_plain; do kmb add "$T/src/$m" >/dev/null 2>&1; done
echo "kmbt_ird" >"$ROOT/etc/initramfs-tools/modules"

# The kernel's image, made before any module was built.
"$ROOT/usr/sbin/update-initramfs" -c -k "$K"
assert_file "$img"

# Detection.
out=$(kmb --json initramfs -k "$K" --check)
python3 -c 'import json,sys; d=json.loads(sys.argv[1])[0]; assert d["backend"]=="update-initramfs", d; assert d["needed"] is False, d' "$out" ||
	fail "detection/--json: $out"

# 1. autoinstall installs kmbt_ird, listed in initramfs-tools' modules: regenerated once.
expect_rc 0 kmb autoinstall -k "$K"
echo "$OUT"
assert_contains "$OUT" "Regenerating the initramfs of $K with update-initramfs: kmbt_ird is listed"
assert_eq "$(calls update-initramfs)" 2 "update-initramfs calls"
grep -q "^update-initramfs -u -k $K\$" "$ROOT/var/log/fake-initrd.log" || fail "not -u -k K"
unpack
f=$(image_file "updates/dkms/kmbt_ird.ko")
[ -n "$f" ] || fail "regenerated image lacks kmbt_ird.ko"
cmp "$f" "$ROOT/lib/modules/$K/updates/dkms/kmbt_ird.ko" || fail "image copy differs"
[ -z "$(image_file updates/dkms/kmbt_plain.ko)" ] || fail "kmbt_plain should not be in the image"
assert_no_file "$img.kmbuild-old"
expect_rc 0 kmb initramfs -k "$K" --check
echo "$OUT"
assert_contains "$OUT" "kmbt_ird *current"
assert_contains "$OUT" "kmbt_plain *absent"
# REMAKE_INITRD alone: the image was written after the module was installed -> not stale.
assert_contains "$OUT" "kmbt_remake *absent *REMAKE_INITRD"

# 2. Nothing to do: no regeneration.
expect_rc 0 kmb autoinstall -k "$K"
assert_eq "$(calls update-initramfs)" 2 "calls after a no-op autoinstall"

# 3. A rebuilt module (new bytes): the image copy is stale -> regenerated.
sed -i 's/MODULE_VERSION("1.0")/MODULE_VERSION("1.0-rebuilt")/' "$ROOT/usr/src/kmbt_ird-1.0/kmbt_ird.c"
expect_rc 0 kmb autoinstall -k "$K" --force
assert_contains "$OUT" "kmbt_ird differs from the installed file"
unpack
cmp "$(image_file updates/dkms/kmbt_ird.ko)" "$ROOT/lib/modules/$K/updates/dkms/kmbt_ird.ko" ||
	fail "image not refreshed after the rebuild"

# 4. Inside a kernel postinst the distro's hook follows: stale, but left alone.
calls_before=$(calls update-initramfs)
sed -i 's/1.0-rebuilt/1.0-again/' "$ROOT/usr/src/kmbt_ird-1.0/kmbt_ird.c"
expect_rc 0 kmb autoinstall -k "$K" --force --hook=postinst
assert_eq "$(calls update-initramfs)" "$calls_before" "postinst hook regenerated the initramfs"
expect_rc 1 kmb initramfs -k "$K" --check
# ... and --hook=headers does regenerate.
expect_rc 0 kmb autoinstall -k "$K" --force --hook=headers
assert_eq "$(calls update-initramfs)" $((calls_before + 1)) "headers hook calls"
expect_rc 0 kmb initramfs -k "$K" --check

# 5. REMAKE_INITRD: a module installed after the image was written makes it stale.
touch -d '2000-01-01' "$img"
expect_rc 1 kmb initramfs -k "$K" --check
assert_contains "$OUT" "kmbt_remake *newer"
expect_rc 0 kmb initramfs -k "$K"
expect_rc 0 kmb initramfs -k "$K" --check

# 6. Failure: the tool half-writes the image and fails -> the previous image is restored.
sum_before=$(sha256sum <"$img")
touch "$ROOT/etc/fake-initrd-fail"
sed -i 's/1.0-again/1.0-third/' "$ROOT/usr/src/kmbt_ird-1.0/kmbt_ird.c"
expect_rc 11 kmb autoinstall -k "$K" --force
echo "$OUT"
assert_contains "$OUT" "initramfs of $K not regenerated: .*update-initramfs exited 1; the previous image was restored"
assert_eq "$(sha256sum <"$img")" "$sum_before" "image after a failed regeneration"
assert_no_file "$img.kmbuild-old"
expect_rc 1 kmb initramfs -k "$K"
assert_contains "$OUT" "previous image was restored"
rm "$ROOT/etc/fake-initrd-fail"
expect_rc 0 kmb initramfs -k "$K"
expect_rc 0 kmb initramfs -k "$K" --check

# 7. uninstall regenerates an image that still holds the module it removed...
kmb uninstall kmbt_ird >/dev/null
unpack
[ -z "$(image_file updates/dkms/kmbt_ird.ko)" ] || fail "uninstall left the module in the image"
expect_rc 0 kmb initramfs -k "$K" --check
# ...and an orphan left behind by a run without initramfs handling is found and fixed.
kmb install kmbt_ird -k "$K" >/dev/null
KMBUILD_INITRAMFS_BACKEND=none kmb uninstall kmbt_ird >/dev/null
expect_rc 1 kmb initramfs -k "$K" --check
assert_contains "$OUT" "kmbt_ird *orphan"
expect_rc 0 kmb initramfs -k "$K"
unpack
[ -z "$(image_file updates/dkms/kmbt_ird.ko)" ] || fail "orphan still in the image"
expect_rc 0 kmb initramfs -k "$K" --check

# 8. An unreadable image is a reason to regenerate, not an error.
printf 'garbage' >"$img"
expect_rc 1 kmb initramfs -k "$K" --check
assert_contains "$OUT" "unreadable"
expect_rc 0 kmb initramfs -k "$K"
expect_rc 0 kmb initramfs -k "$K" --check

# 9. Backend override and the other tools' argument conventions.
mkdir -p "$ROOT/usr/bin" "$ROOT/etc/dracut.conf.d" "$ROOT/etc/kmbuild"
cp "$FAKE" "$ROOT/usr/bin/dracut"
echo 'initramfs_backend = dracut' >"$ROOT/etc/kmbuild/kmbuild.conf"
echo 'add_drivers+=" kmbt_plain "' >"$ROOT/etc/dracut.conf.d/50-test.conf"
# Debian naming when that image exists (dracut replacing initramfs-tools there).
expect_rc 1 kmb initramfs -k "$K" --check
assert_contains "$OUT" "dracut /boot/initrd.img-$K"
assert_contains "$OUT" "kmbt_plain *missing .*listed in /etc/dracut.conf.d/50-test.conf"
expect_rc 0 kmb initramfs -k "$K"
grep -q "^dracut --force $img $K\$" "$ROOT/var/log/fake-initrd.log" ||
	fail "dracut arguments: $(tail -n 1 "$ROOT/var/log/fake-initrd.log")"
expect_rc 0 kmb initramfs -k "$K" --check
# Fedora naming otherwise.
mv "$img" "$ROOT/boot/initramfs-$K.img"
expect_rc 0 kmb initramfs -k "$K" --force
grep -q "^dracut --force $ROOT/boot/initramfs-$K.img $K\$" "$ROOT/var/log/fake-initrd.log" ||
	fail "dracut arguments: $(tail -n 1 "$ROOT/var/log/fake-initrd.log")"
cp "$FAKE" "$ROOT/usr/bin/mkinitcpio"
echo 'initramfs_backend = mkinitcpio' >"$ROOT/etc/kmbuild/kmbuild.conf"
mkdir -p "$ROOT/usr/lib/modules" && echo linux >"$ROOT/lib/modules/$K/pkgbase"
ln -sfn "$ROOT/lib/modules/$K" "$ROOT/usr/lib/modules/$K" 2>/dev/null || true
echo 'MODULES=(kmbt_plain)' >"$ROOT/etc/mkinitcpio.conf"
cp "$ROOT/boot/initramfs-$K.img" "$ROOT/boot/initramfs-linux.img"
expect_rc 0 kmb initramfs -k "$K" --force
grep -q "^mkinitcpio -p linux\$" "$ROOT/var/log/fake-initrd.log" || fail "mkinitcpio arguments"
echo 'initramfs_backend = genkernel' >"$ROOT/etc/kmbuild/kmbuild.conf"
expect_rc 8 kmb initramfs -k "$K" --check
assert_contains "$OUT" "kmbuild.conf: initramfs_backend = 'genkernel' is not one of"
[ "$(wc -l <<<"$OUT")" = 1 ] || fail "bad config error is not one line: $OUT"
echo 'initramfs_backend = none' >"$ROOT/etc/kmbuild/kmbuild.conf"
expect_rc 0 kmb initramfs -k "$K" --check
assert_contains "$OUT" "initramfs_backend = none"
echo ok
