#!/usr/bin/env python3
"""Print mailroom's figures beside llama.cpp's and torch's, with the ratios."""
import json
import sys

mr = json.load(open(sys.argv[1]))
llama = json.load(open(sys.argv[2]))
torch = json.load(open(sys.argv[3]))

def llama_rate(kind):
    for r in llama:
        if kind == "prompt" and r.get("n_prompt", 0) > 0 and r.get("n_gen", 0) == 0:
            return r["avg_ts"]
        if kind == "decode" and r.get("n_gen", 0) > 0 and r.get("n_prompt", 0) == 0:
            return r["avg_ts"]
    return float("nan")

print(f"machine: {mr['machine']['cpu']}, {mr['machine']['threads']} threads")
print(f"{'figure':<34} {'mailroom':>10} {'anchor':>10} {'ratio':>7}")
g = mr["generator"]
for name, ours, theirs in [
    (f"decode tok/s ({g['new_tokens']} new)", g["decode_tok_s"], llama_rate("decode")),
    (f"prompt tok/s ({g['prompt_tokens']})", g["prompt_tok_s"], llama_rate("prompt")),
]:
    print(f"{name + ' vs llama.cpp':<34} {ours:>10.1f} {theirs:>10.1f} {ours / theirs:>6.2f}x")
t = {(p["batch"], p["tokens"]): p["per_s"] for p in torch["embeddings_per_s"]}
for p in mr["encoder"]["embeddings_per_s"]:
    theirs = t.get((p["batch"], p["tokens"]), float("nan"))
    name = f"embed/s b{p['batch']} {p['tokens']}tok vs torch"
    print(f"{name:<34} {p['per_s']:>10.1f} {theirs:>10.1f} {p['per_s'] / theirs:>6.2f}x")
print(f"peak RSS of `mailroom bench`: {mr.get('peak_rss_mb', float('nan')):.0f} MB")
