# The Python side of the GPU check: builds a BERT-base-sized random model with the
# bert-base-uncased vocabulary, saves it as a sentence-transformers folder for the C++ side,
# encodes the probe sentences, and times encode() on CUDA (fp32 and bf16).
import json, sys, time
import torch
from transformers import BertConfig, BertModel, BertTokenizerFast
from sentence_transformers import SentenceTransformer, models

carry, sentences_file, out_dir, out_json = sys.argv[1:5]
sentences = [l.rstrip("\n") for l in open(sentences_file, encoding="utf-8")]
torch.manual_seed(0)
hf_dir = "/tmp/bertbase_hf"
BertModel(BertConfig()).save_pretrained(hf_dir)
BertTokenizerFast(vocab_file=f"{carry}/vocab.txt", do_lower_case=True).save_pretrained(hf_dir)
st = SentenceTransformer(modules=[models.Transformer(hf_dir, max_seq_length=128), models.Pooling(768, "mean")], device="cuda")
st.eval()
st.save(out_dir)

res = {"python_base_first16_fp32": st.encode(sentences[:16], batch_size=16, convert_to_numpy=True).tolist()}
tiny = SentenceTransformer(f"{carry}/tiny-bert-st", device="cuda")
res["python_tiny_first256_cuda"] = tiny.encode(sentences[:256], batch_size=64).tolist()

def timed(model):
    model.encode(sentences[:128], batch_size=64)
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    model.encode(sentences, batch_size=64)
    torch.cuda.synchronize()
    return len(sentences) / (time.perf_counter() - t0)

res["python_base_fp32_sentences_per_s"] = timed(st)
st_bf16 = SentenceTransformer(out_dir, device="cuda", model_kwargs={"torch_dtype": torch.bfloat16})
res["python_base_bf16_sentences_per_s"] = timed(st_bf16)
res["versions"] = {"torch": torch.__version__, "gpu": torch.cuda.get_device_name(0)}
import sentence_transformers
res["versions"]["sentence_transformers"] = sentence_transformers.__version__
json.dump(res, open(out_json, "w"))
print({k: v for k, v in res.items() if not isinstance(v, list)})
