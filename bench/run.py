"""Benchmark: sync a whole region and compare it with slapd's own floor (ldapadd, ldapsearch).

    python bench/run.py [--pupils N] [--quick] [--no-growth] [--out DIR] [--ldif DIR]

Each one-shot sync runs as ``python -m provisioner sync --json`` (as an admin runs it from
cron), timed from outside, its peak RSS read with ``wait4``: it reads everything, every
time. Then ``provisioner daemon`` is started and asked for runs with ``sync --now``: its
first run reads everything, the later ones only what changed (its replica and memo); their
time is the run's own, as the daemon reports it, and the peak RSS is the daemon's VmHWM.
The floor uses OpenLDAP's C clients on the same entries against a fresh slapd loaded with
the same ``ldif/``. Writes ``DIR/bench-N.json`` and prints a markdown table.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import json
import math
import multiprocessing
import os
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from provisioner.adapters.directory import Directory  # noqa: E402
from provisioner.app.sync import collector_paused, read_roster  # noqa: E402
from provisioner.core.plan import make_plan  # noqa: E402
from provisioner.core.snapshot import Snapshot  # noqa: E402
from provisioner.demo import data  # noqa: E402
from provisioner.demo.run import environment, settings_for  # noqa: E402
from provisioner.demo.slapd import ProvisionerSlapd  # noqa: E402

TARGETS = {  # metric: limit
    "initial_vs_ldapadd": 1.0, "nochange_vs_ldapsearch": 2.0, "churn_vs_ldapsearch": 2.5,
    "daemon_nochange_vs_ldapsearch": 2.0, "daemon_churn_vs_ldapsearch": 2.5,
    "daemon_after_churn_vs_ldapsearch": 2.0,  # a no-change run, reading what the churn wrote
    "peak_rss_mib": 1024.0, "daemon_peak_rss_mib": 1024.0, "planner_us_per_person": 20.0,
}


def env_of(settings) -> dict[str, str]:
    # 1 % leavers is over the default safety limit of 50; the benchmark means it.
    return environment(settings) | {"PROVISIONER_LIFECYCLE__MAX_DISABLES": "1000000",
                                    "PROVISIONER_LIFECYCLE__MAX_DISABLE_RATIO": "1.0"}


def sync(env: dict[str, str], workdir: Path) -> dict:
    """One ``provisioner sync --json`` in a child process: seconds, peak RSS, its summary."""
    out, err = workdir / "sync.out", workdir / "sync.err"
    # --no-send: the notices are queued (part of the sync) but mailing 100 000 parents
    # is the daemon's job between runs, not part of what is measured here.
    argv = [sys.executable, "-m", "provisioner", "sync", "--json", "--no-send"]
    seconds, maxrss_kib, code = launcher().submit(
        run_child, argv, {**os.environ, **env}, str(ROOT), str(out), str(err)).result()
    if code not in (0, 1):
        raise RuntimeError(f"sync exited {code}: {err.read_text()[-2000:]}")
    summary = json.loads(out.read_text())
    return {"seconds": seconds, "rss_mib": maxrss_kib / 1024, "counts": summary["counts"],
            "failed": len(summary["failed"])}


def daemon_runs(env: dict[str, str], workdir: Path, ds: data.Dataset) -> dict:
    """The daemon's runs: the first reads everything, then a no-change run, a churn run,
    and a run with no change after it (which reads again what the churn run wrote)."""
    denv = {**os.environ, **env, "PROVISIONER_DAEMON__RUN_AT_START": "false",
            "PROVISIONER_DAEMON__INTERVAL": "86400",
            # The one-shot syncs queued every activation notice (--no-send). The daemon
            # would spend the benchmark writing them out after each run (not part of a
            # run, but an hour at 100 000), so it gets a state database of its own.
            "PROVISIONER_STATE__URL": f"sqlite:///{workdir / 'daemon-state.sqlite'}",
            "PROVISIONER_MAIL__OUTBOX_DIR": str(workdir / "daemon-outbox")}
    with open(workdir / "daemon.log", "w") as log:
        proc = subprocess.Popen([sys.executable, "-m", "provisioner", "daemon"], env=denv,
                                cwd=ROOT, stdout=log, stderr=log)
    try:
        out = {"daemon_first": run_now(denv, proc), "daemon_nochange": run_now(denv, proc)}
        out["daemon_churned_people"] = churn(ds, random.Random(3))
        data.write_sqlite(ds, workdir / "uonet.sqlite")
        out["daemon_churn"] = run_now(denv, proc)
        out["daemon_after_churn"] = run_now(denv, proc)
        status = Path(f"/proc/{proc.pid}/status").read_text()
        out["daemon_peak_rss_mib"] = next(int(ln.split()[1]) for ln in status.splitlines()
                                          if ln.startswith("VmHWM")) / 1024
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    return out


def run_now(env: dict[str, str], proc: subprocess.Popen) -> dict:
    """``sync --now`` against the daemon (retried until its control socket is up)."""
    for _ in range(300):
        done = subprocess.run([sys.executable, "-m", "provisioner", "sync", "--now", "--json"],
                              env=env, cwd=ROOT, capture_output=True, text=True)
        if "no daemon is running" not in done.stderr or proc.poll() is not None:
            break
        time.sleep(0.2)
    if done.returncode not in (0, 1):
        raise RuntimeError(f"sync --now exited {done.returncode}: {done.stderr[-2000:]}")
    result = json.loads(done.stdout)
    return {"seconds": result["seconds"], "counts": result["summary"]["counts"],
            "failed": len(result["summary"]["failed"])}


@functools.cache
def launcher() -> ProcessPoolExecutor:
    """A small, freshly started process that launches the syncs.

    Linux counts in a child's peak RSS the memory of the process it was forked from, up
    to its exec (checked: a 1-byte child of an 800 MiB parent reports 813 MiB, with fork
    and with posix_spawn alike). This script holds the synthetic dataset and the
    planner's data, so its children are launched from here instead.
    """
    return ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))


def run_child(argv: list[str], env: dict[str, str], cwd: str, out: str,
              err: str) -> tuple[float, int, int]:
    """Run argv; (seconds, peak RSS in KiB from wait4, exit code)."""
    with open(out, "w") as fo, open(err, "w") as fe:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=fo, stderr=fe, env=env, cwd=cwd)
        # wait4 gives this child's own rusage (RUSAGE_CHILDREN would be a max over all).
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
    return seconds, usage.ru_maxrss, os.waitstatus_to_exitcode(status)


def cli(server: ProvisionerSlapd, tool: str, *args: str, stdout=subprocess.DEVNULL) -> float:
    """Run an OpenLDAP client as the service account (same ACLs as the provisioner)."""
    start = time.perf_counter()
    subprocess.run([shutil.which(tool), "-x", "-H", server.url, "-D", server.service_dn,
                    "-w", server.service_password, *args], check=True, stdout=stdout)
    return time.perf_counter() - start


def dump_ldif(server: ProvisionerSlapd, settings, path: Path) -> int:
    """The managed subtrees as ldapadd input: OUs and people first, then groups;
    '*' leaves out operational attributes (memberOf, timestamps, entryUUID)."""
    layout = Directory(settings).layout
    with open(path, "w") as f:
        for base in (layout.people_dn, layout.groups_dn):
            text = subprocess.run(
                [shutil.which("ldapsearch"), "-x", "-LLL", "-o", "ldif-wrap=no", "-H", server.url,
                 "-D", server.service_dn, "-w", server.service_password, "-b", base,
                 "-E", "pr=1000/noprompt", "(objectClass=*)", "*"],
                capture_output=True, text=True)
            if text.returncode:
                raise RuntimeError(f"ldapsearch -b {base} exited {text.returncode}: {text.stderr}")
            text = text.stdout
            f.write("\n".join(ln for ln in text.splitlines() if not ln.startswith("#")) + "\n\n")
    return path.read_text().count("\ndn: ") + 1


def churn(ds: data.Dataset, rng: random.Random) -> int:
    """1 % of people changed (pupil names, e-mails, class moves) and 1 % of pupils left."""
    k = max(1, len(ds.pupils) // 100)
    picked = rng.sample([p for p in ds.pupils if not p["left_on"]], 2 * k)
    classes = [c["id"] for c in ds.classes]
    for i, p in enumerate(picked[:k]):
        if i % 3 == 0:
            p["first_name"] = "Zmieniona" if p["first_name"] in data.FEMALE else "Zmieniony"
        elif i % 3 == 1:
            p["email"] = f"nowy{p['id']}@{data.PUPIL_DOMAIN}"
        else:
            p["class_id"] = rng.choice(classes)
    for p in picked[k:]:
        p["left_on"] = data.LEFT_ON
    # Guardians: a new e-mail on every UONET row of the same person (same PESEL).
    by_pesel: dict[str, list[dict]] = {}
    for g in ds.guardians:
        by_pesel.setdefault(g["pesel"], []).append(g)
    for rows in rng.sample(sorted(by_pesel.values(), key=lambda r: r[0]["id"]),
                           max(1, len(by_pesel) // 100)):
        for g in rows:
            g["email"] = f"nowy.opiekun{rows[0]['id']}@example.com"
    return 2 * k + max(1, len(by_pesel) // 100)


def planner(settings) -> dict:
    """Pure make_plan on in-memory data: empty directory and the full one (no change)."""
    now = dt.datetime.now(dt.UTC)
    with collector_paused(), Directory(settings) as directory:  # as a sync runs them
        roster = read_roster(settings, now)
        start = time.perf_counter()
        snap = directory.snapshot()
        snap_s = time.perf_counter() - start
        layout = directory.layout
    out = {"people": len(roster.people), "snapshot_in_process_s": snap_s}
    for name, s in (("initial", Snapshot()), ("nochange", snap)):
        best = math.inf
        for _ in range(3):
            for account in s.accounts:
                account.in_step = None  # the one-shot case: no comparison made before
            with collector_paused():  # as a sync runs it
                start = time.perf_counter()
                make_plan(roster, s, layout, now)
                best = min(best, time.perf_counter() - start)
        out[f"{name}_us_per_person"] = best / len(roster.people) * 1e6
    return out


class BenchSlapd(ProvisionerSlapd):
    # Both the synced server and the floor's server skip fsync: on a shared VM a flush
    # costs ~4 ms, which would make both sides measure the disk, not the software.
    db_nosync = True


def measure(pupils: int, ldif_dir: Path | None, keep: Path | None) -> dict:
    with tempfile.TemporaryDirectory(prefix="provisioner-bench-") as tmp:
        workdir = Path(tmp)
        ds = data.generate(pupils, seed=1, bad_records=False)
        data.write_sqlite(ds, workdir / "uonet.sqlite")
        r: dict = {"pupils": pupils, "guardian_rows": len(ds.guardians)}
        with BenchSlapd(ldif_dir) as server:
            settings = settings_for(server, workdir, f"sqlite:///{workdir / 'uonet.sqlite'}")
            env = env_of(settings)
            r["initial"] = sync(env, workdir)
            r["entries"] = dump_ldif(server, settings, workdir / "dump.ldif")
            layout = Directory(settings).layout
            r["ldapsearch_s"] = sum(
                cli(server, "ldapsearch", "-LLL", "-b", base, "-E", "pr=1000/noprompt",
                    "(objectClass=*)", "*") for base in (layout.people_dn, layout.groups_dn))
            r["nochange"] = sync(env, workdir)
            writes = sum(r["nochange"]["counts"].values())
            assert writes == 0, f"no-change sync wrote {r['nochange']['counts']}"
            r["planner"] = planner(settings)
            r["churned_people"] = churn(ds, random.Random(2))
            data.write_sqlite(ds, workdir / "uonet.sqlite")
            r["churn"] = sync(env, workdir)
            r |= daemon_runs(env, workdir, ds)
            for run in ("daemon_nochange", "daemon_after_churn"):
                writes = sum(r[run]["counts"].values())
                assert writes == 0, f"the daemon's {run} run wrote {r[run]['counts']}"
        with BenchSlapd(ldif_dir) as floor:
            r["ldapadd_s"] = cli(floor, "ldapadd", "-f", str(workdir / "dump.ldif"))
        if keep:
            shutil.copy(workdir / "dump.ldif", keep / f"dump-{pupils}.ldif")
    r["ratios"] = {"initial_vs_ldapadd": r["initial"]["seconds"] / r["ldapadd_s"],
                   "nochange_vs_ldapsearch": r["nochange"]["seconds"] / r["ldapsearch_s"],
                   "churn_vs_ldapsearch": r["churn"]["seconds"] / r["ldapsearch_s"],
                   "daemon_nochange_vs_ldapsearch": r["daemon_nochange"]["seconds"] / r["ldapsearch_s"],
                   "daemon_churn_vs_ldapsearch": r["daemon_churn"]["seconds"] / r["ldapsearch_s"],
                   "daemon_after_churn_vs_ldapsearch":
                       r["daemon_after_churn"]["seconds"] / r["ldapsearch_s"]}
    r["peak_rss_mib"] = max(r[k]["rss_mib"] for k in ("initial", "nochange", "churn"))
    r["planner_us_per_person"] = max(r["planner"]["initial_us_per_person"],
                                     r["planner"]["nochange_us_per_person"])
    return r


def machine() -> dict:
    cpuinfo, meminfo = Path("/proc/cpuinfo").read_text(), Path("/proc/meminfo").read_text()
    cpu = next((ln.split(":", 1)[1].strip() for ln in cpuinfo.splitlines()
                if ln.startswith("model name")), platform.processor())
    mem = next(int(ln.split()[1]) for ln in meminfo.splitlines() if ln.startswith("MemTotal"))
    slapd = subprocess.run(["/usr/sbin/slapd", "-VV"], capture_output=True, text=True).stderr
    return {"nproc": os.cpu_count(), "cpu": cpu, "ram_gib": round(mem / 1024**2, 1),
            "python": platform.python_version(), "slapd": slapd.split("$")[1].strip()}


def growth(runs: list[dict]) -> dict:
    """Exponent k in time ~ N^k between the smallest and largest run (1.0 = linear)."""
    small, big = runs[0], runs[-1]
    scale = math.log(big["pupils"] / small["pupils"])
    keys = {"initial": lambda r: r["initial"]["seconds"], "nochange": lambda r: r["nochange"]["seconds"],
            "churn": lambda r: r["churn"]["seconds"], "ldapadd": lambda r: r["ldapadd_s"],
            "daemon_nochange": lambda r: r["daemon_nochange"]["seconds"],
            "daemon_churn": lambda r: r["daemon_churn"]["seconds"],
            "daemon_after_churn": lambda r: r["daemon_after_churn"]["seconds"],
            "ldapsearch": lambda r: r["ldapsearch_s"]}
    return {k: round(math.log(f(big) / f(small)) / scale, 2) for k, f in keys.items()}


def table(runs: list[dict]) -> str:
    rows = ["| pupils | entries | initial s (× ldapadd) | no-change s (× ldapsearch)"
            " | 1 % churn s (× ldapsearch) | daemon no-change s (×) | daemon 1 % churn s (×)"
            " | daemon no-change after churn s (×)"
            " | ldapadd s | ldapsearch s | peak RSS MiB one-shot / daemon | planner µs/person |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in runs:
        q = r["ratios"]
        rows.append(
            f"| {r['pupils']} | {r['entries']} | {r['initial']['seconds']:.1f}"
            f" ({q['initial_vs_ldapadd']:.2f})"
            f" | {r['nochange']['seconds']:.2f} ({q['nochange_vs_ldapsearch']:.2f})"
            f" | {r['churn']['seconds']:.2f} ({q['churn_vs_ldapsearch']:.2f})"
            f" | {r['daemon_nochange']['seconds']:.2f} ({q['daemon_nochange_vs_ldapsearch']:.2f})"
            f" | {r['daemon_churn']['seconds']:.2f} ({q['daemon_churn_vs_ldapsearch']:.2f})"
            f" | {r['daemon_after_churn']['seconds']:.2f}"
            f" ({q['daemon_after_churn_vs_ldapsearch']:.2f})"
            f" | {r['ldapadd_s']:.1f} | {r['ldapsearch_s']:.2f}"
            f" | {r['peak_rss_mib']:.0f} / {r['daemon_peak_rss_mib']:.0f}"
            f" | {r['planner_us_per_person']:.1f} |")
    return "\n".join(rows)


def verdict(run: dict) -> dict[str, bool]:
    values = {**run["ratios"], "peak_rss_mib": run["peak_rss_mib"],
              "daemon_peak_rss_mib": run["daemon_peak_rss_mib"],
              "planner_us_per_person": run["planner_us_per_person"]}
    return {k: values[k] <= limit for k, limit in TARGETS.items()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pupils", type=int, default=100_000)
    ap.add_argument("--quick", action="store_true", help="N = 10 000")
    ap.add_argument("--no-growth", action="store_true", help="skip the N/4 and N/2 runs")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    ap.add_argument("--ldif", type=Path, default=None, help="ldif/ variant to load (default ldif/)")
    ap.add_argument("--keep-ldif", action="store_true", help="keep the floor's LDIF in --out")
    args = ap.parse_args(argv)
    n = 10_000 if args.quick else args.pupils
    args.out.mkdir(parents=True, exist_ok=True)
    sizes = [n] if args.no_growth else [n // 4, n // 2, n]
    runs = []
    for size in sizes:
        print(f"-- {size} pupils", file=sys.stderr, flush=True)
        runs.append(measure(size, args.ldif, args.out if args.keep_ldif else None))
    result = {"machine": machine(), "ldif": str(args.ldif or "ldif/"), "runs": runs,
              "growth_exponent": growth(runs) if len(runs) > 1 else None,
              "targets": TARGETS, "met": verdict(runs[-1])}
    path = args.out / f"bench-{n}.json"
    path.write_text(json.dumps(result, indent=2))
    print(table(runs))
    if result["growth_exponent"]:
        print(f"\ngrowth exponent (time ~ N^k, 1.0 = linear): {result['growth_exponent']}")
    print(f"\ntargets met at N={n}: {result['met']}\nJSON: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
