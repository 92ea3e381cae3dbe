#!/bin/bash
# kmbuild mok generate/status/enroll: key generation rules (0600, no overwrite, never a new key
# for a missing cert), certificate contents checked with openssl, and Secure Boot/MOK state
# read from efivarfs fixtures (SB on/off, setup mode, enrolled / not / pending / corrupt list,
# MokListTrustedRT) written by tests/data/efivars/mkefivars. enroll runs the real mokutil only
# where it cannot touch real firmware.
source "$(dirname "$0")/../lib/lib-test.sh"
MKEFI="$KMB_TOP/tests/data/efivars/mkefivars"
command -v openssl >/dev/null || skip "openssl not installed"
command -v python3 >/dev/null || skip "python3 not installed"

KEY=$ROOT/var/lib/kmbuild/mok/kmbuild.key
CERT=$ROOT/var/lib/kmbuild/mok/kmbuild.der
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print(d$1)"; }
one_line() { [ "$(printf '%s\n' "$OUT" | grep -c .)" = 1 ] || fail "not one line: $OUT"; }

# --- no key, no EFI ---
expect_rc 0 kmb mok status
assert_contains "$OUT" "UEFI: *no"
assert_contains "$OUT" "no signing key"
kmb --json mok status >$T/s.json
assert_eq "$(json "['efi']" <$T/s.json)" False
assert_eq "$(json "['secure_boot']" <$T/s.json)" None
expect_rc 4 kmb mok enroll
one_line

# --- generate ---
expect_rc 0 kmb mok generate
assert_eq "$(stat -c %a $KEY)" 600 "key mode"
assert_eq "$(stat -c %a $(dirname $KEY))" 700 "key dir mode"
assert_eq "$(stat -c %a $ROOT/var/lib/kmbuild)" 755 "state dir mode"
openssl x509 -inform DER -in $CERT -noout -text >$T/cert.txt
assert_contains "$(cat $T/cert.txt)" "CN *= *$(hostname) kmbuild module signing key"
assert_contains "$(cat $T/cert.txt)" "Code Signing, 1.3.6.1.4.1.2312.16.1.2"
assert_contains "$(cat $T/cert.txt)" "CA:FALSE"
assert_contains "$(cat $T/cert.txt)" "Public-Key: (2048 bit)"
year=$(openssl x509 -inform DER -in $CERT -noout -enddate | grep -o '[0-9]\{4\} GMT' | cut -c1-4)
[ "$year" -ge $(($(date +%Y) + 90)) ] || fail "validity too short: $year"
key_sum=$(sha256sum <$KEY)

expect_rc 3 kmb mok generate
one_line
assert_contains "$OUT" "--force"
assert_eq "$(sha256sum <$KEY)" "$key_sum" "key changed by refused generate"

# Only the certificate is missing: error + hint, the key is never replaced.
mv $CERT $T/cert.saved
expect_rc 4 kmb mok generate
one_line
assert_contains "$OUT" "--cert-only"
assert_eq "$(sha256sum <$KEY)" "$key_sum" "key regenerated for a missing cert"
assert_no_file $CERT
kmb --json mok status >$T/s.json
assert_contains "$(json "['error']" <$T/s.json)" "--cert-only"
expect_rc 0 kmb mok generate --cert-only
assert_eq "$(sha256sum <$KEY)" "$key_sum" "--cert-only touched the key"
assert_eq "$(openssl x509 -inform DER -in $CERT -noout -pubkey)" "$(openssl pkey -in $KEY -pubout)" \
	"new cert is for the old key"
expect_rc 3 kmb mok generate --cert-only

# Custom paths and a 4096-bit key; --key without --cert is a usage error.
expect_rc 2 kmb mok generate --key $T/k.pem
expect_rc 0 kmb mok generate --bits 4096 --key $T/big/k.pem --cert $T/big/c.der
openssl x509 -inform DER -in $T/big/c.der -noout -text | grep -q 'Public-Key: (4096 bit)' ||
	fail "--bits 4096 ignored"
expect_rc 2 kmb mok generate --bits 1024 --key $T/small.pem --cert $T/small.der
expect_rc 2 kmb mok frobnicate
expect_rc 2 kmb mok status --force

# --- Secure Boot / MOK state from efivars fixtures ---
openssl x509 -inform DER -in $T/big/c.der -outform DER -out $T/other.der
status() { kmb --json mok status >$T/s.json; }
fixture() { rm -rf $ROOT/sys && "$MKEFI" $ROOT "$@"; }

fixture --sb 1 --setup 0 --mok $T/other.der --mok $CERT --split 1
status
assert_eq "$(json "['efi']" <$T/s.json)" True
assert_eq "$(json "['secure_boot']" <$T/s.json)" True
assert_eq "$(json "['enrolled']" <$T/s.json)" True
assert_eq "$(json "['mok_certificates']" <$T/s.json)" 2
assert_eq "$(json "['pending']" <$T/s.json)" None
assert_eq "$(json "['origin']" <$T/s.json)" kmbuild
assert_contains "$(json "['verdict']" <$T/s.json)" "enrolled: modules signed with this key will load"
assert_eq "$(json "['certificate']['sha256']" <$T/s.json)" \
	"$(openssl x509 -inform DER -in $CERT -noout -fingerprint -sha256 | cut -d= -f2)"
expect_rc 0 kmb mok status
assert_contains "$OUT" "Secure Boot: *enabled"
assert_contains "$OUT" "certificate enrolled"
expect_rc 0 kmb mok enroll
assert_contains "$OUT" "already enrolled"

fixture --sb 1 --setup 0 --mok $T/other.der
status
assert_eq "$(json "['enrolled']" <$T/s.json)" False
assert_contains "$(json "['verdict']" <$T/s.json)" "NOT enrolled"

fixture --sb 1 --setup 0 --mok $T/other.der --new $CERT
status
assert_eq "$(json "['enrolled']" <$T/s.json)" False
assert_eq "$(json "['pending']" <$T/s.json)" True
assert_contains "$(json "['verdict']" <$T/s.json)" "pending"
expect_rc 0 kmb mok enroll
assert_contains "$OUT" "already pending"

fixture --sb 0 --setup 0
status
assert_eq "$(json "['secure_boot']" <$T/s.json)" False
assert_contains "$(json "['verdict']" <$T/s.json)" "Secure Boot is off"
expect_rc 0 kmb mok status
assert_contains "$OUT" "Secure Boot: *disabled"

fixture --sb 1 --setup 1
status
assert_contains "$(json "['verdict']" <$T/s.json)" "Setup Mode"

fixture --sb 1 --setup 0 --mok $CERT --trusted 0
status
assert_eq "$(json "['mok_trusted']" <$T/s.json)" False
assert_contains "$(json "['verdict']" <$T/s.json)" "not trusted"

fixture --sb 1 --setup 0 --mok $CERT --del $CERT
status
assert_eq "$(json "['pending_delete']" <$T/s.json)" True
assert_contains "$(json "['verdict']" <$T/s.json)" "deletion is pending"

# A damaged MokListRT is reported as such, never as "not enrolled".
fixture --sb 1 --setup 0 --mok $CERT
f=$(ls $ROOT/sys/firmware/efi/efivars/MokListRT-*)
head -c -5 $f >$f.tmp && mv $f.tmp $f
status
assert_eq "$(json "['enrolled']" <$T/s.json)" None
assert_contains "$(json "['mok_list_error']" <$T/s.json)" "malformed"

# Discovery reports where the pair came from.
mkdir -p $ROOT/var/lib/shim-signed/mok
mv $KEY $ROOT/var/lib/shim-signed/mok/MOK.priv
mv $CERT $ROOT/var/lib/shim-signed/mok/MOK.der
status
assert_eq "$(json "['origin']" <$T/s.json)" shim-signed
assert_contains "$(json "['why']" <$T/s.json)" "shim-signed"
chmod 644 $ROOT/var/lib/shim-signed/mok/MOK.priv
status
assert_contains "$(json "['error']" <$T/s.json)" "chmod 600"
chmod 600 $ROOT/var/lib/shim-signed/mok/MOK.priv
CERT=$ROOT/var/lib/shim-signed/mok/MOK.der

# --- enroll: not enrolled, Secure Boot on ---
fixture --sb 1 --setup 0 --mok $T/other.der
# --root cannot redirect mokutil: refused unless a mokutil is configured explicitly.
expect_rc 2 kmb mok enroll
one_line
KMBUILD_MOKUTIL=/nonexistent/mokutil expect_rc 4 kmb mok enroll
assert_contains "$OUT" "apt-get install mokutil"
assert_contains "$OUT" "$(openssl x509 -inform DER -in $CERT -noout -fingerprint -sha256 | cut -d= -f2)"
assert_contains "$OUT" "$(openssl x509 -inform DER -in $CERT -noout -fingerprint -sha1 | cut -d= -f2)"
# The real mokutil, only on a machine without UEFI (it acts on the host's firmware).
if command -v mokutil >/dev/null && [ ! -d /sys/firmware/efi ]; then
	KMBUILD_MOKUTIL=mokutil expect_rc 1 kmb mok enroll
	assert_contains "$OUT" "mokutil --import $CERT failed"
	assert_contains "$OUT" "EFI variables are not supported"
fi
rm -rf $ROOT/sys
expect_rc 1 kmb mok enroll
one_line
assert_contains "$OUT" "not booted via UEFI"
echo PASS
