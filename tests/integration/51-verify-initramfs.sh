#!/bin/bash
# kmbuild verify, initramfs class: images built by the real mkinitramfs (initramfs-tools-core)
# from the sandbox's /lib/modules (bind-mounted in a private mount namespace, so the host's
# /lib/modules and /boot are never touched), with an uncompressed early-microcode cpio
# prepended as initramfs-tools does; plus images the test assembles with cpio.
source "$(dirname "$0")/../lib/lib-test.sh"
source "$(dirname "$0")/../lib/lib-verify.sh"
command -v mkinitramfs >/dev/null || skip "mkinitramfs (initramfs-tools-core) not installed"
command -v cpio >/dev/null || skip "cpio not installed"
# A chroot whose / is not a mount point cannot have one (scripts/fresh-check binds its root
# onto itself, as a real system has it).
unshare -m true 2>"$T/unshare.err" ||
	skip "cannot make a private mount namespace: $(tail -n 1 "$T/unshare.err")"

IMG=$ROOT/boot/initrd.img-$KNEW
mkdir -p "$ROOT/lib/modules/$KNEW" "$ROOT/boot" "$ROOT/etc/initramfs-tools" "$T/src"
# mkinitramfs reads /boot/config-K to pick a compressor the kernel can unpack.
cp "/usr/src/linux-headers-$KNEW/.config" "$ROOT/boot/config-$KNEW"
mkmod "$T/src/hello" hello 1.0
kmb add "$T/src/hello" >/dev/null
kmb install hello/1.0 -k "$KNEW" >/dev/null
echo hello >"$ROOT/etc/initramfs-tools/modules" # needed at early boot (root storage, say)

# mkimage: the real mkinitramfs over the sandbox, then the early cpio in front.
mkimage() {
	local conf=$T/conf
	rm -rf "$conf"
	cp -a /etc/initramfs-tools "$conf"
	sed -i 's/^MODULES=.*/MODULES=list/; s/^COMPRESS=.*/COMPRESS=zstd/' "$conf/initramfs.conf"
	cp "$ROOT/etc/initramfs-tools/modules" "$conf/modules"
	unshare -m sh -c 'mount --bind "$1/lib/modules" /lib/modules &&
		mount --bind "$1/boot" /boot && mkinitramfs -d "$2" -o "$3.main" "$4"' \
		sh "$ROOT" "$conf" "$T/img" "$KNEW" >"$T/mkinitramfs.log" 2>&1 ||
		fail "mkinitramfs failed: $(tail -5 "$T/mkinitramfs.log")"
	mkdir -p "$T/early/kernel/x86/microcode"
	echo "not really microcode" >"$T/early/kernel/x86/microcode/GenuineIntel.bin"
	(cd "$T/early" && find . | cpio -o -H newc --quiet) >"$T/img.early"
	cat "$T/img.early" "$T/img.main" >"$IMG"
}

mkimage
# The image really is two segments: plain cpio, then zstd.
assert_eq "$(head -c 6 "$IMG")" "070701" "early cpio first"
expect_rc 0 kmb verify -k "$KNEW"
expect_rc 0 kmb verify -k "$KNEW" --json
assert_contains "$OUT" '"findings":\[\]'

# A new module version is installed; the image still holds the old one.
mkmod "$T/src/hello2" hello 2.0 "static int kmb_new_code = 42; module_param(kmb_new_code, int, 0444);"
kmb add "$T/src/hello2" >/dev/null
kmb install hello/2.0 -k "$KNEW" --force >/dev/null 2>&1 || kmb install hello/2.0 -k "$KNEW" >/dev/null
set +e; kmb verify -k "$KNEW" --json >"$T/stale.json"; rc=$?; set -e
assert_eq "$rc" 2 "stale copy of a module the initramfs must hold"
assert_contains "$(cat "$T/stale.json")" '"class":"initramfs"'
assert_contains "$(cat "$T/stale.json")" 'holds a different copy'
[ "$(grep -o '"class":"[a-z]*"' "$T/stale.json" | sort -u)" = '"class":"initramfs"' ] ||
	fail "only the initramfs class expected: $(cat "$T/stale.json")"

# Regenerate: current again.
mkimage
expect_rc 0 kmb verify -k "$KNEW"

# Not listed any more, and an image without it: nothing required, nothing reported.
: >"$ROOT/etc/initramfs-tools/modules"
mkimage
expect_rc 0 kmb verify -k "$KNEW"
# Listed again but the image lacks it: missing.
echo hello >"$ROOT/etc/initramfs-tools/modules"
set +e; kmb verify -k "$KNEW" >"$T/missing.txt"; rc=$?; set -e
assert_eq "$rc" 2 "missing from the initramfs"
assert_contains "$(cat "$T/missing.txt")" "missing from /boot/initrd.img-$KNEW"
assert_contains "$(cat "$T/missing.txt")" "fix: update-initramfs -u -k $KNEW"

# No image at all.
rm "$IMG"
set +e; kmb verify -k "$KNEW" >"$T/noimg.txt"; rc=$?; set -e
assert_eq "$rc" 2 "no initramfs"
assert_contains "$(cat "$T/noimg.txt")" "does not exist"

# An image assembled with cpio holding an old copy of a module nobody requires: a warning
# (it loads, but the old code runs), exit 1. Compressed with xz this time, no early cpio.
: >"$ROOT/etc/initramfs-tools/modules"
inst=$(find "$ROOT/lib/modules/$KNEW" -name 'hello.ko*' | head -n 1)
rel=${inst#"$ROOT"/}
mkdir -p "$T/cpio/$(dirname "$rel")"
cp "$T/src/hello/hello.c" "$T/cpio/$rel" # not even a module: certainly not the same bytes
(cd "$T/cpio" && find . | cpio -o -H newc --quiet | xz --check=crc32) >"$IMG"
# Without --all an image written after every installed file is taken as current (reading a
# 100 MB image would cost more than everything else); --all always compares the bytes.
expect_rc 0 kmb verify -k "$KNEW"
set +e; kmb verify -k "$KNEW" --all --json >"$T/old-all.json"; rc=$?; set -e
assert_eq "$rc" 1 "stale copy of an optional module, --all"
assert_contains "$(cat "$T/old-all.json")" '"class":"initramfs"'
# The real sequence: the image predates the module's installation.
touch -d '2001-01-01' "$IMG"
set +e; kmb verify -k "$KNEW" --json >"$T/old.json"; rc=$?; set -e
assert_eq "$rc" 1 "stale copy of an optional module"
assert_contains "$(cat "$T/old.json")" '"severity":"warning"'
assert_contains "$(cat "$T/old.json")" '"class":"initramfs"'

# The same bytes as installed: fine.
cp "$inst" "$T/cpio/$rel"
(cd "$T/cpio" && find . | cpio -o -H newc --quiet | gzip -n) >"$IMG"
touch -d '2001-01-01' "$IMG"
expect_rc 0 kmb verify -k "$KNEW"
expect_rc 0 kmb verify -k "$KNEW" --all

# A corrupt image is reported, not crashed on.
printf 'garbage that is no archive' >"$IMG"
set +e; kmb verify -k "$KNEW" >"$T/bad.txt" 2>&1; rc=$?; set -e
assert_eq "$rc" 2 "corrupt initramfs"
assert_contains "$(cat "$T/bad.txt")" "not a (compressed) cpio archive"
echo "51-verify-initramfs: ok"
