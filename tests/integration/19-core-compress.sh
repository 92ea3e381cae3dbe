#!/bin/bash
# Compressed modules: signed before compression (the signature is inside the payload), xz
# with CRC32 (the only check the in-kernel decompressor accepts), indexed by the real depmod,
# read by the real modinfo.
source "$(dirname "$0")/../lib/lib-test.sh"
install_kernels "$KNEW"
"$KMBUILD" --root "$ROOT" mok generate >/dev/null 2>&1 || skip "mok generate not available"
mkmod "$T/src" kmbt_cz 1.0
kmb add "$T/src" >/dev/null
# Debian's kmod 30 is built without zlib (-ZLIB): its depmod/modinfo cannot read .ko.gz.
algos="xz zstd"
kmod --version | grep -q '+ZLIB' && algos="$algos gzip"
for c in $algos; do
	case $c in xz) sfx=.xz;; zstd) sfx=.zst;; gzip) sfx=.gz;; esac
	KMBUILD_COMPRESS=$c kmb install kmbt_cz -k "$KNEW" --force >/dev/null
	f=$ROOT/lib/modules/$KNEW/extra/kmbt_cz.ko$sfx
	assert_file "$f"
	assert_no_file "$ROOT/lib/modules/$KNEW/extra/kmbt_cz.ko"
	grep -q "^extra/kmbt_cz.ko$sfx:" "$ROOT/lib/modules/$KNEW/modules.dep" || fail "depmod did not index $f"
	assert_eq "$(modinfo -F vermagic "$f" | awk '{print $1}')" "$KNEW" "modinfo reads the $c module"
	assert_contains "$(modinfo -F signer "$f")" "kmbuild module signing key" "signature inside the $c payload"
	if [ $c = xz ]; then
		xz -lvv "$f" | grep -q "CRC32" || fail "xz check is not CRC32: $(xz -lvv "$f")"
	fi
	# The previous compression's file is gone (uninstall of the old install ran first).
	for other in .xz .zst .gz; do
		[ "$other" = "$sfx" ] || assert_no_file "$ROOT/lib/modules/$KNEW/extra/kmbt_cz.ko$other"
	done
done
expect_rc 2 env KMBUILD_COMPRESS=lz4 "$KMBUILD" --root "$ROOT" build kmbt_cz -k "$KNEW" --force
assert_contains "$OUT" "compress"
echo ok
