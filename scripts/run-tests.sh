#!/usr/bin/env bash
# Runs every test, after installing what the tests need. Ends with one line: "N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-test-tools.sh

results="$PWD/artifacts/test-results"
rm -rf "$results"
mkdir -p "$results"

status=0
dotnet test Tests/Tests.csproj \
  --logger "trx;LogFileName=tests.trx" \
  --logger "console;verbosity=normal" \
  --results-directory "$results" \
  --blame-hang-timeout 5m || status=$?

trx="$results/tests.trx"
if [ -f "$trx" ]; then
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -n 1)
  passed=$(sed -n 's/.* passed="\([0-9]*\)".*/\1/p' <<<"$counters")
  failed=$(sed -n 's/.* failed="\([0-9]*\)".*/\1/p' <<<"$counters")
  total=$(sed -n 's/.* total="\([0-9]*\)".*/\1/p' <<<"$counters")
  executed=$(sed -n 's/.* executed="\([0-9]*\)".*/\1/p' <<<"$counters")
  not_run=$(( ${total:-0} - ${executed:-0} ))
  if [ "$not_run" -gt 0 ]; then
    # A test that did not run (skipped, aborted) counts as a failure.
    failed=$(( ${failed:-0} + not_run ))
    status=1
  fi
  if [ "${failed:-0}" -gt 0 ]; then
    # Repeated at the end, so that a log cut to its last lines still says what failed and why.
    echo "Failed:"
    if command -v python3 >/dev/null; then
      python3 - "$trx" <<'PY' || true
import sys, xml.etree.ElementTree as ET
ns = {"t": "http://microsoft.com/schemas/VisualStudio/TeamTest/2010"}
for result in ET.parse(sys.argv[1]).getroot().iterfind(".//t:UnitTestResult", ns):
    if result.get("outcome") == "Passed":
        continue
    print(f"  {result.get('outcome')}: {result.get('testName')} [{result.get('duration')}]")
    for tag in ("Message", "StackTrace"):
        node = result.find(f".//t:ErrorInfo/t:{tag}", ns)
        if node is not None and node.text:
            lines = node.text.strip().splitlines()
            for line in lines[:25]:
                print("    " + line)
PY
    else
      grep -o 'testName="[^"]*"[^>]*outcome="\(Failed\|NotExecuted\|Timeout\|Aborted\)"' "$trx" | sed 's/testName="\([^"]*\)".*/  \1/' || true
    fi
  fi
  echo "${passed:-0} passed, ${failed:-0} failed"
else
  echo "0 passed, 1 failed"
  status=1
fi
exit "$status"
