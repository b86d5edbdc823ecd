"""The requests.Session alpaca-py's clients are given: one API host's, doing per call only what
such a host needs.

requests.Session.request spends about a tenth of a submit's CPU on what an Alpaca API call never
uses: merging the session's params, auth and cookies into every request, reading the proxy, CA
and netrc settings from the environment again, keeping the response's cookies, and looking for
a redirect that alpaca-py has turned off. Here the environment is read once, at construction,
and a call alpaca-py makes (headers, params or a JSON body, no redirects) is prepared and sent
directly through the mounted adapter, with the session's response hooks and an explicit
timeout, which alpaca-py never sets (ALPACA_API.md §6.1). Anything else takes requests' own
path, with the same timeout.
"""

from __future__ import annotations

import os
from typing import Any

import requests
from requests.hooks import dispatch_hook
from requests.structures import CaseInsensitiveDict


class ApiSession(requests.Session):
    def __init__(self, url: str, timeout: tuple[float, float]) -> None:
        super().__init__()
        self.timeout = timeout
        self.proxies.update(requests.utils.get_environ_proxies(url))
        bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
        if bundle:
            self.verify = bundle
        self.trust_env = False  # read above, once; requests would read it on every call

    def request(  # type: ignore[override]
        self,
        method: str,
        url: str,
        *,
        headers: dict[str, str] | None = None,
        params: Any = None,
        json: Any = None,
        allow_redirects: bool = True,
        timeout: Any = None,
        **other: Any,
    ) -> requests.Response:
        timeout = timeout or self.timeout
        if other or allow_redirects or self.cookies or self.auth or self.params:
            return super().request(method, url, headers=headers, params=params, json=json,
                                   allow_redirects=allow_redirects, timeout=timeout, **other)
        merged = CaseInsensitiveDict(self.headers)
        if headers:
            merged.update(headers)
        prepared = requests.PreparedRequest()
        prepared.prepare(method=method.upper(), url=url, headers=merged, params=params, json=json, hooks=self.hooks)
        response = self.get_adapter(url).send(prepared, stream=False, timeout=timeout, verify=self.verify,
                                              cert=self.cert, proxies=self.proxies)
        response = dispatch_hook("response", prepared.hooks, response)
        response.content  # noqa: B018 - the body read now and the connection given back, as Session.send does
        return response
