"""rasa_sdk custom actions: thin adapters from slots and messages to bot/."""
