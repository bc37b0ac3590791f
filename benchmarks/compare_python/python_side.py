"""The Python side of benchmarks/compare_python: the workloads of sbert_side.cpp through
sentence-transformers, on the files the sbert side wrote into <work-dir> (the same texts, and
the same weights: the random BERT-base folder it saved, and shared/reference's tiny model).

    python3 python_side.py <shared-dir> <work-dir> <out.json> [--quick]

Timed as the sbert side times: encode() after one untimed pass over the same texts; training
samples/s from the end of the first step to the end of the last (max_steps = steps + 1), no
evaluation, no saving, no logging integrations; the IR evaluator's call in seconds. Without
sentence-transformers importable it writes {"available": false} and exits 0, so run.sh still
prints sbert's absolute figures.
"""
import json
import os
import sys
import tempfile
import time


def main():
    shared, work, out_json = sys.argv[1:4]
    quick = "--quick" in sys.argv[4:]
    try:
        import torch
        import sentence_transformers
        from datasets import Dataset
        from sentence_transformers import SentenceTransformer, losses
        from sentence_transformers.evaluation import InformationRetrievalEvaluator
        from sentence_transformers.trainer import SentenceTransformerTrainer
        from sentence_transformers.training_args import SentenceTransformerTrainingArguments
        from transformers import TrainerCallback
    except ImportError as e:
        json.dump({"side": "python", "available": False, "why": str(e)}, open(out_json, "w"))
        print(f"python side: not available ({e})")
        return

    device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cpu":
        torch.set_num_threads(os.cpu_count() or 1)
    texts = os.path.join(work, "texts")

    def lines(name):
        with open(os.path.join(texts, name), encoding="utf-8") as f:
            return [l.rstrip("\n").split("\t") for l in f if l.strip()]

    sentences = [r[0] for r in lines("sentences.txt")]
    nli = lines("nli_triplets.tsv")
    sts = lines("stsb_pairs.tsv")
    tiny_dir = os.path.join(shared, "reference", "tiny-bert-st")
    base_dir = os.path.join(work, "bert-base-random")

    def sync():
        if device == "cuda":
            torch.cuda.synchronize()

    def encode_rate(model, xs):
        model.encode(xs, batch_size=64, show_progress_bar=False)  # warm-up over every length
        sync()
        t0 = time.perf_counter()
        model.encode(xs, batch_size=64, show_progress_bar=False)
        sync()
        return len(xs) / (time.perf_counter() - t0)

    class FirstStep(TrainerCallback):
        t0 = None

        def on_step_end(self, args, state, control, **kwargs):
            if state.global_step == 1:
                sync()
                self.t0 = time.perf_counter()

    def train_rate(model, dataset, loss, steps, bs):
        with tempfile.TemporaryDirectory() as out:
            args = SentenceTransformerTrainingArguments(
                output_dir=out, max_steps=steps + 1, per_device_train_batch_size=bs, learning_rate=1e-5,
                save_strategy="no", logging_steps=1000, report_to="none", disable_tqdm=True,
                use_cpu=(device == "cpu"))
            cb = FirstStep()
            trainer = SentenceTransformerTrainer(model=model, args=args, train_dataset=dataset, loss=loss, callbacks=[cb])
            trainer.train()
            sync()
            return steps * bs / (time.perf_counter() - cb.t0)

    res = {"side": "python", "available": True, "device": device, "threads": torch.get_num_threads(),
           "versions": {"torch": torch.__version__, "sentence_transformers": sentence_transformers.__version__},
           "n_sentences": len(sentences)}
    if device == "cuda":
        res["versions"]["gpu"] = torch.cuda.get_device_name(0)

    def report(key, value, unit):
        res[key] = value
        print(f"python {key:<28} {value:10.2f} {unit}", flush=True)

    load = lambda d: SentenceTransformer(d, device=device)
    report("encode_tiny", encode_rate(load(tiny_dir), sentences), "sentences/s")
    report("encode_base", encode_rate(load(base_dir), sentences[:64] if quick else sentences), "sentences/s")
    triplets = Dataset.from_dict({"anchor": [r[0] for r in nli], "positive": [r[1] for r in nli],
                                  "negative": [r[2] for r in nli]})
    pairs = Dataset.from_dict({"sentence1": [r[0] for r in sts], "sentence2": [r[1] for r in sts],
                               "score": [float(r[2]) for r in sts]})
    m = load(tiny_dir)
    report("train_mnrl_tiny", train_rate(m, triplets, losses.MultipleNegativesRankingLoss(m), 3 if quick else 30, 32),
           "samples/s")
    m = load(base_dir)
    report("train_mnrl_base", train_rate(m, triplets, losses.MultipleNegativesRankingLoss(m), 1 if quick else 4, 16),
           "samples/s")
    m = load(tiny_dir)
    report("train_cosent_tiny", train_rate(m, pairs, losses.CoSENTLoss(m), 3 if quick else 30, 32), "samples/s")

    queries = dict((r[0], r[1]) for r in lines("ir_queries.tsv"))
    corpus = dict((r[0], r[1]) for r in lines("ir_corpus.tsv"))
    relevant = {}
    for q, d in lines("ir_qrels.tsv"):
        relevant.setdefault(q, set()).add(d)
    relevant = {q: d for q, d in relevant.items() if q in queries}
    ir = InformationRetrievalEvaluator(queries, corpus, relevant, batch_size=64, name="scifact",
                                       show_progress_bar=False, write_csv=False)
    m = load(tiny_dir)
    sync()
    t0 = time.perf_counter()
    metrics = ir(m)
    sync()
    report("ir_tiny_seconds", time.perf_counter() - t0, "s")
    res["ir_tiny_ndcg10"] = metrics["scifact_cosine_ndcg@10"]
    json.dump(res, open(out_json, "w"))


if __name__ == "__main__":
    main()
