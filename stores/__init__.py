"""Rasa plug-ins that keep conversations: the tracker store that encrypts events at rest
(`encrypted_tracker`) and the one-off command that encrypts an existing store
(`python -m stores.encrypt_tracker`)."""
