#!/bin/bash
# kmbuild new NAME: a minimal module project from templates/skeleton that really builds:
# `kmbuild add ./demo` + `kmbuild build` with real kbuild against the installed headers,
# signed with a MOK made by `kmbuild mok generate` (the README's commands), and with plain
# `make`. Bad names and an existing directory are refused without writing anything.
source "$(dirname "$0")/../lib/lib-test.sh"
command -v modinfo >/dev/null || skip "modinfo not installed"
cd "$T"

expect_rc 0 kmb new demo
assert_contains "$OUT" "demo: new module project in demo"
for f in demo.c Kbuild Makefile kmbuild.conf README.md; do assert_file demo/$f; done
! grep -rq '@NAME@\|@VERSION@' demo || fail "placeholders left: $(grep -rl '@NAME@\|@VERSION@' demo)"
assert_contains "$(cat demo/Kbuild)" "obj-m := demo.o"
assert_contains "$(cat demo/demo.c)" "module_init(demo_init);"
# The README names the three commands: sign (MOK), build, verify.
for c in "kmbuild mok generate" "kmbuild add . && kmbuild build demo --all-kernels" \
	"kmbuild install demo && kmbuild verify"; do
	grep -qF "    $c" demo/README.md || fail "README lacks '$c'"
done
ls -a | grep -q 'kmb-new' && fail "temporary directory left"

# The README's commands, in the sandbox (kernels with headers; one kernel to keep it quick).
install_kernels $KNEW
kmb mok generate >/dev/null
kmb add ./demo >$T/add.out || fail "add ./demo"
assert_contains "$(cat $T/add.out)" "demo/1.0: added"
kmb build demo -k $KNEW >$T/build.out 2>&1 || { cat $T/build.out; fail "build demo"; }
KO=$(find $ROOT/var/lib/kmbuild/demo/1.0/$KNEW -path '*/module/demo.ko*' | head -n 1)
[ -n "$KO" ] || fail "no demo.ko"
assert_contains "$(modinfo -F vermagic $KO)" "^$KNEW "
assert_eq "$(modinfo -F version $KO)" "1.0" "version"
assert_contains "$(modinfo -F parm $KO)" "greeting:what to say when loaded"
assert_contains "$(modinfo -F signer $KO)" "kmbuild"
kmb install demo -k $KNEW >/dev/null
assert_file "$(ls $ROOT/lib/modules/$KNEW/extra/demo.ko*)"
echo "ok: kmbuild new demo && kmbuild add ./demo: built, signed and installed for $KNEW"

# Plain make (the Makefile) builds the same project without kmbuild.
cp -a demo plain
make -s -C plain KERNELRELEASE=$KNEW >$T/make.out 2>&1 || { cat $T/make.out; fail "plain make"; }
assert_file plain/demo.ko
echo "ok: plain make builds it too"

# Another directory; bad input.
expect_rc 0 kmb new other_mod $T/elsewhere
assert_file $T/elsewhere/other_mod.c
expect_rc 3 kmb new demo
assert_contains "$OUT" "demo already exists"
for bad in 9lives "has-dash" "a/b" "" "$(printf 'x%.0s' {1..56})"; do
	expect_rc 2 kmb new "$bad" $T/bad
	assert_contains "$OUT" "is not a module name"
	assert_no_file $T/bad
done
KMBUILD_TEMPLATE_DIR=$T/none expect_rc 4 kmb new fine $T/fine
assert_contains "$OUT" "no skeleton"
assert_no_file $T/fine
echo "ok: bad names, an existing directory and a missing skeleton are refused, nothing written"
