#!/usr/bin/env python3
"""Grades Autobahn reports: every case must be OK; INFORMATIONAL is accepted only for the cases
Autobahn grades INFORMATIONAL for every implementation (it checks nothing pass/fail there).
Prints a summary per role and the closing line `N passed, M failed`; exits 1 on any failure."""
import json
import pathlib
import sys

EXPECTED_CASES = 517  # sections 1-7, 9, 10, 12, 13 (12, 13: permessage-deflate)
ACCEPTED = {"OK", "INFORMATIONAL"}


def grade(directory):
    index = pathlib.Path(directory) / "index.json"
    if not index.exists():
        return 0, [f"{directory}: no index.json (did the run happen?)"]
    data = json.loads(index.read_text())
    failures, passed = [], 0
    for agent, cases in data.items():
        for case, result in sorted(cases.items()):
            behaviours = {result.get("behavior"), result.get("behaviorClose")}
            if behaviours <= ACCEPTED:
                passed += 1
            else:
                failures.append(f"{directory}: {agent} case {case}: {result.get('behavior')}/{result.get('behaviorClose')}")
    total = passed + len(failures)
    if total != EXPECTED_CASES:
        failures.append(f"{directory}: {total} cases reported, expected {EXPECTED_CASES}")
    return passed, failures


def main():
    all_passed, all_failures = 0, []
    for directory in sys.argv[1:]:
        passed, failures = grade(directory)
        print(f"{directory}: {passed} cases OK, {len(failures)} not OK")
        all_passed += passed
        all_failures += failures
    for failure in all_failures:
        print("FAIL", failure)
    print(f"{all_passed} passed, {len(all_failures)} failed")
    sys.exit(1 if all_failures else 0)


if __name__ == "__main__":
    main()
