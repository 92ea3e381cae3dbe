#!/bin/bash
# A module that shadows an in-tree module of the same name: the original is backed up on
# install (found through libkmod's view of the kernel's index) and restored on uninstall.
source "$(dirname "$0")/../lib/lib-test.sh"
install_kernels "$KNEW"
# The "in-tree" module: a real module built for the kernel, placed in kernel/ and indexed.
mkmod "$T/intree" kmbt_shadow 0.1
make -s -C "/lib/modules/$KNEW/build" M="$T/intree" modules >/dev/null 2>&1
mkdir -p "$ROOT/lib/modules/$KNEW/kernel/drivers/misc"
cp "$T/intree/kmbt_shadow.ko" "$ROOT/lib/modules/$KNEW/kernel/drivers/misc/"
orig_sum=$(sha256sum <"$T/intree/kmbt_shadow.ko")
depmod -b "$ROOT" "$KNEW" 2>/dev/null

mkmod "$T/src" kmbt_shadow 2.0
kmb add "$T/src" >/dev/null
kmb install kmbt_shadow -k "$KNEW" >/dev/null
assert_no_file "$ROOT/lib/modules/$KNEW/kernel/drivers/misc/kmbt_shadow.ko"
bak=$ROOT/var/lib/kmbuild/kmbt_shadow/original_module/$KNEW/x86_64/kernel/drivers/misc/kmbt_shadow.ko
assert_file "$bak"
assert_eq "$(modinfo -b "$ROOT" -k "$KNEW" -F version kmbt_shadow)" "2.0"

kmb uninstall kmbt_shadow -k "$KNEW" >/dev/null
assert_file "$ROOT/lib/modules/$KNEW/kernel/drivers/misc/kmbt_shadow.ko"
assert_eq "$(sha256sum <"$ROOT/lib/modules/$KNEW/kernel/drivers/misc/kmbt_shadow.ko")" "$orig_sum"
assert_eq "$(modinfo -b "$ROOT" -k "$KNEW" -F version kmbt_shadow)" "0.1" "original is back in the index"
assert_no_file "$bak"
echo ok
