#!/usr/bin/env python3
"""sentence-transformers embeddings/s at batch 1, 8, 32 for 128- and 256-token inputs, on the
same deterministic text and the same thread count as `mailroom bench`. Prints JSON."""
import json
import sys
import time

import torch
from sentence_transformers import SentenceTransformer, models

folder, threads = sys.argv[1], int(sys.argv[2])
torch.set_num_threads(threads)
word = models.Transformer(folder, max_seq_length=256)
pool = models.Pooling(word.get_word_embedding_dimension(), pooling_mode="mean")
model = SentenceTransformer(modules=[word, pool], device="cpu")
words = ("the council received your request about the housing benefit payment for march "
         "and will reply within ten working days please quote reference number when you "
         "write again we apologise for the delay caused by the system upgrade last week")
text = "".join(f"{words} paragraph {i}. " for i in range(40))
ids = word.tokenizer(text)["input_ids"]
points = []
for tokens in (128, 256):
    # Decode exactly tokens-2 word pieces so the input is `tokens` long with [CLS] and [SEP].
    t = word.tokenizer.decode(ids[1:tokens - 1])
    for batch in (1, 8, 32):
        texts = [t] * batch
        model.encode(texts, batch_size=batch, normalize_embeddings=True)
        runs, start = 0, time.perf_counter()
        while runs < 3 or time.perf_counter() - start < 2.0:
            model.encode(texts, batch_size=batch, normalize_embeddings=True)
            runs += 1
        points.append({"batch": batch, "tokens": tokens,
                       "per_s": runs * batch / (time.perf_counter() - start)})
json.dump({"torch": torch.__version__, "threads": threads, "embeddings_per_s": points}, sys.stdout)
