"""Reads an offline W&B run written by unit_logging with a reader of its own, written from the
format's description (wandb/sdk/internal/datastore.py's docstring, LevelDB's log_format.md and
wandb/proto/wandb_internal.proto), sharing no code with the C++ reader: the header, every chunk's
CRC-32 (zlib.crc32 of the type byte and the payload), the zero trailers, FIRST/MIDDLE/LAST
reassembly, then a generic protobuf walker that checks the field numbers of Record, RunRecord,
HistoryRecord, SummaryRecord, RunExitRecord and FinalRecord. config.yaml is read with PyYAML
when it is installed. Usage: check_wandb_run.py <folder holding wandb/ and framing.wandb>."""
import json
import re
import struct
import sys
import time
import zlib
from pathlib import Path

BLOCK, HEADER = 32768, 7


def read_datastore(data):
    assert data[:4] == b":W&B", "ident"
    assert struct.unpack("<H", data[4:6])[0] == zlib.crc32(b"Weights & Biases") & 0xFFFF, "magic"
    assert data[6] == 0, "version"
    pos, records, pending, types = 7, [], None, []
    while pos < len(data):
        left = BLOCK - pos % BLOCK
        if left < HEADER:
            assert data[pos:pos + left] == b"\0" * len(data[pos:pos + left]), f"trailer at {pos}"
            pos += left
            continue
        crc, length, kind = struct.unpack("<IHB", data[pos:pos + HEADER])
        payload = data[pos + HEADER:pos + HEADER + length]
        assert len(payload) == length and HEADER + length <= left, f"chunk at {pos}"
        assert crc == zlib.crc32(bytes([kind]) + payload), f"crc at {pos}"
        types.append(kind)
        if kind == 1:
            assert pending is None
            records.append(payload)
        elif kind == 2:
            assert pending is None
            pending = payload
        elif kind in (3, 4):
            assert pending is not None
            pending += payload
            if kind == 4:
                records.append(pending)
                pending = None
        else:
            raise AssertionError(f"chunk type {kind} at {pos}")
        pos += HEADER + length
    assert pending is None, "record cut off"
    return records, types


def varint(b, i):
    v = shift = 0
    while True:
        c = b[i]
        i += 1
        v |= (c & 0x7F) << shift
        shift += 7
        if not c & 0x80:
            return v, i


def fields(b):
    """{field number: [values]}: varints as int, length-delimited as bytes."""
    out, i = {}, 0
    while i < len(b):
        key, i = varint(b, i)
        f, wire = key >> 3, key & 7
        if wire == 0:
            v, i = varint(b, i)
        elif wire == 2:
            n, i = varint(b, i)
            v, i = b[i:i + n], i + n
        elif wire == 1:
            v, i = b[i:i + 8], i + 8
        elif wire == 5:
            v, i = b[i:i + 4], i + 4
        else:
            raise AssertionError(f"wire type {wire}")
        out.setdefault(f, []).append(v)
    assert i == len(b), "message overruns"
    return out


def items(msg):  # repeated *Item at field 1: key = 1, value_json = 16
    out = []
    for raw in fields(msg).get(1, []):
        it = fields(raw)
        out.append((it[1][0].decode(), json.loads(it[16][0].decode())))
    return out


RECORD_KINDS = {2: "history", 3: "summary", 5: "config", 6: "files", 17: "run", 18: "exit", 20: "final"}

root = Path(sys.argv[1])
runs = [p for p in (root / "wandb").iterdir() if p.name.startswith("offline-run-")]
assert len(runs) == 1, runs
run_dir = runs[0]
assert re.fullmatch(r"offline-run-\d{8}_\d{6}-sbert001", run_dir.name), run_dir.name
records, types = read_datastore((run_dir / "run-sbert001.wandb").read_bytes())
assert {2, 3, 4} <= set(types), f"expected a multi-chunk record, got chunk types {sorted(set(types))}"

kinds, decoded = [], []
for n, raw in enumerate(records, 1):
    f = fields(raw)
    assert f[1] == [n], f"Record.num {f.get(1)} != {n}"
    present = [k for k in f if k in RECORD_KINDS]
    assert len(present) == 1, f"record {n}: oneof members {present}"
    kinds.append(RECORD_KINDS[present[0]])
    decoded.append(fields(f[present[0]][0]) if f[present[0]][0] else {})
assert kinds[0] == "run" and kinds[-3:] == ["summary", "exit", "final"], kinds
assert kinds.count("history") == 42, kinds

run = decoded[0]
assert run[1] == [b"sbert001"] and run[2] == [b"someone"] and run[3] == [b"sbert-test"], run
assert run[8] == [b"cross-check"], run.get(8)
seconds = fields(run[17][0])[1][0]
assert abs(seconds - time.time()) < 86400, seconds
config = dict(items(run[4][0]))
assert config["learning_rate"] == 5e-05 and config["report_to"] == ["wandb"] and config["loss"] == "CoSENTLoss", config

history = [d for k, d in zip(kinds, decoded) if k == "history"]
for i, h in enumerate(history):
    row = {}
    for raw in h[1]:
        it = fields(raw)
        row[it[1][0].decode()] = json.loads(it[16][0].decode())
    assert row["_step"] == i, (i, row.get("_step"))
    step = fields(h[2][0]).get(1, [0])[0] if h[2][0] else 0
    assert step == i, (i, step)
    assert "_runtime" in row and "_timestamp" in row
    if i < 40:
        assert row["train/global_step"] == i + 1 and abs(row["train/loss"] - 1.0 / (i + 1)) < 1e-12, row
assert len(history[40][1]) > 3000, "the big row"
final_row = {fields(r)[1][0].decode() for r in history[41][1]}
assert "train/train_runtime" not in final_row and "train/epoch" in final_row, final_row

summary = {}
for raw in decoded[-3][1]:
    it = fields(raw)
    summary[it[1][0].decode()] = json.loads(it[16][0].decode())
assert summary["train_runtime"] == 2.5 and summary["train_loss"] == 0.1 and summary["_step"] == 41, summary
assert decoded[-2].get(1, [0])[0] == 0, "exit code"

summary_file = json.loads((run_dir / "files" / "wandb-summary.json").read_text())
assert summary_file == summary, "wandb-summary.json differs from the summary record"
json.loads((run_dir / "files" / "wandb-metadata.json").read_text())
try:
    import yaml
except ImportError:
    yaml = None
    print("PyYAML is not installed; config.yaml not parsed")
if yaml is not None:
    cfg = yaml.safe_load((run_dir / "files" / "config.yaml").read_text())
    assert list(cfg) == list(config), "config.yaml keys differ from the run record's"
    for k, v in config.items():
        assert cfg[k] == {"value": v}, (k, cfg[k], v)

# The framing file: payload i is patterned bytes, as the C++ test wrote them.
sizes = [32768 - 7 - 7 - 3, 10, 32737, 10, 70000, 0, 5]
payloads, types = read_datastore((root / "framing.wandb").read_bytes())
assert [len(p) for p in payloads] == sizes, [len(p) for p in payloads]
for n, p in zip(sizes, payloads):
    assert p == bytes((i * 131 + n % 7) % 251 for i in range(n)), n
assert types == [1, 1, 1, 2, 4, 2, 3, 4, 1, 1], types
print(f"ok: {len(records)} records, {len(history)} history rows, framing edge cases")
