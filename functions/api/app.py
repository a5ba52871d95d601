"""The HTTP API: one function for every route. The routes live in `routes/`, a module per
resource; each documents itself in the OpenAPI document (GET /openapi.json)."""

from __future__ import annotations

from neonkit import db

db.preconnect()  # inside Lambda's runtime: connects while the imports below run

import warnings
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.utilities.typing import LambdaContext
from neonkit import auth, http, snapstart
from routes import add_routes

logger = Logger(**http.LOGGER_JSON)  # log lines written with msgspec: cheaper
metrics = Metrics()
# Most routes add no metric: Powertools would say so on stderr in plain text, not a JSON log line
warnings.filterwarnings("ignore", "No application metrics to publish", UserWarning)
app = APIGatewayHttpResolver()
api = http.Api(app, logger, title="Todos API", version="1.0.0")
auth.install(api)  # each request's statements run as its caller: the token's sub, or anonymous
api.health()  # GET /health, public: 200 when the function and its database answer, else 503
snapstart.install()  # with SnapStart on: no connection in the snapshot
add_routes(api)


@logger.inject_lambda_context
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # API Gateway's request id, found by a dict lookup (correlation_id_path= costs a JMESPath)
    logger.set_correlation_id(event["requestContext"]["requestId"])
    return app.resolve(event, context)
