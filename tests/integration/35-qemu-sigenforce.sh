#!/bin/bash
# The kernel's own verdict on module signatures: boot the real Debian kernel matching the
# installed headers ($KNEW) under qemu (TCG) with a busybox initramfs that insmods
#   - unsigned: a module built by kbuild against $KNEW's headers,
#   - other:    the same module signed by `kmbuild sign` with a key nobody enrolled,
#   - signed:   the same module signed by `kmbuild sign` with kmbuild's own key.
# Boot 1, module.sig_enforce=1: all rejected ("Loading of unsigned module is rejected",
#   "Loading of module with unavailable key is rejected"; insmod: "Key was rejected by service").
# Boot 2, control without enforcement: the module loads, tainting the kernel.
# Boot 3, the Secure Boot rehearsal (docs/signing.md): OVMF with Debian's snakeoil PK/KEK/db
#   (Secure Boot on) and kmbuild's certificate in MokListRT, written into a copy of the
#   varstore: the kernel locks itself down, loads our cert from MokListRT, accepts "signed" and
#   rejects "unsigned" and "other".
# Boots 1 and 2 run side by side; boot 3 runs when the 90 s budget leaves room for it.
source "$(dirname "$0")/../lib/lib-test.sh"
source "$(dirname "$0")/../lib/lib-deb.sh"

QEMU=$(command -v qemu-system-x86_64 || true)
[ -n "$QEMU" ] || skip "qemu-system-x86_64 not installed (scripts/deps/sign.txt)"
"$QEMU" --version >/dev/null 2>&1 || skip "qemu-system-x86_64 cannot run here"
BUSYBOX=
for b in /bin/busybox /usr/lib/busybox-static/busybox; do
	[ -x $b ] || continue
	case "$(LC_ALL=C ldd $b 2>&1 || true)" in *'not a dynamic'*) BUSYBOX=$b && break ;; esac
done
[ -n "$BUSYBOX" ] || skip "no static busybox (busybox-static)"
command -v cpio >/dev/null || skip "cpio not installed"

# The kernel image of the headers' ABI, cached outside the repo (lib-deb.sh, fetched once).
IMG=$(deb_linux_image "$KNEW")/boot/vmlinuz-$KNEW || skip "cannot download linux-image-$KNEW"

# A real module for $KNEW; kbuild's `modules` target does not sign it.
mkmod $T/m kmbqemu 1.0
make -s -C /lib/modules/$KNEW/build M=$T/m modules >$T/kbuild.log 2>&1 ||
	fail "kbuild: $(tail -n 5 $T/kbuild.log)"
grep -qa 'Module signature appended' $T/m/kmbqemu.ko && fail "kbuild signed the module"
kmb mok generate >/dev/null
mkdir -p $T/signed $T/other
cp $T/m/kmbqemu.ko $T/signed/
kmb sign -k $KNEW $T/signed/kmbqemu.ko >/dev/null
assert_contains "$(modinfo $T/signed/kmbqemu.ko)" "signer: .*kmbuild module signing key"
kmb mok generate --key $T/other/k.pem --cert $T/other/c.der --cn "nobody enrolled this" >/dev/null
cp $T/m/kmbqemu.ko $T/other/
kmb sign --key $T/other/k.pem --cert $T/other/c.der -k $KNEW $T/other/kmbqemu.ko >/dev/null

# busybox initramfs: insmod each, print the kernel's log lines about them, power off.
I=$T/initramfs
mkdir -p $I/bin $I/proc $I/sys $I/dev
cp $BUSYBOX $I/bin/busybox
cp $T/m/kmbqemu.ko $I/unsigned.ko
cp $T/other/kmbqemu.ko $I/other.ko
cp $T/signed/kmbqemu.ko $I/signed.ko
cat >$I/init <<'EOS'
#!/bin/busybox sh
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sys /sys
for m in unsigned other signed; do
	out=$(/bin/busybox insmod /$m.ko 2>&1)
	echo "KMBT insmod $m rc=$? $out"
	/bin/busybox rmmod kmbqemu 2>/dev/null
done
/bin/busybox dmesg | /bin/busybox grep -E 'kmbqemu|Loading of|module verification|Secure boot|MokListRT|kmbuild module' | /bin/busybox sed 's/^/KMBT dmesg /'
echo "KMBT tainted=$(/bin/busybox cat /proc/sys/kernel/tainted)"
echo "KMBT done"
/bin/busybox poweroff -f
EOS
chmod +x $I/init
(cd $I && find . | cpio -o -H newc --quiet) >$T/initrd.img

T0=$SECONDS
qemu() { # log, timeout, kernel args, extra qemu args...
	local log=$1 tmo=$2 append=$3
	shift 3
	timeout $tmo "$QEMU" -accel tcg -m 512 -nographic -no-reboot -monitor none "$@" \
		-kernel $IMG -initrd $T/initrd.img \
		-append "console=ttyS0 panic=-1 quiet loglevel=3 $append" </dev/null >$log 2>&1 || true
}
show() { # log, what
	grep -q "KMBT done" $1 || {
		tail -n 30 $1
		fail "boot did not finish: $2"
	}
	echo "boot: $2"
	tr -d '\r' <$1 | grep -o 'KMBT.*' | sed 's/^/  /'
}

qemu $T/enforce.log 60 module.sig_enforce=1 &
p1=$!
qemu $T/control.log 60 "" &
p2=$!
wait $p1 $p2
echo "boots 1+2 (side by side): $((SECONDS - T0)) s"

show $T/enforce.log "module.sig_enforce=1"
log=$(tr -d '\r' <$T/enforce.log)
for m in unsigned other signed; do
	assert_contains "$log" "KMBT insmod $m rc=[1-9][0-9]* .*Key was rejected by service"
done
assert_contains "$log" "Loading of unsigned module is rejected"
assert_contains "$log" "Loading of module with unavailable key is rejected"
grep -q 'kmbqemu loaded' <<<"$log" && fail "module loaded under sig_enforce"

show $T/control.log "control, no enforcement"
log=$(tr -d '\r' <$T/control.log)
assert_contains "$log" "KMBT insmod unsigned rc=0"
assert_contains "$log" "kmbqemu loaded"
assert_contains "$log" \
	"module verification failed: signature and/or required key missing - tainting kernel"

# --- Secure Boot rehearsal: snakeoil firmware keys + our cert in MokListRT ---
OVMF=/usr/share/OVMF
left=$((85 - (SECONDS - T0)))
if [ ! -f $OVMF/OVMF_CODE_4M.secboot.fd ] || [ ! -f $OVMF/OVMF_VARS_4M.snakeoil.fd ]; then
	echo "note: ovmf not installed: Secure Boot rehearsal not run"
elif [ $left -lt 45 ]; then
	echo "note: machine too busy ($left s left of the budget): Secure Boot rehearsal not run"
else
	cp $OVMF/OVMF_VARS_4M.snakeoil.fd $T/vars.fd
	"$KMB_TOP/tests/data/efivars/mkefivars" $T/mok.esl \
		--print-esl $ROOT/var/lib/kmbuild/mok/kmbuild.der
	"$KMB_TOP/tests/data/efivars/ovmf-add-var" $T/vars.fd MokListRT \
		605dab50-e046-4300-abb6-3dd810dd8b23 0x7 $T/mok.esl
	qemu $T/sb.log $left "" -machine q35,smm=on \
		-global driver=cfi.pflash01,property=secure,value=on \
		-drive if=pflash,format=raw,unit=0,readonly=on,file=$OVMF/OVMF_CODE_4M.secboot.fd \
		-drive if=pflash,format=raw,unit=1,file=$T/vars.fd
	show $T/sb.log "Secure Boot on (snakeoil db), kmbuild's cert in MokListRT"
	log=$(tr -d '\r' <$T/sb.log)
	assert_contains "$log" "Secure boot enabled"
	assert_contains "$log" "Loading X.509 certificate: UEFI:MokListRT"
	assert_contains "$log" "Loaded X.509 cert '.*kmbuild module signing key"
	assert_contains "$log" "KMBT insmod unsigned rc=[1-9][0-9]* .*Key was rejected by service"
	assert_contains "$log" "KMBT insmod other rc=[1-9][0-9]* .*Key was rejected by service"
	assert_contains "$log" "KMBT insmod signed rc=0"
	assert_contains "$log" "kmbqemu loaded"
	assert_contains "$log" "Loading of unsigned module is rejected"
	assert_contains "$log" "Loading of module with unavailable key is rejected"
	# Out-of-tree (O, 4096) but not unsigned (E, 8192): the signature was accepted.
	assert_contains "$log" "KMBT tainted=4096"
fi
echo "qemu total: $((SECONDS - T0)) s"
echo PASS
