"""Laptop settings used by `make run`: embedded defaults, a demo user."""

from config.settings.base import *  # noqa: F403
from config.settings.base import env

DEBUG = env.bool("DEBUG", default=True)
# Only the local setup may create the printed demo login.
DEMO_USER_ALLOWED = True
# `make run` starts moto server here as the local Kinesis (and STS/IAM) endpoint.
KINESIS_ENDPOINT_URL = env.str("KINESIS_ENDPOINT_URL", default="http://127.0.0.1:4566")
# moto serves STS and IAM on the same local endpoint: point them there explicitly.
STS_ENDPOINT_URL = env.str("STS_ENDPOINT_URL", default=KINESIS_ENDPOINT_URL)
IAM_ENDPOINT_URL = env.str("IAM_ENDPOINT_URL", default=KINESIS_ENDPOINT_URL)
