#!/bin/bash
# The core paths under valgrind: no invalid accesses, no definite leaks, no fd leaks into
# children that matter. Children that kmbuild execs (make, depmod) are not traced.
source "$(dirname "$0")/../lib/lib-test.sh"
command -v valgrind >/dev/null || skip "valgrind not installed"
install_kernels "$KNEW"
mkmod "$T/src" kmbt_vg 1.0
vg() {
	valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
		--show-leak-kinds=definite --trace-children=no "$KMBUILD" --root "$ROOT" "$@"
}
vg add "$T/src" >/dev/null
vg status >/dev/null
vg --json status >/dev/null
vg kernels --json >/dev/null
vg install kmbt_vg -k "$KNEW" >/dev/null
vg autoinstall -k "$KNEW" >/dev/null
vg --json autoinstall -k "$KNEW" >/dev/null
vg log kmbt_vg -k "$KNEW" >/dev/null
# A second arch directory sorts before x86_64: the arch filter skips it, then keeps the next.
kmb build kmbt_vg -k "$KNEW/aarch64" >/dev/null
OUT=$(vg status -k "$KNEW/x86_64")
assert_contains "$OUT" "kmbt_vg/1.0, $KNEW, x86_64: installed"
! grep -q aarch64 <<<"$OUT" || fail "status -k $KNEW/x86_64 shows aarch64: $OUT"
expect_rc 3 vg add "$T/src"
expect_rc 4 vg build nosuch -k "$KNEW"
vg uninstall kmbt_vg -k "$KNEW" >/dev/null
vg remove kmbt_vg >/dev/null
echo ok
