// Writes hf_xlmr_reference.jsonl: what Hugging Face's Rust tokenizers (npm package
// tokenizers@0.23.2) give for the texts in hf_xlmr_texts.txt, with the two XLM-R style
// tokenizer.json files that sbert_sentencepiece_tests writes when run as
//   SBERT_SPM_DUMP_DIR=/some/dir sbert_sentencepiece_tests "[.dump]"
// Usage: node make_hf_reference.js /some/dir hf_xlmr_texts.txt > hf_xlmr_reference.jsonl
const { Tokenizer } = require('tokenizers');
const fs = require('fs');
const [, , dir, textsFile] = process.argv;
const texts = fs.readFileSync(textsFile, 'utf8').split('\n');
if (texts[texts.length - 1] === '') texts.pop();
(async () => {
  for (const layout of ['modern', 'legacy']) {
    const tok = Tokenizer.fromFile(`${dir}/botchan_xlmr_${layout}.json`);
    for (const text of texts) {
      const e = await tok.encode(text);
      console.log(JSON.stringify({ layout, text, ids: e.getIds() }));
    }
  }
})();
