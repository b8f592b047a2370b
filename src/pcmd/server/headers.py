"""Security headers on every response pcmd sends: one ASGI middleware, outermost in the app.

Every response: `X-Content-Type-Options: nosniff` (a browser never guesses a type pcmd did not
give), `X-Frame-Options: DENY`, `Referrer-Policy: same-origin`, and, when the site is served
over https, `Strict-Transport-Security`. A page (text/html) gets a Content-Security-Policy that
allows scripts, styles, images and forms from pcmd itself only — no inline script, no other
host, never inside a frame. Any other response without a policy of its own gets one that
allows nothing (`default-src 'none'`); a response that sets its own (attachments) keeps it.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

PAGE_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
OTHER_POLICY = "default-src 'none'; frame-ancestors 'none'"
# Pages that run ODK Web Forms (server/webforms) set this one themselves. Still no inline script
# and no other host; the engine parses XPath with tree-sitter compiled to WebAssembly (embedded
# as a data: URL), which needs 'wasm-unsafe-eval' (WebAssembly only, not JavaScript eval) and
# data: for fetching it; its components (PrimeVue) and its CSS add <style> elements at run time,
# which needs style 'unsafe-inline'; a chosen photo is previewed from a blob: URL.
WEB_FORM_POLICY = (
    "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; media-src 'self' blob:; connect-src 'self' data: blob:; "
    "font-src 'self' data:; worker-src 'self' blob:; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
COMMON = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}
HSTS = "max-age=31536000"


class SecurityHeaders:
    def __init__(self, app: ASGIApp, *, https: bool = False) -> None:
        self.app = app
        self.common = {**COMMON, **({"Strict-Transport-Security": HSTS} if https else {})}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in self.common.items():
                    headers[name] = value
                if "content-security-policy" not in headers:
                    html = headers.get("content-type", "").startswith("text/html")
                    headers["Content-Security-Policy"] = PAGE_POLICY if html else OTHER_POLICY
            await send(message)

        await self.app(scope, receive, with_headers)
