"""Test-only methods for the fault-tolerance and SLURM tests, registered through BENCH_EXTRA_METHODS
(so Ray workers and SLURM jobs, which inherit the environment, see them too).

Their misbehaviour is switched by environment variables, so the same cell key (method + config + code)
can misbehave in one run and behave in the next:
    BENCH_TEST_SLOW_S     seconds `slow` sleeps in enhance (default 0)
    BENCH_TEST_STEP_S     seconds `slownet` sleeps per training step (default 0)
    BENCH_TEST_MARKERS    folder where `dies-once` leaves its marker files
    BENCH_TEST_FILL       a file `fills-disk` grows until its filesystem is full
"""
import os
import time
from dataclasses import replace
from typing import ClassVar

import torch

from methods.api import TrainConfig
from methods.baselines.audiounet import AudioUNet
from methods.baselines.interp import Spline


class Slow(Spline):
    """spline that takes BENCH_TEST_SLOW_S seconds per file (a cell long enough to cancel or race)"""

    name = "slow"

    def enhance(self, lr):
        time.sleep(float(os.environ.get("BENCH_TEST_SLOW_S", "0")))
        return super().enhance(lr)


class DiesOnce(Spline):
    """spline whose process dies (os._exit) the first time it enhances at a scale: a killed worker"""

    name = "dies-once"

    def enhance(self, lr):
        marker = os.path.join(os.environ["BENCH_TEST_MARKERS"], f"dies-once-R{self.protocol.scale}")
        if not os.path.exists(marker):
            open(marker, "w").close()
            os._exit(17)  # no exception, no cleanup: what a segfault or the OOM killer looks like
        return super().enhance(lr)


class FillsDisk(Spline):
    """spline that fills the filesystem of BENCH_TEST_FILL before returning (a disk filling up mid-run)"""

    name = "fills-disk"

    def enhance(self, lr):
        path = os.environ.get("BENCH_TEST_FILL")
        if path and not os.path.exists(path):
            chunk = b"\0" * (1 << 20)
            with open(path, "wb") as fh:
                try:
                    while True:
                        fh.write(chunk)
                        fh.flush()
                except OSError:
                    pass
            # the last partial chunk: leave not even a block free
            try:
                with open(path + ".tail", "wb") as fh:
                    while True:
                        fh.write(b"\0" * 512)
                        fh.flush()
            except OSError:
                pass
        return super().enhance(lr)


SLOW_TRAIN = TrainConfig(steps=40, batch_size=2, crop_seconds=0.1, optimizer="adam", lr=1e-3, grad_clip=1.0,
                         valid_every=20, checkpoint_every=5, valid_items=1)


class SlowNet(AudioUNet):
    """tiny AudioUNet trained 40 steps, checkpointing every 5, BENCH_TEST_STEP_S seconds per step"""

    name = "slownet"
    profile_overrides: ClassVar[dict] = {
        "smoke": {"filters": (4, 8), "kernels": (9, 5), "train": SLOW_TRAIN},
    }

    def training_step(self, batch, opt):
        time.sleep(float(os.environ.get("BENCH_TEST_STEP_S", "0")))
        return super().training_step(batch, opt)


class NanLoss(AudioUNet):
    """tiny AudioUNet whose loss is NaN from the first step (the Trainer's NaN guard must stop it)"""

    name = "nan-loss"
    profile_overrides: ClassVar[dict] = {
        "smoke": {"filters": (4, 8), "kernels": (9, 5), "train": replace(SLOW_TRAIN, steps=10)},
    }

    def losses(self, batch):
        losses = super().losses(batch)
        return {**losses, "loss": losses["loss"] * torch.tensor(float("nan"))}


PLUGINS = ",".join(f"{cls.name}=fault_plugins:{cls.__name__}"
                   for cls in (Slow, DiesOnce, FillsDisk, SlowNet, NanLoss))
