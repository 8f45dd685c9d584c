"""Rasa input channels of this assistant (adapters; no domain logic here)."""
