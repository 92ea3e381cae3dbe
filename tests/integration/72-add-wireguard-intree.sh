#!/bin/bash
# `kmbuild add wireguard` on the Debian 6.1 kernels: WireGuard is in-tree since 5.6, so the
# honest answer is "in-tree" for each kernel and nothing built or registered. Real data:
#  - $KNEW: wireguard.ko, modules.builtin and modules.order from the real linux-image .deb,
#    indexed by the real depmod; kmbuild finds the module through libkmod;
#  - $KOLD: no modules, only headers: its .config says CONFIG_WIREGUARD=m;
#  - a kernel whose modules.builtin lists wireguard (=y): libkmod reports it built in;
#  - once a kernel without it (5.4) is installed, the template applies to it and kmbuild
#    goes for the source (here unreachable: a clean failure, nothing registered);
#  - with the module gone from $KNEW (depmod's view is the authority), it is no longer in-tree.
source "$(dirname "$0")/../lib/lib-test.sh"
source "$(dirname "$0")/../lib/lib-templates.sh"
command -v depmod >/dev/null || skip "depmod not installed"

[ "$KOLD" != "$KNEW" ] || skip "needs headers of two kernels (have: $KERNELS)"
install_kernels $KOLD $KNEW
# Every kernel kmbuild sees (the sandbox's two, and the host's with headers) has WireGuard
# in-tree by its configuration; how many there are is what is installed here.
SEEN=$(kernels_seen | wc -l)
for k in $(kernels_seen); do
	c=$(ls /usr/src/linux-headers-$k/.config /lib/modules/$k/build/.config 2>/dev/null | head -n 1)
	[ -n "$c" ] && [ "$(grep -h '^CONFIG_WIREGUARD=' "$c")" = CONFIG_WIREGUARD=m ] ||
		skip "the headers of $k do not say CONFIG_WIREGUARD=m"
done
IMG=$(deb_fetch "linux-image-$KNEW")
M=lib/modules/$KNEW
dpkg-deb --fsys-tarfile "$IMG" | tar -x -C $ROOT --wildcards "./$M/modules.builtin*" \
	"./$M/modules.order" "./$M/kernel/drivers/net/wireguard/*"
assert_file $ROOT/$M/kernel/drivers/net/wireguard/wireguard.ko
depmod -b $ROOT $KNEW
assert_file $ROOT/$M/modules.dep.bin

# --- the Debian 6.1 kernels: in-tree, nothing built, nothing registered, nothing fetched ---
expect_rc 0 kmb add wireguard
assert_contains "$OUT" "wireguard: $KNEW: in-tree (kernel/drivers/net/wireguard/wireguard.ko): nothing to build"
assert_contains "$OUT" "wireguard: $KOLD: in-tree (CONFIG_WIREGUARD=m in the kernel's configuration): nothing to build"
assert_contains "$OUT" "every installed kernel already has it (in-tree): nothing to build, nothing registered"
assert_eq "$(kmb status | grep -c wireguard || true)" 0 "registered entries"
assert_no_file $ROOT/var/lib/kmbuild/wireguard
assert_eq "$(ls $ROOT/usr/src 2>/dev/null | wc -l)" 0 "sources copied"
assert_no_file $ROOT/var/cache/kmbuild/sources
echo "ok: wireguard in-tree on $KNEW (libkmod) and $KOLD (config); nothing registered"

kmb --json add wireguard >$T/wg.json
python3 - $T/wg.json "$KOLD" "$KNEW" <<'EOF' || fail "add --json: $(cat $T/wg.json)"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["state"] == "in-tree" and d["template"] == "wireguard", d
k = {x["kernel"]: x for x in d["kernels"]}
assert k[sys.argv[3]]["fit"] == "in-tree" and "wireguard.ko" in k[sys.argv[3]]["detail"], d
assert k[sys.argv[2]]["fit"] == "in-tree" and "CONFIG_WIREGUARD=m" in k[sys.argv[2]]["detail"], d
EOF
OUT=$(kmb search wireguard)
assert_contains "$OUT" "wireguard .*in-tree $SEEN/$SEEN"

# --- built in (=y): modules.builtin lists it; libkmod reads depmod's modules.builtin.bin ---
KB=6.1.0-99-builtin
mkdir -p $ROOT/lib/modules/$KB
grep -v wireguard $ROOT/$M/modules.order >$ROOT/lib/modules/$KB/modules.order
cp $ROOT/$M/modules.builtin.modinfo $ROOT/lib/modules/$KB/
{ cat $ROOT/$M/modules.builtin; echo kernel/drivers/net/wireguard/wireguard.ko; } \
	>$ROOT/lib/modules/$KB/modules.builtin
depmod -b $ROOT $KB
expect_rc 0 kmb add wireguard
assert_contains "$OUT" "wireguard: $KB: in-tree (wireguard is built into the kernel)"
echo "ok: built-in wireguard found through libkmod"

# --- an old kernel without it: the template applies there, kmbuild fetches the source ---
KO=5.4.0-99-old
mkdir -p $ROOT/lib/modules/$KO
expect_rc 4 kmb add wireguard
assert_contains "$OUT" "wireguard: $KO: not in the kernel, will be built"
assert_contains "$OUT" "wireguard: $KNEW: in-tree"
assert_contains "$OUT" "error: wireguard: no source could be fetched"
assert_no_file $ROOT/var/lib/kmbuild/wireguard
assert_eq "$(ls -A $ROOT/var/cache/kmbuild/sources | wc -l)" 0 "cache after a failed fetch"
echo "ok: a 5.4 kernel needs the backport; unreachable source: nothing registered"
rm -rf $ROOT/lib/modules/$KO $ROOT/lib/modules/$KB

# --- depmod's view is the authority: without wireguard.ko, $KNEW does not have it ---
rm -rf $ROOT/$M/kernel/drivers/net/wireguard
depmod -b $ROOT $KNEW
expect_rc 77 kmb add wireguard
assert_contains "$OUT" "wireguard: $KNEW: does not apply (exclusive-kernel=.* does not match $KNEW)"
assert_contains "$OUT" "no installed kernel needs it ($((SEEN - 1)) in-tree, 1 outside its range): nothing registered"
assert_no_file $ROOT/var/lib/kmbuild/wireguard
echo "ok: without wireguard.ko, $KNEW is outside the backport's range, nothing registered"
