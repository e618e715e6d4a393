"""The API's errors outside GraphQL (downloads, token and preview checks), in the shape of a
GraphQL error so that a client reads every error of the API alike:
`{"errors": [{"message": ..., "extensions": {"code": ..., ...}}]}`."""

from functools import wraps

from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt

CODES = {
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    413: "PAYLOAD_TOO_LARGE",
    414: "URI_TOO_LONG",
}


def error_response(
    status: int, message: str, code: str | None = None, **extensions
) -> JsonResponse:
    """One coded error (`code` defaults from the status: BAD_REQUEST for a request that
    could not be read), never stored by a cache."""
    code = code or CODES.get(status, "BAD_REQUEST")
    response = JsonResponse(
        {"errors": [{"message": message, "extensions": {"code": code, **extensions}}]},
        status=status,
    )
    response["Cache-Control"] = "no-store"
    return response


def bad_parameters(errors: dict[str, list[str]], status: int = 400) -> JsonResponse:
    """Errors in query-string parameters (a form's `errors`): one error per message,
    BAD_USER_INPUT (or the status's code) naming the parameter in `argument`, as GraphQL's
    argument errors do."""
    code = CODES.get(status, "BAD_USER_INPUT")
    response = JsonResponse(
        {
            "errors": [
                {
                    "message": f"{name}: {message}",
                    "extensions": {"code": code, "argument": name},
                }
                for name, messages in errors.items()
                for message in messages
            ]
        },
        status=status,
    )
    response["Cache-Control"] = "no-store"
    return response


def download_view(view):
    """A GET download of the API: other methods get a coded 405 with `Allow: GET, HEAD`
    (before any CSRF check: the view changes nothing and reads no form)."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if request.method not in ("GET", "HEAD"):
            response = error_response(
                405, f"{request.method} is not allowed here; use GET.", "METHOD_NOT_ALLOWED"
            )
            response["Allow"] = "GET, HEAD"
            return response
        return view(request, *args, **kwargs)

    return csrf_exempt(wrapped)
