"""``zeronlp train TASK``: spiral, date, addition, ptb and word2vec."""

from __future__ import annotations

import math
import time

import numpy as np
from tqdm.auto import tqdm

from .. import backend, models, optimizers
from ..distributed import world
from ..errors import DataError, InputError, TrainingDiverged
from ..training import RnnlmTrainer, Trainer, eval_perplexity, seq2seq_accuracy
from . import plots, runs

# ---------------------------------------------------------------- shared


def _prepare(args):
    """Seed and pick the device: before any weight is drawn."""
    comm = world()
    backend.seed(args.seed)
    if getattr(args, "gpu", False):
        if comm.size > 1:
            comm.select_gpu()
        backend.use_gpu()


def _run_dir(args, task, model_name):
    """Create the run directory and write config.json: after every check that can fail.

    Under mpiexec only rank 0 writes files: the other ranks get None for the directory.
    """
    if not world().is_root:
        return None
    run_dir = runs.new_run_dir(args.out, task, model_name)
    config = {k: v for k, v in vars(args).items() if k not in ("func", "parser")}
    runs.write_json(run_dir / "config.json", config)
    return run_dir


def _plural(n, word):
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _an(name):
    return f"an {name}" if name[:1].lower() in "aeiou" else f"a {name}"


def _threads_note(args):
    return f"{_plural(args.threads, 'BLAS thread')} (--threads)"


def _epoch_line(args, epoch, started, text):
    """'epoch 1/4: ... (52 s, about 2 min 36 s left)': one line per epoch that stays, with
    an estimate of the rest of the run from the epochs so far."""
    elapsed = time.time() - started
    left = elapsed / epoch * (args.epochs - epoch)
    tail = f", about {_duration(left)} left" if epoch < args.epochs else ""
    _say(args, f"epoch {epoch}/{args.epochs}: {text} ({_duration(elapsed)}{tail})")


def _duration(seconds):
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    return f"{seconds // 60} min {seconds % 60} s"


def _checkpoint(model, run_dir, meta, history):
    """Write params.npz and history.json (atomically): called after every epoch."""
    if run_dir is None:  # not rank 0
        return
    model.save_params(run_dir / "params.npz", meta=meta)
    runs.write_json(run_dir / "history.json", history)


def _fit(trainer, model, run_dir, meta, *args, **kwargs):
    """trainer.fit; when training diverges, the last finite parameters (put back by the
    trainer) are checkpointed before the error goes on, so the run directory holds them."""
    try:
        return trainer.fit(*args, **kwargs)
    except TrainingDiverged:
        _checkpoint(model, run_dir, meta, trainer.history)
        raise


def build_schedule(args, steps_per_epoch, plateau_ok):
    """The --schedule of the run (None without one), over ``args.epochs`` epochs."""
    from ..schedules import DivideOnPlateau, from_spec

    if args.schedule is None:
        return None
    d_model = args.d_model if args.model == "transformer" else None
    schedule = from_spec(args.schedule, args.lr, args.epochs * steps_per_epoch, d_model)
    if isinstance(schedule, DivideOnPlateau) and not plateau_ok:
        raise InputError(
            "--schedule plateau divides on rising validation perplexity: ptb runs only"
        )
    return schedule


def _say(args, text):
    """A line of progress (tqdm.write keeps the progress bar intact)."""
    if not args.quiet and world().is_root:
        tqdm.write(text)


# ---------------------------------------------------------------- spiral (chapter 1)


def train_spiral(args):
    from ..datasets import spiral

    if args.plot:
        plots.require_matplotlib()
    _prepare(args)
    x, t = spiral.load_data()
    model = models.TwoLayerNet(input_size=2, hidden_size=args.hidden, output_size=3)
    run_dir = _run_dir(args, "spiral", "twolayernet") if args.out else None
    _say(args, f"spiral: {len(x)} points, {_threads_note(args)}")
    trainer = Trainer(model, optimizers.SGD(lr=args.lr), comm=world())
    x_dev, t_dev = backend.to_device(x), backend.to_device(t)
    trainer.fit(
        x_dev,
        t_dev,
        args.epochs,
        args.batch_size,
        max_grad=args.max_grad,
        eval_interval=10,
        verbose=not args.quiet,
    )
    if not world().is_root:
        return 0
    loss = model.forward(x_dev, t_dev)
    predicted = backend.to_cpu(model.predict(x_dev)).argmax(axis=1)
    accuracy = float((predicted == t.argmax(axis=1)).mean())
    print(
        f"spiral: {_plural(args.epochs, 'epoch')}, final loss {loss:.4f}, "
        f"training accuracy {accuracy:.1%}" + (f"; run directory {run_dir}" if run_dir else "")
    )
    if run_dir is not None:
        _checkpoint(model, run_dir, {"task": "spiral"}, trainer.history)
        plots.write_run_plots(run_dir, model, {"task": "spiral"}, trainer)
    if args.plot:
        plots.write_curve(trainer, args.plot, "spiral")
        print(f"loss curve written to {args.plot}")
    return 0


# ---------------------------------------------------------------- seq2seq tasks (ch. 7-8)

SEQ2SEQ_MODELS = {
    "seq2seq": models.Seq2seq,
    "peeky": models.PeekySeq2seq,
    "attention": models.AttentionSeq2seq,
    "transformer": models.TransformerSeq2seq,
}


def _transformer_options(args):
    """Constructor arguments of the Transformer models from the command's options."""
    return dict(
        d_model=args.d_model,
        num_heads=args.heads,
        d_ff=args.ff,
        num_layers=args.layers,
        dropout_ratio=args.dropout,
        norm_first=not args.post_norm,
        activation=args.activation,
    )


def _build(cls, *args, **kwargs):
    """``cls(*args, **kwargs)``: the models check their sizes with ValueError, and here the
    sizes are the user's options, so a refusal is a user error (one line, exit 2)."""
    try:
        return cls(*args, **kwargs)
    except ValueError as e:
        raise InputError(f"{cls.__name__}: {e}") from None


def build_seq2seq(args, vocab_size, question_len, answer_len):
    """The seq2seq model the command asks for."""
    cls = SEQ2SEQ_MODELS[args.model]
    if cls is models.TransformerSeq2seq:
        max_len = max(64, question_len, answer_len)
        return _build(cls, vocab_size, max_len=max_len, **_transformer_options(args))
    return _build(cls, vocab_size, args.wordvec, args.hidden)


def load_sequence_task(task, data=None, train_size=None, seed=1984):
    """((x_train, t_train), (x_test, t_test), (char_to_id, id_to_char)) of a seq2seq task."""
    from ..datasets import sequence

    (x_train, t_train), (x_test, t_test), vocab = sequence.load_data(
        data or task, seed=seed, return_vocab=True
    )
    if len(x_test) == 0:  # the test split is a tenth of the lines
        raise DataError(
            f"{sequence.data_file(data or task)} has {len(x_train)} lines: too few for a "
            "test split (a tenth of the lines); give at least 10"
        )
    if train_size is not None:
        if not 0 < train_size <= len(x_train):
            raise InputError(f"--train-size must lie in [1, {len(x_train)}], got {train_size}")
        x_train, t_train = x_train[:train_size], t_train[:train_size]
    return (x_train, t_train), (x_test, t_test), vocab


def sequence_file(name):
    """The file a seq2seq task reads (the book's, the generated one, or the user's)."""
    from ..datasets import sequence

    return sequence.data_file(name)


def seq2seq_defaults(task, model):
    """(batch_size, lr, lr_factor) used when the command does not give them.

    date with the RNN models: zeronlp's recommended settings (their accuracy per epoch is in
    the README's Results; the smaller rate of the later epochs keeps it there); the book's are
    batch 128, lr 0.001, no decay. addition: the book's. Transformer: Adam 0.001, batch 128.
    """
    if task == "date" and model != "transformer":
        return 64, 0.005, 0.2
    return 128, 0.001, 1.0


def describe_sequence_data(task, data=None):
    """Where a seq2seq task's data comes from, for the first line of a run."""
    from ..datasets import sequence
    from ..datasets._files import data_dir

    if data is not None:
        return str(data)
    found = data_dir()
    if found is not None and (found / "sequence" / f"{task}.txt").is_file():
        return str(found / "sequence" / f"{task}.txt")
    path = sequence.generated_path(task)
    return (
        f"generated, cached in {path} (the book's {task}.txt was not found in "
        "$ZERONLP_DATA/sequence/)"
    )


def train_seq2seq(args):
    task = args.task
    batch_size, lr, lr_factor = seq2seq_defaults(task, args.model)
    args.batch_size = batch_size if args.batch_size is None else args.batch_size
    args.lr = lr if args.lr is None else args.lr
    if args.schedule is not None:  # the schedule sets every update's rate
        if args.lr_factor is not None:
            raise InputError("--schedule and --lr-factor both set the rate: choose one")
        lr_factor = 1.0
    args.lr_factor = lr_factor if args.lr_factor is None else args.lr_factor
    comm = world()
    comm.shard(args.batch_size, "--batch-size")  # refuses a batch the ranks cannot share
    source = describe_sequence_data(task, args.data)
    (x_train, t_train), (x_test, t_test), (char_to_id, id_to_char) = load_sequence_task(
        task, args.data, args.train_size
    )
    if args.reverse:  # the book's trick: reversed questions put related chars closer
        x_train, x_test = x_train[:, ::-1].copy(), x_test[:, ::-1].copy()
    _prepare(args)
    vocab_size = len(char_to_id)
    schedule = build_schedule(args, max(len(x_train) // args.batch_size, 1), plateau_ok=False)
    model = build_seq2seq(args, vocab_size, x_train.shape[1], t_train.shape[1])
    run_dir = _run_dir(args, task, args.model)
    trainer = Trainer(model, optimizers.Adam(lr=args.lr), comm=comm)
    meta = {
        "task": task,
        "vocab": [id_to_char[i] for i in range(vocab_size)],
        "reverse": bool(args.reverse),
        "question_len": int(x_train.shape[1]),
        "answer_len": int(t_train.shape[1]),
        "data": {"train": runs.file_identity(sequence_file(args.data or task))},
    }
    x_test_dev, t_test_dev = backend.to_device(x_test), backend.to_device(t_test)
    started = time.time()

    def evaluate():
        acc = seq2seq_accuracy(model, x_test_dev, t_test_dev, comm=comm)
        record = {"acc": acc, "lr": trainer.optimizer.lr}
        _checkpoint(model, run_dir, meta, trainer.history + [record])
        _epoch_line(args, trainer.current_epoch, started, f"test accuracy {acc:.2%}")
        trainer.optimizer.lr *= args.lr_factor  # for the next epoch
        return record

    _say(args, f"{task} data: {source}")
    _say(
        args,
        f"{task}: {len(x_train)} training and {len(x_test)} test examples, "
        f"vocabulary {vocab_size}, model {type(model).__name__}, {_threads_note(args)}, "
        f"run directory {run_dir}",
    )
    _fit(
        trainer,
        model,
        run_dir,
        meta,
        backend.to_device(x_train),
        backend.to_device(t_train),
        args.epochs,
        args.batch_size,
        max_grad=args.max_grad,
        eval_interval=20,
        eval_fn=evaluate,
        verbose=not args.quiet,
        schedule=schedule,
    )
    _checkpoint(model, run_dir, meta, trainer.history)
    if not comm.is_root:
        return 0
    plots.write_run_plots(run_dir, model, meta, trainer, x_test[:3], t_test[:3])
    last = trainer.history[-1]
    print(
        f"{task} test accuracy {last['acc']:.2%} after {_plural(args.epochs, 'epoch')} "
        f"({_duration(last['time'])}); run directory {run_dir}"
    )
    return 0


# ---------------------------------------------------------------- PTB language models (ch. 5-6)

LM_MODELS = {
    "simple": models.SimpleRnnlm,
    "rnnlm": models.Rnnlm,
    "better": models.BetterRnnlm,
    "transformer": models.TransformerLM,
}


# The default learning rate of each model (SGD; Adam for the Transformer). Rnnlm and
# BetterRnnlm: the book's 20 with clipping at 0.25. SimpleRnnlm: 20 diverges (see the
# README, "Defaults per model").
PTB_LR = {"simple": 1.0, "rnnlm": 20.0, "better": 20.0, "transformer": 1e-3}


def build_lm(args, vocab_size):
    """The language model the command asks for."""
    cls = LM_MODELS[args.model]
    if cls is models.BetterRnnlm:
        return cls(vocab_size, args.wordvec, args.hidden, args.dropout)
    if cls is models.TransformerLM:
        return cls(vocab_size, max_len=args.time_size, **_transformer_options(args))
    return cls(vocab_size, args.wordvec, args.hidden)


def ptb_text(corpus, id_to_word):
    """PTB word ids (<eos> included) as the text a subword tokenizer reads: one sentence a
    line, words separated by spaces."""
    return " ".join("\n" if id_to_word[int(i)] == "<eos>" else id_to_word[int(i)] for i in corpus)


def per_word_perplexity(token_ppl, n_tokens, n_words):
    """A subword model's perplexity per word: exp(total NLL / words), with the total NLL
    = ln(token_ppl) * n_tokens (n_tokens of the split's text, n_words its PTB words,
    <eos> included, which the word-level models predict too)."""
    try:
        return math.exp(math.log(token_ppl) * n_tokens / n_words)
    except OverflowError:
        return math.inf


def _bpe_corpora(args, splits, id_to_word):
    """(tokenizer, {split: token ids}) of the PTB splits, the tokenizer trained on "train"."""
    from ..tokenizers import BPETokenizer

    texts = {name: ptb_text(corpus, id_to_word) for name, corpus in splits.items()}
    tokenizer = BPETokenizer().train(texts["train"], args.vocab_size or 2000)
    ids = {name: np.asarray(tokenizer.encode(t), dtype=np.int64) for name, t in texts.items()}
    return tokenizer, ids


def train_ptb(args):
    from ..datasets import ptb

    corpus, word_to_id, id_to_word = ptb.load_data("train")
    corpus_val, _, _ = ptb.load_data("valid")
    corpus_test, _, _ = ptb.load_data("test")
    if args.train_size is not None:
        corpus = corpus[: args.train_size]
    if args.eval_size is not None:
        corpus_val, corpus_test = corpus_val[: args.eval_size], corpus_test[: args.eval_size]
    words = {"valid": len(corpus_val), "test": len(corpus_test)}
    if args.tokenizer != "bpe" and args.vocab_size is not None:
        raise InputError("--vocab-size sets the BPE vocabulary: it needs --tokenizer bpe")
    tokenizer = None
    if args.tokenizer == "bpe":  # subword tokens: the model's vocabulary is the tokenizer's
        splits = {"train": corpus, "valid": corpus_val, "test": corpus_test}
        tokenizer, ids = _bpe_corpora(args, splits, id_to_word)
        corpus, corpus_val, corpus_test = ids["train"], ids["valid"], ids["test"]
    if len(corpus) - 1 < args.batch_size * args.time_size:
        raise InputError(
            f"--train-size {len(corpus)} is too small: one batch needs more than "
            f"--batch-size x --time-size = {args.batch_size * args.time_size} tokens"
        )
    for name, split in (("validation", corpus_val), ("test", corpus_test)):
        if len(split) <= 10 * 35:  # eval_perplexity reads 10 streams of 35 tokens
            raise DataError(f"the {name} split has {len(split)} tokens; perplexity needs > 350")
    comm = world()
    comm.shard(args.batch_size, "--batch-size")  # refuses a batch the ranks cannot share
    if args.lr is None:
        args.lr = PTB_LR[args.model]
    if args.schedule is not None and args.lr_decay != 1.0:
        raise InputError("--schedule and --lr-decay both set the rate: choose one")
    schedule = build_schedule(
        args, (len(corpus) - 1) // (args.batch_size * args.time_size), plateau_ok=True
    )
    _prepare(args)
    vocab_size = len(word_to_id) if tokenizer is None else tokenizer.vocab_size
    model = build_lm(args, vocab_size)
    run_dir = _run_dir(args, "ptb", args.model)
    if isinstance(model, models.TransformerLM):  # plain SGD does not train a Transformer well
        optimizer = optimizers.Adam(lr=args.lr)
    else:
        optimizer = optimizers.SGD(lr=args.lr)
    trainer = RnnlmTrainer(model, optimizer, comm=comm)
    meta = {
        "task": "ptb",
        "vocab": [id_to_word[i] for i in range(vocab_size)],
        "data": {
            split: runs.file_identity(ptb.data_path(split)) for split in ("train", "valid", "test")
        },
    }
    if tokenizer is not None:  # the run's tokens are the tokenizer's, saved beside the params
        del meta["vocab"]
        meta["tokenizer"] = runs.TOKENIZER_FILE
        if run_dir is not None:
            tokenizer.save(run_dir / runs.TOKENIZER_FILE)
    xs, ts = backend.to_device(corpus[:-1]), backend.to_device(corpus[1:])
    best_val = math.inf
    started = time.time()

    def evaluate():
        nonlocal best_val
        model.reset_state()
        val = eval_perplexity(model, corpus_val, comm=comm)
        model.reset_state()
        # the book's schedule for BetterRnnlm: divide unless the perplexity improved (a tie too)
        if val >= best_val and args.lr_decay != 1.0:
            optimizer.lr /= args.lr_decay
        best_val = min(best_val, val)
        record = {"val_ppl": val, "lr": optimizer.lr}
        if tokenizer is not None:
            record["val_ppl_word"] = per_word_perplexity(val, len(corpus_val), words["valid"])
        _checkpoint(model, run_dir, meta, trainer.history + [record])
        _epoch_line(args, trainer.current_epoch, started, f"validation perplexity {val:.2f}")
        return record

    _say(
        args,
        f"ptb: {len(corpus)} training tokens, vocabulary {vocab_size}, "
        f"model {type(model).__name__}, lr {args.lr:g}"
        f"{'' if schedule is None else ', schedule ' + args.schedule}, {_threads_note(args)}, "
        f"run directory {run_dir}",
    )
    _fit(
        trainer,
        model,
        run_dir,
        meta,
        xs,
        ts,
        args.epochs,
        args.batch_size,
        args.time_size,
        max_grad=args.max_grad,
        eval_interval=20,
        eval_fn=evaluate,
        verbose=not args.quiet,
        schedule=schedule,
    )
    model.reset_state()
    test_ppl = eval_perplexity(model, corpus_test, comm=comm)
    trainer.history[-1]["test_ppl"] = test_ppl
    if tokenizer is not None:
        test_word = per_word_perplexity(test_ppl, len(corpus_test), words["test"])
        trainer.history[-1]["test_ppl_word"] = test_word
    _checkpoint(model, run_dir, meta, trainer.history)
    if not comm.is_root:
        return 0
    plots.write_run_plots(run_dir, model, meta, trainer)
    part = "" if args.eval_size is None else f" (first {len(corpus_test)} tokens)"
    figure = f"{test_ppl:.2f}"
    if tokenizer is not None:
        part = "" if args.eval_size is None else f" (first {words['test']} words)"
        figure = (
            f"per BPE token {test_ppl:.2f}, per word {test_word:.2f} "
            f"({len(corpus_test)} tokens, {words['test']} words)"
        )
    print(
        f"ptb test perplexity{part} {figure} after {_plural(args.epochs, 'epoch')} "
        f"({_duration(trainer.history[-1]['time'])}); run directory {run_dir}"
    )
    return 0


# ---------------------------------------------------------------- word2vec on PTB (ch. 3-4)


# One rate for both models: SkipGram's default batch holds as many positive pairs as CBOW's
# (train_word2vec's batch_size), which keeps it stable at this rate.
WORD2VEC_LR = 0.025


def train_word2vec(args):
    from .. import text
    from ..datasets import ptb
    from ..training.word2vec import default_batch_size
    from ..training.word2vec import train_word2vec as fit

    corpus, word_to_id, id_to_word = ptb.load_data("train")
    if args.train_size is not None:
        corpus = corpus[: args.train_size]
    if args.lr is None:
        args.lr = WORD2VEC_LR
    _prepare(args)
    cls = models.CBOW if args.model == "cbow" else models.SkipGram
    model = _build(cls, len(word_to_id), args.hidden, args.window, corpus)
    if args.batch_size is None:
        args.batch_size = default_batch_size(model)
    if len(corpus) < 2 * args.window + 1:
        raise InputError(
            f"--train-size {len(corpus)} is too small: --window {args.window} needs at least "
            f"{2 * args.window + 1} tokens"
        )
    run_dir = _run_dir(args, "word2vec", args.model)
    meta = {
        "task": "word2vec",
        "vocab": [id_to_word[i] for i in range(len(id_to_word))],
        "word_vecs_index": 0,
        "data": {"train": runs.file_identity(ptb.data_path("train"))},
    }
    _say(
        args,
        f"word2vec: {len(corpus)} tokens, vocabulary {len(word_to_id)}, model "
        f"{type(model).__name__}, lr {args.lr:g}, {_threads_note(args)}, run directory {run_dir}",
    )
    history = []
    started = time.time()

    def end_of_epoch(epoch, epoch_losses):
        # the epoch's mean batch loss, a checkpoint, and a line that stays in the terminal
        if not epoch_losses:  # subsampling left no target in a tiny corpus
            history.append({"epoch": epoch})
            summary = "no targets after subsampling"
        else:
            history.append({"epoch": epoch, "loss": float(np.mean(epoch_losses))})
            summary = f"mean loss {history[-1]['loss']:.3f}"
        _checkpoint(model, run_dir, meta, history)
        _epoch_line(args, epoch, started, summary)

    try:
        losses = fit(
            model,
            corpus,
            args.window,
            args.epochs,
            args.batch_size,
            args.lr,
            sample=args.sample,
            seed=args.seed,
            verbose=not args.quiet,
            comm=world(),
            on_epoch=end_of_epoch,
        )
    except TrainingDiverged:
        _checkpoint(model, run_dir, meta, history)  # the rows were put back: all finite
        raise
    if not world().is_root:
        return 0
    vecs = backend.to_cpu(model.word_vecs)
    for query in ("you", "year", "car", "toyota"):
        near = text.most_similar(query, word_to_id, id_to_word, vecs, top=5)
        print(f"{query}: " + ", ".join(w for w, _ in near))
    best = text.analogy("take", "took", "go", word_to_id, id_to_word, vecs, top=3)
    print("take:took = go:? -> " + ", ".join(w for w, _ in best))
    counts = np.bincount(corpus, minlength=len(id_to_word))
    plots.write_word2vec_plots(run_dir, vecs, id_to_word, counts, losses)
    final = f"final loss {history[-1]['loss']:.3f}" if "loss" in history[-1] else "no loss"
    print(
        f"word2vec {type(model).__name__}: {_plural(args.epochs, 'epoch')}, {final}; "
        f"run directory {run_dir}"
    )
    return 0
