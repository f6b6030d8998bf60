"""PyTorch networks of the clustering engine, one concept a module.

Imported only by the engine's run functions, never at Django start-up: torch is heavy.
Every network takes series shaped (batch, channels, length).
"""
