#!/bin/bash
# Two kmbuild runs at once on one root: the second waits for the lock (and says so), both
# succeed, and the state tree is consistent afterwards.
source "$(dirname "$0")/../lib/lib-test.sh"
install_kernels "$KNEW"
mkmod "$T/a" kmbt_ca 1.0
mkmod "$T/b" kmbt_cb 1.0
kmb add "$T/a" >/dev/null
kmb add "$T/b" >/dev/null
kmb install kmbt_ca -k "$KNEW" >"$T/a.out" 2>"$T/a.err" &
pa=$!
sleep 0.3
kmb install kmbt_cb -k "$KNEW" >"$T/b.out" 2>"$T/b.err" &
pb=$!
wait $pa || fail "first run failed: $(cat "$T/a.err")"
wait $pb || fail "second run failed: $(cat "$T/b.err")"
cat "$T/a.err" "$T/b.err"
grep -q "waiting" "$T/a.err" "$T/b.err" || fail "no run waited for the lock"
st=$(kmb status)
assert_contains "$st" "kmbt_ca/1.0, $KNEW, x86_64: installed"
assert_contains "$st" "kmbt_cb/1.0, $KNEW, x86_64: installed"
grep -q kmbt_ca "$ROOT/lib/modules/$KNEW/modules.dep" || fail "modules.dep lost kmbt_ca"
grep -q kmbt_cb "$ROOT/lib/modules/$KNEW/modules.dep" || fail "modules.dep lost kmbt_cb"
# No temp debris anywhere in the state tree.
[ -z "$(find "$ROOT/var/lib/kmbuild" -name '*kmb-*')" ] || fail "temp files left: $(find "$ROOT/var/lib/kmbuild" -name '*kmb-*')"
echo ok
