#!/bin/bash
# Bad input: one-line error naming the file and field, DKMS's exit code, state unchanged.
# A failing rebuild leaves the installed module in place.
source "$(dirname "$0")/../lib/lib-test.sh"
install_kernels "$KNEW"
mkmod "$T/good" kmbt_good 1.0
kmb add "$T/good" >/dev/null
snapshot() { (cd "$ROOT" && find . -printf '%p %y %s\n' | sort); }
before=$(snapshot)

bad() { # name, dkms.conf content, expected rc, expected text
	local d=$T/bad/$1
	mkdir -p "$d"
	printf '%b' "$2" >"$d/dkms.conf"
	echo 'obj-m := x.o' >"$d/Makefile"
	expect_rc "$3" kmb add "$d"
	assert_contains "$OUT" "$4" "error for $1"
	[ "$(wc -l <<<"$OUT")" = 1 ] || fail "error for $1 is not one line: $OUT"
	assert_contains "$OUT" "dkms.conf" "error for $1 names the file"
	[ "$(snapshot)" = "$before" ] || fail "state changed after bad input $1"
}
bad empty '' 8 "PACKAGE_NAME"
bad noversion 'PACKAGE_NAME=x\nBUILT_MODULE_NAME[0]=x\n' 8 "PACKAGE_VERSION"
bad sparse 'PACKAGE_NAME=x\nPACKAGE_VERSION=1\nBUILT_MODULE_NAME[1]=y\nBUILT_MODULE_NAME[0]=x\nDEST_MODULE_LOCATION[1]=/extra\n' 8 "DEST_MODULE_LOCATION"
bad dup 'PACKAGE_NAME=x\nPACKAGE_VERSION=1\nBUILT_MODULE_NAME[0]=x\nBUILT_MODULE_NAME[1]=x\nDEST_MODULE_LOCATION[0]=/extra\nDEST_MODULE_LOCATION[1]=/extra\n' 8 "BUILT_MODULE_NAME"
bad dotdot 'PACKAGE_NAME=x\nPACKAGE_VERSION=1\nBUILT_MODULE_NAME[0]=x\nDEST_MODULE_LOCATION[0]=/extra\nPATCH[0]="../../etc/passwd"\n' 8 "PATCH"
bad autoinst 'PACKAGE_NAME=x\nPACKAGE_VERSION=1\nBUILT_MODULE_NAME[0]=x\nDEST_MODULE_LOCATION[0]=/extra\nAUTOINSTALL=maybe\n' 8 "AUTOINSTALL"
bad crlf_bad 'PACKAGE_NAME=x\r\nPACKAGE_VERSION=1\r\nBUILT_MODULE_NAME[0]=x.ko\r\nDEST_MODULE_LOCATION[0]=/extra\r\n' 8 "BUILT_MODULE_NAME"
bad destloc 'PACKAGE_NAME=x\nPACKAGE_VERSION=1\nBUILT_MODULE_NAME[0]=x\nDEST_MODULE_LOCATION[0]=/usr/lib\n' 8 "DEST_MODULE_LOCATION"
# A directory without any conf: 4 (DKMS: dkms.conf not found)
mkdir -p "$T/bad/noconf"
expect_rc 4 kmb add "$T/bad/noconf"
[ "$(snapshot)" = "$before" ] || fail "state changed after a dir without conf"

# A well-formed CRLF file is accepted (DKMS accepts it too).
mkmod "$T/crlf" kmbt_crlf 1.0
sed -i 's/$/\r/' "$T/crlf/dkms.conf"
kmb add "$T/crlf" >/dev/null
assert_contains "$(kmb status kmbt_crlf)" "kmbt_crlf/1.0: added"

# Failing rebuild: the installed module and its build stay as they were.
kmb install kmbt_good -k "$KNEW" >/dev/null
inst=$ROOT/lib/modules/$KNEW/extra/kmbt_good.ko
sum=$(sha256sum <"$inst")
echo 'this does not compile;' >>"$ROOT/usr/src/kmbt_good-1.0/kmbt_good.c"
expect_rc 10 kmb build kmbt_good -k "$KNEW" --force
assert_contains "$OUT" "make failed"
assert_eq "$(sha256sum <"$inst")" "$sum" "installed module changed by a failed rebuild"
assert_file "$ROOT/var/lib/kmbuild/kmbt_good/1.0/$KNEW/x86_64/module/kmbt_good.ko"
assert_contains "$(kmb status kmbt_good)" "kmbt_good/1.0, $KNEW, x86_64: installed"
kmb log kmbt_good -k "$KNEW" | grep -q "does not compile\|error" || fail "log shows the failed build"
echo ok
