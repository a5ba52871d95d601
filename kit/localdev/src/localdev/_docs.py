"""GET /docs: Swagger UI for the served API's own OpenAPI document (/openapi.json).

The page loads Swagger UI from a CDN (as FastAPI's and Powertools' docs pages do), so it
needs the network; the document itself comes from the API, through its function.
"""

from __future__ import annotations

from ._http_api import Response

__all__ = ["DOCS_PATH", "OPENAPI_PATH", "docs_page"]

DOCS_PATH = "/docs"
OPENAPI_PATH = "/openapi.json"
_SWAGGER_UI = "https://cdn.jsdelivr.net/npm/swagger-ui-dist@5"

_PAGE = f"""<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>API docs (localdev)</title>
  <link rel="stylesheet" href="{_SWAGGER_UI}/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="{_SWAGGER_UI}/swagger-ui-bundle.js"></script>
  <script>
    SwaggerUIBundle({{url: "{OPENAPI_PATH}", dom_id: "#swagger-ui"}});
  </script>
</body>
</html>
"""


def docs_page() -> Response:
    headers = [("content-type", "text/html; charset=utf-8"), ("cache-control", "no-store")]
    return Response(200, headers, _PAGE.encode())
