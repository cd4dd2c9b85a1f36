#!/usr/bin/env python3
"""Print mailroom's figures beside llama.cpp's and torch's, with the ratios: the median over the
repeats in RUNS_DIR (mailroom-N.json, llama-N.json, torch-N.json, written by run.sh)."""
import glob
import json
import math
import os
import statistics
import sys

runs = sys.argv[1]


def load(kind):
    return [json.load(open(p)) for p in sorted(glob.glob(os.path.join(runs, f"{kind}-*.json")))]


def median(xs):
    xs = [x for x in xs if x is not None and not math.isnan(x)]
    return statistics.median(xs) if xs else float("nan")


mailroom, llama, torch = load("mailroom"), load("llama"), load("torch")


def llama_rate(run, kind):
    for r in run:
        if kind == "prompt" and r.get("n_prompt", 0) > 0 and r.get("n_gen", 0) == 0:
            return r["avg_ts"]
        if kind == "decode" and r.get("n_gen", 0) > 0 and r.get("n_prompt", 0) == 0:
            return r["avg_ts"]
    return float("nan")


def row(name, ours, theirs, anchor):
    ratio = ours / theirs if theirs and not math.isnan(theirs) else float("nan")
    print(f"{name:<26} {ours:>10.1f} {theirs:>10.1f} {ratio:>6.2f}x  ({anchor})")


m0 = mailroom[0]["machine"]
print(f"machine: {m0['cpu']}, {m0['threads']} threads; median of {len(mailroom)} interleaved repeats")
print(f"{'figure':<26} {'mailroom':>10} {'anchor':>10} {'ratio':>7}")
if mailroom[0].get("generator"):
    g = mailroom[0]["generator"]
    for kind, key, n in [("decode", "decode_tok_s", g["new_tokens"]),
                         ("prompt", "prompt_tok_s", g["prompt_tokens"])]:
        ours = median([m["generator"][key] for m in mailroom])
        theirs = median([llama_rate(l, kind) for l in llama]) if llama else float("nan")
        row(f"{kind} tok/s ({n})", ours, theirs, "llama.cpp")
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
