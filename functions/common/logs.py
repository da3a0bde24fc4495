"""Logging set-up per entry point: Powertools' structured JSON logger inside Lambda, plain stdlib
logging elsewhere (the Batch job, the local stack, tests). Library modules only use stdlib loggers."""

from __future__ import annotations

import logging
import os


def configure_logging(level: str = "INFO", service: str = "video-frame-classifier") -> None:
    if os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):
        from aws_lambda_powertools import Logger
        from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers

        logger = Logger(service=os.environ.get("POWERTOOLS_SERVICE_NAME", service), level=level)
        copy_config_to_registered_loggers(source_logger=logger, include={"functions"})
        return
    # Our modules at the configured level; libraries (botocore, urllib3...) only when they warn.
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for name in ("functions", "devstack"):
        logging.getLogger(name).setLevel(level)
