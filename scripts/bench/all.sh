#!/bin/bash
# Runs every benchmark and writes docs/benchmarks.md. Each script prints its own markdown
# section (table + the exact commands). Usage: scripts/bench/all.sh   (RUNS=5 default)
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
out=$top/docs/benchmarks.md
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
{
	echo "# Benchmarks"
	echo
	echo "Machine: $(nproc) CPUs, $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(. /etc/os-release; echo "$PRETTY_NAME"), $(dkms --version 2>/dev/null || echo "dkms absent")."
	echo "Every figure is a median of \`RUNS\` runs (default 5) measured in the same run as the figure it is compared with."
	echo "Regenerate with \`scripts/bench/all.sh\` (or one script of \`scripts/bench/\`)."
	echo
} >"$tmp"
for b in core sign verify; do
	[ -x "$top/scripts/bench/$b.sh" ] || continue
	echo "bench: $b" >&2
	"$top/scripts/bench/$b.sh" >>"$tmp"
	echo >>"$tmp"
done
mv "$tmp" "$out"
trap - EXIT
echo "wrote $out" >&2
