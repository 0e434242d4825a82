"""`python -m components.action_server --port 5055`: rasa-sdk's action server, open only to Rasa.

Actions read and change accounts for whatever tracker they are handed, so a call without the shared
token (SETTLE_ACTION_TOKEN, which Rasa sends as endpoints.yml says) is refused with 401; the server
listens on 127.0.0.1 only, and an error inside an action answers 500 without its text or the request.
"""
from __future__ import annotations

import argparse
import hmac
import logging

from rasa_sdk import utils
from rasa_sdk.endpoint import create_app
from rasa_sdk.plugin import plugin_manager
from sanic import Sanic, response
from sanic.exceptions import SanicException
from sanic.request import Request
from sanic.response import HTTPResponse

from settle.config import process_settings
from settle.identity import language
from settle.signing import action_token

HOST = "127.0.0.1"
OPEN_PATHS = ("/health",)
logger = logging.getLogger(__name__)


def presented_token(request: Request) -> str:
    """The token in `Authorization: Bearer …` (as endpoints.yml sends it)."""
    scheme, _, token = (request.headers.get("Authorization") or "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def guarded_app(actions_package: str, token: str) -> Sanic:
    """rasa-sdk's app with the token check in front of every route but the health check."""
    app = create_app(actions_package, cors_origins=None)

    @app.on_request
    async def require_token(request: Request) -> HTTPResponse | None:
        if request.path in OPEN_PATHS or hmac.compare_digest(presented_token(request).encode(), token.encode()):
            return None
        return response.json({"error": "The action server answers Rasa only."}, status=401)

    @app.exception(Exception)
    async def hide_errors(request: Request, exception: Exception) -> HTTPResponse:
        if isinstance(exception, SanicException):  # a bad request, an unknown path: said as such
            return response.json({"error": "The request was not understood."}, status=exception.status_code)
        logger.error("The action server failed on %s", request.path, exc_info=exception)
        return response.json({"error": "The action failed."}, status=500)

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=5055)
    parser.add_argument("--actions", default="actions")
    args = parser.parse_args()
    refusal = process_settings().missing_secrets_refusal()
    if refusal:  # one line, not a traceback
        raise SystemExit(f"action server: {refusal}.")
    utils.configure_colored_logging("INFO")
    utils.update_sanic_log_level()
    app = guarded_app(args.actions, action_token(process_settings()))
    language.warm_up()
    plugin_manager().hook.attach_sanic_app_extensions(app=app)
    logger.info("Action server on http://%s:%s", HOST, args.port)
    app.run(HOST, args.port, workers=utils.number_of_sanic_workers())


if __name__ == "__main__":
    main()
