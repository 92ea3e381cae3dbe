#!/bin/bash
# kmbuild headers find: every layout under the root, the cache, then the host (read-only);
# dangling symlinks; completeness (Makefile, .config, Module.symvers, fixdep, modpost).
# kmbuild headers install: refused in a sandbox root and by policy; --dry-run on the real system.
source "$(dirname "$0")/../lib/lib-test.sh"
# This test is about the headers policy itself: no default from the environment.
unset KMBUILD_HEADERS

KBUILD=/usr/lib/linux-kbuild-6.1
[ -x "$KBUILD/scripts/basic/fixdep" ] || skip "linux-kbuild-6.1 not installed"

# A headers tree shaped like a distribution's (real host tools from linux-kbuild).
mktree() {
	local d=$1
	mkdir -p "$d/scripts/basic" "$d/scripts/mod" "$d/include/config"
	echo "# top Makefile" >"$d/Makefile"
	echo "CONFIG_MODULES=y" >"$d/.config"
	printf '0x12345678\tprintk\tvmlinux\tEXPORT_SYMBOL\t\n' >"$d/Module.symvers"
	cp "$KBUILD/scripts/basic/fixdep" "$d/scripts/basic/fixdep"
	cp "$KBUILD/scripts/mod/modpost" "$d/scripts/mod/modpost"
}

# 1. Host fallback: nothing under the root, the host's /lib/modules/K/build is used read-only.
expect_rc 0 kmb headers find "$KNEW"
assert_contains "$OUT" "host  build"
assert_contains "$OUT" "Using: /usr/src/linux-headers-$KNEW"
assert_no_file "$ROOT/lib/modules"

# 2. A dangling build link in the root (target neither in the root nor on the host).
KD=6.1.0-9999-amd64
mkdir -p "$ROOT/lib/modules/$KD"
ln -s "/usr/src/linux-headers-$KD" "$ROOT/lib/modules/$KD/build"
expect_rc 21 kmb headers find "$KD"
assert_contains "$OUT" "build.*-> /usr/src/linux-headers-$KD  DANGLING symlink"
assert_contains "$OUT" "No complete headers for $KD"

# 3. The same absolute link resolves inside the sandbox root once the root has the tree; a
# tree missing pieces is reported with what is missing.
mktree "$ROOT/usr/src/linux-headers-$KD"
rm "$ROOT/usr/src/linux-headers-$KD/Module.symvers"
chmod -x "$ROOT/usr/src/linux-headers-$KD/scripts/mod/modpost"
expect_rc 21 kmb headers find "$KD"
assert_contains "$OUT" "incomplete: missing Module.symvers, scripts/mod/modpost"
assert_contains "$OUT" "root  linux-headers"
printf '0x1\tx\tvmlinux\tEXPORT_SYMBOL\t\n' >"$ROOT/usr/src/linux-headers-$KD/Module.symvers"
chmod +x "$ROOT/usr/src/linux-headers-$KD/scripts/mod/modpost"
expect_rc 0 kmb headers find "$KD"
# The build link is the first layout and now resolves inside the root.
assert_contains "$OUT" "\* root  build .*complete"
assert_contains "$OUT" "Using: $ROOT/usr/src/linux-headers-$KD"

# 4. include/config/auto.conf stands in for .config (Fedora's kernel-devel has both; some only
# the latter); the rpm layout usr/src/kernels/K.
KR=6.5.0-300.fc99.x86_64
mktree "$ROOT/usr/src/kernels/$KR"
mv "$ROOT/usr/src/kernels/$KR/.config" "$ROOT/usr/src/kernels/$KR/include/config/auto.conf"
expect_rc 0 kmb headers find "$KR"
assert_contains "$OUT" "\* root  kernels"

# 5. The root wins over the host for the same release.
mktree "$ROOT/usr/src/kernels/$KOLD"
expect_rc 0 kmb headers find "$KOLD"
assert_contains "$OUT" "Using: $ROOT/usr/src/kernels/$KOLD"
assert_contains "$OUT" "host  build"

# 6. kmbuild's cache (deb layout) is found, after the root's own layouts.
KC=6.1.0-9998-amd64
mktree "$ROOT/var/cache/kmbuild/headers/$KC/usr/src/linux-headers-$KC"
expect_rc 0 kmb headers find "$KC"
assert_contains "$OUT" "\* cache cache"

# 7. --json: every candidate with its checks; the best one flagged.
OUTJ=$(kmb --json headers find "$KD")
python3 - "$OUTJ" "$ROOT/usr/src/linux-headers-$KD" <<'EOF'
import json, sys
d = json.loads(sys.argv[1])
assert d["complete"] is True and d["headers"] == sys.argv[2], d
best = [c for c in d["candidates"] if c["best"]]
assert len(best) == 1 and best[0]["layout"] == "build" and best[0]["origin"] == "root", best
assert best[0]["symlink"].startswith("/usr/src/"), best
for k in ("makefile", "config", "module_symvers", "fixdep", "modpost"):
    assert best[0][k] is True, k
src = [c for c in d["candidates"] if c["layout"] == "source" and c["origin"] == "root"][0]
assert src["exists"] is False
EOF
OUTJ=$(kmb --json headers find "6.1.0-9997-amd64" || true)
python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert d["headers"] is None and not d["complete"]' "$OUTJ"

# 8. Bad input: not a release; unknown action.
expect_rc 2 kmb headers find ../etc
assert_contains "$OUT" "not a kernel release"
expect_rc 2 kmb headers frobnicate
assert_contains "$OUT" "unknown action"

# 9. install: never in a sandbox root (it would change the real system), never against policy.
expect_rc 1 kmb headers install "$KD"
assert_contains "$OUT" "refusing to run the package manager for --root $ROOT"
[ "$(echo "$OUT" | wc -l)" = 1 ] || fail "not one line: $OUT"
mkdir -p "$ROOT/etc/kmbuild"
echo "headers = never" >"$ROOT/etc/kmbuild/kmbuild.conf"
expect_rc 1 kmb headers install "$KD"
assert_contains "$OUT" "headers = never: the package manager is not used"
echo "headers = sometimes" >"$ROOT/etc/kmbuild/kmbuild.conf"
expect_rc 8 kmb headers install "$KD"
assert_contains "$OUT" "headers = 'sometimes'"
rm "$ROOT/etc/kmbuild/kmbuild.conf"

# 10. On the real system, --dry-run shows the apt-get command without running it.
expect_rc 0 env -u KMBUILD_ROOT KMBUILD_HEADERS=package-manager "$KMBUILD" headers install \
	"$KD" --dry-run
assert_contains "$OUT" "would run: apt-get install -y linux-headers-$KD"
echo "40-headers-find: ok"
