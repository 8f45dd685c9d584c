"""rasa_sdk custom actions: thin adapters from slots and messages to bot/."""
from bot.store.crypto import check_key

# Outside development a missing PHI key stops the action server here, at start-up, with a
# message that says what to set; never on a person's first answer.
check_key()
