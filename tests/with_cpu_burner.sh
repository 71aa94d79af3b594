#!/usr/bin/env bash
# Run a command while another process keeps one core busy: the suite must pass under load too.
set -euo pipefail
python3 -c 'while True: pass' &
burner=$!
trap 'kill "$burner" 2>/dev/null || true' EXIT
echo "stress: a CPU burner (pid $burner) keeps one core busy"
"$@"
