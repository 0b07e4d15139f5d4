"""The Telegram glue: thin handlers, keyboards and the composition root."""
