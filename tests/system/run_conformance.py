#!/usr/bin/env python3
"""Runs ../shared/conformance/run.py --slow against a fresh crew (lease 2 s, as --slow needs).

    python3 run_conformance.py --crew build/crew --shared ../shared
"""
import argparse
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import crewproc  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--crew", required=True)
ap.add_argument("--shared", required=True)
args = ap.parse_args()
crewproc.CREW = os.path.abspath(args.crew)
suite = os.path.join(os.path.abspath(args.shared), "conformance", "run.py")
if not os.path.exists(suite):
    print(f"conformance suite not found at {suite}")
    sys.exit(1)
server = crewproc.Crew(env={"CREW_ABANDONED_TASK_INTERVAL_IN_SECONDS": "2"})
try:
    result = subprocess.run([sys.executable, suite, "--url", f"http://127.0.0.1:{server.port}/", "--slow"],
                            timeout=600)
    sys.exit(result.returncode)
finally:
    server.stop()
