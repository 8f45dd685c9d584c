"""Custom Rasa NLU components (the Rasa-side adapters of bot/)."""
