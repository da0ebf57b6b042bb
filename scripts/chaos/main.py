#!/usr/bin/env python3
"""wrkr's crash-consistency and I/O-error suites (issue 14 items 2 and 3), against a binary built
with `--features failpoints` (scripts/test_hardening.sh builds it into target/failpoints/wrkr).

    main.py crash   [--min-kills 1000] [--workers 2]   SIGKILL at random moments + N-th-point crashes
    main.py ioerr                                      fail the N-th point, every N, transient/persistent
    main.py enospc  [--rounds 12]                      a full disk (tmpfs; root)
    main.py soak    [--seconds 30]                     one long job: decisions, takeovers, pauses

Seeded: the seed is printed; WRKR_CHAOS_SEED=S reproduces a run, and with WRKR_CHAOS_CASE=N only
case N of the crash suite runs (its sandbox is kept). One summary line per suite; exit 1 on a
failure (the sandbox of a failing case is kept and named).
"""

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import crash  # noqa: E402
import ioerr  # noqa: E402
import soak  # noqa: E402


def report(name, line, failures, known):
    strict = os.environ.get("WRKR_CHAOS_STRICT") == "1"
    for f in failures[:50]:
        print(f"  FAIL {f}")
    by_bug = {}
    for k in known:
        bug = k.split("known: ", 1)[-1].split(" ", 1)[0]
        by_bug.setdefault(bug, []).append(k)
    for bug, findings in sorted(by_bug.items()):
        print(f"  known {bug} (issue 14, fixed on the rel branch): {len(findings)} findings, e.g. {findings[0]}")
    bad = len(failures) + (len(known) if strict else 0)
    print(f"{name}: {line} failures={len(failures)} known={len(known)}", flush=True)
    return bad


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("suite", choices=["crash", "ioerr", "enospc", "soak"])
    parser.add_argument("--bin", default=os.environ.get("WRKR_FAILPOINTS_BIN"))
    parser.add_argument("--min-kills", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--root", default="/dev/shm" if os.path.isdir("/dev/shm") else None,
                        help="where sandboxes go (default: /dev/shm, where fsync is cheap; a SIGKILL"
                        " leaves the page cache intact, so a disk adds nothing here)")
    args = parser.parse_args()
    if not args.bin:
        root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        args.bin = os.path.join(root, "target", "failpoints", "wrkr")
    seed = int(os.environ.get("WRKR_CHAOS_SEED") or int(time.time()) % 1_000_000)
    print(f"{args.suite}: seed {seed} (WRKR_CHAOS_SEED={seed} reproduces), binary {args.bin}", flush=True)
    started = time.monotonic()
    if args.suite == "crash":
        if os.environ.get("WRKR_CHAOS_CASE"):
            case = crash.run_one(args.bin, seed, int(os.environ["WRKR_CHAOS_CASE"]), args.root)
            bad = report("crash", f"cases=1 kill_points={case.kills + case.nth_crashes}", case.failures, case.known)
        else:
            t = crash.run(args.bin, seed, args.min_kills, args.workers, keep=True, root=args.root)
            named = ", ".join(f"{p} {n}" for p, n in sorted(t["named"].items()))
            line = (f"cases={t['cases']} kill_points={t['kills'] + t['nth']} "
                    f"(random-moment {t['kills']}, nth-point {t['nth']}; of those at a named point: {named or 'none'})")
            bad = report("crash", line, t["failures"], t["known"])
    elif args.suite == "ioerr":
        t = ioerr.run(args.bin, args.root)
        line = (f"cases={t.cases} N=1..{t.n_max} per command, transient+persistent "
                f"(clean errors {t.clean_errors}, tolerated {t.tolerated})")
        bad = report("ioerr", line, t.failures, t.known)
    elif args.suite == "soak":
        stats, failures, known = soak.run(args.bin, seed, args.seconds, args.root)
        line = (f"{args.seconds:.0f}s cases=1 steps={stats['steps']} runners={stats['runners']} "
                f"kill_points={stats['kills']} takeovers={stats['takeovers']} (planned at step {stats['planned']}) pauses={stats['pauses']} approvals={stats['approvals']} "
                f"rss/fd samples={stats['samples']}")
        bad = report("soak", line, failures, known)
    else:
        t = ioerr.run_full_disk(args.bin, seed, args.rounds)
        line = f"cases={t.cases} rounds={args.rounds} (clean errors {t.clean_errors}, succeeded {t.tolerated})"
        bad = report("enospc", line, t.failures, t.known)
    print(f"{args.suite}: {time.monotonic() - started:.0f}s", flush=True)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
