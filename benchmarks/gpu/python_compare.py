"""The Python side of the GPU check (run by run_device_check.sh where sentence-transformers is
installed): loads the folders sbert wrote and compares embeddings with sbert's, then times
Python's encode() of a random BERT-base on the same sentences, batch size and length limit
as benchmarks/encode_throughput (fp32 and bf16 autocast)."""
import json, os, sys, tempfile, time

import torch
from sentence_transformers import SentenceTransformer, models
import sentence_transformers, transformers

shared, out = sys.argv[1], sys.argv[2]
ref = json.load(open(f"{shared}/reference/embeddings.json"))
sentences = ref["sentences"]
print(f"sentence-transformers {sentence_transformers.__version__}, transformers {transformers.__version__}, torch {torch.__version__}")

fail = 0
for name, prompt in [("sbert-tiny", None), ("sbert-new", None), ("sbert-new", "query"), ("sbert-mpnet", None)]:
    m = SentenceTransformer(f"{out}/{name}", device="cpu")
    got = m.encode(sentences, batch_size=40, convert_to_tensor=True, prompt_name=prompt)
    exp = torch.tensor(json.load(open(f"{out}/{name}{'-query' if prompt else ''}.json")))
    d = (got - exp).abs().max().item()
    ok = d < 1e-5
    fail += not ok
    print(f"Python loads sbert folder {name:10s} prompt={prompt}: modules={[type(x).__name__ for x in m]}, "
          f"similarity={m.similarity_fn_name}, max|diff| vs sbert {d:.3g} {'ok' if ok else 'FAIL'}")

if os.environ.get("SKIP_TIMINGS"):
    sys.exit(1 if fail else 0)

# Timing: random BERT-base (BertConfig() defaults), mean pooling, max_seq_length 128, batch 32.
rows = [l.rstrip("\n").split("\t") for l in open(f"{shared}/data/stsbenchmark/sts-dev.csv", encoding="utf-8")]
sts = [r[5] for r in rows if len(r) > 6]
n = int(os.environ.get("N_BASE", "4096"))
texts = [sts[i % len(sts)] for i in range(n)]
tmp = tempfile.mkdtemp()
torch.manual_seed(0)
transformers.BertModel(transformers.BertConfig()).save_pretrained(tmp)
for f in ["vocab.txt", "tokenizer_config.json", "special_tokens_map.json"]:
    open(f"{tmp}/{f}", "wb").write(open(f"{shared}/reference/tiny-bert-st/{f}", "rb").read())
tr = models.Transformer(tmp, max_seq_length=128)
model = SentenceTransformer(modules=[tr, models.Pooling(768, "mean")], device="cuda")
for label in ("fp32", "bf16-autocast", "bf16-weights"):
    if label == "bf16-weights":
        model.to(torch.bfloat16)
    with torch.autocast("cuda", dtype=torch.bfloat16, enabled=label == "bf16-autocast"):
        model.encode(texts[:64], batch_size=32)
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        model.encode(texts, batch_size=32)
        torch.cuda.synchronize()
        sec = time.perf_counter() - t0
    print(f"python     bert-base cuda  {label:13s} {n:6d} sentences  {sec:8.3f} s  {n / sec:10.1f} sentences/s")
sys.exit(1 if fail else 0)
