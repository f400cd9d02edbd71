// The peer of bench/tokenize_vs_hf.py: Hugging Face `tokenizers` (the Rust
// library, as the npm package @anush008/tokenizers builds it) encoding the
// same texts. Usage: node hf_tokenize.js TOKENIZER_JSON TEXTS_JSONL REPS
// Prints one JSON object: seconds of each encodeBatch over all texts (the
// first is the warm-up), token count, and a checksum of the ids to compare.
// Threads: the library's pool (RAYON_NUM_THREADS, set by the driver).
const fs = require('fs');
const path = require('path');
const { Tokenizer } = require(path.join(process.env.C2S_NODE_MODULES || 'node_modules', '@anush008/tokenizers'));

(async () => {
  const [tokenizerPath, textsPath, repsArg] = process.argv.slice(2);
  const texts = fs.readFileSync(textsPath, 'utf8').split('\n').filter((l) => l.length > 0).map((l) => JSON.parse(l));
  const tok = Tokenizer.fromFile(tokenizerPath);
  const reps = Number(repsArg || 5);
  const seconds = [];
  let tokens = 0, checksum = 0;
  for (let r = 0; r <= reps; ++r) {
    const t0 = process.hrtime.bigint();
    const enc = await tok.encodeBatch(texts, { addSpecialTokens: false });
    seconds.push(Number(process.hrtime.bigint() - t0) / 1e9);
    if (r === 0) {
      for (const e of enc) {
        const ids = e.getIds();
        tokens += ids.length;
        for (const id of ids) checksum = (checksum * 31 + id) % 1000000007;
      }
    }
  }
  console.log(JSON.stringify({ texts: texts.length, tokens, checksum, seconds }));
})();
