"""The page's API: its inputs checked before Gradio sees them (a 4xx saying what was wrong)."""

import json
import re
import reprlib

import rag


class BadInput(ValueError):
    """An input the API cannot take; the message says what was wrong."""


def _question(value) -> str:
    try:
        return rag.check_question(value)
    except rag.RagError as exc:
        raise BadInput(str(exc)) from None


def _whole_number(k) -> int:
    """k as a program may send it: 5, 5.0 or "5"."""
    if isinstance(k, str) and k.strip().isdecimal():
        k = int(k)
    elif isinstance(k, float) and k.is_integer():
        k = int(k)
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise BadInput(f"k must be a whole number of at least 1, not {reprlib.repr(k)}")
    return k


API_CHECKS = {"question": _question, "k": _whole_number}  # the API's parameters, by name


class CheckedApi:
    """ASGI middleware: a call to the API naming no endpoint, or with inputs its
    endpoint cannot take, is answered 404 or 422 with what was wrong. Gradio
    would answer it 500 `{"error": null}` (queued: accept it, then send that as
    an error event) and log a traceback.

    Checks POSTs to /gradio_api/run/NAME, /api/NAME and /call/NAME (inputs by
    position, in `data`) and /call/v2/NAME (by name); the page's own events,
    which name theirs by number (`fn_index`), pass unchecked. And a stream
    asked for an event that does not exist (or whose result was read already)
    ends quietly after Gradio's "404: Not Found" in it, not with a traceback."""

    ROUTE = re.compile(r"/gradio_api/(run|api|call|call/v2)/([^/]+)/?")
    MAX_BODY = 64 * 1024  # a question is at most 1,000 characters

    def __init__(self, app, blocks):
        self.app, self.blocks, self._endpoints = app, blocks, None

    async def __call__(self, scope, receive, send):
        route = scope["type"] == "http" and scope["method"] == "POST" and self.ROUTE.fullmatch(scope["path"])
        if route:
            body = await _request_body(receive, self.MAX_BODY)
            problem = (413, f"the request is over {self.MAX_BODY:,} bytes") if body is None else \
                self.problem(route[1], route[2], body)
            if problem:
                from starlette.responses import Response

                status, message = problem
                # json.dumps escapes what is not ASCII: a lone surrogate sent in the call too.
                return await Response(json.dumps({"error": message}), status, media_type="application/json")(
                    scope, receive, send)
            receive = _replayed(body, receive)
        try:
            await self.app(scope, receive, send)
        except RuntimeError as exc:
            from starlette.exceptions import HTTPException

            if not isinstance(exc.__cause__, HTTPException):
                raise
            # Gradio found the event unknown once its stream had begun, and said so in
            # it; Starlette, too late to answer 404, raises. The stream just ends.
            await send({"type": "http.response.body", "body": b"", "more_body": False})

    def problem(self, route: str, name: str, body: bytes) -> tuple[int, str] | None:
        """(HTTP status, what was wrong) for a call that cannot be answered."""
        try:
            call = json.loads(body)
        except ValueError:
            return None  # FastAPI answers 422, saying where the JSON broke
        if not isinstance(call, dict) or call.get("fn_index") is not None:
            return None
        endpoints = self.endpoints()
        if f"/{name}" not in endpoints:
            return 404, f"no endpoint /{name}; the API has {', '.join(endpoints)}"
        parameters = endpoints[f"/{name}"]["parameters"]
        names = [p["parameter_name"] for p in parameters]
        if route == "call/v2":
            from gradio_client.utils import construct_args

            try:  # Gradio's own reading of named inputs, defaults filled in
                values = construct_args(parameters, (), call)
            except TypeError as exc:
                return 422, str(exc)
        elif isinstance(call.get("data"), list):
            values = call["data"]
        else:
            return None  # FastAPI answers 422: `data` missing or not a list
        if len(values) != len(names):
            sent = f"{len(values)} input{'s' * (len(values) != 1)}"
            return 422, f"/{name} takes [{', '.join(names)}]; the call sent {sent}"
        try:
            for parameter, value in zip(names, values):
                API_CHECKS[parameter](value)
        except BadInput as exc:
            return 422, str(exc)
        return None

    def endpoints(self) -> dict:
        """Gradio's description of the API (names, parameters, defaults), read once it is complete."""
        if self._endpoints is None:
            self._endpoints = self.blocks.get_api_info()["named_endpoints"]
        return self._endpoints


async def _request_body(receive, limit: int) -> bytes | None:
    """The whole body of a request, or None when it is over `limit` bytes."""
    body, more = b"", True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
        if len(body) > limit:
            return None
    return body


def _replayed(body: bytes, receive):
    """A `receive` that hands the app the body already read, then whatever comes next."""
    sent = False

    async def replay():
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay

