"""Smoke test of bench/run.py: a tiny run still produces every measurement and ratio."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_benchmark_smoke(slapd_server, tmp_path):  # the fixture only checks slapd is there
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "run.py"), "--pupils", "200",
                           "--no-growth", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads((tmp_path / "bench-200.json").read_text())
    (run,) = result["runs"]
    for sync in ("initial", "nochange", "churn"):
        assert run[sync]["seconds"] > 0 and run[sync]["rss_mib"] > 0 and run[sync]["failed"] == 0
    assert run["nochange"]["counts"] == dict.fromkeys(run["nochange"]["counts"], 0)
    assert run["churn"]["counts"]["disabled"] > 0 and run["churn"]["counts"]["updated"] > 0
    assert run["ldapadd_s"] > 0 and run["ldapsearch_s"] > 0 and run["entries"] > 200
    assert set(run["ratios"]) == {"initial_vs_ldapadd", "nochange_vs_ldapsearch", "churn_vs_ldapsearch",
                                  "daemon_nochange_vs_ldapsearch", "daemon_churn_vs_ldapsearch",
                                  "daemon_after_churn_vs_ldapsearch"}
    for sync in ("daemon_first", "daemon_nochange", "daemon_churn", "daemon_after_churn"):
        assert run[sync]["seconds"] > 0 and run[sync]["failed"] == 0
    assert run["daemon_first"]["counts"] == run["daemon_nochange"]["counts"]  # nothing to do
    assert run["daemon_churn"]["counts"]["disabled"] > 0 and run["daemon_churn"]["counts"]["updated"] > 0
    assert run["daemon_after_churn"]["counts"] == run["daemon_first"]["counts"]  # read, not redone
    assert run["daemon_peak_rss_mib"] > 0
    assert run["planner_us_per_person"] > 0 and run["peak_rss_mib"] > 0
    assert set(result["met"]) == set(result["targets"]) and result["machine"]["nproc"] >= 1
    assert "| 200 |" in done.stdout
