"""A fake Spotify (Web API and accounts service) served over real HTTP on 127.0.0.1.

It implements the endpoints still open to development-mode apps in 2026 with
realistic JSON, records every request (method, path, query, body), answers
removed endpoints with 404 while recording them, and injects faults on demand:
429 with Retry-After, 401 (expired token), 5xx, and 200 with malformed JSON.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

USER = {
    "id": "testuser",
    "display_name": "Test User",
    "country": "SE",
    "product": "premium",
    "type": "user",
    "uri": "spotify:user:testuser",
}
RESULTS_PER_QUERY = 25

# (method or None for any, path regex) of endpoints closed to new apps.
REMOVED = [
    (None, r"/v1/recommendations.*"),
    (None, r"/v1/audio-features.*"),
    (None, r"/v1/audio-analysis.*"),
    (None, r"/v1/artists/[^/]+/related-artists"),
    (None, r"/v1/browse/featured-playlists"),
    (None, r"/v1/browse/categories/[^/]+/playlists"),
    ("POST", r"/v1/users/[^/]+/playlists"),
    (None, r"/v1/playlists/[^/]+/tracks"),
]


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    body: Any
    status: int = 0

    def __repr__(self) -> str:
        q = f"?{urlencode(self.query)}" if self.query else ""
        return f"{self.method} {self.path}{q} {json.dumps(self.body) if self.body is not None else ''} -> {self.status}"


@dataclass
class Fault:
    method: str | None
    path: str
    status: int
    times: int
    headers: dict[str, str] = field(default_factory=dict)
    body: str | None = None


def _id(seed: str) -> str:
    digest = hashlib.sha256(seed.encode()).digest()
    return base64.b32encode(digest).decode().lower().rstrip("=")[:22]


def track(name: str, artist: str, *, seed: str | None = None) -> dict[str, Any]:
    tid = _id(seed or f"{artist}/{name}")
    return {
        "id": tid,
        "uri": f"spotify:track:{tid}",
        "type": "track",
        "name": name,
        "artists": [
            {
                "id": _id(artist),
                "name": artist,
                "type": "artist",
                "uri": f"spotify:artist:{_id(artist)}",
            }
        ],
        "album": {"id": _id("album" + name), "name": f"{name} (album)", "album_type": "album"},
        "duration_ms": 200_000,
        "explicit": False,
        "is_playable": True,
        "external_urls": {"spotify": f"https://open.spotify.com/track/{tid}"},
    }


SHARED = track("Everywhere Song", "Omnipresent")  # found by every search
# The same song released twice (single and album): two URIs, one name and artist.
TWIN_A = track("Twin Song", "Twins", seed="twin-single")
TWIN_B = track("Twin Song", "Twins", seed="twin-album")
TOP = [
    track(f"Top hit {i}", artist) for i, artist in enumerate(["Robyn", "Robyn", "Lykke Li", "ABBA"])
]


def search_results(q: str) -> list[dict[str, Any]]:
    """25 deterministic results per query, with a shared track and a same-song twin."""
    items = []
    for i in range(RESULTS_PER_QUERY):
        if i == 3:
            items.append(SHARED)
        elif i == 5:
            items.append(TWIN_A if len(q) % 2 else TWIN_B)
        elif i == 7:
            artist = "Robyn" if "artist:" not in q else re.search(r'artist:"([^"]+)"', q).group(1)
            items.append(track(f"{q} song {i}", artist))
        else:
            items.append(track(f"{q} song {i}", f"Artist {_id(q)[:4]} {i % 4}"))
    return items


class FakeSpotify:
    """The server; ``url`` is its base, ``requests`` what it was asked."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._server = make_server("127.0.0.1", 0, self._app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.requests: list[Recorded] = []
            self.faults: list[Fault] = []
            self.tokens: set[str] = {"valid-token"}
            self.refresh_tokens: set[str] = {"refresh-1"}
            self.playlists: dict[str, dict[str, Any]] = {}
            self.user = dict(USER)
            self.devices = [
                {
                    "id": "dev-1",
                    "is_active": True,
                    "is_restricted": False,
                    "name": "Kitchen",
                    "type": "Speaker",
                    "volume_percent": 50,
                }
            ]
            self.codes: dict[str, dict[str, str]] = {}
            self.playing: list[dict[str, Any]] = []
            self._counter = 0

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    # -- test helpers ---------------------------------------------------------------------------
    def fail(
        self,
        path: str,
        status: int,
        *,
        method: str | None = None,
        times: int = 1,
        retry_after: float | None = None,
        body: str | None = None,
    ) -> None:
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        with self._lock:
            self.faults.append(Fault(method, path, status, times, headers, body))

    def expire_tokens(self) -> None:
        with self._lock:
            self.tokens.clear()

    def own_playlist(self, name: str, tracks: list[dict[str, Any]], owner: str = "testuser") -> str:
        pid = _id(f"own-{name}")
        with self._lock:
            self.playlists[pid] = {
                "id": pid,
                "name": name,
                "owner": owner,
                "public": False,
                "collaborative": False,
                "description": "",
                "items": [t["uri"] for t in tracks],
                "objects": {t["uri"]: t for t in tracks},
            }
        return pid

    def api_calls(self) -> list[tuple[str, str, dict[str, str], Any]]:
        return [
            (r.method, r.path, r.query, r.body) for r in self.requests if r.path.startswith("/v1/")
        ]

    def removed_calls(self) -> list[Recorded]:
        return [r for r in self.requests if _is_removed(r.method, r.path)]

    # -- the WSGI app ---------------------------------------------------------------------------
    def _app(self, environ: dict, start_response: Any) -> Any:
        request = Request(environ)
        raw = request.get_data(as_text=True)
        if request.mimetype == "application/x-www-form-urlencoded":
            body: Any = dict(request.form)
        else:
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = raw
        rec = Recorded(request.method, request.path, dict(request.args), body)
        with self._lock:
            self.requests.append(rec)
            response = self._dispatch(request, rec)
        rec.status = response.status_code
        return response(environ, start_response)

    def _fault(self, rec: Recorded) -> Response | None:
        for fault in self.faults:
            if (
                fault.times > 0
                and (fault.method in (None, rec.method))
                and re.fullmatch(fault.path, rec.path)
            ):
                fault.times -= 1
                if fault.body is not None:
                    return Response(
                        fault.body, fault.status, headers=fault.headers, mimetype="application/json"
                    )
                return _error(fault.status, "injected fault", headers=fault.headers)
        return None

    def _dispatch(self, request: Request, rec: Recorded) -> Response:
        path, method = rec.path, rec.method
        if path == "/authorize":
            return self._authorize(request)
        if path == "/api/token":
            return self._token(rec)
        if not path.startswith("/v1/"):
            return _error(404, "not found")
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("Bearer ") or auth[7:] not in self.tokens:
            return _error(401, "The access token expired")
        fault = self._fault(rec)
        if fault is not None:
            return fault
        if _is_removed(method, path):
            return _error(404, "Service not found (removed for new apps)")
        route = path[len("/v1/") :]
        if method == "GET" and route == "me":
            return _json(self.user)
        if method == "GET" and route == "search":
            return self._search(rec)
        if method == "GET" and route == "me/top/tracks":
            return _json(_page(TOP, rec, wrap=None))
        if method == "GET" and route == "me/tracks":
            return _json(_page(TOP[:2], rec, wrap="track"))
        if method == "GET" and route == "me/player/recently-played":
            return _json(_page(TOP[2:], rec, wrap="track"))
        if method == "POST" and route == "me/playlists":
            return self._create_playlist(rec)
        m = re.fullmatch(r"playlists/([^/]+)/items", route)
        if m:
            return self._items(m.group(1), rec)
        if method == "GET" and route == "me/player/devices":
            return _json({"devices": self.devices})
        if method == "PUT" and route == "me/player/play":
            if self.user.get("product") != "premium":
                return _error(
                    403, "Player command failed: Premium required", reason="PREMIUM_REQUIRED"
                )
            if not any(d["id"] == rec.query.get("device_id") for d in self.devices):
                return _error(
                    404, "Player command failed: No active device found", reason="NO_ACTIVE_DEVICE"
                )
            self.playing.append(rec.body)
            return Response(status=204)
        return _error(404, "Service not found")

    def _search(self, rec: Recorded) -> Response:
        q, kind = rec.query.get("q"), rec.query.get("type")
        if not q or kind != "track":
            return _error(400, "No search query" if not q else "Bad search type")
        limit = int(rec.query.get("limit", 10))
        if not 0 < limit <= 10:
            return _error(400, "Invalid limit")  # the 2026 development-mode maximum
        offset = int(rec.query.get("offset", 0))
        items = search_results(q)
        page = items[offset : offset + limit]
        nxt = None
        if offset + limit < len(items):
            nxt = f"{self.url}/v1/search?{urlencode({'q': q, 'type': 'track', 'offset': offset + limit, 'limit': limit})}"
        return _json(
            {
                "tracks": {
                    "href": "",
                    "items": page,
                    "limit": limit,
                    "offset": offset,
                    "next": nxt,
                    "previous": None,
                    "total": len(items),
                }
            }
        )

    def _create_playlist(self, rec: Recorded) -> Response:
        body = rec.body if isinstance(rec.body, dict) else {}
        if not body.get("name"):
            return _error(400, "Missing name")
        self._counter += 1
        pid = _id(f"playlist-{self._counter}-{body['name']}")
        self.playlists[pid] = {
            "id": pid,
            "name": body["name"],
            "owner": self.user["id"],
            "public": body.get("public", True),
            "collaborative": body.get("collaborative", False),
            "description": body.get("description", ""),
            "items": [],
            "objects": {},
        }
        return _json(
            {
                "id": pid,
                "name": body["name"],
                "public": body.get("public", True),
                "uri": f"spotify:playlist:{pid}",
                "owner": {"id": self.user["id"]},
                "collaborative": False,
                "snapshot_id": "s0",
                "type": "playlist",
                "items": {"href": "", "total": 0},
            },
            status=201,
        )

    def _items(self, pid: str, rec: Recorded) -> Response:
        playlist = self.playlists.get(pid)
        if playlist is None:
            return _error(404, "Resource not found")
        if playlist["owner"] != self.user["id"]:
            return _error(403, "You cannot access this playlist")
        if rec.method == "GET":
            objects = [
                playlist["objects"].get(u, {"uri": u, "type": "track"}) for u in playlist["items"]
            ]
            return _json(_page(objects, rec, wrap="item"))
        body = rec.body if isinstance(rec.body, dict) else {}
        uris = body.get("uris")
        if (
            not isinstance(uris, list)
            or len(uris) > 100
            or not all(isinstance(u, str) and u.startswith("spotify:track:") for u in uris)
        ):
            return _error(400, "uris must be a list of at most 100 track URIs")
        if rec.method == "PUT":
            playlist["items"] = list(uris)
        elif rec.method == "POST":
            playlist["items"] += uris
        else:
            return _error(405, "Method not allowed")
        return _json(
            {"snapshot_id": f"snap-{len(self.requests)}"},
            status=201 if rec.method == "POST" else 200,
        )

    # -- accounts ---------------------------------------------------------------------------------
    def _authorize(self, request: Request) -> Response:
        args = request.args
        code = secrets.token_urlsafe(8)
        self.codes[code] = {
            "challenge": args.get("code_challenge", ""),
            "client_id": args.get("client_id", ""),
            "redirect_uri": args.get("redirect_uri", ""),
            "scope": args.get("scope", ""),
        }
        query = {"code": code}
        if "state" in args:
            query["state"] = args["state"]
        return Response(
            status=302, headers={"Location": f"{args['redirect_uri']}?{urlencode(query)}"}
        )

    def _token(self, rec: Recorded) -> Response:
        form = rec.body if isinstance(rec.body, dict) else {}
        fault = self._fault(rec)
        if fault is not None:
            return fault
        if form.get("grant_type") == "authorization_code":
            grant = self.codes.pop(form.get("code", ""), None)
            verifier = form.get("code_verifier", "")
            challenge = (
                base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
                .decode()
                .rstrip("=")
            )
            if (
                grant is None
                or grant["challenge"] != challenge
                or grant["redirect_uri"] != form.get("redirect_uri")
            ):
                return _json(
                    {"error": "invalid_grant", "error_description": "Invalid authorization code"},
                    400,
                )
            scope = grant["scope"]
        elif form.get("grant_type") == "refresh_token":
            if form.get("refresh_token") not in self.refresh_tokens:
                return _json(
                    {"error": "invalid_grant", "error_description": "Refresh token revoked"}, 400
                )
            scope = "playlist-modify-private user-top-read"
        else:
            return _json({"error": "unsupported_grant_type"}, 400)
        access = f"tok-{secrets.token_hex(4)}"
        refresh = f"refresh-{secrets.token_hex(4)}"
        self.tokens.add(access)
        self.refresh_tokens.add(refresh)
        return _json(
            {
                "access_token": access,
                "token_type": "Bearer",
                "expires_in": 3600,
                "refresh_token": refresh,
                "scope": scope,
            }
        )


def _is_removed(method: str, path: str) -> bool:
    return any((m is None or m == method) and re.fullmatch(p, path) for m, p in REMOVED)


def _page(objects: list[dict[str, Any]], rec: Recorded, wrap: str | None) -> dict[str, Any]:
    limit = int(rec.query.get("limit", 20))
    offset = int(rec.query.get("offset", 0))
    chunk = objects[offset : offset + limit]
    items = [({wrap: o, "added_at": "2026-01-01T00:00:00Z"} if wrap else o) for o in chunk]
    return {
        "items": items,
        "limit": limit,
        "offset": offset,
        "total": len(objects),
        "next": "more" if offset + limit < len(objects) else None,
        "previous": None,
    }


def _json(data: Any, status: int = 200) -> Response:
    return Response(json.dumps(data), status, mimetype="application/json")


def _error(
    status: int, message: str, *, headers: dict[str, str] | None = None, reason: str | None = None
) -> Response:
    err: dict[str, Any] = {"status": status, "message": message}
    if reason:
        err["reason"] = reason
    return Response(
        json.dumps({"error": err}), status, headers=headers or {}, mimetype="application/json"
    )
