"""Prints {run: {tag: [[step, value], ...]}} as JSON for every run under a TensorBoard logdir.

Uses TensorBoard's own EventAccumulator, so a test that reads this output checks that files written by
tensorfleet's SummaryWriter load in the real tensorboard package, CRCs and protobufs included.
Usage: python test/python/read_tb.py LOGDIR
"""
import json
import math
import os
import sys

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator


def scalars(run_dir):
    # size_guidance 0 keeps every event: the default reservoir samples, which would hide lost records.
    acc = EventAccumulator(run_dir, size_guidance={"scalars": 0})
    acc.Reload()
    out = {}
    for tag in acc.Tags()["scalars"]:
        # NaN/Inf are not JSON; spell them as strings so the caller can still compare them.
        out[tag] = [[e.step, e.value if math.isfinite(e.value) else str(e.value)] for e in acc.Scalars(tag)]
    return out


def main(logdir):
    runs = {}
    for root, _dirs, files in os.walk(logdir):
        if any("tfevents" in f for f in files):
            runs[os.path.relpath(root, logdir)] = scalars(root)
    json.dump(runs, sys.stdout, sort_keys=True)
    print()


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: read_tb.py LOGDIR")
    main(sys.argv[1])
