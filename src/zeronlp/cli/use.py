"""Commands that use a trained run: eval, generate, translate, similar, analogy, plot."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from .. import backend, io, metrics, models, text
from ..errors import (
    CheckpointError,
    DataError,
    InputError,
    MissingFileError,
)
from ..training import eval_perplexity
from . import plots, runs
from .train import _an, per_word_perplexity, ptb_text

# ---------------------------------------------------------------- eval


SPLIT_NAMES = {"train": "training", "valid": "validation", "test": "test"}


def run_path(run):
    """``run`` as a Path, or the one message every command gives for a missing run."""
    path = Path(run)
    if not (path / "params.npz").is_file():
        raise MissingFileError(f"{path} is not a run directory: no params.npz in it")
    return path


def _note(line):
    if line:
        print(line, file=sys.stderr)


def evaluate(args):
    """Test accuracy or perplexity, on data encoded with the run's own vocabulary."""
    model, meta = runs.load_run(args.run, tasks=("ptb", "date", "addition"))
    task = meta["task"]
    what = SPLIT_NAMES[args.split]
    if task == "ptb":
        if args.beam is not None:
            raise InputError("--beam decodes seq2seq runs; a language model's perplexity has none")
        from ..datasets import ptb

        _note(runs.data_note(args.run, meta, ptb.data_path(args.split), role=args.split))
        tokenizer = meta.get("tokenizer")
        if tokenizer is None:
            corpus = ptb.load_corpus(args.split, {w: i for i, w in enumerate(meta["vocab"])})
        else:  # the run's own subword tokens
            words, _, id_to_word = ptb.load_data(args.split)
            corpus = np.asarray(tokenizer.encode(ptb_text(words, id_to_word)), dtype=np.int64)
        model.reset_state()
        ppl = eval_perplexity(model, corpus)
        if tokenizer is None:
            print(f"{what} perplexity {ppl:.2f}")
        else:
            per_word = per_word_perplexity(ppl, len(corpus), len(words))
            print(
                f"{what} perplexity per BPE token {ppl:.2f}, per word {per_word:.2f} "
                f"({len(corpus)} tokens, {len(words)} words)"
            )
        return 0
    from ..datasets import sequence

    if args.split == "valid":
        raise InputError(
            f"the {task} data has no validation split (the book splits it 90/10 into "
            "train and test): use --split test or --split train"
        )
    data = getattr(args, "data", None) or task  # a path only when the user names one
    _note(runs.data_note(args.run, meta, sequence.data_file(data)))
    char_to_id = {c: i for i, c in enumerate(meta["vocab"])}
    train, test = sequence.load_data(data, char_to_id=char_to_id)
    x_test, t_test = train if args.split == "train" else test
    widths = (x_test.shape[1], t_test.shape[1])
    if widths != (meta["question_len"], meta["answer_len"]):
        raise DataError(
            f"{sequence.data_file(data)} has questions of {widths[0]} and answers of "
            f"{widths[1]} characters; {args.run} was trained on {meta['question_len']} and "
            f"{meta['answer_len']}"
        )
    if len(x_test) == 0:
        raise DataError(f"{sequence.data_file(data)} is too small for a test split")
    if meta.get("reverse"):
        x_test = x_test[:, ::-1].copy()
    options = {"beam_width": args.beam} if args.beam else {}
    guess = decode_answers(model, x_test, t_test, "beam" if args.beam else "greedy", **options)
    acc = float(np.all(guess == t_test[:, 1:], axis=1).mean())  # exact match, as seq2seq_accuracy
    print(f"{task} {what} accuracy {acc:.2%} ({len(x_test)} questions)")
    vocab = meta["vocab"]
    hypotheses = [_as_characters(row, vocab) for row in guess]
    references = [_as_characters(row, vocab) for row in t_test[:, 1:]]
    bleu = metrics.corpus_bleu(hypotheses, [references])
    print(f"{task} {what} BLEU {bleu.score:.2f} (characters as tokens)")
    return 0


def decode_answers(model, x, t, method, batch_size=1000, **options):
    """The model's answers (N, Ta - 1) on the host to questions x (N, Tq), decoded in
    batches from the start ids t[:, 0]."""
    parts = []
    for i in range(0, len(x), batch_size):
        xb, tb = backend.to_device(x[i : i + batch_size]), t[i : i + batch_size]
        start = backend.to_device(tb[:, 0])
        parts.append(
            backend.to_cpu(model.generate_batch(xb, start, tb.shape[1] - 1, method, **options))
        )
    return np.concatenate(parts)


def _as_characters(ids, vocab):
    """An answer's ids as BLEU's text: its characters (padding stripped), space-separated,
    so that every character is a token (the answers are single words: dates, numbers)."""
    return " ".join("".join(vocab[int(i)] for i in ids).strip())


# ---------------------------------------------------------------- language models


def _word_ids(words, word_to_id, what="word"):
    unknown = [w for w in words if w not in word_to_id]
    if unknown:
        raise InputError(f"unknown {what}(s) {unknown}: not in the run's vocabulary")
    return [word_to_id[w] for w in words]


def generate(args):
    model, meta = runs.load_run(args.run, tasks=("ptb",))
    if not isinstance(model, models.rnnlm.LanguageModel):
        raise CheckpointError(f"{args.run} holds {_an(meta['model'])}, not a language model")
    if meta.get("tokenizer") is not None:
        return _generate_subwords(args, model, meta["tokenizer"])
    vocab = meta["vocab"]
    word_to_id = {w: i for i, w in enumerate(vocab)}
    prompt = _word_ids(args.start.lower().split(), word_to_id)
    if not prompt:
        raise InputError("--start needs at least one word")
    skip = [word_to_id[w] for w in ("N", "<unk>", "$") if w in word_to_id] if args.skip else None
    ids = _continue(args, model, prompt, skip)
    words = [vocab[i] for i in ids]
    print(" ".join(words).replace(" <eos>", ".\n").strip())
    return 0


def _generate_subwords(args, model, tokenizer):
    """generate for a run with a subword tokenizer: --length counts tokens."""
    prompt = tokenizer.encode(args.start.lower())
    if not prompt:
        raise InputError("--start needs at least one character")
    print(tokenizer.decode(_continue(args, model, prompt)).strip())
    return 0


def _continue(args, model, prompt, skip_ids=None):
    """The prompt's ids followed by the ones the model generates from it (--length more)."""
    model.reset_state()
    if len(prompt) > 1:  # condition on the prompt: feed all but its last id
        model.predict(np.asarray([prompt[:-1]]))
    ids = model.generate(
        prompt[-1],
        skip_ids=skip_ids,
        sample_size=args.length,
        method=args.method,
        temperature=args.temperature,
        top_k=args.top_k,
        top_p=args.top_p,
        beam_width=args.beam,
    )
    return prompt[:-1] + ids


# ---------------------------------------------------------------- seq2seq


def encode_question(question, meta):
    """A user's string as the model's input ids (1, Tq): padded, reversed like training."""
    vocab = meta["vocab"]
    char_to_id = {c: i for i, c in enumerate(vocab)}
    width = meta["question_len"]
    if not question.strip():
        raise InputError("the question is empty")
    if len(question) > width:
        raise InputError(f"the question is {len(question)} characters; at most {width} fit")
    unknown = sorted({c for c in question if c not in char_to_id})
    if unknown:
        raise InputError(
            f"unknown character(s) {unknown}: the {meta['task']} vocabulary has "
            f"{''.join(sorted(c for c in vocab if c.strip()))!r}"
        )
    if " " not in char_to_id and len(question) < width:
        raise InputError(f"the question must be {width} characters (the vocabulary has no space)")
    ids = [char_to_id[c] for c in question.ljust(width)]
    if meta.get("reverse"):
        ids = ids[::-1]
    return np.asarray([ids])


def translate(args):
    model, meta = runs.load_run(args.run, tasks=("date", "addition"))
    if not isinstance(model, models.Seq2seq | models.TransformerSeq2seq):
        raise CheckpointError(f"{args.run} holds {_an(meta['model'])}, not a seq2seq model")
    if args.attention:
        if not hasattr(model, "attention_map"):
            raise InputError(
                f"{args.run} holds {_an(meta['model'])}, which has no attention to draw: "
                "--attention needs an attention or transformer run"
            )
        plots.require_matplotlib("--attention")
    sample = args.temperature is not None or args.top_p is not None
    if sample and args.beam:
        raise InputError("--beam searches, --temperature/--top-p sample: choose one")
    vocab = meta["vocab"]
    start_id = vocab.index("_")
    for question in args.questions:
        x = backend.to_device(encode_question(question, meta))
        n = meta["answer_len"] - 1
        if args.beam:
            out = model.generate_batch(x, start_id, n, method="beam", beam_width=args.beam)
        elif sample:
            temperature = 1.0 if args.temperature is None else args.temperature
            out = model.generate_batch(
                x, start_id, n, method="sample", temperature=temperature, top_p=args.top_p
            )
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
    parameter file with a vocabulary, or the book's cbow_params.pkl; checked before use."""
    path = Path(source)
    if path.suffix == ".pkl":
        return _book_word_vectors(path)
    if path.suffix != ".npz":  # a run directory
        params, arrays, meta = runs.run_meta(path)
    else:
        params, (arrays, meta) = path, io.load_arrays(path)
    task = meta.get("task")
    if task in ("date", "addition"):
        raise CheckpointError(
            f"{source} is a {task} run: its vocabulary is characters, not words; similar "
            "and analogy need a word2vec or ptb run, or the book's cbow_params.pkl"
        )
    vocab = meta.get("vocab")
    if vocab is None:
        raise CheckpointError(f"{params} has no vocabulary in its metadata")
    if not isinstance(vocab, list) or not all(isinstance(w, str) for w in vocab):
        raise CheckpointError(f"{params}: the vocabulary is not a list of strings")
    index = meta.get("word_vecs_index", 0)
    if not (isinstance(index, int) and 0 <= index < len(arrays)):
        raise CheckpointError(f"{params}: word_vecs_index {index!r} names no stored array")
    vecs = arrays[index]
    if vecs.ndim != 2 or vecs.shape[0] != len(vocab):
        raise CheckpointError(
            f"{params}: the vocabulary has {len(vocab)} words but the vectors are "
            f"{tuple(vecs.shape)}"
        )
    return vecs.astype(np.float32), {w: i for i, w in enumerate(vocab)}, dict(enumerate(vocab))


def _book_word_vectors(path):
    obj = io.load_book_pickle(path)
    if not (isinstance(obj, dict) and "word_vecs" in obj):
        raise CheckpointError(f"{path} holds no 'word_vecs': not a word2vec parameter file")
    vecs, word_to_id, id_to_word = obj["word_vecs"], obj.get("word_to_id"), obj.get("id_to_word")
    ok = (
        isinstance(vecs, np.ndarray)
        and vecs.ndim == 2
        and isinstance(word_to_id, dict)
        and isinstance(id_to_word, dict)
        and len(word_to_id) == len(id_to_word) == vecs.shape[0]
        and all(isinstance(i, int) and 0 <= i < vecs.shape[0] for i in word_to_id.values())
        and all(id_to_word.get(i) == w for w, i in word_to_id.items())
    )
    if not ok:
        raise CheckpointError(
            f"{path}: 'word_vecs', 'word_to_id' and 'id_to_word' do not agree (a (V, D) array "
            "and two dicts of V words)"
        )
    return vecs.astype(np.float32), word_to_id, id_to_word


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
    plots.require_matplotlib()
    run_dir = run_path(args.run)
    written = plots.draw_run(run_dir)
    if not written:
        raise InputError(f"{run_dir} holds nothing to draw (no history.json, curve.npz, ...)")
    for path in written:
        print(f"wrote {path}")
    return 0
