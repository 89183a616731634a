"""Training: the Trainer, optimisers and schedules, callbacks, and safetensors checkpoints."""

from coterie.training.callbacks import Callback, ValidationLogitsRecorder
from coterie.training.trainer import NonFiniteLossError, Trainer, predict_logits

__all__ = ["Callback", "NonFiniteLossError", "Trainer", "ValidationLogitsRecorder", "predict_logits"]
