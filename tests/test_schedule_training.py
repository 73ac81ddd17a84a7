"""Learning-rate schedules in the trainers: the rate of every update, the book's
divide-on-plateau observing validation, the rate per epoch in the history."""

import numpy as np
import pytest

import zeronlp
from zeronlp import optimizers
from zeronlp.errors import InputError
from zeronlp.models import SimpleRnnlm, TwoLayerNet
from zeronlp.schedules import DivideOnPlateau, StepDecay, WarmupCosine
from zeronlp.training import RnnlmTrainer, Trainer


class RecordingSGD(optimizers.SGD):
    """SGD that remembers the rate of every update it applies."""

    def __init__(self, lr):
        super().__init__(lr)
        self.seen = []

    def update(self, params, grads):
        self.seen.append(self.lr)
        super().update(params, grads)


def _spiral_like(n=64):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, 2)).astype(np.float32)
    t = np.eye(3, dtype=np.float32)[rng.integers(0, 3, n)]
    return x, t


def test_trainer_applies_the_schedule_before_every_update_across_fits():
    zeronlp.seed(0)
    x, t = _spiral_like()
    optimizer = RecordingSGD(lr=123.0)  # the schedule overrides it from the first update
    trainer = Trainer(TwoLayerNet(2, 8, 3), optimizer)
    schedule = WarmupCosine(lr=0.5, total_steps=20, warmup_steps=4, min_lr=0.01)
    trainer.fit(x, t, max_epoch=2, batch_size=8, verbose=False, schedule=schedule)
    trainer.fit(x, t, max_epoch=1, batch_size=8, verbose=False, schedule=schedule)
    assert optimizer.seen == [schedule(s) for s in range(24)]  # 8 updates per epoch
    assert [h["lr"] for h in trainer.history] == [schedule(7), schedule(15), schedule(23)]


def test_trainer_without_a_schedule_keeps_the_rate_and_records_it():
    zeronlp.seed(0)
    x, t = _spiral_like()
    optimizer = RecordingSGD(lr=0.3)
    trainer = Trainer(TwoLayerNet(2, 8, 3), optimizer)
    trainer.fit(x, t, max_epoch=2, batch_size=16, verbose=False)
    assert optimizer.seen == [0.3] * 8
    assert [h["lr"] for h in trainer.history] == [0.3, 0.3]


def _lm_data():
    corpus = np.random.default_rng(1).integers(0, 20, size=401)
    return corpus[:-1], corpus[1:]


def test_rnnlm_trainer_divides_on_plateau_of_validation_perplexity():
    zeronlp.seed(0)
    xs, ts = _lm_data()
    optimizer = RecordingSGD(lr=1.0)
    trainer = RnnlmTrainer(SimpleRnnlm(20, 8, 8), optimizer)
    scores = iter([10.0, 12.0, 9.0, 9.0])
    schedule = DivideOnPlateau(lr=1.0, factor=4.0)
    trainer.fit(
        xs, ts, 4, batch_size=4, time_size=10, verbose=False, schedule=schedule,
        eval_fn=lambda: {"val_ppl": next(scores)},
    )  # fmt: skip
    # 10 updates per epoch; worse (12) divides by 4, better (9) keeps, equal (9) divides
    assert optimizer.seen == [1.0] * 20 + [0.25] * 20
    assert [h["lr"] for h in trainer.history] == [1.0, 1.0, 0.25, 0.25]
    assert schedule.lr == 0.0625


def test_step_decay_per_iteration_in_the_rnnlm_trainer():
    zeronlp.seed(0)
    xs, ts = _lm_data()
    optimizer = RecordingSGD(lr=1.0)
    trainer = RnnlmTrainer(SimpleRnnlm(20, 8, 8), optimizer)
    schedule = StepDecay(lr=0.8, step_size=3, gamma=0.5)
    trainer.fit(xs, ts, 1, batch_size=4, time_size=10, verbose=False, schedule=schedule)
    assert optimizer.seen == [0.8] * 3 + [0.4] * 3 + [0.2] * 3 + [0.1]


def test_plateau_needs_the_monitored_score():
    zeronlp.seed(0)
    xs, ts = _lm_data()
    trainer = RnnlmTrainer(SimpleRnnlm(20, 8, 8), optimizers.SGD(lr=1.0))
    plateau = DivideOnPlateau(lr=1.0)
    with pytest.raises(InputError, match="eval_fn"):
        trainer.fit(xs, ts, 1, batch_size=4, time_size=10, verbose=False, schedule=plateau)
    with pytest.raises(InputError, match="observes 'val_ppl'.*'acc'"):
        trainer.fit(
            xs, ts, 1, batch_size=4, time_size=10, verbose=False, schedule=plateau,
            eval_fn=lambda: {"acc": 0.5},
        )  # fmt: skip
    with pytest.raises(InputError, match="schedule"):
        trainer.fit(xs, ts, 1, batch_size=4, time_size=10, verbose=False, schedule=0.1)
