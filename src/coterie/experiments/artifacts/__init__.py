"""What experiments leave behind besides figures: weights-only ``.safetensors`` files that rebuild their products.

:mod:`.store` holds the generic, pickle-free save/load helpers (tensors plus a JSON header describing how to rebuild
the modules); one small module per experiment saves that experiment's products and defines the loader registered
with it (``register(..., load=...)``), which ``coterie.load(run_dir)`` calls.
"""
