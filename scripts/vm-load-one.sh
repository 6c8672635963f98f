#!/bin/sh
# Loads one policy through an agent inside a VM guest, with libbpf's debug
# output (TLN_SHIM_DEBUG=1), to see why a guest kernel refuses a program.
# Usage (host): bash scripts/vm.sh run --kernel 6.1 --timeout 280 -- sh scripts/vm-load-one.sh POLICY.yaml
# e.g. POLICY = ../shared/tetragon-corpus/policies/testdata__specs-tmpl__capchanges.yaml (6.1: EACCES)
set -u
policy=$1
mount -t bpf bpf /sys/fs/bpf 2>/dev/null
D=/tmp/vm-load-one
mkdir -p "$D"
TLN_SHIM_DEBUG=1 TALON_CGROUP_PARENT=talon-vm-load-one node bin/talon.js agent --state-dir "$D/state" \
	--server-address "unix://$D/s.sock" --node-name vm-load-one >"$D/agent.out" 2>"$D/agent.err" &
agent=$!
i=0
until grep -q "ready:" "$D/agent.err" 2>/dev/null || [ $i -ge 120 ]; do sleep 0.5; i=$((i + 1)); done
node bin/talon.js tp add "$policy" --server-address "unix://$D/s.sock"
rc=$?
echo "=== libbpf and agent, last 80 lines of $(wc -l <"$D/agent.err")"
tail -80 "$D/agent.err"
kill $agent 2>/dev/null
wait $agent 2>/dev/null
exit $rc
