#!/usr/bin/env python3
"""Reads async-profiler's collapsed stacks (one "frame;frame;... count" line per stack), as the
TaskManagers of `make bench-nexmark ... --tm-java-opts -agentpath:...=collapsed` write them.

  collapsed.py top  'DIR/tm-*.collapsed' [--self] [-n 40]   frames by inclusive (or self) samples
  collapsed.py diff 'A/tm-*.collapsed' 'B/tm-*.collapsed'    frames by B - A inclusive samples
  collapsed.py under FRAME 'DIR/tm-*.collapsed' [-d 3]       what a frame's samples go to

Patterns are globs (quote them); every matching file is summed, so both TaskManagers count;
lambda classes, numbered per JVM, are merged by name.
Sample counts are comparable between runs only as shares of their totals (printed first).
"""
import argparse
import collections
import glob
import re

# Lambda classes are numbered per JVM (Foo$$Lambda$907.0x00007f8d5b66a6f0): one name for all.
LAMBDA = re.compile(r"\$\$Lambda\$[0-9]+\.0x[0-9a-f]+")


def stacks(pattern):
    files = glob.glob(pattern)
    if not files:
        raise SystemExit(f"no file matches {pattern}")
    for path in files:
        with open(path) as f:
            for line in f:
                stack, _, n = line.rstrip().rpartition(" ")
                if stack:
                    yield LAMBDA.sub("$$Lambda", stack).split(";"), int(n)


def inclusive(pattern):
    counts, total = collections.Counter(), 0
    for frames, n in stacks(pattern):
        total += n
        for frame in set(frames):
            counts[frame] += n
    return counts, total


def top(args):
    counts, total = collections.Counter(), 0
    if args.self:
        for frames, n in stacks(args.files):
            total += n
            counts[frames[-1]] += n
    else:
        counts, total = inclusive(args.files)
    print(f"total {total} samples")
    for frame, n in counts.most_common(args.n):
        print(f"{100 * n / total:5.1f}% {n:7d} {frame[:160]}")


def diff(args):
    a, ta = inclusive(args.a)
    b, tb = inclusive(args.b)
    print(f"totals {ta} {tb}")
    for frame in sorted(set(a) | set(b), key=lambda k: a[k] - b[k])[: args.n]:
        print(f"{a[frame]:7d} {b[frame]:7d} {b[frame] - a[frame]:+7d} {frame[:150]}")


def under(args):
    counts, total = collections.Counter(), 0
    for frames, n in stacks(args.files):
        if args.frame in frames:
            i = frames.index(args.frame)
            total += n
            callees = frames[i + 1 : i + 1 + args.d]
            counts[";".join(f.split("/")[-1] for f in callees) or "(self)"] += n
    print(f"{args.frame}: {total} samples")
    for callees, n in counts.most_common(args.n):
        print(f"{n:7d} {callees[:250]}")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("top")
    t.add_argument("files")
    t.add_argument("--self", action="store_true")
    t.add_argument("-n", type=int, default=40)
    t.set_defaults(run=top)
    d = sub.add_parser("diff")
    d.add_argument("a")
    d.add_argument("b")
    d.add_argument("-n", type=int, default=40)
    d.set_defaults(run=diff)
    u = sub.add_parser("under")
    u.add_argument("frame")
    u.add_argument("files")
    u.add_argument("-d", type=int, default=3)
    u.add_argument("-n", type=int, default=25)
    u.set_defaults(run=under)
    args = p.parse_args()
    args.run(args)


if __name__ == "__main__":
    main()
