"""rasa_sdk custom actions: thin adapters from slots and messages to bot/."""

from bot.config import check
from bot.faq.second_opinion import second_opinion
from bot.store.crypto import check_key

# Every setting is checked at start-up (the error names the variable), and outside
# development a missing PHI key stops the action server here with a message that says what
# to set; never on a person's first answer.
check()
check_key()

# The FAQ's second opinion is trained from data/nlu here (under a second), not on the first
# question someone asks.
second_opinion()
