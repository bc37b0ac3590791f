"""Cross-checks a model card written by unit_logging with real parsers: PyYAML reads the front
matter (keys in the Python card's order, values of the right types) and xml.etree reads the SVG.
Exits 77 (ctest: skipped) when PyYAML is not installed."""
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

try:
    import yaml
except ImportError:
    print("PyYAML is not installed; skipping")
    sys.exit(77)

card_dir = Path(sys.argv[1])
text = (card_dir / "README.md").read_text(encoding="utf-8")
assert text.startswith("---\n"), "no front matter"
front = text[4 : text.index("\n---\n", 4)]
data = yaml.safe_load(front)
order = ["language", "license", "library_name", "tags", "datasets", "metrics", "pipeline_tag", "widget",
         "model-index", "co2_eq_emissions", "base_model"]
keys = list(data)
assert keys == [k for k in order if k in keys], f"keys out of order: {keys}"
assert data["library_name"] == "sentence-transformers"
assert data["pipeline_tag"] == "sentence-similarity"
assert all(isinstance(t, str) for t in data["tags"]), data["tags"]
assert "dataset_size:18094" in data["tags"], data["tags"]
assert data["widget"][0]["source_sentence"] == "true", data["widget"]  # quoted, stays a string
assert data["widget"][0]["sentences"] == ["1.5", "a: b", "it's", "two\nlines"], data["widget"]
result = data["model-index"][0]["results"][0]
assert result["task"] == {"type": "semantic-similarity", "name": "Semantic Similarity"}, result
assert result["dataset"] == {"name": "sts dev", "type": "sts-dev"}, result
assert [m["type"] for m in result["metrics"]] == ["pearson_cosine", "spearman_cosine"]
assert abs(result["metrics"][1]["value"] - 0.87654321) < 1e-12
ET.parse(card_dir / "training_curves.svg")
print("model card front matter and SVG parse:", keys)
