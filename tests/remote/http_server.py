"""A static HTTP file server with Range support (aiohttp's), for remote-source tests.

``python -m tests.remote.http_server DIR PORT [--fail-first N] [--delay S]``:
``--fail-first N`` answers the first N range requests with 503 (a busy
server); ``--delay S`` holds every range request S seconds (a slow one).
Prints "ready" once listening.

Directory links of the index pages get a trailing slash, as nginx, Apache
and Python's http.server write them (aiohttp's index leaves it off, and
fsspec's HTTP listing takes a link without one for a file).
"""

from __future__ import annotations

import argparse
import asyncio
import re
from collections.abc import Awaitable, Callable

from aiohttp import web

DIR_LINK = re.compile(r'<a href="([^"]+)">([^<]+)/</a>')


def build_app(root: str, fail_first: int, delay: float) -> web.Application:
    failures = {"left": fail_first}

    @web.middleware
    async def faults(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        if "Range" in request.headers:
            if failures["left"] > 0:
                failures["left"] -= 1
                return web.Response(status=503, text="busy")
            if delay:
                await asyncio.sleep(delay)
        response = await handler(request)
        if isinstance(response, web.Response) and response.content_type == "text/html":
            assert isinstance(response.text, str)
            response.text = DIR_LINK.sub(r'<a href="\1/">\2/</a>', response.text)
        return response

    app = web.Application(middlewares=[faults])
    app.router.add_static("/", root, show_index=True, follow_symlinks=False)
    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("root")
    parser.add_argument("port", type=int)
    parser.add_argument("--fail-first", type=int, default=0)
    parser.add_argument("--delay", type=float, default=0.0)
    args = parser.parse_args()
    app = build_app(args.root, args.fail_first, args.delay)
    web.run_app(app, host="127.0.0.1", port=args.port, print=lambda *_: print("ready", flush=True))


if __name__ == "__main__":
    main()
