"""Lambda entry point: API Gateway (HTTP API v2 or REST v1) events through Mangum."""

from mangum import Mangum

from functions.predict.app import create_app

lambda_handler = Mangum(create_app(), lifespan="off")
