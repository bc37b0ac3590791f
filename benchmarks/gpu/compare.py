# Joins the two sides' results into one summary (markdown) for docs/.
import json, sys
import numpy as np
py = json.load(open(sys.argv[1])); cpp = json.load(open(sys.argv[2]))
base_diff = float(np.abs(np.array(py["python_base_first16_fp32"]) - np.array(cpp["base_first16_fp32"])).max())
lines = [
    f"GPU: {py['versions']['gpu']}; Python torch {py['versions']['torch']}, sentence-transformers {py['versions']['sentence_transformers']}; sbert built against the same libtorch.",
    "",
    "| check | value |", "|---|---|",
    f"| tiny model, sbert CPU vs sbert CUDA, max abs diff | {cpp['tiny_cpu_vs_cuda_max_abs_diff']:.3g} |",
    f"| BERT-base (random, same weights), sbert CUDA vs Python CUDA, max abs diff (16 sentences) | {base_diff:.3g} |",
    "",
    f"encode() of {cpp['n_sentences']} STSb dev sentences, batch 64, max_seq_length 128:",
    "", "| | sbert | Python sentence-transformers | ratio |", "|---|---|---|---|",
    f"| fp32 | {cpp['cpp_base_fp32_sentences_per_s']:.0f}/s | {py['python_base_fp32_sentences_per_s']:.0f}/s | {cpp['cpp_base_fp32_sentences_per_s']/py['python_base_fp32_sentences_per_s']:.2f} |",
    f"| bf16 (sbert: autocast; Python: bf16 weights) | {cpp['cpp_base_bf16_autocast_sentences_per_s']:.0f}/s | {py['python_base_bf16_sentences_per_s']:.0f}/s | {cpp['cpp_base_bf16_autocast_sentences_per_s']/py['python_base_bf16_sentences_per_s']:.2f} |",
]
print("\n".join(lines))
