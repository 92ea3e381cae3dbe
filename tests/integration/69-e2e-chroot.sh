#!/bin/bash
# The end-to-end test (tests/e2e/run.sh): real apt/dpkg kernel packages in a debootstrap'd
# Debian 12 chroot drive kmbuild's hooks, then qemu boots the result. First run downloads
# the base system and two kernels (cached under /var/cache/kmbuild-test/e2e); later runs take
# a few minutes. KMB_E2E=0 skips it.
set -u
[ "${KMB_E2E:-1}" != 0 ] || { echo "KMB_E2E=0: end-to-end test skipped"; exit 77; }
exec bash "$(dirname "$0")/../e2e/run.sh"
