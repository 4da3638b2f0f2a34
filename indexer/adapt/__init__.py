"""Adapting the default model to a news archive: a small LoRA delta, trained offline.

* :mod:`.pairs` builds (headline → lead) training pairs from news JSONL files, removes
  every article that overlaps an evaluation corpus and mines lexical hard negatives;
* :mod:`.train` trains a LoRA delta with sentence-transformers' trainer (needs the
  ``adapt`` extra: peft, datasets, accelerate);
* :mod:`.delta` saves a delta (``adapter.safetensors`` + ``adapter.json``), and loads and
  merges it into float32 weights with numpy alone (materialisation needs no peft).

Nothing here imports torch, peft or sentence-transformers at module level.
"""
