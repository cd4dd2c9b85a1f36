#!/usr/bin/env python3
"""Print mailroom's figures beside llama.cpp's and torch's, with the ratios and the targets of
issue 20: the median over the repeats in RUNS_DIR (mailroom-N.json, mailroom_dD-N.json,
llama-N.json, torch-N.json, written by run.sh)."""
import glob
import json
import math
import os
import re
import statistics
import sys

runs = sys.argv[1]


def load(kind):
    return [json.load(open(p)) for p in sorted(glob.glob(os.path.join(runs, f"{kind}-*.json")))]


def median(xs):
    xs = [x for x in xs if x is not None and not math.isnan(x)]
    return statistics.median(xs) if xs else float("nan")


mailroom, llama, torch = load("mailroom"), load("llama"), load("torch")
by_depth = {0: mailroom}
for p in glob.glob(os.path.join(runs, "mailroom_d*-*.json")):
    d = int(re.search(r"mailroom_d(\d+)-", p).group(1))
    by_depth.setdefault(d, [])
for d in list(by_depth):
    if d:
        by_depth[d] = load(f"mailroom_d{d}")

# Issue 20's targets against llama.cpp: (kind, depth) -> ratio.
TARGETS = {("decode", 256): 1.5, ("decode", 1024): 1.3, ("prompt", 0): 2.0,
           ("prompt", 256): 2.0, ("prompt", 1024): 2.0}


def llama_rate(run, kind, depth):
    for r in run:
        if r.get("n_depth", 0) != depth:
            continue
        if kind == "prompt" and r.get("n_prompt", 0) > 0 and r.get("n_gen", 0) == 0:
            return r["avg_ts"]
        if kind == "decode" and r.get("n_gen", 0) > 0 and r.get("n_prompt", 0) == 0:
            return r["avg_ts"]
    return float("nan")


def row(name, ours, theirs, anchor, target=None):
    ratio = ours / theirs if theirs and not math.isnan(theirs) else float("nan")
    goal = f"≥ {target:.2f}x {'met' if ratio >= target else 'NOT met'}" if target else ""
    print(f"{name:<30} {ours:>10.1f} {theirs:>10.1f} {ratio:>6.2f}x  {goal:<16} ({anchor})")


m0 = mailroom[0]["machine"]
print(f"machine: {m0['cpu']}, {m0['threads']} threads; median of {len(mailroom)} interleaved repeats")
print(f"{'figure':<30} {'mailroom':>10} {'anchor':>10} {'ratio':>7}  {'target':<16}")
if mailroom[0].get("generator"):
    for depth in sorted(by_depth):
        ms = [m for m in by_depth[depth] if m.get("generator")]
        if not ms:
            continue
        g = ms[0]["generator"]
        for kind, key, n in [("decode", "decode_tok_s", g["new_tokens"]),
                             ("prompt", "prompt_tok_s", g["prompt_tokens"])]:
            ours = median([m["generator"][key] for m in ms])
            theirs = median([llama_rate(l, kind, depth) for l in llama]) if llama else float("nan")
            row(f"{kind} tok/s ({n} after {depth})", ours, theirs, "llama.cpp",
                TARGETS.get((kind, depth)))
    share = median([m["generator"].get("decode_share_of_limit") for m in mailroom])
    bw = median([m["machine"].get("read_bandwidth_gb_s") for m in mailroom])
    print(f"read bandwidth {bw:.1f} GB/s; decode at {share * 100:.0f} % of the limit it sets for "
          f"the file (target ≥ 75 %: {'met' if share >= 0.75 else 'NOT met'})")
if mailroom[0].get("encoder"):
    e = mailroom[0]["encoder"]
    label = e.get("compute", "f32")
    for i, p in enumerate(e["embeddings_per_s"]):
        ours = median([m["encoder"]["embeddings_per_s"][i]["per_s"] for m in mailroom])
        theirs = median([
            q["per_s"] for t in torch for q in t["embeddings_per_s"]
            if (q["batch"], q["tokens"]) == (p["batch"], p["tokens"])
        ])
        row(f"embed/s b{p['batch']} {p['tokens']}tok", ours, theirs,
            f"torch {torch[0]['torch'] if torch else '?'}; mailroom {label}")
rss = median([m.get("peak_rss_mb") for m in mailroom])
print(f"peak RSS of `mailroom bench`: {rss:.0f} MB")
