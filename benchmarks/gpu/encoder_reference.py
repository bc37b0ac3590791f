"""Reference hidden states from transformers for the encoders sbert implements besides BERT
(run on the GPU machine, where transformers is installed): random RobertaModel,
XLMRobertaModel, DistilBertModel and MPNetModel checkpoints with the batch and last_hidden_state written next to them, for
device_check to compare against sbert's forward. Usage: encoder_reference.py <out_dir>"""
import json, os, sys

import torch
import transformers

out = sys.argv[1]
torch.manual_seed(7)
ids = [[0, 57, 311, 9, 87, 2, 1, 1], [0, 5, 2, 1, 1, 1, 1, 1], [1, 1, 0, 44, 45, 46, 47, 2]]  # right and left padding
mask = [[int(t != 1) for t in row] for row in ids]
for name, cls, cfg_cls in [("roberta", transformers.RobertaModel, transformers.RobertaConfig),
                           ("xlm-roberta", transformers.XLMRobertaModel, transformers.XLMRobertaConfig),
                           ("distilbert", transformers.DistilBertModel, transformers.DistilBertConfig),
                           ("mpnet", transformers.MPNetModel, transformers.MPNetConfig)]:
    batch, batch_mask = ids, mask
    if name == "mpnet":
        # 40 tokens, so query-key distances reach the logarithmic buckets (>= 8) both ways.
        row = [0] + [3 + (i * 37) % 490 for i in range(38)] + [2]
        batch = [row, row[:25] + [1] * 15, [1] * 12 + row[:28]]
        batch_mask = [[int(t != 1) for t in r] for r in batch]
        cfg = cfg_cls(vocab_size=500, hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                      intermediate_size=128, max_position_embeddings=66)
    elif name == "distilbert":
        cfg = cfg_cls(vocab_size=500, dim=64, n_layers=2, n_heads=4, hidden_dim=128,
                      max_position_embeddings=66, pad_token_id=1)
    else:
        cfg = cfg_cls(vocab_size=500, hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                      intermediate_size=128, max_position_embeddings=66, type_vocab_size=1, pad_token_id=1)
    model = cls(cfg).eval()
    if name == "mpnet":  # HF's init leaves the bias table at std 0.02: make it matter
        with torch.no_grad():
            model.encoder.relative_attention_bias.weight.normal_(0.0, 1.0)
    d = os.path.join(out, name)
    model.save_pretrained(d, safe_serialization=True)
    with torch.no_grad():
        h = model(input_ids=torch.tensor(batch), attention_mask=torch.tensor(batch_mask)).last_hidden_state
    json.dump({"input_ids": batch, "attention_mask": batch_mask, "last_hidden_state": h.tolist()},
              open(os.path.join(d, "reference.json"), "w"))
    print(f"{name}: saved {d}")
