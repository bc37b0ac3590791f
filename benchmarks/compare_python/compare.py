"""Joins sbert_side's and python_side's JSON into one markdown table of ratios (sbert : Python;
for the IR evaluator, which is timed in seconds, Python's time over sbert's). Without a Python
side it prints sbert's absolute figures only. Standard library only.

    python3 compare.py <sbert.json> <python.json>
"""
import json
import sys

ROWS = [
    ("encode_tiny", "encode(), tiny BERT, STSb dev sentences, batch 64", "sentences/s", False),
    ("encode_base", "encode(), BERT-base shape (random), STSb dev sentences, batch 64", "sentences/s", False),
    ("train_mnrl_tiny", "trainer, MNRL on NLI triplets, tiny BERT, batch 32", "samples/s", False),
    ("train_mnrl_base", "trainer, MNRL on NLI triplets, BERT-base shape, batch 16", "samples/s", False),
    ("train_cosent_tiny", "trainer, CoSENT on STSb pairs, tiny BERT, batch 32", "samples/s", False),
    ("ir_tiny_seconds", "InformationRetrievalEvaluator, SciFact, tiny BERT", "s", True),
]


def main():
    cpp = json.load(open(sys.argv[1]))
    py = json.load(open(sys.argv[2])) if len(sys.argv) > 2 else {"available": False}
    have_py = py.get("available", False)
    print(f"sbert: device {cpp['device']}, {cpp['threads']} threads, {cpp['blas']}")
    if have_py:
        v = py["versions"]
        print(f"Python: device {py['device']}, {py['threads']} threads, torch {v['torch']}, "
              f"sentence-transformers {v['sentence_transformers']}" + (f", {v['gpu']}" if "gpu" in v else ""))
        print()
        print("| workload | sbert | Python | sbert : Python |")
        print("|---|---|---|---|")
    else:
        print(f"Python side not available ({py.get('why', 'no result')}): sbert's figures only")
        print()
        print("| workload | sbert |")
        print("|---|---|")
    for key, what, unit, lower_is_better in ROWS:
        if key not in cpp:
            continue
        a = cpp[key]
        if have_py and key in py:
            b = py[key]
            ratio = (b / a) if lower_is_better else (a / b)
            print(f"| {what} | {a:.2f} {unit} | {b:.2f} {unit} | **{ratio:.2f}x** |")
        else:
            print(f"| {what} | {a:.2f} {unit} |")
    if have_py and "ir_tiny_ndcg10" in py:
        print()
        print(f"Same weights and data check: SciFact cosine nDCG@10 sbert {cpp['ir_tiny_ndcg10']:.4f}, "
              f"Python {py['ir_tiny_ndcg10']:.4f}")


if __name__ == "__main__":
    main()
