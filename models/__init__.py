"""Shipped ONNX emotion models and their model cards (data only)."""
