"""`python -m components.rasa_main run …`: Rasa's own command line, with Settle's fixes to Rasa installed
first (settle/tooling/runner.py starts the Rasa server this way).

Two arguments are added here, in the process, rather than by whoever starts it: the HTTP API's token
(from RASA_API_TOKEN: a command line is visible to every user of the machine in `ps`), and the origins
browsers may call Rasa from (SETTLE_PUBLIC_URL and SETTLE_ALLOWED_ORIGINS), never `*`. In the production
shape it refuses to start, in one line, without the shared secrets (`Settings.missing_secrets_refusal`).
A long-poll with too many packets is logged in one line (`quiet_oversized_polls`); a message sent again is
answered, not handled twice (components/resent_messages.py); an action server that can't answer gets the
customer a polite "ask again in a moment" (components/action_outage.py).
"""
from __future__ import annotations

import logging
import os
import sys

from components import action_outage, action_validation, resent_messages
from settle.config import process_settings


def with_settle_arguments(argv: list[str], environment: dict[str, str] | os._Environ[str]) -> list[str]:
    """`rasa run`'s arguments with the API token and the CORS origins in place of any given."""
    if len(argv) < 2 or argv[1] != "run":
        return argv
    refusal = process_settings().missing_secrets_refusal()
    if refusal:
        sys.exit(f"rasa_main: {refusal}.")
    arguments = _without_option(argv, "--cors")
    arguments += ["--cors", *process_settings().browser_origins()]
    if "--enable-api" in arguments:
        token = environment.get("RASA_API_TOKEN")
        if not token:
            sys.exit("rasa_main: --enable-api needs RASA_API_TOKEN in the environment (the API never runs without a token)")
        # one argument, so a token that starts with "-" is not taken for an option
        arguments = _without_option(arguments, "--auth-token") + [f"--auth-token={token}"]
    return arguments


def _without_option(argv: list[str], option: str) -> list[str]:
    """`argv` without `option` and the values after it (up to the next option)."""
    kept: list[str] = []
    skipping = False
    for argument in argv:
        if argument == option:
            skipping = True
        elif skipping and argument.startswith("-"):
            skipping = False
        if not skipping:
            kept.append(argument)
    return kept


def quiet_oversized_polls() -> None:
    """python-engineio drops a long-poll request that carries more than 16 packets and logs the whole
    traceback of its ValueError, at ERROR, for each one: any client could fill the log with them. Such a
    request is logged as one warning line instead; every other error of the socket.io server stays as it is."""
    logging.getLogger("engineio.server").addFilter(_one_line_for_oversized_polls)


def _one_line_for_oversized_polls(record: logging.LogRecord) -> bool:
    error = record.exc_info[1] if record.exc_info else None
    if isinstance(error, ValueError) and str(error) == "Too many packets in payload":
        record.msg, record.args = "A long-poll request carried more than 16 packets; python-engineio dropped it", ()
        record.levelno, record.levelname = logging.WARNING, "WARNING"
        record.exc_info, record.exc_text = None, None
    return True


if __name__ == "__main__":
    from rasa.__main__ import main

    sys.argv = with_settle_arguments(sys.argv, os.environ)
    quiet_oversized_polls()
    action_validation.install()
    resent_messages.install()
    action_outage.install()
    main()
