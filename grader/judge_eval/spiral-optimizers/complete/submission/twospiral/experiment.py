"""One training run: (optimizer, learning rate, seed) -> metrics."""
import numpy as np

from .data import make_spirals
from .mlp import evaluate, init_params, loss_and_grads
from .optim import OPTIMIZERS

N_TRAIN_PER_CLASS = 200
N_TEST_PER_CLASS = 500
BATCH_SIZE = 32
TOTAL_STEPS = 4000
LOG_AT = (500, 1000, 2000, 4000)


def seeded_streams(seed):
    """Independent generators for data, init and batch order.

    They depend only on the seed, never on the optimizer, so every optimizer
    trains on the same points from the same starting weights.
    """
    data_ss, init_ss, batch_ss = np.random.SeedSequence(seed).spawn(3)
    return (np.random.default_rng(data_ss), np.random.default_rng(init_ss),
            np.random.default_rng(batch_ss))


def batches(n, rng):
    """Endless stream of index batches: shuffle each epoch, drop the remainder."""
    while True:
        perm = rng.permutation(n)
        for start in range(0, n - BATCH_SIZE + 1, BATCH_SIZE):
            yield perm[start:start + BATCH_SIZE]


def run(opt_name, lr, seed):
    data_rng, init_rng, batch_rng = seeded_streams(seed)
    X_train, y_train = make_spirals(N_TRAIN_PER_CLASS, data_rng)
    X_test, y_test = make_spirals(N_TEST_PER_CLASS, data_rng)
    params = init_params(init_rng)
    opt = OPTIMIZERS[opt_name](lr)

    history = {}
    stream = batches(len(y_train), batch_rng)
    for step in range(1, TOTAL_STEPS + 1):
        idx = next(stream)
        _, grads = loss_and_grads(params, X_train[idx], y_train[idx])
        opt.step(params, grads)
        if step in LOG_AT:
            # full-training-set loss, not the minibatch loss
            history[step] = evaluate(params, X_train, y_train)[0]

    train_loss, train_acc = evaluate(params, X_train, y_train)
    _, test_acc = evaluate(params, X_test, y_test)
    return {"optimizer": opt_name, "lr": lr, "seed": seed,
            "final_train_loss": train_loss, "train_acc": train_acc,
            "test_acc": test_acc, "loss_at_step": history}
