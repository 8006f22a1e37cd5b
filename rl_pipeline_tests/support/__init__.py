"""Helpers shared by test modules (tiny GGUF models, grammars)."""
