#!/usr/bin/env python3
"""Writes a second, smaller reference directory from shared/reference, for the parity tests' rerun.

The parity tests must hold for any reference set the Python generator makes (other sentence
counts, model sizes, batch sizes). This derives such a set without Python's library by taking
away only what can be taken away without changing any recorded value:

  embeddings.json   the last sentences are dropped (every per-sentence value stays valid: a
                    sentence's embedding does not depend on the others in its batch beyond
                    float32 round-off), the padded batch is re-cut to the longest kept row, and
                    the pooling variants `lasttoken` and `weightedmean-normalize` are dropped;
  tiny-bert-st-variants/  the same variants dropped from variants.json and from disk;
  training.json     the second run (default_batch_sampler) is dropped;
  losses.json, evaluators.json, tiny-bert-st/  copied unchanged.

A test that hard-codes a count (40 sentences, 12 variants, 2 runs) fails on this set.
Usage: make_reference_subset.py SOURCE_DIR DEST_DIR [--drop-sentences N]
"""
import json
import shutil
import sys
from pathlib import Path

DROPPED_VARIANTS = {"lasttoken", "lasttoken-normalize", "weightedmean-normalize"}


def dump(obj, path):
    # ensure_ascii False and repr floats: the same conventions as the reference (exact float32
    # values written as the shortest repr of their float64).
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, ensure_ascii=False, indent=1)
        f.write("\n")


def subset_embeddings(e, keep):
    n = len(e["sentences"])
    if keep >= n or keep < 1:
        raise SystemExit(f"cannot keep {keep} of {n} sentences")
    e["sentences"] = e["sentences"][:keep]
    e["sentence_sources"] = e["sentence_sources"][:keep]
    e["tokenized"] = e["tokenized"][:keep]
    lengths = [len(t["input_ids"]) for t in e["tokenized"]]
    width = max(lengths)
    e["padded_batch"] = {k: [row[:width] for row in rows[:keep]] for k, rows in e["padded_batch"].items()}
    if e.get("long_sentence", {}).get("index", -1) >= keep:
        del e["long_sentence"]
    e["pooling_modes"] = [m for m in e["pooling_modes"] if m not in DROPPED_VARIANTS]
    e["variant_dirs"] = {k: v for k, v in e["variant_dirs"].items() if k not in DROPPED_VARIANTS}
    emb = {}
    for mode, kinds in e["embeddings"].items():
        if mode not in e["pooling_modes"]:
            continue
        emb[mode] = {kind: rows[:keep] for kind, rows in kinds.items()
                     if f"{mode}-normalize" not in DROPPED_VARIANTS or kind != "normalized"}
    e["embeddings"] = emb
    # The probe holds one [tokens][hidden] block per probed sentence: keep the blocks of the
    # sentences that stay.
    probe = e["token_embeddings_probe"]
    kept = [(i, v) for i, v in zip(probe["indices"], probe["values"]) if i < keep]
    probe["indices"] = [i for i, _ in kept]
    probe["values"] = [v for _, v in kept]
    return e


def main():
    args = sys.argv[1:]
    drop = 3
    if "--drop-sentences" in args:
        k = args.index("--drop-sentences")
        drop = int(args[k + 1])
        del args[k:k + 2]
    if len(args) != 2:
        raise SystemExit(__doc__)
    src, dst = Path(args[0]), Path(args[1])
    if dst.exists():
        shutil.rmtree(dst)
    dst.mkdir(parents=True)
    shutil.copytree(src / "tiny-bert-st", dst / "tiny-bert-st")
    for name in ("losses.json", "evaluators.json", "README.md"):
        if (src / name).exists():
            shutil.copy2(src / name, dst / name)

    e = json.loads((src / "embeddings.json").read_text(encoding="utf-8"))
    dump(subset_embeddings(e, len(e["sentences"]) - drop), dst / "embeddings.json")

    vsrc, vdst = src / "tiny-bert-st-variants", dst / "tiny-bert-st-variants"
    vdst.mkdir()
    variants = json.loads((vsrc / "variants.json").read_text(encoding="utf-8"))
    variants = {k: v for k, v in variants.items() if k not in DROPPED_VARIANTS}
    for k in variants:
        shutil.copytree(vsrc / k, vdst / k)
    dump(variants, vdst / "variants.json")

    t = json.loads((src / "training.json").read_text(encoding="utf-8"))
    t["runs"] = [r for r in t["runs"] if r["name"] != "default_batch_sampler"]
    dump(t, dst / "training.json")
    print(f"reference subset written to {dst}: {len(e['sentences'])} sentences, "
          f"{len(e['pooling_modes'])} pooling modes, {len(variants)} variants, {len(t['runs'])} training run(s)")


if __name__ == "__main__":
    main()
