"""Commands that use a trained run: eval, generate, translate, similar, analogy, plot."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .. import backend, io, models, text
from ..training import eval_perplexity, seq2seq_accuracy
from . import plots, runs
from .train import _an

# ---------------------------------------------------------------- eval


def run_path(run):
    """``run`` as a Path, or the one message every command gives for a missing run."""
    path = Path(run)
    if not (path / "params.npz").is_file():
        raise FileNotFoundError(f"{path} is not a run directory: no params.npz in it")
    return path


SPLIT_NAMES = {"train": "training", "valid": "validation", "test": "test"}


def evaluate(args):
    model, meta = runs.load_run(args.run)
    task = meta.get("task")
    what = SPLIT_NAMES[args.split]
    if task == "ptb":
        if args.beam is not None:
            raise ValueError("--beam decodes seq2seq runs; a language model's perplexity has none")
        from ..datasets import ptb

        corpus, _, _ = ptb.load_data(args.split)
        model.reset_state()
        print(f"{what} perplexity {eval_perplexity(model, corpus):.2f}")
    elif task in ("date", "addition"):
        from .train import load_sequence_task

        if args.split == "valid":
            raise ValueError(
                f"the {task} data has no validation split (the book splits it 90/10 into "
                "train and test): use --split test or --split train"
            )
        config = runs.read_json(Path(args.run) / "config.json")
        (x_train, t_train), (x_test, t_test), _ = load_sequence_task(task, config.get("data"))
        x, t = (x_train, t_train) if args.split == "train" else (x_test, t_test)
        if meta.get("reverse"):
            x = x[:, ::-1].copy()
        options = {"beam_width": args.beam} if args.beam else {}
        acc = seq2seq_accuracy(model, x, t, method="beam" if args.beam else "greedy", **options)
        print(f"{task} {what} accuracy {acc:.2%} ({len(x)} questions)")
    else:
        raise ValueError(f"{args.run}: 'eval' knows the tasks ptb, date, addition, not {task!r}")
    return 0


# ---------------------------------------------------------------- language models


def _word_ids(words, word_to_id, what="word"):
    unknown = [w for w in words if w not in word_to_id]
    if unknown:
        raise ValueError(f"unknown {what}(s) {unknown}: not in the run's vocabulary")
    return [word_to_id[w] for w in words]


def generate(args):
    model, meta = runs.load_run(args.run)
    if not isinstance(model, models.rnnlm.LanguageModel):
        raise ValueError(f"{args.run} holds {_an(meta['model'])}, not a language model")
    vocab = meta["vocab"]
    word_to_id = {w: i for i, w in enumerate(vocab)}
    prompt = _word_ids(args.start.lower().split(), word_to_id)
    model.reset_state()
    if len(prompt) > 1:  # condition on the prompt: feed all but its last word
        model.predict(np.asarray([prompt[:-1]]))
    skip = [word_to_id[w] for w in ("N", "<unk>", "$") if w in word_to_id] if args.skip else None
    ids = model.generate(
        prompt[-1],
        skip_ids=skip,
        sample_size=args.length,
        method=args.method,
        temperature=args.temperature,
        top_k=args.top_k,
        beam_width=args.beam,
    )
    words = [vocab[i] for i in prompt[:-1] + ids]
    print(" ".join(words).replace(" <eos>", ".\n").strip())
    return 0


# ---------------------------------------------------------------- seq2seq


def encode_question(question, meta):
    """A user's string as the model's input ids (1, Tq): padded, reversed like training."""
    vocab = meta["vocab"]
    char_to_id = {c: i for i, c in enumerate(vocab)}
    width = meta["question_len"]
    if len(question) > width:
        raise ValueError(f"the question is {len(question)} characters; at most {width} fit")
    unknown = sorted({c for c in question if c not in char_to_id})
    if unknown:
        raise ValueError(
            f"unknown character(s) {unknown}: the {meta['task']} vocabulary has "
            f"{''.join(sorted(c for c in vocab if c.strip()))!r}"
        )
    ids = [char_to_id[c] for c in question.ljust(width)]
    if meta.get("reverse"):
        ids = ids[::-1]
    return np.asarray([ids])


def translate(args):
    model, meta = runs.load_run(args.run)
    if not isinstance(model, models.Seq2seq):
        raise ValueError(f"{args.run} holds {_an(meta['model'])}, not a seq2seq model")
    vocab = meta["vocab"]
    start_id = vocab.index("_")
    for question in args.questions:
        x = backend.to_device(encode_question(question, meta))
        n = meta["answer_len"] - 1
        if args.beam:
            out = model.generate_batch(x, start_id, n, method="beam", beam_width=args.beam)
        else:
            out = model.generate_batch(x, start_id, n)
        answer = "".join(vocab[int(i)] for i in backend.to_cpu(out)[0]).strip()
        print(f"{question} -> {answer}")
        if args.attention:
            t = np.asarray([[start_id] + [int(i) for i in backend.to_cpu(out)[0]]])
            plots.write_attention_map(model, meta, backend.to_cpu(x), t, args.attention)
            print(f"attention heatmap written to {args.attention}")
    return 0


# ---------------------------------------------------------------- word vectors


def load_word_vectors(source):
    """(word_matrix (V, D), word_to_id, id_to_word) from a run directory, a zeronlp .npz
    parameter file with a vocabulary, or the book's cbow_params.pkl."""
    path = Path(source)
    if path.suffix == ".pkl":
        obj = io.load_book_pickle(path)
        if not (isinstance(obj, dict) and "word_vecs" in obj):
            raise ValueError(f"{path} holds no 'word_vecs': not a word2vec parameter file")
        return obj["word_vecs"].astype(np.float32), obj["word_to_id"], obj["id_to_word"]
    params = run_path(path) / "params.npz" if path.suffix != ".npz" else path
    arrays, meta = io.load_arrays(params)
    vocab = meta.get("vocab")
    if vocab is None:
        raise ValueError(f"{params} has no vocabulary in its metadata")
    vecs = arrays[meta.get("word_vecs_index", 0)]
    return vecs.astype(np.float32), {w: i for i, w in enumerate(vocab)}, dict(enumerate(vocab))


def similar(args):
    matrix, word_to_id, id_to_word = load_word_vectors(args.run)
    for word in args.words:
        _word_ids([word], word_to_id)
        print(f"[query] {word}")
        for w, score in text.most_similar(word, word_to_id, id_to_word, matrix, top=args.top):
            print(f" {w}: {score:.4f}")
    return 0


def analogy(args):
    matrix, word_to_id, id_to_word = load_word_vectors(args.run)
    _word_ids([args.a, args.b, args.c], word_to_id)
    print(f"[analogy] {args.a}:{args.b} = {args.c}:?")
    result = text.analogy(args.a, args.b, args.c, word_to_id, id_to_word, matrix, top=args.top)
    for w, score in result:
        print(f" {w}: {score:.4f}")
    return 0


# ---------------------------------------------------------------- plot


def plot(args):
    if not plots.have_matplotlib():
        raise ImportError(f"plotting needs matplotlib: {plots.INSTALL_HINT}")
    run_dir = run_path(args.run)
    written = plots.draw_run(run_dir)
    if not written:
        raise ValueError(f"{run_dir} holds nothing to draw (no history.json, curve.npz, ...)")
    for path in written:
        print(f"wrote {path}")
    return 0
