"""Backends behind Quire's protocols: `cpython` (onnxruntime, hnswlib, files) and `browser` (Pyodide)."""
