"""The Telegram glue: thin handlers that parse an update, ask the domain, render and send.

* :mod:`bot.chat.app`: the composition root (``build_application``) and the bot's life
  cycle (start-up, background tasks, stop);
* :mod:`bot.chat.commands`: the table of commands, which drives their handlers, the
  command menus, the metrics' labels and /help;
* :mod:`bot.chat.reading` (/start, the sections, /source, their buttons),
  :mod:`bot.chat.asking` (questions), :mod:`bot.chat.subscriptions`,
  :mod:`bot.chat.admin`, :mod:`bot.chat.fallbacks` (unknown commands and buttons, errors);
* :mod:`bot.chat.replies`: sending a reply, and finishing it after flood control;
* :mod:`bot.chat.context`: the frozen services every handler gets as ``context.bot_data``;
* :mod:`bot.chat.keyboards`, :mod:`bot.chat.transport` (the HTTP side and the shared
  rate), :mod:`bot.chat.background`.
"""
